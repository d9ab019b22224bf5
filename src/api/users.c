/*
 * users.c - SMS users (OVH's sms.User; docs/users.md):
 *   GET|POST /sms/{sn}/users, GET|PUT|DELETE /sms/{sn}/users/{login},
 *   the check that starts every /sms/{sn}/users/{login}/... route (api_user_then; the user's
 *   jobs and outgoing are jobs.c's own operations run with c->user_id set),
 *   the authentication of a login and a password for http2sms and Kannel's sendsms
 *   (api_user_auth), and the operator's
 *   GET|POST /admin/services/{sn}/users, PUT|DELETE /admin/services/{sn}/users/{login}
 *   (smsctl user list|add|passwd|remove; docs/admin-api.md).
 *
 * Passwords. A password is stored only as auth/userpw.h's salted PBKDF2 hash. Hashing and
 * verifying take tens of milliseconds on purpose, so they run on one worker thread of this
 * file, never on the loop thread; a result comes back through an event made active from the
 * worker (libevent's pthreads locking is on in smsgated). One thread, because the machine's
 * cores serve the sends: a burst of logins waits in the worker's queue, and beyond
 * USERS_QUEUE_MAX waiting ones a login is refused with SG_ELIMIT rather than queued.
 *
 * Verified credentials. An application sending through http2sms gives its password with every
 * SMS; verifying each would cost a core per 25 SMS/s. So, once a password was verified, this
 * node keeps HMAC-SHA-256(process secret, user id, stored hash, password) for the user (a
 * table of USERS_CACHE slots, by user id); the same password with the same stored hash is then
 * accepted at the cost of one HMAC. A wrong password never matches it and always goes through
 * the worker, so the time of a refusal does not depend on the cache. A changed password
 * changes the stored hash (the entry no longer matches), and any change of a user raises the
 * cluster's configuration epoch, which empties the table (api_config_changed).
 *
 * Failures. A login (service and login as given) and an address (IPv6 by /64) that failed
 * user-auth-failures times within a minute are refused (SG_ELIMIT, HTTP 429 for the ways in)
 * until that minute is over, without anything verified; a success clears the login's count.
 * The counts live in a table of USERS_FAILS slots (a slot taken by another key forgets the
 * older one: bounded memory whatever an attacker sends).
 *
 * Invariants:
 *  1. A wrong login, a wrong password, an address outside ipRestrictions and an ambiguous
 *     login take the same path: the store's lookup by an index, then one verification on the
 *     worker (against the hash of nobody when there is no user), then the refusal.
 *  2. No answer carries a password or its hash: sms.User's "password" is always "".
 *  3. A user sees only its SMS: every user route restricts the store's reads with
 *     c->user_id (store_msg_req, store_outgoing_filter), so another user's SMS, or the
 *     service's own, is 404 there exactly like an SMS that does not exist.
 */
#include "api/api_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth/sign.h"
#include "auth/userpw.h"
#include "core/phone.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "api.users"
#define USERS_CACHE 1024   /* verified credentials kept, by user id */
#define USERS_FAILS 4096   /* failure counts kept */
#define USERS_QUEUE_MAX 256 /* hashes waiting for the worker before logins are refused */
#define FAIL_WINDOW_MS 60000

/* ---- the worker ---- */

typedef struct uw_job {
    struct uw_job *next;
    int hash;                      /* 1: hash password into stored; 0: verify it against stored */
    int iterations;
    char password[80];
    char stored[USERPW_HASH_MAX];  /* verify: in; hash: out ("" when it failed) */
    int ok;                        /* out (verify) */
    void (*done)(struct uw_job *j); /* on the loop thread */
    void *arg;
} uw_job;

typedef struct cred_slot {
    int64_t user_id;
    unsigned char mac[32];
} cred_slot;

typedef struct fail_slot {
    char key[170];
    int fails;
    int64_t first_ms;
} fail_slot;

struct api_users {
    api *a;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uw_job *in, *in_tail, *out, *out_tail; /* under mu */
    size_t queued;                          /* under mu */
    int stopping;                           /* under mu */
    struct event *done_ev;
    char nobody[USERPW_HASH_MAX];           /* the hash of no user (invariant 1) */
    unsigned char secret[32];
    cred_slot creds[USERS_CACHE];
    fail_slot fails[USERS_FAILS];
};

