/*
 * hours.c - `smsctl hours list` and `smsctl hours set COUNTRY ...` (see hours.h).
 *
 * Design: the same shape as routes.c: the options are parsed here (before or after the
 * words, "--opt value" or "--opt=value", the global options included), `set` turns what was
 * given into one JSON body for PUT /admin/hours/{country}, and the server checks every field
 * and names the bad one. `set COUNTRY off` and `set COUNTRY on` are the enabled flag alone.
 *
 * Invariants:
 *   1. Exit status: 0 success, 1 API or network error, 2 usage error (message + usage on
 *      stderr); help goes to stdout with status 0.
 *   2. Only what was given is sent, so `hours set` changes exactly that.
 */
#include "ctl/hours.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/admin.h"
#include "ctl/ctl.h"
#include "util/util.h"

const char ctl_hours_usage[] =
    "usage: smsctl hours list\n"
    "       smsctl hours set COUNTRY off|on\n"
    "       smsctl hours set COUNTRY [--days DAYS] [--hours HH:MM-HH:MM] [--tz ZONE]\n"
    "                                [--holidays fr|none]\n"
    "\n"
    "Marketing hours: an SMS carrying the STOP clause (noStopClause false) to a country with\n"
    "hours is handed to an operator only on the days and within the local hours allowed there;\n"
    "outside them it is held and leaves at the next allowed minute. Transactional SMS\n"
    "(noStopClause true) are never held. The country is the destination's (ISO 3166 alpha-2,\n"
    "such as fr). France has hours by default: mon-sat, 08:00-20:00, Europe/Paris, French\n"
    "public holidays off; other countries have none until they are set. A change reaches\n"
    "every node within seconds.\n"
    "\n"
    "  --days DAYS          days allowed: mon-sat, mon-fri,sun, sat-mon, all\n"
    "  --hours HH:MM-HH:MM  the local window, its end excluded (08:00-20:00; 24:00 = midnight)\n"
    "  --tz ZONE            a time zone of the tz database (Europe/Paris); required the first\n"
    "                       time a country is set (then days default to mon-sat, hours to\n"
    "                       08:00-20:00, holidays to none)\n"
    "  --holidays SET       public holidays without marketing SMS: fr (France's) or none\n"
    "\n"
    "'off' keeps the country's settings and stops holding; 'on' holds again. After any\n"
    "change the SMS held until then are looked at again under the new hours (within 2 s):\n"
    "'off' sends what the country was holding.\n"
    "--json prints the server's answers as they are.\n";

enum {
    O_DATA, O_URL, O_JSON, O_INSECURE, O_CACERT, O_TIMEOUT, O_HELP, O_DAYS, O_HOURS, O_TZ,
    O_HOLIDAYS, O_N
};

