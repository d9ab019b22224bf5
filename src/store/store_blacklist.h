/*
 * store_blacklist.h - the blacklists area of the store: the numbers that opted out of a
 * service's marketing SMS (OVH's sms.Blacklist), read and removed through
 * /sms/{sn}/blacklists and smsctl blacklist, added by an opt-out (an incoming "STOP",
 * sqlite_blacklist.c) or by the operator.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback; strings
 * and arrays marked "new" are the caller's to free (store_blacklist_fini).
 *
 * The check at send time is not an operation of its own: store_submit and the campaign
 * fan-out refuse, in their own transaction, each receiver of a marketing SMS (one carrying
 * the STOP mention) that is blacklisted for the service (store_submit_msg.stoplisted,
 * store_campaign_send_req.stoplisted).
 */
#ifndef SG_STORE_BLACKLIST_H
#define SG_STORE_BLACKLIST_H

#include <stddef.h>
#include <stdint.h>

/* One blacklisted number of a service (sms.Blacklist, plus smsgate's own fields). */
typedef struct store_blacklist {
    char *number;            /* E.164 with '+' (new) */
    int64_t created_ms;      /* dateCreation */
    int64_t sms_outgoing_id; /* the SMS with the STOP clause the mobile answered; 0 = none */
    char *batch_id;          /* that SMS's batch (uuid), NULL when none (new) */
    int64_t incoming_id;     /* the incoming message that opted out; 0 = none */
    char *source;            /* "stop" (an opt-out) or "operator" (smsctl) (new) */
} store_blacklist;
void store_blacklist_fini(store_blacklist *b);

/*   blacklist_list    service_id (or service_name, for the operator), filters number,
 *                     batch_id, sms_outgoing_id (NULL / 0: none) -> items (new), count, in
 *                     order of number
 *   blacklist_get     service_id, number -> items[0]; SG_ENOTFOUND
 *   blacklist_delete  service_id (or service_name), number; SG_ENOTFOUND when not listed
 *   blacklist_add     service_name, number (the operator's, source "operator"): added = 1,
 *                     or 0 when it was listed already (the row is left as it was);
 *                     SG_ENOTFOUND without such a service */
typedef struct store_blacklist_req {
    int64_t service_id;
    const char *service_name; /* used when service_id is 0 */
    const char *number, *batch_id;
    int64_t sms_outgoing_id;
    int64_t now_ms;
    /* out */
    store_blacklist *items;
    size_t count;
    int added;
} store_blacklist_req;
void store_blacklist_req_fini(store_blacklist_req *r);

#define STORE_BLACKLIST_OPS(X)                                \
    X(blacklist_list, store_blacklist_req)                    \
    X(blacklist_get, store_blacklist_req)                     \
    X(blacklist_delete, store_blacklist_req)                  \
    X(blacklist_add, store_blacklist_req)

#endif
