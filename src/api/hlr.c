/*
 * hlr.c - HLR lookups (docs/hlr.md), through the provider handed by api_set_hlr()
 * (core/hlr.h's contract; the embedded one is hlr/hlr_embedded.c):
 *
 *   GET  /sms/{sn}/hlr                  -> the lookups' ids, oldest first
 *   POST /sms/{sn}/hlr {receivers}      -> sms.SmsSendingReport: one lookup per distinct
 *                                          valid receiver, stored and charged
 *   GET  /sms/{sn}/hlr/{id}             -> sms.HlrLookupNumber
 *   GET  /sms/{sn}/hlr/{id}/operator    -> sms.Hlr
 *   GET  /sms/{sn}/outgoing/{id}/hlr    -> sms.Hlr of the SMS's receiver (looked up now; not
 *   GET  /sms/{sn}/virtualNumbers/{number}/outgoing/{id}/hlr        stored, not charged)
 *   GET  /sms/{sn}/users/{login}/outgoing/{id}/hlr                  (the user's SMS only)
 *
 * A POST looks every valid receiver up first (the provider answers on the loop, in any
 * order), then stores all the answers and debits hlr-cost-millicredits per answered lookup
 * in ONE store operation (store_hlr_create: one transaction, one ledger row), and answers
 * only after its commit: the ids handed out are durable and charged once. Receivers that are
 * not valid numbers are in invalidReceivers, not looked up and not charged; a number given
 * twice is looked up once. A lookup the provider could not answer is stored with status
 * "error" and not charged. Not enough credits: 402 and nothing is stored (the lookups made
 * are thrown away: the embedded provider's cost nothing).
 *
 * With receiversDocumentUrl instead of receivers, the campaigns module downloads the CSV and
 * reads it into a receiver list as for a send (campaign/campaign.h: the same rules, the same
 * refusal of private addresses), store_hlr_receivers reads its numbers back and drops it, and
 * they are looked up as above, at most HLR_MAX_DOCUMENT of them (400 beyond, nothing charged).
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/send.h"
#include "campaign/campaign.h"
#include "core/hlr.h"
#include "core/phone.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "api.hlr"
/* The most receivers of one POST (each is looked up before the answer): in its array, and in
 * its receiversDocumentUrl. */
#define HLR_MAX_RECEIVERS 1000
#define HLR_MAX_DOCUMENT 10000

static int provider_ok(api_call *c) {
    if (c->api->hlr) return 1;
    api_reply_error(c, 501, NULL, "HLR lookups are not available on this server "
                                  "(hlr-provider is none)");
    return 0;
}

/* ---- POST /sms/{sn}/hlr ---- */

typedef struct post_ctx {
    store_hlr_req req;
    json_t *valid, *invalid; /* the receivers as given */
    size_t waiting;          /* lookups not answered yet */
    int failed;              /* a lookup could not be started: reply once all are back */
    char *doc_url;           /* receiversDocumentUrl: its list, then its numbers */
    campaign_load_req ld;
    store_hlr_receivers_req rr;
} post_ctx;

static void post_free(void *p) {
    post_ctx *h = p;
    free(h->req.items);
    free(h->doc_url);
    store_hlr_receivers_fini(&h->rr);
    json_decref(h->valid);
    json_decref(h->invalid);
    free(h);
}

/* The answer (api_render_fn: also runs on the store thread). */
static json_t *post_render(api_call *c) {
    post_ctx *h = c->h;
    json_t *ids = json_array();
    for (size_t i = 0; i < h->req.count; i++)
        json_array_append_new(ids, json_integer(h->req.items[i].id));
    json_t *o = json_object();
    json_object_set_new(o, "ids", ids);
    json_object_set(o, "validReceivers", h->valid);
    json_object_set(o, "invalidReceivers", h->invalid);
    json_object_set_new(o, "totalCreditsRemoved", api_credits_json(h->req.total));
    json_object_set_new(o, "tag", json_string(""));
    return o;
}

static void on_created(int rc, void *arg) {
    api_call *c = arg;
    if (api_idem_taken(c, rc)) return;
    if (rc) {
        api_reply_store_error(c, rc, "This HLR lookup");
        return;
    }
    api_reply_rendered(c, post_render);
}

