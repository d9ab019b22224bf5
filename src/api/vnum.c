/*
 * vnum.c - virtual numbers (docs/replies.md, "Virtual numbers"): the customer's
 *   GET /sms/virtualNumbers, GET /sms/virtualNumbers/{number}[/serviceInfos],
 *   GET /sms/{sn}/virtualNumbers, GET /sms/{sn}/virtualNumbers/{number},
 *   GET|POST|DELETE /sms/{sn}/virtualNumbers/{number}/chatAccess,
 * the check every /sms/{sn}/virtualNumbers/{number}/... route starts with (api_vnum_then; its
 * jobs and outgoing are jobs.c's own operations run with c->vnum set), and the operator's
 *   POST /admin/services/{sn}/numbers, GET /admin/numbers[?service=], GET|PUT|DELETE
 *   /admin/numbers/{number} (smsctl number add|list|remove|response; docs/admin-api.md).
 *
 * Forms of a number. The store keeps E.164 with '+' ("+33700000001"); the customer's API shows
 * OVH's form, the international number without '+' ("33700000001"), and takes any form in a
 * path (core/vnum.h: digits, +E.164, 00, national in default-region); the admin API shows and
 * takes E.164. countryCode is OVH's enum (be, ch, de, es, fr, uk): a number of another country
 * is refused when it is assigned.
 *
 * Invariants:
 *  1. A customer sees only the virtual numbers of its own services: another account's number,
 *     or another service's under /sms/{sn}/, is 404 exactly like a number that does not exist.
 *  2. Nothing is cached: each request reads the store, so a number added or removed on one
 *     node is seen at once by every node (the table's trigger also raises the configuration
 *     epoch, for whoever caches them in the future).
 *  3. chatAccess: no virtual number has OVH's web chat application here. GET and DELETE answer
 *     404 as for a number without a chat access, POST 403 (it cannot be created).
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vnum.h"
#include "util/util.h"

/* The 404 of a number that is not (visible as) a virtual number of the caller. */
static void reply_unknown(api_call *c, const char *number) {
    api_reply_error(c, 404, NULL, "The requested object (number = %.32s) does not exist", number);
}

/* The API's form of a stored number: digits and country (vnum.h); a number stored without a
 * known country (not through smsctl) shows its digits and a null countryCode. */
static void api_form(const char *e164, vnum_info *vi) {
    if (vnum_parse(e164, NULL, vi) == SG_EINVAL)
        snprintf(vi->digits, sizeof vi->digits, "%.19s", e164[0] == '+' ? e164 + 1 : e164);
}

static json_t *country_json(const vnum_info *vi) {
    return vi->country[0] ? json_string(vi->country) : json_null();
}

/* sms.VirtualNumber (and, with iam, sms.VirtualNumberGenericServiceWithIAM). */
static json_t *vnum_json(const char *e164, int iam) {
    vnum_info vi;
    api_form(e164, &vi);
    json_t *o = json_object();
    json_object_set_new(o, "number", json_string(vi.digits));
    json_object_set_new(o, "countryCode", country_json(&vi));
    if (iam) json_object_set_new(o, "iam", json_null());
    return o;
}

/* ---- the state of one lookup or list ---- */

typedef struct vn_ctx {
    store_vnum_req req;
    store_vnum_list_req list;
    vnum_info vi;
    api_handler_fn next;
    char *response; /* admin PUT: the merged smsResponse */
} vn_ctx;

static void vn_free(void *p) {
    vn_ctx *h = p;
    store_vnum_fini(&h->req.vnum);
    store_vnum_list_fini(&h->list);
    free(h->response);
    free(h);
}

/* Parses a number from the path for a lookup: 0, or -1 after replying 404. */
static int path_number(api_call *c, const char *seg, vn_ctx *h) {
    int rc = vnum_parse(seg, c->api->cfg->default_region, &h->vi);
    if (rc == SG_EINVAL) {
        reply_unknown(c, seg);
        return -1;
    }
    h->req.number = h->vi.e164; /* a country without virtual numbers: simply none found */
    return 0;
}

/* Replies to a failed lookup of the number in the path segment seg: 404 when the caller has
 * no such number, the store's error otherwise. Returns 0 when rc is 0 (nothing replied). */
static int lookup_failed(api_call *c, int rc, const char *seg) {
    if (rc == SG_ENOTFOUND) reply_unknown(c, seg);
    else if (rc) api_reply_store_error(c, rc, "This virtual number");
    return rc;
}