static void *worker_main(void *arg) {
    struct api_users *u = arg;
    pthread_mutex_lock(&u->mu);
    for (;;) {
        while (!u->in && !u->stopping) pthread_cond_wait(&u->cv, &u->mu);
        if (!u->in) break; /* stopping, and nothing left */
        uw_job *j = u->in;
        u->in = j->next;
        if (!u->in) u->in_tail = NULL;
        pthread_mutex_unlock(&u->mu);
        if (j->hash) {
            if (userpw_hash(j->password, j->iterations, j->stored)) j->stored[0] = '\0';
        } else {
            j->ok = userpw_verify(j->password, j->stored);
        }
        OPENSSL_cleanse(j->password, sizeof j->password);
        pthread_mutex_lock(&u->mu);
        j->next = NULL;
        if (u->out_tail) u->out_tail->next = j;
        else u->out = j;
        u->out_tail = j;
        event_active(u->done_ev, EV_READ, 1);
    }
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

static void on_worker_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct api_users *u = arg;
    pthread_mutex_lock(&u->mu);
    uw_job *list = u->out;
    u->out = u->out_tail = NULL;
    pthread_mutex_unlock(&u->mu);
    while (list) {
        uw_job *j = list;
        list = j->next;
        pthread_mutex_lock(&u->mu);
        u->queued--;
        pthread_mutex_unlock(&u->mu);
        j->done(j);
    }
}

/* Queues j for the worker: 0 (j->done will run on the loop thread), or SG_ELIMIT when too many
 * wait already, SG_EIO when the worker is not running. */
static int worker_queue(api *a, uw_job *j) {
    struct api_users *u = a->users;
    if (!u) return SG_EIO;
    pthread_mutex_lock(&u->mu);
    if (u->queued >= USERS_QUEUE_MAX) {
        pthread_mutex_unlock(&u->mu);
        return SG_ELIMIT;
    }
    u->queued++;
    j->next = NULL;
    if (u->in_tail) u->in_tail->next = j;
    else u->in = j;
    u->in_tail = j;
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
    return 0;
}

void api__users_start(api *a, struct event_base *base) {
    if (a->users) return;
    struct api_users *u = sg_xcalloc(1, sizeof *u);
    u->a = a;
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    u->done_ev = event_new(base, -1, 0, on_worker_done, u);
    sg_random(u->secret, sizeof u->secret);
    userpw_nobody((int)a->cfg->user_password_iterations, u->nobody);
    int err = pthread_create(&u->thread, NULL, worker_main, u);
    if (err) {
        sg_log_error(LOG, "Starting the SMS users' password thread failed (error %d); SMS "
                          "users cannot authenticate.", err);
        event_free(u->done_ev);
        free(u);
        return;
    }
    pthread_setname_np(u->thread, "sg-userpw");
    a->users = u;
}

void api__users_stop(api *a) {
    struct api_users *u = a->users;
    if (!u) return;
    pthread_mutex_lock(&u->mu);
    u->stopping = 1;
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
    pthread_join(u->thread, NULL);
    /* jobs finished but not delivered belong to calls that die with the process */
    while (u->out) {
        uw_job *j = u->out;
        u->out = j->next;
        j->done = NULL;
    }
    event_free(u->done_ev);
    pthread_mutex_destroy(&u->mu);
    pthread_cond_destroy(&u->cv);
    OPENSSL_cleanse(u->secret, sizeof u->secret);
    free(u);
    a->users = NULL;
}

void api__users_forget(api *a) {
    if (a->users) memset(a->users->creds, 0, sizeof a->users->creds);
}

/* ---- verified credentials and failures ---- */

