/*
 * phonebooks.c - a service's phonebooks and their contacts (docs/phonebooks.md):
 *
 *   GET    /sms/{sn}/phonebooks                                  -> bookKeys
 *   POST   /sms/{sn}/phonebooks {name}                           -> the new bookKey
 *   GET    /sms/{sn}/phonebooks/{bookKey}                        -> sms.Phonebook
 *   PUT    /sms/{sn}/phonebooks/{bookKey} {name}                 -> null
 *   DELETE /sms/{sn}/phonebooks/{bookKey}                        -> null (contacts too)
 *   GET    /sms/{sn}/phonebooks/{bookKey}/export?format=csv      -> telephony.PcsFile
 *   POST   /sms/{sn}/phonebooks/{bookKey}/import {documentId}    -> telephony.Task
 *   GET    /sms/{sn}/phonebooks/{bookKey}/phonebookContact       -> contact ids
 *   POST   /sms/{sn}/phonebooks/{bookKey}/phonebookContact {...} -> the new contact's id
 *   GET    /sms/{sn}/phonebooks/{bookKey}/phonebookContact/{id}  -> sms.PhonebookContact
 *   PUT    /sms/{sn}/phonebooks/{bookKey}/phonebookContact/{id}  -> null
 *   DELETE /sms/{sn}/phonebooks/{bookKey}/phonebookContact/{id}  -> null
 *
 * Phone numbers are checked and stored in E.164 (core/phonebook.c: national forms read in
 * default-region, as sends read them). The export writes the contacts as CSV into a new
 * /me/document of the caller's account (documents.c) and answers its getUrl; the import reads
 * such a document (the columns named by its first line: core/phonebook.h), adds its valid rows
 * and answers a finished task saying how many rows were added and refused, and why the first
 * refused one was (the task's message). Both run in one store operation.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/phonebook.h"
#include "util/util.h"

#define NAME_MAX_LEN 255
#define KEY_MAX_LEN 64
#define EXPORT_TTL_MS (24 * 3600 * 1000LL) /* the exported document's getUrl lives a day */

typedef struct pb_ctx {
    store_phonebook_req req;
    char book_key[KEY_MAX_LEN + 1], phone_key[KEY_MAX_LEN + 1];
    store_contact in;    /* a contact as given (its strings are the body's, or owned below) */
    char phones[4][PHONE_E164_MAX];
    json_t *body_keep;   /* keeps the strings of in alive */
    int have[PB_NFIELDS]; /* PUT: the fields the body gives */
    int owned;            /* req.contact's strings are the store's (contact_get) */
} pb_ctx;

static void pb_free(void *p) {
    pb_ctx *h = p;
    if (h->owned) store_contact_fini(&h->req.contact);
    store_phonebook_req_fini(&h->req);
    json_decref(h->body_keep);
    free(h);
}

static pb_ctx *pb_start(api_call *c) {
    pb_ctx *h = api_call_state(c, sizeof *h, pb_free);
    h->req.service_id = c->svc.svc.id;
    h->req.account_id = c->account_id;
    h->req.now_ms = sg_now_ms();
    if (c->req->nsegs > 3) {
        snprintf(h->book_key, sizeof h->book_key, "%s", c->req->segs[3]);
        h->req.book_key = h->book_key;
    }
    return h;
}

/* The common answer of a failed operation: 404 names the book or the contact. */
static void reply_failed(api_call *c, int rc) {
    pb_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        if (c->req->nsegs > 5)
            api_reply_error(c, 404, NULL, "The requested object (id = %.20s) does not exist",
                            c->req->segs[5]);
        else
            api_reply_error(c, 404, NULL, "The requested object (bookKey = %.64s) does not exist",
                            h->book_key);
        return;
    }
    if (rc == SG_ELIMIT) {
        if (c->req->nsegs > 3)
            api_reply_error(c, 403, NULL, "This phonebook is full: at most %d contacts",
                            STORE_PHONEBOOK_MAX_CONTACTS);
        else
            api_reply_error(c, 403, NULL, "At most %d phonebooks per SMS account",
                            STORE_PHONEBOOK_MAX_BOOKS);
        return;
    }
    api_reply_store_error(c, rc, "This phonebook");
}

static void on_void(int rc, void *arg) {
    api_call *c = arg;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    api_reply_json(c, NULL);
}

