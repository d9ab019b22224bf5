/*
 * idem.c - Idempotency-Key on the POSTs that create something (IETF httpapi draft
 * "The Idempotency-Key HTTP Header Field").
 *
 * Why. OVH's signature scheme has no nonce, and an SDK user whose send timed out retries it:
 * without a key the retry sends and bills again, even when the first attempt was committed
 * and only its answer was lost (a crash, a dropped connection). With the header, the first
 * answer is kept with what it created, and a retry with the same key and body gets it again,
 * byte for byte, without creating anything.
 *
 * Covered: POST /sms/{sn}/jobs (and its templated form), /sms/{sn}/batches, /sms/{sn}/senders,
 * /sms/{sn}/receivers, /me/document, /order/sms/{sn}/credits, /admin/accounts,
 * /admin/services/{sn}/credits. Not: POST /auth/credential (unsigned: a replay would give a
 * consumer key to whoever knows the key), POST /admin/routes and the admin state changes
 * (docs/api.md says why).
 *
 * Design. A route flagged API_IDEM honours the header. After authentication, before the
 * handler (api.c proceed()), api_idem_begin():
 *   - reads the header; absent: nothing else happens (no hashing, no store work);
 *   - checks it: 1 to 255 visible ASCII characters, bare or as a structured-field string
 *     ("..."), else 400;
 *   - names its scope, the caller: the consumer key's credential ("c<id>") for OVH calls,
 *     "admin" for the admin token, so two tenants' keys never meet and nobody can probe
 *     another's;
 *   - fingerprints the request: SHA-256 of method, decoded path and body bytes;
 *   - refuses with 409 a key of the same scope already in flight on this node (the in-flight
 *     list below), as the draft asks;
 *   - looks the key up (store idem_get, a read): a live record with the same fingerprint is
 *     replayed (its status and exact bytes); with another fingerprint, 422; none, the handler
 *     runs.
 * The handler queues its creating operation with store_<op>_idem(..., api_idem_for(c,
 * render), ...), where render is the function that renders its success answer from what the
 * operation wrote into its request (ids, balance...). The store runs render() on its thread
 * right after the operation succeeded, inside the operation's savepoint, and stores the bytes
 * with it (store_idem.h): creation and answer commit together, so a crash between the commit
 * and the reply leaves the answer for the retry. The handler then replies with
 * api_reply_rendered(c, render), which sends the stored bytes: the first answer and every
 * replay are the same bytes by construction. When the answer needs a read of what was created
 * (a batch as GET shows it), the handler adds that read with store_idem_then_<op>(): it runs
 * in the same savepoint, before render(). A duplicate that raced past the in-flight check
 * (another node one day) meets the record at commit; its operation is rolled back and the
 * record replayed (api_idem_taken, first in the handler's callback).
 * Failures (4xx, 5xx) are not stored: the operation rolled back, and the client may fix the
 * request and retry with the same key. Records older than idempotency-ttl-s are ignored and
 * pruned by the api's housekeeping timer (api__idem_start(), below), IDEM_PRUNE_ROWS at a time.
 *
 * Invariants:
 *  1. A call is in the in-flight list from api_idem_begin() to its reply (call_free ->
 *     api_idem_end), and at most one call per scope + key is in it.
 *  2. Without the header nothing here runs but one header lookup on API_IDEM routes.
 *  3. A record is only written in the savepoint of a successful creating operation.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "util/digest.h"
#include "util/log.h"
#include "util/jsonfmt.h"
#include "util/util.h"

#define LOG "api.idem"
#define IDEM_KEY_MAX 255
#define IDEM_PRUNE_ROWS 1000
#define IDEM_PRUNE_EVERY_S 60
#define JSON_TYPE "application/json; charset=utf-8"

struct api_idem_call {
    store_idem rec;
    char *scope, *key;
    api_render_fn render;
    void (*next)(api_call *c);
    struct api_idem_call *prev, *nxt; /* the api's in-flight list */
};

/* Unquotes and checks a header value into a new string; NULL when malformed (*why says why).
 * A bare value is visible ASCII without '"'; a quoted one is an RFC 8941 sf-string (printable
 * ASCII, \" and \\ escapes). */