static void cred_mac(struct api_users *u, int64_t user_id, const char *stored, const char *pw,
                     unsigned char out[32]) {
    char buf[USERPW_HASH_MAX + 128];
    int n = snprintf(buf, sizeof buf, "%lld\n%s\n%s", (long long)user_id, stored, pw);
    if (n < 0 || (size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    sg_hmac_sha256(u->secret, sizeof u->secret, buf, (size_t)n, out);
    OPENSSL_cleanse(buf, sizeof buf);
}

static fail_slot *fail_slot_of(struct api_users *u, const char *key, int create) {
    unsigned char h[32];
    sg_hmac_sha256(u->secret, sizeof u->secret, key, strlen(key), h);
    uint32_t i = ((uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2]) % USERS_FAILS;
    fail_slot *s = &u->fails[i];
    if (strcmp(s->key, key) != 0) {
        if (!create) return NULL;
        memset(s, 0, sizeof *s);
        snprintf(s->key, sizeof s->key, "%s", key);
    }
    return s;
}

/* 1 when key failed too often within the current window. */
static int fail_blocked(struct api_users *u, const char *key, int64_t now, int64_t limit) {
    fail_slot *s = fail_slot_of(u, key, 0);
    if (!s) return 0;
    if (now - s->first_ms >= FAIL_WINDOW_MS) return 0;
    return s->fails >= limit;
}

static void fail_count(struct api_users *u, const char *key, int64_t now) {
    fail_slot *s = fail_slot_of(u, key, 1);
    if (!s->fails || now - s->first_ms >= FAIL_WINDOW_MS) {
        s->fails = 0;
        s->first_ms = now;
    }
    s->fails++;
}

static void fail_clear(struct api_users *u, const char *key) {
    fail_slot *s = fail_slot_of(u, key, 0);
    if (s) memset(s, 0, sizeof *s);
}

/* ---- api_user_auth ---- */

typedef struct auth_ctx {
    api_call *c;
    void (*done)(api_call *c, int rc);
    store_user_req req;
    char service[96], login[64];
    char key_login[170], key_addr[96];
    int refuse;            /* the outcome is SG_EPERM whatever the password (invariant 1) */
    unsigned char mac[32]; /* the credential's HMAC (verified credentials), once known */
    uw_job job;
} auth_ctx;

static void auth_free(auth_ctx *x) {
    store_user_fini(&x->req.user);
    OPENSSL_cleanse(x, sizeof *x);
    free(x);
}

/* Ends an authentication: done runs with rc (from the loop; never inside api_user_auth). */
static void auth_end(auth_ctx *x, int rc) {
    api_call *c = x->c;
    void (*done)(api_call *, int) = x->done;
    auth_free(x);
    done(c, rc);
}

static void on_auth_service(int rc, void *arg) {
    auth_ctx *x = arg;
    api_call *c = x->c;
    /* a name that lives with the call: the record may be freed and read again by this name
     * (a send without a valid receiver does) */
    snprintf(c->user_service, sizeof c->user_service, "%s", x->service);
    c->svc.name = c->user_service;
    if (rc == SG_ENOTFOUND) rc = SG_EPERM; /* the service went away meanwhile */
    if (rc == 0) {
        c->account_id = c->svc.svc.account_id;
        c->user_id = x->req.user.id;
        snprintf(c->user_login, sizeof c->user_login, "%s", x->req.user.login);
    }
    auth_end(x, rc);
}

/* The password is the user's: forget the login's failures and load its service into c->svc. */
static void auth_accept(auth_ctx *x) {
    api_call *c = x->c;
    struct api_users *u = c->api->users;
    if (u) {
        fail_clear(u, x->key_login);
        cred_slot *s = &u->creds[(uint64_t)x->req.user.id % USERS_CACHE];
        s->user_id = x->req.user.id;
        memcpy(s->mac, x->mac, sizeof s->mac);
    }
    store_service_fini(&c->svc.svc);
    c->svc.account_id = 0;
    snprintf(x->service, sizeof x->service, "%s", x->req.user.service);
    c->svc.name = x->service;
    if (store_service_get(c->api->st, &c->svc, on_auth_service, x)) auth_end(x, SG_EIO);
}

static void auth_refuse(auth_ctx *x) {
    api_call *c = x->c;
    struct api_users *u = c->api->users;
    if (u) {
        int64_t now = sg_now_ms();
        fail_count(u, x->key_login, now);
        fail_count(u, x->key_addr, now);
    }
    sg_log_info(LOG, "SMS user authentication of '%s%s%s' from %s refused.", x->service,
                x->service[0] ? "/" : "", x->login, c->req->peer);
    auth_end(x, SG_EPERM);
}

static void on_verified(uw_job *j) {
    auth_ctx *x = j->arg;
    if (!j->done) return;
    if (!j->ok || x->refuse) auth_refuse(x);
    else auth_accept(x);
}

/* The user is found or not: verify (or match a verified credential), then load the service. */
static void on_auth_user(int rc, void *arg) {
    auth_ctx *x = arg;
    api_call *c = x->c;
    struct api_users *u = c->api->users;
    if (rc && rc != SG_ENOTFOUND && rc != SG_ECONFLICT) {
        auth_end(x, rc);
        return;
    }
    if (!u) {
        auth_end(x, SG_EIO);
        return;
    }
    const char *stored = u->nobody;
    if (rc == 0) {
        stored = x->req.user.password_hash;
        json_t *ips = json_loads(x->req.user.ip_restrictions ? x->req.user.ip_restrictions
                                                              : "[]", 0, NULL);
        if (!auth_ip_allowed(ips, c->req->peer)) x->refuse = 1;
        json_decref(ips);
        cred_mac(u, x->req.user.id, stored, x->job.password, x->mac);
    } else {
        x->refuse = 1;
    }
    if (!x->refuse) {
        cred_slot *s = &u->creds[(uint64_t)x->req.user.id % USERS_CACHE];
        if (s->user_id == x->req.user.id && CRYPTO_memcmp(s->mac, x->mac, sizeof x->mac) == 0) {
            auth_accept(x);
            return;
        }
    }
    snprintf(x->job.stored, sizeof x->job.stored, "%s", stored);
    x->job.arg = x;
    x->job.done = on_verified;
    if ((rc = worker_queue(c->api, &x->job))) auth_end(x, rc);
}

static void on_blocked(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    auth_end(arg, SG_ELIMIT);
}

void api_user_auth(api_call *c, const char *service_name, const char *login,
                   const char *password, void (*done)(api_call *c, int rc)) {
    auth_ctx *x = sg_xcalloc(1, sizeof *x);
    x->c = c;
    x->done = done;
    const char *slash = service_name ? NULL : (login ? strchr(login, '/') : NULL);
    if (slash) {
        snprintf(x->service, sizeof x->service, "%.*s", (int)(slash - login), login);
        login = slash + 1;
    } else if (service_name) {
        snprintf(x->service, sizeof x->service, "%s", service_name);
    }
    snprintf(x->login, sizeof x->login, "%s", login ? login : "");
    snprintf(x->job.password, sizeof x->job.password, "%s", password ? password : "");
    snprintf(x->key_login, sizeof x->key_login, "l:%s/%s", x->service, x->login);
    char addr[64];
    rl_addr_key(c->req->peer, addr, sizeof addr);
    snprintf(x->key_addr, sizeof x->key_addr, "a:%s", addr);
    struct api_users *u = c->api->users;
    int64_t now = sg_now_ms(), limit = c->api->cfg->user_auth_failures;
    if (u && (fail_blocked(u, x->key_login, now, limit) ||
              fail_blocked(u, x->key_addr, now, limit))) {
        sg_log_info(LOG, "SMS user authentication of '%s' from %s refused without a try: %lld "
                         "failures in the last minute.", x->login, c->req->peer,
                    (long long)limit);
        struct timeval tv = {0, 0};
        if (event_base_once(event_get_base(u->done_ev), -1, EV_TIMEOUT, on_blocked, x, &tv) == 0)
            return;
    }
    x->req.service = x->service[0] ? x->service : NULL;
    x->req.login = x->login;
    if (store_user_get(c->api->st, &x->req, on_auth_user, x) != 0) {
        struct timeval tv = {0, 0};
        if (u) event_base_once(event_get_base(u->done_ev), -1, EV_TIMEOUT, on_blocked, x, &tv);
    }
}

/* ---- sms.User ---- */

static json_t *user_json(const store_user *u) {
    json_t *o = json_object();
    json_object_set_new(o, "login", json_string(u->login));
    json_object_set_new(o, "password", json_string("")); /* invariant 2 */
    json_object_set_new(o, "callBack", u->callback ? json_string(u->callback) : json_null());
    json_object_set_new(o, "stopCallBack",
                        u->stop_callback ? json_string(u->stop_callback) : json_null());
    json_t *ips = json_loads(u->ip_restrictions ? u->ip_restrictions : "[]", 0, NULL);
    json_object_set_new(o, "ipRestrictions", json_is_array(ips) ? ips : json_array());
    if (ips && !json_is_array(ips)) json_decref(ips);
    json_object_set_new(o, "quotaInformations",
                        json_pack("{s:o, s:s}", "quotaLeft", api_credits_json(u->quota_left),
                                  "quotaStatus", u->quota_active ? "active" : "inactive"));
    json_object_set_new(o, "alertThresholdInformations",
                        json_pack("{s:s, s:s, s:I, s:s}", "alertEmail",
                                  u->alert_email ? u->alert_email : "", "alertNumber",
                                  u->alert_number ? u->alert_number : "", "alertThreshold",
                                  (json_int_t)u->alert_threshold, "support",
                                  u->alert_support ? u->alert_support : "mail"));
    return o;
}

typedef struct user_ctx {
    store_user_req req;
    store_user_update_req up;
    store_user_list_req list;
    api_handler_fn next;
    uw_job job;
    char *ips;          /* PUT: ipRestrictions as JSON text */
    char number[24];    /* PUT: alertNumber in E.164 */
    char hash[USERPW_HASH_MAX];
    int creating;       /* POST: the hash is for a new user (else PUT's new password) */
} user_ctx;

static void user_free(void *p) {
    user_ctx *h = p;
    store_user_fini(&h->req.user);
    store_user_list_fini(&h->list);
    free(h->ips);
    OPENSSL_cleanse(&h->job, sizeof h->job);
    free(h);
}

/* The login in the path: /sms/{sn}/users/{login}, /admin/services/{sn}/users/{login}. */
static const char *path_login(api_call *c) {
    return c->req->segs[(c->route->flags & API_ADMIN) ? 4 : 3];
}

static void reply_no_user(api_call *c, const char *login) {
    api_reply_error(c, 404, NULL, "The requested object (login = %.40s) does not exist", login);
}

/* Replies to a failed lookup of the user in the path (404 or the store's error); returns rc. */
static int user_failed(api_call *c, int rc) {
    if (rc == SG_ENOTFOUND) reply_no_user(c, path_login(c));
    else if (rc) api_reply_store_error(c, rc, "This SMS user");
    return rc;
}

/* ---- /sms/{sn}/users/{login}/...: the check ---- */

static void on_then(int rc, void *arg) {
    api_call *c = arg;
    user_ctx *h = c->h;
    if (user_failed(c, rc)) return;
    c->user_id = h->req.user.id;
    snprintf(c->user_login, sizeof c->user_login, "%s", h->req.user.login);
    api_handler_fn next = h->next;
    c->h_free(c->h); /* the next handler starts with a state of its own */
    c->h = NULL;
    c->h_free = NULL;
    next(c);
}

void api_user_then(api_call *c, api_handler_fn next) {
    user_ctx *h = api_call_state(c, sizeof *h, user_free);
    h->next = next;
    h->req.service_id = c->svc.svc.id;
    h->req.login = c->req->segs[3];
    store_user_get(c->api->st, &h->req, on_then, c);
}

/* ---- GET /sms/{sn}: the users' quotas (api_user_quotas) ---- */

typedef struct quotas_ctx {
    store_user_list_req list;
    void (*next)(api_call *c, int64_t users, int64_t held);
} quotas_ctx;

static void quotas_free(void *p) {
    quotas_ctx *h = p;
    store_user_list_fini(&h->list);
    free(h);
}

static void on_quotas(int rc, void *arg) {
    api_call *c = arg;
    quotas_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    int64_t users = 0, held = 0;
    for (size_t i = 0; i < h->list.count; i++) {
        if (!h->list.items[i].quota_active) continue;
        users++;
        held += h->list.items[i].quota_left;
    }
    void (*next)(api_call *, int64_t, int64_t) = h->next;
    c->h_free(c->h);
    c->h = NULL;
    c->h_free = NULL;
    next(c, users, held);
}

void api_user_quotas(api_call *c, void (*next)(api_call *c, int64_t users, int64_t held)) {
    quotas_ctx *h = api_call_state(c, sizeof *h, quotas_free);
    h->next = next;
    h->list.service_id = c->svc.svc.id;
    store_user_list(c->api->st, &h->list, on_quotas, c);
}

/* ---- GET /sms/{sn}/users ---- */

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    user_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    json_t *arr = json_array();
    int admin = (c->route->flags & API_ADMIN) != 0;
    for (size_t i = 0; i < h->list.count; i++) {
        if (!admin) {
            json_array_append_new(arr, json_string(h->list.items[i].login));
            continue;
        }
        json_t *o = user_json(&h->list.items[i]);
        json_object_del(o, "password");
        json_object_set_new(o, "createdAt", api_time_json(h->list.items[i].created_ms));
        json_array_append_new(arr, o);
    }
    api_reply_json(c, arr);
}

static void users_list(api_call *c) {
    user_ctx *h = api_call_state(c, sizeof *h, user_free);
    h->list.service_id = c->svc.svc.id;
    store_user_list(c->api->st, &h->list, on_list, c);
}

/* ---- POST /sms/{sn}/users {login, password} ---- */

static void on_created(int rc, void *arg) {
    api_call *c = arg;
    user_ctx *h = c->h;
    if (rc == SG_ECONFLICT) {
        api_reply_error(c, 409, NULL, "The SMS user '%s' already exists", h->req.login);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This SMS user");
        return;
    }
    sg_log_info(LOG, "SMS user '%s' of service '%s' created.", h->req.login, c->svc.svc.name);
    api_reply_json(c, (c->route->flags & API_ADMIN) ? user_json(&h->req.user) : NULL);
}

static void on_hashed(uw_job *j) {
    api_call *c = j->arg;
    if (!j->done) return;
    user_ctx *h = c->h;
    if (!j->stored[0]) {
        api_reply_error(c, 500, NULL, "Hashing the password failed");
        return;
    }
    snprintf(h->hash, sizeof h->hash, "%s", j->stored);
    if (h->creating) { /* POST: a new user */
        h->req.password_hash = h->hash;
        h->req.now_ms = sg_now_ms();
        store_user_create(c->api->st, &h->req, on_created, c);
    } else { /* PUT: continue the update */
        h->up.set_password = 1;
        h->up.password_hash = h->hash;
        h->next(c);
    }
}

/* Queues the hash of password for the call; on_hashed continues. 0, or -1 after replying. */
static int hash_password(api_call *c, user_ctx *h, const char *password) {
    char err[96];
    if (userpw_password_ok(password, err, sizeof err)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'password': %s", err);
        return -1;
    }
    snprintf(h->job.password, sizeof h->job.password, "%s", password);
    h->job.hash = 1;
    h->job.iterations = (int)c->api->cfg->user_password_iterations;
    h->job.arg = c;
    h->job.done = on_hashed;
    int rc = worker_queue(c->api, &h->job);
    if (rc) {
        api_reply_store_error(c, rc == SG_ELIMIT ? SG_ELIMIT : SG_EIO, "This password");
        return -1;
    }
    return 0;
}

static void users_create(api_call *c) {
    user_ctx *h = api_call_state(c, sizeof *h, user_free);
    const char *login, *password;
    if (api_field_string(c, "login", 1, &login) < 0) return;
    if (api_field_string(c, "password", 1, &password) < 0) return;
    char err[96];
    if (userpw_login_ok(login, err, sizeof err)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'login': %s", err);
        return;
    }
    h->req.service_id = c->svc.svc.id;
    h->req.login = login;
    h->creating = 1;
    hash_password(c, h, password);
}

/* ---- GET and DELETE /sms/{sn}/users/{login} ---- */

static void on_get(int rc, void *arg) {
    api_call *c = arg;
    user_ctx *h = c->h;
    if (user_failed(c, rc)) return;
    api_reply_json(c, user_json(&h->req.user));
}

static void user_get(api_call *c) {
    user_ctx *h = api_call_state(c, sizeof *h, user_free);
    h->req.service_id = c->svc.svc.id;
    h->req.login = path_login(c);
    store_user_get(c->api->st, &h->req, on_get, c);
}

static void on_deleted(int rc, void *arg) {
    api_call *c = arg;
    if (user_failed(c, rc)) return;
    sg_log_info(LOG, "SMS user '%s' of service '%s' deleted.", path_login(c),
                c->svc.svc.name);
    api_reply_json(c, NULL);
}

static void user_delete(api_call *c) {
    user_ctx *h = api_call_state(c, sizeof *h, user_free);
    h->req.service_id = c->svc.svc.id;
    h->req.login = path_login(c);
    store_user_delete(c->api->st, &h->req, on_deleted, c);
}

/* ---- PUT /sms/{sn}/users/{login}: a partial sms.User ---- */

static void on_updated(int rc, void *arg) {
    api_call *c = arg;
    if (user_failed(c, rc)) return;
    api_reply_json(c, NULL);
}

static void put_store(api_call *c) {
    user_ctx *h = c->h;
    store_user_update(c->api->st, &h->up, on_updated, c);
}

/* A URL field (callBack, stopCallBack): 0 and *set when given (NULL clears), -1 after 400. */
static int url_field(api_call *c, const char *name, int *set, const char **out) {
    json_t *v = json_object_get(c->body, name);
    if (!v) return 0;
    *set = 1;
    if (json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
        *out = NULL;
        return 0;
    }
    if (api_field_string(c, name, 0, out) < 0) return -1;
    if (!api_url_valid(*out)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an http(s) URL is "
                                      "expected", name);
        return -1;
    }
    return 0;
}

