/*
 * ops.c - what a service's owner manages around sending (docs/api.md, "Service operations"):
 *
 *   GET  /sms/{sn}/serviceInfos                      services.Service
 *   PUT  /sms/{sn}/serviceInfos                      its renew settings (the rest is read-only)
 *   POST /sms/{sn}/transferCredits                   {credits, smsAccountTarget} -> null
 *   GET  /sms/{sn}/task[?status]                     task ids
 *   GET  /sms/{sn}/task/{taskId}                     sms.Task
 *   POST /sms/{sn}/receivers/{slotId}/clean          {freemium, priceOnly} -> clean report
 *   POST /sms/{sn}/users/{login}/receivers/{slotId}/clean    the same, for an SMS user
 *   GET  /sms/{sn}/exceptions?receiver=              sms.Exception[] (operator restrictions)
 *   GET  /sms/{sn}/sendersAvailableForValidation     sms.SenderAvailable[]
 *   /sms/{sn}/smpp/{allowedIPs,password,settings}    403: no SMPP access (below)
 *
 * Design. Each handler reads and checks its input, runs one store operation of the "ops" area
 * (store_ops.h) and renders the answer with exactly the fields of OVH's model.
 *
 * A transfer moves credits between two services of the caller's account in one transaction
 * (store sqlite_ops.c invariant 1): both ledgers or neither. A target outside the account is
 * answered as one that does not exist (404), like every service of another account.
 *
 * A clean runs at once, in one operation: the task it records is already done when the answer
 * leaves. The answer says how many rows went (invalidRemoved, blacklistedRemoved: smsgate's
 * extras to OVH's report), and the slot's counts (GET .../receivers/{slotId}: records) what is
 * left.
 * freemium cleans what a syntax check finds (rows refused when loaded: not a number, a
 * duplicate); without it the numbers of the service's blacklist go too. Cleaning costs no
 * credits here (totalCreditsRemoved 0): it needs no HLR lookup.
 *
 * SMPP. smsgate gives its customers no SMPP access of their own (its SMPP side is the
 * operator's routes), and every service says so (sms.Account.smpp false): the four smpp
 * operations answer 403 with OVH's error body, as OVH does for an account without the SMPP
 * option, after the body of PUT allowedIPs was checked against its model.
 *
 * exceptions lists the restrictions operators impose on a destination (sender rewritten,
 * receipts missing...): the routes smsgate drives have none it knows of, so a valid number
 * gets [] and an invalid one 400.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/phone.h"
#include "util/util.h"

/* ---- serviceInfos ---- */

typedef struct info_ctx {
    store_service_info_req req;
    char *sender; /* sendersAvailableForValidation */
    int referer;  /* -1 both */
} info_ctx;

static void info_free(void *p) {
    info_ctx *h = p;
    store_service_info_fini(&h->req);
    free(h->sender);
    free(h);
}

/* "YYYY-MM-DD" of ms (UTC). */
static json_t *date_json(int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[16];
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return json_string(buf);
}

/* The end of the current renewal period: the first monthly anniversary of the creation
 * after now (an SMS account is renewed month by month while it is used). */
static int64_t expiration_ms(int64_t created_ms, int64_t now_ms) {
    time_t t = (time_t)(created_ms / 1000);
    struct tm c;
    gmtime_r(&t, &c);
    for (int months = 1; months < 12 * 200; months++) {
        struct tm e = c;
        e.tm_mon += months;
        int64_t ms = (int64_t)timegm(&e) * 1000;
        if (ms > now_ms) return ms;
    }
    return now_ms;
}

static json_t *renew_json(const store_service_info_req *r) {
    json_t *o = json_object();
    json_object_set_new(o, "automatic", json_boolean(r->r_automatic));
    json_object_set_new(o, "deleteAtExpiration", json_boolean(r->r_delete));
    json_object_set_new(o, "forced", json_boolean(r->r_forced));
    json_object_set_new(o, "manualPayment",
                        r->r_manual < 0 ? json_null() : json_boolean(r->r_manual));
    json_object_set_new(o, "period", r->r_period ? json_integer(r->r_period) : json_null());
    return o;
}

