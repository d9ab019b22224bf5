/*
 * admin.c - the operator's API under /admin (docs/admin-api.md), used by smsctl.
 *
 * Every route needs the admin token (checked in api.c before any handler runs).
 */
#include "api/api_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* The largest adjustment, in credits, either way (exclusive): in millicredits it stays far
 * from int64's limit however many adjustments add up. */
#define ADMIN_MAX_CREDITS 1e12

/* The rules of the first consumer key of a new account. */
static const char account_rules[] =
    "[{\"method\":\"GET\",\"path\":\"/sms\"},{\"method\":\"GET\",\"path\":\"/sms/*\"},"
    "{\"method\":\"POST\",\"path\":\"/sms/*\"},{\"method\":\"PUT\",\"path\":\"/sms/*\"},"
    "{\"method\":\"DELETE\",\"path\":\"/sms/*\"},"
    "{\"method\":\"GET\",\"path\":\"/order/sms\"},{\"method\":\"GET\",\"path\":\"/order/sms/*\"},"
    "{\"method\":\"POST\",\"path\":\"/order/sms/*\"},"
    "{\"method\":\"GET\",\"path\":\"/me/document\"},"
    "{\"method\":\"GET\",\"path\":\"/me/document/*\"},"
    "{\"method\":\"POST\",\"path\":\"/me/document\"},"
    "{\"method\":\"DELETE\",\"path\":\"/me/document/*\"},"
    "{\"method\":\"GET\",\"path\":\"/auth/*\"},{\"method\":\"POST\",\"path\":\"/auth/*\"}]";

static void health(api_call *c) {
    api_reply_json(c, json_pack("{s:s, s:s}", "status", "ok", "version", SMSGATE_VERSION));
}

/* ---- accounts ---- */

static void account_free(void *p) {
    store_account_create_req *r = p;
    free(r->service_name);
    free(r->app_key);
    free(r->app_secret);
    free(r->consumer_key);
    free(r);
}

/* The answer to an account created (api_render_fn: also runs on the store thread). */
static json_t *account_render(api_call *c) {
    store_account_create_req *r = c->h;
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "account", r->name, "serviceName",
                     r->service_name, "applicationKey", r->app_key, "applicationSecret",
                     r->app_secret, "consumerKey", r->consumer_key);
}

static void on_account(int rc, void *arg) {
    api_call *c = arg;
    store_account_create_req *r = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ECONFLICT) {
        api_reply_error(c, 409, NULL, "An account named '%s' already exists", r->name);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This account");
        return;
    }
    api_reply_rendered(c, account_render);
}

static void account_create(api_call *c) {
    const char *name;
    double credits = 0;
    if (api_field_string(c, "name", 1, &name) < 0) return;
    size_t n = strlen(name);
    int ok = n >= 1 && n <= 32;
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
    if (!ok) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': 1 to 32 characters of "
                                      "a-z, 0-9 and '-'");
        return;
    }
    if (api_field_number(c, "credits", 0, &credits) < 0) return;
    if (!(credits >= 0 && credits < 1e12)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'credits': a number >= 0 is "
                                      "expected");
        return;
    }
    store_account_create_req *r = api_call_state(c, sizeof *r, account_free);
    r->name = name;
    r->credits = llround(credits * 1000.0);
    r->rules_json = account_rules;
    store_account_create_idem(c->api->st, r, api_idem_for(c, account_render), on_account, c);
}

typedef struct text_ctx {
    store_account_list_req list;
    store_ledger_req ledger;
    store_sender_history_req senders;
} text_ctx;

static void text_free(void *p) {
    text_ctx *h = p;
    free(h->list.json);
    free(h->ledger.json);
    free(h->senders.json);
    free(h);
}

static void on_text(int rc, void *arg) {
    api_call *c = arg;
    text_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    const char *text = h->list.json     ? h->list.json
                       : h->ledger.json ? h->ledger.json
                                        : h->senders.json;
    api_reply_json(c, json_loads(text, 0, NULL));
}

static void account_list(api_call *c) {
    text_ctx *h = api_call_state(c, sizeof *h, text_free);
    store_account_list(c->api->st, &h->list, on_text, c);
}

