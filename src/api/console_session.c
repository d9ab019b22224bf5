/*
 * console_session.c - the web console's sessions (docs/console.md, "Sessions").
 *
 * A session is what a successful login to the console (console.c) leaves: a random id, sent
 * back as an HttpOnly, SameSite=Strict cookie (Secure on HTTPS), and a second random token for
 * CSRF that the console's JavaScript reads from the login answer and sends in the
 * X-Smsgate-Csrf header of every request that may change something. A page of another site can
 * make the browser send the cookie (SameSite=Strict already stops that in current browsers) but
 * can never read the token, so it cannot forge a change.
 *
 * The table is a fixed array of hash chains over the id, bounded in count. Sessions live in this
 * node's memory only: a restart logs everybody out, and behind a load balancer over several
 * nodes the console needs sticky sessions (docs/console.md). That keeps logins and logouts off
 * the store and off the send path entirely.
 *
 * Invariants:
 *   1. Every session in the table is reachable from exactly one chain, that of its id's hash;
 *      count is the number of them and never exceeds max.
 *   2. A session is returned by _get only while now < last + idle and now < created + max_age;
 *      an expired one met on the way is removed.
 *   3. Ids and CSRF tokens are 32 bytes from OpenSSL's RAND_bytes; ids are compared in full,
 *      CSRF tokens in constant time.
 */
#include "api/console_session.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/util.h"

#define BUCKETS 1024

struct console_sessions {
    console_session *bucket[BUCKETS];
    size_t count, max;
    int64_t idle_ms, max_age_ms;
};

console_sessions *console_sessions_new(size_t max, int64_t idle_ms, int64_t max_age_ms) {
    console_sessions *t = sg_xcalloc(1, sizeof *t);
    t->max = max ? max : 1;
    t->idle_ms = idle_ms;
    t->max_age_ms = max_age_ms;
    return t;
}

void console_sessions_free(console_sessions *t) {
    if (!t) return;
    for (size_t b = 0; b < BUCKETS; b++)
        for (console_session *s = t->bucket[b], *n; s; s = n) {
            n = s->next;
            free(s);
        }
    free(t);
}

static size_t hash(const char *id, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
    return (size_t)(h % BUCKETS);
}

static void token(char out[CONSOLE_TOKEN_LEN + 1]) {
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[33];
    sg_random(r, 32);
    r[32] = 0;
    /* 32 bytes = 10 groups of 3 and 2 left: 40 + 3 characters. */
    size_t o = 0;
    for (size_t i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | (i + 2 < 33 ? r[i + 2] : 0);
        for (int k = 3; k >= 0 && o < CONSOLE_TOKEN_LEN; k--) out[o++] = b64[(v >> (6 * k)) & 63];
    }
    out[CONSOLE_TOKEN_LEN] = 0;
}

static void unlink_session(console_sessions *t, console_session *s) {
    console_session **p = &t->bucket[hash(s->id, strlen(s->id))];
    while (*p && *p != s) p = &(*p)->next;
    if (*p) {
        *p = s->next;
        t->count--;
        free(s);
    }
}

static int expired(const console_sessions *t, const console_session *s, int64_t now) {
    return now >= s->last_ms + t->idle_ms || now >= s->created_ms + t->max_age_ms;
}

console_session *console_session_new(console_sessions *t, console_kind kind, int64_t now_ms) {
    if (t->count >= t->max) { /* full: the least recently used goes */
        console_session *old = NULL;
        for (size_t b = 0; b < BUCKETS; b++)
            for (console_session *s = t->bucket[b]; s; s = s->next)
                if (!old || s->last_ms < old->last_ms) old = s;
        unlink_session(t, old);
    }
    console_session *s = sg_xcalloc(1, sizeof *s);
    token(s->id);
    token(s->csrf);
    s->kind = kind;
    s->created_ms = s->last_ms = now_ms;
    size_t b = hash(s->id, strlen(s->id));
    s->next = t->bucket[b];
    t->bucket[b] = s;
    t->count++;
    return s;
}

console_session *console_session_get(console_sessions *t, const char *id, size_t n,
                                     int64_t now_ms) {
    if (n != CONSOLE_TOKEN_LEN) return NULL;
    for (console_session *s = t->bucket[hash(id, n)]; s; s = s->next) {
        if (memcmp(s->id, id, n) != 0) continue;
        if (expired(t, s, now_ms)) {
            unlink_session(t, s);
            return NULL;
        }
        s->last_ms = now_ms;
        return s;
    }
    return NULL;
}

void console_session_remove(console_sessions *t, console_session *s) {
    if (s) unlink_session(t, s);
}

size_t console_sessions_count(const console_sessions *t) { return t->count; }

const char *console_cookie_get(const char *header, const char *name, size_t *len) {
    if (!header) return NULL;
    size_t nl = strlen(name);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';') p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = n - nl - 1;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            if (!vl) return NULL; /* a logged-out cookie */
            *len = vl;
            return v;
        }
        if (!end) break;
        p = end + 1;
    }
    return NULL;
}

int console_csrf_ok(const console_session *s, const char *token_in) {
    if (!token_in || strlen(token_in) != CONSOLE_TOKEN_LEN) return 0;
    return CRYPTO_memcmp(token_in, s->csrf, CONSOLE_TOKEN_LEN) == 0;
}