/* ---- /sms/{sn}/virtualNumbers/{number}/...: the check ---- */

static void on_then(int rc, void *arg) {
    api_call *c = arg;
    vn_ctx *h = c->h;
    if (lookup_failed(c, rc, c->req->segs[3])) return;
    snprintf(c->vnum, sizeof c->vnum, "%s", h->vi.e164);
    api_handler_fn next = h->next;
    c->h_free(c->h); /* the next handler starts with a state of its own */
    c->h = NULL;
    c->h_free = NULL;
    next(c);
}

void api_vnum_then(api_call *c, api_handler_fn next) {
    vn_ctx *h = api_call_state(c, sizeof *h, vn_free);
    h->next = next;
    if (path_number(c, c->req->segs[3], h) < 0) return;
    h->req.service_id = c->svc.svc.id;
    h->req.account_id = c->account_id;
    store_vnum_get(c->api->st, &h->req, on_then, c);
}

int api_vnum_match(const char *s, const char *vnum, const char *default_region) {
    char buf[40];
    snprintf(buf, sizeof buf, "%s", s);
    if (buf[0] == ' ') buf[0] = '+'; /* a '+' the client did not encode in a query */
    vnum_info vi;
    return vnum_parse(buf, default_region, &vi) != SG_EINVAL && strcmp(vi.e164, vnum) == 0;
}

int api_vnum_is(const api_call *c, const char *s) {
    return api_vnum_match(s, c->vnum, c->api->cfg->default_region);
}

/* ---- GET /sms/{sn}/virtualNumbers/{number} and chatAccess ---- */

static void show(api_call *c) { api_reply_json(c, vnum_json(c->vnum, 0)); }
static void service_get(api_call *c) { api_vnum_then(c, show); }

static void chat_none(api_call *c) {
    vnum_info vi;
    api_form(c->vnum, &vi);
    api_reply_error(c, 404, NULL, "The requested object (chatAccess of %s) does not exist",
                    vi.digits);
}

static void chat_refused(api_call *c) {
    api_reply_error(c, 403, NULL, "The web chat application is not available for virtual "
                                  "numbers on this server; read and answer messages with "
                                  "/sms/%s/virtualNumbers/{number}/incoming and /jobs",
                    c->svc.svc.name);
}

static void chat_get(api_call *c) { api_vnum_then(c, chat_none); }
static void chat_delete(api_call *c) { api_vnum_then(c, chat_none); }
static void chat_post(api_call *c) { api_vnum_then(c, chat_refused); }

/* ---- lists: GET /sms/virtualNumbers, GET /sms/{sn}/virtualNumbers ---- */

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    vn_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->list.count; i++) {
        vnum_info vi;
        api_form(h->list.items[i].number, &vi);
        json_array_append_new(arr, json_string(vi.digits));
    }
    api_reply_json(c, arr);
}

static void account_list(api_call *c) {
    vn_ctx *h = api_call_state(c, sizeof *h, vn_free);
    h->list.account_id = c->account_id;
    store_vnum_list(c->api->st, &h->list, on_list, c);
}

static void service_list(api_call *c) {
    vn_ctx *h = api_call_state(c, sizeof *h, vn_free);
    h->list.account_id = c->account_id;
    h->list.service = c->svc.svc.name;
    store_vnum_list(c->api->st, &h->list, on_list, c);
}

/* ---- GET /sms/virtualNumbers/{number}[/serviceInfos] ---- */

/* services.Service of a virtual number. The number is a service of its own at OVH, renewed
 * every month with the SMS account; here it lasts until the operator removes it, so it is
 * shown as renewed automatically, with its expiration the next monthly anniversary of its
 * creation. serviceId is the number itself (digits), unique and stable. */
