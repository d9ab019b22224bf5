/*
 * incoming.c - the SMS received from mobiles (model sms.Incoming; docs/replies.md, "Incoming
 * messages"):
 *   GET    /sms/{sn}/incoming                 ids, newest first; filters creationDatetime.from,
 *                                             creationDatetime.to, sender, tag
 *   GET    /sms/{sn}/incoming/{id}            one sms.Incoming
 *   DELETE /sms/{sn}/incoming/{id}
 *   the same three under /sms/{sn}/virtualNumbers/{number}/incoming: only the messages sent to
 *   that virtual number; a number that is not the service's is 404.
 *
 * A message belongs to the service it was attributed to when it arrived (store_incoming.h):
 * its virtual number's, or the one whose SMS it answers. sms.Incoming has exactly id,
 * creationDatetime, credits (always 0: receiving is free), message, sender and tag (the tag of
 * the SMS it answers, "" when none), and nothing else.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone.h"
#include "core/vnum.h"
#include "util/util.h"

typedef struct incoming_ctx {
    store_incoming_list_req list;
    store_incoming_req one;
    char number[PHONE_E164_MAX]; /* the virtual number of the path, E.164 */
    char *sender;
} incoming_ctx;

static void ctx_free(void *p) {
    incoming_ctx *h = p;
    store_incoming_list_fini(&h->list);
    store_incoming_fini(&h->one.msg);
    free(h->sender);
    free(h);
}

/* The handler's state; with a virtual number in the path (segment 3), the number as stored.
 * NULL after replying 404 for a number that cannot be one. */
static incoming_ctx *start(api_call *c) {
    incoming_ctx *h = api_call_state(c, sizeof *h, ctx_free);
    int by_number = c->req->nsegs > 4 && !strcmp(c->req->segs[2], "virtualNumbers");
    if (by_number) {
        vnum_info vi;
        if (vnum_parse(c->req->segs[3], c->api->cfg->default_region, &vi) != 0) {
            api_reply_error(c, 404, NULL, "The requested object (number = %.32s) does not exist",
                            c->req->segs[3]);
            return NULL;
        }
        snprintf(h->number, sizeof h->number, "%s", vi.e164);
        h->list.virtual_number = h->one.virtual_number = h->number;
    }
    h->list.service_id = h->one.service_id = c->svc.svc.id;
    h->list.user_id = h->one.user_id = c->user_id; /* a user's route (users.c) */
    return h;
}

/* Replies 404 for a store SG_ENOTFOUND: the number, or the message id. */
static void not_found(api_call *c, int no_number, int64_t id) {
    if (no_number)
        api_reply_error(c, 404, NULL, "The requested object (number = %.32s) does not exist",
                        c->req->segs[3]);
    else
        api_reply_no_id(c, id);
}

static json_t *incoming_json(const store_incoming *m) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "creationDatetime", api_time_json(m->ts_ms));
    json_object_set_new(o, "credits", json_real(0));
    json_object_set_new(o, "message", json_string(m->text ? m->text : ""));
    json_object_set_new(o, "sender", json_string(m->sender ? m->sender : ""));
    json_object_set_new(o, "tag", json_string(m->tag ? m->tag : ""));
    return o;
}

/* ---- list ---- */

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    incoming_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        not_found(c, h->list.no_number, 0);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->list.count; i++)
        json_array_append_new(arr, json_integer(h->list.ids[i]));
    api_reply_json(c, arr);
}

static void incoming_list(api_call *c) {
    incoming_ctx *h = start(c);
    if (!h) return;
    store_incoming_list_req *f = &h->list;
    if (api_query_time(c, "creationDatetime.from", &f->from_ms) ||
        api_query_time(c, "creationDatetime.to", &f->to_ms))
        return;
    /* Dates are shown to the second: a bound given to the second includes that whole second. */
    if (f->to_ms && f->to_ms % 1000 == 0) f->to_ms += 999;
    f->tag = http_req_param(c->req, "tag");
    const char *snd = http_req_param(c->req, "sender");
    if (snd) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", snd);
        if (buf[0] == ' ') buf[0] = '+'; /* an unencoded '+' */
        phone_info pi;
        h->sender = sg_xstrdup(phone_normalize(buf, c->api->cfg->default_region, &pi) == 0
                                   ? pi.e164 : buf);
        f->sender = h->sender;
    }
    store_incoming_list(c->api->st, f, on_list, c);
}

/* ---- one ---- */

static void on_get(int rc, void *arg) {
    api_call *c = arg;
    incoming_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        not_found(c, h->one.no_number, h->one.id);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This incoming SMS");
        return;
    }
    api_reply_json(c, incoming_json(&h->one.msg));
}

static void on_delete(int rc, void *arg) {
    api_call *c = arg;
    incoming_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        not_found(c, h->one.no_number, h->one.id);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This incoming SMS");
        return;
    }
    api_reply_json(c, NULL);
}

static incoming_ctx *start_one(api_call *c) {
    int64_t id;
    int seg = c->req->nsegs - 1; /* the id is the last segment */
    if (api_path_id(c, seg, &id) < 0) return NULL;
    incoming_ctx *h = start(c);
    if (h) h->one.id = id;
    return h;
}

static void incoming_get(api_call *c) {
    incoming_ctx *h = start_one(c);
    if (h) store_incoming_get(c->api->st, &h->one, on_get, c);
}

static void incoming_delete(api_call *c) {
    incoming_ctx *h = start_one(c);
    if (h) store_incoming_delete(c->api->st, &h->one, on_delete, c);
}

