/*
 * gateways.c - the two ways of sending that carry an SMS user's login and password in a plain
 * URL instead of an OVH signature: OVH's http2sms (GET|POST /cgi-bin/sms/http2sms.cgi) and
 * Kannel's sendsms (GET|POST /cgi-bin/sendsms), served at the paths their clients already call
 * (docs/api.md "http2sms", docs/migrating-from-kannel.md).
 *
 * Design. Neither gateway reads a send's fields itself (send.h, invariant 1): each translates
 * ITS parameters (names and forms: Kannel's `to` separated by spaces, `mclass` 0..3, `deferred`
 * in minutes; http2sms's `to` separated by commas, `class`, `noStop=1`, `deferred` as
 * hhmmddMMYYYY) into the JSON object of OVH's sms.Job, keyed by its own parameter names (so
 * that the parser's messages name the parameter the client wrote), and goes through
 * api_send_parse() and api_send_run(). What differs is only the translation and the answer:
 * http2sms in the contentType asked (core/http2sms.h), Kannel as plain text with Kannel's
 * statuses (HTTP 202 "0: Accepted for delivery", "3: Queued for later delivery").
 *
 * One request, in order (both gateways):
 *   1. the parameters: the query, then a POST's form body (http_req_form);
 *   2. what the gateway can refuse without an account: a missing parameter, a value of the
 *      gateway's own form that cannot be translated (http2sms 201/202, Kannel 400);
 *   3. the SMS user: api_user_auth() (users.c) checks the login and password in constant
 *      time, slows repeated failures down, honours the user's ipRestrictions, and loads the
 *      service (c->svc) and the user (c->user_id): http2sms 401, Kannel 403;
 *   4. the send: parse (400s of the parser, in the gateway's words), then run: the quota of
 *      the user and the credits of the service are checked in the send's transaction; the
 *      answer is written after the commit.
 *
 * dlr-url (Kannel). The URL and its dlr-mask are stored on each message (store_submit_req's
 * callback_url/callback_mask; store/sqlite_gateways.c) with %n (the user's name) already put
 * in (core/kannel.h), and expanded by the store at each status event in the mask: the call is
 * then queued, retried and signed like any status callback (docs/callbacks.md). A send without
 * a dlr-url gets the user's callBack, as every send of an SMS user (users.c).
 *
 * Invariants:
 *   1. Every answer is the gateway's own format; OVH's JSON error body is never sent here
 *      (clients parse "OK"/"KO" lines, XML tags or Kannel's text).
 *   2. A request is answered once, after the commit when something was sent.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "api/send.h"
#include "core/http2sms.h"
#include "core/kannel.h"
#include "core/sendfields.h"
#include "http/http.h"
#include "util/util.h"

/* ---- what both gateways share ---- */

typedef struct gw {
    int kannel;          /* 0 http2sms, 1 Kannel's sendsms */
    h2s_format fmt;      /* http2sms: the answer's format */
    json_t *obj;         /* the send, translated (OVH's forms under the gateway's names) */
    int64_t due_ms;      /* http2sms deferred: an absolute time; 0 = none */
    char *dlr_url;       /* Kannel dlr-url, %n put in (new), or NULL */
    int dlr_mask;
    char *login;         /* the user as given (new) */
    char *service_name;  /* c->svc.name once the user is known (new): api_user_auth leaves it
                          * borrowed from the service's record, which a send without a valid
                          * receiver frees before reading the service again by that name */
} gw;

static void gw_free(void *p) {
    gw *g = p;
    if (!g) return;
    json_decref(g->obj);
    free(g->dlr_url);
    free(g->login);
    free(g->service_name);
    free(g);
}

/* The first value of parameter key (query first, then the form body), NULL when absent. */
static const char *param(api_call *c, const char *key) { return http_req_param(c->req, key); }

/* The first non-NULL of two parameter names (Kannel accepts user/username, pass/password). */
static const char *param2(api_call *c, const char *a, const char *b) {
    const char *v = param(c, a);
    return v ? v : param(c, b);
}

