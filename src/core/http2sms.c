/*
 * http2sms.c - http2sms's answers and dates (see http2sms.h).
 *
 * Design. OVH answers http2sms in the format its caller asks with contentType, always with
 * the same three pieces: a status, then the credits left and the ids of the SMS on success,
 * or a message on failure. The client libraries in the wild read text/plain and text/html as
 * lines ("OK" or "KO" first), text/xml by its tags, text/json by its keys; each renderer here
 * writes exactly those pieces and nothing else.
 *
 * Invariants:
 *  1. Every text a caller gave that goes into an answer (the message) is escaped for the
 *     format: XML and HTML entities, JSON string escapes; text/plain keeps one line.
 *  2. A deferred date is read in French time whatever the server's time zone.
 */
#include "core/http2sms.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/tz.h"
#include "util/util.h"

int h2s_format_of(const char *ct, h2s_format *out) {
    *out = H2S_PLAIN;
    if (!ct || !*ct || !strcasecmp(ct, "text/plain")) return 0;
    if (!strcasecmp(ct, "text/xml") || !strcasecmp(ct, "application/xml")) *out = H2S_XML;
    else if (!strcasecmp(ct, "text/json") || !strcasecmp(ct, "application/json")) *out = H2S_JSON;
    else if (!strcasecmp(ct, "text/html")) *out = H2S_HTML;
    else return -1;
    return 0;
}

const char *h2s_content_type(h2s_format f) {
    switch (f) {
    case H2S_XML: return "text/xml; charset=utf-8";
    case H2S_JSON: return "application/json; charset=utf-8";
    case H2S_HTML: return "text/html; charset=utf-8";
    default: return "text/plain; charset=utf-8";
    }
}

void h2s_credits(int64_t m, char *out, size_t n) {
    const char *sign = m < 0 ? "-" : "";
    uint64_t a = m < 0 ? (uint64_t)-(m + 1) + 1 : (uint64_t)m;
    uint64_t whole = a / 1000, frac = a % 1000;
    if (!frac) {
        snprintf(out, n, "%s%llu", sign, (unsigned long long)whole);
        return;
    }
    char f[4];
    snprintf(f, sizeof f, "%03llu", (unsigned long long)frac);
    for (int i = 2; i > 0 && f[i] == '0'; i--) f[i] = '\0';
    snprintf(out, n, "%s%llu.%s", sign, (unsigned long long)whole, f);
}

/* ---- appending to the answer (an sg_buf, util.h) ---- */

static void hb_str(sg_buf *b, const char *s) { sg_buf_add(b, s, strlen(s)); }

static void hb_int(sg_buf *b, int64_t v) {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    hb_str(b, num);
}

/* s with <, >, &, " and ' as entities (XML and HTML). */
static void hb_markup(sg_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': hb_str(b, "&lt;"); break;
        case '>': hb_str(b, "&gt;"); break;
        case '&': hb_str(b, "&amp;"); break;
        case '"': hb_str(b, "&quot;"); break;
        case '\'': hb_str(b, "&#39;"); break;
        default: sg_buf_add(b, s, 1);
        }
    }
}

/* s on one line (text/plain, invariant 1): CR and LF become spaces. */
static void hb_line(sg_buf *b, const char *s) {
    for (; s && *s; s++) sg_buf_add(b, *s == '\r' || *s == '\n' ? " " : s, 1);
}

static int ok_status(int status) { return status == H2S_OK || status == H2S_OK_DEFERRED; }

static char *render_json(const h2s_answer *a) {
    json_t *o = json_object();
    json_object_set_new(o, "status", json_integer(a->status));
    if (ok_status(a->status)) {
        char credits[32];
        h2s_credits(a->credits_left, credits, sizeof credits);
        json_object_set_new(o, "creditLeft", json_string(credits));
        json_t *ids = json_array();
        for (size_t i = 0; i < a->count; i++) {
            char id[32];
            snprintf(id, sizeof id, "%lld", (long long)a->ids[i]);
            json_array_append_new(ids, json_string(id));
        }
        json_object_set_new(o, "SmsIds", ids);
    } else {
        json_object_set_new(o, "message", json_string(a->message ? a->message : ""));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

char *h2s_render(h2s_format f, const h2s_answer *a) {
    if (f == H2S_JSON) return render_json(a);
    sg_buf b = {0};
    sg_buf_add(&b, "", 0);
    char credits[32];
    h2s_credits(a->credits_left, credits, sizeof credits);
    int ok = ok_status(a->status);
    if (f == H2S_XML) {
        hb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><status>");
        hb_int(&b, a->status);
        hb_str(&b, "</status>");
        if (ok) {
            hb_str(&b, "<creditLeft>");
            hb_str(&b, credits);
            hb_str(&b, "</creditLeft><smsIds>");
            for (size_t i = 0; i < a->count; i++) {
                hb_str(&b, "<smsId>");
                hb_int(&b, a->ids[i]);
                hb_str(&b, "</smsId>");
            }
            hb_str(&b, "</smsIds>");
        } else {
            hb_str(&b, "<message>");
            hb_markup(&b, a->message);
            hb_str(&b, "</message>");
        }
        hb_str(&b, "</response>\n");
        return b.p;
    }
    /* text/plain and text/html: the same lines */
    const char *eol = f == H2S_HTML ? "<br>\n" : "\n";
    if (f == H2S_HTML) hb_str(&b, "<HTML>\n<HEAD><TITLE>http2sms</TITLE></HEAD>\n<BODY>\n");
    hb_str(&b, ok ? "OK" : "KO");
    hb_str(&b, eol);
    if (ok) {
        hb_str(&b, credits);
        hb_str(&b, eol);
        for (size_t i = 0; i < a->count; i++) {
            hb_int(&b, a->ids[i]);
            hb_str(&b, eol);
        }
    } else {
        hb_int(&b, a->status);
        hb_str(&b, " ");
        if (f == H2S_HTML) hb_markup(&b, a->message);
        else hb_line(&b, a->message);
        hb_str(&b, eol);
    }
    if (f == H2S_HTML) hb_str(&b, "</BODY>\n</HTML>\n");
    return b.p;
}

/* France's time zone, as the tz database's footer writes it. */
#define PARIS_TZ "CET-1CEST,M3.5.0,M10.5.0/3"

static int num(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

int h2s_deferred_ms(const char *s, int64_t *out_ms) {
    if (!s || strlen(s) != 12) return -1;
    for (int i = 0; i < 12; i++)
        if (!isdigit((unsigned char)s[i])) return -1;
    int hh = num(s, 2), mi = num(s + 2, 2), dd = num(s + 4, 2), mo = num(s + 6, 2);
    int yy = num(s + 8, 4);
    if (hh > 23 || mi > 59 || mo < 1 || mo > 12 || dd < 1 || yy < 1970) return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
    if (dd > mdays[mo - 1] + (mo == 2 && leap)) return -1;
    int err = 0;
    tz_zone *z = tz_parse_posix(PARIS_TZ, &err);
    if (!z) return -1;
    int64_t local = tz_days_from_civil(yy, mo, dd) * 86400 + hh * 3600 + mi * 60;
    int64_t t[2], gap_end = 0;
    int k = tz_local_to_utc(z, local, t, &gap_end);
    tz_free(z);
    *out_ms = (k > 0 ? t[0] : gap_end) * 1000;
    return 0;
}
