/*
 * callbacks.c - smsctl callbacks list|replay and smsctl service secret (see callbacks.h).
 *
 * Design: the same shape as admin.c, one admin API call per command. admin.c keeps its call
 * helper to itself, so this file has its own small one (cb_call) with the same rules: the token
 * is SMSGATE_ADMIN_TOKEN, else the first line of DATA/admin.token, and only ever goes into the
 * Authorization header; the service name is percent-encoded into the path.
 *
 * Invariants:
 *   1. The human forms print only documented fields and fall back to the JSON itself for an
 *      answer of an unexpected shape.
 *   2. 'service secret' prints the secret and nothing else on stdout, so that
 *      $(smsctl service secret S) is the secret.
 */
#include "ctl/callbacks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/admin.h"
#include "ctl/http.h"
#include "util/util.h"

#define CELL 64



int ctl_callbacks_list(const ctl_opts *o, const char *service, const char *state) {
    char *rest = state ? sg_xasprintf("callbacks?state=%s", state) : sg_xstrdup("callbacks");
    json_t *ans;
    int rc = ctl_service_call(o, "GET", service, rest, NULL, &ans);
    free(rest);
    if (rc || !ans) return rc;
    static const char *const heads[] = {"ID",       "MESSAGE", "DLR",  "STATE",
                                        "ATTEMPTS", "NEXT",    "LAST", "ERROR"};
    static const char *const keys[] = {"id",       "messageId",     "deliveryReceipt",
                                       "state",    "attempts",      "nextAttemptAt",
                                       "lastStatus", "lastError"};
    char *empty = sg_xasprintf("no %s callbacks", state ? state : "pending or dead");
    ctl_rows_print(ans, 8, heads, keys, empty);
    free(empty);
    json_decref(ans);
    return 0;
}

int ctl_callbacks_replay(const ctl_opts *o, const char *service, const int64_t *id) {
    json_t *body = id ? json_pack("{s:[I]}", "ids", (json_int_t)*id) : NULL;
    json_t *ans;
    int rc = ctl_service_call(o, "POST", service, "callbacks/replay", body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    char buf[CELL];
    if (json_is_object(ans))
        printf("replayed: %s\n", ctl_fmt(json_object_get(ans, "replayed"), buf, sizeof buf));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_callbacks_secret(const ctl_opts *o, const char *service) {
    json_t *ans;
    int rc = ctl_service_call(o, "GET", service, "callback-secret", NULL, &ans);
    if (rc || !ans) return rc;
    json_t *s = json_is_object(ans) ? json_object_get(ans, "secret") : NULL;
    if (json_is_string(s))
        printf("%s\n", json_string_value(s));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}