static json_t *service_infos(const store_vnum *v) {
    vnum_info vi;
    api_form(v->number, &vi);
    int64_t day = 86400000, now = sg_now_ms();
    int64_t exp = v->created_ms + 30 * day;
    while (exp <= now) exp += 30 * day;
    char created[SG_TIME_ISO_LEN], expires[SG_TIME_ISO_LEN];
    sg_time_iso(v->created_ms, created);
    sg_time_iso(exp, expires);
    created[10] = expires[10] = '\0'; /* dates: YYYY-MM-DD */
    const char *who = v->account ? v->account : "";
    json_t *o = json_object();
    json_object_set_new(o, "canDeleteAtExpiration", json_false());
    json_object_set_new(o, "contactAdmin", json_string(who));
    json_object_set_new(o, "contactBilling", json_string(who));
    json_object_set_new(o, "contactTech", json_string(who));
    json_object_set_new(o, "creation", json_string(created));
    json_object_set_new(o, "domain", json_string(vi.digits));
    json_object_set_new(o, "engagedUpTo", json_null());
    json_object_set_new(o, "expiration", json_string(expires));
    json_object_set_new(o, "possibleRenewPeriod", json_pack("[i]", 1));
    json_object_set_new(o, "renew",
                        json_pack("{s:b, s:b, s:b, s:b, s:i}", "automatic", 1,
                                  "deleteAtExpiration", 0, "forced", 1, "manualPayment", 0,
                                  "period", 1));
    json_object_set_new(o, "renewalType", json_string("automaticForcedProduct"));
    json_object_set_new(o, "serviceId", json_integer(strtoll(vi.digits, NULL, 10)));
    json_object_set_new(o, "status", json_string("ok"));
    return o;
}

/* Looks up the caller's number of /sms/virtualNumbers/{number}/...; done runs with the
 * result, unless the path holds no phone number (then 404 is replied here). */
static void account_lookup(api_call *c, store_cb done) {
    vn_ctx *h = api_call_state(c, sizeof *h, vn_free);
    if (path_number(c, c->req->segs[2], h) < 0) return;
    h->req.account_id = c->account_id;
    store_vnum_get(c->api->st, &h->req, done, c);
}

static void on_account_get(int rc, void *arg) {
    api_call *c = arg;
    vn_ctx *h = c->h;
    if (lookup_failed(c, rc, c->req->segs[2])) return;
    if (c->req->nsegs == 4)
        api_reply_json(c, service_infos(&h->req.vnum));
    else
        api_reply_json(c, vnum_json(h->req.vnum.number, 1));
}

static void account_get(api_call *c) { account_lookup(c, on_account_get); }

static void on_infos_put(int rc, void *arg) {
    api_call *c = arg;
    if (lookup_failed(c, rc, c->req->segs[2])) return;
    api_reply_error(c, 403, NULL, "The renewal of a virtual number is managed by the operator "
                                  "of this server");
}

static void infos_put(api_call *c) { account_lookup(c, on_infos_put); }

/* ---- the admin API ---- */

static json_t *admin_json(const store_vnum *v) {
    vnum_info vi;
    api_form(v->number, &vi);
    json_t *o = json_object();
    json_object_set_new(o, "number", json_string(v->number));
    json_object_set_new(o, "service", json_string(v->service ? v->service : ""));
    json_object_set_new(o, "countryCode", country_json(&vi));
    json_object_set_new(o, "createdAt", api_time_json(v->created_ms));
    json_t *r = v->sms_response ? json_loads(v->sms_response, 0, NULL) : NULL;
    json_object_set_new(o, "smsResponse", r ? r : json_null());
    return o;
}

/* Parses a number given to the admin API (body or path): 0, or -1 after replying 400
 * (body) or 404 (path, not a number). */
static int admin_number(api_call *c, const char *s, int in_path, vn_ctx *h) {
    int rc = vnum_parse(s, c->api->cfg->default_region, &h->vi);
    if (rc == 0 || (rc == SG_EPERM && in_path)) {
        h->req.number = h->vi.e164;
        return 0;
    }
    if (in_path) {
        reply_unknown(c, s);
    } else if (rc == SG_EPERM) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'number': %s is not a number "
                                      "of a country with virtual numbers (%s)", h->vi.e164,
                        vnum_countries);
    } else {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'number': '%.32s' is not a "
                                      "valid phone number (write it as +33700000001)", s);
    }
    return -1;
}

static void on_admin_add(int rc, void *arg) {
    api_call *c = arg;
    vn_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The service '%.64s' does not exist", h->req.service);
        return;
    }
    if (rc == SG_ECONFLICT) {
        api_reply_error(c, 409, NULL, "The number %s already belongs to the service '%s'; "
                                      "remove it there first", h->vi.e164,
                        h->req.vnum.service ? h->req.vnum.service : "?");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This virtual number");
        return;
    }
    json_t *o = admin_json(&h->req.vnum);
    json_object_set_new(o, "created", json_boolean(h->req.created));
    api_reply_json(c, o);
}

