/*
 * receivers.c - receivers slots and templated jobs (spec/ovh-sms-api.md 5.6, 5.2;
 * docs/campaigns.md):
 *
 *   POST   /sms/{sn}/receivers                {slotId, description, autoUpdate, csvUrl |
 *                                             documentId} -> sms.Receiver once loaded
 *   GET    /sms/{sn}/receivers                -> slot ids
 *   GET    /sms/{sn}/receivers/{slot}         -> sms.Receiver (+ counts, columns, refused rows)
 *   PUT    /sms/{sn}/receivers/{slot}         {description, autoUpdate} -> null
 *   DELETE /sms/{sn}/receivers/{slot}         -> null
 *   GET    /sms/{sn}/receivers/{slot}/csv     -> the list as a CSV text (a JSON string)
 *   POST   /sms/{sn}/jobs with receiversSlotId or receiversDocumentUrl (api_campaign_job,
 *          called by jobs.c): one templated message to every receiver of a list.
 *
 * Loading (campaign/campaign.h) streams the CSV into the store; the answer comes once the
 * list is complete and the slot names it. A templated job is one store operation (the fan-out,
 * store_campaigns.h): every message rendered, priced and inserted, with one debit, in one
 * transaction; the client is answered after its commit, without ids (as OVH), with the counts.
 *
 * Priority: campaign messages default to "low" and are never stored above "medium", so a
 * one-time code sent with the default priority "high" is always claimed before them (the
 * dispatcher claims by priority first; docs/campaigns.md shows the measurement).
 */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "core/gsm.h"
#include "util/util.h"

#define SLOT_MIN 1
#define SLOT_MAX 9              /* OVH's control panel offers 9 lists */
#define DESCRIPTION_MAX 255
#define INVALID_SHOWN 100       /* refused rows shown with a slot */
#define REPORT_LIMIT 1000       /* refused receivers listed in a job's answer */
#define MAX_TAG 128
#define CAMPAIGN_DEFAULT_PRIORITY 2 /* low */
#define CAMPAIGN_TOP_PRIORITY 1     /* medium: campaigns never go above it */

static const char *const priorities[] = {"high", "medium", "low", "veryLow", NULL};
static const char *const classes[] = {"flash", "phoneDisplay", "sim", "toolkit", NULL};

void api_set_campaign(api *a, struct campaign *cp) { a->campaign = cp; }

/* Replies 503 and returns 0 when the campaigns module is missing. */
static int have_campaigns(api_call *c) {
    if (c->api->campaign) return 1;
    api_reply_error(c, 503, NULL, "Receiver lists are not available on this server");
    return 0;
}

/* Replies to a failed load (campaign_load's rc), naming the field the source came from. */
static void reply_load_error(api_call *c, int rc, const campaign_load_req *ld,
                             const char *field) {
    switch (rc) {
    case SG_EINVAL:
    case SG_EPERM:
    case SG_ENOTFOUND:
        if (ld->slot > 0 && rc == SG_ENOTFOUND && !ld->document_id) {
            api_reply_error(c, 404, NULL, "The receivers slot %lld does not exist",
                            (long long)ld->slot);
            return;
        }
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': the receivers could "
                                      "not be loaded: %s; nothing was stored", field, ld->error);
        return;
    case SG_ECONFLICT:
        api_reply_error(c, 409, NULL, "The receivers slot %lld already exists; delete it first "
                                      "(DELETE /sms/{serviceName}/receivers/%lld)",
                        (long long)ld->slot, (long long)ld->slot);
        return;
    case SG_ETEMP:
        api_reply_error(c, 503, NULL, "The server is stopping; nothing was stored, please retry");
        return;
    default:
        api_reply_store_error(c, rc, "This receivers list");
    }
}

/* ---- sms.Receiver ---- */

