/*
 * api.c - routing and authentication of every API request, and the shared reply helpers.
 *
 * The life of a call: api_handle() matches the route (404 / 405 otherwise), parses the JSON
 * body when there is one (400 on malformed JSON), then authenticates:
 *   API_NOAUTH  nothing (auth headers are ignored, spec 2.7);
 *   API_ADMIN   the admin token, "Authorization: Bearer <token>", compared in constant time;
 *   otherwise   OVH: application key -> consumer key -> state -> timestamp window ->
 *               signature (every URL form the SDKs sign) -> allowed IPs -> access rules.
 * One store operation (auth_lookup) fetches the keys; API_SERVICE routes then load the service
 * named in the path with a second one (service_get), which fails with 404 when the service
 * belongs to another account, so no other account's data is ever reached.
 *
 * Rate limits (docs/api.md "Limits"), token buckets of core/ratelimit.h, each checked where
 * its key is known and before any store operation, so a refused request costs a hash lookup:
 *   per client address (IPv6 by /64)  every request, first thing, except the admin API
 *                  called with its token (the operator's own tools are never refused);
 *   per application key   after the signature verified (an unsigned request naming someone
 *                  else's key cannot spend that key's budget), at the account's rate when the
 *                  operator set one (accounts.rate_limit, read with the credential and cached
 *                  with it), else rate-limit-per-key;
 *   per address, for unsigned POST /auth/credential (auth_routes.c), per minute.
 * A refusal is 429 with OVH's error body and Retry-After (api_reply_limited()). A limit set to
 * 0 costs one comparison. The tables are bounded (rate-limit-table-size) and live on this
 * node: with several nodes behind a balancer, each node allows the rate.
 */
#include "api/api_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "api/api_cache.h"
#include "api/console_session.h"
#include "auth/sign.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "api"

/* vnum.c's first: its /sms/virtualNumbers would otherwise be taken for a service named
 * "virtualNumbers" by /sms/{}. */
static const api_route *const tables[] = {api_vnum_routes,
                                          api_auth_routes, api_service_routes, api_job_routes,
                                          api_sender_routes, api_admin_routes, api_callback_routes,
                                          api_order_routes, api_price_admin_routes,
                                          api_route_admin_routes, api_document_routes,
                                          api_receiver_routes, api_batch_routes,
                                          api_incoming_routes, api_incoming_admin_routes,
                                          api_blacklist_routes, api_hours_admin_routes,
                                          api_health_routes,
                                          api_user_routes, api_hlr_routes,
                                          api_phonebook_routes, api_gateway_routes,
                                          api_console_routes, api_export_routes,
                                          api_ops_routes, api_template_routes,
                                          api_sender_doc_routes};

/* ---- replies ---- */

/* Routes that may change a credential or a service (the admin's, and PUT /sms/{sn}): when an
 * authorized call of theirs is answered, what api_cache.h remembers is forgotten, so that it
 * is never stale on one node. (New consumer keys need nothing: only known keys are kept.) */
static int changes_auth(const api_route *rt) {
    if (!strcmp(rt->method, "GET")) return 0;
    return (rt->flags & API_ADMIN) || !strcmp(rt->pattern, "/sms/{}");
}

static void call_free(api_call *c) {
    api_idem_end(c);
    if (c->flush_cache) api_cache_flush(c->api->cache);
    if (c->h_free) c->h_free(c->h);
    json_decref(c->body);
    free(c->base_url);
    store_auth_lookup_fini(&c->auth);
    store_service_fini(&c->svc.svc);
    free(c);
}

void *api_call_state(api_call *c, size_t size, void (*free_fn)(void *)) {
    c->h = sg_xcalloc(1, size);
    c->h_free = free_fn;
    return c->h;
}

void api_reply_json(api_call *c, json_t *body) {
    http_reply_json(c->req, body);
    call_free(c);
}

