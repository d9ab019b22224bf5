/*
 * console.c - the web console (docs/console.md): its files, its logins and logouts, and how a
 * console session authorizes a call of the API.
 *
 *   GET    /console/            the page (index.html); /console is the same path
 *   GET    /console/{file}      app.js, app.css... compiled in (console_assets.h)
 *   POST   /console/session     log in: {"token": admin token} for the operator,
 *                               {"service"?, "login", "password"} for a customer (an SMS user)
 *   GET    /console/session     who is logged in, and the session's CSRF token (null: nobody)
 *   DELETE /console/session     log out
 *
 * The console has no API of its own: its JavaScript calls the routes every client calls
 * (/1.0/sms/..., /admin/..., /1.0/me/document...) with the session's cookie instead of an OVH
 * signature or the admin token, and api.c hands such a call to api__console_authorize(), which
 * decides from the session alone:
 *   operator   every admin route (as the admin token), and every /sms/{sn}/... route of any
 *              service (as the service's owner: the operator sees everything anyway);
 *   customer   the /sms/{sn}/... routes of its own service but /sms/{sn}/users... (a user
 *              must not change its own quota), /sms/estimate, /me/document...,
 *              /order/sms/{sn}/credits..., and of the admin API only its own service's
 *              callbacks (the dead-letter list and its replay), the routes the console shows;
 *              anything else is 403 NOT_GRANTED_CALL. The call is the SMS user's (c->user_id:
 *              its quota, its lists), except on receivers slots and for a campaign by a user
 *              without an active quota, which are the service's (customer_go). The
 *              user is read again from the store every USER_CHECK_MS of use and before each
 *              campaign: a deleted user or a changed password ends the session.
 * Then the call runs exactly as a signed one would: the same handler, the same checks, the same
 * store operation. Every method but GET and HEAD must carry the session's CSRF token in the
 * X-Smsgate-Csrf header (403 otherwise), so no other site can make a logged-in browser change
 * anything. Sessions themselves are console_session.c's.
 *
 * Invariants:
 *   1. A request that carries an OVH signature's headers or an Authorization header is never
 *      authorized by a cookie (api.c checks those first).
 *   2. The cookie is HttpOnly, SameSite=Strict, Path=/, Secure when the login came over HTTPS
 *      (the TLS listener, or a first public-url in https: a TLS front);
 *      logging out removes the session from the table, not only the cookie.
 *   3. The pages are served with a Content-Security-Policy allowing nothing but this origin:
 *      no inline script, no CDN, nothing fetched elsewhere.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/console_assets.h"
#include "api/console_session.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "console"

_Static_assert(sizeof((console_session *)0)->login == sizeof((api_call *)0)->user_login,
               "a session keeps the SMS user's login as api_call does");

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'self'";

/* ---- the table, created with the api ---- */

static console_sessions *sessions(api *a) {
    if (!a->console_sessions)
        a->console_sessions = console_sessions_new((size_t)a->cfg->console_sessions_max,
                                                   a->cfg->console_session_idle_s * 1000,
                                                   a->cfg->console_session_max_age_s * 1000);
    return a->console_sessions;
}

void api__console_free(api *a) {
    console_sessions_free(a->console_sessions);
    a->console_sessions = NULL;
}

/* The request's live session, or NULL. */
static console_session *find(api_call *c) {
    size_t n;
    const char *id = console_cookie_get(http_req_header(c->req, "Cookie"), CONSOLE_COOKIE, &n);
    if (!id) return NULL;
    return console_session_get(sessions(c->api), id, n, sg_now_ms());
}

static int disabled(api_call *c) {
    if (c->api->cfg->console) return 0;
    api_reply_error(c, 404, NULL, "Got an invalid (or empty) URL");
    return 1;
}

/* ---- files ---- */

static void security_headers(api_call *c) {
    http_reply_header(c->req, "Content-Security-Policy", csp);
    http_reply_header(c->req, "X-Content-Type-Options", "nosniff");
    http_reply_header(c->req, "X-Frame-Options", "DENY");
    http_reply_header(c->req, "Referrer-Policy", "no-referrer");
    http_reply_header(c->req, "Cache-Control", "no-cache");
}