static char *parse_key(const char *v, const char **why) {
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    while (n && (*v == ' ' || *v == '\t')) { v++; n--; }
    char *out = sg_xmalloc(n + 1);
    size_t k = 0;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        for (size_t i = 1; i + 1 < n; i++) {
            unsigned char ch = (unsigned char)v[i];
            if (ch == '\\') {
                if (i + 2 >= n || (v[i + 1] != '"' && v[i + 1] != '\\')) goto bad;
                ch = (unsigned char)v[++i];
            } else if (ch == '"' || ch < 0x20 || ch > 0x7e) {
                goto bad;
            }
            out[k++] = (char)ch;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)v[i];
            if (ch <= 0x20 || ch > 0x7e || ch == '"') goto bad;
            out[k++] = (char)ch;
        }
    }
    out[k] = '\0';
    if (k == 0) {
        *why = "it is empty";
        free(out);
        return NULL;
    }
    if (k > IDEM_KEY_MAX) {
        *why = "it is longer than 255 characters";
        free(out);
        return NULL;
    }
    return out;
bad:
    *why = "only visible ASCII characters are allowed, bare or as a quoted string";
    free(out);
    return NULL;
}

/* Hex SHA-256 of method, path and body, each ended by a newline (the body is last, so no
 * two requests share the input). */
static void fingerprint(const http_req *r, char out[STORE_IDEM_FP_LEN + 1]) {
    EVP_MD_CTX *x = sg_digest_begin(sg_md_sha256());
    unsigned char md[32];
    unsigned int len = 0;
    if (!EVP_DigestUpdate(x, r->method, strlen(r->method)) || !EVP_DigestUpdate(x, "\n", 1) ||
        !EVP_DigestUpdate(x, r->path, strlen(r->path)) || !EVP_DigestUpdate(x, "\n", 1) ||
        !EVP_DigestUpdate(x, r->body, r->body_len) || !EVP_DigestFinal_ex(x, md, &len) ||
        len != sizeof md) {
        fprintf(stderr, "smsgated: SHA-256 failed\n");
        abort();
    }
    EVP_MD_CTX_free(x);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[STORE_IDEM_FP_LEN] = '\0';
}

static void replay(api_call *c) {
    store_idem *r = &c->idem->rec;
    sg_log_debug(LOG, "Request %llu: Idempotency-Key '%s' seen before; its answer is replayed.",
                 (unsigned long long)c->req->id, c->idem->key);
    api_reply_bytes(c, r->status, JSON_TYPE, r->body, strlen(r->body));
}

static void mismatch(api_call *c) {
    api_reply_error(c, 422, NULL, "This Idempotency-Key was already used for another request "
                                  "(another method, path or body); use a new key for a new "
                                  "request");
}

static void on_lookup(int rc, void *arg) {
    api_call *c = arg;
    struct api_idem_call *x = c->idem;
    if (rc) {
        api_reply_store_error(c, rc, "This Idempotency-Key");
        return;
    }
    if (x->rec.found) {
        if (x->rec.mismatch) mismatch(c);
        else replay(c);
        return;
    }
    x->next(c);
}

int api_idem_begin(api_call *c, void (*next)(api_call *c)) {
    const char *v = http_req_header(c->req, "Idempotency-Key");
    if (!v) return 0;
    const char *why = NULL;
    char *key = parse_key(v, &why);
    if (!key) {
        api_reply_error(c, 400, NULL, "Invalid header 'Idempotency-Key': %s", why);
        return 1;
    }
    char *scope = c->route->flags & API_ADMIN
                      ? sg_xstrdup("admin")
                      : sg_xasprintf("c%lld", (long long)c->auth.cred_id);
    for (struct api_idem_call *o = c->api->idem_flight; o; o = o->nxt)
        if (!strcmp(o->key, key) && !strcmp(o->scope, scope)) {
            free(key);
            free(scope);
            api_reply_error(c, 409, NULL, "A request with this Idempotency-Key is still being "
                                          "processed; retry once it is answered");
            return 1;
        }
    struct api_idem_call *x = sg_xcalloc(1, sizeof *x);
    x->key = key;
    x->scope = scope;
    x->next = next;
    x->nxt = c->api->idem_flight;
    if (x->nxt) x->nxt->prev = x;
    c->api->idem_flight = x;
    c->idem = x;
    x->rec.scope = scope;
    x->rec.key = key;
    fingerprint(c->req, x->rec.fingerprint);
    x->rec.now_ms = sg_now_ms();
    x->rec.ttl_ms = c->api->cfg->idempotency_ttl_s * 1000;
    store_idem_get(c->api->st, &x->rec, on_lookup, c);
    return 1;
}

