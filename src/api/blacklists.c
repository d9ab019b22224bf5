/*
 * blacklists.c - the numbers that opted out (STOP) of a service's marketing SMS
 * (spec/ovh-sms-api.md 5.8; docs/replies.md, "STOP and blacklists"):
 *
 *   GET    /sms/{sn}/blacklists[?number&batchID&smsOutgoingID]   -> string[] (numbers)
 *   GET    /sms/{sn}/blacklists/{number}                         -> sms.Blacklist
 *   DELETE /sms/{sn}/blacklists/{number}                         -> null
 *
 * and the operator's, under /admin (smsctl blacklist list|add|remove):
 *
 *   GET    /admin/services/{sn}/blacklists                 -> [sms.Blacklist + source...]
 *   POST   /admin/services/{sn}/blacklists   {"number"}    -> {"number","added"}
 *   DELETE /admin/services/{sn}/blacklists/{number}        -> null
 *
 * A number in a path or a filter may be written in any form a receiver may (national, 00,
 * '+'): it is normalised like a receiver (core/phone) and compared in E.164; one that is not
 * a phone number is looked up as written (and found nowhere). Rows are added by opt-outs
 * (store/sqlite_blacklist.c) and by the operator; the customer can read and remove them, as at
 * OVH, and removing one lets the service's marketing SMS reach the number again.
 */
#include "api/api_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone.h"
#include "util/util.h"

#define UUID_MAX 64

typedef struct bl_ctx {
    store_blacklist_req req;
    char number[PHONE_E164_MAX + 1];
    const char *given;
} bl_ctx;

static void bl_free(void *p) {
    bl_ctx *h = p;
    store_blacklist_req_fini(&h->req);
    free(h);
}

/* The E.164 form of s into h->number when it is a phone number, else s as it is. */
static const char *normalized(api_call *c, bl_ctx *h, const char *s) {
    phone_info pi;
    if (phone_normalize(s, c->api->cfg->default_region, &pi) == 0) {
        snprintf(h->number, sizeof h->number, "%s", pi.e164);
        return h->number;
    }
    return s;
}

static bl_ctx *start(api_call *c, int admin) {
    bl_ctx *h = api_call_state(c, sizeof *h, bl_free);
    if (admin) h->req.service_name = c->req->segs[2];
    else h->req.service_id = c->svc.svc.id;
    int seg = admin ? 4 : 3;
    if (c->req->nsegs > seg) {
        h->given = c->req->segs[seg];
        h->req.number = normalized(c, h, h->given);
    }
    return h;
}

static json_t *blacklist_json(const store_blacklist *b, int admin) {
    json_t *o = json_object();
    json_object_set_new(o, "number", json_string(b->number ? b->number : ""));
    json_object_set_new(o, "dateCreation", api_time_json(b->created_ms));
    json_object_set_new(o, "batchID", b->batch_id ? json_string(b->batch_id) : json_null());
    json_object_set_new(o, "smsOutgoingID",
                        b->sms_outgoing_id ? json_integer(b->sms_outgoing_id) : json_null());
    if (admin) {
        json_object_set_new(o, "incomingID",
                            b->incoming_id ? json_integer(b->incoming_id) : json_null());
        json_object_set_new(o, "source", json_string(b->source ? b->source : "stop"));
    }
    return o;
}

/* ---- GET .../blacklists ---- */

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    bl_ctx *h = c->h;
    int admin = (c->route->flags & API_ADMIN) != 0;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->req.count; i++)
        json_array_append_new(arr, admin ? blacklist_json(&h->req.items[i], 1)
                                         : json_string(h->req.items[i].number));
    api_reply_json(c, arr);
}

static void list(api_call *c, int admin) {
    bl_ctx *h = start(c, admin);
    const char *number = http_req_param(c->req, "number");
    const char *batch = http_req_param(c->req, "batchID");
    const char *outgoing = http_req_param(c->req, "smsOutgoingID");
    if (number) h->req.number = normalized(c, h, number);
    if (batch) {
        if (!*batch || strlen(batch) > UUID_MAX) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'batchID': a batch id "
                                          "(uuid) is expected");
            return;
        }
        h->req.batch_id = batch;
    }
    if (outgoing) {
        char *end;
        errno = 0;
        long long v = strtoll(outgoing, &end, 10);
        if (!*outgoing || *end || errno || v < 1) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'smsOutgoingID': a "
                                          "positive integer is expected");
            return;
        }
        h->req.sms_outgoing_id = v;
    }
    store_blacklist_list(c->api->st, &h->req, on_list, c);
}

static void blacklists_list(api_call *c) { list(c, 0); }
static void admin_list(api_call *c) { list(c, 1); }

/* ---- GET, DELETE .../blacklists/{number} ---- */

static void on_get(int rc, void *arg) {
    api_call *c = arg;
    bl_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The number '%.40s' is not in the blacklist", h->given);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This blacklist");
        return;
    }
    api_reply_json(c, blacklist_json(&h->req.items[0], 0));
}

static void blacklist_get(api_call *c) {
    bl_ctx *h = start(c, 0);
    store_blacklist_get(c->api->st, &h->req, on_get, c);
}

static void on_deleted(int rc, void *arg) {
    api_call *c = arg;
    bl_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        if (c->route->flags & API_ADMIN)
            api_reply_error(c, 404, NULL, "No such service, or the number '%.40s' is not in "
                                          "its blacklist", h->given);
        else
            api_reply_error(c, 404, NULL, "The number '%.40s' is not in the blacklist", h->given);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This blacklist");
        return;
    }
    api_reply_json(c, NULL);
}

static void blacklist_delete(api_call *c) {
    bl_ctx *h = start(c, 0);
    store_blacklist_delete(c->api->st, &h->req, on_deleted, c);
}

static void admin_delete(api_call *c) {
    bl_ctx *h = start(c, 1);
    store_blacklist_delete(c->api->st, &h->req, on_deleted, c);
}

/* ---- POST /admin/services/{sn}/blacklists ---- */

static void on_added(int rc, void *arg) {
    api_call *c = arg;
    bl_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No such service");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This blacklist");
        return;
    }
    api_reply_json(c, json_pack("{s:s, s:b}", "number", h->req.number, "added", h->req.added));
}

static void admin_add(api_call *c) {
    bl_ctx *h = start(c, 1);
    const char *number;
    if (api_field_string(c, "number", 1, &number) < 0) return;
    phone_info pi;
    if (phone_normalize(number, c->api->cfg->default_region, &pi) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'number': '%.40s' is not a "
                                      "phone number", number);
        return;
    }
    snprintf(h->number, sizeof h->number, "%s", pi.e164);
    h->req.number = h->number;
    h->req.now_ms = sg_now_ms();
    store_blacklist_add(c->api->st, &h->req, on_added, c);
}

const api_route api_blacklist_routes[] = {
    {"GET", "/sms/{}/blacklists", API_SERVICE | API_SVC_CACHE, blacklists_list},
    {"GET", "/sms/{}/blacklists/{}", API_SERVICE | API_SVC_CACHE, blacklist_get},
    {"DELETE", "/sms/{}/blacklists/{}", API_SERVICE | API_SVC_CACHE, blacklist_delete},
    {"GET", "/admin/services/{}/blacklists", API_ADMIN, admin_list},
    {"POST", "/admin/services/{}/blacklists", API_ADMIN | API_BODY, admin_add},
    {"DELETE", "/admin/services/{}/blacklists/{}", API_ADMIN, admin_delete},
    {NULL, NULL, 0, NULL},
};
