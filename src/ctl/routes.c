/*
 * routes.c - `smsctl route add|list|set|remove|disable|enable|status` (docs/smsctl.md).
 *
 * Design: the command line is parsed here (options table `opts`, the same conventions as the
 * rest of smsctl: options before or after the words, "--opt value" or "--opt=value", global
 * options included); each subcommand turns its options into one JSON body and makes one admin
 * call with the admin token. The server validates every field and names the bad one; this
 * file only checks what it must to build the body (numbers are numbers).
 *
 * Invariants:
 *   1. Exit status: 0 success, 1 API or network error, 2 usage error (message + usage on
 *      stderr); help goes to stdout with status 0.
 *   2. Only options given on the command line are sent, so `route set` changes exactly them.
 *   3. The password is never printed (the server never returns it either).
 */
#include "ctl/routes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/admin.h"
#include "ctl/http.h"
#include "util/util.h"

const char ctl_route_usage[] =
    "usage: smsctl route add NAME --smpp HOST:PORT --system-id ID [--password PW]\n"
    "                    [--prefix +33 ...] [ROUTE OPTIONS]\n"
    "       smsctl route set NAME [ROUTE OPTIONS]\n"
    "       smsctl route list\n"
    "       smsctl route disable|enable|remove NAME\n"
    "       smsctl route status [NAME]\n"
    "\n"
    "Routes carry messages to operators. A message goes to the routes whose prefix matches its\n"
    "receiver longest; among them to the lowest priority number that is up, shared by weight;\n"
    "a route that is down or answers a temporary error hands over to the next one. Changes take\n"
    "effect at once, without a restart. The 'sim' route (the embedded simulator, for every\n"
    "number) can be changed and disabled but not removed.\n"
    "\n"
    "Route options:\n"
    "  --smpp HOST:PORT       the SMSC's address\n"
    "  --system-id ID         SMPP system_id (at most 15 characters)\n"
    "  --password PW          SMPP password (at most 8 characters)\n"
    "  --system-type T        SMPP system_type\n"
    "  --prefix +CC           a destination prefix; repeat for several; --prefix '' for all\n"
    "  --priority N           lower first (default 100; the sim route has 1000)\n"
    "  --weight N             share among up routes of equal priority (default 1)\n"
    "  --tps N                submit_sm per second for the whole route; 0 = no limit\n"
    "  --window N             outstanding submit_sm per bind (default 10)\n"
    "  --binds N              parallel binds (default 1)\n"
    "  --bind-mode M          transceiver (default) or transmitter+receiver\n"
    "  --tls, --no-tls        TLS to the SMSC; --tls-ca FILE trusts this CA;\n"
    "  --tls-insecure         does not check the SMSC's certificate\n"
    "  --concat C             multi-part messages: udh8 (default), udh16 or sar\n"
    "  --pack7, --no-pack7    send GSM-7 packed (default: one septet per octet)\n"
    "  --registered-delivery N  the submit_sm field (default 1: receipt on success and failure)\n"
    "  --enable, --disable    take traffic or not\n"
    "\n"
    "status prints each route's state and each bind's state, window use and the node holding\n"
    "its slot (docs/cluster.md), queue, rate and last error, the messages waiting on a retry\n"
    "after a temporary refusal (how many, the next attempt) and whether the route is paused\n"
    "after refusing everything (docs/smpp.md).\n"
    "--json prints the server's answers as they are.\n";

enum {
    O_DATA, O_URL, O_JSON, O_INSECURE, O_CACERT, O_TIMEOUT, O_HELP,
    O_SMPP, O_SYSID, O_PASSWORD, O_SYSTYPE, O_PREFIX, O_PRIORITY, O_WEIGHT, O_TPS, O_WINDOW,
    O_BINDS, O_BINDMODE, O_TLS, O_NOTLS, O_TLSCA, O_TLSINSECURE, O_CONCAT, O_PACK7, O_NOPACK7,
    O_REGDLR, O_ENABLE, O_DISABLE, O_N
};

static const ctl_optdef opts[] = {
    {"data", O_DATA, 1}, {"url", O_URL, 1}, {"json", O_JSON, 0}, {"insecure", O_INSECURE, 0},
    {"cacert", O_CACERT, 1}, {"timeout", O_TIMEOUT, 1}, {"help", O_HELP, 0},
    {"smpp", O_SMPP, 1}, {"system-id", O_SYSID, 1}, {"password", O_PASSWORD, 1},
    {"system-type", O_SYSTYPE, 1}, {"prefix", O_PREFIX, 1}, {"priority", O_PRIORITY, 1},
    {"weight", O_WEIGHT, 1}, {"tps", O_TPS, 1}, {"window", O_WINDOW, 1}, {"binds", O_BINDS, 1},
    {"bind-mode", O_BINDMODE, 1}, {"tls", O_TLS, 0}, {"no-tls", O_NOTLS, 0},
    {"tls-ca", O_TLSCA, 1}, {"tls-insecure", O_TLSINSECURE, 0}, {"concat", O_CONCAT, 1},
    {"pack7", O_PACK7, 0}, {"no-pack7", O_NOPACK7, 0}, {"registered-delivery", O_REGDLR, 1},
    {"enable", O_ENABLE, 0}, {"disable", O_DISABLE, 0},
};
#define NOPTS (sizeof opts / sizeof opts[0])

