/*
 * store_notify.h - the store's part of status callbacks (notify/): the durable queue of calls
 * to customers' callBack URLs, their outcome, the dead-letter list, and each service's signing
 * secret. Included from store.h; the operations below are part of STORE_OPS and follow its
 * rules (enqueued on the loop thread, run on the store thread in the batch transaction,
 * callback on the loop thread).
 *
 * Where calls come from: recording a status event of a message (sqlite__insert_event) also
 * queues, in the same transaction, one call when the message's service has a callBack URL
 * (store/sqlite_notify.c says which events do). So a status change and its callback are
 * durable together or not at all.
 *
 * A call's life: PENDING (attempts with backoff) -> DELIVERED (2xx) or DEAD (its retry window
 * ran out); a replay moves DEAD (or DELIVERED, by id) back to PENDING. Calls sharing a
 * sequence key (the message id for status calls) are handed out one at a time in id order:
 * the next one is claimable only once every earlier one left PENDING.
 *
 * Ownership: as in store.h, the caller owns each request and keeps it alive until its
 * callback; strings marked "new" are freed by the caller (store_notify_claim_fini for a claim).
 */
#ifndef SG_STORE_NOTIFY_H
#define SG_STORE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    STORE_NOTIFY_PENDING = 0,
    STORE_NOTIFY_DELIVERED = 1,
    STORE_NOTIFY_DEAD = 2
} store_notify_state;

/* One claimed call, ready to be made. */
typedef struct store_notify_call {
    int64_t id, service_id;
    int attempts;        /* attempts made before this one */
    int64_t first_ms;    /* when its first attempt started (this one, if attempts is 0) */
    char *url;           /* new: the whole URL, query included */
    char *origin;        /* new: "scheme://host:port" (callurl_origin) */
    char *secret;        /* new: the service's signing secret */
    int64_t after;       /* handed over behind the earlier call `after` of its SMS, PENDING
                          * and leased to the same node when it was written (0: none): made
                          * once that one ended, or released (store_notify_result.release) */
} store_notify_call;

/* Claims due calls: PENDING, due (next attempt <= now_ms), not leased by anyone, first of
 * their sequence, and not for one of the busy origins; each is leased to node until
 * now_ms + lease_ms. Oldest due first, at most limit. */
typedef struct store_notify_claim_req {
    const char *node;
    int64_t now_ms, lease_ms;
    size_t limit;
    const char *busy_json;  /* JSON array of origins to leave alone now; NULL = none */
    int recover;            /* first release every lease of node (a restart) */
    /* out */
    store_notify_call *calls;  /* new (store_notify_claim_fini) */
    size_t count;
    size_t recovered;          /* leases released by recover */
    int64_t next_due_ms;       /* earliest later attempt of a PENDING call, 0 if none */
} store_notify_claim_req;
void store_notify_claim_fini(store_notify_claim_req *r);
/* Frees one call's strings and zeroes them. */
void store_notify_call_fini(store_notify_call *k);

/* The outcome of one attempt. */
typedef struct store_notify_result {
    int64_t id;
    int64_t at_ms;        /* when the attempt ended */
    int ok;               /* the server answered 2xx: DELIVERED */
    int dead;             /* failed, and its retry window is over: DEAD */
    int64_t next_ms;      /* failed, not dead: when to try again */
    int http_status;      /* 0 when no HTTP answer came */
    const char *error;    /* failed: why, for the operator; may be NULL */
    int release;          /* no attempt: the lease is given up (a call handed over behind one
                           * that failed: the claim makes them in order); the rest unread */
} store_notify_result;

/* Records outcomes and releases the leases. A call that is no longer PENDING (replayed or
 * changed meanwhile) is left as it is. */
typedef struct store_notify_finish_req {
    store_notify_result *results;
    size_t count;
} store_notify_finish_req;

/* The calls of a service as JSON text, oldest first (docs/admin-api.md has the fields). */
typedef struct store_notify_list_req {
    const char *service_name;
    int state;          /* a store_notify_state, or -1 for PENDING and DEAD together */
    size_t limit;       /* 0 = 1000 */
    char *json;         /* out (new) */
} store_notify_list_req;

/* Replays calls of a service: the ones in ids (DEAD or DELIVERED ones become PENDING with a
 * fresh retry window; PENDING ones become due now), or, without ids, every DEAD one. Each
 * replayed call is pointed at the service's current callBack (when it has one): a call is
 * otherwise made to the URL set when its event was recorded. SG_ENOTFOUND when the service,
 * or one of the ids in it, does not exist. */
typedef struct store_notify_replay_req {
    const char *service_name;
    const int64_t *ids;
    size_t count;
    int64_t now_ms;
    size_t replayed;    /* out */
} store_notify_replay_req;

/* The signing secret of a service, created on first use. SG_ENOTFOUND for no such service. */
typedef struct store_notify_secret_req {
    const char *service_name;
    char *secret;       /* out (new) */
} store_notify_secret_req;

#define STORE_NOTIFY_OPS(X)                                   \
    X(notify_claim, store_notify_claim_req)                   \
    X(notify_finish, store_notify_finish_req)                 \
    X(notify_list, store_notify_list_req)                     \
    X(notify_replay, store_notify_replay_req)                 \
    X(notify_secret, store_notify_secret_req)

/* Registers fn to be called whenever calls were queued or made due (a status event with a
 * callBack, a replay), so the notifier claims them without polling. fn runs on the store
 * thread, possibly before the transaction commits (a claim it queues runs after that commit
 * anyway, in a later batch), and must only wake the loop (event_active). One function per
 * store; NULL unregisters, and once that returns fn is never called again. */
typedef void (*store_notify_wake_cb)(void *arg);
struct store;
void store_notify_set_wake(struct store *st, store_notify_wake_cb fn, void *arg);

/* Hand-off of new calls, so a call need not be claimed back. While open (node not NULL), a
 * call queued by a status event of an SMS that has no earlier PENDING call is written already
 * leased to node until now + lease_ms and, once its transaction committed, kept for
 * store_notify_take(); then ready(arg) runs (on the store thread; it must only wake the loop).
 * At most cap calls wait to be taken: beyond that, and for a call behind an earlier one of its
 * SMS, calls are claimed as before. Closing (node NULL) frees what was not taken: those calls
 * stay leased to node until its next start releases them (as at any stop). One hand-off per
 * store; the notifier opens it only after its first claim released an earlier run's
 * leases. */
void store_notify_set_direct(struct store *st, const char *node, int64_t lease_ms, size_t cap,
                             store_notify_wake_cb ready, void *arg);
/* Takes the calls handed over so far: returns their number and a new array in *out (free
 * each call's strings, then the array), or 0 and NULL. Loop thread. */
size_t store_notify_take(struct store *st, store_notify_call **out);

#endif