void api_reply_raw(api_call *c, const char *content_type, const void *data, size_t len) {
    http_reply_raw(c->req, 200, content_type, data, len);
    call_free(c);
}

void api_call_streamed(api_call *c) { call_free(c); }

void api_reply_bytes(api_call *c, int status, const char *content_type, const void *data,
                     size_t len) {
    http_reply_raw(c->req, status, content_type, data, len);
    call_free(c);
}

void api_reply_error(api_call *c, int status, const char *error_code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_reply_error(c->req, status, error_code, "%s", msg);
    call_free(c);
}

void api_reply_no_id(api_call *c, int64_t id) {
    api_reply_error(c, 404, NULL, "The requested object (id = %lld) does not exist",
                    (long long)id);
}

int api_reply_id_failed(api_call *c, int rc, int64_t id, const char *what) {
    if (!rc) return 0;
    if (rc == SG_ENOTFOUND) api_reply_no_id(c, id);
    else api_reply_store_error(c, rc, what);
    return 1;
}

void api_reply_store_error(api_call *c, int rc, const char *what) {
    switch (rc) {
    case SG_ENOTFOUND: api_reply_error(c, 404, NULL, "%s does not exist", what); break;
    case SG_ECONFLICT: api_reply_error(c, 409, NULL, "%s already exists or is busy", what); break;
    case SG_EPERM: api_reply_error(c, 403, NULL, "%s: this change is not allowed", what); break;
    case SG_ENOCREDIT:
        api_reply_error(c, 402, "INSUFFICIENT_CREDITS", "Not enough credits for this operation");
        break;
    case SG_ELIMIT: api_reply_limited(c, 1000, "request"); break;
    case SG_EUNAVAIL: /* the store logged the outage once; not each request */
        c->req->logged = 1;
        api_reply_error(c, 503, NULL, "The database is unreachable, please retry later");
        break;
    default:
        sg_log_error(LOG, "Request %llu (%s %s) failed in the store: %s.",
                     (unsigned long long)c->req->id, c->req->method, c->req->path,
                     sg_strerror(rc));
        api_reply_error(c, 500, NULL, "Internal error, please retry");
    }
}

void api_reply_limited(api_call *c, int64_t retry_ms, const char *what) {
    int64_t s = (retry_ms + 999) / 1000;
    if (s < 1) s = 1;
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)s);
    http_reply_header(c->req, "Retry-After", v);
    sg_log_debug(LOG, "Request %llu from %s refused: over the %s rate limit, retry in %s s.",
                 (unsigned long long)c->req->id, c->req->peer, what, v);
    api_reply_error(c, 429, NULL, "Too many requests (%s limit): retry in %lld s", what,
                    (long long)s);
}

/* ---- rate limits ---- */

/* Returns -1 after replying 429 when the client's address is over its limit. */
static int limit_address(api_call *c, rl_table *t, const rl_limit *lim, const char *what) {
    if (!rl_limit_on(lim)) return 0;
    char k[80];
    size_t n = rl_addr_key(c->req->peer, k, sizeof k);
    int64_t retry;
    if (rl_take(t, k, n, lim, c->req->start_ms, &retry) == 0) return 0;
    api_reply_limited(c, retry, what);
    return -1;
}

int api_limit_credential(api_call *c) {
    return limit_address(c, c->api->rl_cred, &c->api->cred_limit, "credential request");
}

/* The limit of the authenticated application key: its account's when the operator set one,
 * else the server's. Returns -1 after replying 429. */
static int limit_key(api_call *c) {
    const sg_config *cfg = c->api->cfg;
    const store_auth_lookup_req *a = &c->auth;
    int64_t rate = a->rate_limit >= 0 ? a->rate_limit : cfg->rate_limit_per_key;
    if (rate <= 0) return 0;
    int64_t burst = a->rate_burst >= 0 ? a->rate_burst : cfg->rate_limit_per_key_burst;
    rl_limit lim = rl_limit_make(rate, 1000, burst > 0 ? burst : rate);
    int64_t retry;
    if (rl_take(c->api->rl_key, a->app_key, strlen(a->app_key), &lim, c->req->start_ms,
                &retry) == 0)
        return 0;
    api_reply_limited(c, retry, "application key");
    return -1;
}

