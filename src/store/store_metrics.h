/*
 * store_metrics.h - what the store tells /metrics (docs/metrics.md): counters of what its
 * transactions committed, the time its commits take, and one cheap read of the queues.
 *
 * Counters. The operations count as they go (store__count, store_int.h): a message accepted
 * (each new row of `messages`), a message reaching a final state, credits debited, an order
 * created, paid or cancelled. A count follows its transaction, as a staged status call does:
 * an operation rolled back, or a batch that failed, counts nothing. store_counters() copies
 * the committed totals and the commit histograms, under the store's mutexes, for the loop
 * thread; nothing is read from the database for them. They count what this process committed
 * (each node of a cluster counts its own; Prometheus sums them).
 *
 * metrics_read: one read-only operation for the gauges that only the database knows, each an
 * aggregate over a partial index: messages due, held (scheduled for later) and in flight
 * (claimed by a node), and status callbacks pending and dead. With gauges = 0 it runs
 * `SELECT 1` only: the readiness probe (/readyz) asks whether the database answers.
 */
#ifndef SG_STORE_METRICS_H
#define SG_STORE_METRICS_H

#include <stdint.h>

#include "util/metrics.h"

enum {
    STORE_COUNT_ACCEPTED = 0,  /* messages stored for sending */
    STORE_COUNT_DELIVERED,     /* final states reached */
    STORE_COUNT_FAILED,
    STORE_COUNT_EXPIRED,       /* failed because their validity ended before they were sent */
    STORE_COUNT_CANCELLED,
    STORE_COUNT_DEBITED_MILLI, /* credits debited by sends, in thousandths */
    STORE_COUNT_ORDER_CREATED,
    STORE_COUNT_ORDER_PAID,
    STORE_COUNT_ORDER_CANCELLED,
    STORE_COUNT_N
};

typedef struct store_counters {
    uint64_t n[STORE_COUNT_N];
    sg_hist commit_s;  /* seconds each COMMIT took, batches that wrote or read alike */
    sg_hist batch_ops; /* operations per committed batch */
} store_counters;

/* metrics_read (read only). */
typedef struct store_metrics_read_req {
    int gauges;    /* 0: only check that the database answers */
    int64_t now_ms;
    int64_t due, held, in_flight;                 /* out: messages */
    int64_t callbacks_pending, callbacks_dead;    /* out: notify_calls */
} store_metrics_read_req;

#define STORE_METRICS_OPS(X) X(metrics_read, store_metrics_read_req)

#endif