static json_t *slot_json(const store_slot *s) {
    json_t *o = json_object();
    json_object_set_new(o, "slotId", json_integer(s->slot));
    json_object_set_new(o, "description", json_string(s->description ? s->description : ""));
    json_object_set_new(o, "records", json_integer(s->records));
    json_object_set_new(o, "datetime", api_time_json(s->updated_ms));
    json_object_set_new(o, "autoUpdate", json_boolean(s->auto_update));
    json_object_set_new(o, "canAutoUpdate", json_boolean(s->csv_url != NULL));
    /* smsgate extras (unknown fields are harmless to OVH clients). */
    json_object_set_new(o, "validRecords", json_integer(s->valid));
    json_object_set_new(o, "invalidRecords", json_integer(s->invalid));
    json_t *cols = json_loads(s->columns_json ? s->columns_json : "[]", 0, NULL);
    json_object_set_new(o, "columns", cols ? cols : json_array());
    json_t *bad = s->invalid_json ? json_loads(s->invalid_json, 0, NULL) : NULL;
    json_object_set_new(o, "invalidRows", bad ? bad : json_array());
    json_object_set_new(o, "csvUrl", s->csv_url ? json_string(s->csv_url) : json_null());
    json_object_set_new(o, "documentId",
                        s->document_id ? json_string(s->document_id) : json_null());
    return o;
}

typedef struct slot_ctx {
    store_slot_req req;
    campaign_load_req ld;
    char *csv_url, *document_id, *description;
    const char *field; /* the source's parameter name, for errors */
} slot_ctx;

static void slot_free(void *p) {
    slot_ctx *h = p;
    store_slot_fini(&h->req.out);
    free(h->req.slots);
    free(h->req.csv);
    free(h->csv_url);
    free(h->document_id);
    free(h->description);
    free(h);
}

static slot_ctx *slot_start(api_call *c) {
    slot_ctx *h = api_call_state(c, sizeof *h, slot_free);
    h->req.service_id = c->svc.svc.id;
    return h;
}

static void on_slot(int rc, void *arg) {
    api_call *c = arg;
    slot_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The receivers slot %lld does not exist",
                        (long long)h->req.slot);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This receivers slot");
        return;
    }
    api_reply_json(c, slot_json(&h->req.out));
}

/* Reads the {slot} path segment: 404 unless it is a slot number. */
static slot_ctx *slot_path(api_call *c) {
    int64_t slot;
    if (api_path_id(c, 3, &slot) < 0) return NULL;
    if (slot < SLOT_MIN || slot > SLOT_MAX) {
        api_reply_error(c, 404, NULL, "The receivers slot %lld does not exist", (long long)slot);
        return NULL;
    }
    slot_ctx *h = slot_start(c);
    h->req.slot = slot;
    return h;
}

/* ---- POST /sms/{sn}/receivers ---- */

/* The answer to a slot filled: the slot as GET shows it (api_render_fn: with an
 * Idempotency-Key it runs on the store thread, h->req read in the list's last transaction). */
static json_t *loaded_render(api_call *c) {
    slot_ctx *h = c->h;
    return slot_json(&h->req.out);
}

static void on_loaded(int rc, void *arg) {
    api_call *c = arg;
    slot_ctx *h = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc) {
        reply_load_error(c, rc, &h->ld, h->field);
        return;
    }
    if (h->ld.idem) { /* read back and rendered with the list's last step */
        api_reply_rendered(c, loaded_render);
        return;
    }
    h->req.invalid_limit = INVALID_SHOWN;
    store_slot_get(c->api->st, &h->req, on_slot, c);
}