/* Whether the n bytes at s are valid UTF-8 (no overlong forms, no surrogates). */
static int utf8_ok(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        size_t k;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            k = 1;
            cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
            k = 2;
            cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            k = 3;
            cp = b & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* s read as ISO-8859-1 (each byte one character), in UTF-8. New. */
static char *latin1_to_utf8(const char *s) {
    size_t n = strlen(s);
    char *out = sg_xmalloc(2 * n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80) {
            *o++ = (char)*p;
        } else {
            *o++ = (char)(0xc0 | (*p >> 6));
            *o++ = (char)(0x80 | (*p & 0x3f));
        }
    }
    *o = '\0';
    return out;
}

/* A text parameter as a JSON string: UTF-8 as it is; other bytes read as ISO-8859-1 (the
 * charset older http2sms and Kannel clients send), or as charset says when given. Line ends
 * "\r\n" and "\r" become "\n" (http2sms writes a line break %0d). Returns a new JSON string,
 * or NULL when charset names a charset that is not read here. */
static json_t *text_value(const char *s, const char *charset) {
    int latin1 = 0;
    if (charset && *charset) {
        if (!strcasecmp(charset, "ISO-8859-1") || !strcasecmp(charset, "latin1") ||
            !strcasecmp(charset, "ISO8859-1") || !strcasecmp(charset, "windows-1252"))
            latin1 = 1;
        else if (strcasecmp(charset, "UTF-8") && strcasecmp(charset, "utf8"))
            return NULL;
    }
    if (!latin1 && !utf8_ok((const unsigned char *)s, strlen(s))) latin1 = 1;
    char *u = latin1 ? latin1_to_utf8(s) : sg_xstrdup(s);
    char *o = u;
    for (const char *p = u; *p; p++) {
        if (*p == '\r') {
            *o++ = '\n';
            if (p[1] == '\n') p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    json_t *v = json_string(u);
    free(u);
    return v;
}

/* The receivers of list, split at any of seps, each trimmed of spaces (empty items dropped),
 * as a JSON array. plus_lost (http2sms): an item that began with a space followed by a digit
 * 1-9 had a '+' that the query's decoding turned into a space (OVH's guide writes
 * to=+44xxxxxxxxx unencoded): it gets it back. */
static json_t *split_list(const char *list, const char *seps, int plus_lost) {
    json_t *a = json_array();
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, seps);
        const char *b = p, *e = p + n;
        while (b < e && *b == ' ') b++;
        while (e > b && e[-1] == ' ') e--;
        if (e > b) {
            int plus = plus_lost && b > p && *b >= '1' && *b <= '9';
            char *item = sg_xmalloc((size_t)(e - b) + 2);
            snprintf(item, (size_t)(e - b) + 2, "%s%.*s", plus ? "+" : "", (int)(e - b), b);
            json_array_append_new(a, json_string(item));
            free(item);
        }
        p += n;
        if (*p) p++;
    }
    return a;
}

/* An integer parameter in [lo, hi]: 0 and *out, or -1 when it is not one. */
static int int_param(const char *v, long lo, long hi, long *out) {
    if (!v || !*v) return -1;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

/* The gateway's state, taken back from the send (api_send_parse makes the send the call's
 * state; ours hangs on it). */
static gw *gw_of(api_call *c) { return api_send_of(c)->way; }

/* ---- http2sms ---- */

/* The parser's names of a send's fields, as http2sms writes them: its messages then name
 * the client's parameter. */
static const api_send_names h2s_names = {
    .message = "message", .receivers = "to", .sender = "from",
    .sender_for_response = "senderForResponse", .no_stop = "noStop", .sms_class = "class",
    .coding = "smsCoding", .tag = "tag"};

static void h2s_answer_with(api_call *c, h2s_format fmt, const h2s_answer *a, int http) {
    char *body = h2s_render(fmt, a);
    api_reply_bytes(c, http, h2s_content_type(fmt), body, strlen(body));
    free(body);
}

/* An error answer: OVH's status in the format asked; HTTP 200 (http2sms's clients read the
 * status from the body) unless http says otherwise (the server's own trouble: 429, 5xx). */
static void h2s_fail(api_call *c, h2s_format fmt, int status, int http, const char *fmt_msg,
                     ...) __attribute__((format(printf, 5, 6)));
static void h2s_fail(api_call *c, h2s_format fmt, int status, int http, const char *fmt_msg,
                     ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt_msg);
    vsnprintf(msg, sizeof msg, fmt_msg, ap);
    va_end(ap);
    h2s_answer a = {.status = status, .message = msg};
    h2s_answer_with(c, fmt, &a, http);
}

