/*
 * retry.h - how long to wait before trying a temporarily refused message again: exponential
 * backoff with jitter, as one pure function (docs/smpp.md, "Temporary errors").
 *
 * Pure, no state: callable from any thread. The caller supplies the randomness, so the
 * schedule is testable and the dispatcher keeps its own generator.
 */
#ifndef SG_CORE_RETRY_H
#define SG_CORE_RETRY_H

#include <stdint.h>

/* The jitter: each delay is drawn in [base - base/RETRY_JITTER_DIV, base + base/RETRY_JITTER_DIV]
 * (±20 %), so that messages refused together do not come back together. */
#define RETRY_JITTER_DIV 5

/* The wait before attempt n + 1, after n (>= 1) attempts that failed temporarily: base =
 * min_ms * 2^(n-1), capped at max_ms, then spread by ±20 % with rnd (uniform over 32 bits:
 * 0 gives the shortest delay, UINT32_MAX the longest). n < 1 counts as 1; max_ms below min_ms
 * counts as min_ms. Never negative, never overflows. */
int64_t retry_delay_ms(int n, int64_t min_ms, int64_t max_ms, uint32_t rnd);

/* The base of retry_delay_ms (no jitter): min_ms * 2^(n-1), capped at max_ms. */
int64_t retry_base_ms(int n, int64_t min_ms, int64_t max_ms);

#endif
