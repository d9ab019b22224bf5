/*
 * store_handoff.c - the hand-offs between the store thread and the loop: status callbacks to
 * the notifier (store_int.h; the contract is store_notify.h's store_notify_set_wake,
 * _set_direct and _take) and new messages to the dispatcher (store.h,
 * store_dispatch_set_direct and _take).
 *
 * Design. A backend that queues a status callback either wakes the notifier (it will claim
 * the call with store_notify_claim) or, while the notifier keeps the hand-off open, writes the
 * call already leased to the notifier's node and stages it here. Staged calls follow the
 * transaction: forgotten with a rolled-back savepoint or batch, moved to the handed-over list
 * at commit, where the notifier takes them from the loop thread. None of this is SQL, so it
 * is written once for every backend and driven by store.c around the backend's transaction
 * functions. New messages go the same way to the dispatcher: a message due now is written
 * already claimed (state submitting, leased to the node) and staged, so that it is neither
 * read back nor claimed (docs/benchmarks.md, "Messages handed over at insert"). Both are a
 * handoff_queue: one set of functions, for records of either kind. The counters of store_metrics.h follow the transaction the same way
 * (store__count): forgotten with a rolled-back operation or batch, added to the committed
 * totals at commit.
 *
 * Invariants:
 *  1. A call reaches the notifier only after its transaction committed.
 *  2. store__handoff_set_wake(NULL) returning means the old hook never runs again (the hook
 *     runs under mu).
 *  3. At most cap records of a queue wait in v plus staged (store__handoff_open refuses beyond).
 *
 * Calls nothing else of the store: store.c and the backends call it.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void call_fini(void *k) { store_notify_call_fini(k); }
static void msg_fini(void *m) { store_msg_fini(m); }

static void queue_init(handoff_queue *q, size_t elem, void (*fini)(void *)) {
    memset(q, 0, sizeof *q);
    q->elem = elem;
    q->fini = fini;
}

static void free_records(const handoff_queue *q, char *v, size_t n) {
    for (size_t i = 0; i < n; i++) q->fini(v + i * q->elem);
    free(v);
}

static void queue_fini(handoff_queue *q) {
    free_records(q, q->v, q->n);
    free_records(q, q->staged.v, q->staged.n);
    free(q->node);
}

void store__handoff_init(store_handoff *h) {
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    queue_init(&h->calls, sizeof(store_notify_call), call_fini);
    queue_init(&h->msgs, sizeof(store_msg), msg_fini);
}

void store_notify_call_fini(store_notify_call *k) {
    free(k->url);
    free(k->origin);
    free(k->secret);
    k->url = k->origin = k->secret = NULL;
}

void store__handoff_fini(store_handoff *h) {
    queue_fini(&h->calls);
    queue_fini(&h->msgs);
    pthread_mutex_destroy(&h->mu);
    memset(h, 0, sizeof *h);
}

void store__handoff_set_wake(store_handoff *h, store_notify_wake_cb fn, void *arg) {
    pthread_mutex_lock(&h->mu);
    h->wake_fn = fn;
    h->wake_arg = arg;
    pthread_mutex_unlock(&h->mu);
}

void store__handoff_wake(store_handoff *h) {
    pthread_mutex_lock(&h->mu);
    if (h->wake_fn) h->wake_fn(h->wake_arg);
    pthread_mutex_unlock(&h->mu);
}

void store__handoff_q_set_direct(store_handoff *h, handoff_queue *q, const char *node,
                                 int64_t lease_ms, size_t cap, store_notify_wake_cb ready,
                                 void *arg) {
    pthread_mutex_lock(&h->mu);
    free(q->node);
    q->node = node ? sg_xstrdup(node) : NULL;
    q->lease_ms = lease_ms;
    q->cap = cap;
    q->ready_fn = node ? ready : NULL;
    q->ready_arg = node ? arg : NULL;
    if (!node) {
        free_records(q, q->v, q->n);
        q->v = NULL;
        q->n = q->size = 0;
    }
    pthread_mutex_unlock(&h->mu);
}

size_t store__handoff_q_take(store_handoff *h, handoff_queue *q, void **out) {
    pthread_mutex_lock(&h->mu);
    size_t n = q->n;
    *out = q->v;
    q->v = NULL;
    q->n = q->size = 0;
    pthread_mutex_unlock(&h->mu);
    return n;
}

int store__handoff_q_open(store_handoff *h, handoff_queue *q, char *node, size_t node_len,
                          int64_t *lease_ms) {
    pthread_mutex_lock(&h->mu);
    int open = q->node && q->n + q->staged.n < q->cap;
    if (open) {
        snprintf(node, node_len, "%s", q->node);
        *lease_ms = q->lease_ms;
    }
    pthread_mutex_unlock(&h->mu);
    return open && strlen(node) < node_len - 1;
}

void store__handoff_q_stage(handoff_queue *q, const void *rec) {
    if (q->staged.n == q->staged.cap) {
        q->staged.cap = q->staged.cap ? 2 * q->staged.cap : 64;
        q->staged.v = sg_xrealloc(q->staged.v, q->staged.cap * q->elem);
    }
    memcpy(q->staged.v + q->staged.n++ * q->elem, rec, q->elem);
}

/* The notifier's queue under the names the backends and tests use. */
void store__handoff_set_direct(store_handoff *h, const char *node, int64_t lease_ms, size_t cap,
                               store_notify_wake_cb ready, void *arg) {
    store__handoff_q_set_direct(h, &h->calls, node, lease_ms, cap, ready, arg);
}