static void ledger(api_call *c) {
    text_ctx *h = api_call_state(c, sizeof *h, text_free);
    h->ledger.service_name = c->req->segs[2];
    store_ledger(c->api->st, &h->ledger, on_text, c);
}

/* Every sender of a service, deleted ones too, with its history: a sender refused, deleted
 * and declared again shows the earlier refusal in refusedBefore. */
static void senders(api_call *c) {
    text_ctx *h = api_call_state(c, sizeof *h, text_free);
    h->senders.service_name = c->req->segs[2];
    store_sender_history(c->api->st, &h->senders, on_text, c);
}

/* ---- credits ---- */

/* The answer to a credit adjustment (api_render_fn: also runs on the store thread). */
static json_t *credit_render(api_call *c) {
    store_credit_adjust_req *r = c->h;
    json_t *o = json_object();
    json_object_set_new(o, "creditsLeft", api_credits_json(r->balance));
    return o;
}

static void on_credit(int rc, void *arg) {
    api_call *c = arg;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ENOCREDIT) {
        api_reply_error(c, 400, NULL, "This adjustment would make the balance negative");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_reply_rendered(c, credit_render);
}

static void credit(api_call *c) {
    double amount;
    const char *reason = NULL;
    if (api_field_number(c, "credits", 1, &amount) < 0) return;
    if (api_field_string(c, "reason", 0, &reason) < 0) return;
    if (!(fabs(amount) < ADMIN_MAX_CREDITS)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'credits': %g is out of "
                                      "range; an adjustment must be less than %.0f credits "
                                      "either way", amount, ADMIN_MAX_CREDITS);
        return;
    }
    int64_t milli = llround(amount * 1000.0);
    if (milli == 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'credits': a non-zero number "
                                      "(at least 0.001 credit) is expected");
        return;
    }
    store_credit_adjust_req *r = api_call_state(c, sizeof *r, free);
    r->service_name = c->req->segs[2];
    r->amount = milli;
    r->kind = "adjustment";
    r->ref = reason ? reason : "smsctl";
    store_credit_adjust_idem(c->api->st, r, api_idem_for(c, credit_render), on_credit, c);
}

/* ---- senders and credentials ---- */

typedef struct sender_ctx {
    store_sender_req req;
} sender_ctx;

static void on_void(int rc, void *arg) {
    api_call *c = arg;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No such service, sender or consumer key");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This object");
        return;
    }
    api_reply_json(c, NULL);
}

static void sender_status(api_call *c) {
    static const char *const statuses[] = {"enable", "refused", "disable", NULL};
    int st;
    if (api_field_enum(c, "status", 1, statuses, &st) < 0) return;
    store_sender_req *r = api_call_state(c, sizeof *r, free);
    if (api_field_string(c, "comment", 0, &r->comment) < 0) return;
    r->service_name = c->req->segs[2];
    r->sender = c->req->segs[4];
    r->status = statuses[st];
    r->admin = 1;
    store_sender_update(c->api->st, r, on_void, c);
}

static void on_state(int rc, void *arg) {
    api_call *c = arg;
    store_credential_state_req *r = c->h;
    if (rc == 0 && r->expired) {
        /* OVH's status for something that expired (spec 3.2: 460, ResourceExpiredError). */
        api_reply_error(c, 460, NULL, "This credential request has expired: it was not "
                                      "validated within %lld s of its request",
                        (long long)c->api->cfg->consumer_key_pending_ttl_s);
        return;
    }
    on_void(rc, arg);
}

static void credential_state(api_call *c, const char *state) {
    store_credential_state_req *r = api_call_state(c, sizeof *r, free);
    r->consumer_key = c->req->segs[2];
    r->state = state;
    r->pending_before_ms = api_pending_before_ms(c->api);
    store_credential_state(c->api->st, r, on_state, c);
}

/* GET /admin/credentials/{ck}: the key's state as its owner would see it; a request past
 * consumer-key-pending-ttl-s shows "expired" even before the housekeeping deletes it. */