static void serve(api_call *c, const char *name) {
    for (const console_asset *f = console_assets; f->name; f++)
        if (!strcmp(f->name, name)) {
            security_headers(c);
            api_reply_raw(c, f->type, f->data, f->len);
            return;
        }
    api_reply_error(c, 404, NULL, "Got an invalid (or empty) URL");
}

static void page(api_call *c) {
    if (disabled(c)) return;
    serve(c, "index.html");
}

static void file(api_call *c) {
    if (disabled(c)) return;
    serve(c, c->req->segs[1]);
}

/* ---- sessions ---- */

static json_t *session_json(const console_session *s) {
    int op = s->kind == CONSOLE_OPERATOR;
    /* Message templates (templatesControl) and their moderation, when this build has them. */
    int templates = api__route_known("GET", "/sms/{}/templatesControl") &&
                    api__route_known("PUT", "/admin/services/{}/templates/{}");
    return json_pack("{s:s, s:s, s:o, s:o, s:b}", "kind", op ? "operator" : "customer", "csrf",
                     s->csrf, "service", op ? json_null() : json_string(s->service), "login",
                     op ? json_null() : json_string(s->login), "templates", templates);
}

/* Secure on the TLS listener, and behind a TLS front (a public-url in https). */
static void set_cookie(api_call *c, const char *value, int64_t max_age_s) {
    const char *pub = c->api->public_urls[0];
    int secure = c->req->tls || (pub && !strncmp(pub, "https://", 8));
    char v[256];
    snprintf(v, sizeof v, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
             CONSOLE_COOKIE, value, (long long)max_age_s, secure ? "; Secure" : "");
    http_reply_header(c->req, "Set-Cookie", v);
}

/* A customer's SMS user as the store has it now: read at login and again at most every
 * USER_CHECK_MS of use (and before every campaign), so that a deleted user or a changed
 * password ends the user's sessions within that time. */
#define USER_CHECK_MS 5000

typedef struct user_check {
    api_call *c;
    char sid[CONSOLE_TOKEN_LEN + 1]; /* the session's id ("" at login): it may end meanwhile */
    char service[sizeof((console_session *)0)->service];
    char login[sizeof((console_session *)0)->login];
    store_user_req r;
} user_check;

/* What identifies the password a session was opened with: a digest of the stored hash (which
 * is salted, so any change of password changes it). */
static uint64_t password_tag(const char *hash) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = hash ? hash : ""; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* Reads the user c->user_login of service (copied), then done(rc, q). */
static void user_check_start(api_call *c, const char *sid, const char *service,
                             void (*done)(int, void *)) {
    user_check *q = sg_xcalloc(1, sizeof *q);
    q->c = c;
    snprintf(q->sid, sizeof q->sid, "%s", sid);
    snprintf(q->service, sizeof q->service, "%s", service);
    q->r.service = q->service;
    q->r.account_id = c->account_id;
    memcpy(q->login, c->user_login, sizeof q->login);
    q->r.login = q->login;
    store_user_get(c->api->st, &q->r, done, q);
}

/* Creates the session of a successful login and answers it (cookie + body). */
static void logged_in(api_call *c, console_kind kind, int64_t account_id, const char *service,
                      int64_t user_id, const char *login, uint64_t pw_tag) {
    console_session *s = console_session_new(sessions(c->api), kind, sg_now_ms());
    s->account_id = account_id;
    s->user_id = user_id;
    s->pw_tag = pw_tag;
    s->checked_ms = s->created_ms;
    snprintf(s->service, sizeof s->service, "%s", service ? service : "");
    snprintf(s->login, sizeof s->login, "%s", login ? login : "");
    sg_log_info(LOG, "Console login of %s%s%s%s from %s.",
                kind == CONSOLE_OPERATOR ? "the operator" : "user '", s->login,
                kind == CONSOLE_OPERATOR ? "" : "' of service ",
                kind == CONSOLE_OPERATOR ? "" : s->service, c->req->peer);
    set_cookie(c, s->id, c->api->cfg->console_session_max_age_s);
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, session_json(s));
}