static void admin_add(api_call *c) {
    vn_ctx *h = api_call_state(c, sizeof *h, vn_free);
    const char *number;
    if (api_field_string(c, "number", 1, &number) < 0) return;
    if (admin_number(c, number, 0, h) < 0) return;
    h->req.service = c->req->segs[2];
    h->req.now_ms = sg_now_ms();
    store_vnum_add(c->api->st, &h->req, on_admin_add, c);
}

static void on_admin_list(int rc, void *arg) {
    api_call *c = arg;
    vn_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The service '%.64s' does not exist", h->list.service);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->list.count; i++)
        json_array_append_new(arr, admin_json(&h->list.items[i]));
    api_reply_json(c, arr);
}

static void admin_list(api_call *c) {
    vn_ctx *h = api_call_state(c, sizeof *h, vn_free);
    h->list.service = http_req_param(c->req, "service");
    if (h->list.service && !*h->list.service) h->list.service = NULL;
    store_vnum_list(c->api->st, &h->list, on_admin_list, c);
}

static void on_admin_one(int rc, void *arg) {
    api_call *c = arg;
    vn_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The number %s is not a virtual number", h->vi.e164);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This virtual number");
        return;
    }
    api_reply_json(c, admin_json(&h->req.vnum));
}

static vn_ctx *admin_one(api_call *c) {
    vn_ctx *h = api_call_state(c, sizeof *h, vn_free);
    return admin_number(c, c->req->segs[2], 1, h) < 0 ? NULL : h;
}

static void admin_get(api_call *c) {
    vn_ctx *h = admin_one(c);
    if (h) store_vnum_get(c->api->st, &h->req, on_admin_one, c);
}

static void admin_remove(api_call *c) {
    vn_ctx *h = admin_one(c);
    if (h) store_vnum_remove(c->api->st, &h->req, on_admin_one, c);
}

/* PUT {"smsResponse": {...} | null}: the sms.Response of replies sent to this number (null:
 * the service's). An object is merged over the number's current one, as PUT /sms/{sn} does. */
static void on_admin_current(int rc, void *arg) {
    api_call *c = arg;
    vn_ctx *h = c->h;
    if (rc) {
        on_admin_one(rc, arg);
        return;
    }
    json_t *v = json_object_get(c->body, "smsResponse");
    if (!json_is_null(v)) {
        char *merged = api_sms_response_merge(c, "smsResponse", v, h->req.vnum.sms_response);
        if (!merged) return; /* replied: the call and h are gone */
        h->response = merged;
    }
    store_vnum_fini(&h->req.vnum);
    h->req.sms_response = h->response;
    store_vnum_response(c->api->st, &h->req, on_admin_one, c);
}

static void admin_put(api_call *c) {
    vn_ctx *h = admin_one(c);
    if (!h) return;
    if (!json_object_get(c->body, "smsResponse")) {
        api_reply_error(c, 400, NULL, "Missing parameter 'smsResponse'");
        return;
    }
    store_vnum_get(c->api->st, &h->req, on_admin_current, c);
}

const api_route api_vnum_routes[] = {
    {"GET", "/sms/virtualNumbers", 0, account_list},
    {"GET", "/sms/virtualNumbers/{}", 0, account_get},
    {"GET", "/sms/virtualNumbers/{}/serviceInfos", 0, account_get},
    {"PUT", "/sms/virtualNumbers/{}/serviceInfos", API_BODY, infos_put},
    {"GET", "/sms/{}/virtualNumbers", API_SERVICE | API_SVC_CACHE, service_list},
    {"GET", "/sms/{}/virtualNumbers/{}", API_SERVICE | API_SVC_CACHE, service_get},
    {"GET", "/sms/{}/virtualNumbers/{}/chatAccess", API_SERVICE | API_SVC_CACHE, chat_get},
    {"POST", "/sms/{}/virtualNumbers/{}/chatAccess", API_SERVICE | API_SVC_CACHE, chat_post},
    {"DELETE", "/sms/{}/virtualNumbers/{}/chatAccess", API_SERVICE | API_SVC_CACHE, chat_delete},
    {"POST", "/admin/services/{}/numbers", API_ADMIN | API_BODY, admin_add},
    {"GET", "/admin/numbers", API_ADMIN, admin_list},
    {"GET", "/admin/numbers/{}", API_ADMIN, admin_get},
    {"PUT", "/admin/numbers/{}", API_ADMIN | API_BODY, admin_put},
    {"DELETE", "/admin/numbers/{}", API_ADMIN, admin_remove},
    {NULL, NULL, 0, NULL},
};