int64_t api_pending_before_ms(const api *a) {
    int64_t ttl = a->cfg->consumer_key_pending_ttl_s;
    return ttl > 0 ? sg_now_ms() - ttl * 1000 : 0;
}

/* ---- body fields ---- */

/* The readers of a JSON object's fields, without a call (send.c reads a send with them, under
 * a way in's names), then the same replying 400 for a handler. One wording for each refusal. */

static json_t *get_field(json_t *obj, const char *name, int required, int *rc, char *msg,
                         size_t n) {
    json_t *v = obj && name ? json_object_get(obj, name) : NULL;
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(msg, n, "Missing parameter '%s'", name);
            *rc = API_GET_MISSING;
        } else {
            *rc = 1;
        }
        return NULL;
    }
    *rc = 0;
    return v;
}

int api_get_string(json_t *obj, const char *name, int required, const char **out, char *msg,
                   size_t n) {
    int rc;
    json_t *v = get_field(obj, name, required, &rc, msg, n);
    if (!v) return rc;
    if (!json_is_string(v)) {
        snprintf(msg, n, "Invalid value for parameter '%s': a string is expected", name);
        return API_GET_INVALID;
    }
    if (api_text_check(name, json_string_value(v), json_string_length(v), msg, n) < 0)
        return API_GET_INVALID;
    *out = json_string_value(v);
    return 0;
}

int api_get_bool(json_t *obj, const char *name, int required, int *out, char *msg, size_t n) {
    int rc;
    json_t *v = get_field(obj, name, required, &rc, msg, n);
    if (!v) return rc;
    if (!json_is_boolean(v)) {
        snprintf(msg, n, "Invalid value for parameter '%s': true or false is expected", name);
        return API_GET_INVALID;
    }
    *out = json_is_true(v);
    return 0;
}

int api_get_int(json_t *obj, const char *name, int required, int64_t min, int64_t max,
                int64_t *out, char *msg, size_t n) {
    int rc;
    json_t *v = get_field(obj, name, required, &rc, msg, n);
    if (!v) return rc;
    int64_t x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v)) {
        x = (int64_t)json_real_value(v);
    } else {
        snprintf(msg, n, "Invalid value for parameter '%s': an integer is expected", name);
        return API_GET_INVALID;
    }
    if (x < min || x > max) {
        snprintf(msg, n, "Invalid value for parameter '%s': %lld is outside %lld..%lld", name,
                 (long long)x, (long long)min, (long long)max);
        return API_GET_INVALID;
    }
    *out = x;
    return 0;
}

int api_get_enum(json_t *obj, const char *name, int required, const char *const *values,
                 int *out, char *msg, size_t n) {
    const char *s;
    int rc = api_get_string(obj, name, required, &s, msg, n);
    if (rc) return rc;
    for (int i = 0; values[i]; i++)
        if (!strcmp(s, values[i])) {
            *out = i;
            return 0;
        }
    char allowed[512] = "";
    size_t k = 0;
    for (int i = 0; values[i] && k < sizeof allowed - 1; i++)
        k += (size_t)snprintf(allowed + k, sizeof allowed - k, "%s%s", i ? ", " : "", values[i]);
    snprintf(msg, n, "Invalid value for parameter '%s': '%.64s' is not one of %s", name, s,
             allowed);
    return API_GET_INVALID;
}

/* A reader's refusal as the handler's 400: returns -1 after replying, else rc. */
static int replied(api_call *c, int rc, const char *msg) {
    if (rc >= 0) return rc;
    api_reply_error(c, 400, NULL, "%s", msg);
    return -1;
}

