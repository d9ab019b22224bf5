/*
 * auth_routes.c - /auth/time, /auth/credential, /auth/currentCredential (spec 2.4-2.5).
 *
 * A consumer key requested with POST /auth/credential belongs to the application named by
 * X-Ovh-Application and stays pendingValidation until an operator validates it
 * (`smsctl credential validate CK`, or the admin API); validationUrl points to a page that
 * says so. Requests are limited per client address (credential-rate-per-address, a minute's
 * budget), and a key not validated within consumer-key-pending-ttl-s expires: validating it
 * then fails, and the API's housekeeping deletes it (api_start()).
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "auth/sign.h"
#include "util/util.h"

static void auth_time(api_call *c) {
    api_reply_json(c, json_integer(sg_now_ms() / 1000));
}

typedef struct cred_ctx {
    store_credential_create_req req;
    char *rules, *ips;
} cred_ctx;

static void cred_free(void *p) {
    cred_ctx *h = p;
    free(h->rules);
    free(h->ips);
    free(h->req.consumer_key);
    free(h);
}

static void on_cred(int rc, void *arg) {
    api_call *c = arg;
    cred_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 403, "INVALID_KEY", "This application key is invalid");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This credential");
        return;
    }
    char *base = api_base_url(c);
    char *url = sg_xasprintf("%s/1.0/auth/validation?credentialToken=%s", base,
                             h->req.consumer_key);
    free(base);
    json_t *o = json_pack("{s:s, s:s, s:s}", "validationUrl", url, "consumerKey",
                          h->req.consumer_key, "state", "pendingValidation");
    free(url);
    api_reply_json(c, o);
}

#define ACCESS_RULES_MAX 256 /* rules in one consumer key (docs/api.md, "Field limits") */

static void auth_credential(api_call *c) {
    if (api_limit_credential(c) < 0) return;
    const char *ak = http_req_header(c->req, "X-Ovh-Application");
    if (!ak || !*ak) {
        api_reply_error(c, 403, "INVALID_KEY", "This application key is invalid");
        return;
    }
    json_t *rules = json_object_get(c->body, "accessRules");
    char err[256];
    if (!rules || !json_is_array(rules)) {
        api_reply_error(c, 400, NULL, "Missing parameter 'accessRules'");
        return;
    }
    if (auth_rules_validate(rules, err, sizeof err) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'accessRules': %s", err);
        return;
    }
    if (json_array_size(rules) > ACCESS_RULES_MAX) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'accessRules': at most %d "
                                      "rules are allowed", ACCESS_RULES_MAX);
        return;
    }
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule) {
        json_t *p = json_object_get(rule, "path"); /* a string: checked just above */
        if (api_text_ok(c, "accessRules.path", json_string_value(p), json_string_length(p)) < 0)
            return;
    }
    json_t *ips = json_object_get(c->body, "allowedIPs");
    if (ips && !json_is_null(ips) && auth_cidrs_validate(ips, err, sizeof err) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'allowedIPs': %s", err);
        return;
    }
    const char *redirection = NULL;
    if (api_field_string(c, "redirection", 0, &redirection) < 0) return;
    if (redirection && *redirection && !api_url_valid(redirection)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'redirection': an http(s) "
                                      "URL is expected");
        return;
    }
    cred_ctx *h = api_call_state(c, sizeof *h, cred_free);
    h->rules = json_dumps(rules, JSON_COMPACT);
    h->ips = ips && json_is_array(ips) && json_array_size(ips) ? json_dumps(ips, JSON_COMPACT)
                                                                 : NULL;
    h->req.app_key = ak;
    h->req.rules_json = h->rules;
    h->req.allowed_ips_json = h->ips;
    h->req.redirection = redirection;
    store_credential_create(c->api->st, &h->req, on_cred, c);
}

static void auth_validation_page(api_call *c) {
    static const char page[] =
        "This consumer key is waiting for validation by the operator of this smsgate service.\n"
        "Operators validate it with: smsctl credential validate CONSUMER_KEY\n";
    api_reply_raw(c, "text/plain; charset=utf-8", page, sizeof page - 1);
}

static void auth_current(api_call *c) {
    store_auth_lookup_req *a = &c->auth;
    json_t *rules = json_loads(a->rules_json ? a->rules_json : "[]", 0, NULL);
    json_t *ips = a->allowed_ips_json ? json_loads(a->allowed_ips_json, 0, NULL) : json_null();
    json_t *o = json_object();
    json_object_set_new(o, "credentialId", json_integer(a->cred_id));
    json_object_set_new(o, "applicationId", json_integer(a->app_id));
    json_object_set_new(o, "creation", api_time_json(a->cred_created_ms));
    json_object_set_new(o, "expiration", api_time_json(a->cred_expires_ms));
    json_object_set_new(o, "lastUse", api_time_json(a->cred_last_use_ms));
    json_object_set_new(o, "status", json_string(a->cred_state));
    json_object_set_new(o, "ovhSupport", json_false());
    json_object_set_new(o, "allowedIPs", ips ? ips : json_null());
    json_object_set_new(o, "rules", rules ? rules : json_array());
    api_reply_json(c, o);
}

const api_route api_auth_routes[] = {
    {"GET", "/auth/time", API_NOAUTH, auth_time},
    {"POST", "/auth/credential", API_NOAUTH | API_BODY, auth_credential},
    {"GET", "/auth/validation", API_NOAUTH, auth_validation_page},
    {"GET", "/auth/currentCredential", 0, auth_current},
    {NULL, NULL, 0, NULL},
};