static void on_slot_free(int rc, void *arg) {
    api_call *c = arg;
    slot_ctx *h = c->h;
    if (rc == 0) {
        api_reply_error(c, 409, NULL, "The receivers slot %lld already exists; delete it first "
                                      "(DELETE /sms/{serviceName}/receivers/%lld)",
                        (long long)h->req.slot, (long long)h->req.slot);
        return;
    }
    if (rc != SG_ENOTFOUND) {
        api_reply_store_error(c, rc, "This receivers slot");
        return;
    }
    store_slot_fini(&h->req.out);
    /* With an Idempotency-Key the slot is read back in the transaction that fills it and its
     * answer stored with it (idem.c). */
    h->ld.idem = api_idem_for(c, loaded_render);
    if (h->ld.idem) {
        h->req.invalid_limit = INVALID_SHOWN;
        store_idem_then_slot_get(h->ld.idem, &h->req);
    }
    int e = campaign_load(c->api->campaign, &h->ld, on_loaded, c);
    if (e) reply_load_error(c, e, &h->ld, h->field);
}

static void receivers_post(api_call *c) {
    int64_t slot;
    const char *description, *csv_url = NULL, *document_id = NULL;
    int auto_update = 0;
    if (api_field_int(c, "slotId", 1, SLOT_MIN, SLOT_MAX, &slot) < 0 ||
        api_field_string(c, "description", 1, &description) < 0 ||
        api_field_bool(c, "autoUpdate", 1, &auto_update) < 0 ||
        api_field_string(c, "csvUrl", 0, &csv_url) < 0 ||
        api_field_string(c, "documentId", 0, &document_id) < 0)
        return;
    if (strlen(description) > DESCRIPTION_MAX) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'description': at most %d "
                                      "characters", DESCRIPTION_MAX);
        return;
    }
    if (!csv_url == !document_id) {
        api_reply_error(c, 400, NULL, csv_url ? "Give only one of 'csvUrl' and 'documentId'"
                                              : "Missing parameter 'csvUrl' or 'documentId'");
        return;
    }
    if (csv_url && !api_url_valid(csv_url)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'csvUrl': an absolute http "
                                      "or https URL is expected");
        return;
    }
    if (auto_update && !csv_url) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'autoUpdate': only a slot "
                                      "loaded from a csvUrl can be updated automatically");
        return;
    }
    if (!have_campaigns(c)) return;
    slot_ctx *h = slot_start(c);
    h->req.slot = slot;
    h->csv_url = csv_url ? sg_xstrdup(csv_url) : NULL;
    h->document_id = document_id ? sg_xstrdup(document_id) : NULL;
    h->description = sg_xstrdup(description);
    h->field = csv_url ? "csvUrl" : "documentId";
    campaign_load_req *ld = &h->ld;
    ld->service_id = c->svc.svc.id;
    ld->csv_url = h->csv_url;
    ld->document_id = h->document_id;
    ld->account_id = c->account_id;
    ld->slot = slot;
    ld->description = h->description;
    ld->auto_update = auto_update;
    /* A slot that exists is refused before anything is downloaded. */
    store_slot_get(c->api->st, &h->req, on_slot_free, c);
}

/* ---- the other slot routes ---- */

static void on_slots(int rc, void *arg) {
    api_call *c = arg;
    slot_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->req.count; i++)
        json_array_append_new(arr, json_integer(h->req.slots[i]));
    api_reply_json(c, arr);
}

static void receivers_list(api_call *c) {
    slot_ctx *h = slot_start(c);
    store_slot_list(c->api->st, &h->req, on_slots, c);
}

static void receivers_get(api_call *c) {
    slot_ctx *h = slot_path(c);
    if (!h) return;
    h->req.invalid_limit = INVALID_SHOWN;
    store_slot_get(c->api->st, &h->req, on_slot, c);
}

static void on_slot_void(int rc, void *arg) {
    api_call *c = arg;
    slot_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The receivers slot %lld does not exist",
                        (long long)h->req.slot);
        return;
    }
    if (rc == SG_EPERM) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'autoUpdate': only a slot "
                                      "loaded from a csvUrl can be updated automatically");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This receivers slot");
        return;
    }
    if (c->api->campaign && !strcmp(c->req->method, "DELETE"))
        campaign_purge_kick(c->api->campaign);
    api_reply_json(c, NULL);
}

