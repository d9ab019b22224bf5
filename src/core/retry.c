/*
 * retry.c - the backoff schedule of temporary errors (see retry.h).
 *
 * Design. Attempt n failed; the next one waits min * 2^(n-1), at most max, spread by ±20 %.
 * With the defaults (1 s, 10 min) the waits are about 1, 2, 4 ... 512 s, then 600 s each, so
 * 15 attempts cover about an hour. The spread is symmetrical around the base so that the
 * average schedule is the documented one; at the cap the spread is kept (the delay may reach
 * 1.2 x max) because that is where many messages refused by one outage would otherwise come
 * back in step.
 *
 * Invariants:
 *   1. retry_base_ms is non-decreasing in n and never above max(min_ms, max_ms).
 *   2. retry_delay_ms(n, ..., rnd) lies in [base - base/5, base + base/5] and is
 *      non-decreasing in rnd.
 */
#include "core/retry.h"

int64_t retry_base_ms(int n, int64_t min_ms, int64_t max_ms) {
    if (min_ms < 0) min_ms = 0;
    if (max_ms < min_ms) max_ms = min_ms;
    int64_t d = min_ms;
    for (int i = 1; i < n && d < max_ms; i++) d = d > max_ms / 2 ? max_ms : d * 2;
    return d < max_ms ? d : max_ms;
}

int64_t retry_delay_ms(int n, int64_t min_ms, int64_t max_ms, uint32_t rnd) {
    int64_t base = retry_base_ms(n, min_ms, max_ms);
    int64_t spread = base / RETRY_JITTER_DIV;
    /* rnd / UINT32_MAX in [0, 1] scales 2 * spread. */
    int64_t off = (int64_t)((double)(2 * spread) * ((double)rnd / (double)UINT32_MAX));
    return base - spread + off;
}