int api_field_string(api_call *c, const char *name, int required, const char **out) {
    char msg[API_GET_MSG];
    return replied(c, api_get_string(c->body, name, required, out, msg, sizeof msg), msg);
}

int api_field_bool(api_call *c, const char *name, int required, int *out) {
    char msg[API_GET_MSG];
    return replied(c, api_get_bool(c->body, name, required, out, msg, sizeof msg), msg);
}

int api_field_int(api_call *c, const char *name, int required, int64_t min, int64_t max,
                  int64_t *out) {
    char msg[API_GET_MSG];
    return replied(c, api_get_int(c->body, name, required, min, max, out, msg, sizeof msg),
                   msg);
}

int api_field_number(api_call *c, const char *name, int required, double *out) {
    char msg[API_GET_MSG];
    int rc;
    json_t *v = get_field(c->body, name, required, &rc, msg, sizeof msg);
    if (!v) return replied(c, rc, msg);
    if (!json_is_number(v)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': a number is expected",
                        name);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

int api_field_enum(api_call *c, const char *name, int required, const char *const *values,
                   int *out) {
    char msg[API_GET_MSG];
    return replied(c, api_get_enum(c->body, name, required, values, out, msg, sizeof msg), msg);
}

int api_path_id(api_call *c, int seg, int64_t *out) {
    const char *s = c->req->segs[seg];
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v <= 0) {
        api_reply_error(c, 404, NULL, "The requested object (id = %.40s) does not exist", s);
        return -1;
    }
    *out = v;
    return 0;
}

int api_query_time(api_call *c, const char *name, int64_t *out) {
    const char *v = http_req_param(c->req, name);
    *out = 0;
    if (!v) return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *p = buf; *p; p++) /* a '+' of an offset arrives as a space when not encoded */
        if (*p == ' ') *p = '+';
    if (sg_time_parse(buf, out) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an ISO-8601 date-time "
                                      "is expected", name);
        return -1;
    }
    return 0;
}

json_t *api_credits_json(int64_t milli) {
    if (milli % 1000 == 0) return json_integer(milli / 1000);
    return json_real((double)milli / 1000.0);
}

json_t *api_time_json(int64_t ms) {
    if (!ms) return json_null();
    char buf[SG_TIME_ISO_LEN];
    sg_time_iso(ms, buf);
    return json_string(buf);
}

int api_url_valid(const char *url) {
    const char *p;
    if (!strncmp(url, "https://", 8)) p = url + 8;
    else if (!strncmp(url, "http://", 7)) p = url + 7;
    else return 0;
    if (!*p || *p == '/' || *p == ':' || strlen(url) > 2048) return 0;
    for (const char *q = url; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f) return 0;
    return 1;
}

/* An alphanumeric sender: 1-11 characters of letters, digits, space and a few signs, not all
 * digits. A numeric sender: an optional '+' and 3-15 digits. */
int api_sender_valid(const char *s, const char **type) {
    size_t n = strlen(s), digits = 0;
    if (n == 0) return 0;
    const char *p = s[0] == '+' ? s + 1 : s;
    for (const char *q = p; *q; q++) digits += (*q >= '0' && *q <= '9');
    if (digits == strlen(p)) {
        *type = s[0] == '+' || digits > 6 ? "numeric" : "shortcode";
        return digits >= 3 && digits <= 15;
    }
    if (s[0] == '+' || n > 11) return 0;
    for (const char *q = s; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              strchr(" .-_&'!", *q)))
            return 0;
    *type = "alpha";
    return 1;
}