static void receivers_put(api_call *c) {
    const char *description = NULL;
    int auto_update = 0, rc;
    if (api_field_string(c, "description", 0, &description) < 0) return;
    if ((rc = api_field_bool(c, "autoUpdate", 0, &auto_update)) < 0) return;
    if (description && strlen(description) > DESCRIPTION_MAX) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'description': at most %d "
                                      "characters", DESCRIPTION_MAX);
        return;
    }
    slot_ctx *h = slot_path(c);
    if (!h) return;
    h->req.description = description;
    h->req.set_auto_update = rc == 0;
    h->req.auto_update = auto_update;
    store_slot_update(c->api->st, &h->req, on_slot_void, c);
}

static void receivers_delete(api_call *c) {
    slot_ctx *h = slot_path(c);
    if (!h) return;
    store_slot_delete(c->api->st, &h->req, on_slot_void, c);
}

static void on_csv(int rc, void *arg) {
    api_call *c = arg;
    slot_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The receivers slot %lld does not exist",
                        (long long)h->req.slot);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This receivers slot");
        return;
    }
    json_t *s = json_stringn(h->req.csv, h->req.csv_len);
    api_reply_json(c, s ? s : json_string(""));
}

static void receivers_csv(api_call *c) {
    slot_ctx *h = slot_path(c);
    if (!h) return;
    store_slot_csv(c->api->st, &h->req, on_csv, c);
}

/* ---- POST /sms/{sn}/jobs with receiversSlotId or receiversDocumentUrl ---- */

typedef struct job_ctx {
    campaign_send_req r;
    store_slot_req slot;
    char *stop;
    char *doc_url;
} job_ctx;

static void job_free(void *p) {
    job_ctx *h = p;
    store_slot_fini(&h->slot.out);
    free(h->r.send.invalid_json);
    free(h->stop);
    free(h->doc_url);
    free(h);
}

/* The answer to a templated send that was stored (api_render_fn: also runs on the store
 * thread). */
static json_t *job_render(api_call *c) {
    job_ctx *h = c->h;
    store_campaign_send_req *s = &h->r.send;
    json_t *bad = json_loads(s->invalid_json ? s->invalid_json : "[]", 0, NULL);
    json_t *invalid = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(bad, i, v) json_array_append(invalid, json_object_get(v, "receiver"));
    json_t *o = json_object();
    json_object_set_new(o, "totalCreditsRemoved", api_credits_json(s->total_credits));
    json_object_set_new(o, "invalidReceivers", invalid);
    json_object_set_new(o, "ids", json_array()); /* not returned for a CSV, as OVH */
    json_object_set_new(o, "validReceivers", json_array());
    json_object_set_new(o, "tag", s->tag ? json_string(s->tag) : json_null());
    json_object_set_new(o, "creditsLeft", api_credits_json(s->balance));
    /* smsgate extras. */
    json_object_set_new(o, "validReceiversCount", json_integer(s->count));
    json_object_set_new(o, "invalidReceiversCount", json_integer(s->invalid));
    json_object_set_new(o, "invalidReceiversDetails", bad ? bad : json_array());
    json_object_set_new(o, "campaignId", json_string(s->id));
    return o;
}

