/*
 * jobs.c - sending and tracking: POST/GET /sms/{sn}/jobs, GET/DELETE /sms/{sn}/jobs/{id},
 * GET /sms/{sn}/outgoing (+ filters), GET/DELETE /sms/{sn}/outgoing/{id}, POST /sms/estimate
 * (spec 5.2, 5.3, 5.9).
 *
 * POST .../jobs, in order: read and check every field (400 naming the field); pick the sender
 * (an enabled sender of the service, or the service's short number for senderForResponse or
 * when none is given); append the STOP mention unless noStopClause; encode and count parts
 * (core/gsm); normalise each receiver (core/phone) into valid and invalid, keeping each valid
 * one's country; a number given again in another form is dropped (one SMS per distinct number,
 * listed once in validReceivers). Then ONE store operation checks the sender's status, prices every message
 * from the store's price table (store_credits.h), checks the balance, appends the debit to
 * the ledger and inserts every message, in one transaction; the client is
 * answered only after that commit. Invalid receivers are reported and never charged, and so
 * are, for an SMS with the STOP mention, the receivers on the service's blacklist (refused by
 * the store in the same transaction: store_submit_msg.stoplisted).
 * With receiversSlotId or receiversDocumentUrl instead of receivers, the common fields once
 * checked, api_campaign_job() (receivers.c) sends a templated message to a CSV's receivers.
 *
 * The same operations under /sms/{sn}/virtualNumbers/{number}/ (jobs and outgoing: POST, GET
 * list, GET one, DELETE) run these functions once vnum.c checked the number is the service's
 * (api_vnum_then sets c->vnum): a send comes from that number, lists and single SMS are those
 * sent from it (another SMS of the service is 404 there).
 *
 * Ids: one SMS (one receiver) = one id. /jobs lists those still pending (scheduled, queued,
 * being submitted); /outgoing lists the others. /outgoing/{id} also answers for a pending SMS
 * (so a client may poll one URL from the start), /jobs/{id} only while it is pending.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gsm.h"
#include "core/msgid.h"
#include "core/phone.h"
#include "core/receipt.h"
#include "util/util.h"

#define MAX_RECEIVERS 50000
#define MAX_TAG 128

static const char *const priorities[] = {"high", "medium", "low", "veryLow", NULL};
static const char *const codings[] = {"7bit", "8bit", NULL};
static const char *const charsets[] = {"UTF-8", NULL};
static const char *const classes[] = {"flash", "phoneDisplay", "sim", "toolkit", NULL};
static const char *const sender_types[] = {"alpha", "numeric", "shortcode", "virtual", NULL};

/* ---- POST /sms/{sn}/jobs ---- */

typedef struct send_ctx {
    store_submit_req req;
    char *text;
    char **valid;       /* normalised receivers, owned */
    const char **given; /* the same as given (borrowed from the body), for invalidReceivers */
    char (*regions)[3]; /* their countries ("" when none), for the store's pricing */
    json_t *invalid;    /* array of rejected receivers as given */
    phone_set seen;     /* normalised receivers so far: one SMS per distinct number */
} send_ctx;

static void send_free(void *p) {
    send_ctx *h = p;
    for (size_t i = 0; i < h->req.count; i++) free(h->valid[i]);
    free(h->valid);
    free(h->given);
    free(h->regions);
    free(h->req.msgs);
    free(h->text);
    json_decref(h->invalid);
    phone_set_fini(&h->seen);
    free(h);
}

static json_t *send_report(api_call *c, int64_t credits, int64_t balance) {
    send_ctx *h = c->h;
    json_t *ids = json_array(), *valid = json_array();
    /* Receivers that opted out of the service's marketing SMS (store_blacklist.h) are
     * refused like invalid ones: no id, not charged. */
    json_t *invalid = json_copy(h->invalid);
    for (size_t i = 0; i < h->req.count; i++) {
        if (h->req.msgs[i].stoplisted) {
            json_array_append_new(invalid, json_string(h->given[i]));
            continue;
        }
        json_array_append_new(ids, json_integer(h->req.msgs[i].id));
        json_array_append_new(valid, json_string(h->valid[i]));
    }
    json_t *o = json_object();
    json_object_set_new(o, "totalCreditsRemoved", api_credits_json(credits));
    json_object_set_new(o, "invalidReceivers", invalid);
    json_object_set_new(o, "ids", ids);
    json_object_set_new(o, "validReceivers", valid);
    json_object_set_new(o, "tag", h->req.tag ? json_string(h->req.tag) : json_null());
    json_object_set_new(o, "creditsLeft", api_credits_json(balance));
    return o;
}

/* The answer to a send that was stored (api_render_fn: also runs on the store thread). */
static json_t *send_render(api_call *c) {
    send_ctx *h = c->h;
    return send_report(c, h->req.total_credits, h->req.balance);
}