static const char *const quota_statuses[] = {"active", "inactive", NULL};
static const char *const supports[] = {"both", "mail", "sms", NULL};

/* The alert settings merged over the current ones (read first): 0, or -1 after 400. */
static int alert_fields(api_call *c, user_ctx *h, json_t *o) {
    const store_user *u = &h->req.user;
    store_user_update_req *up = &h->up;
    up->set_alert = 1;
    up->alert_support = u->alert_support;
    up->alert_email = u->alert_email;
    up->alert_number = u->alert_number;
    up->alert_threshold = u->alert_threshold;
    json_t *v;
    if ((v = json_object_get(o, "support")) && !json_is_null(v)) {
        int k = -1;
        for (int i = 0; supports[i] && json_is_string(v); i++)
            if (!strcmp(json_string_value(v), supports[i])) k = i;
        if (k < 0) goto bad_support;
        up->alert_support = supports[k];
    }
    if ((v = json_object_get(o, "alertEmail")) && !json_is_null(v)) {
        if (!json_is_string(v) || (json_string_length(v) &&
                                   (!strchr(json_string_value(v), '@') ||
                                    json_string_length(v) > 254))) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                          "'alertThresholdInformations.alertEmail': an e-mail "
                                          "address is expected");
            return -1;
        }
        up->alert_email = json_string_value(v);
    }
    if ((v = json_object_get(o, "alertNumber")) && !json_is_null(v)) {
        phone_info pi;
        if (!json_is_string(v)) goto bad_number;
        if (json_string_length(v)) {
            if (phone_normalize(json_string_value(v), c->api->cfg->default_region, &pi) != 0)
                goto bad_number;
            snprintf(h->number, sizeof h->number, "%s", pi.e164);
            up->alert_number = h->number;
        } else {
            up->alert_number = "";
        }
    }
    if ((v = json_object_get(o, "alertThreshold")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000000) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                          "'alertThresholdInformations.alertThreshold': a whole "
                                          "number of credits, 0 or more, is expected");
            return -1;
        }
        up->alert_threshold = json_integer_value(v);
    }
    return 0;