static void on_job(int rc, void *arg) {
    api_call *c = arg;
    job_ctx *h = c->h;
    store_campaign_send_req *s = &h->r.send;
    if (api_idem_taken(c, rc)) return;
    if (rc && h->r.stage == CAMPAIGN_STAGE_LOAD) {
        reply_load_error(c, rc, &h->r.ld, h->doc_url ? "receiversDocumentUrl" : "receiversSlotId");
        return;
    }
    switch (rc) {
    case 0: break;
    case SG_ENOTFOUND:
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receiversSlotId': no "
                                      "receivers slot %lld on this account", (long long)s->slot);
        return;
    case SG_EINVAL:
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'message': the variable "
                                      "#%s# names no column of the receivers list; nothing was "
                                      "sent", s->bad_var);
        return;
    case SG_EPERM:
        if (s->sender_status_bad == 1)
            api_reply_error(c, 403, NULL, "The sender '%s' does not exist for this account; "
                                          "declare it with POST /sms/%s/senders",
                            s->sender, c->svc.svc.name);
        else
            api_reply_error(c, 403, NULL, "The sender '%s' is not enabled (only senders with "
                                          "status 'enable' can send)", s->sender);
        return;
    case SG_ENOCREDIT: {
        char need[32], have[32];
        snprintf(need, sizeof need, "%g", (double)s->total_credits / 1000.0);
        snprintf(have, sizeof have, "%g", (double)s->balance / 1000.0);
        api_reply_error(c, 402, "INSUFFICIENT_CREDITS", "Not enough credits: this campaign "
                                                        "needs %s credits and the account has "
                                                        "%s; nothing was sent", need, have);
        return;
    }
    default:
        api_reply_store_error(c, rc, "This campaign");
        return;
    }
    api_reply_rendered(c, job_render);
}

static void on_job_slot(int rc, void *arg) {
    api_call *c = arg;
    job_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receiversSlotId': no "
                                      "receivers slot %lld on this account",
                        (long long)h->slot.slot);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This receivers slot");
        return;
    }
    store_slot *sl = &h->slot.out;
    if (sl->auto_update && sl->csv_url) {
        /* autoUpdate: download the csvUrl again, swap the slot's list, then send. */
        h->r.load = 1;
        h->r.ld.service_id = c->svc.svc.id;
        h->r.ld.csv_url = sl->csv_url;
        h->r.ld.slot = sl->slot;
        h->r.ld.replace = 1;
    } else {
        h->r.send.slot = sl->slot;
    }
    int e = campaign_send(c->api->campaign, &h->r, on_job, c);
    if (e) reply_load_error(c, e, &h->r.ld, "receiversSlotId");
}

/* Reads receiversSlotId: a string (OVH's type) or an integer, 1 to 9. */
static int slot_field(api_call *c, json_t *v, int64_t *out) {
    long long x = 0;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        x = strtoll(s, &end, 10);
        if (!*s || *end || errno) x = 0;
    }
    if (x < SLOT_MIN || x > SLOT_MAX) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receiversSlotId': a slot "
                                      "number from %d to %d is expected", SLOT_MIN, SLOT_MAX);
        return -1;
    }
    *out = x;
    return 0;
}

