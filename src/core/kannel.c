/*
 * kannel.c - dlr-mask types and dlr-url escapes (see kannel.h).
 *
 * Design. A dlr-url is a template that Kannel fills at each delivery report: '%' followed by
 * one letter is replaced by a value of the report. smsgate keeps the template on the message
 * (messages.callback_url, with its dlr-mask in callback_mask) and fills it when the store
 * records a status event, so that the call is queued, retried and signed like any status
 * callback (store/sqlite_notify.c). The values follow Kannel's report message, where the
 * sender is the phone that got the SMS: %p is the receiver of the SMS, %P its sender.
 *
 * Invariants:
 *  1. Every value but %S is percent-encoded: the URL stays one URL whatever the text holds.
 *  2. A '%' not followed by a known escape letter is copied as it is, so that an already
 *     encoded URL in the template (%2F, %3A...) passes through; only the letters of the
 *     table are escapes, and none is a decimal digit. "%%" is one '%': the user's name put
 *     in by kannel_dlr_url_user() is encoded with its '%' doubled, so that it never reads
 *     as an escape.
 *  3. The words of %k, %s and %r are the text's words split on white space; %s takes the
 *     next word after the keyword at each use, %r the words no %s took.
 */
#include "core/kannel.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/receipt.h"
#include "util/util.h"

int kannel_dlr_type(int state, int was_sent) {
    switch (state) {
    case MSG_SUBMITTED: return KANNEL_DLR_SMSC_ACK;
    case MSG_ENROUTE: return KANNEL_DLR_BUFFERED;
    case MSG_DELIVERED: return KANNEL_DLR_DELIVERED;
    case MSG_FAILED: return was_sent ? KANNEL_DLR_UNDELIVERED : KANNEL_DLR_SMSC_NACK;
    default: return 0;
    }
}

const char *kannel_dlr_reply(int type, int dlr) {
    switch (type) {
    case KANNEL_DLR_SMSC_ACK: return "ACK/";
    case KANNEL_DLR_SMSC_NACK: return "NACK/";
    case KANNEL_DLR_DELIVERED: return "DELIVRD";
    case KANNEL_DLR_BUFFERED: return "ENROUTE";
    case KANNEL_DLR_UNDELIVERED: return dlr == DLR_ERROR ? "UNDELIV" : "REJECTD";
    default: return "";
    }
}

/* ---- appending to the answer (an sg_buf, util.h) ---- */

/* Appends s[0..n) percent-encoded with hex digits of the given case. */
static void kb_encoded(sg_buf *b, const char *s, size_t n, int lower) {
    const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            sg_buf_add(b, (const char *)&ch, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            sg_buf_add(b, e, 3);
        }
    }
}

static void kb_enc_str(sg_buf *b, const char *s) {
    if (s) kb_encoded(b, s, strlen(s), 0);
}

static void kb_enc_int(sg_buf *b, int64_t v) {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    sg_buf_add(b, num, strlen(num));
}

/* A number with a leading "00" written "+..." (Kannel's %q and %Q). */
static void kb_enc_plus(sg_buf *b, const char *s) {
    if (s && s[0] == '0' && s[1] == '0') {
        kb_encoded(b, "+", 1, 0);
        s += 2;
    }
    kb_enc_str(b, s);
}

/* The next word of text from *pos (white space skipped), or NULL; *n its length. */
static const char *next_word(const char *text, size_t *pos, size_t *n) {
    if (!text) return NULL;
    const char *p = text + *pos;
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) {
        *pos = (size_t)(p - text);
        return NULL;
    }
    const char *w = p;
    while (*p && !isspace((unsigned char)*p)) p++;
    *n = (size_t)(p - w);
    *pos = (size_t)(p - text);
    return w;
}

/* Every word from *pos on, joined by one space (Kannel's %a and %r), encoded. */
static void kb_words(sg_buf *b, const char *text, size_t pos) {
    size_t n;
    const char *w;
    int first = 1;
    while ((w = next_word(text, &pos, &n))) {
        if (!first) kb_encoded(b, " ", 1, 0);
        first = 0;
        kb_encoded(b, w, n, 0);
    }
}

char *kannel_dlr_url(const char *tmpl, const kannel_dlr *d) {
    sg_buf b = {0};
    sg_buf_add(&b, "", 0);
    size_t wpos = 0, n; /* %s: the words after the keyword, one per use */
    const char *w = next_word(d->text, &wpos, &n); /* skip the keyword */
    (void)w;
    for (const char *p = tmpl; *p; p++) {
        if (*p != '%' || !p[1]) {
            sg_buf_add(&b, p, 1);
            continue;
        }
        char e = p[1];
        switch (e) {
        case 'd': kb_enc_int(&b, d->type); break;
        case 'A': kb_enc_str(&b, kannel_dlr_reply(d->type, d->dlr)); break;
        case 'I': kb_enc_int(&b, d->id); break;
        case 'T': kb_enc_int(&b, d->ts_ms / 1000); break;
        case 't': {
            time_t t = (time_t)(d->ts_ms / 1000);
            struct tm tm;
            char s[32];
            gmtime_r(&t, &tm);
            strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm);
            kb_enc_str(&b, s);
            break;
        }
        case 'p': kb_enc_str(&b, d->phone); break;
        case 'q': kb_enc_plus(&b, d->phone); break;
        case 'P': kb_enc_str(&b, d->sender); break;
        case 'Q': kb_enc_plus(&b, d->sender); break;
        case 'b': kb_enc_str(&b, d->text); break;
        case 'a': kb_words(&b, d->text, 0); break;
        case 'k': {
            size_t pos = 0;
            const char *k = next_word(d->text, &pos, &n);
            if (k) kb_encoded(&b, k, n, 0);
            break;
        }
        case 's':
        case 'S': {
            const char *s = next_word(d->text, &wpos, &n);
            if (s && e == 's') {
                kb_encoded(&b, s, n, 0);
            } else if (s) {
                for (size_t i = 0; i < n; i++) sg_buf_add(&b, s[i] == '*' ? "~" : s + i, 1);
            }
            break;
        }
        case 'r': kb_words(&b, d->text, wpos); break;
        case 'i': kb_enc_str(&b, d->smsc); break;
        case 'F': kb_enc_str(&b, d->foreign_id); break;
        case 'c': kb_enc_int(&b, d->coding == 1 ? 2 : 0); break;
        case 'C': kb_enc_str(&b, d->coding == 1 ? "UTF-16BE" : "GSM"); break;
        case 'm':
            if (d->mclass >= 0) kb_enc_int(&b, d->mclass);
            break;
        case '%': sg_buf_add(&b, "%", 1); break; /* "%%": a '%' (kannel_dlr_url_user) */
        default: /* not an escape: kept as it is (invariant 2) */
            sg_buf_add(&b, p, 2);
            break;
        }
        p++;
    }
    return b.p;
}

char *kannel_dlr_url_user(const char *tmpl, const char *user) {
    sg_buf b = {0};
    sg_buf_add(&b, "", 0);
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '%' && p[1] == 'n') {
            sg_buf u = {0};
            sg_buf_add(&u, "", 0);
            if (user) kb_encoded(&u, user, strlen(user), 0);
            for (const char *q = u.p; *q; q++)
                sg_buf_add(&b, *q == '%' ? "%%" : q, *q == '%' ? 2 : 1);
            free(u.p);
            p++;
        } else {
            sg_buf_add(&b, p, 1);
        }
    }
    return b.p;
}