static void store_all(api_call *c) {
    post_ctx *h = c->h;
    if (h->failed) {
        api_reply_error(c, 503, NULL, "The HLR provider could not take the lookups, please "
                                      "retry later");
        return;
    }
    h->req.service_id = c->svc.svc.id;
    h->req.now_ms = sg_now_ms();
    h->req.cost = c->api->cfg->hlr_cost_millicredits;
    store_hlr_create_idem(c->api->st, &h->req, api_idem_for(c, post_render), on_created, c);
}

typedef struct lookup_arg {
    api_call *c;
    size_t i;
} lookup_arg;

static void on_answer(int rc, const hlr_result *res, void *arg) {
    lookup_arg *la = arg;
    api_call *c = la->c;
    post_ctx *h = c->h;
    store_hlr *it = &h->req.items[la->i];
    free(la);
    if (rc == 0) {
        char msisdn[PHONE_E164_MAX];
        memcpy(msisdn, it->res.msisdn, sizeof msisdn);
        it->res = *res;
        memcpy(it->res.msisdn, msisdn, sizeof msisdn); /* the number as it was asked */
        it->status = HLR_DONE;
    } else {
        sg_log_warn(LOG, "Request %llu: the HLR provider '%s' could not look up %s: %s.",
                    (unsigned long long)c->req->id, c->api->hlr->name, it->res.msisdn,
                    sg_strerror(rc));
        it->status = HLR_ERROR;
    }
    if (--h->waiting == 0) store_all(c);
}

/* Starts the lookup of every item of h (at least one); the last answer stores them all. */
static void start_lookups(api_call *c) {
    post_ctx *h = c->h;
    h->waiting = h->req.count;
    for (size_t i = 0; i < h->req.count; i++) {
        lookup_arg *la = sg_xcalloc(1, sizeof *la);
        la->c = c;
        la->i = i;
        int rc = c->api->hlr->lookup(c->api->hlr->self, h->req.items[i].res.msisdn, on_answer, la);
        if (rc) {
            free(la);
            h->failed = 1;
            h->req.items[i].status = HLR_ERROR;
            if (--h->waiting == 0) {
                store_all(c);
                return;
            }
        }
    }
}

/* The numbers of the document's list (store_hlr_receivers) become the items. */
static void on_doc_numbers(int rc, void *arg) {
    api_call *c = arg;
    post_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This receivers document");
        return;
    }
    if (h->rr.nvalid > HLR_MAX_DOCUMENT) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receiversDocumentUrl': %zu "
                                      "numbers, at most %d may be looked up at once",
                        h->rr.nvalid, HLR_MAX_DOCUMENT);
        return;
    }
    for (size_t i = 0; i < h->rr.ninvalid && i < h->rr.limit; i++)
        json_array_append_new(h->invalid, json_string(h->rr.invalid[i]));
    h->req.items = sg_xcalloc(h->rr.nvalid ? h->rr.nvalid : 1, sizeof *h->req.items);
    for (size_t i = 0; i < h->rr.nvalid; i++) {
        json_array_append_new(h->valid, json_string(h->rr.valid[i]));
        store_hlr *it = &h->req.items[h->req.count++];
        snprintf(it->res.msisdn, sizeof it->res.msisdn, "%s", h->rr.valid[i]);
        it->status = HLR_ERROR;
    }
    if (h->req.count == 0) {
        api_reply_json(c, post_render(c));
        return;
    }
    start_lookups(c);
}

static void on_doc_loaded(int rc, void *arg) {
    api_call *c = arg;
    post_ctx *h = c->h;
    if (rc) {
        api_send_result r = {0};
        api_send_load_error(&r, rc, &h->ld, "receiversDocumentUrl");
        api_send_reply_error(c, &r);
        return;
    }
    h->rr.service_id = c->svc.svc.id;
    h->rr.list_id = h->ld.list_id;
    h->rr.limit = HLR_MAX_DOCUMENT + 1;
    store_hlr_receivers(c->api->st, &h->rr, on_doc_numbers, c);
}

/* receiversDocumentUrl: the campaigns module downloads and reads the CSV into a receiver list
 * (docs/campaigns.md: the same rules as a send's), whose numbers are then looked up. */