/* Reads the connection's local address: loop thread only. */
static char *base_url(api_call *c) {
    if (c->api->public_urls[0]) {
        const char *u = c->api->public_urls[0];
        size_t n = strlen(u);
        while (n && u[n - 1] == '/') n--;
        return sg_xstrndup(u, n);
    }
    char local[80];
    /* The connection is gone when the local address is unknown: nobody will read the URL. */
    if (http_req_local(c->req, local, sizeof local) != 0)
        snprintf(local, sizeof local, "localhost");
    return sg_xasprintf("%s://%s", c->req->tls ? "https" : "http", local);
}

void api__base_url_keep(api_call *c) {
    if (!c->base_url) c->base_url = base_url(c);
}

char *api_base_url(api_call *c) {
    api__base_url_keep(c);
    return sg_xstrdup(c->base_url);
}

/* ---- routing ---- */

static int match(const char *pattern, const http_req *r) {
    int i = 0;
    const char *p = pattern;
    while (*p == '/') p++;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (i >= r->nsegs) return 0;
        if (!(n == 2 && !strncmp(p, "{}", 2)) &&
            (strlen(r->segs[i]) != n || strncmp(p, r->segs[i], n)))
            return 0;
        i++;
        p += n;
        while (*p == '/') p++;
    }
    return i == r->nsegs;
}

static const api_route *find_route(const http_req *r, int *path_known) {
    *path_known = 0;
    const char *m = !strcmp(r->method, "HEAD") ? "GET" : r->method;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const api_route *rt = tables[t]; rt->method; rt++)
            if (match(rt->pattern, r)) {
                *path_known = 1;
                if (!strcmp(rt->method, m)) return rt;
            }
    return NULL;
}

int api__route_known(const char *method, const char *pattern) {
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const api_route *rt = tables[t]; rt->method; rt++)
            if (!strcmp(rt->method, method) && !strcmp(rt->pattern, pattern)) return 1;
    return 0;
}

/* ---- authentication ---- */

static void on_service(int rc, void *arg) {
    api_call *c = arg;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "This service does not exist");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_cache_service_put(c->api->cache, &c->svc.svc);
    if (!c->account_id) c->account_id = c->svc.svc.account_id; /* an operator's console call */
    c->route->fn(c);
}

static void proceed(api_call *c) {
    /* A creating POST with an Idempotency-Key: replayed, refused, or back here once new. */
    if ((c->route->flags & API_IDEM) && !c->idem && api_idem_begin(c, proceed)) return;
    if (c->route->flags & API_SERVICE) {
        c->svc.account_id = c->account_id;
        c->svc.name = c->req->segs[1];
        const store_service *s = c->route->flags & API_SVC_CACHE
                                     ? api_cache_service_get(c->api->cache, c->svc.name)
                                     : NULL;
        if (s && s->account_id == c->account_id) { /* another account's: ask the store (404) */
            api_cache_service_copy(&c->svc.svc, s);
            c->route->fn(c);
            return;
        }
        store_service_get(c->api->st, &c->svc, on_service, c);
        return;
    }
    c->route->fn(c);
}

void api__proceed(api_call *c) { proceed(c); }

/* The state of the credential (from the store or the cache). Returns -1 after replying. */
static int credential_ok(api_call *c) {
    store_auth_lookup_req *a = &c->auth;
    if (!a->app_found) {
        api_reply_error(c, 403, "INVALID_KEY", "This application key is invalid");
        return -1;
    }
    if (!a->cred_found || !a->cred_app_matches) {
        api_reply_error(c, 403, "NOT_CREDENTIAL", "This credential does not exist");
        return -1;
    }
    if (strcmp(a->cred_state, "validated") != 0 ||
        (a->cred_expires_ms && a->cred_expires_ms < sg_now_ms())) {
        api_reply_error(c, 403, "INVALID_CREDENTIAL", "This credential is not valid");
        return -1;
    }
    return 0;
}

/* The checks of this request against its valid credential; rules and ips are the parsed
 * rules_json and allowed_ips_json (borrowed). Proceeds, or replies. */
