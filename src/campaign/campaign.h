/*
 * campaign.h - the loop side of campaigns: loading receiver lists (a CSV downloaded from a
 * customer's csvUrl, an uploaded document, or an array of receivers) into the store, and
 * sending one templated message to a whole list (docs/campaigns.md).
 *
 * Thread: the loop thread only. Owns: its curl multi handle and the easy handle of each
 * download, the loads in progress (each holds one CSV reader and at most LOAD_INFLIGHT batches
 * of rows on their way to the store), and a housekeeping timer that purges dropped lists.
 * Nothing of a list stays in memory: rows go to the store a batch at a time, and a download
 * is paused while the store has not taken the previous batches (bounded memory whatever the
 * size of the file).
 *
 * Ownership: requests (campaign_load_req, campaign_send_req) belong to the caller, who keeps
 * them and every string they point to alive until the callback; results are written into them.
 * Async contract as in store.h: 0 means the callback runs exactly once, later, never from
 * inside the call; an error return means it never runs.
 *
 * Life: campaign_new() -> campaign_start() -> ... -> campaign_stop() (aborts downloads; their
 * loads fail with SG_ETEMP) -> store_close() -> campaign_free().
 */
#ifndef SG_CAMPAIGN_H
#define SG_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "dispatch/dispatch.h"
#include "store/store.h"

typedef struct campaign campaign;

/* A field left 0 takes the default in brackets. */
typedef struct campaign_options {
    const char *default_region; /* for national numbers, as single sends ["fr"] (copied) */
    int allow_private;          /* csvUrl may be a loopback or private address [0] */
    int64_t max_bytes;          /* largest CSV, downloaded or stored [268435456] */
    int64_t max_rows;           /* most rows in one list [1000000] */
    int64_t timeout_ms;         /* longest download [300000] */
} campaign_options;

/* base, st and d are borrowed and must outlive the campaign module. */
campaign *campaign_new(struct event_base *base, store *st, dispatch *d,
                       const campaign_options *opt);
/* Drops the lists an earlier run left half loaded and starts purging dropped lists. */
void campaign_start(campaign *cp);
/* Aborts the downloads in progress (their loads fail with SG_ETEMP, "smsgated is stopping")
 * and stops the housekeeping. Call before store_close(). Idempotent. */
void campaign_stop(campaign *cp);
/* Frees the module. Call after store_close(). NULL does nothing. */
void campaign_free(campaign *cp);
/* Says lists were dropped (a slot deleted): purge them soon. Cheap; coalesced. */
void campaign_purge_kick(campaign *cp);

/* Loads one receiver list. Exactly one source: csv_url, document_id (of account_id), or
 * receivers[0 .. nreceivers). With slot > 0 the list becomes that slot's (created, or with
 * replace its list swapped, the old one dropped); with slot 0 it is a list for one send.
 * The callback's rc: 0; SG_EINVAL (the file or the URL is unusable: error says why, in a
 * sentence for the customer); SG_EPERM (csvUrl points to a private address); SG_ENOTFOUND (no
 * such document, or replace found no slot); SG_ECONFLICT (the slot exists); SG_ETEMP
 * (stopping); SG_EIO (the store failed). */
typedef struct campaign_load_req {
    int64_t service_id;
    const char *csv_url;
    const char *document_id;
    int64_t account_id;
    const char *const *receivers;
    size_t nreceivers;
    int64_t slot;
    const char *description;
    int auto_update, replace;
    store_idem *idem; /* may be NULL: the record stored with the list's last step */
    /* out */
    int64_t list_id, records, valid, invalid, created_ms;
    char error[320];
} campaign_load_req;

typedef void (*campaign_cb)(int rc, void *arg);

int campaign_load(campaign *cp, campaign_load_req *req, campaign_cb cb, void *arg);

/* Sends a templated message to a list: first, when load is set, loads it (load.slot with
 * replace for a slot's autoUpdate, or a list for this send only, which is dropped after),
 * then runs the store's fan-out (send: the caller fills everything but slot/list_id when
 * loading for this send only), and kicks the dispatcher after its commit. rc and outputs are
 * those of the step that ended it: stage says which (CAMPAIGN_STAGE_LOAD or _SEND). */
enum { CAMPAIGN_STAGE_LOAD = 1, CAMPAIGN_STAGE_SEND = 2 };
typedef struct campaign_send_req {
    int load;
    campaign_load_req ld;
    store_campaign_send_req send;
    store_idem *idem; /* may be NULL: the record stored with the send (store_idem.h) */
    int stage; /* out */
} campaign_send_req;

int campaign_send(campaign *cp, campaign_send_req *req, campaign_cb cb, void *arg);

#endif
