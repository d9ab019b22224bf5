/*
 * store_int.h - declarations shared inside store/ only: the hand-off of status callbacks
 * (store_handoff.c), which the store handle owns and every backend feeds.
 *
 * The hand-off is backend state that is not SQL: the notifier's wake-up hook and the calls
 * queued by status events on their way to the notifier (store_notify.h,
 * store_notify_set_wake/set_direct/take). It lives on the store handle (struct store in
 * store.c), one per store, and is passed to the backend's open(); nothing of it is
 * process-global, so two stores in one process (the unit tests open several) never share it.
 *
 * Threads: the wake-up hook and the handed-over calls are shared between the store thread and
 * the loop thread (under the hand-off's mutex); the staged calls of the running transaction
 * belong to the store thread alone.
 */
#ifndef SG_STORE_INT_H
#define SG_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_metrics.h"
#include "store/store_notify.h"

/* One queue of the hand-off: records of `elem` bytes written leased to `node` at insert,
 * staged with the running transaction and handed over at its commit (store_handoff.c). */
typedef struct handoff_queue {
    /* under the hand-off's mu */
    char *node;                   /* NULL: closed */
    int64_t lease_ms;
    size_t cap;
    store_notify_wake_cb ready_fn;
    void *ready_arg;
    char *v;                      /* committed, not taken yet: n records */
    size_t n, size;
    /* store thread only: records of the running transaction, handed over at its commit */
    struct {
        char *v;
        size_t n, cap, mark;      /* mark: n when the current operation's savepoint opened */
    } staged;
    /* fixed at init */
    size_t elem;
    void (*fini)(void *);
} handoff_queue;

typedef struct store_handoff {
    pthread_mutex_t mu;
    /* under mu */
    store_notify_wake_cb wake_fn; /* store_notify_set_wake */
    void *wake_arg;
    handoff_queue calls;          /* status callbacks to the notifier (store_notify_set_direct) */
    handoff_queue msgs;           /* new messages to the dispatcher (store_dispatch_set_direct) */
    /* store thread only: messages the running batch queued without handing them over (other
     * nodes are woken at its commit: store.c) */
    size_t unhanded;
    /* Counts that follow the transaction as the staged calls do (store_metrics.h, for
     * /metrics): `counted` under mu, what committed; the other two the store thread's. */
    uint64_t counted[STORE_COUNT_N];
    uint64_t counting[STORE_COUNT_N]; /* the running batch, the current operation included */
    uint64_t count_mark[STORE_COUNT_N]; /* counting when the operation's savepoint opened */
} store_handoff;

void store__handoff_init(store_handoff *h);
/* Frees every call not taken and the hook; the store thread has stopped. */
void store__handoff_fini(store_handoff *h);

/* The public side (store_notify.h), on the loop thread. */
void store__handoff_set_wake(store_handoff *h, store_notify_wake_cb fn, void *arg);
void store__handoff_set_direct(store_handoff *h, const char *node, int64_t lease_ms, size_t cap,
                               store_notify_wake_cb ready, void *arg);
size_t store__handoff_take(store_handoff *h, store_notify_call **out);

/* Backend side, store thread. Calls the wake-up hook, if any (calls were queued or made due). */
void store__handoff_wake(store_handoff *h);
/* 1 when a new call may be handed over at insert: the hand-off is open and has room for one
 * more; then node (the lease owner, cut to node_len) and *lease_ms are filled. */
int store__handoff_open(store_handoff *h, char *node, size_t node_len, int64_t *lease_ms);
/* Keeps a call written leased to the hand-off's node, to be handed over once the transaction
 * commits. Takes ownership of k's strings. */
void store__handoff_stage(store_handoff *h, const store_notify_call *k);

/* The same on either queue of h (h->calls, h->msgs: new messages to the dispatcher, store.h
 * store_dispatch_set_direct); a record is the queue's kind (store_notify_call, store_msg),
 * staged with its strings taken, and take returns an array of them. The four above are
 * these on h->calls. */
void store__handoff_q_set_direct(store_handoff *h, handoff_queue *q, const char *node,
                                 int64_t lease_ms, size_t cap, store_notify_wake_cb ready,
                                 void *arg);
int store__handoff_q_open(store_handoff *h, handoff_queue *q, char *node, size_t node_len,
                          int64_t *lease_ms);
void store__handoff_q_stage(handoff_queue *q, const void *rec);
size_t store__handoff_q_take(store_handoff *h, handoff_queue *q, void **out);

/* Transaction hooks, called by store.c around the backend's own: an operation's savepoint
 * opened; it was rolled back; the batch committed (hand the staged calls over, or forget them
 * when the hand-off closed meanwhile: they stay leased until the node's next start); the
 * batch was rolled back (forget them). */
void store__handoff_savepoint(store_handoff *h);
void store__handoff_rollback_op(store_handoff *h);
void store__handoff_committed(store_handoff *h);
void store__handoff_aborted(store_handoff *h);
/* Backend side, store thread: adds n to counter k (STORE_COUNT_*) of the running operation;
 * it counts once the batch commits, and never when the operation or the batch is rolled
 * back. h NULL (a connection opened without a store handle) does nothing. */
void store__count(store_handoff *h, int k, uint64_t n);

/* The PostgreSQL backend's table (postgres.c), filled into be: SQLite's operations, which
 * run on either driver, with PostgreSQL's open and close. */
struct store_backend;
void store__postgres_backend(struct store_backend *be);

#endif
