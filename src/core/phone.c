/*
 * phone.c - receiver numbers to E.164: cheap input checks, the "00" rule, and a bounded cache
 * in front of libphonenumber (reached through phone_shim.cc).
 *
 * Why a cache: a job may list thousands of receivers, and the same numbers come back job after
 * job; one libphonenumber parse+validate costs about 10 us (4 us for strict E.164 input, which
 * phone_shim.cc reads without Parse()), a cache hit well under 1 us. Both outcomes are
 * cached, so a customer who keeps sending the same bad number costs one parse.
 *
 * Design. phone_normalize() first rejects, without touching the cache, what is obviously not a
 * phone number (see check_input): empty, longer than PHONE_INPUT_MAX, a character other than
 * digits, '+' (first only) and the separators " \t-.()/". Letters are refused on purpose:
 * libphonenumber reads them as vanity digits ("0612345678x" and "+1 800 FLOWERS" would be
 * "valid"), which is never what an SMS customer means. A leading "00" is then rewritten to "+"
 * whatever the default region, because customers write "0033..." everywhere, and
 * libphonenumber only knows "00" as the international prefix of regions that use it.
 *
 * The cache is set-associative: PHONE_CACHE_SETS sets of PHONE_CACHE_WAYS entries (64 Ki
 * entries, about 7 MB of address space taken with calloc, so pages are only touched as the
 * cache fills). The key is (normalised default region, raw input) and picks a set by its FNV-1a
 * hash; a lookup compares at most PHONE_CACHE_WAYS keys. When a set is full, CLOCK (second
 * chance) inside the set chooses the victim: a hit sets the entry's ref bit, the set's hand
 * skips and clears set bits and evicts the first clear one. Because a set is small and bounded,
 * inputs crafted to collide only evict each other; they cannot make a lookup slow.
 *
 * Threads. libphonenumber is thread-safe, so the mutex only protects the cache and counters
 * and is never held during a parse: lookup under the lock, parse unlocked, insert under the
 * lock. Two threads missing on the same key both parse it; the second insert finds the first
 * one's entry and just refreshes it, so a key is never stored twice.
 *
 * Invariants:
 *   1. Every used entry holds a key that passed check_input() and the exact result the shim
 *      returned for it (rc 0 with its phone_info, or SG_EINVAL with a zeroed phone_info).
 *   2. Within one set, no two used entries have the same (region, input) key.
 *   3. cache, hand, hits and misses are only read or written with cache_lock held, and only
 *      after phone_init() has run (phone_normalize() calls it itself).
 *   4. The cache is allocated once and never freed: it lives as long as the process.
 */
#include "core/phone.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone_shim.h"
#include "util/util.h"

#define PHONE_INPUT_MAX 64     /* longest input accepted, in bytes, without the NUL */
#define PHONE_CACHE_WAYS 4     /* entries per set */
#define PHONE_CACHE_SETS 16384 /* power of two; SETS * WAYS = 65536 entries */

typedef struct cache_entry {
    uint32_t hash;                     /* full hash of the key, compared before the strings */
    uint8_t used;                      /* 0 = empty slot */
    uint8_t ref;                       /* CLOCK reference bit, set on every hit */
    int8_t rc;                         /* cached result: 0 or SG_EINVAL */
    char region[3];                    /* normalised default region: "FR", or "" for none */
    char input[PHONE_INPUT_MAX + 1];   /* the caller's input, byte for byte */
    phone_info info;                   /* valid when rc == 0, zeroed otherwise */
} cache_entry;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache;             /* PHONE_CACHE_SETS * PHONE_CACHE_WAYS entries */
static uint8_t *hand;                  /* per set: next way the CLOCK hand looks at */
static unsigned long hits, misses;

static void init(void) {
    cache = sg_xcalloc((size_t)PHONE_CACHE_SETS * PHONE_CACHE_WAYS, sizeof *cache);
    hand = sg_xcalloc(PHONE_CACHE_SETS, 1);
    phone_shim_init();
}

void phone_init(void) {
    pthread_once(&init_once, init);
}

void phone_cache_stats(unsigned long *h, unsigned long *m) {
    phone_init();
    pthread_mutex_lock(&cache_lock);
    if (h) *h = hits;
    if (m) *m = misses;
    pthread_mutex_unlock(&cache_lock);
}

/* Turns default_region into what libphonenumber wants: NULL or "" becomes "" (the caller
 * passes "ZZ", libphonenumber's unknown region), "fr" or "FR" becomes "FR". Returns SG_EINVAL
 * for anything that is not two ASCII letters. */
static int normalise_region(const char *in, char out[3]) {
    out[0] = '\0';
    if (!in || !in[0]) return 0;
    for (int i = 0; i < 2; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z') return SG_EINVAL;
        out[i] = c;
    }
    if (in[2] != '\0') return SG_EINVAL;
    out[2] = '\0';
    return 0;
}

static int is_separator(char c) {
    return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

/* Cheap syntax check, done before the cache so that garbage never takes a slot. On success
 * returns 0, *len is strlen(input), and *start points into input at the text to give to
 * libphonenumber with its leading blanks skipped; *intl is 1 when that text starts with "00"
 * (which the caller replaces with '+'). */
static int check_input(const char *input, size_t *len, const char **start, int *intl) {
    size_t n = 0;
    while (n <= PHONE_INPUT_MAX && input[n]) n++;
    if (n == 0 || n > PHONE_INPUT_MAX) return SG_EINVAL;

    const char *p = input;
    while (*p == ' ' || *p == '\t') p++;
    const char *s = p;
    if (*p == '+') p++;
    int digits = 0;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') digits++;
        else if (!is_separator(*p)) return SG_EINVAL;
    }
    if (digits == 0) return SG_EINVAL;

    *len = n;
    *start = s;
    *intl = s[0] == '0' && s[1] == '0';
    return 0;
}