bad_support:
    api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                  "'alertThresholdInformations.support': one of both, mail, sms "
                                  "is expected");
    return -1;
bad_number:
    api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                  "'alertThresholdInformations.alertNumber': a phone number is "
                                  "expected");
    return -1;
}

static int quota_fields(api_call *c, user_ctx *h, json_t *o) {
    json_t *v;
    if ((v = json_object_get(o, "quotaStatus")) && !json_is_null(v)) {
        int k = -1;
        for (int i = 0; quota_statuses[i] && json_is_string(v); i++)
            if (!strcmp(json_string_value(v), quota_statuses[i])) k = i;
        if (k < 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                          "'quotaInformations.quotaStatus': active or inactive "
                                          "is expected");
            return -1;
        }
        h->up.set_quota_status = 1;
        h->up.quota_active = k == 0;
    }
    if ((v = json_object_get(o, "quotaLeft")) && !json_is_null(v)) {
        double d = json_number_value(v);
        if (!json_is_number(v) || d < 0 || d > 1e12) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                          "'quotaInformations.quotaLeft': a number of credits, "
                                          "0 or more, is expected");
            return -1;
        }
        h->up.set_quota_left = 1;
        h->up.quota_left = (int64_t)(d * 1000.0 + 0.5);
    }
    return 0;
}

