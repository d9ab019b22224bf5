/*
 * metrics.h - the two kinds of measurement smsgate keeps for Prometheus (docs/metrics.md), and
 * the writer of Prometheus' text exposition format (version 0.0.4).
 *
 * A counter is a plain uint64_t kept by the module that counts, on the thread that counts;
 * nothing here owns it. A histogram (sg_hist) has fixed bucket bounds chosen at compile time,
 * so observing a value is a short scan and two additions, and nothing is allocated.
 * Neither locks: each is written by one thread only. A value written by the store thread is
 * copied under the store's own mutex (store.h, store_counters) before the loop thread reads it.
 *
 * sg_prom builds one exposition in a growing buffer: a family's HELP and TYPE lines once,
 * then its samples, label values escaped as the format asks (backslash, double quote, new
 * line). The caller frees the buffer with sg_prom_fini.
 *
 * Pure, no state of its own: callable from any thread.
 */
#ifndef SG_UTIL_METRICS_H
#define SG_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define SG_HIST_MAX 16 /* bucket bounds at most, +Inf not counted */

typedef struct sg_hist {
    const double *bounds; /* upper bounds, ascending; borrowed (a static table) */
    int nb;               /* how many */
    uint64_t counts[SG_HIST_MAX + 1]; /* per bucket, not cumulative; [nb] is above the last */
    uint64_t count;
    double sum;
} sg_hist;

/* Bucket bounds in seconds for latencies from a fraction of a millisecond (an HTTP request, a
 * commit) to ten seconds; and for delays from a tenth of a second to an hour (receipts,
 * callbacks). Counts of things in one batch: 1 to 1024. */
extern const double sg_hist_fast_s[];
extern const int sg_hist_fast_n;
extern const double sg_hist_slow_s[];
extern const int sg_hist_slow_n;
extern const double sg_hist_count_b[];
extern const int sg_hist_count_n;

/* bounds (nb <= SG_HIST_MAX, ascending) must outlive h. */
void sg_hist_init(sg_hist *h, const double *bounds, int nb);
/* Counts v in the first bucket whose bound is >= v (Prometheus' le), or above the last. */
void sg_hist_observe(sg_hist *h, double v);
/* Adds from's counts to into's; both must have the same bounds. */
void sg_hist_add(sg_hist *into, const sg_hist *from);
/* The q-quantile (0 <= q <= 1) estimated from the buckets as Prometheus' histogram_quantile
 * does: linear within the bucket that holds the rank, the first bucket starting at 0, and the
 * last bound when the rank falls above it. NAN when nothing was observed. */
double sg_hist_quantile(const sg_hist *h, double q);

typedef struct sg_prom {
    char *buf; /* NUL-terminated; new, freed by sg_prom_fini */
    size_t len, cap;
} sg_prom;

void sg_prom_init(sg_prom *p);
void sg_prom_fini(sg_prom *p);
/* The HELP and TYPE lines of a family: type is "counter", "gauge" or "histogram". */
void sg_prom_family(sg_prom *p, const char *name, const char *type, const char *help);
/* One sample: labels is NULL or a NULL-terminated list of name, value, name, value...
 * (values escaped here). Whole numbers are written without a fraction. */
void sg_prom_sample(sg_prom *p, const char *name, const char *const *labels, double v);
/* A histogram's samples: name_bucket{...,le="..."} cumulative, with le="+Inf", then name_sum
 * and name_count. */
void sg_prom_hist(sg_prom *p, const char *name, const char *const *labels, const sg_hist *h);

#endif