/* 0 when the path's book key can be one, else -1 after replying 404. */
static int key_ok(api_call *c) {
    size_t n = strlen(c->req->segs[3]);
    if (n && n <= KEY_MAX_LEN) return 0;
    api_reply_error(c, 404, NULL, "The requested object (bookKey = %.64s) does not exist",
                    c->req->segs[3]);
    return -1;
}

/* Reads name (required or not) with its limit. 0, 1 when absent, -1 after replying. */
static int read_name(api_call *c, int required, const char **out) {
    int rc = api_field_string(c, "name", required, out);
    if (rc) return rc;
    if (!**out || strlen(*out) > NAME_MAX_LEN) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': 1 to %d characters "
                                      "are expected", NAME_MAX_LEN);
        return -1;
    }
    return 0;
}

/* ---- books ---- */

static void on_books(int rc, void *arg) {
    api_call *c = arg;
    pb_ctx *h = c->h;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < h->req.count; i++) json_array_append_new(a, json_string(h->req.keys[i]));
    api_reply_json(c, a);
}

static void books_list(api_call *c) {
    pb_ctx *h = pb_start(c);
    store_phonebook_list(c->api->st, &h->req, on_books, c);
}

static json_t *book_created_render(api_call *c) {
    pb_ctx *h = c->h;
    return json_string(h->book_key);
}

static void on_book_created(int rc, void *arg) {
    api_call *c = arg;
    if (api_idem_taken(c, rc)) return;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    api_reply_rendered(c, book_created_render);
}

static void book_create(api_call *c) {
    const char *name;
    if (read_name(c, 1, &name)) return;
    pb_ctx *h = pb_start(c);
    sg_random_hex(h->book_key, 8);
    sg_random_hex(h->phone_key, 8);
    h->req.book_key = h->book_key;
    h->req.phone_key = h->phone_key;
    h->req.name = name;
    store_phonebook_create_idem(c->api->st, &h->req, api_idem_for(c, book_created_render),
                                on_book_created, c);
}

static void on_book(int rc, void *arg) {
    api_call *c = arg;
    pb_ctx *h = c->h;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "bookKey", json_string(h->book_key));
    json_object_set_new(o, "name", json_string(h->req.out_name ? h->req.out_name : ""));
    json_object_set_new(o, "phoneKey",
                        json_string(h->req.out_phone_key ? h->req.out_phone_key : ""));
    api_reply_json(c, o);
}

static void book_get(api_call *c) {
    if (key_ok(c)) return;
    pb_ctx *h = pb_start(c);
    store_phonebook_get(c->api->st, &h->req, on_book, c);
}

static void book_put(api_call *c) {
    if (key_ok(c)) return;
    const char *name = NULL;
    int rc = read_name(c, 0, &name);
    if (rc < 0) return;
    pb_ctx *h = pb_start(c);
    if (rc == 1) { /* nothing to change: the book must still exist */
        store_phonebook_get(c->api->st, &h->req, on_void, c);
        return;
    }
    h->req.name = name;
    store_phonebook_update(c->api->st, &h->req, on_void, c);
}

static void book_delete(api_call *c) {
    if (key_ok(c)) return;
    pb_ctx *h = pb_start(c);
    store_phonebook_delete(c->api->st, &h->req, on_void, c);
}

/* ---- export and import ---- */

static void on_export(int rc, void *arg) {
    api_call *c = arg;
    pb_ctx *h = c->h;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    char *base = api_base_url(c);
    char *url = sg_xasprintf("%s/1.0/me/document/%s/content/%s", base, h->req.out_document_id,
                             h->req.token);
    char name[96];
    snprintf(name, sizeof name, "phonebook-%s.csv", h->book_key);
    json_t *o = json_object();
    json_object_set_new(o, "filename", json_string(name));
    json_object_set_new(o, "status", json_string("done"));
    json_object_set_new(o, "url", json_string(url));
    json_object_set_new(o, "urlExpirationDatetime", api_time_json(h->req.expires_ms));
    free(url);
    free(base);
    api_reply_json(c, o);
}

static void book_export(api_call *c) {
    if (key_ok(c)) return;
    const char *format = http_req_param(c->req, "format");
    if (!format) {
        api_reply_error(c, 400, NULL, "Missing parameter 'format'");
        return;
    }
    if (strcmp(format, "csv") != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'format': csv is expected");
        return;
    }
    pb_ctx *h = pb_start(c);
    h->req.ttl_ms = EXPORT_TTL_MS;
    store_phonebook_export(c->api->st, &h->req, on_export, c);
}

