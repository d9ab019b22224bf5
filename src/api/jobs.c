/*
 * jobs.c - sending and tracking: POST/GET /sms/{sn}/jobs, GET/DELETE /sms/{sn}/jobs/{id},
 * GET /sms/{sn}/outgoing (+ filters), GET/DELETE /sms/{sn}/outgoing/{id}, POST /sms/estimate
 * (spec 5.2, 5.3, 5.9).
 *
 * POST .../jobs is the one parser and run of a send (send.h, send.c: every field checked, 400
 * naming the field; the sender; the STOP mention; parts; receivers normalised, one SMS per
 * distinct number; ONE store operation that checks the sender, prices, checks the balance,
 * debits and inserts every message in one transaction; the answer after that commit; with
 * receiversSlotId or receiversDocumentUrl, a templated send to a CSV's receivers), rendered
 * as OVH's sms.SmsSendingReport by api_send_reply.
 *
 * The same operations under /sms/{sn}/virtualNumbers/{number}/ (jobs and outgoing: POST, GET
 * list, GET one, DELETE) run these functions once vnum.c checked the number is the service's
 * (api_vnum_then sets c->vnum): a send comes from that number, lists and single SMS are those
 * sent from it (another SMS of the service is 404 there). The same again under
 * /sms/{sn}/users/{login}/ once users.c checked the user (api_user_then sets c->user_id): a
 * send is the user's (its quota, its callBack), lists and single SMS are the user's only.
 *
 * Ids: one SMS (one receiver) = one id. /jobs lists those still pending (scheduled, queued,
 * being submitted); /outgoing lists the others. /outgoing/{id} also answers for a pending SMS
 * (so a client may poll one URL from the start), /jobs/{id} only while it is pending.
 */
#include "api/send.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gsm.h"
#include "core/msgid.h"
#include "core/phone.h"
#include "core/receipt.h"
#include "core/sendfields.h"
#include "util/util.h"

static const char *const sender_types[] = {"alpha", "numeric", "shortcode", "virtual", NULL};

/* ---- POST /sms/{sn}/jobs: the one parser and run of a send (send.h) ---- */

static void jobs_post(api_call *c) {
    api_send *s = api_send_parse(c, c->body, NULL);
    api_send_run(c, s, api_send_reply);
}

/* ---- one SMS as sms.Job / sms.Outgoing ---- */

/* batch_id: the batch of an outgoing SMS ("" none). */
static json_t *msg_json(const store_msg *m, int outgoing, const char *batch_id) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "creationDatetime", api_time_json(m->created_ms));
    json_object_set_new(o, "message", json_string(m->message));
    json_object_set_new(o, "sender", json_string(m->sender));
    json_object_set_new(o, "receiver", json_string(m->receiver));
    json_object_set_new(o, "credits", api_credits_json(m->credits));
    json_object_set_new(o, "deliveryReceipt", json_integer(m->dlr));
    json_object_set_new(o, "ptt", json_integer(m->ptt));
    json_object_set_new(o, "differedDelivery", json_integer(m->differed_min));
    json_object_set_new(o, "messageLength", json_integer(m->length));
    json_object_set_new(o, "numberOfSms", json_integer(m->parts));
    json_object_set_new(o, "sentAt", api_time_json(m->sent_ms));
    json_object_set_new(o, "deliveredAt", api_time_json(m->delivered_ms));
    if (outgoing) {
        /* sms.Outgoing.tag cannot be null in OVH's schema: "" for an SMS sent without one. */
        json_object_set_new(o, "tag", json_string(m->tag ? m->tag : ""));
        json_object_set_new(o, "tariffCode", json_string(""));
        json_object_set_new(o, "batchID", batch_id[0] ? json_string(batch_id) : json_null());
        char mid[MSGID_LEN];
        json_object_set_new(o, "messageID", msgid_format(m->service_id, m->id, mid) == 0
                                                 ? json_string(mid) : json_null());
    }
    /* smsgate extras (unknown fields are harmless to OVH clients). */
    json_object_set_new(o, "status", json_string(receipt_state_name(m->state)));
    json_object_set_new(o, "priority", json_string(send_enum_name(send_priorities, m->priority)));
    json_object_set_new(o, "validityPeriod", json_integer(m->validity_min));
    return o;
}

