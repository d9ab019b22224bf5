/*
 * services.c - GET /sms, GET/PUT /sms/{sn} (sms.Account) and GET /sms/ptts (spec 5.1, 5.5).
 *
 * PUT takes a partial sms.Account: writable fields change, read-only ones are ignored (spec
 * section 5 leaves it open; we ignore silently, like OVH's own clients expect). A callBack of
 * null or "" clears it.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/receipt.h"
#include "util/util.h"

/* ---- GET /sms ---- */

typedef struct list_ctx {
    store_service_list_req req;
} list_ctx;

static void list_free(void *p) {
    list_ctx *h = p;
    for (size_t i = 0; i < h->req.count; i++) free(h->req.names[i]);
    free(h->req.names);
    free(h);
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    list_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This account");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->req.count; i++) json_array_append_new(arr, json_string(h->req.names[i]));
    api_reply_json(c, arr);
}

static void sms_list(api_call *c) {
    list_ctx *h = api_call_state(c, sizeof *h, list_free);
    h->req.account_id = c->account_id;
    store_service_list(c->api->st, &h->req, on_list, c);
}

/* ---- GET /sms/{sn} ---- */

#define DEFAULT_SMS_RESPONSE                                                              \
    "{\"responseType\":\"none\",\"cgiUrl\":null,\"text\":null,"                               \
    "\"trackingDefaultSmsSender\":null,\"trackingOptions\":null}"
#define DEFAULT_TEMPLATES                                                                 \
    "{\"customizedEmailMode\":false,\"customizedSmsMode\":false,\"emailBody\":null,"       \
    "\"emailFrom\":null,\"emailSubject\":null,\"smsBody\":null}"

static json_t *json_or_default(const char *text, const char *def) {
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    return v ? v : json_loads(def, 0, NULL);
}

/* After api_user_quotas (users.c): the SMS users with an active quota, and the credits their
 * quotas hold. */
static void sms_show(api_call *c, int64_t users, int64_t held) {
    store_service *s = &c->svc.svc;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "description", json_string(s->description ? s->description : ""));
    json_object_set_new(o, "status", json_string(s->status));
    json_object_set_new(o, "creditsLeft", api_credits_json(s->balance));
    json_object_set_new(o, "creditsHoldByQuota", api_credits_json(held));
    json_object_set_new(o, "userQuantityWithQuota", json_integer(users));
    json_object_set_new(o, "callBack", s->callback ? json_string(s->callback) : json_null());
    json_object_set_new(o, "stopCallBack",
                        s->stop_callback ? json_string(s->stop_callback) : json_null());
    json_object_set_new(o, "automaticRecreditAmount",
                        s->recredit_amount ? json_integer(s->recredit_amount) : json_null());
    json_object_set_new(o, "creditThresholdForAutomaticRecredit",
                        api_credits_json(s->recredit_threshold));
    json_object_set_new(o, "smsResponse",
                        json_or_default(s->sms_response, DEFAULT_SMS_RESPONSE));
    json_object_set_new(o, "templates",
                        json_or_default(s->templates, DEFAULT_TEMPLATES));
    json_object_set_new(o, "channel", json_string("both"));
    json_object_set_new(o, "smpp", json_false());
    json_object_set_new(o, "iam", json_null());
    api_reply_json(c, o);
}

static void sms_get(api_call *c) { api_user_quotas(c, sms_show); }

/* ---- PUT /sms/{sn} ---- */

typedef struct put_ctx {
    store_service_update_req req;
    char *sms_response, *templates;
} put_ctx;

static void put_free(void *p) {
    put_ctx *h = p;
    free(h->sms_response);
    free(h->templates);
    free(h);
}

static void on_put(int rc, void *arg) {
    api_call *c = arg;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_reply_json(c, NULL);
}

/* Reads an optional URL field that may be null/"" to clear. Returns 0 (set *set, *out),
 * 1 absent, -1 replied. */
