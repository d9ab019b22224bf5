/*
 * callurl.c - the URL of a status callback, its origin and its query (see callurl.h).
 *
 * Design. A status callback is an HTTP GET whose whole content is its URL: the service's
 * callBack with the event appended as query parameters. Calls of other kinds (a reply to
 * smsResponse's cgiUrl, a STOP to stopCallBack) are built the same way by callurl_with(),
 * from their own list of parameters. The URL is built once, when the event
 * is stored (by the store, in the transaction that records the event), and never changes
 * afterwards, so every retry sends exactly the same request. The origin of the URL is the
 * unit of the notifier's per-host concurrency limit, and is stored with the call.
 *
 * Invariants:
 *  1. callurl_status() and callurl_with() give a valid URL whenever base is one: every value
 *     is percent-encoded, the fragment of base is dropped (it would otherwise swallow the
 *     query).
 *  2. callurl_origin() either returns a canonical "scheme://host:port" or NULL; two URLs
 *     reaching the same server by the same name give the same origin.
 */
#include "core/callurl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/receipt.h"
#include "util/util.h"

/* ---- a growing string ---- */

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

static void sb_grow(strbuf *b, size_t more) {
    if (b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) cap *= 2;
    b->p = sg_xrealloc(b->p, cap);
    b->cap = cap;
}

static void sb_add(strbuf *b, const char *s, size_t n) {
    sb_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Appends s percent-encoded: unreserved characters (RFC 3986) as they are, every other byte
 * as %XX. */
static void sb_encoded(strbuf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            sb_add(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            sb_add(b, e, 3);
        }
    }
}

static void param(strbuf *b, int *first, const char *key, const char *val) {
    if (!*first) sb_str(b, "&");
    *first = 0;
    sb_str(b, key);
    sb_str(b, "=");
    sb_encoded(b, val);
}

static void param_int(strbuf *b, int *first, const char *key, int64_t v) {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    param(b, first, key, num);
}

/* Starts b with base without its fragment, followed by what a first parameter needs: '?' when
 * there is no query yet, '&' unless the query already ends in '?' or '&'. */
static void start(strbuf *b, const char *base) {
    size_t n = strcspn(base, "#");
    sb_add(b, base, n);
    const char *q = memchr(base, '?', n);
    if (!q) sb_str(b, "?");
    else if (n > 0 && base[n - 1] != '?' && base[n - 1] != '&') sb_str(b, "&");
}

char *callurl_with(const char *base, const callurl_kv *kv, size_t n) {
    strbuf b = {0};
    start(&b, base);
    int first = 1;
    for (size_t i = 0; i < n; i++) param(&b, &first, kv[i].key, kv[i].value);
    return b.p;
}

char *callurl_status(const char *base, const callurl_params *p) {
    strbuf b = {0};
    start(&b, base);
    int first = 1;
    param_int(&b, &first, "id", p->id);
    param_int(&b, &first, "dlr", p->dlr);
    param_int(&b, &first, "ptt", p->ptt);
    param_int(&b, &first, "date", p->date_ms / 1000);
    param(&b, &first, "sender", p->sender);
    param(&b, &first, "receiver", p->receiver);
    param_int(&b, &first, "description", p->dlr);
    param(&b, &first, "descriptionDlr", receipt_dlr_text(p->dlr));
    param(&b, &first, "tag", p->tag);
    return b.p;
}

char *callurl_origin(const char *url) {
    const char *scheme, *p;
    int default_port;
    if (!strncasecmp(url, "https://", 8)) {
        scheme = "https";
        p = url + 8;
        default_port = 443;
    } else if (!strncasecmp(url, "http://", 7)) {
        scheme = "http";
        p = url + 7;
        default_port = 80;
    } else {
        return NULL;
    }
    size_t alen = strcspn(p, "/?#");
    const char *end = p + alen;
    for (const char *q = p; q < end; q++) /* user info ends at the last '@' */
        if (*q == '@') p = q + 1;
    const char *host = p, *host_end, *port = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) return NULL;
        host_end = rb + 1;
        if (host_end < end) {
            if (*host_end != ':') return NULL;
            port = host_end + 1;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host_end = colon ? colon : end;
        if (colon) port = colon + 1;
    }
    if (host_end == host) return NULL;
    long portnum = default_port;
    if (port && port < end) {
        portnum = 0;
        for (const char *q = port; q < end; q++) {
            if (!isdigit((unsigned char)*q) || portnum > 65535) return NULL;
            portnum = portnum * 10 + (*q - '0');
        }
        if (portnum < 1 || portnum > 65535) return NULL;
    }
    for (const char *q = host; q < host_end; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f) return NULL;
    char *out = sg_xasprintf("%s://%.*s:%ld", scheme, (int)(host_end - host), host, portnum);
    for (char *q = out; *q; q++) *q = (char)tolower((unsigned char)*q);
    return out;
}

const char *callurl_query(const char *url, size_t *len) {
    size_t n = strcspn(url, "#");
    const char *q = memchr(url, '?', n);
    if (!q) {
        *len = 0;
        return url + n;
    }
    *len = n - (size_t)(q + 1 - url);
    return q + 1;
}