static void on_info(int rc, void *arg) {
    api_call *c = arg;
    info_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    if (c->route->method[0] == 'P') {
        api_reply_json(c, NULL);
        return;
    }
    const store_service *s = &c->svc.svc;
    const char *acct = h->req.account_name ? h->req.account_name : "";
    json_t *o = json_object();
    json_object_set_new(o, "canDeleteAtExpiration", json_false());
    json_object_set_new(o, "contactAdmin", json_string(acct));
    json_object_set_new(o, "contactBilling", json_string(acct));
    json_object_set_new(o, "contactTech", json_string(acct));
    json_object_set_new(o, "creation", date_json(h->req.created_ms));
    json_object_set_new(o, "domain", json_string(s->name));
    json_object_set_new(o, "engagedUpTo", json_null());
    json_object_set_new(o, "expiration",
                        date_json(expiration_ms(h->req.created_ms, sg_now_ms())));
    json_object_set_new(o, "possibleRenewPeriod", json_pack("[i,i,i,i]", 1, 3, 6, 12));
    json_object_set_new(o, "renew", renew_json(&h->req));
    json_object_set_new(o, "renewalType",
                        json_string(h->req.r_automatic ? "automaticV2014" : "manual"));
    json_object_set_new(o, "serviceId", json_integer(s->id));
    json_object_set_new(o, "status", json_string(strcmp(s->status, "enable") == 0 ? "ok"
                                                                               : "expired"));
    api_reply_json(c, o);
}

static void info_get(api_call *c) {
    info_ctx *h = api_call_state(c, sizeof *h, info_free);
    h->req.service_id = c->svc.svc.id;
    store_service_info(c->api->st, &h->req, on_info, c);
}

/* A boolean member of renew: 0 absent (leaves *out), 1 set, -1 after replying 400. */
static int renew_bool(api_call *c, json_t *renew, const char *key, int nullable, int *out) {
    json_t *v = json_object_get(renew, key);
    if (!v) return 0;
    if (json_is_null(v) && nullable) {
        *out = -1;
        return 1;
    }
    if (!json_is_boolean(v)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'renew.%s': true or false "
                                      "is expected", key);
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

static void info_put(api_call *c) {
    info_ctx *h = api_call_state(c, sizeof *h, info_free);
    store_service_info_req *r = &h->req;
    r->service_id = c->svc.svc.id;
    r->set = 1;
    r->automatic = r->delete_at_expiration = r->forced = -1;
    r->manual_payment = -2;
    r->period = -1;
    /* Only renew is writable; the model's read-only fields are ignored (services.c's rule). */
    json_t *renew = json_object_get(c->body, "renew");
    if (renew && !json_is_null(renew)) {
        if (!json_is_object(renew)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'renew': an object "
                                          "(service.RenewType) is expected");
            return;
        }
        if (renew_bool(c, renew, "automatic", 0, &r->automatic) < 0 ||
            renew_bool(c, renew, "deleteAtExpiration", 0, &r->delete_at_expiration) < 0 ||
            renew_bool(c, renew, "forced", 0, &r->forced) < 0 ||
            renew_bool(c, renew, "manualPayment", 1, &r->manual_payment) < 0)
            return;
        if (r->delete_at_expiration == 1) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'renew.deleteAtExpiration':"
                                          " this service cannot be deleted at expiration "
                                          "(canDeleteAtExpiration is false)");
            return;
        }
        json_t *p = json_object_get(renew, "period");
        if (p && json_is_null(p)) {
            r->period = 0;
        } else if (p) {
            if (!json_is_integer(p) || (json_integer_value(p) != 1 && json_integer_value(p) != 3 &&
                                        json_integer_value(p) != 6 &&
                                        json_integer_value(p) != 12)) {
                api_reply_error(c, 400, NULL, "Invalid value for parameter 'renew.period': one "
                                              "of possibleRenewPeriod (1, 3, 6, 12) is expected");
                return;
            }
            r->period = json_integer_value(p);
        }
    }
    store_service_info(c->api->st, r, on_info, c);
}