static void on_put_current(int rc, void *arg) {
    api_call *c = arg;
    user_ctx *h = c->h;
    if (user_failed(c, rc)) return;
    json_t *body = c->body;
    store_user_update_req *up = &h->up;
    up->service_id = c->svc.svc.id;
    up->login = path_login(c);
    json_t *v = json_object_get(body, "login");
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || strcmp(json_string_value(v), h->req.user.login) != 0)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'login': it cannot be "
                                      "changed (delete the user and create another)");
        return;
    }
    if (url_field(c, "callBack", &up->set_callback, &up->callback) < 0) return;
    if (url_field(c, "stopCallBack", &up->set_stop_callback, &up->stop_callback) < 0) return;
    if ((v = json_object_get(body, "ipRestrictions")) && !json_is_null(v)) {
        char err[160];
        if (!json_is_array(v) || auth_cidrs_validate(v, err, sizeof err)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'ipRestrictions': %s",
                            json_is_array(v) ? err : "an array of addresses or CIDR blocks "
                                                     "is expected");
            return;
        }
        h->ips = json_dumps(v, JSON_COMPACT);
        up->set_ips = 1;
        up->ip_restrictions = h->ips;
    }
    if ((v = json_object_get(body, "quotaInformations")) && !json_is_null(v)) {
        if (!json_is_object(v)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'quotaInformations': "
                                          "an object is expected");
            return;
        }
        if (quota_fields(c, h, v) < 0) return;
    }
    if ((v = json_object_get(body, "alertThresholdInformations")) && !json_is_null(v)) {
        if (!json_is_object(v)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                          "'alertThresholdInformations': an object is expected");
            return;
        }
        if (alert_fields(c, h, v) < 0) return;
    }
    v = json_object_get(body, "password");
    if (v && json_is_string(v) && json_string_length(v)) { /* "" (as GET shows it): unchanged */
        h->next = put_store;
        hash_password(c, h, json_string_value(v));
        return;
    }
    if (v && !json_is_null(v) && !json_is_string(v)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'password': a string is "
                                      "expected");
        return;
    }
    put_store(c);
}