static void on_import(int rc, void *arg) {
    api_call *c = arg;
    pb_ctx *h = c->h;
    if (rc == SG_ENOTFOUND && c->req->nsegs == 5) {
        /* the book was found first: otherwise it is the document */
        api_reply_error(c, 404, NULL, "No such phonebook (bookKey = %.64s) or document "
                                      "(documentId = %.40s)", h->book_key, h->req.document_id);
        return;
    }
    if (rc == SG_EINVAL) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'documentId': %s",
                        h->req.message ? h->req.message : "not a CSV file");
        return;
    }
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "%lld contacts imported, %lld rows refused%s%s",
             (long long)h->req.imported, (long long)h->req.refused,
             h->req.message ? " (first: " : "", h->req.message ? h->req.message : "");
    if (h->req.message) strncat(msg, ")", sizeof msg - strlen(msg) - 1);
    json_t *o = json_object();
    json_object_set_new(o, "taskId", json_integer(h->req.task_id));
    json_object_set_new(o, "action", json_string("importPhonebook"));
    json_object_set_new(o, "serviceType", json_string("sms"));
    json_object_set_new(o, "status", json_string("done"));
    json_object_set_new(o, "message", json_string(msg));
    json_object_set_new(o, "objectCreated", json_null());
    api_reply_json(c, o);
}

static void book_import(api_call *c) {
    if (key_ok(c)) return;
    const char *doc;
    if (api_field_string(c, "documentId", 1, &doc) < 0) return;
    pb_ctx *h = pb_start(c);
    h->req.document_id = doc;
    h->req.default_region = c->api->cfg->default_region;
    store_phonebook_import(c->api->st, &h->req, on_import, c);
}

/* ---- contacts ---- */

static void on_contacts(int rc, void *arg) {
    api_call *c = arg;
    pb_ctx *h = c->h;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < h->req.count; i++) json_array_append_new(a, json_integer(h->req.ids[i]));
    api_reply_json(c, a);
}

static void contacts_list(api_call *c) {
    if (key_ok(c)) return;
    pb_ctx *h = pb_start(c);
    store_contact_list(c->api->st, &h->req, on_contacts, c);
}

static const char *const text_fields[3] = {"name", "surname", "group"};
static const char *const phone_fields[4] = {"homeMobile", "homePhone", "workMobile",
                                            "workPhone"};

/* Reads the body's contact fields into h->in (required: the POST's name, surname and group).
 * Returns 0, or -1 after replying 400. h->have[] says which fields were given. */
static int read_contact(api_call *c, pb_ctx *h, int required) {
    char **texts[3] = {&h->in.name, &h->in.surname, &h->in.group};
    for (int i = 0; i < 3; i++) {
        const char *v;
        int rc = api_field_string(c, text_fields[i], required, &v);
        if (rc < 0) return -1;
        if (rc == 0) {
            *texts[i] = (char *)v; /* borrowed from the body, kept by h->body_keep */
            h->have[i] = 1;
        }
    }
    char **phones[4] = {&h->in.home_mobile, &h->in.home_phone, &h->in.work_mobile,
                        &h->in.work_phone};
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get(c->body, phone_fields[i]);
        if (!v) continue;
        h->have[PB_FIRST_PHONE + i] = 1;
        if (json_is_null(v)) continue; /* cleared */
        if (!json_is_string(v) ||
            phonebook_phone(json_string_value(v), c->api->cfg->default_region, h->phones[i])) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': a phone number is "
                                          "expected", phone_fields[i]);
            return -1;
        }
        if (h->phones[i][0]) *phones[i] = h->phones[i];
    }
    h->body_keep = json_incref(c->body);
    return 0;
}

static json_t *contact_created_render(api_call *c) {
    pb_ctx *h = c->h;
    return json_integer(h->req.contact.id);
}

static void on_contact_created(int rc, void *arg) {
    api_call *c = arg;
    if (api_idem_taken(c, rc)) return;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    api_reply_rendered(c, contact_created_render);
}

static void contact_create(api_call *c) {
    if (key_ok(c)) return;
    pb_ctx *h = pb_start(c);
    if (read_contact(c, h, 1) < 0) return;
    h->req.contact = h->in;
    h->req.contact.id = 0;
    store_contact_create_idem(c->api->st, &h->req, api_idem_for(c, contact_created_render),
                              on_contact_created, c);
}