static void post_document(api_call *c, const char *url) {
    if (!api_url_valid(url)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receiversDocumentUrl': an "
                                      "http(s) URL is expected");
        return;
    }
    if (!c->api->campaign) {
        api_reply_error(c, 503, NULL, "Receiver documents are not available on this server");
        return;
    }
    post_ctx *h = api_call_state(c, sizeof *h, post_free);
    h->valid = json_array();
    h->invalid = json_array();
    h->doc_url = sg_xstrdup(url);
    h->ld.service_id = c->svc.svc.id;
    h->ld.account_id = c->account_id;
    h->ld.csv_url = h->doc_url;
    int e = campaign_load(c->api->campaign, &h->ld, on_doc_loaded, c);
    if (e) {
        api_send_result r = {0};
        api_send_load_error(&r, e, &h->ld, "receiversDocumentUrl");
        api_send_reply_error(c, &r);
    }
}

static void hlr_post(api_call *c) {
    if (!provider_ok(c)) return;
    const char *doc_url = NULL;
    if (api_field_string(c, "receiversDocumentUrl", 0, &doc_url) < 0) return;
    json_t *recv = json_object_get(c->body, "receivers");
    if (recv && json_is_null(recv)) recv = NULL;
    if (doc_url && recv) {
        api_reply_error(c, 400, NULL, "Give either 'receivers' or 'receiversDocumentUrl', not "
                                      "both");
        return;
    }
    if (doc_url) {
        post_document(c, doc_url);
        return;
    }
    if (!recv) {
        api_reply_error(c, 400, NULL, "Missing parameter 'receivers'");
        return;
    }
    if (!json_is_array(recv) || json_array_size(recv) == 0 ||
        json_array_size(recv) > HLR_MAX_RECEIVERS) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'receivers': an array of 1 "
                                      "to %d phone numbers is expected", HLR_MAX_RECEIVERS);
        return;
    }
    size_t n = json_array_size(recv);
    post_ctx *h = api_call_state(c, sizeof *h, post_free);
    h->valid = json_array();
    h->invalid = json_array();
    h->req.items = sg_xcalloc(n, sizeof *h->req.items);
    phone_set seen;
    phone_set_init(&seen, n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(recv, i);
        if (!json_is_string(v)) {
            phone_set_fini(&seen);
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'receivers': element %zu "
                                          "is not a string", i);
            return;
        }
        if (api_text_ok(c, "receivers", json_string_value(v), json_string_length(v)) < 0) {
            phone_set_fini(&seen);
            return;
        }
        phone_info pi;
        if (phone_normalize(json_string_value(v), c->api->cfg->default_region, &pi) != 0) {
            json_array_append(h->invalid, v);
            continue;
        }
        if (!phone_set_add(&seen, pi.e164)) continue; /* the same number again */
        json_array_append(h->valid, v);
        store_hlr *it = &h->req.items[h->req.count++];
        memcpy(it->res.msisdn, pi.e164, sizeof it->res.msisdn);
        it->status = HLR_ERROR;
    }
    phone_set_fini(&seen);
    if (h->req.count == 0) { /* nothing to look up: nothing stored, nothing charged */
        api_reply_json(c, post_render(c));
        return;
    }
    start_lookups(c);
}

/* ---- GET /sms/{sn}/hlr ---- */

typedef struct get_ctx {
    store_hlr_req req;
} get_ctx;

static void get_free(void *p) {
    get_ctx *h = p;
    free(h->req.items);
    store_hlr_req_fini(&h->req);
    free(h);
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    get_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < h->req.nids; i++) json_array_append_new(a, json_integer(h->req.ids[i]));
    api_reply_json(c, a);
}

static void hlr_list(api_call *c) {
    get_ctx *h = api_call_state(c, sizeof *h, get_free);
    h->req.service_id = c->svc.svc.id;
    store_hlr_list(c->api->st, &h->req, on_list, c);
}

/* ---- GET /sms/{sn}/hlr/{id}[/operator] ---- */

/* sms.Hlr of a lookup's answer. */
static json_t *operator_json(const hlr_result *x) {
    json_t *o = json_object();
    json_object_set_new(o, "country", json_string(x->country));
    json_object_set_new(o, "countryCode", json_string(x->country_code));
    json_object_set_new(o, "network", json_string(x->network));
    json_object_set_new(o, "operator", json_string(x->operator_name));
    json_object_set_new(o, "region", json_string(x->region));
    return o;
}

