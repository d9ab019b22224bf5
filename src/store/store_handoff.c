/*
 * store_handoff.c - the hand-off of status callbacks between the store thread and the
 * notifier (store_int.h; the contract is store_notify.h's store_notify_set_wake, _set_direct
 * and _take).
 *
 * Design. A backend that queues a status callback either wakes the notifier (it will claim
 * the call with store_notify_claim) or, while the notifier keeps the hand-off open, writes the
 * call already leased to the notifier's node and stages it here. Staged calls follow the
 * transaction: forgotten with a rolled-back savepoint or batch, moved to the handed-over list
 * at commit, where the notifier takes them from the loop thread. None of this is SQL, so it
 * is written once for every backend and driven by store.c around the backend's transaction
 * functions. The counters of store_metrics.h follow the transaction the same way
 * (store__count): forgotten with a rolled-back operation or batch, added to the committed
 * totals at commit.
 *
 * Invariants:
 *  1. A call reaches the notifier only after its transaction committed.
 *  2. store__handoff_set_wake(NULL) returning means the old hook never runs again (the hook
 *     runs under mu).
 *  3. At most cap calls wait in v plus staged (store__handoff_open refuses beyond).
 *
 * Calls nothing else of the store: store.c and the backends call it.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void store__handoff_init(store_handoff *h) {
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
}

void store_notify_call_fini(store_notify_call *k) {
    free(k->url);
    free(k->origin);
    free(k->secret);
    k->url = k->origin = k->secret = NULL;
}

static void free_calls(store_notify_call *v, size_t n) {
    for (size_t i = 0; i < n; i++) store_notify_call_fini(&v[i]);
    free(v);
}

void store__handoff_fini(store_handoff *h) {
    free_calls(h->v, h->n);
    free_calls(h->staged.v, h->staged.n);
    free(h->node);
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

void store__handoff_set_direct(store_handoff *h, const char *node, int64_t lease_ms, size_t cap,
                               store_notify_wake_cb ready, void *arg) {
    pthread_mutex_lock(&h->mu);
    free(h->node);
    h->node = node ? sg_xstrdup(node) : NULL;
    h->lease_ms = lease_ms;
    h->cap = cap;
    h->ready_fn = node ? ready : NULL;
    h->ready_arg = node ? arg : NULL;
    if (!node) {
        free_calls(h->v, h->n);
        h->v = NULL;
        h->n = h->size = 0;
    }
    pthread_mutex_unlock(&h->mu);
}

size_t store__handoff_take(store_handoff *h, store_notify_call **out) {
    pthread_mutex_lock(&h->mu);
    size_t n = h->n;
    *out = h->v;
    h->v = NULL;
    h->n = h->size = 0;
    pthread_mutex_unlock(&h->mu);
    return n;
}

int store__handoff_open(store_handoff *h, char *node, size_t node_len, int64_t *lease_ms) {
    pthread_mutex_lock(&h->mu);
    int open = h->node && h->n + h->staged.n < h->cap;
    if (open) {
        snprintf(node, node_len, "%s", h->node);
        *lease_ms = h->lease_ms;
    }
    pthread_mutex_unlock(&h->mu);
    return open && strlen(node) < node_len - 1;
}

void store__handoff_stage(store_handoff *h, const store_notify_call *k) {
    if (h->staged.n == h->staged.cap) {
        h->staged.cap = h->staged.cap ? 2 * h->staged.cap : 64;
        h->staged.v = sg_xrealloc(h->staged.v, h->staged.cap * sizeof *h->staged.v);
    }
    h->staged.v[h->staged.n++] = *k;
}

void store__handoff_savepoint(store_handoff *h) {
    h->staged.mark = h->staged.n;
    memcpy(h->count_mark, h->counting, sizeof h->count_mark);
}

void store__handoff_rollback_op(store_handoff *h) {
    while (h->staged.n > h->staged.mark) store_notify_call_fini(&h->staged.v[--h->staged.n]);
    memcpy(h->counting, h->count_mark, sizeof h->counting);
}

void store__handoff_aborted(store_handoff *h) {
    h->staged.mark = 0;
    memset(h->count_mark, 0, sizeof h->count_mark);
    store__handoff_rollback_op(h);
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

void store__handoff_committed(store_handoff *h) {
    count_committed(h);
    if (h->staged.n == 0) return;
    pthread_mutex_lock(&h->mu);
    if (h->node) { /* still open: hand them over; else they wait for the next start */
        if (h->n + h->staged.n > h->size) {
            h->size = h->n + h->staged.n + 64;
            h->v = sg_xrealloc(h->v, h->size * sizeof *h->v);
        }
        memcpy(h->v + h->n, h->staged.v, h->staged.n * sizeof *h->staged.v);
        h->n += h->staged.n;
        h->staged.n = 0;
        if (h->ready_fn) h->ready_fn(h->ready_arg);
    }
    pthread_mutex_unlock(&h->mu);
    store__handoff_aborted(h); /* what was not handed over */
}