static void h2s_done(api_call *c, const api_send_result *r) {
    gw *g = gw_of(c);
    h2s_format fmt = g->fmt;
    switch (r->code) {
    case API_SEND_OK:
        if (r->count == 0) {
            h2s_fail(c, fmt, H2S_INVALID, 200, "Invalid parameter: to (no valid receiver)");
            return;
        }
        h2s_answer a = {.status = g->due_ms > sg_now_ms() ? H2S_OK_DEFERRED : H2S_OK,
                        .credits_left = r->credits_left, .ids = r->ids, .count = r->count};
        h2s_answer_with(c, fmt, &a, 200);
        return;
    case API_SEND_MISSING: h2s_fail(c, fmt, H2S_MISSING, 200, "%s", r->message); return;
    case API_SEND_SENDER_NOT_FOUND:
    case API_SEND_SENDER_DISABLED:
        h2s_fail(c, fmt, H2S_SENDER_NOT_FOUND, 200, "%s", r->message);
        return;
    case API_SEND_INVALID:
    case API_SEND_NO_CREDIT:
    case API_SEND_QUOTA: h2s_fail(c, fmt, H2S_INVALID, 200, "%s", r->message); return;
    default: h2s_fail(c, fmt, r->status, r->status, "%s", r->message); return;
    }
}

/* After the SMS user was checked (rc 0: c->svc and c->user_id are loaded). */
static void h2s_authed(api_call *c, int rc) {
    gw *g = c->h;
    if (rc == SG_EPERM || rc == SG_ELIMIT) {
        h2s_fail(c, g->fmt, H2S_AUTH, 200,
                 rc == SG_ELIMIT ? "Too many failed logins for this user: retry later"
                                 : "Authentication failed (login, password or calling address)");
        return;
    }
    if (rc) { /* the store's trouble, not the client's */
        h2s_fail(c, g->fmt, 503, 503, "The service is unavailable, please retry later");
        return;
    }
    c->h = NULL; /* the send becomes the call's state; ours hangs on it */
    c->h_free = NULL;
    g->service_name = sg_xstrdup(c->svc.svc.name);
    c->svc.name = g->service_name;
    api_send *s = api_send_parse(c, g->obj, &h2s_names);
    s->way = g;
    s->way_free = gw_free;
    s->due_ms = g->due_ms;
    s->user_id = c->user_id;
    api_send_run(c, s, h2s_done);
}

static void http2sms(api_call *c) {
    h2s_format fmt = H2S_PLAIN;
    if (http_req_form(c->req) < 0) {
        h2s_fail(c, fmt, H2S_INVALID, 200, "Invalid parameter: a field decodes to a NUL byte");
        return;
    }
    const char *ct = param(c, "contentType");
    if (h2s_format_of(ct, &fmt) < 0) {
        h2s_fail(c, fmt, H2S_INVALID, 200, "Invalid parameter: contentType (one of text/plain, "
                 "text/xml, application/xml, text/json, application/json, text/html)");
        return;
    }
    static const char *const required[] = {"account", "login", "password", "to", "message",
                                           NULL};
    for (const char *const *k = required; *k; k++) {
        const char *v = param(c, *k);
        if (!v || !*v) {
            h2s_fail(c, fmt, H2S_MISSING, 200, "Missing parameter: %s", *k);
            return;
        }
    }
    const char *sfr = param(c, "senderForResponse");
    int for_response = sfr && !strcmp(sfr, "1");
    const char *from = param(c, "from");
    if ((!from || !*from) && !for_response) {
        h2s_fail(c, fmt, H2S_MISSING, 200, "Missing parameter: from");
        return;
    }
    gw *g = api_call_state(c, sizeof *g, gw_free);
    g->fmt = fmt;
    g->obj = json_object();
    json_t *msg = text_value(param(c, "message"), NULL);
    json_object_set_new(g->obj, "message", msg);
    json_object_set_new(g->obj, "to", split_list(param(c, "to"), ",", 1));
    if (from && *from && !for_response) json_object_set_new(g->obj, "from", json_string(from));
    if (sfr && strcmp(sfr, "0") && strcmp(sfr, "1")) {
        h2s_fail(c, fmt, H2S_INVALID, 200, "Invalid parameter: senderForResponse (0 or 1)");
        return;
    }
    json_object_set_new(g->obj, "senderForResponse", json_boolean(for_response));
    const char *v;
    if ((v = param(c, "noStop"))) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            h2s_fail(c, fmt, H2S_INVALID, 200, "Invalid parameter: noStop (0 or 1)");
            return;
        }
        json_object_set_new(g->obj, "noStop", json_boolean(!strcmp(v, "1")));
    }
    long x;
    if ((v = param(c, "class")) && *v) {
        if (int_param(v, 0, 3, &x) < 0) {
            h2s_fail(c, fmt, H2S_INVALID, 200, "Invalid parameter: class (0 to 3)");
            return;
        }
        json_object_set_new(g->obj, "class", json_string(send_classes[x]));
    }
    if (((v = param(c, "smsCoding")) || (v = param(c, "SMSencoding"))) && *v) {
        if (int_param(v, 1, 2, &x) < 0) {
            h2s_fail(c, fmt, H2S_INVALID, 200,
                     "Invalid parameter: smsCoding (1 for 7-bit, 2 for Unicode)");
            return;
        }
        json_object_set_new(g->obj, "smsCoding", json_string(send_codings[x - 1]));
    }
    if ((v = param(c, "tag")) && *v) json_object_set_new(g->obj, "tag", json_string(v));
    if ((v = param(c, "deferred")) && *v && h2s_deferred_ms(v, &g->due_ms) < 0) {
        h2s_fail(c, fmt, H2S_INVALID, 200,
                 "Invalid parameter: deferred (hhmmddMMYYYY, French time)");
        return;
    }
    g->login = sg_xstrdup(param(c, "login"));
    api_user_auth(c, param(c, "account"), g->login, param(c, "password"), h2s_authed);
}