size_t store__handoff_take(store_handoff *h, store_notify_call **out) {
    void *v;
    size_t n = store__handoff_q_take(h, &h->calls, &v);
    *out = v;
    return n;
}

int store__handoff_open(store_handoff *h, char *node, size_t node_len, int64_t *lease_ms) {
    return store__handoff_q_open(h, &h->calls, node, node_len, lease_ms);
}

void store__handoff_stage(store_handoff *h, const store_notify_call *k) {
    store__handoff_q_stage(&h->calls, k);
}

void store__handoff_savepoint(store_handoff *h) {
    h->calls.staged.mark = h->calls.staged.n;
    h->msgs.staged.mark = h->msgs.staged.n;
    memcpy(h->count_mark, h->counting, sizeof h->count_mark);
}

static void rollback_queue(handoff_queue *q) {
    while (q->staged.n > q->staged.mark) q->fini(q->staged.v + --q->staged.n * q->elem);
}

void store__handoff_rollback_op(store_handoff *h) {
    rollback_queue(&h->calls);
    rollback_queue(&h->msgs);
    memcpy(h->counting, h->count_mark, sizeof h->counting);
}

void store__handoff_aborted(store_handoff *h) {
    h->calls.staged.mark = h->msgs.staged.mark = 0;
    memset(h->count_mark, 0, sizeof h->count_mark);
    store__handoff_rollback_op(h);
    h->unhanded = 0;
}

void store__count(store_handoff *h, int k, uint64_t n) {
    if (h && k >= 0 && k < STORE_COUNT_N) h->counting[k] += n;
}

/* The batch's counts join the committed ones (under mu: store_counters_read). */
static void count_committed(store_handoff *h) {
    int any = 0;
    for (int k = 0; k < STORE_COUNT_N; k++) any |= h->counting[k] != 0;
    if (!any) return;
    pthread_mutex_lock(&h->mu);
    for (int k = 0; k < STORE_COUNT_N; k++) h->counted[k] += h->counting[k];
    pthread_mutex_unlock(&h->mu);
    memset(h->counting, 0, sizeof h->counting);
    memset(h->count_mark, 0, sizeof h->count_mark);
}

/* Under mu: the queue's staged records move to the committed ones while it is open; else
 * they stay in staged (forgotten by the caller: they wait for the node's next start). */
static void hand_over(handoff_queue *q) {
    if (q->staged.n == 0 || !q->node) return;
    if (q->n + q->staged.n > q->size) {
        q->size = q->n + q->staged.n + 64;
        q->v = sg_xrealloc(q->v, q->size * q->elem);
    }
    memcpy(q->v + q->n * q->elem, q->staged.v, q->staged.n * q->elem);
    q->n += q->staged.n;
    q->staged.n = 0;
    if (q->ready_fn) q->ready_fn(q->ready_arg);
}

void store__handoff_committed(store_handoff *h) {
    count_committed(h);
    h->unhanded = 0;
    if (h->calls.staged.n == 0 && h->msgs.staged.n == 0) return;
    pthread_mutex_lock(&h->mu);
    hand_over(&h->calls);
    hand_over(&h->msgs);
    pthread_mutex_unlock(&h->mu);
    store__handoff_aborted(h); /* what was not handed over */
}
