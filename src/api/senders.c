/*
 * senders.c - /sms/{sn}/senders (spec 5.4).
 *
 * Lifecycle: POST declares a sender as waitingValidation; an operator sets it to enable or
 * refused (with a comment) through the admin API (`smsctl sender approve|refuse`); enable and
 * disable then switch back and forth, by the customer (PUT) or the operator. Only `enable`
 * senders can send (checked in the same transaction as the send, store/sqlite.c be_submit).
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static const char *const statuses[] = {"enable", "disable", "refused", "waitingValidation", NULL};

typedef struct sender_ctx {
    store_sender_req req;
    store_sender_list_req list;
} sender_ctx;

static void sender_free(void *p) {
    sender_ctx *h = p;
    store_sender_fini(&h->req.out);
    for (size_t i = 0; i < h->list.count; i++) free(h->list.names[i]);
    free(h->list.names);
    free(h);
}

static sender_ctx *start(api_call *c) {
    sender_ctx *h = api_call_state(c, sizeof *h, sender_free);
    h->req.service_id = c->svc.svc.id;
    h->list.service_id = c->svc.svc.id;
    if (c->req->nsegs > 3) h->req.sender = c->req->segs[3];
    return h;
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    sender_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->list.count; i++)
        json_array_append_new(arr, json_string(h->list.names[i]));
    api_reply_json(c, arr);
}

static void senders_list(api_call *c) {
    sender_ctx *h = start(c);
    store_sender_list(c->api->st, &h->list, on_list, c);
}

/* The answer to a sender declared (api_render_fn: also runs on the store thread). */
static json_t *created_render(api_call *c) {
    sender_ctx *h = c->h;
    char *msg = sg_xasprintf("Sender '%s' declared; it is waiting for validation",
                             h->req.sender);
    json_t *s = json_string(msg);
    free(msg);
    return s;
}

static void on_created(int rc, void *arg) {
    api_call *c = arg;
    sender_ctx *h = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ECONFLICT) {
        api_reply_error(c, 409, NULL, "The sender '%s' already exists", h->req.sender);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This sender");
        return;
    }
    api_reply_rendered(c, created_render);
}

static void senders_post(api_call *c) {
    sender_ctx *h = start(c);
    const char *sender, *desc = NULL, *reason = NULL;
    if (api_field_string(c, "sender", 1, &sender) < 0) return;
    if (api_field_string(c, "description", 0, &desc) < 0) return;
    if (api_field_string(c, "reason", 0, &reason) < 0) return;
    if (!reason || !*reason) {
        api_reply_error(c, 400, NULL, "Please provide a reason");
        return;
    }
    const char *type;
    if (!api_sender_valid(sender, &type)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'sender': an alphanumeric "
                                      "sender has 1 to 11 letters, digits, spaces or . - _ & ' "
                                      "! and is not all digits; a numeric sender is a phone "
                                      "number");
        return;
    }
    h->req.sender = sender;
    h->req.description = desc;
    h->req.reason = reason;
    h->req.type = type;
    store_sender_create_idem(c->api->st, &h->req, api_idem_for(c, created_render), on_created, c);
}

static void on_get(int rc, void *arg) {
    api_call *c = arg;
    sender_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The sender '%s' does not exist", h->req.sender);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This sender");
        return;
    }
    store_sender *s = &h->req.out;
    json_t *o = json_object();
    json_object_set_new(o, "sender", json_string(s->sender));
    json_object_set_new(o, "description", json_string(s->description ? s->description : ""));
    json_object_set_new(o, "status", json_string(s->status));
    json_object_set_new(o, "comment", s->comment ? json_string(s->comment) : json_null());
    json_object_set_new(o, "referer", json_string(s->referer ? s->referer : "custom"));
    json_object_set_new(o, "type", s->type ? json_string(s->type) : json_null());
    json_object_set_new(o, "validationMedia", json_null());
    api_reply_json(c, o);
}

static void sender_get(api_call *c) {
    sender_ctx *h = start(c);
    store_sender_get(c->api->st, &h->req, on_get, c);
}

static void on_void(int rc, void *arg) {
    api_call *c = arg;
    sender_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The sender '%s' does not exist", h->req.sender);
        return;
    }
    if (rc == SG_EPERM) {
        api_reply_error(c, 403, NULL, "The sender '%s' must be validated by the operator first: "
                                      "only an enabled sender can be disabled, and a disabled "
                                      "one enabled", h->req.sender);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This sender");
        return;
    }
    api_reply_json(c, NULL);
}

static void sender_put(api_call *c) {
    sender_ctx *h = start(c);
    int st = -1;
    if (api_field_string(c, "description", 0, &h->req.description) < 0) return;
    if (api_field_enum(c, "status", 0, statuses, &st) < 0) return;
    if (st >= 0) h->req.status = statuses[st];
    store_sender_update(c->api->st, &h->req, on_void, c);
}

static void sender_delete(api_call *c) {
    sender_ctx *h = start(c);
    store_sender_delete(c->api->st, &h->req, on_void, c);
}

const api_route api_sender_routes[] = {
    {"GET", "/sms/{}/senders", API_SERVICE, senders_list},
    {"POST", "/sms/{}/senders", API_SERVICE | API_BODY | API_IDEM, senders_post},
    {"GET", "/sms/{}/senders/{}", API_SERVICE, sender_get},
    {"PUT", "/sms/{}/senders/{}", API_SERVICE | API_BODY, sender_put},
    {"DELETE", "/sms/{}/senders/{}", API_SERVICE, sender_delete},
    {NULL, NULL, 0, NULL},
};