static void authorize(api_call *c, json_t *rules, json_t *ips) {
    http_req *r = c->req;
    store_auth_lookup_req *a = &c->auth;
    const char *ts = http_req_header(r, "X-Ovh-Timestamp");
    char *end = NULL;
    errno = 0;
    long long t = ts ? strtoll(ts, &end, 10) : 0;
    long long now = sg_now_ms() / 1000;
    if (!ts || !*ts || *end || errno || t < now - c->api->cfg->timestamp_window_s ||
        t > now + c->api->cfg->timestamp_window_s) {
        api_reply_error(c, 400, "QUERY_TIME_OUT", "Query out of time");
        return;
    }
    auth_verify_in in = {
        .app_secret = a->app_secret,
        .consumer_key = a->consumer_key,
        .method = r->method,
        .target = r->target,
        .host = http_req_header(r, "Host"),
        .tls = r->tls,
        .public_urls = (const char *const *)c->api->public_urls,
        .body = r->body,
        .body_len = r->body_len,
        .timestamp = ts,
        .signature = http_req_header(r, "X-Ovh-Signature"),
    };
    if (auth_verify(&in) != 0) {
        api_reply_error(c, 400, "INVALID_SIGNATURE", "Invalid signature");
        return;
    }
    if (!auth_ip_allowed(ips, r->peer)) {
        api_reply_error(c, 403, "FORBIDDEN", "This IP address is not allowed to use this "
                                             "credential");
        return;
    }
    const char *m = !strcmp(r->method, "HEAD") ? "GET" : r->method;
    if (!auth_rules_allow(rules, m, r->path)) {
        api_reply_error(c, 403, "NOT_GRANTED_CALL", "This call has not been granted");
        return;
    }
    if (limit_key(c) < 0) return;
    c->account_id = a->account_id;
    c->flush_cache = changes_auth(c->route);
    proceed(c);
}

static void on_auth(int rc, void *arg) {
    api_call *c = arg;
    store_auth_lookup_req *a = &c->auth;
    if (rc) {
        api_reply_store_error(c, rc, "This credential");
        return;
    }
    if (credential_ok(c) < 0) return;
    api_cache_auth_put(c->api->cache, a->app_key, a->consumer_key, a);
    json_t *ips = a->allowed_ips_json ? json_loads(a->allowed_ips_json, 0, NULL) : NULL;
    json_t *rules = json_loads(a->rules_json ? a->rules_json : "[]", 0, NULL);
    authorize(c, rules, ips); /* frees c */
    json_decref(ips);
    json_decref(rules);
}

/* A credential api_cache.h remembers: the same checks without a store operation. */
static void auth_cached(api_call *c, const api_cache_auth *e) {
    store_auth_lookup_req *a = &c->auth;
    const char *ak = a->app_key, *ck = a->consumer_key;
    *a = e->lookup;
    a->app_key = ak;
    a->consumer_key = ck;
    a->app_secret = e->lookup.app_secret ? sg_xstrdup(e->lookup.app_secret) : NULL;
    a->cred_state = e->lookup.cred_state ? sg_xstrdup(e->lookup.cred_state) : NULL;
    a->rules_json = e->lookup.rules_json ? sg_xstrdup(e->lookup.rules_json) : NULL;
    a->allowed_ips_json =
        e->lookup.allowed_ips_json ? sg_xstrdup(e->lookup.allowed_ips_json) : NULL;
    if (credential_ok(c) < 0) return; /* expired since */
    authorize(c, e->rules, e->ips);   /* e is not touched after proceed() */
}

