/*
 * templates.c - /sms/{sn}/templatesControl: the message templates a service declares before
 * sending to the United States (sms.TemplateControl), moderated by the operator like senders.
 *
 *   GET    /sms/{sn}/templatesControl                              names
 *   POST   /sms/{sn}/templatesControl {activity, message, name, description?, reason?}
 *   GET    /sms/{sn}/templatesControl/{name}                       sms.TemplateControl
 *   PUT    /sms/{sn}/templatesControl/{name}                       partial sms.TemplateControl
 *   DELETE /sms/{sn}/templatesControl/{name}
 *   POST   /sms/{sn}/templatesControl/{name}/relaunchValidation {description, message}
 *   GET    /admin/services/{sn}/templates     every template in full (`smsctl template list`)
 *   PUT    /admin/services/{sn}/templates/{name} {status: enable|refused, comment?}
 *                                        the operator's decision (`smsctl template approve|refuse`)
 *
 * Lifecycle (store sqlite_ops.c invariant 3): a template is declared waitingValidation; the
 * operator sets it to enable or refused with a comment; the customer may then switch an
 * enabled template to disable and back. A new message (PUT or relaunchValidation) sends it
 * back to waitingValidation, its comment cleared, for the operator to look at again.
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static const char *const activities[] = {"alerting", "authentification", "transactional", NULL};
static const char *const statuses[] = {"disable", "enable", "refused", "waitingValidation", NULL};

static json_t *tmpl_json(const store_template *t);

static void tmpl_free(void *p) {
    store_template_fini(p);
    free(p);
}

static store_template_req *start(api_call *c) {
    store_template_req *r = api_call_state(c, sizeof *r, tmpl_free);
    r->service_id = c->svc.svc.id;
    r->now_ms = sg_now_ms();
    if (c->req->nsegs > 3) r->name = c->req->segs[3];
    return r;
}

static json_t *null_render(api_call *c) {
    (void)c;
    return json_null();
}

static void on_void(int rc, void *arg) {
    api_call *c = arg;
    store_template_req *r = c->h;
    if (api_idem_taken(c, rc)) return;
    switch (rc) {
    case 0: api_reply_rendered(c, null_render); return;
    case SG_ENOTFOUND:
        api_reply_error(c, 404, NULL, "The template '%s' does not exist", r->name);
        return;
    case SG_ECONFLICT:
        api_reply_error(c, 409, NULL, "The template '%s' already exists", r->name);
        return;
    case SG_EPERM:
        api_reply_error(c, 403, NULL, "The template '%s' must be validated by the operator "
                                      "first: only an enabled template can be disabled, and a "
                                      "disabled one enabled", r->name);
        return;
    default: api_reply_store_error(c, rc, "This template");
    }
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    store_template_req *r = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < r->count; i++) json_array_append_new(arr, json_string(r->names[i]));
    api_reply_json(c, arr);
}

static void tmpl_list(api_call *c) {
    store_template_req *r = start(c);
    store_template_list(c->api->st, r, on_list, c);
}

/* A required, non-empty string field. */
static int nonempty(api_call *c, const char *name, const char **out) {
    if (api_field_string(c, name, 1, out) < 0) return -1;
    if (!**out) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': it may not be empty",
                        name);
        return -1;
    }
    return 0;
}

static void tmpl_create(api_call *c) {
    store_template_req *r = start(c);
    int act;
    if (api_field_enum(c, "activity", 1, activities, &act) < 0 ||
        nonempty(c, "message", &r->message) < 0 || nonempty(c, "name", &r->name) < 0 ||
        api_field_string(c, "description", 0, &r->description) < 0 ||
        api_field_string(c, "reason", 0, &r->reason) < 0)
        return;
    if (strchr(r->name, '/')) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': '/' is not allowed");
        return;
    }
    r->activity = activities[act];
    store_template_create_idem(c->api->st, r, api_idem_for(c, null_render), on_void, c);
}

static void on_get(int rc, void *arg) {
    api_call *c = arg;
    store_template_req *r = c->h;
    if (rc) {
        on_void(rc, arg);
        return;
    }
    api_reply_json(c, tmpl_json(&r->out));
}

