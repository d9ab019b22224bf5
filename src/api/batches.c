/*
 * batches.c - the batches API (spec/ovh-sms-api.md 5.7) and the statistics of a tag, on the
 * machinery of templated jobs (campaign/campaign.h, store_campaigns.h):
 *
 *   POST   /sms/{sn}/batches                  sms.BatchParams -> sms.Batch (after the commit)
 *   GET    /sms/{sn}/batches                  -> sms.Batch[] (objects)
 *   GET    /sms/{sn}/batches/{id}             -> sms.Batch
 *   PUT    /sms/{sn}/batches/{id}             {name} -> sms.Batch
 *   DELETE /sms/{sn}/batches/{id}             -> null (what is not sent yet is cancelled and
 *                                             refunded; the batch is forgotten, its SMS stay
 *                                             in the history)
 *   POST   /sms/{sn}/batches/{id}/cancel      -> sms.Batch (a deferred batch, nothing sent)
 *   GET    /sms/{sn}/batches/{id}/statistics  -> sms.BatchStatistics
 *   GET    /sms/{sn}/tags/{tag}/statistics    -> counts of the SMS carrying a tag, per state
 *                                             (smsgate's own; smsctl campaign status uses it)
 *
 * A batch is created whole, like a templated job: its answer comes after the commit of every
 * message (status INSERTED when deferred, else PENDING; COMPLETED once nothing waits any more;
 * FAILED when no receiver was valid; CANCELED). Its SMS carry its tag, if any, and a batch's
 * messages default to priority "low" (send.c explains why).
 */
#include "api/send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "core/sendfields.h"
#include "util/util.h"

#define NAME_MAX_LEN 255
#define BATCH_PRIORITY 2 /* low */

/* ---- sms.Batch ---- */

static int64_t pending_of(const store_campaign *k) {
    return k->states[MSG_SCHEDULED] + k->states[MSG_QUEUED] + k->states[MSG_SUBMITTING];
}

static const char *status_of(const store_campaign *k) {
    if (k->cancelled_ms) return "CANCELED";
    if (k->count == 0) return "FAILED";
    int64_t pending = pending_of(k);
    if (pending == 0) return "COMPLETED";
    if (k->states[MSG_SCHEDULED] == k->count) return "INSERTED";
    return "PENDING";
}

static json_t *batch_json(api_call *c, const store_campaign *k) {
    const char *status = status_of(k);
    int ended = !strcmp(status, "COMPLETED") || !strcmp(status, "FAILED") ||
                !strcmp(status, "CANCELED");
    int64_t finished = !ended ? 0 : k->cancelled_ms ? k->cancelled_ms
                                   : k->last_sent_ms ? k->last_sent_ms : k->created_ms;
    json_t *receivers = k->receivers_json ? json_loads(k->receivers_json, 0, NULL) : NULL;
    json_t *errors = k->errors_json ? json_loads(k->errors_json, 0, NULL) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(k->id));
    json_object_set_new(o, "accountID", json_integer(c->svc.svc.account_id));
    json_object_set_new(o, "name", json_string(k->name ? k->name : ""));
    json_object_set_new(o, "message", json_string(k->message ? k->message : ""));
    json_object_set_new(o, "from", k->sender_for_response || !k->sender ? json_null()
                                                                        : json_string(k->sender));
    json_object_set_new(o, "receivers", receivers ? receivers : json_null());
    json_object_set_new(o, "slotID", k->slot ? json_string(k->slot) : json_null());
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "totalRecords", json_integer(k->records));
    json_object_set_new(o, "processedRecords", json_integer(k->count + k->invalid));
    json_object_set_new(o, "estimatedCredits", api_credits_json(k->credits_estimated));
    json_object_set_new(o, "errors", errors ? errors : json_array());
    json_object_set_new(o, "createdAt", api_time_json(k->created_ms));
    json_object_set_new(o, "updatedAt", api_time_json(k->updated_ms));
    json_object_set_new(o, "startedAt", api_time_json(k->first_sent_ms));
    json_object_set_new(o, "finishedAt", api_time_json(finished));
    json_object_set_new(o, "sentAt", api_time_json(pending_of(k) ? 0 : k->last_sent_ms));
    /* smsgate extras. */
    json_object_set_new(o, "tag", k->tag ? json_string(k->tag) : json_null());
    json_object_set_new(o, "deferred", api_time_json(k->due_ms > k->created_ms ? k->due_ms : 0));
    return o;
}