static int admin_ok(api_call *c) {
    const char *h = http_req_header(c->req, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
    const char *tok = h + 7;
    size_t n = strlen(tok), m = strlen(c->api->admin_token);
    return n == m && CRYPTO_memcmp(tok, c->api->admin_token, n) == 0;
}

/* Paths served without the API's base path (/1.0): each first segment listed here. */
static const char *const rootless_roots[] = {
    "admin",   /* the operator's API */
    "cgi-bin", /* http2sms and Kannel's sendsms, at the paths their clients already call */
    "console", /* the web console */
    "healthz", /* probes */
    "readyz",
    NULL};

static int rootless(const http_req *req) {
    if (req->nsegs == 0) return 0;
    for (const char *const *r = rootless_roots; *r; r++)
        if (!strcmp(req->segs[0], *r)) return 1;
    return 0;
}

void api_handle(http_req *req, void *arg) {
    api *a = arg;
    api_call *c = sg_xcalloc(1, sizeof *c);
    c->api = a;
    c->req = req;
    /* Every request of an address counts, unknown paths included; the operator's never. */
    if (rl_limit_on(&a->addr_limit) && !admin_ok(c) &&
        limit_address(c, a->rl_addr, &a->addr_limit, "address") < 0)
        return;
    int known;
    const api_route *rt = req->has_base || rootless(req) ? find_route(req, &known)
                                                         : (known = 0, NULL);
    if (!rt) {
        if (known) api_reply_error(c, 405, NULL, "Method %s is not allowed on %s", req->method,
                                   req->path);
        else api_reply_error(c, 404, NULL, "Got an invalid (or empty) URL");
        return;
    }
    c->route = rt;
    req->route = rt->pattern; /* the label of /metrics */
    if (req->body_len > 0 && !(rt->flags & API_RAW)) {
        json_error_t err;
        c->body = json_loadb((const char *)req->body, req->body_len, JSON_DECODE_ANY, &err);
        if (!c->body) {
            api_reply_error(c, 400, NULL, "Invalid JSON body: %s (line %d, column %d)", err.text,
                            err.line, err.column);
            return;
        }
        if (json_is_null(c->body)) {
            json_decref(c->body);
            c->body = NULL;
        } else if ((rt->flags & API_BODY) && !json_is_object(c->body)) {
            api_reply_error(c, 400, NULL, "The request body must be a JSON object");
            return;
        }
    }
    if ((rt->flags & API_BODY) && !c->body) {
        api_reply_error(c, 400, NULL, "A JSON object body is required");
        return;
    }
    /* The web console: a session cookie, and no other credential (console.c). */
    if (!(rt->flags & API_NOAUTH) && !http_req_header(req, "Authorization") &&
        !http_req_header(req, "X-Ovh-Application")) {
        size_t n;
        const char *sid = console_cookie_get(http_req_header(req, "Cookie"), CONSOLE_COOKIE, &n);
        if (sid && a->cfg->console) {
            c->flush_cache = changes_auth(rt);
            api__console_authorize(c, sid, n);
            return;
        }
    }
    if (rt->flags & API_ADMIN) {
        if (!admin_ok(c)) {
            api_reply_error(c, 401, NULL, "A valid admin token is required "
                                          "(Authorization: Bearer <token>)");
            return;
        }
        c->flush_cache = changes_auth(rt);
        proceed(c);
        return;
    }
    if (rt->flags & API_NOAUTH) {
        rt->fn(c);
        return;
    }
    const char *ak = http_req_header(req, "X-Ovh-Application");
    const char *ck = http_req_header(req, "X-Ovh-Consumer");
    if (!ak || !*ak) {
        api_reply_error(c, 403, "INVALID_KEY", "This application key is invalid");
        return;
    }
    if (!ck || !*ck) {
        api_reply_error(c, 401, NULL, "You must login first");
        return;
    }
    c->auth.app_key = ak;
    c->auth.consumer_key = ck;
    const api_cache_auth *hit = api_cache_auth_get(a->cache, ak, ck);
    if (hit) {
        auth_cached(c, hit);
        return;
    }
    store_auth_lookup(a->st, &c->auth, on_auth, c);
}

api *api_new(const sg_config *cfg, store *st, dispatch *d, const char *admin_token) {
    api *a = sg_xcalloc(1, sizeof *a);
    a->cfg = cfg;
    a->st = st;
    a->d = d;
    a->admin_token = sg_xstrdup(admin_token);
    a->cache = api_cache_new();
    size_t cap = (size_t)cfg->rate_limit_table_size;
    a->rl_key = rl_table_new(cap);
    a->rl_addr = rl_table_new(cap);
    a->rl_cred = rl_table_new(cap);
    int64_t ab = cfg->rate_limit_per_address_burst;
    a->addr_limit = rl_limit_make(cfg->rate_limit_per_address, 1000,
                                  ab > 0 ? ab : cfg->rate_limit_per_address);
    a->cred_limit = rl_limit_make(cfg->credential_rate_per_address, 60000,
                                  cfg->credential_burst_per_address);
    size_t n = 0;
    a->public_urls = sg_xcalloc(1, sizeof *a->public_urls);
    const char *p = cfg->public_url;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) { p++; len--; }
        while (len && isspace((unsigned char)p[len - 1])) len--;
        if (len) {
            a->public_urls = sg_xrealloc(a->public_urls, (n + 2) * sizeof *a->public_urls);
            a->public_urls[n++] = sg_xstrndup(p, len);
            a->public_urls[n] = NULL;
        }
        if (!e) break;
        p = e + 1;
    }
    return a;
}