typedef struct msg_ctx {
    store_msg_req req;
    int outgoing;
} msg_ctx;

static void msg_free(void *p) {
    msg_ctx *h = p;
    store_msg_fini(&h->req.msg);
    free(h);
}

static void on_msg_get(int rc, void *arg) {
    api_call *c = arg;
    msg_ctx *h = c->h;
    if (!rc && c->vnum[0] && strcmp(h->req.msg.sender, c->vnum) != 0)
        rc = SG_ENOTFOUND; /* not sent from it */
    if (api_reply_id_failed(c, rc, h->req.id, "This SMS")) return;
    json_t *o = msg_json(&h->req.msg, h->outgoing, h->req.batch_id);
    api_hours_field(c, o, &h->req.msg); /* marketing hours: when a held SMS leaves */
    api_reply_json(c, o);
}

static msg_ctx *msg_start(api_call *c) {
    int64_t id;
    if (api_path_id(c, c->req->nsegs - 1, &id) < 0) return NULL; /* the last segment */
    msg_ctx *h = api_call_state(c, sizeof *h, msg_free);
    h->req.service_id = c->svc.svc.id;
    h->req.user_id = c->user_id; /* a user's route: only its SMS (users.c) */
    h->req.id = id;
    return h;
}

static void job_get(api_call *c) {
    msg_ctx *h = msg_start(c);
    if (!h) return;
    h->req.pending_only = 1;
    store_msg_get(c->api->st, &h->req, on_msg_get, c);
}

static void outgoing_get(api_call *c) {
    msg_ctx *h = msg_start(c);
    if (!h) return;
    h->outgoing = 1;
    h->req.with_batch = 1;
    store_msg_get(c->api->st, &h->req, on_msg_get, c);
}

static void on_msg_void(int rc, void *arg) {
    api_call *c = arg;
    msg_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_no_id(c, h->req.id);
        return;
    }
    if (rc == SG_ECONFLICT) {
        api_reply_error(c, 409, NULL, h->outgoing
                                          ? "This SMS is still pending; cancel it with DELETE "
                                            "/sms/{serviceName}/jobs/{id}"
                                          : "This SMS is being handed to the operator and can no "
                                            "longer be cancelled");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This SMS");
        return;
    }
    api_reply_json(c, NULL);
}

/* Cancels (jobs) or deletes (outgoing) the SMS of h. */
static void msg_act(api_call *c, msg_ctx *h) {
    if (h->outgoing)
        store_msg_delete(c->api->st, &h->req, on_msg_void, c);
    else
        store_msg_cancel(c->api->st, &h->req, on_msg_void, c);
}

/* Under a virtual number: the SMS is looked at first, and acted on only when it was sent
 * from that number (a message's sender never changes). */
static void on_vnum_msg(int rc, void *arg) {
    api_call *c = arg;
    msg_ctx *h = c->h;
    if (!rc && strcmp(h->req.msg.sender, c->vnum) != 0) rc = SG_ENOTFOUND;
    if (rc) {
        on_msg_void(rc, arg);
        return;
    }
    store_msg_fini(&h->req.msg);
    memset(&h->req.msg, 0, sizeof h->req.msg);
    msg_act(c, h);
}

static void msg_remove(api_call *c, int outgoing) {
    msg_ctx *h = msg_start(c);
    if (!h) return;
    h->outgoing = outgoing;
    if (c->vnum[0])
        store_msg_get(c->api->st, &h->req, on_vnum_msg, c);
    else
        msg_act(c, h);
}

static void job_delete(api_call *c) { msg_remove(c, 0); }
static void outgoing_delete(api_call *c) { msg_remove(c, 1); }

/* ---- lists ---- */

typedef struct list_ctx {
    store_outgoing_filter f;
    char *receiver;
} list_ctx;