static uint32_t hash_key(const char *region, const char *input) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = region; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ 0xffu) * 16777619u; /* separator: no region byte is 0xff */
    for (const char *p = input; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

/* Returns the entry of the key in its set, or NULL. Caller holds cache_lock. */
static cache_entry *cache_find(uint32_t h, const char *region, const char *input) {
    cache_entry *set = &cache[(size_t)(h & (PHONE_CACHE_SETS - 1)) * PHONE_CACHE_WAYS];
    for (int i = 0; i < PHONE_CACHE_WAYS; i++) {
        cache_entry *e = &set[i];
        if (e->used && e->hash == h && strcmp(e->region, region) == 0 &&
            strcmp(e->input, input) == 0)
            return e;
    }
    return NULL;
}

/* Stores a result, reusing the key's entry if another thread stored it meanwhile, else an
 * empty way, else the CLOCK victim of the set. Caller holds cache_lock. */
static void cache_store(uint32_t h, const char *region, const char *input, size_t len, int rc,
                        const phone_info *info) {
    size_t set_no = (size_t)(h & (PHONE_CACHE_SETS - 1));
    cache_entry *set = &cache[set_no * PHONE_CACHE_WAYS];
    cache_entry *e = cache_find(h, region, input);
    for (int i = 0; !e && i < PHONE_CACHE_WAYS; i++)
        if (!set[i].used) e = &set[i];
    while (!e) {
        cache_entry *c = &set[hand[set_no]];
        hand[set_no] = (uint8_t)((hand[set_no] + 1) % PHONE_CACHE_WAYS);
        if (c->ref) c->ref = 0;
        else e = c;
    }
    assert(len <= PHONE_INPUT_MAX);
    e->hash = h;
    e->used = 1;
    e->ref = 0;
    e->rc = (int8_t)rc;
    memcpy(e->region, region, sizeof e->region);
    memcpy(e->input, input, len + 1);
    e->info = *info;
}

int phone_normalize(const char *input, const char *default_region, phone_info *out) {
    assert(out);
    memset(out, 0, sizeof *out);
    phone_init();

    char region[3];
    size_t len;
    const char *start;
    int intl;
    if (!input || normalise_region(default_region, region) != 0 ||
        check_input(input, &len, &start, &intl) != 0)
        return SG_EINVAL;

    uint32_t h = hash_key(region, input);
    pthread_mutex_lock(&cache_lock);
    cache_entry *e = cache_find(h, region, input);
    if (e) {
        int rc = e->rc;
        e->ref = 1;
        *out = e->info;
        hits++;
        pthread_mutex_unlock(&cache_lock);
        return rc;
    }
    misses++;
    pthread_mutex_unlock(&cache_lock);

    /* "00..." -> "+..."; the result is never longer than the input. */
    char text[PHONE_INPUT_MAX + 1];
    if (intl) {
        text[0] = '+';
        memcpy(text + 1, start + 2, strlen(start + 2) + 1);
    } else {
        memcpy(text, start, strlen(start) + 1);
    }

    phone_info info;
    int rc = phone_shim_parse(text, region[0] ? region : "ZZ", &info);

    pthread_mutex_lock(&cache_lock);
    cache_store(h, region, input, len, rc, &info);
    pthread_mutex_unlock(&cache_lock);

    if (rc == 0) *out = info;
    return rc;
}

/* ---- sets of numbers ---- */

void phone_set_init(phone_set *s, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    s->slots = sg_xcalloc(cap, sizeof *s->slots);
    s->cap = cap;
    s->count = 0;
}

void phone_set_fini(phone_set *s) {
    free(s->slots);
    s->slots = NULL;
    s->cap = s->count = 0;
}

static int set_insert(phone_set *s, uint64_t key) {
    size_t mask = s->cap - 1, i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (s->slots[i]) {
        if (s->slots[i] == key) return 0;
        i = (i + 1) & mask;
    }
    s->slots[i] = key;
    s->count++;
    return 1;
}

int phone_set_add(phone_set *s, const char *e164) {
    /* The digits as a number, with a leading 1 so that leading zeros still count (there are
     * none in E.164, but the key stays one-to-one whatever the input). */
    uint64_t key = 1;
    for (const char *p = e164; *p && key < (UINT64_MAX - 9) / 10; p++)
        if (*p >= '0' && *p <= '9') key = key * 10 + (uint64_t)(*p - '0');
    if ((s->count + 1) * 2 > s->cap) {
        phone_set bigger;
        phone_set_init(&bigger, s->cap);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) set_insert(&bigger, s->slots[i]);
        free(s->slots);
        *s = bigger;
    }
    return set_insert(s, key);
}

int phone_describe(const char *e164, phone_details *out) {
    memset(out, 0, sizeof *out);
    if (!e164 || e164[0] != '+' || strlen(e164) >= PHONE_E164_MAX) return SG_EINVAL;
    for (const char *p = e164 + 1; *p; p++)
        if (*p < '0' || *p > '9') return SG_EINVAL;
    phone_init();
    return phone_shim_describe(e164, out);
}