/* ---- Kannel's sendsms ---- */

static const api_send_names kannel_names = {
    .message = "text", .receivers = "to", .sender = "from", .priority = "priority",
    .sms_class = "mclass", .coding = "coding", .differed = "deferred", .validity = "validity"};

/* Kannel's priorities run 0 (lowest) to 3 (highest); OVH's from high to veryLow. */
static const char *const kannel_priorities[] = {"veryLow", "low", "medium", "high"};

static void kannel_text(api_call *c, int status, const char *text) {
    char body[700];
    snprintf(body, sizeof body, "%s\n", text);
    api_reply_bytes(c, status, "text/plain; charset=utf-8", body, strlen(body));
}

static void kannel_done(api_call *c, const api_send_result *r) {
    if (r->code == API_SEND_OK && r->count == 0) {
        kannel_text(c, 400, "Invalid receiver number, rejected");
        return;
    }
    if (r->code == API_SEND_OK) {
        /* the ids of the SMS, for clients that want them (Kannel has none to give) */
        char ids[512] = "";
        size_t k = 0;
        for (size_t i = 0; i < r->count && k + 24 < sizeof ids; i++)
            k += (size_t)snprintf(ids + k, sizeof ids - k, "%s%lld", i ? "," : "",
                                  (long long)r->ids[i]);
        http_reply_header(c->req, "X-Smsgate-Ids", ids);
        int later = api_send_of(c)->differed_min > 0;
        kannel_text(c, 202, later ? "3: Queued for later delivery" : "0: Accepted for delivery");
        return;
    }
    if (r->code == API_SEND_SENDER_NOT_FOUND || r->code == API_SEND_SENDER_DISABLED) {
        char t[600];
        snprintf(t, sizeof t, "Sender not allowed, rejected: %s", r->message);
        kannel_text(c, 403, t);
        return;
    }
    kannel_text(c, r->status >= 400 ? r->status : 400, r->message);
}

static void kannel_authed(api_call *c, int rc) {
    gw *g = c->h;
    if (rc == SG_EPERM || rc == SG_ELIMIT) {
        kannel_text(c, 403, "Authorization failed for sendsms");
        return;
    }
    if (rc) {
        kannel_text(c, 503, "Temporary failure, try again later");
        return;
    }
    c->h = NULL;
    c->h_free = NULL;
    g->service_name = sg_xstrdup(c->svc.svc.name);
    c->svc.name = g->service_name;
    api_send *s = api_send_parse(c, g->obj, &kannel_names);
    s->way = g;
    s->way_free = gw_free;
    s->user_id = c->user_id;
    if (g->dlr_url) {
        s->callback_url = g->dlr_url;
        s->callback_mask = g->dlr_mask;
    }
    api_send_run(c, s, kannel_done);
}