static const ctl_optdef opts[] = {
    {"data", O_DATA, 1},       {"url", O_URL, 1},     {"json", O_JSON, 0},
    {"insecure", O_INSECURE, 0}, {"cacert", O_CACERT, 1}, {"timeout", O_TIMEOUT, 1},
    {"help", O_HELP, 0},       {"days", O_DAYS, 1},   {"hours", O_HOURS, 1},
    {"tz", O_TZ, 1},           {"holidays", O_HOLIDAYS, 1},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    va_list ap;
    fputs("smsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(ctl_hours_usage, stderr);
    return CTL_EXIT_USAGE;
}

static void print_rows(json_t *ans) {
    json_t *rows = json_is_array(ans) ? ans : json_array();
    if (json_is_object(ans)) json_array_append(rows, ans);
    if (!json_is_array(ans) && !json_is_object(ans)) {
        ctl_print_json(ans);
        json_decref(rows);
        return;
    }
    if (json_array_size(rows) == 0) {
        printf("no country has marketing hours\n");
    } else {
        enum { NC = 6, CELL = 64 };
        static const char *const heads[NC] = {"COUNTRY", "STATE", "DAYS", "HOURS", "TIME ZONE",
                                              "HOLIDAYS"};
        size_t nrows = json_array_size(rows) + 1;
        const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
        char (*bufs)[CELL] = sg_xcalloc(nrows * NC, CELL);
        for (size_t c = 0; c < NC; c++) cells[c] = heads[c];
        size_t i;
        json_t *e;
        json_array_foreach(rows, i, e) {
            size_t k = (i + 1) * NC;
            char f[16], t[16];
            cells[k] = ctl_fmt(json_object_get(e, "country"), bufs[k], CELL);
            cells[k + 1] = json_is_true(json_object_get(e, "enabled")) ? "on" : "off";
            cells[k + 2] = ctl_fmt(json_object_get(e, "days"), bufs[k + 2], CELL);
            const char *fs = ctl_fmt(json_object_get(e, "from"), f, sizeof f),
                       *ts = ctl_fmt(json_object_get(e, "to"), t, sizeof t);
            if (json_is_null(json_object_get(e, "from"))) snprintf(bufs[k + 3], CELL, "-");
            else snprintf(bufs[k + 3], CELL, "%s-%s", fs, ts);
            cells[k + 3] = bufs[k + 3];
            cells[k + 4] = ctl_fmt(json_object_get(e, "timeZone"), bufs[k + 4], CELL);
            cells[k + 5] = ctl_fmt(json_object_get(e, "holidays"), bufs[k + 5], CELL);
        }
        ctl_table_print(stdout, cells, nrows, NC);
        free(bufs);
        free(cells);
    }
    if (rows != ans) json_decref(rows);
}

static int run(const char *const *pos, int npos, const char *const *val, const int *seen,
               const ctl_opts *o) {
    json_t *ans = NULL;
    int rc;
    if (!strcmp(pos[1], "list")) {
        if (npos > 2) return usage_error("unexpected argument '%s' for 'hours list'", pos[2]);
        if (seen[O_DAYS] || seen[O_HOURS] || seen[O_TZ] || seen[O_HOLIDAYS])
            return usage_error("'hours list' takes no --days, --hours, --tz or --holidays");
        rc = ctl_admin_call(o, "GET", "/admin/hours", NULL, &ans);
    } else {
        if (npos < 3) return usage_error("'hours set' expects COUNTRY");
        if (npos > 4) return usage_error("unexpected argument '%s' for 'hours set'", pos[4]);
        json_t *body = json_object();
        if (npos == 4) {
            if (strcmp(pos[3], "off") && strcmp(pos[3], "on")) {
                json_decref(body);
                return usage_error("'hours set COUNTRY' takes off or on, not '%s'", pos[3]);
            }
            json_object_set_new(body, "enabled", json_boolean(!strcmp(pos[3], "on")));
        }
        if (val[O_DAYS]) json_object_set_new(body, "days", json_string(val[O_DAYS]));
        if (val[O_HOURS]) {
            const char *dash = strchr(val[O_HOURS], '-');
            if (!dash) {
                json_decref(body);
                return usage_error("--hours expects HH:MM-HH:MM, not '%s'", val[O_HOURS]);
            }
            json_object_set_new(body, "from",
                                json_stringn(val[O_HOURS], (size_t)(dash - val[O_HOURS])));
            json_object_set_new(body, "to", json_string(dash + 1));
        }
        if (val[O_TZ]) json_object_set_new(body, "timeZone", json_string(val[O_TZ]));
        if (val[O_HOLIDAYS]) json_object_set_new(body, "holidays", json_string(val[O_HOLIDAYS]));
        if (json_object_size(body) == 0) {
            json_decref(body);
            return usage_error("'hours set %s' needs off, on, or at least one of --days, "
                               "--hours, --tz, --holidays", pos[2]);
        }
        char *cc = ctl_segment(pos[2]);
        char *path = sg_xasprintf("/admin/hours/%s", cc);
        free(cc);
        rc = ctl_admin_call(o, "PUT", path, body, &ans);
        free(path);
        json_decref(body);
    }
    if (rc) return CTL_EXIT_FAIL;
    if (ans) {
        print_rows(ans);
        json_decref(ans);
    }
    return CTL_EXIT_OK;
}

int ctl_hours_main(int argc, char **argv) {
    int seen[O_N] = {0};
    const char *val[O_N] = {0};
    ctl_args a = {.seen = seen, .val = val};
    ctl_args_parse(argc, argv, opts, NOPTS, O_HELP, 0, &a);
    const char **pos = a.pos;
    int npos = a.npos, ex = CTL_EXIT_OK;
    if (seen[O_HELP]) {
        fputs(ctl_hours_usage, stdout);
    } else if (a.err[0]) {
        ex = usage_error("%s", a.err);
    } else if (npos < 2 || (strcmp(pos[1], "list") && strcmp(pos[1], "set"))) {
        ex = npos < 2 ? usage_error("'hours' needs a subcommand: list, set")
                      : usage_error("unknown subcommand 'hours %s' (one of: list, set)", pos[1]);
    } else {
        ctl_opts o;
        ctl_opts_init(&o, val[O_DATA], val[O_URL], val[O_CACERT], seen[O_JSON], seen[O_INSECURE]);
        if (val[O_TIMEOUT]) {
            char *end;
            errno = 0;
            long t = strtol(val[O_TIMEOUT], &end, 10);
            if (errno || *end || t < 1 || t > 86400) {
                ex = usage_error("--timeout expects seconds (1 to 86400), not '%s'",
                                 val[O_TIMEOUT]);
                goto out;
            }
            o.timeout_s = t;
        }
        ex = run(pos, npos, val, seen, &o);
    }
out:
    free(pos);
    return ex;
}
