/*
 * ratelimit.h - token buckets for request rate limits, in a table of bounded size.
 *
 * Pure logic: no I/O, no clock. The caller passes the time (the request's arrival time, which
 * the HTTP layer already read), so a decision costs no system call and tests drive time by
 * hand. A limit is "count requests per period, burst at once"; a table holds one bucket per key
 * (an application key, an address) and never more than its capacity, whatever the number of
 * distinct keys it is shown.
 *
 * Thread: a table belongs to one thread (the loop thread in smsgated); nothing is locked.
 * Ownership: rl_table_new() returns a table the caller frees with rl_table_free(). Keys are
 * copied (at most RL_KEY_MAX bytes of them are kept and compared).
 */
#ifndef SG_CORE_RATELIMIT_H
#define SG_CORE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RL_KEY_MAX 64 /* bytes of a key that are kept; longer keys are compared on a prefix */

/* One limit, precomputed: interval between two requests at the sustained rate and how far
 * ahead of that rate a key may run (burst - 1 intervals). Both in microseconds. An rl_limit
 * with interval_us == 0 is "no limit". */
typedef struct rl_limit {
    int64_t interval_us;
    int64_t tolerance_us;
} rl_limit;

/* count requests per period_ms, with up to burst of them at once. count <= 0 or period_ms <= 0
 * gives "no limit"; burst < 1 is taken as 1. */
rl_limit rl_limit_make(int64_t count, int64_t period_ms, int64_t burst);
/* 1 when lim limits anything. */
static inline int rl_limit_on(const rl_limit *lim) { return lim->interval_us > 0; }

typedef struct rl_table rl_table;

/* A table of at most capacity buckets (at least 1). Memory is allocated at the first
 * rl_take(), so a table that is never used costs a few bytes. */
rl_table *rl_table_new(size_t capacity);
/* NULL does nothing. */
void rl_table_free(rl_table *t);

/* Takes one request for key (klen bytes) at now_ms under lim. Returns 0 when the request is
 * within the limit, or SG_ELIMIT when it is not; then *retry_ms (may be NULL) gets how long
 * until one request would be allowed again (>= 1). A refused request takes nothing. With "no
 * limit" it returns 0 and touches nothing. O(1) on average; never allocates after the first
 * call. */
int rl_take(rl_table *t, const char *key, size_t klen, const rl_limit *lim, int64_t now_ms,
            int64_t *retry_ms);

/* Buckets held now, and buckets that had to be dropped while still holding back their key
 * (the table was full and this was the least recently used one): that key then starts
 * again from a full burst. */
size_t rl_table_count(const rl_table *t);
uint64_t rl_table_evicted_busy(const rl_table *t);

/* The key under which a client address is limited: an IPv4 address as it is, an IPv6 address
 * reduced to its /64 (one subscriber's usual allocation: "2001:db8:1:2::/64"), anything else
 * as it is. Writes a NUL-terminated string of at most n - 1 bytes and returns its length. */
size_t rl_addr_key(const char *addr, char *out, size_t n);

#endif