static void on_login_user(int rc, void *arg) {
    user_check *q = arg;
    api_call *c = q->c;
    uint64_t tag = rc ? 0 : password_tag(q->r.user.password_hash);
    store_user_fini(&q->r.user);
    free(q);
    if (rc == SG_ENOTFOUND) { /* removed since its password was checked */
        api_reply_error(c, 403, "INVALID_CREDENTIAL", "Wrong login or password");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This SMS user");
        return;
    }
    logged_in(c, CONSOLE_CUSTOMER, c->svc.svc.account_id, c->svc.svc.name, c->user_id,
              c->user_login, tag);
}

static void on_user_auth(api_call *c, int rc) {
    if (rc == SG_ELIMIT) {
        api_reply_limited(c, 1000, "login");
        return;
    }
    if (rc == SG_EPERM || rc == SG_ENOTFOUND) {
        api_reply_error(c, 403, "INVALID_CREDENTIAL", "Wrong login or password");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This SMS user");
        return;
    }
    c->account_id = c->svc.svc.account_id;
    user_check_start(c, "", c->svc.svc.name, on_login_user);
}

static void login(api_call *c) {
    if (disabled(c)) return;
    if (api_limit_credential(c) < 0) return; /* every attempt counts, per address */
    const char *token = NULL, *service = NULL, *user = NULL, *password = NULL;
    int rc = api_field_string(c, "token", 0, &token);
    if (rc < 0) return;
    if (rc == 0) {
        size_t n = strlen(token), m = strlen(c->api->admin_token);
        if (n != m || CRYPTO_memcmp(token, c->api->admin_token, n) != 0) {
            sg_log_warn(LOG, "Console login with a wrong admin token from %s.", c->req->peer);
            api_reply_error(c, 403, "INVALID_CREDENTIAL", "Wrong admin token");
            return;
        }
        logged_in(c, CONSOLE_OPERATOR, 0, NULL, 0, NULL, 0);
        return;
    }
    if (api_field_string(c, "service", 0, &service) < 0 ||
        api_field_string(c, "login", 1, &user) < 0 ||
        api_field_string(c, "password", 1, &password) < 0)
        return;
    api_user_auth(c, service, user, password, on_user_auth);
}

static void whoami(api_call *c) {
    if (disabled(c)) return;
    console_session *s = find(c);
    http_reply_header(c->req, "Cache-Control", "no-store");
    /* null, not 401: the page asks this first, and a browser logs every 4xx as an error. */
    api_reply_json(c, s ? session_json(s) : NULL);
}

static void logout(api_call *c) {
    if (disabled(c)) return;
    console_session *s = find(c);
    if (s && !console_csrf_ok(s, http_req_header(c->req, CONSOLE_CSRF_HEADER))) {
        api_reply_error(c, 403, "CSRF", "Missing or wrong " CONSOLE_CSRF_HEADER " header");
        return;
    }
    console_session_remove(sessions(c->api), s);
    set_cookie(c, "", 0);
    api_reply_json(c, NULL);
}

/* ---- a call of the API authorized by a session ---- */

/* The routes outside /sms/{sn} and /admin a customer's console calls (their handlers check
 * the account, like for a signed call). */
static const char *const customer_routes[] = {"/sms/estimate", "/me/document", "/me/document/{}",
                                              "/order/sms/{}/credits",
                                              "/order/sms/{}/credits/{}", NULL};

static int customer_may(const api_call *c, const console_session *s) {
    const api_route *rt = c->route;
    const http_req *r = c->req;
    /* Not the SMS users' own management: a user must not raise its quota or make others. */
    if (!strncmp(rt->pattern, "/sms/{}/users", 13)) return 0;
    if (rt->flags & API_SERVICE) return r->nsegs > 1 && !strcmp(r->segs[1], s->service);
    if (rt->flags & API_ADMIN)
        return !strncmp(rt->pattern, "/admin/services/{}/callbacks", 28) &&
               !strcmp(r->segs[2], s->service);
    for (const char *const *p = customer_routes; *p; p++)
        if (!strcmp(rt->pattern, *p))
            return strncmp(rt->pattern, "/order/", 7) || !strcmp(r->segs[2], s->service);
    return 0;
}

/* 1 for a templated send: POST /sms/{sn}/jobs naming receiversSlotId or receiversDocumentUrl,
 * or POST /sms/{sn}/batches naming slotID. */