static void on_get(int rc, void *arg) {
    api_call *c = arg;
    get_ctx *h = c->h;
    if (api_reply_id_failed(c, rc, h->req.id, "This HLR lookup")) return;
    const store_hlr *it = &h->req.items[0];
    if (c->req->nsegs == 5) { /* /operator */
        api_reply_json(c, operator_json(&it->res));
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(it->id));
    json_object_set_new(o, "msisdn", json_string(it->res.msisdn));
    json_object_set_new(o, "datetime", api_time_json(it->created_ms));
    json_object_set_new(o, "operatorCode", json_string(it->res.operator_code));
    json_object_set_new(o, "ported", json_boolean(it->res.ported));
    json_object_set_new(o, "reachable", json_boolean(it->res.reachable));
    json_object_set_new(o, "roaming", json_boolean(it->res.roaming));
    json_object_set_new(o, "valid", json_boolean(it->res.valid));
    json_object_set_new(o, "status", json_string(hlr_status_name(it->status)));
    api_reply_json(c, o);
}

static void hlr_get(api_call *c) {
    int64_t id;
    if (api_path_id(c, 3, &id) < 0) return;
    get_ctx *h = api_call_state(c, sizeof *h, get_free);
    h->req.service_id = c->svc.svc.id;
    h->req.id = id;
    store_hlr_get(c->api->st, &h->req, on_get, c);
}

/* ---- GET /sms/{sn}/outgoing/{id}/hlr ---- */

typedef struct out_ctx {
    store_msg_req req;
} out_ctx;

static void out_free(void *p) {
    out_ctx *h = p;
    store_msg_fini(&h->req.msg);
    free(h);
}

static void on_out_answer(int rc, const hlr_result *res, void *arg) {
    api_call *c = arg;
    if (rc) {
        api_reply_error(c, 503, NULL, "The HLR provider could not look this number up, please "
                                      "retry later");
        return;
    }
    api_reply_json(c, operator_json(res));
}

static void on_out_msg(int rc, void *arg) {
    api_call *c = arg;
    out_ctx *h = c->h;
    if (!rc && c->vnum[0] && strcmp(h->req.msg.sender, c->vnum) != 0) rc = SG_ENOTFOUND;
    if (api_reply_id_failed(c, rc, h->req.id, "This SMS")) return;
    hlr_provider *p = c->api->hlr;
    if (p->lookup(p->self, h->req.msg.receiver, on_out_answer, c) != 0)
        api_reply_error(c, 503, NULL, "The HLR provider could not look this number up, please "
                                      "retry later");
}

static void outgoing_hlr(api_call *c) {
    if (!provider_ok(c)) return;
    int64_t id;
    if (api_path_id(c, c->req->nsegs - 2, &id) < 0) return;
    out_ctx *h = api_call_state(c, sizeof *h, out_free);
    h->req.service_id = c->svc.svc.id;
    h->req.user_id = c->user_id; /* a user's route: only the user's SMS */
    h->req.id = id;
    store_msg_get(c->api->st, &h->req, on_out_msg, c);
}

static void vn_outgoing_hlr(api_call *c) { api_vnum_then(c, outgoing_hlr); }
static void user_outgoing_hlr(api_call *c) { api_user_then(c, outgoing_hlr); }

void api_set_hlr(api *a, struct hlr_provider *p) { a->hlr = p; }

const api_route api_hlr_routes[] = {
    {"GET", "/sms/{}/hlr", API_SERVICE, hlr_list},
    {"POST", "/sms/{}/hlr", API_SERVICE | API_BODY | API_IDEM, hlr_post},
    {"GET", "/sms/{}/hlr/{}", API_SERVICE, hlr_get},
    {"GET", "/sms/{}/hlr/{}/operator", API_SERVICE, hlr_get},
    {"GET", "/sms/{}/outgoing/{}/hlr", API_SERVICE, outgoing_hlr},
    {"GET", "/sms/{}/virtualNumbers/{}/outgoing/{}/hlr", API_SERVICE, vn_outgoing_hlr},
    {"GET", "/sms/{}/users/{}/outgoing/{}/hlr", API_SERVICE, user_outgoing_hlr},
    {NULL, NULL, 0, NULL},
};
