/*
 * store_hlr.h - the HLR area of the store: the lookups of a service (OVH's
 * /sms/{sn}/hlr), each stored with its answer and charged to the service's ledger.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback; arrays
 * marked "new" are the caller's to free (store_hlr_req_fini).
 */
#ifndef SG_STORE_HLR_H
#define SG_STORE_HLR_H

#include <stddef.h>
#include <stdint.h>

#include "core/hlr.h"

/* One stored lookup. */
typedef struct store_hlr {
    int64_t id;
    int64_t created_ms;
    int status;       /* HLR_DONE or HLR_ERROR (core/hlr.h) */
    hlr_result res;   /* msisdn always; the rest when done */
} store_hlr;

/*   hlr_create  service_id, now_ms, cost (millicredits per lookup), items[0..count) (in: the
 *               answers, status and res) -> each item's id, total (millicredits debited, cost
 *               x the items answered, status HLR_DONE) and balance (after the debit), in one transaction with one ledger
 *               row ("hlr"); SG_ENOCREDIT (nothing stored) when the balance is below total
 *   hlr_list    service_id -> ids (new), nids, oldest first
 *   hlr_get     service_id, id -> items[0] (new), count 1; SG_ENOTFOUND */
typedef struct store_hlr_req {
    int64_t service_id, id, now_ms, cost;
    store_hlr *items;  /* hlr_create: the caller's; hlr_get: new */
    size_t count;
    /* out */
    int64_t total, balance;
    int64_t *ids;      /* new (hlr_list) */
    size_t nids;
} store_hlr_req;
/* Frees hlr_list's ids (not hlr_create's items, which are the caller's). */
void store_hlr_req_fini(store_hlr_req *r);

/*   hlr_receivers  service_id, list_id (a receiver list loaded from receiversDocumentUrl,
 *                  store_campaigns.h), limit -> valid: its distinct valid receivers (E.164, in
 *                  the file's order; at most limit, nvalid says how many there are), invalid:
 *                  the refused numbers as written (at most limit; duplicates of an earlier
 *                  line are not listed), ninvalid; the list is dropped (purged later) in the
 *                  same transaction. SG_ENOTFOUND: no such list of the service. */
typedef struct store_hlr_receivers_req {
    int64_t service_id, list_id;
    size_t limit;
    /* out (new: store_hlr_receivers_fini) */
    char **valid, **invalid;
    size_t nvalid, ninvalid;
} store_hlr_receivers_req;
void store_hlr_receivers_fini(store_hlr_receivers_req *r);

#define STORE_HLR_OPS(X)                                      \
    X(hlr_create, store_hlr_req)                              \
    X(hlr_list, store_hlr_req)                                \
    X(hlr_get, store_hlr_req)                                 \
    X(hlr_receivers, store_hlr_receivers_req)

#endif