/* ---- sendersAvailableForValidation ---- */

static void on_available(int rc, void *arg) {
    api_call *c = arg;
    info_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    /* The account's name (its nichandle), as a sender: its letters and digits, at most 11,
     * when that is a valid alphanumeric sender. No domain is attached to an account here. */
    json_t *arr = json_array();
    char name[12];
    size_t n = 0;
    for (const char *p = h->req.account_name ? h->req.account_name : ""; *p && n < 11; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            name[n++] = *p;
    name[n] = 0;
    const char *type;
    if (h->referer != 0 && n && api_sender_valid(name, &type) && !strcmp(type, "alpha"))
        json_array_append_new(arr, json_pack("{s:s, s:s}", "referer", "nichandle", "sender",
                                             name));
    api_reply_json(c, arr);
}

static void senders_available(api_call *c) {
    static const char *const referers[] = {"domain", "nichandle", NULL};
    info_ctx *h = api_call_state(c, sizeof *h, info_free);
    h->referer = -1;
    const char *ref = http_req_param(c->req, "referer");
    if (ref) {
        for (int i = 0; referers[i]; i++)
            if (!strcmp(ref, referers[i])) h->referer = i;
        if (h->referer < 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'referer': domain or "
                                          "nichandle is expected");
            return;
        }
    }
    h->req.service_id = c->svc.svc.id;
    store_service_info(c->api->st, &h->req, on_available, c);
}

/* ---- transferCredits ---- */

/* The answer of a transfer and of the other void POSTs with an Idempotency-Key (api_render_fn). */
static json_t *null_render(api_call *c) {
    (void)c;
    return json_null();
}

static void on_transfer(int rc, void *arg) {
    api_call *c = arg;
    store_credits_transfer_req *r = c->h;
    if (api_idem_taken(c, rc)) return;
    switch (rc) {
    case 0: api_reply_rendered(c, null_render); return;
    case SG_ENOTFOUND:
        api_reply_error(c, 404, NULL, "The SMS account '%s' does not exist in your account",
                        r->to);
        return;
    case SG_EINVAL:
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'smsAccountTarget': credits "
                                      "cannot be transferred to the same SMS account");
        return;
    default: api_reply_store_error(c, rc, "This transfer");
    }
}

static void transfer(api_call *c) {
    store_credits_transfer_req *r = api_call_state(c, sizeof *r, free);
    double credits;
    if (api_field_number(c, "credits", 1, &credits) < 0 ||
        api_field_string(c, "smsAccountTarget", 1, &r->to) < 0)
        return;
    /* Credits are kept in thousandths: more precision than that cannot be moved. */
    double milli = credits * 1000.0;
    if (!isfinite(credits) || credits <= 0 || milli > 1e15 ||
        fabs(milli - nearbyint(milli)) > 1e-6 * (fabs(milli) > 1 ? fabs(milli) : 1)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'credits': a positive number "
                                      "of credits with at most 3 decimals is expected");
        return;
    }
    r->amount = (int64_t)nearbyint(milli);
    r->account_id = c->account_id;
    r->service_id = c->svc.svc.id;
    r->from_name = c->svc.svc.name;
    /* With an Idempotency-Key a transfer retried after a lost answer moves the credits once. */
    store_credits_transfer_idem(c->api->st, r, api_idem_for(c, null_render), on_transfer, c);
}

/* ---- task ---- */

static void task_free(void *p) {
    store_task_fini(p);
    free(p);
}