void api_campaign_job(api_call *c) {
    const sg_config *cfg = c->api->cfg;
    if (c->h_free) c->h_free(c->h); /* jobs.c's own state for a receivers list: not needed */
    c->h = NULL;
    c->h_free = NULL;
    const char *message, *sender = NULL, *tag = NULL, *doc_url = NULL;
    int sfr = 0, nostop = 0, prio = CAMPAIGN_DEFAULT_PRIORITY, cls = 1;
    int64_t validity = 2880, differed = 0, slot = 0;
    /* jobs.c checked these already; read again here. */
    if (api_field_string(c, "message", 1, &message) < 0 ||
        api_field_string(c, "sender", 0, &sender) < 0 ||
        api_field_bool(c, "senderForResponse", 0, &sfr) < 0 ||
        api_field_bool(c, "noStopClause", 0, &nostop) < 0 ||
        api_field_enum(c, "priority", 0, priorities, &prio) < 0 ||
        api_field_int(c, "validityPeriod", 0, 1, 525600, &validity) < 0 ||
        api_field_int(c, "differedPeriod", 0, 0, 525600, &differed) < 0 ||
        api_field_enum(c, "class", 0, classes, &cls) < 0 ||
        api_field_string(c, "tag", 0, &tag) < 0)
        return;
    if (prio < CAMPAIGN_TOP_PRIORITY) prio = CAMPAIGN_TOP_PRIORITY;
    if (sender && !*sender) sender = NULL;
    if (sfr) sender = NULL; /* the short number, so that replies come back (as jobs.c) */
    if (tag && !*tag) tag = NULL;
    if (tag && strlen(tag) > MAX_TAG) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'tag': at most %d characters",
                        MAX_TAG);
        return;
    }
    json_t *recv = json_object_get(c->body, "receivers");
    json_t *sv = json_object_get(c->body, "receiversSlotId");
    int have_slot = sv && !json_is_null(sv);
    if (api_field_string(c, "receiversDocumentUrl", 0, &doc_url) < 0) return;
    if ((recv && !json_is_null(recv)) + have_slot + (doc_url != NULL) > 1) {
        api_reply_error(c, 400, NULL, "Give only one of 'receivers', 'receiversSlotId' and "
                                      "'receiversDocumentUrl'");
        return;
    }
    if (have_slot && slot_field(c, sv, &slot) < 0) return;
    if (doc_url && !api_url_valid(doc_url)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receiversDocumentUrl': an "
                                      "absolute http or https URL is expected");
        return;
    }
    if (sender) {
        const char *type;
        if (!api_sender_valid(sender, &type)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'sender': '%.40s' is "
                                          "neither an alphanumeric sender (at most 11 "
                                          "characters, not all digits) nor a phone number",
                            sender);
            return;
        }
    }
    gsm_info gi;
    if (gsm_analyze(message, strlen(message), &gi) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'message': not valid UTF-8");
        return;
    }
    if (!have_campaigns(c)) return;

    job_ctx *h = api_call_state(c, sizeof *h, job_free);
    store_campaign_send_req *s = &h->r.send;
    h->r.idem = api_idem_for(c, job_render); /* an Idempotency-Key: kept with the send */
    s->service_id = c->svc.svc.id;
    s->account_id = c->svc.svc.account_id;
    s->kind = "job";
    s->message = message;
    h->stop = nostop || !cfg->stop_clause[0] ? NULL : sg_xstrdup(cfg->stop_clause);
    s->stop_clause = h->stop;
    s->sender = sender ? sender : c->svc.svc.short_number;
    s->sender_check = sender != NULL;
    s->sender_for_response = sender == NULL;
    if (c->vnum[0]) { /* /virtualNumbers/{number}/jobs: from that number (jobs.c checked) */
        s->sender = c->vnum;
        s->sender_check = 0;
        s->sender_for_response = 0;
    }
    s->priority = prio;
    s->sms_class = cls;
    s->validity_min = validity;
    s->differed_min = differed;
    s->now_ms = sg_now_ms();
    s->due_ms = s->now_ms + differed * 60000;
    s->max_parts = cfg->max_parts;
    s->tag = tag;
    s->report_limit = REPORT_LIMIT;
    if (doc_url) {
        h->doc_url = sg_xstrdup(doc_url);
        h->r.load = 1;
        h->r.ld.service_id = c->svc.svc.id;
        h->r.ld.csv_url = h->doc_url;
        int e = campaign_send(c->api->campaign, &h->r, on_job, c);
        if (e) reply_load_error(c, e, &h->r.ld, "receiversDocumentUrl");
        return;
    }
    /* A slot: look at it first, for its autoUpdate. */
    h->slot.service_id = c->svc.svc.id;
    h->slot.slot = slot;
    store_slot_get(c->api->st, &h->slot, on_job_slot, c);
}

const api_route api_receiver_routes[] = {
    {"POST", "/sms/{}/receivers", API_SERVICE | API_BODY | API_IDEM, receivers_post},
    {"GET", "/sms/{}/receivers", API_SERVICE, receivers_list},
    {"GET", "/sms/{}/receivers/{}", API_SERVICE, receivers_get},
    {"PUT", "/sms/{}/receivers/{}", API_SERVICE | API_BODY, receivers_put},
    {"DELETE", "/sms/{}/receivers/{}", API_SERVICE, receivers_delete},
    {"GET", "/sms/{}/receivers/{}/csv", API_SERVICE, receivers_csv},
    {NULL, NULL, 0, NULL},
};