/* /sms/{sn}/users/{login}/incoming...: the replies to the user's SMS (users.c checks it) */
static void user_incoming_list(api_call *c) { api_user_then(c, incoming_list); }
static void user_incoming_get(api_call *c) { api_user_then(c, incoming_get); }
static void user_incoming_delete(api_call *c) { api_user_then(c, incoming_delete); }

const api_route api_incoming_routes[] = {
    {"GET", "/sms/{}/incoming", API_SERVICE, incoming_list},
    {"GET", "/sms/{}/incoming/{}", API_SERVICE, incoming_get},
    {"DELETE", "/sms/{}/incoming/{}", API_SERVICE, incoming_delete},
    {"GET", "/sms/{}/virtualNumbers/{}/incoming", API_SERVICE, incoming_list},
    {"GET", "/sms/{}/virtualNumbers/{}/incoming/{}", API_SERVICE, incoming_get},
    {"DELETE", "/sms/{}/virtualNumbers/{}/incoming/{}", API_SERVICE, incoming_delete},
    {"GET", "/sms/{}/users/{}/incoming", API_SERVICE, user_incoming_list},
    {"GET", "/sms/{}/users/{}/incoming/{}", API_SERVICE, user_incoming_get},
    {"DELETE", "/sms/{}/users/{}/incoming/{}", API_SERVICE, user_incoming_delete},
    {NULL, NULL, 0, NULL},
};

/* ---- the operator's view (smsctl incoming list) ----
 * GET /admin/incoming                 every message, newest first
 *     ?service=SN                     that service's
 *     ?unattributed=1                 the unattributed ones
 *     ?partial=1                      multi-part messages still missing parts
 *     &limit=N                        at most N (default 100, at most 10000)
 * Rows: id, service (null when unattributed), virtualNumber, sender, receiver, message, tag,
 * replyToId, route, parts, creationDatetime; partial rows: id, sender, receiver, route,
 * reference, parts, received, firstAt, lastAt. */

typedef struct admin_ctx {
    store_incoming_list_req list;
    store_incoming_partial_req partial;
} admin_ctx;

static void admin_free(void *p) {
    admin_ctx *h = p;
    store_incoming_list_fini(&h->list);
    store_incoming_partial_fini(&h->partial);
    free(h);
}

static void on_admin_list(int rc, void *arg) {
    api_call *c = arg;
    admin_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The requested object (service = %.64s) does not exist",
                        h->list.service);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->list.count; i++) {
        const store_incoming *m = &h->list.rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(m->id));
        json_object_set_new(o, "service", m->service_id ? json_string(m->service) : json_null());
        json_object_set_new(o, "virtualNumber", m->virtual_number
                                                    ? json_string(m->virtual_number)
                                                    : json_null());
        json_object_set_new(o, "sender", json_string(m->sender));
        json_object_set_new(o, "receiver", json_string(m->receiver));
        json_object_set_new(o, "message", json_string(m->text));
        json_object_set_new(o, "tag", json_string(m->tag));
        json_object_set_new(o, "replyToId", m->reply_to_id ? json_integer(m->reply_to_id)
                                                           : json_null());
        json_object_set_new(o, "route", json_string(m->route));
        json_object_set_new(o, "parts", json_integer(m->parts));
        json_object_set_new(o, "creationDatetime", api_time_json(m->ts_ms));
        json_array_append_new(arr, o);
    }
    api_reply_json(c, arr);
}

static void on_admin_partial(int rc, void *arg) {
    api_call *c = arg;
    admin_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->partial.count; i++) {
        const store_incoming_part_msg *p = &h->partial.items[i];
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:o}", "id",
                           (json_int_t)p->id, "sender", p->sender, "receiver", p->receiver,
                           "route", p->route, "reference", p->ref, "parts", p->total,
                           "received", p->got, "firstAt", api_time_json(p->first_ms), "lastAt",
                           api_time_json(p->last_ms)));
    }
    api_reply_json(c, arr);
}

static void admin_list(api_call *c) {
    admin_ctx *h = api_call_state(c, sizeof *h, admin_free);
    const char *v = http_req_param(c->req, "limit");
    long long limit = 100;
    if (v) {
        char *end;
        limit = strtoll(v, &end, 10);
        if (!*v || *end || limit < 1 || limit > 10000) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'limit': an integer "
                                          "from 1 to 10000 is expected");
            return;
        }
    }
    const char *service = http_req_param(c->req, "service");
    const char *un = http_req_param(c->req, "unattributed");
    const char *partial = http_req_param(c->req, "partial");
    if (partial && !strcmp(partial, "1")) {
        h->partial.limit = (size_t)limit;
        store_incoming_partial(c->api->st, &h->partial, on_admin_partial, c);
        return;
    }
    h->list.with_rows = 1;
    h->list.limit = (size_t)limit;
    if (service && un && !strcmp(un, "1")) {
        api_reply_error(c, 400, NULL, "Give either 'service' or 'unattributed', not both");
        return;
    }
    if (service)
        h->list.service = service;
    else if (un && !strcmp(un, "1"))
        h->list.service_id = 0;
    else
        h->list.all = 1;
    store_incoming_list(c->api->st, &h->list, on_admin_list, c);
}

const api_route api_incoming_admin_routes[] = {
    {"GET", "/admin/incoming", API_ADMIN, admin_list},
    {NULL, NULL, 0, NULL},
};