static int url_field(api_call *c, const char *name, int *set, const char **out) {
    json_t *v = json_object_get(c->body, name);
    if (!v) return 1;
    *set = 1;
    if (json_is_null(v) || (json_is_string(v) && !*json_string_value(v))) {
        *out = NULL;
        return 0;
    }
    if (json_is_string(v) && api_text_ok(c, name, json_string_value(v), json_string_length(v)) < 0)
        return -1;
    if (!json_is_string(v) || !api_url_valid(json_string_value(v))) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an http:// or https:// "
                                      "URL is expected", name);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* The keys sms.Templates and sms.Response may carry (OVH's schema) and what each holds. */
enum { K_BOOL, K_TEXT, K_OPTIONS };
typedef struct obj_key {
    const char *key;
    int kind;
} obj_key;
static const obj_key template_keys[] = {
    {"customizedEmailMode", K_BOOL}, {"customizedSmsMode", K_BOOL}, {"emailBody", K_TEXT},
    {"emailFrom", K_TEXT},           {"emailSubject", K_TEXT},      {"smsBody", K_TEXT},
    {NULL, 0}};
static const obj_key response_keys[] = {
    {"responseType", K_TEXT}, {"cgiUrl", K_TEXT}, {"text", K_TEXT},
    {"trackingDefaultSmsSender", K_TEXT}, {"trackingOptions", K_OPTIONS}, {NULL, 0}};
#define TRACKING_OPTIONS_MAX 16

/* A string member of an object field, named "object.key" in errors and in the limits table. */
static int member_text(api_call *c, const char *path, json_t *x) {
    if (!json_is_string(x)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': a string is expected",
                        path);
        return -1;
    }
    return api_text_ok(c, path, json_string_value(x), json_string_length(x));
}

/* Checks an object field (templates, smsResponse) before it is merged into the stored one:
 * only the keys of OVH's model, each of its type, every text within its limit (limits.c).
 * Returns 0, or -1 after replying 400. */
static int check_object(api_call *c, const char *name, json_t *v, const obj_key *keys) {
    const char *k;
    json_t *x;
    char path[96];
    json_object_foreach(v, k, x) {
        const obj_key *ok = keys;
        while (ok->key && strcmp(ok->key, k)) ok++;
        if (!ok->key) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': unknown key "
                                          "'%.64s'", name, k);
            return -1;
        }
        snprintf(path, sizeof path, "%s.%s", name, k);
        if (json_is_null(x)) continue;
        if (ok->kind == K_BOOL && !json_is_boolean(x)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': true or false is "
                                          "expected", path);
            return -1;
        }
        if (ok->kind == K_TEXT && member_text(c, path, x) < 0) return -1;
        if (ok->kind == K_OPTIONS) {
            if (!json_is_array(x) || json_array_size(x) > TRACKING_OPTIONS_MAX) {
                api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an array of at "
                                              "most %d {media, sender, target} objects is "
                                              "expected", path, TRACKING_OPTIONS_MAX);
                return -1;
            }
            size_t i;
            json_t *o;
            json_array_foreach(x, i, o) {
                static const char *const fields[] = {"media", "sender", "target"};
                const char *ok2;
                json_t *y;
                int bad = !json_is_object(o);
                if (!bad) json_object_foreach(o, ok2, y) {
                    size_t f = 0;
                    while (f < 3 && strcmp(fields[f], ok2)) f++;
                    if (f == 3) bad = 1;
                }
                if (bad) {
                    api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': element %zu "
                                                  "is not a {media, sender, target} object",
                                    path, i);
                    return -1;
                }
                for (size_t f = 0; f < 3; f++) {
                    json_t *y2 = json_object_get(o, fields[f]);
                    char sub[128];
                    snprintf(sub, sizeof sub, "%s.%s", path, fields[f]);
                    if (y2 && !json_is_null(y2) && member_text(c, sub, y2) < 0) return -1;
                }
            }
        }
    }
    return 0;
}

static const char *const response_types[] = {"cgi", "none", "text", NULL};