static json_t *stats_json(const store_campaign *k) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(k->id));
    json_object_set_new(o, "estimatedCredits", api_credits_json(k->credits_estimated));
    json_object_set_new(o, "credits", api_credits_json(k->credits));
    json_object_set_new(o, "pending", json_integer(pending_of(k)));
    json_object_set_new(o, "sent",
                        json_integer(k->states[MSG_SUBMITTED] + k->states[MSG_ENROUTE]));
    json_object_set_new(o, "delivered", json_integer(k->states[MSG_DELIVERED]));
    json_object_set_new(o, "failed", json_integer(k->states[MSG_FAILED]));
    /* receivers refused because they opted out (STOP) of the service's marketing SMS */
    json_object_set_new(o, "stoplisted", json_integer(k->stoplisted));
    json_object_set_new(o, "cancelled", json_integer(k->states[MSG_CANCELLED]));
    return o;
}

/* ---- one batch ---- */

typedef struct batch_ctx {
    campaign_send_req r;
    store_campaign_req get;
    char *receivers_json, *slot_label;
    const char **to;
    int stats;
} batch_ctx;

static void batch_free(void *p) {
    batch_ctx *h = p;
    free(h->r.send.invalid_json);
    store_campaign_fini(&h->get.out);
    free(h->receivers_json);
    free(h->slot_label);
    free(h->to);
    free(h);
}

static batch_ctx *batch_start(api_call *c) {
    batch_ctx *h = api_call_state(c, sizeof *h, batch_free);
    h->get.service_id = c->svc.svc.id;
    return h;
}

static void on_batch(int rc, void *arg) {
    api_call *c = arg;
    batch_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The requested object (id = %.40s) does not exist",
                        h->get.id);
        return;
    }
    if (rc == SG_ECONFLICT) {
        api_reply_error(c, 409, NULL, "Only a deferred batch with nothing sent yet can be "
                                      "cancelled; delete it to cancel what is still pending");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This batch");
        return;
    }
    if (!strcmp(c->req->method, "DELETE")) {
        api_reply_json(c, NULL);
        return;
    }
    api_reply_json(c, h->stats ? stats_json(&h->get.out) : batch_json(c, &h->get.out));
}

static batch_ctx *batch_path(api_call *c) {
    batch_ctx *h = batch_start(c);
    h->get.id = c->req->segs[3];
    h->get.kind = "batch";
    return h;
}

static void batch_get(api_call *c) {
    batch_ctx *h = batch_path(c);
    store_campaign_get(c->api->st, &h->get, on_batch, c);
}

static void batch_statistics(api_call *c) {
    batch_ctx *h = batch_path(c);
    h->stats = 1;
    store_campaign_get(c->api->st, &h->get, on_batch, c);
}

static void batch_put(api_call *c) {
    const char *name;
    if (api_field_string(c, "name", 1, &name) < 0) return;
    if (strlen(name) > NAME_MAX_LEN) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': at most %d characters",
                        NAME_MAX_LEN);
        return;
    }
    batch_ctx *h = batch_path(c);
    h->get.name = name;
    store_campaign_rename(c->api->st, &h->get, on_batch, c);
}

static void batch_cancel(api_call *c) {
    batch_ctx *h = batch_path(c);
    store_campaign_cancel(c->api->st, &h->get, on_batch, c);
}

static void batch_delete(api_call *c) {
    batch_ctx *h = batch_path(c);
    h->get.remove = 1;
    store_campaign_cancel(c->api->st, &h->get, on_batch, c);
}

/* ---- POST /sms/{sn}/batches ---- */

/* sms.BatchParams read by the one parser of a send (send.h) under its own names; "name" and
 * "deferred" (an ISO-8601 date) are the batch's own. */