/* ---- housekeeping: consumer keys requested and never validated ---- */

#define EXPIRE_EVERY_S 60
#define EXPIRE_BATCH 1000

static void expire_schedule(api *a, int now) {
    struct timeval tv = {now ? 0 : EXPIRE_EVERY_S, 0};
    evtimer_add(a->expire_ev, &tv);
}

static void on_expired(int rc, void *arg) {
    api *a = arg;
    a->expiring = 0;
    if (rc) {
        sg_log_error(LOG, "Deleting expired consumer key requests failed (%s); retrying later.",
                     sg_strerror(rc));
    } else if (a->expire.deleted) {
        sg_log_info(LOG, "Deleted %d consumer key requests never validated within %lld s.",
                    a->expire.deleted, (long long)a->cfg->consumer_key_pending_ttl_s);
    }
    if (a->expire_ev) expire_schedule(a, rc == 0 && a->expire.more);
}

static void on_expire_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    api *a = arg;
    int64_t before = api_pending_before_ms(a);
    if (a->expiring || before <= 0) {
        if (!a->expiring) expire_schedule(a, 0);
        return;
    }
    memset(&a->expire, 0, sizeof a->expire);
    a->expire.before_ms = before;
    a->expire.limit = EXPIRE_BATCH;
    a->expiring = 1;
    if (store_credential_expire(a->st, &a->expire, on_expired, a) != 0) {
        a->expiring = 0;
        expire_schedule(a, 0);
    }
}

void api_config_changed(api *a) {
    api_cache_flush(a->cache);
    api__users_forget(a);
}

void api_start(api *a, struct event_base *base) {
    api__idem_start(a, base);
    api__users_start(a, base);
    if (a->expire_ev) return;
    a->expire_ev = evtimer_new(base, on_expire_timer, a);
    expire_schedule(a, 1); /* once at start: what expired while smsgated was stopped */
}

void api_stop(api *a) {
    if (!a) return;
    api__idem_stop(a);
    api__users_stop(a);
    if (a->expire_ev) event_free(a->expire_ev);
    a->expire_ev = NULL;
}

void api_free(api *a) {
    if (!a) return;
    if (a->expire_ev) event_free(a->expire_ev);
    a->expire_ev = NULL;
    api__users_stop(a);
    rl_table_free(a->rl_key);
    rl_table_free(a->rl_addr);
    rl_table_free(a->rl_cred);
    for (char **u = a->public_urls; *u; u++) free(*u);
    free(a->public_urls);
    free(a->admin_token);
    api_cache_free(a->cache);
    api__console_free(a);
    free(a);
}
