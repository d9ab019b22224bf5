/*
 * blacklist.c - smsctl blacklist list|add|remove (see blacklist.h).
 *
 * Design: one admin API call per command, through ctl_service_call (admin.c), as the
 * callbacks commands do. A number is percent-encoded into the path (a '+' would otherwise
 * reach the server as it is, which it keeps; encoding is simply safe for any input); the
 * server normalises it like a receiver, so "0612345678" and "+33612345678" name the same row.
 */
#include "ctl/blacklist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/admin.h"
#include "util/util.h"

int ctl_blacklist_list(const ctl_opts *o, const char *service) {
    json_t *ans;
    int rc = ctl_service_call(o, "GET", service, "blacklists", NULL, &ans);
    if (rc || !ans) return rc;
    static const char *const heads[] = {"NUMBER", "SINCE", "SMS", "BATCH", "SOURCE"};
    static const char *const keys[] = {"number", "dateCreation", "smsOutgoingID", "batchID",
                                       "source"};
    ctl_rows_print(ans, 5, heads, keys, "no blacklisted numbers");
    json_decref(ans);
    return 0;
}

int ctl_blacklist_add(const ctl_opts *o, const char *service, const char *number) {
    json_t *body = json_pack("{s:s}", "number", number);
    json_t *ans;
    int rc = ctl_service_call(o, "POST", service, "blacklists", body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    json_t *n = json_object_get(ans, "number"), *added = json_object_get(ans, "added");
    if (json_is_string(n) && json_is_boolean(added))
        printf(json_is_true(added) ? "added %s\n" : "%s was already blacklisted\n",
               json_string_value(n));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_blacklist_remove(const ctl_opts *o, const char *service, const char *number) {
    char *enc = ctl_segment(number);
    char *rest = sg_xasprintf("blacklists/%s", enc);
    json_t *ans = NULL;
    int rc = ctl_service_call(o, "DELETE", service, rest, NULL, &ans);
    free(rest);
    free(enc);
    if (rc || !ans) return rc; /* !ans: --json printed it */
    printf("removed %s\n", number);
    json_decref(ans);
    return 0;
}
