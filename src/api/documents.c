/*
 * documents.c - the upload container of OVH's /me/document (spec/ovh-sms-api.md 5.10, 9.D),
 * served by smsgated itself so that a receivers CSV can be uploaded and named by documentId:
 *
 *   POST   /me/document {name, tags}          -> me.Document with its putUrl and getUrl
 *   GET    /me/document                       -> the account's document ids
 *   GET    /me/document/{id}                  -> me.Document
 *   DELETE /me/document/{id}                  -> null
 *   PUT    /me/document/{id}/content/{token}  the putUrl: the raw body becomes the content
 *   GET    /me/document/{id}/content/{token}  the getUrl: the content as uploaded
 *
 * The put and get URLs carry a random token (the store compares it in constant time) and no
 * OVH signature, like OVH's pre-signed URLs, so any HTTP client can upload with a plain PUT.
 * They are built by api_base_url(): the first public-url when one is configured, else the
 * listener's scheme and the address the client connected to (never the Host header). A
 * document lives DOCUMENT_TTL_DAYS, then the campaigns housekeeping deletes it. Uploads are
 * bounded by max-body (the HTTP layer buffers a request body whole); the store keeps the
 * content in slices, and loading a receivers slot reads it back one slice at a time.
 *
 * Downloads stream: a document may be a history export of hundreds of megabytes
 * (export.c). The getUrl reads DOWNLOAD_READ_BYTES of slices at a time from the store and
 * writes them to the client (http_reply_stream_*), reading the next only once those left the
 * output buffer; a document read whole by its first read is answered at once, as before. The
 * Content-Length is the size recorded with the content: should the content be replaced during
 * a download, the connection is closed rather than a mix sent.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define DOCUMENT_TTL_DAYS 30
#define NAME_MAX_LEN 255
#define TAGS_MAX 20
#define DOWNLOAD_READ_BYTES (256 * 1024)

typedef struct doc_ctx {
    store_document_req req;
    char *tags;
    int streaming;   /* download: the headers went out */
    uint64_t sent;   /* download: bytes handed to the HTTP layer */
} doc_ctx;

static void doc_free(void *p) {
    doc_ctx *h = p;
    store_document_fini(&h->req.doc);
    free(h->req.out);
    free(h->tags);
    free(h);
}

static doc_ctx *doc_start(api_call *c) {
    doc_ctx *h = api_call_state(c, sizeof *h, doc_free);
    return h;
}

static json_t *doc_json(api_call *c, const store_document *d) {
    char *base = api_base_url(c);
    char *url = sg_xasprintf("%s/1.0/me/document/%s/content/%s", base, d->id, d->token);
    json_t *tags = json_loads(d->tags_json ? d->tags_json : "[]", 0, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(d->id));
    json_object_set_new(o, "name", json_string(d->name ? d->name : ""));
    json_object_set_new(o, "tags", tags ? tags : json_array());
    json_object_set_new(o, "size", json_integer(d->size));
    json_object_set_new(o, "creationDate", api_time_json(d->created_ms));
    json_object_set_new(o, "expirationDate", api_time_json(d->expires_ms));
    json_object_set_new(o, "validationDate", json_null());
    json_object_set_new(o, "getUrl", json_string(url));
    json_object_set_new(o, "putUrl", json_string(url));
    free(url);
    free(base);
    return o;
}

/* The answer to a document read or created (api_render_fn: also runs on the store thread). */
static json_t *doc_render(api_call *c) {
    doc_ctx *h = c->h;
    return doc_json(c, &h->req.doc);
}

static void on_doc(int rc, void *arg) {
    api_call *c = arg;
    doc_ctx *h = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The requested object (id = %.40s) does not exist",
                        h->req.id ? h->req.id : "");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This document");
        return;
    }
    api_reply_rendered(c, doc_render);
}

/* POST /me/document */
static void doc_create(api_call *c) {
    const char *name;
    if (api_field_string(c, "name", 1, &name) < 0) return;
    if (!*name || strlen(name) > NAME_MAX_LEN) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': 1 to %d characters "
                                      "are expected", NAME_MAX_LEN);
        return;
    }
    json_t *tags = json_object_get(c->body, "tags");
    if (tags && !json_is_null(tags)) {
        if (!json_is_array(tags) || json_array_size(tags) > TAGS_MAX) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'tags': an array of at "
                                          "most %d {\"key\",\"value\"} objects is expected",
                            TAGS_MAX);
            return;
        }
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t) {
            if (!json_is_object(t) || !json_is_string(json_object_get(t, "key")) ||
                !json_is_string(json_object_get(t, "value"))) {
                api_reply_error(c, 400, NULL, "Invalid value for parameter 'tags': element %zu "
                                              "is not a {\"key\",\"value\"} object of strings", i);
                return;
            }
            json_t *k = json_object_get(t, "key"), *v = json_object_get(t, "value");
            if (api_text_ok(c, "tags.key", json_string_value(k), json_string_length(k)) < 0 ||
                api_text_ok(c, "tags.value", json_string_value(v), json_string_length(v)) < 0)
                return;
        }
    }
    doc_ctx *h = doc_start(c);
    h->tags = tags && !json_is_null(tags) ? json_dumps(tags, JSON_COMPACT) : sg_xstrdup("[]");
    h->req.account_id = c->account_id;
    h->req.name = name;
    h->req.tags_json = h->tags;
    h->req.ttl_ms = DOCUMENT_TTL_DAYS * 86400000LL;
    store_document_create_idem(c->api->st, &h->req, api_idem_for(c, doc_render), on_doc, c);
}

