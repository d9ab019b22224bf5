/*
 * users.c - smsctl user add|list|passwd|remove (see users.h).
 *
 * Design: one admin API call per command through ctl_service_call (admin.c); the server checks
 * logins and passwords (auth/userpw.h) and hashes the password, so its rules and messages are
 * the server's own. A password not given with --password is read from standard input, one
 * line, its newline removed.
 *
 * Invariants:
 *   1. No password is ever printed, and the list never shows one (the server sends none).
 */
#include "ctl/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/admin.h"
#include "util/util.h"

#define CELL 64

/* The password given, or one line read from stdin into buf; NULL after printing why. */
static const char *password_of(const char *given, char *buf, size_t n) {
    if (given) return given;
    if (!fgets(buf, (int)n, stdin)) {
        ctl_err("no password: give --password P, or write it on standard input");
        return NULL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

int ctl_user_add(const ctl_opts *o, const char *service, const char *login, const char *password) {
    char buf[256];
    if (!(password = password_of(password, buf, sizeof buf))) return SG_EINVAL;
    json_t *body = json_pack("{s:s, s:s}", "login", login, "password", password);
    json_t *ans;
    int rc = ctl_service_call(o, "POST", service, "users", body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    printf("added user %s to %s\n", login, service);
    json_decref(ans);
    return 0;
}

int ctl_user_list(const ctl_opts *o, const char *service) {
    json_t *ans;
    int rc = ctl_service_call(o, "GET", service, "users", NULL, &ans);
    if (rc || !ans) return rc;
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
    } else if (json_array_size(ans) == 0) {
        printf("no SMS users\n");
    } else {
        enum { NC = 6 };
        static const char *const heads[NC] = {"LOGIN", "QUOTA", "LEFT", "CALLBACK", "IPS",
                                              "CREATED"};
        size_t nrows = json_array_size(ans) + 1;
        const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
        char (*bufs)[CELL] = sg_xcalloc(nrows * NC, CELL);
        for (size_t c = 0; c < NC; c++) cells[c] = heads[c];
        size_t i;
        json_t *e;
        json_array_foreach(ans, i, e) {
            json_t *q = json_object_get(e, "quotaInformations");
            json_t *ips = json_object_get(e, "ipRestrictions");
            const json_t *v[NC] = {json_object_get(e, "login"), json_object_get(q, "quotaStatus"),
                                   json_object_get(q, "quotaLeft"), json_object_get(e, "callBack"),
                                   json_array_size(ips) ? ips : NULL,
                                   json_object_get(e, "createdAt")};
            for (size_t c = 0; c < NC; c++) {
                size_t k = (i + 1) * NC + c;
                cells[k] = ctl_fmt(v[c], bufs[k], CELL);
            }
        }
        ctl_table_print(stdout, cells, nrows, NC);
        free(bufs);
        free(cells);
    }
    json_decref(ans);
    return 0;
}

/* The call on /admin/services/{service}/users/{login}. */
static int user_call(const ctl_opts *o, const char *method, const char *service,
                     const char *login, json_t *body, json_t **ans) {
    char *l = ctl_segment(login);
    char *rest = sg_xasprintf("users/%s", l);
    int rc = ctl_service_call(o, method, service, rest, body, ans);
    free(rest);
    free(l);
    return rc;
}

int ctl_user_passwd(const ctl_opts *o, const char *service, const char *login,
                    const char *password) {
    char buf[256];
    if (!(password = password_of(password, buf, sizeof buf))) return SG_EINVAL;
    json_t *body = json_pack("{s:s}", "password", password);
    json_t *ans;
    int rc = user_call(o, "PUT", service, login, body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    printf("changed the password of %s\n", login);
    json_decref(ans);
    return 0;
}

int ctl_user_remove(const ctl_opts *o, const char *service, const char *login) {
    json_t *ans;
    int rc = user_call(o, "DELETE", service, login, NULL, &ans);
    if (rc || !ans) return rc;
    printf("removed user %s from %s\n", login, service);
    json_decref(ans);
    return 0;
}