static void user_put(api_call *c) {
    user_ctx *h = api_call_state(c, sizeof *h, user_free);
    h->req.service_id = c->svc.svc.id;
    h->req.login = path_login(c);
    store_user_get(c->api->st, &h->req, on_put_current, c);
}

/* ---- the operator's routes: /admin/services/{sn}/users[/{login}] ---- */

typedef struct admin_ctx {
    api_handler_fn next;
} admin_ctx;

static void on_admin_service(int rc, void *arg) {
    api_call *c = arg;
    admin_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The service '%.64s' does not exist", c->req->segs[2]);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_handler_fn next = h->next;
    c->h_free(c->h);
    c->h = NULL;
    c->h_free = NULL;
    next(c);
}

static void admin_then(api_call *c, api_handler_fn next) {
    admin_ctx *h = api_call_state(c, sizeof *h, free);
    h->next = next;
    c->svc.account_id = 0;
    c->svc.name = c->req->segs[2];
    store_service_get(c->api->st, &c->svc, on_admin_service, c);
}

static void admin_list(api_call *c) { admin_then(c, users_list); }
static void admin_create(api_call *c) { admin_then(c, users_create); }
static void admin_put(api_call *c) { admin_then(c, user_put); }
static void admin_delete(api_call *c) { admin_then(c, user_delete); }

const api_route api_user_routes[] = {
    {"GET", "/sms/{}/users", API_SERVICE | API_SVC_CACHE, users_list},
    {"POST", "/sms/{}/users", API_SERVICE | API_SVC_CACHE | API_BODY, users_create},
    {"GET", "/sms/{}/users/{}", API_SERVICE | API_SVC_CACHE, user_get},
    {"PUT", "/sms/{}/users/{}", API_SERVICE | API_SVC_CACHE | API_BODY, user_put},
    {"DELETE", "/sms/{}/users/{}", API_SERVICE | API_SVC_CACHE, user_delete},
    {"GET", "/admin/services/{}/users", API_ADMIN, admin_list},
    {"POST", "/admin/services/{}/users", API_ADMIN | API_BODY, admin_create},
    {"PUT", "/admin/services/{}/users/{}", API_ADMIN | API_BODY, admin_put},
    {"DELETE", "/admin/services/{}/users/{}", API_ADMIN, admin_delete},
    {NULL, NULL, 0, NULL},
};