/* GET /me/document/{id} */
static void doc_get(api_call *c) {
    doc_ctx *h = doc_start(c);
    h->req.account_id = c->account_id;
    h->req.id = c->req->segs[2];
    store_document_get(c->api->st, &h->req, on_doc, c);
}

static void on_deleted(int rc, void *arg) {
    api_call *c = arg;
    doc_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The requested object (id = %.40s) does not exist",
                        h->req.id);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This document");
        return;
    }
    api_reply_json(c, NULL);
}

/* DELETE /me/document/{id} */
static void doc_delete(api_call *c) {
    doc_ctx *h = doc_start(c);
    h->req.account_id = c->account_id;
    h->req.id = c->req->segs[2];
    store_document_delete(c->api->st, &h->req, on_deleted, c);
}

typedef struct list_ctx {
    store_document_list_req req;
} list_ctx;

static void list_free(void *p) {
    list_ctx *h = p;
    for (size_t i = 0; i < h->req.count; i++) free(h->req.ids[i]);
    free(h->req.ids);
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
        json_array_append_new(arr, json_string(h->req.ids[i]));
    api_reply_json(c, arr);
}

/* GET /me/document */
static void doc_list(api_call *c) {
    list_ctx *h = api_call_state(c, sizeof *h, list_free);
    h->req.account_id = c->account_id;
    store_document_list(c->api->st, &h->req, on_list, c);
}

static void on_content(int rc, void *arg) {
    api_call *c = arg;
    doc_ctx *h = c->h;
    if (rc == SG_ENOTFOUND || rc == SG_EPERM) {
        /* A wrong token says no more than an unknown document. */
        api_reply_error(c, 404, NULL, "No such document upload URL (unknown, expired or wrong "
                                      "token)");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This document");
        return;
    }
    if (h->req.out) {
        api_reply_raw(c, "text/csv; charset=utf-8", h->req.out, h->req.out_len);
        return;
    }
    api_reply_json(c, NULL);
}

/* PUT /me/document/{id}/content/{token}: the putUrl (no OVH signature; the token is the key). */
static void doc_upload(api_call *c) {
    doc_ctx *h = doc_start(c);
    h->req.id = c->req->segs[2];
    h->req.token = c->req->segs[4];
    h->req.data = c->req->body;
    h->req.len = c->req->body_len;
    store_document_put(c->api->st, &h->req, on_content, c);
}

static void on_download_read(int rc, void *arg);

static void download_abort(api_call *c) {
    http_reply_stream_abort(c->req);
    api_call_streamed(c);
}

static void read_next(api_call *c) {
    doc_ctx *h = c->h;
    store_document_fini(&h->req.doc);
    free(h->req.out);
    h->req.out = NULL;
    h->req.seq = h->req.next_seq;
    if (store_document_read(c->api->st, &h->req, on_download_read, c) != 0) download_abort(c);
}

static void on_download_written(http_req *r, int rc, void *arg) {
    api_call *c = arg;
    doc_ctx *h = c->h;
    (void)r;
    if (rc) {
        download_abort(c); /* the client went away */
        return;
    }
    if (!h->req.eof) {
        read_next(c);
        return;
    }
    http_reply_stream_end(c->req); /* cut off instead when the size changed meanwhile */
    api_call_streamed(c);
}

static void on_download_read(int rc, void *arg) {
    api_call *c = arg;
    doc_ctx *h = c->h;
    if (!h->streaming) {
        if (rc || h->req.eof) { /* an error, or the whole document in one read */
            on_content(rc, arg);
            return;
        }
        if (http_reply_stream_start(c->req, "text/csv; charset=utf-8",
                                    (uint64_t)h->req.doc.size)) {
            api_call_streamed(c); /* HEAD, or the client is gone */
            return;
        }
        h->streaming = 1;
    }
    if (rc || h->sent + h->req.out_len > (uint64_t)h->req.doc.size) {
        download_abort(c); /* logged by the store; or the content changed under the download */
        return;
    }
    if (!h->req.out_len) {
        on_download_written(c->req, 0, c);
        return;
    }
    h->sent += h->req.out_len;
    http_reply_stream_write(c->req, h->req.out, h->req.out_len, on_download_written, c);
}

/* GET /me/document/{id}/content/{token}: the getUrl. */
static void doc_download(api_call *c) {
    doc_ctx *h = doc_start(c);
    h->req.id = c->req->segs[2];
    h->req.token = c->req->segs[4];
    h->req.max_bytes = DOWNLOAD_READ_BYTES;
    store_document_read(c->api->st, &h->req, on_download_read, c);
}

const api_route api_document_routes[] = {
    {"POST", "/me/document", API_BODY | API_IDEM, doc_create},
    {"GET", "/me/document", 0, doc_list},
    {"GET", "/me/document/{}", 0, doc_get},
    {"DELETE", "/me/document/{}", 0, doc_delete},
    {"PUT", "/me/document/{}/content/{}", API_NOAUTH | API_RAW, doc_upload},
    {"GET", "/me/document/{}/content/{}", API_NOAUTH, doc_download},
    {NULL, NULL, 0, NULL},
};