typedef struct args {
    int seen[O_N];
    const char *val[O_N];
    const char **prefix;
    size_t nprefix;
    const char **pos;
    int npos;
} args;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    va_list ap;
    fputs("smsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(ctl_route_usage, stderr);
    return CTL_EXIT_USAGE;
}


/* ---- building the body ---- */

static int num(const char *opt, const char *v, long long min, long long max, long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < min || x > max) {
        ctl_err("--%s expects a whole number from %lld to %lld, not '%s'", opt, min, max, v);
        return SG_EINVAL;
    }
    *out = x;
    return 0;
}

/* The JSON body of add/set from the options given. Returns NULL after printing why. */
static json_t *body_from(const args *a) {
    json_t *b = json_object();
    static const struct {
        int id;
        const char *field;
        long long min, max;
    } ints[] = {{O_PRIORITY, "priority", 0, 1000000}, {O_WEIGHT, "weight", 1, 1000},
                {O_TPS, "tps", 0, 100000},             {O_WINDOW, "window", 1, 1000},
                {O_BINDS, "binds", 1, 64},             {O_REGDLR, "registeredDelivery", 0, 255}};
    static const struct {
        int id;
        const char *field;
    } strs[] = {{O_SMPP, "smsc"},       {O_SYSID, "systemId"},   {O_PASSWORD, "password"},
                {O_SYSTYPE, "systemType"}, {O_BINDMODE, "bindMode"}, {O_CONCAT, "concat"},
                {O_TLSCA, "tlsCa"}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (!a->seen[ints[i].id]) continue;
        long long x;
        if (num(opts[ints[i].id].name, a->val[ints[i].id], ints[i].min, ints[i].max, &x)) {
            json_decref(b);
            return NULL;
        }
        json_object_set_new(b, ints[i].field, json_integer(x));
    }
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (!a->seen[strs[i].id]) continue;
        json_t *s = json_string(a->val[strs[i].id]);
        if (!s) {
            ctl_err("--%s is not valid UTF-8", opts[strs[i].id].name);
            json_decref(b);
            return NULL;
        }
        json_object_set_new(b, strs[i].field, s);
    }
    if (a->seen[O_TLSCA]) json_object_set_new(b, "tls", json_true());
    if (a->seen[O_TLS]) json_object_set_new(b, "tls", json_true());
    if (a->seen[O_NOTLS]) json_object_set_new(b, "tls", json_false());
    if (a->seen[O_TLSINSECURE]) json_object_set_new(b, "tlsVerify", json_false());
    if (a->seen[O_PACK7]) json_object_set_new(b, "pack7", json_true());
    if (a->seen[O_NOPACK7]) json_object_set_new(b, "pack7", json_false());
    if (a->seen[O_ENABLE]) json_object_set_new(b, "enabled", json_true());
    if (a->seen[O_DISABLE]) json_object_set_new(b, "enabled", json_false());
    if (a->nprefix) {
        json_t *p = json_array();
        for (size_t i = 0; i < a->nprefix; i++)
            if (a->prefix[i][0]) json_array_append_new(p, json_string(a->prefix[i]));
        json_object_set_new(b, "prefixes", p);
    }
    return b;
}


static const char *prefixes_text(const json_t *r, char *buf, size_t n) {
    const json_t *p = json_object_get(r, "prefixes");
    size_t k = 0, i;
    json_t *e;
    buf[0] = '\0';
    json_array_foreach(p, i, e)
        k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s%s", k ? "," : "",
                              json_string_value(e) ? json_string_value(e) : "?");
    if (!buf[0]) snprintf(buf, n, "*");
    return buf;
}

static void print_list(const json_t *ans) {
    enum { NC = 10 };
    static const char *const heads[NC] = {"NAME", "KIND", "SMSC", "PREFIXES", "PRIORITY",
                                          "WEIGHT", "TPS", "WINDOW", "BINDS", "ENABLED"};
    static const char *const keys[NC] = {"name", "kind", "smsc", NULL, "priority",
                                         "weight", "tps", "window", "binds", "enabled"};
    size_t nrows = json_array_size(ans) + 1;
    const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
    char (*bufs)[256] = sg_xcalloc(nrows * NC, 256);
    for (size_t c = 0; c < NC; c++) cells[c] = heads[c];
    size_t i;
    json_t *r;
    json_array_foreach(ans, i, r) {
        for (size_t c = 0; c < NC; c++) {
            size_t k = (i + 1) * NC + c;
            cells[k] = keys[c] ? ctl_fmt(json_object_get(r, keys[c]), bufs[k], 256)
                               : prefixes_text(r, bufs[k], 256);
        }
    }
    ctl_table_print(stdout, cells, nrows, NC);
    free(bufs);
    free(cells);
}