static int templated_send(const api_call *c) {
    if (strcmp(c->req->method, "POST") || !c->body) return 0;
    const char *keys[3] = {NULL, NULL, NULL};
    if (!strcmp(c->route->pattern, "/sms/{}/jobs")) {
        keys[0] = "receiversSlotId";
        keys[1] = "receiversDocumentUrl";
    } else if (!strcmp(c->route->pattern, "/sms/{}/batches")) {
        keys[0] = "slotID";
    }
    for (int i = 0; keys[i]; i++) {
        json_t *v = json_object_get(c->body, keys[i]);
        if (v && !json_is_null(v)) return 1;
    }
    return 0;
}

/* The rest of a customer's call, as the SMS user except where the service acts: receivers
 * slots (the service's: receivers.c keys a user's own slots by the /users/{login}/ path),
 * and a campaign by a user without an active quota (send.c refuses templated sends made as
 * a user: their fan-out does not take a quota; with one, the user's 400 is what it gets). */
static void customer_go(api_call *c, int quota_active) {
    if (!strncmp(c->route->pattern, "/sms/{}/receivers", 17) ||
        (templated_send(c) && !quota_active)) {
        c->user_id = 0;
        c->user_login[0] = 0;
    }
    api__proceed(c);
}

static void on_call_user(int rc, void *arg) {
    user_check *q = arg;
    api_call *c = q->c;
    int64_t now = sg_now_ms();
    console_session *s = console_session_get(sessions(c->api), q->sid, strlen(q->sid), now);
    int gone = !s || rc == SG_ENOTFOUND ||
               (!rc && password_tag(q->r.user.password_hash) != s->pw_tag);
    int active = q->r.user.quota_active;
    store_user_fini(&q->r.user);
    free(q);
    if (gone) {
        console_session_remove(sessions(c->api), s);
        api_reply_error(c, 401, NULL, "Your console session has ended: please log in again");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This SMS user");
        return;
    }
    s->checked_ms = now;
    customer_go(c, active);
}

void api__console_authorize(api_call *c, const char *id, size_t n) {
    console_session *s = console_session_get(sessions(c->api), id, n, sg_now_ms());
    if (!s) {
        api_reply_error(c, 401, NULL, "Your console session has ended: please log in again");
        return;
    }
    const char *m = c->req->method;
    if (strcmp(m, "GET") && strcmp(m, "HEAD") &&
        !console_csrf_ok(s, http_req_header(c->req, CONSOLE_CSRF_HEADER))) {
        api_reply_error(c, 403, "CSRF", "Missing or wrong " CONSOLE_CSRF_HEADER " header");
        return;
    }
    /* idem.c scopes keys by credential: a session has none, so the console never sends one. */
    if (http_req_header(c->req, "Idempotency-Key")) {
        api_reply_error(c, 400, NULL, "Invalid header 'Idempotency-Key': not accepted with a "
                                      "console session");
        return;
    }
    if (s->kind == CONSOLE_OPERATOR) {
        if (!(c->route->flags & (API_ADMIN | API_SERVICE))) {
            api_reply_error(c, 403, "NOT_GRANTED_CALL", "This call has not been granted");
            return;
        }
        c->account_id = 0; /* any service: api.c then acts as its owner */
    } else {
        if (!customer_may(c, s)) {
            api_reply_error(c, 403, "NOT_GRANTED_CALL", "This call has not been granted");
            return;
        }
        c->account_id = s->account_id;
        c->user_id = s->user_id;
        memcpy(c->user_login, s->login, sizeof c->user_login);
        /* The user as stored now, when not read lately, and before a campaign (its quota). */
        if (templated_send(c) || sg_now_ms() - s->checked_ms >= USER_CHECK_MS) {
            user_check_start(c, s->id, s->service, on_call_user);
            return;
        }
        customer_go(c, 0); /* not a campaign: the quota does not matter */
        return;
    }
    api__proceed(c);
}

const api_route api_console_routes[] = {
    {"GET", "/console", API_NOAUTH, page},
    {"GET", "/console/session", API_NOAUTH, whoami},
    {"POST", "/console/session", API_NOAUTH | API_BODY, login},
    {"DELETE", "/console/session", API_NOAUTH, logout},
    {"GET", "/console/{}", API_NOAUTH, file},
    {NULL, NULL, 0, NULL},
};
