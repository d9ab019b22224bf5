/*
 * incoming.c - smsctl incoming list (see incoming.h).
 *
 * Prints ID, DATE, SERVICE ('-' when unattributed), FROM, TO, REPLY-TO (the SMS it answers),
 * ROUTE and TEXT (on one line: line breaks shown as "\n"); with --partial, ID, FIRST, FROM, TO,
 * ROUTE, REF and PARTS (received/total).
 */
#include "ctl/incoming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/admin.h"
#include "util/util.h"

#define CELL 96

/* The text of a message on one line, cut to fit a cell. */
static const char *one_line(const json_t *v, char *buf, size_t n) {
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t w = 0;
    for (; *s && w + 3 < n; s++) {
        if (*s == '\n' || *s == '\r') {
            buf[w++] = '\\';
            buf[w++] = *s == '\n' ? 'n' : 'r';
        } else {
            buf[w++] = *s;
        }
    }
    while (w > 0 && ((unsigned char)buf[w - 1] & 0xC0) == 0x80 && *s) w--; /* no cut UTF-8 */
    if (w > 0 && ((unsigned char)buf[w - 1] & 0xC0) == 0xC0 && *s) w--;
    buf[w] = '\0';
    return buf;
}

int ctl_incoming_list(const ctl_opts *o, const char *service, int unattributed, int partial) {
    char *path;
    if (partial) {
        path = sg_xstrdup("/admin/incoming?partial=1&limit=10000");
    } else if (service) {
        char *seg = ctl_segment(service);
        path = sg_xasprintf("/admin/incoming?service=%s&limit=10000", seg);
        free(seg);
    } else {
        path = sg_xasprintf("/admin/incoming?limit=10000%s", unattributed ? "&unattributed=1" : "");
    }
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", path, NULL, &ans);
    free(path);
    if (rc || !ans) return rc;
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
        json_decref(ans);
        return 0;
    }
    if (json_array_size(ans) == 0) {
        printf(partial ? "no partial messages\n" : "no incoming messages\n");
        json_decref(ans);
        return 0;
    }
    enum { NC = 8 };
    static const char *const heads[NC] = {"ID", "DATE", "SERVICE", "FROM", "TO", "REPLY-TO",
                                          "ROUTE", "TEXT"};
    static const char *const keys[NC] = {"id", "creationDatetime", "service", "sender",
                                         "receiver", "replyToId", "route", "message"};
    static const char *const pheads[NC] = {"ID", "FIRST", "FROM", "TO", "ROUTE", "REF",
                                           "PARTS", "LAST"};
    static const char *const pkeys[NC] = {"id", "firstAt", "sender", "receiver", "route",
                                          "reference", NULL, "lastAt"};
    size_t nrows = json_array_size(ans) + 1;
    const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
    char (*bufs)[CELL] = sg_xcalloc(nrows * NC, CELL);
    for (size_t c = 0; c < NC; c++) cells[c] = partial ? pheads[c] : heads[c];
    size_t i;
    json_t *e;
    json_array_foreach(ans, i, e) {
        for (size_t c = 0; c < NC; c++) {
            size_t k = (i + 1) * NC + c;
            if (partial && !pkeys[c]) {
                snprintf(bufs[k], CELL, "%lld/%lld",
                         (long long)json_integer_value(json_object_get(e, "received")),
                         (long long)json_integer_value(json_object_get(e, "parts")));
                cells[k] = bufs[k];
            } else if (!partial && c == NC - 1) {
                cells[k] = one_line(json_object_get(e, keys[c]), bufs[k], CELL);
            } else {
                cells[k] = ctl_fmt(json_object_get(e, partial ? pkeys[c] : keys[c]), bufs[k],
                                   CELL);
            }
        }
    }
    ctl_table_print(stdout, cells, nrows, NC);
    free(bufs);
    free(cells);
    json_decref(ans);
    return 0;
}