static void on_submitted(int rc, void *arg) {
    api_call *c = arg;
    send_ctx *h = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_EPERM && h->req.sender_status_bad) {
        if (h->req.sender_status_bad == 1)
            api_reply_error(c, 403, NULL, "The sender '%s' does not exist for this account; "
                                          "declare it with POST /sms/%s/senders",
                            h->req.sender, c->svc.svc.name);
        else
            api_reply_error(c, 403, NULL, "The sender '%s' is not enabled (only senders with "
                                          "status 'enable' can send)", h->req.sender);
        return;
    }
    if (rc == SG_ENOCREDIT) {
        char need[32], have[32];
        snprintf(need, sizeof need, "%g", (double)h->req.total_credits / 1000.0);
        snprintf(have, sizeof have, "%g", (double)h->req.balance / 1000.0);
        api_reply_error(c, 402, "INSUFFICIENT_CREDITS", "Not enough credits: this send needs %s "
                                                        "credits and the account has %s; nothing "
                                                        "was sent", need, have);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This send");
        return;
    }
    dispatch_kick(c->api->d);
    api_reply_rendered(c, send_render);
}

static void on_nothing_valid(int rc, void *arg) {
    api_call *c = arg;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_reply_json(c, send_report(c, 0, c->svc.svc.balance));
}

static void jobs_post(api_call *c) {
    const sg_config *cfg = c->api->cfg;
    send_ctx *h = api_call_state(c, sizeof *h, send_free);
    h->invalid = json_array();
    store_submit_req *r = &h->req;

    const char *message, *sender = NULL, *tag = NULL;
    int sfr = 0, nostop = 0, prio = 0, cls = 1, idx;
    int64_t validity = 2880, differed = 0;
    if (api_field_string(c, "message", 1, &message) < 0) return;
    if (!*message) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'message': it is empty");
        return;
    }
    if (api_field_string(c, "sender", 0, &sender) < 0) return;
    if (sender && !*sender) sender = NULL;
    if (api_field_bool(c, "senderForResponse", 0, &sfr) < 0) return;
    /* senderForResponse: from the service's short number, whatever sender says, so that the
     * mobile's replies come back to this service (docs/replies.md) */
    if (sfr) sender = NULL;
    if (api_field_bool(c, "noStopClause", 0, &nostop) < 0) return;
    if (api_field_enum(c, "priority", 0, priorities, &prio) < 0) return;
    if (api_field_int(c, "validityPeriod", 0, 1, 525600, &validity) < 0) return;
    if (api_field_int(c, "differedPeriod", 0, 0, 525600, &differed) < 0) return;
    if (api_field_enum(c, "coding", 0, codings, &idx) < 0) return;
    if (api_field_enum(c, "charset", 0, charsets, &idx) < 0) return;
    if (api_field_enum(c, "class", 0, classes, &cls) < 0) return;
    if (api_field_string(c, "tag", 0, &tag) < 0) return;
    if (tag && strlen(tag) > MAX_TAG) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'tag': at most %d characters",
                        MAX_TAG);
        return;
    }
    if (tag && !*tag) tag = NULL;
    if (c->vnum[0] && api_vnum_sender_ok(c, sender, sfr) < 0) return;
    json_t *doc_url = json_object_get(c->body, "receiversDocumentUrl");
    json_t *slot_id = json_object_get(c->body, "receiversSlotId");
    if ((doc_url && !json_is_null(doc_url)) || (slot_id && !json_is_null(slot_id))) {
        api_campaign_job(c); /* receivers.c: one templated message to a CSV's receivers */
        return;
    }
    json_t *recv = json_object_get(c->body, "receivers");
    if (!recv || json_is_null(recv)) {
        api_reply_error(c, 400, NULL, "Missing parameter 'receivers'");
        return;
    }
    if (!json_is_array(recv) || json_array_size(recv) == 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receivers': a non-empty "
                                      "array of phone numbers is expected");
        return;
    }
    if (json_array_size(recv) > MAX_RECEIVERS) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receivers': at most %d "
                                      "receivers per request", MAX_RECEIVERS);
        return;
    }

    /* The sender. */
    if (c->vnum[0]) {
        r->sender = c->vnum; /* the service's virtual number (vnum.c), not a declared sender */
    } else if (sender) {
        const char *type;
        if (!api_sender_valid(sender, &type)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'sender': '%.40s' is "
                                          "neither an alphanumeric sender (at most 11 "
                                          "characters, not all digits) nor a phone number",
                            sender);
            return;
        }
        r->sender = sender;
        r->sender_check = 1;
    } else {
        r->sender = c->svc.svc.short_number;
    }

    /* The text as it will be sent, and its cost in parts. */
    r->stop_clause = !nostop && cfg->stop_clause[0];
    h->text = nostop || !cfg->stop_clause[0]
                  ? sg_xstrdup(message)
                  : sg_xasprintf("%s\n%s", message, cfg->stop_clause);
    gsm_info gi;
    if (gsm_analyze(h->text, strlen(h->text), &gi) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'message': not valid UTF-8");
        return;
    }
    if ((int64_t)gi.parts > cfg->max_parts) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'message': %zu SMS parts "
                                      "(%zu %s), at most %lld are allowed", gi.parts, gi.units,
                        gi.coding == GSM_CODING_7BIT ? "GSM-7 characters" : "UCS-2 units",
                        (long long)cfg->max_parts);
        return;
    }

    size_t n = json_array_size(recv);
    h->valid = sg_xcalloc(n, sizeof *h->valid);
    h->given = sg_xcalloc(n, sizeof *h->given);
    h->regions = sg_xcalloc(n, sizeof *h->regions);
    r->msgs = sg_xcalloc(n, sizeof *r->msgs);
    if (n > 1) phone_set_init(&h->seen, n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(recv, i);
        if (!json_is_string(v)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'receivers': element %zu "
                                          "is not a string", i);
            return;
        }
        phone_info pi;
        if (phone_normalize(json_string_value(v), cfg->default_region, &pi) != 0) {
            json_array_append(h->invalid, v);
            continue;
        }
        if (n > 1 && !phone_set_add(&h->seen, pi.e164)) continue; /* the same number again */
        store_submit_msg *m = &r->msgs[r->count];
        h->valid[r->count] = sg_xstrdup(pi.e164);
        h->given[r->count] = json_string_value(v);
        m->receiver = h->valid[r->count];
        m->message = h->text;
        m->coding = gi.coding;
        m->length = (int64_t)gi.chars;
        m->parts = (int64_t)gi.parts;
        memcpy(h->regions[r->count], pi.region, sizeof h->regions[0]);
        h->regions[r->count][2] = '\0';
        m->region = h->regions[r->count]; /* priced by the store, in the send's transaction */
        r->count++;
    }
    r->tag = tag;
    if (r->count == 0) {
        /* Nothing valid: answer like OVH (200, everything in invalidReceivers), store nothing.
         * The balance shown is read again: the service may come from api_cache.h. */
        r->sender = NULL; /* it may point into the service */
        store_service_fini(&c->svc.svc);
        store_service_get(c->api->st, &c->svc, on_nothing_valid, c);
        return;
    }
    r->service_id = c->svc.svc.id;
    r->priority = prio;
    r->sms_class = cls;
    r->validity_min = validity;
    r->differed_min = differed;
    r->now_ms = sg_now_ms();
    r->due_ms = r->now_ms + differed * 60000;
    store_submit_idem(c->api->st, r, api_idem_for(c, send_render), on_submitted, c);
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
    json_object_set_new(o, "priority", json_string(priorities[m->priority & 3]));
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
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The requested object (id = %lld) does not exist",
                        (long long)h->req.id);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This SMS");
        return;
    }
    if (c->vnum[0] && strcmp(h->req.msg.sender, c->vnum) != 0) { /* not sent from it */
        api_reply_error(c, 404, NULL, "The requested object (id = %lld) does not exist",
                        (long long)h->req.id);
        return;
    }
    json_t *o = msg_json(&h->req.msg, h->outgoing, h->req.batch_id);
    api_hours_field(c, o, &h->req.msg); /* marketing hours: when a held SMS leaves */
    api_reply_json(c, o);
}

