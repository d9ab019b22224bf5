/*
 * ops.c - smsctl template approve|refuse, sender code and account add-service (ops.h): one
 * admin call each, printed in one line (or as JSON with --json).
 */
#include "ctl/ops.h"

#include <stdio.h>
#include <stdlib.h>

#include "ctl/admin.h"
#include "util/util.h"

int ctl_template_set(const ctl_opts *o, const char *service, const char *name,
                     const char *status, const char *comment) {
    return ctl_admin_moderate(o, service, "templates", "template", name, status, comment);
}

int ctl_template_list(const ctl_opts *o, const char *service) {
    json_t *ans;
    int rc = ctl_service_call(o, "GET", service, "templates", NULL, &ans);
    if (rc || !ans) return rc;
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
    } else if (json_array_size(ans) == 0) {
        printf("%s: no templates\n", service);
    } else {
        enum { NC = 5, BUF = 64 };
        size_t nrows = json_array_size(ans) + 1;
        const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
        char (*bufs)[BUF] = sg_xcalloc(nrows * NC, BUF);
        const char *const head[NC] = {"NAME", "STATUS", "ACTIVITY", "COMMENT", "MESSAGE"};
        const char *const keys[NC] = {"name", "status", "activity", "comment", "message"};
        for (int k = 0; k < NC; k++) cells[k] = head[k];
        size_t i;
        json_t *t;
        json_array_foreach(ans, i, t) {
            for (int k = 0; k < NC; k++) {
                size_t at = (i + 1) * NC + (size_t)k;
                json_t *v = json_object_get(t, keys[k]);
                cells[at] = json_is_string(v) && json_string_length(v)
                                ? ctl_fmt(v, bufs[at], BUF) : "-";
            }
        }
        ctl_table_print(stdout, cells, nrows, NC);
        free(bufs);
        free(cells);
    }
    json_decref(ans);
    return 0;
}

int ctl_sender_code(const ctl_opts *o, const char *service, const char *sender) {
    char *seg = ctl_segment(sender);
    char *rest = sg_xasprintf("senders/%s/code", seg);
    json_t *ans;
    int rc = ctl_service_call(o, "POST", service, rest, NULL, &ans);
    free(rest);
    free(seg);
    if (rc || !ans) return rc;
    const char *code = json_string_value(json_object_get(ans, "code"));
    printf("%s: validation code for sender '%s': %s\n", service, sender, code ? code : "?");
    json_decref(ans);
    return 0;
}

int ctl_service_add(const ctl_opts *o, const char *account, double credits, int has_credits) {
    json_t *body = json_object();
    if (has_credits) json_object_set_new(body, "credits", ctl_json_num(credits));
    char *seg = ctl_segment(account);
    char *path = sg_xasprintf("/admin/accounts/%s/services", seg);
    json_t *ans;
    int rc = ctl_admin_call(o, "POST", path, body, &ans);
    free(path);
    free(seg);
    json_decref(body);
    if (rc || !ans) return rc;
    const char *sn = json_string_value(json_object_get(ans, "serviceName"));
    printf("%s: service %s added\n", account, sn ? sn : "?");
    json_decref(ans);
    return 0;
}