static void on_task_list(int rc, void *arg) {
    api_call *c = arg;
    store_task_req *r = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < r->count; i++) json_array_append_new(arr, json_integer(r->ids[i]));
    api_reply_json(c, arr);
}

static void task_list(api_call *c) {
    static const char *const statuses[] = {"doing", "done", "error", "pause", "todo", NULL};
    store_task_req *r = api_call_state(c, sizeof *r, task_free);
    r->service_id = c->svc.svc.id;
    r->status = http_req_param(c->req, "status");
    if (r->status) {
        int ok = 0;
        for (int i = 0; statuses[i]; i++) ok |= !strcmp(r->status, statuses[i]);
        if (!ok) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'status': one of doing, "
                                          "done, error, pause, todo is expected");
            return;
        }
    }
    store_task_list(c->api->st, r, on_task_list, c);
}

static void on_task(int rc, void *arg) {
    api_call *c = arg;
    store_task_req *r = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The requested object (taskId = %lld) does not exist",
                        (long long)r->id);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This task");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "function", json_string(r->out.function));
    json_object_set_new(o, "status", json_string(r->out.status));
    json_object_set_new(o, "step", json_string(r->out.step));
    json_object_set_new(o, "taskId", json_integer(r->out.id));
    api_reply_json(c, o);
}

static void task_get(api_call *c) {
    store_task_req *r = api_call_state(c, sizeof *r, task_free);
    r->service_id = c->svc.svc.id;
    if (api_path_id(c, 3, &r->id) < 0) return;
    store_task_get(c->api->st, r, on_task, c);
}

/* ---- receivers/{slotId}/clean ---- */

/* The clean report (api_render_fn: also runs on the store thread). */
static json_t *clean_render(api_call *c) {
    store_receivers_clean_req *r = c->h;
    /* OVH's two fields, and what the clean removed (with priceOnly: would remove), as
     * smsgate's extras (unknown fields are harmless to OVH's clients). */
    return json_pack("{s:I, s:i, s:I, s:I}", "taskId", (json_int_t)r->task_id,
                     "totalCreditsRemoved", 0, "invalidRemoved", (json_int_t)r->invalid,
                     "blacklistedRemoved", (json_int_t)r->blacklisted);
}

static void on_clean(int rc, void *arg) {
    api_call *c = arg;
    store_receivers_clean_req *r = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The receivers slot %lld does not exist",
                        (long long)r->slot);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This receivers slot");
        return;
    }
    api_reply_rendered(c, clean_render);
}

void api_receivers_clean(api_call *c) {
    store_receivers_clean_req *r = api_call_state(c, sizeof *r, free);
    r->service_id = c->svc.svc.id;
    r->slot_owner = api_receivers_owner(c); /* the user's own slots on the user variant */
    /* /sms/{sn}/receivers/{slotId}/clean, or the user variant .../users/{login}/receivers/... */
    if (api_path_id(c, c->req->nsegs - 2, &r->slot) < 0) return;
    if (api_field_bool(c, "freemium", 1, &r->freemium) < 0 ||
        api_field_bool(c, "priceOnly", 1, &r->price_only) < 0)
        return;
    store_receivers_clean_idem(c->api->st, r, api_idem_for(c, clean_render), on_clean, c);
}

/* The user variant (I4): the user is checked to be the service's (404 otherwise), then the
 * same clean runs on the user's own slot (receivers.c api_receivers_owner); the blacklist
 * and the task are the service's. */
static void receivers_clean_user(api_call *c) { api_user_then(c, api_receivers_clean); }

/* ---- exceptions ---- */

static void exceptions(api_call *c) {
    const char *rcv = http_req_param(c->req, "receiver");
    if (!rcv || !*rcv) {
        api_reply_error(c, 400, NULL, "Missing parameter 'receiver'");
        return;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s", rcv);
    if (buf[0] == ' ') buf[0] = '+'; /* an unencoded '+' */
    phone_info pi;
    if (strlen(rcv) >= sizeof buf ||
        phone_normalize(buf, c->api->cfg->default_region, &pi) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receiver': a phone number "
                                      "is expected");
        return;
    }
    api_reply_json(c, json_array());
}