static void tmpl_get(api_call *c) {
    store_template_req *r = start(c);
    store_template_get(c->api->st, r, on_get, c);
}

static void tmpl_put(api_call *c) {
    store_template_req *r = start(c);
    int act = -1, st = -1;
    if (api_field_enum(c, "activity", 0, activities, &act) < 0 ||
        api_field_string(c, "description", 0, &r->description) < 0 ||
        api_field_string(c, "message", 0, &r->message) < 0 ||
        api_field_enum(c, "status", 0, statuses, &st) < 0)
        return;
    if (r->message && !*r->message) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'message': it may not be "
                                      "empty");
        return;
    }
    /* name, comment and datetime are read-only here: ignored (services.c's rule). */
    if (act >= 0) r->activity = activities[act];
    if (st >= 0) r->status = statuses[st];
    store_template_update(c->api->st, r, on_void, c);
}

static void tmpl_delete(api_call *c) {
    store_template_req *r = start(c);
    store_template_delete(c->api->st, r, on_void, c);
}

static void tmpl_relaunch(api_call *c) {
    store_template_req *r = start(c);
    if (api_field_string(c, "description", 1, &r->description) < 0 ||
        nonempty(c, "message", &r->message) < 0)
        return;
    r->relaunch = 1;
    store_template_update(c->api->st, r, on_void, c);
}

/* sms.TemplateControl of t. */
static json_t *tmpl_json(const store_template *t) {
    json_t *o = json_object();
    json_object_set_new(o, "activity", json_string(t->activity));
    json_object_set_new(o, "comment", json_string(t->comment ? t->comment : ""));
    json_object_set_new(o, "datetime", api_time_json(t->created_ms));
    json_object_set_new(o, "description", json_string(t->description ? t->description : ""));
    json_object_set_new(o, "message", json_string(t->message));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "status", json_string(t->status));
    return o;
}

/* The operator's list: GET /admin/services/{sn}/templates, every template in full. */
static void on_admin_list(int rc, void *arg) {
    api_call *c = arg;
    store_template_req *r = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No such service");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < r->count; i++) json_array_append_new(arr, tmpl_json(&r->rows[i]));
    api_reply_json(c, arr);
}

static void tmpl_admin_list(api_call *c) {
    store_template_req *r = api_call_state(c, sizeof *r, tmpl_free);
    r->service_name = c->req->segs[2];
    r->admin = 1;
    store_template_list(c->api->st, r, on_admin_list, c);
}

/* The operator's decision: PUT /admin/services/{sn}/templates/{name}. */
static void tmpl_moderate(api_call *c) {
    static const char *const decisions[] = {"enable", "refused", NULL};
    store_template_req *r = api_call_state(c, sizeof *r, tmpl_free);
    r->service_name = c->req->segs[2];
    r->name = c->req->segs[4];
    r->admin = 1;
    r->now_ms = sg_now_ms();
    int st;
    if (api_field_enum(c, "status", 1, decisions, &st) < 0 ||
        api_field_string(c, "comment", 0, &r->comment) < 0)
        return;
    r->status = decisions[st];
    store_template_update(c->api->st, r, on_void, c);
}

const api_route api_template_routes[] = {
    {"GET", "/sms/{}/templatesControl", API_SERVICE | API_SVC_CACHE, tmpl_list},
    {"POST", "/sms/{}/templatesControl", API_SERVICE | API_SVC_CACHE | API_BODY | API_IDEM,
     tmpl_create},
    {"GET", "/sms/{}/templatesControl/{}", API_SERVICE | API_SVC_CACHE, tmpl_get},
    {"PUT", "/sms/{}/templatesControl/{}", API_SERVICE | API_SVC_CACHE | API_BODY, tmpl_put},
    {"DELETE", "/sms/{}/templatesControl/{}", API_SERVICE | API_SVC_CACHE, tmpl_delete},
    {"POST", "/sms/{}/templatesControl/{}/relaunchValidation",
     API_SERVICE | API_SVC_CACHE | API_BODY, tmpl_relaunch},
    {"GET", "/admin/services/{}/templates", API_ADMIN, tmpl_admin_list},
    {"PUT", "/admin/services/{}/templates/{}", API_ADMIN | API_BODY, tmpl_moderate},
    {NULL, NULL, 0, NULL},
};
