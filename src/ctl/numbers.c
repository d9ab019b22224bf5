/*
 * numbers.c - smsctl number add|list|remove|response (see numbers.h).
 *
 * Design: the same shape as callbacks.c, one admin API call per command through
 * ctl_admin_call (admin.c); numbers and service names are percent-encoded into paths and
 * queries (a number's '+' would otherwise be read as a space in a query). The server checks
 * the numbers (core/vnum.h) so that the rules, and the default region national numbers are
 * read in, are the server's own; its message is printed as is.
 *
 * Invariants:
 *   1. The human forms print only documented fields and fall back to the JSON itself for an
 *      answer of an unexpected shape.
 */
#include "ctl/numbers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/admin.h"
#include "util/util.h"

#define CELL 64

static const char *str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

int ctl_number_add(const ctl_opts *o, const char *service, const char *number) {
    json_t *body = json_pack("{s:s}", "number", number);
    json_t *ans;
    int rc = ctl_service_call(o, "POST", service, "numbers", body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    if (json_is_object(ans))
        printf(json_is_true(json_object_get(ans, "created")) ? "added %s to %s\n"
                                                              : "%s already belongs to %s\n",
               str(ans, "number"), str(ans, "service"));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_number_list(const ctl_opts *o, const char *service) {
    char *path;
    if (service) {
        char *sn = ctl_segment(service);
        path = sg_xasprintf("/admin/numbers?service=%s", sn);
        free(sn);
    } else {
        path = sg_xstrdup("/admin/numbers");
    }
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", path, NULL, &ans);
    free(path);
    if (rc || !ans) return rc;
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
    } else if (json_array_size(ans) == 0) {
        printf("no virtual numbers\n");
    } else {
        enum { NC = 5 };
        static const char *const heads[NC] = {"NUMBER", "SERVICE", "COUNTRY", "CREATED",
                                              "RESPONSE"};
        static const char *const keys[NC] = {"number", "service", "countryCode", "createdAt",
                                             NULL};
        size_t nrows = json_array_size(ans) + 1;
        const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
        char (*bufs)[CELL] = sg_xcalloc(nrows * NC, CELL);
        for (size_t c = 0; c < NC; c++) cells[c] = heads[c];
        size_t i;
        json_t *e;
        json_array_foreach(ans, i, e) {
            for (size_t c = 0; c < NC; c++) {
                size_t k = (i + 1) * NC + c;
                const json_t *v = keys[c] ? json_object_get(e, keys[c])
                                          : json_object_get(json_object_get(e, "smsResponse"),
                                                            "responseType");
                cells[k] = ctl_fmt(v, bufs[k], CELL);
            }
        }
        ctl_table_print(stdout, cells, nrows, NC);
        free(bufs);
        free(cells);
    }
    json_decref(ans);
    return 0;
}

/* The call on /admin/numbers/{number}. */
static int number_call(const ctl_opts *o, const char *method, const char *number, json_t *body,
                       json_t **ans) {
    char *n = ctl_segment(number);
    char *path = sg_xasprintf("/admin/numbers/%s", n);
    int rc = ctl_admin_call(o, method, path, body, ans);
    free(path);
    free(n);
    return rc;
}

int ctl_number_remove(const ctl_opts *o, const char *number) {
    json_t *ans;
    int rc = number_call(o, "DELETE", number, NULL, &ans);
    if (rc || !ans) return rc;
    if (json_is_object(ans))
        printf("removed %s from %s\n", str(ans, "number"), str(ans, "service"));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_number_response(const ctl_opts *o, const char *number, const char *json) {
    json_t *r = json_null();
    if (json) {
        json_error_t err;
        r = json_loads(json, 0, &err);
        if (!json_is_object(r)) {
            json_decref(r);
            ctl_err("RESPONSE must be a JSON object such as '{\"responseType\":\"text\","
                    "\"text\":\"Thanks\"}', or 'default'");
            return SG_EINVAL;
        }
    }
    json_t *body = json_pack("{s:o}", "smsResponse", r);
    json_t *ans;
    int rc = number_call(o, "PUT", number, body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    json_t *sr = json_is_object(ans) ? json_object_get(ans, "smsResponse") : NULL;
    if (json_is_object(ans) && json_is_null(sr)) {
        printf("%s: smsResponse of the service %s\n", str(ans, "number"), str(ans, "service"));
    } else if (json_is_object(sr)) {
        char *t = json_dumps(sr, JSON_COMPACT);
        printf("%s: smsResponse %s\n", str(ans, "number"), t);
        free(t);
    } else {
        ctl_print_json(ans);
    }
    json_decref(ans);
    return 0;
}