static json_t *opt_string(const char *s) { return s ? json_string(s) : json_null(); }

static void on_contact(int rc, void *arg) {
    api_call *c = arg;
    pb_ctx *h = c->h;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    const store_contact *k = &h->req.contact;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(k->id));
    json_object_set_new(o, "name", json_string(k->name ? k->name : ""));
    json_object_set_new(o, "surname", json_string(k->surname ? k->surname : ""));
    json_object_set_new(o, "group", json_string(k->group ? k->group : ""));
    json_object_set_new(o, "homeMobile", opt_string(k->home_mobile));
    json_object_set_new(o, "homePhone", opt_string(k->home_phone));
    json_object_set_new(o, "workMobile", opt_string(k->work_mobile));
    json_object_set_new(o, "workPhone", opt_string(k->work_phone));
    api_reply_json(c, o);
}

/* Parses the contact id of the path into h (0 or -1 after replying 404). */
static int contact_id(api_call *c, pb_ctx *h) {
    return api_path_id(c, 5, &h->req.contact.id);
}

static void contact_get(api_call *c) {
    if (key_ok(c)) return;
    pb_ctx *h = pb_start(c);
    if (contact_id(c, h) < 0) return;
    h->owned = 1;
    store_contact_get(c->api->st, &h->req, on_contact, c);
}

/* PUT: the stored contact read, the given fields laid over it, then written whole. */
static void on_contact_before_put(int rc, void *arg) {
    api_call *c = arg;
    pb_ctx *h = c->h;
    if (rc) {
        reply_failed(c, rc);
        return;
    }
    store_contact *k = &h->req.contact;
    char **dst[PB_NFIELDS] = {&k->name,        &k->surname,    &k->group,     &k->home_mobile,
                              &k->home_phone,  &k->work_mobile, &k->work_phone};
    char *src[PB_NFIELDS] = {h->in.name,       h->in.surname,    h->in.group,
                             h->in.home_mobile, h->in.home_phone, h->in.work_mobile,
                             h->in.work_phone};
    for (int i = 0; i < PB_NFIELDS; i++) {
        if (!h->have[i]) continue;
        free(*dst[i]);
        *dst[i] = src[i] ? sg_xstrdup(src[i]) : NULL;
    }
    store_contact_update(c->api->st, &h->req, on_void, c);
}

static void contact_put(api_call *c) {
    if (key_ok(c)) return;
    pb_ctx *h = pb_start(c);
    if (contact_id(c, h) < 0 || read_contact(c, h, 0) < 0) return;
    h->owned = 1;
    store_contact_get(c->api->st, &h->req, on_contact_before_put, c);
}

static void contact_delete(api_call *c) {
    if (key_ok(c)) return;
    pb_ctx *h = pb_start(c);
    if (contact_id(c, h) < 0) return;
    store_contact_delete(c->api->st, &h->req, on_void, c);
}

const api_route api_phonebook_routes[] = {
    {"GET", "/sms/{}/phonebooks", API_SERVICE, books_list},
    {"POST", "/sms/{}/phonebooks", API_SERVICE | API_BODY | API_IDEM, book_create},
    {"GET", "/sms/{}/phonebooks/{}", API_SERVICE, book_get},
    {"PUT", "/sms/{}/phonebooks/{}", API_SERVICE | API_BODY, book_put},
    {"DELETE", "/sms/{}/phonebooks/{}", API_SERVICE, book_delete},
    {"GET", "/sms/{}/phonebooks/{}/export", API_SERVICE, book_export},
    {"POST", "/sms/{}/phonebooks/{}/import", API_SERVICE | API_BODY, book_import},
    {"GET", "/sms/{}/phonebooks/{}/phonebookContact", API_SERVICE, contacts_list},
    {"POST", "/sms/{}/phonebooks/{}/phonebookContact", API_SERVICE | API_BODY | API_IDEM,
     contact_create},
    {"GET", "/sms/{}/phonebooks/{}/phonebookContact/{}", API_SERVICE, contact_get},
    {"PUT", "/sms/{}/phonebooks/{}/phonebookContact/{}", API_SERVICE | API_BODY, contact_put},
    {"DELETE", "/sms/{}/phonebooks/{}/phonebookContact/{}", API_SERVICE, contact_delete},
    {NULL, NULL, 0, NULL},
};