static msg_ctx *msg_start(api_call *c) {
    int64_t id;
    if (api_path_id(c, c->req->nsegs - 1, &id) < 0) return NULL; /* the last segment */
    msg_ctx *h = api_call_state(c, sizeof *h, msg_free);
    h->req.service_id = c->svc.svc.id;
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
        api_reply_error(c, 404, NULL, "The requested object (id = %lld) does not exist",
                        (long long)h->req.id);
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

static int time_param(api_call *c, const char *name, int64_t *out) {
    const char *v = http_req_param(c->req, name);
    *out = 0;
    if (!v) return 0;
    /* A '+' of an offset arrives as a space when the client did not encode it. */
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *p = buf; *p; p++)
        if (*p == ' ') *p = '+';
    if (sg_time_parse(buf, out) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an ISO-8601 date-time "
                                      "is expected", name);
        return -1;
    }
    return 0;
}

static void list(api_call *c, int pending) {
    list_ctx *h = api_call_state(c, sizeof *h, list_free);
    store_outgoing_filter *f = &h->f;
    f->service_id = c->svc.svc.id;
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
        time_param(c, "creationDatetime.from", &f->from_ms) ||
        time_param(c, "creationDatetime.to", &f->to_ms))
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
    const char *stop = c->api->cfg->stop_clause;
    char *text = nostop || !stop[0] ? sg_xstrdup(message) : sg_xasprintf("%s\n%s", message, stop);
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
    {NULL, NULL, 0, NULL},
};