void api_idem_end(api_call *c) {
    struct api_idem_call *x = c->idem;
    if (!x) return;
    if (x->prev) x->prev->nxt = x->nxt;
    else c->api->idem_flight = x->nxt;
    if (x->nxt) x->nxt->prev = x->prev;
    store_idem_fini(&x->rec);
    free(x->key);
    free(x->scope);
    free(x);
    c->idem = NULL;
}

/* store_idem.render, on the store thread: the handler's answer as http_reply_json sends it. */
static char *render(void *arg, int *status) {
    api_call *c = arg;
    json_t *j = c->idem->render(c);
    char *s = json_dumps(j ? j : json_null(), JSON_COMPACT | JSON_ENCODE_ANY | SG_JSON_REALS);
    json_decref(j);
    *status = 200;
    return s;
}

int api_idem_taken(api_call *c, int rc) {
    if (rc != SG_ECONFLICT || !c->idem || !c->idem->rec.found) return 0;
    if (c->idem->rec.mismatch) mismatch(c);
    else replay(c);
    return 1;
}

store_idem *api_idem_for(api_call *c, api_render_fn fn) {
    struct api_idem_call *x = c->idem;
    if (!x) return NULL;
    api__base_url_keep(c); /* the render may build URLs: not from the store thread's side */
    x->render = fn;
    x->rec.render = render;
    x->rec.render_arg = c;
    x->rec.now_ms = sg_now_ms();
    return &x->rec;
}

void api_reply_rendered(api_call *c, api_render_fn fn) {
    if (c->idem && c->idem->rec.recorded) {
        store_idem *r = &c->idem->rec;
        api_reply_bytes(c, r->status, JSON_TYPE, r->body, strlen(r->body));
        return;
    }
    api_reply_json(c, fn(c));
}

/* ---- pruning ---- */

static long prune_every_s(const api *a) {
    int64_t ttl = a->cfg->idempotency_ttl_s;
    return ttl < IDEM_PRUNE_EVERY_S ? (long)ttl : IDEM_PRUNE_EVERY_S;
}

static void on_pruned(int rc, void *arg) {
    api *a = arg;
    a->idem_pruning = 0;
    if (rc) sg_log_warn(LOG, "Pruning old idempotency records failed (%s); retrying later.",
                        sg_strerror(rc));
    if (!a->idem_prune_ev) return; /* stopped */
    /* A full batch: more are waiting, go on soon (bounded work per wake-up). */
    struct timeval tv = {prune_every_s(a), 0};
    if (!rc && a->idem_prune.deleted == IDEM_PRUNE_ROWS) tv = (struct timeval){0, 100000};
    event_add(a->idem_prune_ev, &tv);
}

static void on_prune_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    api *a = arg;
    if (a->idem_pruning) return;
    a->idem_pruning = 1;
    memset(&a->idem_prune, 0, sizeof a->idem_prune);
    a->idem_prune.before_ms = sg_now_ms() - a->cfg->idempotency_ttl_s * 1000;
    a->idem_prune.limit = IDEM_PRUNE_ROWS;
    store_idem_prune(a->st, &a->idem_prune, on_pruned, a);
}

void api__idem_start(api *a, struct event_base *base) {
    if (a->idem_prune_ev) return;
    a->idem_prune_ev = evtimer_new(base, on_prune_timer, a);
    struct timeval tv = {prune_every_s(a), 0};
    event_add(a->idem_prune_ev, &tv);
}

void api__idem_stop(api *a) {
    if (!a->idem_prune_ev) return;
    event_free(a->idem_prune_ev);
    a->idem_prune_ev = NULL;
}