/* ---- smpp ---- */

static void no_smpp(api_call *c) {
    api_reply_error(c, 403, NULL, "The SMS account '%s' has no SMPP access: it sends through "
                                  "the API only", c->svc.svc.name);
}

static void smpp_ips_put(api_call *c) {
    static const char *const actions[] = {"add", "remove", NULL};
    int action;
    if (api_field_enum(c, "action", 1, actions, &action) < 0) return;
    json_t *ips = json_object_get(c->body, "ips");
    if (!ips || !json_is_array(ips)) {
        api_reply_error(c, 400, NULL, ips ? "Invalid value for parameter 'ips': an array of IP "
                                            "addresses is expected"
                                          : "Missing parameter 'ips'");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ips, i, v) {
        if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 64) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'ips': an array of IP "
                                          "addresses is expected");
            return;
        }
    }
    no_smpp(c);
}

/* ---- POST /admin/accounts/{name}/services (smsctl account add-service) ---- */

static void on_service_add(int rc, void *arg) {
    api_call *c = arg;
    store_service_add_req *r = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The account '%s' does not exist", r->account);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_reply_json(c, json_pack("{s:s, s:s}", "account", r->account, "serviceName",
                                r->service_name));
}

static void service_add(api_call *c) {
    store_service_add_req *r = api_call_state(c, sizeof *r, free);
    r->account = c->req->segs[2];
    double credits = 0;
    if (c->body && api_field_number(c, "credits", 0, &credits) < 0) return;
    if (!(credits >= 0 && credits < 1e12)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'credits': a number >= 0 is "
                                      "expected");
        return;
    }
    r->credits = llround(credits * 1000.0);
    store_service_add(c->api->st, r, on_service_add, c);
}

const api_route api_ops_routes[] = {
    {"POST", "/admin/accounts/{}/services", API_ADMIN, service_add},
    {"GET", "/sms/{}/serviceInfos", API_SERVICE | API_SVC_CACHE, info_get},
    {"PUT", "/sms/{}/serviceInfos", API_SERVICE | API_SVC_CACHE | API_BODY, info_put},
    {"POST", "/sms/{}/transferCredits", API_SERVICE | API_SVC_CACHE | API_BODY | API_IDEM,
     transfer},
    {"GET", "/sms/{}/task", API_SERVICE | API_SVC_CACHE, task_list},
    {"GET", "/sms/{}/task/{}", API_SERVICE | API_SVC_CACHE, task_get},
    {"POST", "/sms/{}/receivers/{}/clean", API_SERVICE | API_SVC_CACHE | API_BODY | API_IDEM,
     api_receivers_clean},
    {"POST", "/sms/{}/users/{}/receivers/{}/clean",
     API_SERVICE | API_SVC_CACHE | API_BODY | API_IDEM, receivers_clean_user},
    {"GET", "/sms/{}/exceptions", API_SERVICE | API_SVC_CACHE, exceptions},
    {"GET", "/sms/{}/sendersAvailableForValidation", API_SERVICE | API_SVC_CACHE,
     senders_available},
    {"GET", "/sms/{}/smpp/allowedIPs", API_SERVICE | API_SVC_CACHE, no_smpp},
    {"PUT", "/sms/{}/smpp/allowedIPs", API_SERVICE | API_SVC_CACHE | API_BODY, smpp_ips_put},
    {"POST", "/sms/{}/smpp/password", API_SERVICE | API_SVC_CACHE, no_smpp},
    {"GET", "/sms/{}/smpp/settings", API_SERVICE | API_SVC_CACHE, no_smpp},
    {NULL, NULL, 0, NULL},
};