static const api_send_names batch_names = {
    .message = "message",
    .receivers = "to",
    .sender = "from",
    .sender_for_response = "senderForResponse",
    .no_stop = "noStop",
    .sms_class = "class",
    .tag = "tag",
    .slot = "slotID",
    .class_values = send_batch_classes,
    .receivers_max = SEND_BATCH_TO_MAX,
};

/* The batch's state while it is created: the send's way state (c->h is the send). */
static batch_ctx *post_ctx(api_call *c) { return ((api_send *)c->h)->way; }

/* The answer to a batch created: the batch as GET shows it (api_render_fn: with an
 * Idempotency-Key it runs on the store thread, h->get read in the same transaction). */
static json_t *created_render(api_call *c) {
    batch_ctx *h = post_ctx(c);
    return batch_json(c, &h->get.out);
}

static void on_created_get(int rc, void *arg) {
    api_call *c = arg;
    batch_ctx *h = post_ctx(c);
    if (rc) {
        api_reply_store_error(c, rc, "This batch");
        return;
    }
    api_reply_json(c, batch_json(c, &h->get.out));
}

static void on_created(int rc, void *arg) {
    api_call *c = arg;
    api_send *s = c->h;
    batch_ctx *h = post_ctx(c);
    if (api_idem_taken(c, rc)) return;
    api_send_templated_result(c, s, rc, &h->r, "batch");
    if (s->result.code) {
        api_send_reply_error(c, &s->result);
        return;
    }
    if (h->r.idem) { /* read back and rendered with the send */
        api_reply_rendered(c, created_render);
        return;
    }
    h->get.id = h->r.send.id;
    h->get.kind = "batch";
    store_campaign_get(c->api->st, &h->get, on_created_get, c);
}

static void batch_post(api_call *c) {
    api_send *s = api_send_parse(c, c->body, &batch_names);
    if (s->result.code) {
        api_send_reply_error(c, &s->result);
        return;
    }
    const char *name = NULL, *deferred = NULL;
    if (api_field_string(c, "name", 0, &name) < 0 ||
        api_field_string(c, "deferred", 0, &deferred) < 0)
        return;
    /* A batch names its sender: from, or senderForResponse (the short number). */
    json_t *from = json_object_get(c->body, "from");
    int have_from = json_is_string(from) && json_string_length(from) > 0;
    if (have_from == s->sender_for_response) {
        api_reply_error(c, 400, NULL, have_from ? "Give only one of 'from' and "
                                                  "'senderForResponse'"
                                                : "Missing parameter 'from' (or "
                                                  "'senderForResponse': true)");
        return;
    }
    int64_t now = sg_now_ms(), due = now;
    if (deferred && *deferred) {
        if (sg_time_parse(deferred, &due) != 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'deferred': an ISO-8601 "
                                          "date-time is expected");
            return;
        }
        if (due < now) due = now;
    }
    s->due_ms = due;
    if (!c->api->campaign) {
        api_reply_error(c, 503, NULL, "Batches are not available on this server");
        return;
    }
    batch_ctx *h = sg_xcalloc(1, sizeof *h);
    s->way = h;
    s->way_free = batch_free;
    h->get.service_id = c->svc.svc.id;
    if (s->receivers) {
        size_t n = json_array_size(s->receivers);
        h->to = sg_xcalloc(n, sizeof *h->to);
        for (size_t i = 0; i < n; i++) h->to[i] = json_string_value(json_array_get(s->receivers, i));
        h->receivers_json = json_dumps(s->receivers, JSON_COMPACT);
        h->r.load = 1;
        h->r.ld.service_id = c->svc.svc.id;
        h->r.ld.receivers = h->to;
        h->r.ld.nreceivers = n;
    } else {
        h->slot_label = sg_xasprintf("%lld", (long long)s->slot);
        h->r.send.slot = s->slot;
    }
    store_campaign_send_req *cs = &h->r.send;
    api_send_templated_init(c, s, cs);
    cs->kind = "batch";
    cs->name = name;
    cs->priority = BATCH_PRIORITY;
    cs->slot_label = h->slot_label;
    cs->receivers_json = h->receivers_json;
    /* With an Idempotency-Key the batch is read back in the send's transaction and its answer
     * stored with it (idem.c). */
    h->r.idem = api_idem_for(c, created_render);
    if (h->r.idem) {
        h->get.id = cs->id; /* filled in by the send, before the read */
        h->get.kind = "batch";
        store_idem_then_campaign_get(h->r.idem, &h->get);
    }
    int e = campaign_send(c->api->campaign, &h->r, on_created, c);
    if (e) on_created(e, c);
}