static void print_status(const json_t *ans, const char *only) {
    size_t i;
    json_t *r;
    char b1[64], b2[64], b3[64], b4[64], b5[256];
    int any = 0;
    json_array_foreach(ans, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (only && (!name || strcmp(name, only) != 0)) continue;
        any = 1;
        printf("%s (%s): %s%s%s, prefixes %s, priority %s, in flight %s, queue %s",
               name ? name : "?", ctl_fmt(json_object_get(r, "kind"), b1, sizeof b1),
               json_is_true(json_object_get(r, "up")) ? "up" : "DOWN",
               json_is_true(json_object_get(r, "enabled")) ? "" : ", disabled",
               json_is_true(json_object_get(r, "retiring")) ? ", retiring" : "",
               prefixes_text(r, b5, sizeof b5),
               ctl_fmt(json_object_get(r, "priority"), b2, sizeof b2),
               ctl_fmt(json_object_get(r, "inflight"), b3, sizeof b3),
               ctl_fmt(json_object_get(r, "queue"), b4, sizeof b4));
        const json_t *rate = json_object_get(r, "rate");
        if (rate) {
            printf(", rate %.1f/s", json_number_value(rate));
            long long tps = json_integer_value(json_object_get(r, "tps"));
            if (tps) printf(" (limit %lld, now %lld)", tps,
                            (long long)json_integer_value(json_object_get(r, "effectiveTps")));
            printf(", window %lld/%lld",
                   (long long)json_integer_value(json_object_get(r, "windowUsed")),
                   (long long)json_integer_value(json_object_get(r, "window")));
        }
        long long waiting = json_integer_value(json_object_get(r, "retryWaiting"));
        const char *next = json_string_value(json_object_get(r, "nextRetryAt"));
        if (waiting) printf(", waiting on a retry %lld (next %s)", waiting, next ? next : "?");
        putchar('\n');
        const json_t *bo = json_object_get(r, "backoff");
        if (json_is_object(bo)) {
            printf("  backing off after %lld temporary refusals in a row: ",
                   (long long)json_integer_value(json_object_get(r, "temporaryRun")));
            if (json_is_true(json_object_get(bo, "probing")))
                printf("probing with one message\n");
            else
                printf("paused until %s\n", ctl_fmt(json_object_get(bo, "until"), b1, sizeof b1));
        }
        const char *err = json_string_value(json_object_get(r, "lastError"));
        if (err && *err) printf("  last error: %s\n", err);
        size_t k;
        json_t *b;
        json_array_foreach(json_object_get(r, "binds"), k, b) {
            const char *be = json_string_value(json_object_get(b, "lastError"));
            const json_t *holder = json_object_get(b, "holder");
            char node[300] = "";
            if (json_is_string(holder))
                snprintf(node, sizeof node, ", node %s", json_string_value(holder));
            else if (holder)
                snprintf(node, sizeof node, ", slot free");
            printf("  bind %s %s: %s, window %lld/%lld%s%s%s\n",
                   ctl_fmt(json_object_get(b, "name"), b1, sizeof b1),
                   ctl_fmt(json_object_get(b, "type"), b2, sizeof b2),
                   ctl_fmt(json_object_get(b, "state"), b3, sizeof b3),
                   (long long)json_integer_value(json_object_get(b, "outstanding")),
                   (long long)json_integer_value(json_object_get(b, "window")), node,
                   be && *be ? ", last error: " : "", be && *be ? be : "");
        }
    }
    if (only && !any) printf("no route named '%s' is in use\n", only);
}

/* ---- the commands ---- */