static void on_credential(int rc, void *arg) {
    api_call *c = arg;
    store_auth_lookup_req *a = &c->auth;
    if (rc) {
        api_reply_store_error(c, rc, "This consumer key");
        return;
    }
    if (!a->cred_found) {
        api_reply_error(c, 404, NULL, "This consumer key does not exist");
        return;
    }
    int64_t ttl = c->api->cfg->consumer_key_pending_ttl_s;
    const char *state = a->cred_state;
    int pending = !strcmp(state, "pendingValidation");
    if (pending && ttl > 0 && a->cred_created_ms < api_pending_before_ms(c->api))
        state = "expired";
    json_t *o = json_object();
    json_object_set_new(o, "consumerKey", json_string(a->consumer_key));
    json_object_set_new(o, "status", json_string(state));
    json_object_set_new(o, "creation", api_time_json(a->cred_created_ms));
    json_object_set_new(o, "expiration", api_time_json(a->cred_expires_ms));
    json_object_set_new(o, "validationDeadline",
                        pending && ttl > 0 ? api_time_json(a->cred_created_ms + ttl * 1000)
                                           : json_null());
    json_t *rules = json_loads(a->rules_json ? a->rules_json : "[]", 0, NULL);
    json_object_set_new(o, "rules", rules ? rules : json_array());
    api_reply_json(c, o);
}

static void credential_get(api_call *c) {
    c->auth.app_key = "";
    c->auth.consumer_key = c->req->segs[2];
    store_auth_lookup(c->api->st, &c->auth, on_credential, c);
}

static void credential_validate(api_call *c) { credential_state(c, "validated"); }
static void credential_refuse(api_call *c) { credential_state(c, "refused"); }

/* ---- rate limits per account ---- */

static void on_limit(int rc, void *arg) {
    api_call *c = arg;
    store_account_limit_req *r = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "This account does not exist");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This account");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "account", json_string(r->name));
    json_object_set_new(o, "rate", r->rate >= 0 ? json_integer(r->rate) : json_null());
    json_object_set_new(o, "burst", r->burst >= 0 ? json_integer(r->burst) : json_null());
    api_reply_json(c, o);
}

static void limit_get(api_call *c) {
    store_account_limit_req *r = api_call_state(c, sizeof *r, free);
    r->name = c->req->segs[2];
    store_account_limit(c->api->st, r, on_limit, c);
}

/* {"rate": n|null, "burst": n|null}: null (or absent) = the server's setting. */
static void limit_put(api_call *c) {
    store_account_limit_req *r = api_call_state(c, sizeof *r, free);
    r->name = c->req->segs[2];
    r->set = 1;
    int rc = api_field_int(c, "rate", 0, 0, 10000000, &r->rate);
    if (rc < 0) return;
    if (rc) r->rate = -1;
    rc = api_field_int(c, "burst", 0, 0, 10000000, &r->burst);
    if (rc < 0) return;
    if (rc) r->burst = -1;
    store_account_limit(c->api->st, r, on_limit, c);
}

const api_route api_admin_routes[] = {
    {"GET", "/admin/health", API_ADMIN, health},
    {"POST", "/admin/accounts", API_ADMIN | API_BODY | API_IDEM, account_create},
    {"GET", "/admin/accounts", API_ADMIN, account_list},
    {"GET", "/admin/services/{}/senders", API_ADMIN, senders},
    {"PUT", "/admin/services/{}/senders/{}", API_ADMIN | API_BODY, sender_status},
    {"POST", "/admin/services/{}/credits", API_ADMIN | API_BODY | API_IDEM, credit},
    {"GET", "/admin/services/{}/ledger", API_ADMIN, ledger},
    {"POST", "/admin/credentials/{}/validate", API_ADMIN, credential_validate},
    {"POST", "/admin/credentials/{}/refuse", API_ADMIN, credential_refuse},
    {"GET", "/admin/credentials/{}", API_ADMIN, credential_get},
    {"GET", "/admin/accounts/{}/limits", API_ADMIN, limit_get},
    {"PUT", "/admin/accounts/{}/limits", API_ADMIN | API_BODY, limit_put},
    {NULL, NULL, 0, NULL},
};