static void sendsms(api_call *c) {
    if (http_req_form(c->req) < 0) {
        kannel_text(c, 400, "A parameter decodes to a NUL byte, rejected");
        return;
    }
    const char *user = param2(c, "username", "user");
    const char *pass = param2(c, "password", "pass");
    if (!user || !*user || !pass) {
        kannel_text(c, 403, "Authorization failed for sendsms");
        return;
    }
    const char *to = param(c, "to");
    if (!to || !*to) {
        kannel_text(c, 400, "Missing receiver number, rejected");
        return;
    }
    const char *v = param(c, "udh");
    if (v && *v) {
        kannel_text(c, 400, "UDH is not supported here (smsgate cuts long messages itself), "
                            "rejected");
        return;
    }
    gw *g = api_call_state(c, sizeof *g, gw_free);
    g->kannel = 1;
    g->obj = json_object();
    const char *text = param(c, "text");
    json_t *t = text_value(text ? text : "", param(c, "charset"));
    if (!t) {
        kannel_text(c, 400, "Unknown charset (UTF-8 or ISO-8859-1), rejected");
        return;
    }
    json_object_set_new(g->obj, "text", t);
    json_object_set_new(g->obj, "to", split_list(to, " \t", 0));
    const char *from = param(c, "from");
    if (from && *from) json_object_set_new(g->obj, "from", json_string(from));
    long x = -1;
    if ((v = param(c, "coding")) && *v) {
        if (int_param(v, 0, 2, &x) < 0 || x == 1) {
            kannel_text(c, 400, x == 1 ? "Binary (8-bit) messages are not supported, rejected"
                                       : "Invalid coding (0 or 2), rejected");
            return;
        }
        json_object_set_new(g->obj, "coding", json_string(send_codings[x ? 1 : 0]));
    }
    if ((v = param(c, "mclass")) && *v) {
        if (int_param(v, 0, 3, &x) < 0) {
            kannel_text(c, 400, "Invalid mclass (0 to 3), rejected");
            return;
        }
        json_object_set_new(g->obj, "mclass", json_string(send_classes[x]));
    }
    if ((v = param(c, "priority")) && *v) {
        if (int_param(v, 0, 3, &x) < 0) {
            kannel_text(c, 400, "Invalid priority (0 to 3), rejected");
            return;
        }
        json_object_set_new(g->obj, "priority", json_string(kannel_priorities[x]));
    }
    static const char *const minutes[] = {"validity", "deferred", NULL};
    for (const char *const *k = minutes; *k; k++) {
        if ((v = param(c, *k)) && *v) {
            if (int_param(v, 0, SEND_DIFFERED_MAX, &x) < 0) {
                char m[80];
                snprintf(m, sizeof m, "Invalid %s (minutes), rejected", *k);
                kannel_text(c, 400, m);
                return;
            }
            if (x > 0) json_object_set_new(g->obj, *k, json_integer(x));
        }
    }
    const char *mask = param2(c, "dlr-mask", "dlrmask");
    const char *url = param2(c, "dlr-url", "dlrurl");
    if (mask && *mask) {
        if (int_param(mask, 0, KANNEL_DLR_ALL, &x) < 0) {
            kannel_text(c, 400, "Invalid dlr-mask (1 to 31), rejected");
            return;
        }
        g->dlr_mask = (int)x;
    }
    if (g->dlr_mask > 0 && url && *url) {
        if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
            kannel_text(c, 400, "Invalid dlr-url (an http or https URL), rejected");
            return;
        }
        g->dlr_url = kannel_dlr_url_user(url, user);
    }
    g->login = sg_xstrdup(user);
    api_user_auth(c, NULL, g->login, pass, kannel_authed);
}

const api_route api_gateway_routes[] = {
    {"GET", "/cgi-bin/sms/http2sms.cgi", API_NOAUTH | API_RAW, http2sms},
    {"POST", "/cgi-bin/sms/http2sms.cgi", API_NOAUTH | API_RAW, http2sms},
    {"GET", "/cgi-bin/sendsms", API_NOAUTH | API_RAW, sendsms},
    {"POST", "/cgi-bin/sendsms", API_NOAUTH | API_RAW, sendsms},
    {NULL, NULL, 0, NULL},
};
