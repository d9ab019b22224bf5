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
} text_ctx;

static void text_free(void *p) {
    text_ctx *h = p;
    free(h->list.json);
    free(h->ledger.json);
    free(h);
}

static void on_text(int rc, void *arg) {
    api_call *c = arg;
    text_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    const char *text = h->list.json ? h->list.json : h->ledger.json;
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
    int64_t milli = llround(amount * 1000.0);
    if (!(fabs(amount) < 1e12) || milli == 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'credits': a non-zero number "
                                      "is expected");
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

static void credential_state(api_call *c, const char *state) {
    store_credential_state_req *r = api_call_state(c, sizeof *r, free);
    r->consumer_key = c->req->segs[2];
    r->state = state;
    store_credential_state(c->api->st, r, on_void, c);
}

static void credential_validate(api_call *c) { credential_state(c, "validated"); }
static void credential_refuse(api_call *c) { credential_state(c, "refused"); }

const api_route api_admin_routes[] = {
    {"GET", "/admin/health", API_ADMIN, health},
    {"POST", "/admin/accounts", API_ADMIN | API_BODY | API_IDEM, account_create},
    {"GET", "/admin/accounts", API_ADMIN, account_list},
    {"PUT", "/admin/services/{}/senders/{}", API_ADMIN | API_BODY, sender_status},
    {"POST", "/admin/services/{}/credits", API_ADMIN | API_BODY | API_IDEM, credit},
    {"GET", "/admin/services/{}/ledger", API_ADMIN, ledger},
    {"POST", "/admin/credentials/{}/validate", API_ADMIN, credential_validate},
    {"POST", "/admin/credentials/{}/refuse", API_ADMIN, credential_refuse},
    {NULL, NULL, 0, NULL},
};