/* ---- GET /sms/{sn}/batches ---- */

typedef struct list_ctx {
    store_campaign_list_req req;
} list_ctx;

static void list_free(void *p) {
    list_ctx *h = p;
    store_campaign_list_fini(&h->req);
    free(h);
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    list_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->req.count; i++)
        json_array_append_new(arr, batch_json(c, &h->req.items[i]));
    api_reply_json(c, arr);
}

static void batch_list(api_call *c) {
    list_ctx *h = api_call_state(c, sizeof *h, list_free);
    h->req.service_id = c->svc.svc.id;
    h->req.kind = "batch";
    store_campaign_list(c->api->st, &h->req, on_list, c);
}

/* ---- GET /sms/{sn}/tags/{tag}/statistics ---- */

typedef struct tag_ctx {
    store_tag_stats_req req;
} tag_ctx;

static void on_tag(int rc, void *arg) {
    api_call *c = arg;
    tag_ctx *h = c->h;
    store_tag_stats_req *r = &h->req;
    if (rc) {
        api_reply_store_error(c, rc, "This tag");
        return;
    }
    json_t *states = json_object();
    for (int s = 0; s < MSG__COUNT; s++)
        json_object_set_new(states, receipt_state_name((msg_state)s), json_integer(r->states[s]));
    json_t *o = json_object();
    json_object_set_new(o, "tag", json_string(r->tag));
    json_object_set_new(o, "total", json_integer(r->total));
    json_object_set_new(o, "pending", json_integer(r->states[MSG_SCHEDULED] +
                                                   r->states[MSG_QUEUED] +
                                                   r->states[MSG_SUBMITTING]));
    json_object_set_new(o, "sent",
                        json_integer(r->states[MSG_SUBMITTED] + r->states[MSG_ENROUTE]));
    json_object_set_new(o, "delivered", json_integer(r->states[MSG_DELIVERED]));
    json_object_set_new(o, "failed", json_integer(r->states[MSG_FAILED]));
    json_object_set_new(o, "cancelled", json_integer(r->states[MSG_CANCELLED]));
    json_object_set_new(o, "credits", api_credits_json(r->credits));
    json_object_set_new(o, "states", states);
    json_object_set_new(o, "firstCreatedAt", api_time_json(r->first_ms));
    json_object_set_new(o, "lastCreatedAt", api_time_json(r->last_ms));
    api_reply_json(c, o);
}

static void tag_statistics(api_call *c) {
    tag_ctx *h = api_call_state(c, sizeof *h, free);
    h->req.service_id = c->svc.svc.id;
    h->req.tag = c->req->segs[3];
    store_tag_stats(c->api->st, &h->req, on_tag, c);
}

const api_route api_batch_routes[] = {
    {"POST", "/sms/{}/batches", API_SERVICE | API_BODY | API_IDEM, batch_post},
    {"GET", "/sms/{}/batches", API_SERVICE, batch_list},
    {"GET", "/sms/{}/batches/{}", API_SERVICE, batch_get},
    {"PUT", "/sms/{}/batches/{}", API_SERVICE | API_BODY, batch_put},
    {"DELETE", "/sms/{}/batches/{}", API_SERVICE, batch_delete},
    {"POST", "/sms/{}/batches/{}/cancel", API_SERVICE, batch_cancel},
    {"GET", "/sms/{}/batches/{}/statistics", API_SERVICE, batch_statistics},
    {"GET", "/sms/{}/tags/{}/statistics", API_SERVICE, tag_statistics},
    {NULL, NULL, 0, NULL},
};
