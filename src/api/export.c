/*
 * export.c - the CSV export of a service's SMS history into /me/document (issue 15; docs/api.md,
 * "History export"):
 *
 *   GET /sms/{sn}/document?wayType=outgoing|incoming[&creationDatetime.from]
 *       [&creationDatetime.to][&tag][&batchID]                          -> the document's id
 *
 * and its SMS user variant (GET /sms/{sn}/users/{login}/document, the same without batchID:
 * api_user_then() loads the user, then the same handler runs with its id).
 *
 * The answer comes once the file is complete: the customer then reads /me/document/{id} and
 * downloads its getUrl, as at OVH. The file is written by a run of store_history_export
 * calls (store/store_export.h), one short transaction each, chained from their callbacks on
 * the loop: each call formats and stores about EXPORT_CALL_BYTES of lines, so neither the
 * loop nor the store thread holds more than that, nor is busy long at once, whatever the
 * history's length. The download streams the same way (documents.c).
 *
 * Invariants:
 *   1. The id is answered only after the last call recorded the document's size: a document
 *      handed out is complete.
 *   2. A failure half-way answers the store's error; the unfinished document (never marked
 *      uploaded) is deleted, or, should that fail too, expires with its TTL.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

#define SUB "api.export"
#define EXPORT_TTL_DAYS 30         /* as an uploaded document (documents.c) */
#define EXPORT_CALL_BYTES (512 * 1024)
#define UUID_MAX 64

static const char *const way_types[] = {"outgoing", "incoming", NULL};

typedef struct export_ctx {
    store_document_req doc;
    store_export_req ex;
    char *name, *tags;
    char id[STORE_UUID_LEN];  /* the document's, kept across the calls */
    int failed_rc;
} export_ctx;

static void export_free(void *p) {
    export_ctx *h = p;
    store_document_fini(&h->doc.doc);
    free(h->doc.out);
    free(h->name);
    free(h->tags);
    free(h);
}

static void on_discarded(int rc, void *arg) {
    api_call *c = arg;
    export_ctx *h = c->h;
    if (rc && rc != SG_ENOTFOUND)
        sg_log_warn(SUB, "An unfinished history export '%s' could not be deleted (it expires in "
                         "%d days): %s.", h->id, EXPORT_TTL_DAYS, sg_strerror(rc));
    api_reply_store_error(c, h->failed_rc, "This export");
}

static void on_page(int rc, void *arg) {
    api_call *c = arg;
    export_ctx *h = c->h;
    if (rc) {
        h->failed_rc = rc;
        h->doc.id = h->id;
        h->doc.account_id = c->account_id;
        store_document_fini(&h->doc.doc);
        if (store_document_delete(c->api->st, &h->doc, on_discarded, c) != 0)
            api_reply_store_error(c, rc, "This export");
        return;
    }
    if (!h->ex.done) {
        rc = store_history_export(c->api->st, &h->ex, on_page, c);
        if (rc) api_reply_store_error(c, rc, "This export");
        return;
    }
    sg_log_debug(SUB, "History export '%s' of service %lld: %lld SMS, %lld bytes.",
                 h->id, (long long)h->ex.service_id, (long long)h->ex.rows,
                 (long long)h->ex.size);
    api_reply_json(c, json_string(h->id));
}

static void on_created(int rc, void *arg) {
    api_call *c = arg;
    export_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This export");
        return;
    }
    snprintf(h->id, sizeof h->id, "%s", h->doc.doc.id);
    h->ex.document_id = h->id;
    rc = store_history_export(c->api->st, &h->ex, on_page, c);
    if (rc) api_reply_store_error(c, rc, "This export");
}

void api_export_history(api_call *c, int64_t user_id) {
    const char *way = http_req_param(c->req, "wayType");
    if (!way) {
        api_reply_error(c, 400, NULL, "Missing parameter 'wayType'");
        return;
    }
    int incoming = -1;
    for (int i = 0; way_types[i]; i++)
        if (!strcmp(way, way_types[i])) incoming = i;
    if (incoming < 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'wayType': 'outgoing' or "
                                      "'incoming' is expected");
        return;
    }
    int64_t from_ms, to_ms;
    if (api_query_time(c, "creationDatetime.from", &from_ms) ||
        api_query_time(c, "creationDatetime.to", &to_ms))
        return;
    /* Dates are shown to the second: a bound given to the second includes that whole second. */
    if (to_ms && to_ms % 1000 == 0) to_ms += 999;
    const char *tag = http_req_param(c->req, "tag");
    if (tag && api_text_ok(c, "tag", tag, strlen(tag)) < 0) return;
    const char *batch = user_id ? NULL : http_req_param(c->req, "batchID");
    if (batch && (!*batch || strlen(batch) > UUID_MAX)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'batchID': a batch id (uuid) "
                                      "is expected");
        return;
    }
    export_ctx *h = api_call_state(c, sizeof *h, export_free);
    h->ex.service_id = c->svc.svc.id;
    h->ex.user_id = user_id;
    h->ex.incoming = incoming;
    h->ex.from_ms = from_ms;
    h->ex.to_ms = to_ms;
    h->ex.tag = tag;
    h->ex.batch_id = batch;
    h->ex.max_bytes = EXPORT_CALL_BYTES;
    char day[SG_TIME_ISO_LEN];
    sg_time_iso(sg_now_ms(), day);
    day[10] = '\0';
    h->name = sg_xasprintf("sms-%s-%s-%s.csv", c->svc.svc.name, way, day);
    json_t *tags = json_pack("[{s:s,s:s},{s:s,s:s}]", "key", "serviceName", "value",
                             c->svc.svc.name, "key", "wayType", "value", way);
    h->tags = json_dumps(tags, JSON_COMPACT);
    json_decref(tags);
    h->doc.account_id = c->account_id;
    h->doc.name = h->name;
    h->doc.tags_json = h->tags;
    h->doc.ttl_ms = EXPORT_TTL_DAYS * 86400000LL;
    int rc = store_document_create(c->api->st, &h->doc, on_created, c);
    if (rc) api_reply_store_error(c, rc, "This export");
}

/* GET /sms/{sn}/document */
static void service_document(api_call *c) { api_export_history(c, 0); }

static void user_document_next(api_call *c) { api_export_history(c, c->user_id); }

/* GET /sms/{sn}/users/{login}/document: the user's SMS only (its outgoing SMS, and the
 * replies to them). */
static void user_document(api_call *c) { api_user_then(c, user_document_next); }

const api_route api_export_routes[] = {
    {"GET", "/sms/{}/document", API_SERVICE | API_SVC_CACHE, service_document},
    {"GET", "/sms/{}/users/{}/document", API_SERVICE | API_SVC_CACHE, user_document},
    {NULL, NULL, 0, NULL},
};