/* A partial sms.Response checked and merged (api_int.h). */
char *api_sms_response_merge(api_call *c, const char *name, json_t *v, const char *stored) {
    char path[64];
    if (!json_is_object(v)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an object is expected",
                        name);
        return NULL;
    }
    if (check_object(c, name, v, response_keys) < 0) return NULL;
    json_t *rt = json_object_get(v, "responseType");
    int found = 0;
    for (int i = 0; rt && json_is_string(rt) && response_types[i]; i++)
        if (!strcmp(json_string_value(rt), response_types[i])) found = 1;
    if (rt && !found) {
        snprintf(path, sizeof path, "%s.responseType", name);
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': one of cgi, none, text "
                                      "is expected", path);
        return NULL;
    }
    json_t *cgi = json_object_get(v, "cgiUrl");
    if (cgi && !json_is_null(cgi) &&
        (!json_is_string(cgi) || !api_url_valid(json_string_value(cgi)))) {
        snprintf(path, sizeof path, "%s.cgiUrl", name);
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': an http(s) URL is "
                                      "expected", path);
        return NULL;
    }
    /* A partial object changes only the keys it names. */
    json_t *merged = json_or_default(stored, DEFAULT_SMS_RESPONSE);
    json_object_update(merged, v);
    char *out = json_dumps(merged, JSON_COMPACT);
    json_decref(merged);
    return out;
}

static void sms_put(api_call *c) {
    put_ctx *h = api_call_state(c, sizeof *h, put_free);
    store_service_update_req *u = &h->req;
    u->service_id = c->svc.svc.id;
    if (api_field_string(c, "description", 0, &u->description) < 0) return;
    if (url_field(c, "callBack", &u->set_callback, &u->callback) < 0) return;
    if (url_field(c, "stopCallBack", &u->set_stop_callback, &u->stop_callback) < 0) return;
    json_t *v = json_object_get(c->body, "automaticRecreditAmount");
    if (v) {
        static const int64_t allowed[] = {100, 200, 250, 500, 1000, 5000, 10000};
        u->set_recredit = 1;
        if (!json_is_null(v)) {
            int ok = 0;
            for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
                if (json_is_integer(v) && json_integer_value(v) == allowed[i]) ok = 1;
            if (!ok) {
                api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                              "'automaticRecreditAmount': one of 100, 200, 250, "
                                              "500, 1000, 5000, 10000 or null is expected");
                return;
            }
            u->recredit_amount = json_integer_value(v);
        }
    }
    double thr;
    int rc = api_field_number(c, "creditThresholdForAutomaticRecredit", 0, &thr);
    if (rc < 0) return;
    if (rc == 0) {
        if (!(thr >= 0 && thr < 1e12)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter "
                                          "'creditThresholdForAutomaticRecredit': a number >= 0 "
                                          "is expected");
            return;
        }
        u->set_threshold = 1;
        u->recredit_threshold = (int64_t)llround(thr * 1000.0);
    }
    v = json_object_get(c->body, "smsResponse");
    if (v && !json_is_null(v)) {
        char *merged = api_sms_response_merge(c, "smsResponse", v, c->svc.svc.sms_response);
        if (!merged) return; /* replied: the call and h are gone */
        h->sms_response = merged;
        u->sms_response = h->sms_response;
    }
    v = json_object_get(c->body, "templates");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'templates': an object is "
                                          "expected");
            return;
        }
        if (check_object(c, "templates", v, template_keys) < 0) return;
        json_t *merged = json_or_default(c->svc.svc.templates, DEFAULT_TEMPLATES);
        json_object_update(merged, v);
        h->templates = json_dumps(merged, JSON_COMPACT);
        json_decref(merged);
        u->templates = h->templates;
    }
    store_service_update(c->api->st, u, on_put, c);
}

/* ---- GET /sms/ptts ---- */

static void ptts_get(api_call *c) {
    const char *p = http_req_param(c->req, "ptt");
    if (!p) {
        api_reply_error(c, 400, NULL, "Missing parameter 'ptt'");
        return;
    }
    char *end;
    long v = strtol(p, &end, 10);
    if (!*p || *end) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'ptt': an integer is "
                                      "expected");
        return;
    }
    const receipt_ptt *t = receipt_ptt_find((int)v);
    if (!t) {
        api_reply_error(c, 404, NULL, "Unknown ptt code %ld", v);
        return;
    }
    api_reply_json(c, json_pack("{s:s, s:s, s:s}", "description", t->description, "comment",
                                t->comment, "duration", receipt_duration_name(t->duration)));
}

const api_route api_service_routes[] = {
    {"GET", "/sms", 0, sms_list},
    {"GET", "/sms/ptts", 0, ptts_get},
    {"GET", "/sms/{}", API_SERVICE, sms_get},
    {"PUT", "/sms/{}", API_SERVICE | API_BODY, sms_put},
    {NULL, NULL, 0, NULL},
};