static int run(const args *a, const ctl_opts *o) {
    const char *sub = a->npos > 1 ? a->pos[1] : NULL;
    if (!sub) return usage_error("'route' needs a subcommand: add, set, list, remove, "
                                 "disable, enable or status");
    static const struct {
        const char *name;
        int min, max; /* words after the subcommand */
    } subs[] = {{"add", 1, 1},     {"set", 1, 1},    {"list", 0, 0},   {"remove", 1, 1},
                {"disable", 1, 1}, {"enable", 1, 1}, {"status", 0, 1}};
    size_t k = 0, n = sizeof subs / sizeof subs[0];
    while (k < n && strcmp(subs[k].name, sub) != 0) k++;
    if (k == n) return usage_error("unknown subcommand 'route %s'", sub);
    int words = a->npos - 2;
    if (words < subs[k].min) return usage_error("'route %s' expects NAME", sub);
    if (words > subs[k].max)
        return usage_error("unexpected argument '%s' for 'route %s'", a->pos[2 + subs[k].max],
                           sub);
    const char *name = words ? a->pos[2] : NULL;
    int has_route_opts = 0;
    for (int i = O_SMPP; i < O_N; i++) has_route_opts |= a->seen[i];
    int is_edit = !strcmp(sub, "add") || !strcmp(sub, "set");
    if (has_route_opts && !is_edit)
        return usage_error("route options do not apply to 'route %s'", sub);
    if (a->seen[O_ENABLE] && a->seen[O_DISABLE])
        return usage_error("--enable and --disable cannot both be given");
    json_t *ans = NULL, *body = NULL;
    int rc;
    char *seg = name ? ctl_segment(name) : NULL;
    char *path = NULL;
    if (!strcmp(sub, "add")) {
        if (!a->seen[O_SMPP]) {
            free(seg);
            return usage_error("'route add' needs --smpp HOST:PORT");
        }
        if (!a->seen[O_SYSID]) {
            free(seg);
            return usage_error("'route add' needs --system-id ID");
        }
        if (!(body = body_from(a))) {
            free(seg);
            return CTL_EXIT_USAGE;
        }
        json_object_set_new(body, "name", json_string(name));
        rc = ctl_admin_call(o, "POST", "/admin/routes", body, &ans);
        if (rc == 0 && ans) printf("route '%s' added\n", name);
    } else if (!strcmp(sub, "set") || !strcmp(sub, "disable") || !strcmp(sub, "enable")) {
        if (!strcmp(sub, "set")) {
            if (!has_route_opts) {
                free(seg);
                return usage_error("'route set' needs at least one route option");
            }
            if (!(body = body_from(a))) {
                free(seg);
                return CTL_EXIT_USAGE;
            }
        } else {
            body = json_pack("{s:b}", "enabled", !strcmp(sub, "enable"));
        }
        path = sg_xasprintf("/admin/routes/%s", seg);
        rc = ctl_admin_call(o, "PUT", path, body, &ans);
        if (rc == 0 && ans)
            printf("route '%s' %s\n", name,
                   !strcmp(sub, "set") ? "changed" : !strcmp(sub, "enable") ? "enabled"
                                                                            : "disabled");
    } else if (!strcmp(sub, "remove")) {
        path = sg_xasprintf("/admin/routes/%s", seg);
        rc = ctl_admin_call(o, "DELETE", path, NULL, &ans);
        if (rc == 0 && ans) printf("route '%s' removed\n", name);
    } else if (!strcmp(sub, "list")) {
        rc = ctl_admin_call(o, "GET", "/admin/routes", NULL, &ans);
        if (rc == 0 && ans) {
            if (json_is_array(ans)) print_list(ans);
            else ctl_print_json(ans);
        }
    } else {
        rc = ctl_admin_call(o, "GET", "/admin/route-status", NULL, &ans);
        if (rc == 0 && ans) {
            if (json_is_array(ans)) print_status(ans, name);
            else ctl_print_json(ans);
        }
    }
    json_decref(body);
    json_decref(ans);
    free(path);
    free(seg);
    return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int ctl_route_main(int argc, char **argv) {
    args a;
    memset(&a, 0, sizeof a);
    a.prefix = sg_xcalloc((size_t)argc + 1, sizeof *a.prefix);
    ctl_args ca = {.seen = a.seen, .val = a.val, .repeat_id = O_PREFIX, .repeated = a.prefix};
    ctl_args_parse(argc, argv, opts, NOPTS, O_HELP, CTL_ARGS_NEGATIVE, &ca);
    a.pos = ca.pos;
    a.npos = ca.npos;
    a.nprefix = ca.nrepeated;
    int ex = CTL_EXIT_OK;
    if (a.seen[O_HELP]) {
        fputs(ctl_route_usage, stdout);
    } else if (ca.err[0]) {
        ex = usage_error("%s", ca.err);
    } else {
        ctl_opts o;
        ctl_opts_init(&o, a.val[O_DATA], a.val[O_URL], a.val[O_CACERT], a.seen[O_JSON],
                      a.seen[O_INSECURE]);
        long long t;
        if (a.val[O_TIMEOUT] && num("timeout", a.val[O_TIMEOUT], 1, 86400, &t))
            ex = CTL_EXIT_USAGE;
        else {
            if (a.val[O_TIMEOUT]) o.timeout_s = (long)t;
            ex = run(&a, &o);
        }
    }
    free(a.pos);
    free(a.prefix);
    return ex;
}