static void list_free(void *p) {
    list_ctx *h = p;
    free(h->f.ids);
    free(h->receiver);
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
    for (size_t i = 0; i < h->f.count; i++) json_array_append_new(arr, json_integer(h->f.ids[i]));
    api_reply_json(c, arr);
}

/* Reads an integer query filter; -1 when absent. Returns -1 after replying 400. */
static int int_param(api_call *c, const char *name, int64_t *out) {
    const char *v = http_req_param(c->req, name);
    *out = -1;
    if (!v) return 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an integer is expected",
                        name);
        return -1;
    }
    *out = x;
    return 0;
}

static void list(api_call *c, int pending) {
    list_ctx *h = api_call_state(c, sizeof *h, list_free);
    store_outgoing_filter *f = &h->f;
    f->service_id = c->svc.svc.id;
    f->user_id = c->user_id; /* a user's route: only its SMS (users.c) */
    f->pending = pending;
    f->tag = http_req_param(c->req, "tag");
    f->sender = http_req_param(c->req, "sender");
    const char *rcv = http_req_param(c->req, "receiver");
    if (rcv) {
        phone_info pi;
        char buf[64];
        snprintf(buf, sizeof buf, "%s", rcv);
        if (buf[0] == ' ') buf[0] = '+'; /* an unencoded '+' */
        h->receiver = sg_xstrdup(phone_normalize(buf, c->api->cfg->default_region, &pi) == 0
                                     ? pi.e164 : buf);
        f->receiver = h->receiver;
    }
    if (int_param(c, "ptt", &f->ptt) || int_param(c, "deliveryReceipt", &f->dlr) ||
        int_param(c, "differedDelivery", &f->differed) ||
        api_query_time(c, "creationDatetime.from", &f->from_ms) ||
        api_query_time(c, "creationDatetime.to", &f->to_ms))
        return;
    /* Dates are shown to the second: a bound given to the second includes that whole second,
     * so an SMS's own creationDatetime finds it. */
    if (f->to_ms && f->to_ms % 1000 == 0) f->to_ms += 999;
    /* batchID: the SMS of a batch (batches.c); messageID: one SMS (core/msgid.h). */
    f->batch_id = http_req_param(c->req, "batchID");
    int64_t unused_s, unused_m;
    if (f->batch_id && msgid_parse(f->batch_id, &unused_s, &unused_m) < 0) { /* not a uuid */
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'batchID': a uuid is "
                                      "expected");
        return;
    }
    const char *mid = http_req_param(c->req, "messageID");
    if (mid) {
        int64_t sid;
        int rc = msgid_parse(mid, &sid, &f->id);
        if (rc < 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'messageID': a uuid is "
                                          "expected");
            return;
        }
        if (rc > 0 || sid != f->service_id) { /* not an SMS of this service */
            api_reply_json(c, json_array());
            return;
        }
    }
    if (c->vnum[0]) {
        /* Those sent from the virtual number: a sender filter naming another finds none. */
        if (f->sender && !api_vnum_is(c, f->sender)) {
            api_reply_json(c, json_array());
            return;
        }
        f->sender = c->vnum;
    }
    store_outgoing_list(c->api->st, f, on_list, c);
}

static void jobs_list(api_call *c) { list(c, 1); }
static void outgoing_list(api_call *c) { list(c, 0); }

/* ---- POST /sms/estimate ---- */

static void estimate(api_call *c) {
    const char *message;
    int nostop, type;
    if (api_field_string(c, "message", 1, &message) < 0 ||
        api_field_bool(c, "noStopClause", 1, &nostop) < 0 ||
        api_field_enum(c, "senderType", 1, sender_types, &type) < 0)
        return;
    char *text = api_send_text(c->api->cfg, message, nostop);
    gsm_info gi;
    int rc = gsm_analyze(text, strlen(text), &gi);
    free(text);
    if (rc != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'message': not valid UTF-8");
        return;
    }
    api_reply_json(c, json_pack("{s:I, s:s, s:I, s:I}", "characters", (json_int_t)gi.units,
                                "charactersClass",
                                gi.coding == GSM_CODING_7BIT ? "7bits" : "unicode",
                                "maxCharactersPerPart", (json_int_t)gi.per_part, "parts",
                                (json_int_t)gi.parts));
}

