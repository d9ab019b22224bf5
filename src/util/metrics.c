/*
 * metrics.c - fixed-bucket histograms and the Prometheus text writer (see metrics.h).
 *
 * Why fixed buckets: a histogram observed on the send path must cost a few nanoseconds and
 * never allocate; Prometheus computes quantiles from cumulative bucket counts at query time, so
 * nothing here needs to keep samples. The bounds are the usual 1-2.5-5 steps, chosen once for
 * each kind of duration smsgate measures (docs/metrics.md lists them). sg_hist_quantile makes
 * the same estimate Prometheus does, for answers that show a quantile without Prometheus (the
 * receipt latency of GET /admin/route-status), so both give one number for one histogram.
 *
 * Invariants:
 *  1. counts[i] counts values in (bounds[i-1], bounds[i]]; counts[nb] those above bounds[nb-1];
 *     count is their sum.
 *  2. The writer emits each bucket's cumulative count, so the le="+Inf" bucket equals _count.
 */
#include "util/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

const double sg_hist_fast_s[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                 5,      10};
const int sg_hist_fast_n = (int)(sizeof sg_hist_fast_s / sizeof sg_hist_fast_s[0]);
const double sg_hist_slow_s[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
                                 1800, 3600};
const int sg_hist_slow_n = (int)(sizeof sg_hist_slow_s / sizeof sg_hist_slow_s[0]);
const double sg_hist_count_b[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const int sg_hist_count_n = (int)(sizeof sg_hist_count_b / sizeof sg_hist_count_b[0]);

void sg_hist_init(sg_hist *h, const double *bounds, int nb) {
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nb = nb > SG_HIST_MAX ? SG_HIST_MAX : nb;
}

void sg_hist_observe(sg_hist *h, double v) {
    int i = 0;
    while (i < h->nb && v > h->bounds[i]) i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void sg_hist_add(sg_hist *into, const sg_hist *from) {
    for (int i = 0; i <= into->nb && i <= SG_HIST_MAX; i++) into->counts[i] += from->counts[i];
    into->count += from->count;
    into->sum += from->sum;
}

double sg_hist_quantile(const sg_hist *h, double q) {
    if (h->count == 0 || h->nb == 0) return NAN;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    double rank = q * (double)h->count;
    uint64_t below = 0; /* observations in the buckets before i */
    for (int i = 0; i < h->nb; i++) {
        uint64_t n = h->counts[i];
        if (n > 0 && (double)(below + n) >= rank) {
            double lo = i ? h->bounds[i - 1] : 0, hi = h->bounds[i];
            if (i == 0 && hi <= 0) return hi;
            return lo + (hi - lo) * (rank - (double)below) / (double)n;
        }
        below += n;
    }
    return h->bounds[h->nb - 1]; /* in the bucket above the last bound: no upper end to use */
}

/* ---- the text format ---- */

void sg_prom_init(sg_prom *p) {
    p->cap = 4096;
    p->buf = sg_xmalloc(p->cap);
    p->buf[0] = '\0';
    p->len = 0;
}

void sg_prom_fini(sg_prom *p) {
    free(p->buf);
    memset(p, 0, sizeof *p);
}

static void put(sg_prom *p, const char *s, size_t n) {
    if (p->len + n + 1 > p->cap) {
        while (p->len + n + 1 > p->cap) p->cap *= 2;
        p->buf = sg_xrealloc(p->buf, p->cap);
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void puts_(sg_prom *p, const char *s) { put(p, s, strlen(s)); }

static void putf(sg_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(sg_prom *p, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        put(p, tmp, (size_t)n);
        return;
    }
    char *big = sg_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(p, big, (size_t)n);
    free(big);
}

/* A HELP text escapes backslash and new line; a label value also the double quote. */
static void escaped(sg_prom *p, const char *s, int quote) {
    for (; *s; s++) {
        if (*s == '\\') puts_(p, "\\\\");
        else if (*s == '\n') puts_(p, "\\n");
        else if (quote && *s == '"') puts_(p, "\\\"");
        else put(p, s, 1);
    }
}

static void number(sg_prom *p, double v) {
    if (isnan(v)) puts_(p, "NaN");
    else if (isinf(v)) puts_(p, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15) putf(p, "%.0f", v);
    else putf(p, "%.9g", v);
}

void sg_prom_family(sg_prom *p, const char *name, const char *type, const char *help) {
    putf(p, "# HELP %s ", name);
    escaped(p, help, 0);
    putf(p, "\n# TYPE %s %s\n", name, type);
}

/* name{labels[,extra_k="extra_v"]} */
static void series(sg_prom *p, const char *name, const char *suffix, const char *const *labels,
                   const char *extra_k, const char *extra_v) {
    puts_(p, name);
    if (suffix) puts_(p, suffix);
    int any = 0;
    for (const char *const *l = labels; l && l[0] && l[1]; l += 2) {
        puts_(p, any ? "," : "{");
        puts_(p, l[0]);
        puts_(p, "=\"");
        escaped(p, l[1], 1);
        puts_(p, "\"");
        any = 1;
    }
    if (extra_k) {
        puts_(p, any ? "," : "{");
        putf(p, "%s=\"%s\"", extra_k, extra_v);
        any = 1;
    }
    if (any) puts_(p, "}");
    puts_(p, " ");
}

void sg_prom_sample(sg_prom *p, const char *name, const char *const *labels, double v) {
    series(p, name, NULL, labels, NULL, NULL);
    number(p, v);
    puts_(p, "\n");
}

void sg_prom_hist(sg_prom *p, const char *name, const char *const *labels, const sg_hist *h) {
    uint64_t cum = 0;
    char le[32];
    for (int i = 0; i < h->nb; i++) {
        cum += h->counts[i];
        snprintf(le, sizeof le, "%g", h->bounds[i]);
        series(p, name, "_bucket", labels, "le", le);
        putf(p, "%llu\n", (unsigned long long)cum);
    }
    cum += h->counts[h->nb];
    series(p, name, "_bucket", labels, "le", "+Inf");
    putf(p, "%llu\n", (unsigned long long)cum);
    series(p, name, "_sum", labels, NULL, NULL);
    number(p, h->sum);
    puts_(p, "\n");
    series(p, name, "_count", labels, NULL, NULL);
    putf(p, "%llu\n", (unsigned long long)h->count);
}
