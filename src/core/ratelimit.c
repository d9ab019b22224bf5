/*
 * ratelimit.c - token buckets (see ratelimit.h), kept as one number each, in a bounded table.
 *
 * Design. A token bucket of rate r and size b is stored the way the "generic cell rate
 * algorithm" stores it: not a token count and a refill time, but one instant, tat (theoretical
 * arrival time), the moment the bucket would be full again if nothing else came. With
 * interval T = 1/r and tolerance tau = (b - 1) * T, a request at now is allowed when
 * max(tat, now) - now <= tau, and then tat = max(tat, now) + T; otherwise it must wait
 * max(tat, now) - now - tau. That is exactly a bucket of b tokens refilled at r per second,
 * with integer arithmetic only (microseconds), one comparison per request and no refill loop.
 * The limit is not stored with the bucket: it is passed at each call, so an operator's change
 * of an account's limit applies to its next request.
 *
 * A bucket whose tat is in the past is full, which is the same as having no bucket at all.
 * That is what makes the table's bound cheap: any entry may be dropped at any time, and one
 * that is idle loses nothing. The table is a fixed array of capacity entries, chained in a
 * hash index (twice as many heads as entries, a power of two) and in a list from most to least
 * recently used. A new key takes a free entry, or else the least recently used one. An
 * attacker cycling through addresses therefore cannot grow memory; the most it gets is to
 * push out buckets that are still holding a key back (counted in evicted_busy), which then
 * start again from a full burst: with the capacity well above the number of clients active
 * within one refill period, those are the attacker's own.
 *
 * Invariants:
 * 1. Every used entry is in exactly one hash chain (the one of its hash) and in the LRU list;
 *    free entries are in neither. used <= cap.
 * 2. Two used entries never have the same (klen, key).
 * 3. A refused request leaves tat unchanged (a client that keeps knocking while refused does
 *    not push its own recovery further away).
 * 4. tat - now <= tolerance + interval of the limit in use: a bucket is never emptier than
 *    empty. Under one limit this holds by construction; when an operator loosens a key's
 *    limit, the debt run up under the old one is cut to that, so the change helps at once.
 */
#include "core/ratelimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define NIL (-1)

typedef struct rl_entry {
    int32_t chain;           /* next entry with the same hash head, or NIL */
    int32_t prev, next;      /* LRU list: prev is more recent */
    uint32_t hash;
    int64_t tat_us;
    uint8_t klen;
    char key[RL_KEY_MAX];
} rl_entry;

struct rl_table {
    size_t cap, used;
    uint32_t mask;           /* heads - 1 */
    int32_t *heads;          /* NULL until the first rl_take() */
    rl_entry *e;
    int32_t mru, lru;        /* ends of the LRU list, NIL when empty */
    uint64_t evicted_busy;
};

rl_limit rl_limit_make(int64_t count, int64_t period_ms, int64_t burst) {
    rl_limit l = {0, 0};
    if (count <= 0 || period_ms <= 0) return l;
    if (burst < 1) burst = 1;
    l.interval_us = period_ms * 1000 / count;
    if (l.interval_us < 1) l.interval_us = 1;
    l.tolerance_us = (burst - 1) * l.interval_us;
    return l;
}

rl_table *rl_table_new(size_t capacity) {
    rl_table *t = sg_xcalloc(1, sizeof *t);
    t->cap = capacity ? capacity : 1;
    if (t->cap > (size_t)INT32_MAX / 4) t->cap = (size_t)INT32_MAX / 4;
    t->mru = t->lru = NIL;
    return t;
}

void rl_table_free(rl_table *t) {
    if (!t) return;
    free(t->heads);
    free(t->e);
    free(t);
}

size_t rl_table_count(const rl_table *t) { return t->used; }
uint64_t rl_table_evicted_busy(const rl_table *t) { return t->evicted_busy; }

static void alloc_table(rl_table *t) {
    size_t heads = 1;
    while (heads < 2 * t->cap) heads <<= 1;
    t->mask = (uint32_t)(heads - 1);
    t->heads = sg_xmalloc(heads * sizeof *t->heads);
    for (size_t i = 0; i < heads; i++) t->heads[i] = NIL;
    t->e = sg_xcalloc(t->cap, sizeof *t->e);
}