/* ---- the same under /sms/{sn}/virtualNumbers/{number}/ (vnum.c checks the number) ---- */

static void vn_jobs_post(api_call *c) { api_vnum_then(c, jobs_post); }
static void vn_jobs_list(api_call *c) { api_vnum_then(c, jobs_list); }
static void vn_job_get(api_call *c) { api_vnum_then(c, job_get); }
static void vn_job_delete(api_call *c) { api_vnum_then(c, job_delete); }
static void vn_outgoing_list(api_call *c) { api_vnum_then(c, outgoing_list); }
static void vn_outgoing_get(api_call *c) { api_vnum_then(c, outgoing_get); }
static void vn_outgoing_delete(api_call *c) { api_vnum_then(c, outgoing_delete); }

/* ---- the same under /sms/{sn}/users/{login}/ (users.c checks the user) ---- */

static void user_jobs_post(api_call *c) { api_user_then(c, jobs_post); }
static void user_jobs_list(api_call *c) { api_user_then(c, jobs_list); }
static void user_job_get(api_call *c) { api_user_then(c, job_get); }
static void user_job_delete(api_call *c) { api_user_then(c, job_delete); }
static void user_outgoing_list(api_call *c) { api_user_then(c, outgoing_list); }
static void user_outgoing_get(api_call *c) { api_user_then(c, outgoing_get); }
static void user_outgoing_delete(api_call *c) { api_user_then(c, outgoing_delete); }

const api_route api_job_routes[] = {
    {"POST", "/sms/estimate", API_BODY, estimate},
    {"POST", "/sms/{}/jobs", API_SERVICE | API_BODY | API_SVC_CACHE | API_IDEM, jobs_post},
    {"GET", "/sms/{}/jobs", API_SERVICE, jobs_list},
    {"GET", "/sms/{}/jobs/{}", API_SERVICE, job_get},
    {"DELETE", "/sms/{}/jobs/{}", API_SERVICE, job_delete},
    {"GET", "/sms/{}/outgoing", API_SERVICE, outgoing_list},
    {"GET", "/sms/{}/outgoing/{}", API_SERVICE, outgoing_get},
    {"DELETE", "/sms/{}/outgoing/{}", API_SERVICE, outgoing_delete},
    {"POST", "/sms/{}/virtualNumbers/{}/jobs", API_SERVICE | API_BODY | API_SVC_CACHE | API_IDEM,
     vn_jobs_post},
    {"GET", "/sms/{}/virtualNumbers/{}/jobs", API_SERVICE, vn_jobs_list},
    {"GET", "/sms/{}/virtualNumbers/{}/jobs/{}", API_SERVICE, vn_job_get},
    {"DELETE", "/sms/{}/virtualNumbers/{}/jobs/{}", API_SERVICE, vn_job_delete},
    {"GET", "/sms/{}/virtualNumbers/{}/outgoing", API_SERVICE, vn_outgoing_list},
    {"GET", "/sms/{}/virtualNumbers/{}/outgoing/{}", API_SERVICE, vn_outgoing_get},
    {"DELETE", "/sms/{}/virtualNumbers/{}/outgoing/{}", API_SERVICE, vn_outgoing_delete},
    {"POST", "/sms/{}/users/{}/jobs", API_SERVICE | API_BODY | API_SVC_CACHE | API_IDEM,
     user_jobs_post},
    {"GET", "/sms/{}/users/{}/jobs", API_SERVICE, user_jobs_list},
    {"GET", "/sms/{}/users/{}/jobs/{}", API_SERVICE, user_job_get},
    {"DELETE", "/sms/{}/users/{}/jobs/{}", API_SERVICE, user_job_delete},
    {"GET", "/sms/{}/users/{}/outgoing", API_SERVICE, user_outgoing_list},
    {"GET", "/sms/{}/users/{}/outgoing/{}", API_SERVICE, user_outgoing_get},
    {"DELETE", "/sms/{}/users/{}/outgoing/{}", API_SERVICE, user_outgoing_delete},
    {NULL, NULL, 0, NULL},
};
