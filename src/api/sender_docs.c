/*
 * sender_docs.c - what backs a sender's declaration (docs/api.md, "Senders"):
 *
 *   POST /sms/{sn}/senders/{sender}/validate {code}        enables the sender with the code
 *   GET  /sms/{sn}/senders/{sender}/documents              document ids
 *   POST /sms/{sn}/senders/{sender}/documents {name, description?}   sms.SenderDocument
 *   GET  /sms/{sn}/senders/{sender}/documents/{documentID}           sms.SenderDocument
 *   PUT  /sms/{sn}/senders/{sender}/documents/{documentID}           name, description
 *   POST /admin/services/{sn}/senders/{sender}/code        the operator issues a code
 *                                                          (`smsctl sender code`)
 *
 * A sender that is a phone number is proven by a code its owner receives: the operator issues
 * it (smsctl sender code SERVICE SENDER prints it) and delivers it to the number, the customer
 * posts it to validate. A right code enables the sender, as the operator's approval would, and
 * is used up; STORE_SENDER_CODE_TRIES wrong ones void it (403), each answered 400.
 *
 * A sender's document (a company registration, an authorisation to use a brand) is uploaded
 * like a receivers CSV: its documentID is a /me/document of the account, and its putUrl and
 * getUrl are that document's (documents.c), so that the operator reads it with a plain GET.
 * It does not expire.
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* ---- validate ---- */

static void on_validate(int rc, void *arg) {
    api_call *c = arg;
    store_sender_code_req *r = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The sender '%s' does not exist", r->sender);
    } else if (rc == SG_EPERM) {
        api_reply_error(c, 403, NULL, "No validation code is pending for the sender '%s': ask "
                                      "for a new one",
                        r->sender);
    } else if (rc) {
        api_reply_store_error(c, rc, "This sender");
    } else if (r->tries_left >= 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'code': wrong code (%d "
                                      "tries left)",
                        r->tries_left);
    } else {
        api_reply_json(c, NULL);
    }
}

static void validate(api_call *c) {
    store_sender_code_req *r = api_call_state(c, sizeof *r, free);
    r->service_id = c->svc.svc.id;
    r->sender = c->req->segs[3];
    r->now_ms = sg_now_ms();
    if (api_field_string(c, "code", 1, &r->code) < 0) return;
    store_sender_validate(c->api->st, r, on_validate, c);
}

static void on_code(int rc, void *arg) {
    api_call *c = arg;
    store_sender_code_req *r = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No such service or sender");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This sender");
        return;
    }
    api_reply_json(c, json_pack("{s:s}", "code", r->code_out));
}

static void code_issue(api_call *c) {
    store_sender_code_req *r = api_call_state(c, sizeof *r, free);
    r->service_name = c->req->segs[2];
    r->sender = c->req->segs[4];
    r->now_ms = sg_now_ms();
    store_sender_code(c->api->st, r, on_code, c);
}

/* ---- documents ---- */

static void doc_free(void *p) {
    store_sender_doc_fini(p);
    free(p);
}

static store_sender_doc_req *start(api_call *c) {
    store_sender_doc_req *r = api_call_state(c, sizeof *r, doc_free);
    r->account_id = c->account_id;
    r->service_id = c->svc.svc.id;
    r->sender = c->req->segs[3];
    if (c->req->nsegs > 5) r->id = c->req->segs[5];
    return r;
}

/* sms.SenderDocument of the call's document (api_render_fn: also runs on the store thread,
 * where api_base_url reads the copy kept on the loop thread). */
static json_t *doc_render(api_call *c) {
    const store_sender_doc *d = &((store_sender_doc_req *)c->h)->out;
    char *base = api_base_url(c);
    char *url = sg_xasprintf("%s/1.0/me/document/%s/content/%s", base, d->id, d->token);
    json_t *o = json_object();
    json_object_set_new(o, "createdAt", api_time_json(d->created_ms));
    json_object_set_new(o, "description", d->description ? json_string(d->description)
                                                         : json_null());
    json_object_set_new(o, "documentID", json_string(d->id));
    json_object_set_new(o, "getUrl", json_string(url));
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "putUrl", json_string(url));
    json_object_set_new(o, "size", json_integer(d->size));
    free(url);
    free(base);
    return o;
}

static void on_doc(int rc, void *arg) {
    api_call *c = arg;
    store_sender_doc_req *r = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ENOTFOUND) {
        if (r->id)
            api_reply_error(c, 404, NULL, "The document '%s' of the sender '%s' does not exist",
                            r->id, r->sender);
        else
            api_reply_error(c, 404, NULL, "The sender '%s' does not exist", r->sender);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This document");
        return;
    }
    if (!strcmp(c->route->method, "PUT")) {
        api_reply_json(c, NULL);
        return;
    }
    api_reply_rendered(c, doc_render);
}

static void doc_create(api_call *c) {
    store_sender_doc_req *r = start(c);
    if (api_field_string(c, "name", 1, &r->name) < 0 ||
        api_field_string(c, "description", 0, &r->description) < 0)
        return;
    if (!*r->name) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': it may not be empty");
        return;
    }
    store_sender_doc_create_idem(c->api->st, r, api_idem_for(c, doc_render), on_doc, c);
}

static void doc_get(api_call *c) {
    store_sender_doc_req *r = start(c);
    store_sender_doc_get(c->api->st, r, on_doc, c);
}

static void doc_put(api_call *c) {
    store_sender_doc_req *r = start(c);
    if (api_field_string(c, "name", 0, &r->name) < 0) return;
    if (r->name && !*r->name) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': it may not be empty");
        return;
    }
    json_t *d = json_object_get(c->body, "description");
    if (d) {
        r->set_description = 1;
        if (!json_is_null(d) && api_field_string(c, "description", 0, &r->description) < 0)
            return;
    }
    /* documentID, createdAt, size and the URLs are read-only: ignored. */
    store_sender_doc_update(c->api->st, r, on_doc, c);
}

static void on_doc_list(int rc, void *arg) {
    api_call *c = arg;
    store_sender_doc_req *r = c->h;
    if (rc) {
        on_doc(rc, arg);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < r->count; i++) json_array_append_new(arr, json_string(r->ids[i]));
    api_reply_json(c, arr);
}

static void doc_list(api_call *c) {
    store_sender_doc_req *r = start(c);
    store_sender_doc_list(c->api->st, r, on_doc_list, c);
}

const api_route api_sender_doc_routes[] = {
    {"POST", "/sms/{}/senders/{}/validate", API_SERVICE | API_SVC_CACHE | API_BODY, validate},
    {"GET", "/sms/{}/senders/{}/documents", API_SERVICE | API_SVC_CACHE, doc_list},
    {"POST", "/sms/{}/senders/{}/documents", API_SERVICE | API_SVC_CACHE | API_BODY | API_IDEM,
     doc_create},
    {"GET", "/sms/{}/senders/{}/documents/{}", API_SERVICE | API_SVC_CACHE, doc_get},
    {"PUT", "/sms/{}/senders/{}/documents/{}", API_SERVICE | API_SVC_CACHE | API_BODY, doc_put},
    {"POST", "/admin/services/{}/senders/{}/code", API_ADMIN, code_issue},
    {NULL, NULL, 0, NULL},
};