/* FNV-1a, 32 bits: keys are short and chosen by clients, but only a chain's length (not
 * correctness or the table's size) depends on the hash. */
static uint32_t hash_key(const char *k, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 16777619u;
    }
    return h;
}

static void lru_unlink(rl_table *t, int32_t i) {
    rl_entry *x = &t->e[i];
    if (x->prev != NIL) t->e[x->prev].next = x->next; else t->mru = x->next;
    if (x->next != NIL) t->e[x->next].prev = x->prev; else t->lru = x->prev;
}

static void lru_push(rl_table *t, int32_t i) {
    rl_entry *x = &t->e[i];
    x->prev = NIL;
    x->next = t->mru;
    if (t->mru != NIL) t->e[t->mru].prev = i;
    t->mru = i;
    if (t->lru == NIL) t->lru = i;
}

static void chain_unlink(rl_table *t, int32_t i) {
    int32_t *p = &t->heads[t->e[i].hash & t->mask];
    while (*p != i) p = &t->e[*p].chain;
    *p = t->e[i].chain;
}

/* The entry of key, made (full bucket) when missing. */
static int32_t entry_get(rl_table *t, const char *key, size_t klen, int64_t now_us) {
    uint32_t h = hash_key(key, klen);
    int32_t *head = &t->heads[h & t->mask];
    for (int32_t i = *head; i != NIL; i = t->e[i].chain) {
        rl_entry *x = &t->e[i];
        if (x->hash == h && x->klen == klen && !memcmp(x->key, key, klen)) {
            if (t->mru != i) {
                lru_unlink(t, i);
                lru_push(t, i);
            }
            return i;
        }
    }
    int32_t i;
    if (t->used < t->cap) {
        i = (int32_t)t->used++;
    } else {
        i = t->lru;
        if (t->e[i].tat_us > now_us) t->evicted_busy++;
        lru_unlink(t, i);
        chain_unlink(t, i);
    }
    rl_entry *x = &t->e[i];
    x->hash = h;
    x->klen = (uint8_t)klen;
    memcpy(x->key, key, klen);
    x->tat_us = now_us;
    x->chain = *head;
    *head = i;
    lru_push(t, i);
    return i;
}

int rl_take(rl_table *t, const char *key, size_t klen, const rl_limit *lim, int64_t now_ms,
            int64_t *retry_ms) {
    if (!rl_limit_on(lim)) return 0;
    if (!t->heads) alloc_table(t);
    if (klen > RL_KEY_MAX) klen = RL_KEY_MAX;
    int64_t now_us = now_ms * 1000;
    rl_entry *x = &t->e[entry_get(t, key, klen, now_us)];
    int64_t tat = x->tat_us > now_us ? x->tat_us : now_us;
    int64_t ahead = tat - now_us;
    if (ahead > lim->tolerance_us + lim->interval_us) { /* invariant 4: the limit was loosened */
        ahead = lim->tolerance_us + lim->interval_us;
        x->tat_us = now_us + ahead;
    }
    if (ahead > lim->tolerance_us) {
        if (retry_ms) *retry_ms = (ahead - lim->tolerance_us + 999) / 1000;
        return SG_ELIMIT;
    }
    x->tat_us = tat + lim->interval_us;
    return 0;
}

size_t rl_addr_key(const char *addr, char *out, size_t n) {
    unsigned char a6[16];
    if (n == 0) return 0;
    if (strchr(addr, ':') && inet_pton(AF_INET6, addr, a6) == 1) {
        memset(a6 + 8, 0, 8);
        char txt[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, a6, txt, sizeof txt)) {
            size_t len = (size_t)snprintf(out, n, "%s/64", txt);
            return len < n ? len : n - 1;
        }
    }
    size_t len = strlen(addr);
    if (len >= n) len = n - 1;
    memcpy(out, addr, len);
    out[len] = '\0';
    return len;
}
