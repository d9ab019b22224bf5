/*
 * histcsv.c - the lines of an SMS history export (histcsv.h). The export itself (paging through
 * the store, writing the document slice by slice) is store/sqlite_export.c's; this file only
 * decides what one line looks like, so that the format is tested alone.
 *
 * Invariants:
 *   1. Every line has the header's number of fields: a field is never split by what it holds
 *      (separators, quotes and line breaks are quoted).
 *   2. The output is valid UTF-8 whatever the input (invalid bytes become U+FFFD).
 */
#include "core/histcsv.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/receipt.h"
#include "util/util.h"

static const char outgoing_header[] =
    "id;date;sender;receiver;ptt;operatorCode;descriptionDlr;tag;message;sentAt;deliveredAt\r\n";
static const char incoming_header[] = "id;date;sender;receiver;tag;message\r\n";

static void reserve(histcsv_buf *b, size_t more) {
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    b->p = sg_xrealloc(b->p, cap);
    b->cap = cap;
}

static void put(histcsv_buf *b, const char *s, size_t n) {
    reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Length of the UTF-8 sequence starting at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t k;
    unsigned min;
    unsigned v;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) k = 2, min = 0x80, v = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) k = 3, min = 0x800, v = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) k = 4, min = 0x10000, v = c & 0x07;
    else return 0;
    if (k > n) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    return k;
}

static void field(histcsv_buf *b, const char *s) {
    if (!s) s = "";
    size_t n = strlen(s);
    int quote = n && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ';' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    /* At worst each byte becomes a quote pair or a 3-byte U+FFFD. */
    reserve(b, 3 * n + 3);
    char *o = b->p + b->len;
    if (quote) *o++ = '"';
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len((const unsigned char *)s + i, n - i);
        if (!k) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        if (quote && s[i] == '"') *o++ = '"';
        memcpy(o, s + i, k);
        o += k;
        i += k;
    }
    if (quote) *o++ = '"';
    b->len = (size_t)(o - b->p);
}

static void num(histcsv_buf *b, int64_t v) {
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    put(b, t, (size_t)n);
}

static void date(histcsv_buf *b, int64_t ms) {
    char t[20];
    histcsv_date(ms, t);
    put(b, t, strlen(t));
}

void histcsv_date(int64_t ms, char out[20]) {
    out[0] = '\0';
    if (!ms) return;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return;
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

void histcsv_header(histcsv_buf *b, int incoming) {
    if (incoming) put(b, incoming_header, sizeof incoming_header - 1);
    else put(b, outgoing_header, sizeof outgoing_header - 1);
}

void histcsv_row_put(histcsv_buf *b, int incoming, const histcsv_row *r) {
    num(b, r->id);
    put(b, ";", 1);
    date(b, r->created_ms);
    put(b, ";", 1);
    field(b, r->sender);
    put(b, ";", 1);
    field(b, r->receiver);
    put(b, ";", 1);
    if (!incoming) {
        num(b, r->ptt);
        put(b, ";", 1);
        num(b, r->dlr);
        put(b, ";", 1);
        field(b, receipt_dlr_text((int)r->dlr));
        put(b, ";", 1);
    }
    field(b, r->tag);
    put(b, ";", 1);
    field(b, r->message);
    if (!incoming) {
        put(b, ";", 1);
        date(b, r->sent_ms);
        put(b, ";", 1);
        date(b, r->delivered_ms);
    }
    put(b, "\r\n", 2);
}
