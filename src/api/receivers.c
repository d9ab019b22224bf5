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
 *   POST   /sms/{sn}/jobs with receiversSlotId or receiversDocumentUrl: one templated message
 *          to every receiver of a list (send.c runs it, as every send).
 *
 * Loading (campaign/campaign.h) streams the CSV into the store; the answer comes once the
 * list is complete and the slot names it. A templated job is one store operation (the fan-out,
 * store_campaigns.h, run by send.c): every message rendered, priced and inserted, with one
 * debit, in one transaction; the client is answered after its commit, without ids (as OVH),
 * with the counts. Priority: campaign messages default to "low" and are never stored above
 * "medium" (send.c; docs/campaigns.md shows why).
 */
#include "api/send.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "core/sendfields.h"
#include "util/util.h"

#define SLOT_MIN SEND_SLOT_MIN
#define SLOT_MAX SEND_SLOT_MAX  /* OVH's control panel offers 9 lists */
#define DESCRIPTION_MAX 255
#define INVALID_SHOWN 100       /* refused rows shown with a slot */

void api_set_campaign(api *a, struct campaign *cp) { a->campaign = cp; }

/* Replies 503 and returns 0 when the campaigns module is missing. */
static int have_campaigns(api_call *c) {
    if (c->api->campaign) return 1;
    api_reply_error(c, 503, NULL, "Receiver lists are not available on this server");
    return 0;
}

/* Replies to a failed load (campaign_load's rc), naming the field the source came from (the
 * mapping is send.c's, shared with the sends on a slot or a document). */
static void reply_load_error(api_call *c, int rc, const campaign_load_req *ld,
                             const char *field) {
    api_send_result r = {0};
    api_send_load_error(&r, rc, ld, field);
    api_send_reply_error(c, &r);
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

int64_t api_receivers_owner(const api_call *c) {
    return c->user_id ? -c->user_id : c->svc.svc.id;
}

static slot_ctx *slot_start(api_call *c) {
    slot_ctx *h = api_call_state(c, sizeof *h, slot_free);
    h->req.service_id = api_receivers_owner(c);
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
    if (api_path_id(c, c->user_id ? 5 : 3, &slot) < 0) return NULL; /* users/{login}/: 5 */
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
    ld->service_id = api_receivers_owner(c);
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

/* /sms/{sn}/users/{login}/receivers...: the user's own slots (users.c checks the user) */
static void user_receivers_post(api_call *c) { api_user_then(c, receivers_post); }
static void user_receivers_list(api_call *c) { api_user_then(c, receivers_list); }
static void user_receivers_get(api_call *c) { api_user_then(c, receivers_get); }
static void user_receivers_put(api_call *c) { api_user_then(c, receivers_put); }
static void user_receivers_delete(api_call *c) { api_user_then(c, receivers_delete); }
static void user_receivers_csv(api_call *c) { api_user_then(c, receivers_csv); }

const api_route api_receiver_routes[] = {
    {"POST", "/sms/{}/receivers", API_SERVICE | API_BODY | API_IDEM, receivers_post},
    {"GET", "/sms/{}/receivers", API_SERVICE, receivers_list},
    {"GET", "/sms/{}/receivers/{}", API_SERVICE, receivers_get},
    {"PUT", "/sms/{}/receivers/{}", API_SERVICE | API_BODY, receivers_put},
    {"DELETE", "/sms/{}/receivers/{}", API_SERVICE, receivers_delete},
    {"GET", "/sms/{}/receivers/{}/csv", API_SERVICE, receivers_csv},
    {"POST", "/sms/{}/users/{}/receivers", API_SERVICE | API_BODY | API_IDEM, user_receivers_post},
    {"GET", "/sms/{}/users/{}/receivers", API_SERVICE, user_receivers_list},
    {"GET", "/sms/{}/users/{}/receivers/{}", API_SERVICE, user_receivers_get},
    {"PUT", "/sms/{}/users/{}/receivers/{}", API_SERVICE | API_BODY, user_receivers_put},
    {"DELETE", "/sms/{}/users/{}/receivers/{}", API_SERVICE, user_receivers_delete},
    {"GET", "/sms/{}/users/{}/receivers/{}/csv", API_SERVICE, user_receivers_csv},
    {NULL, NULL, 0, NULL},
};
