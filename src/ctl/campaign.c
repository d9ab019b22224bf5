/*
 * campaign.c - `smsctl campaign status --service S TAG [--watch] [--interval SECONDS]`
 * (docs/smsctl.md, docs/campaigns.md).
 *
 * Design: one signed call per look (GET /sms/{S}/tags/{TAG}/statistics through ctl_ovh, the
 * OVH SDKs' signing); the answer counts the tag's SMS per state. They are shown in four
 * groups: queued (not handed to an operator yet: scheduled, queued, being submitted), sent
 * (accepted by the operator, no final receipt yet), delivered, failed (cancelled ones are
 * shown apart when there are any). On a terminal, a bar of the share that reached a final
 * status, redrawn in place with --watch; otherwise one plain line per look, for logs and
 * scripts. --watch looks again every --interval seconds until nothing is queued or sent.
 *
 * Invariants:
 *   1. Exit status: 0 success, 1 API or network error or a tag no SMS carries, 2 usage error;
 *      help goes to stdout with status 0.
 *   2. With --json each look prints the server's answer as is, one per line.
 */
#include "ctl/campaign.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/ctl.h"
#include "ctl/http.h"
#include "ctl/ovh.h"
#include "util/util.h"

#define BAR_WIDTH 30
#define INTERVAL_MAX 3600

const char ctl_campaign_usage[] =
    "usage: smsctl campaign status --service S TAG [--watch] [--interval SECONDS]\n"
    "\n"
    "Shows how far the SMS carrying TAG (the 'tag' of a job or a batch) have gone: queued (not\n"
    "handed to an operator yet), sent (accepted by the operator, waiting for the receipt),\n"
    "delivered and failed. On a terminal as a progress bar of the share that reached a final\n"
    "status; otherwise as one plain line. --watch looks again every --interval seconds\n"
    "(default 1) until nothing is queued or sent any more. --json prints the server's answer\n"
    "(GET /sms/S/tags/TAG/statistics). Signed with OVH_APPLICATION_KEY,\n"
    "OVH_APPLICATION_SECRET and OVH_CONSUMER_KEY, like 'send'. Exit status 1 when no SMS\n"
    "carries TAG.\n";

enum {
    O_DATA, O_URL, O_JSON, O_INSECURE, O_CACERT, O_TIMEOUT, O_HELP, O_SERVICE, O_WATCH,
    O_INTERVAL, O_N
};

static const ctl_optdef opts[] = {
    {"data", O_DATA, 1},       {"url", O_URL, 1},         {"json", O_JSON, 0},
    {"insecure", O_INSECURE, 0}, {"cacert", O_CACERT, 1}, {"timeout", O_TIMEOUT, 1},
    {"help", O_HELP, 0},       {"service", O_SERVICE, 1}, {"watch", O_WATCH, 0},
    {"interval", O_INTERVAL, 1},
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
    fputs(ctl_campaign_usage, stderr);
    return CTL_EXIT_USAGE;
}

static int parse_long(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max) return SG_EINVAL;
    *out = v;
    return 0;
}

static int64_t num(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Prints one look; returns 1 when nothing is queued or sent any more. */
static int show(const json_t *st, const char *tag, int tty, int last) {
    int64_t total = num(st, "total"), queued = num(st, "pending"), sent = num(st, "sent");
    int64_t delivered = num(st, "delivered"), failed = num(st, "failed");
    int64_t cancelled = num(st, "cancelled");
    int64_t final = delivered + failed + cancelled;
    int pct = total ? (int)(final * 100 / total) : 100;
    int finished = queued == 0 && sent == 0;
    char extra[48] = "";
    if (cancelled) snprintf(extra, sizeof extra, "  cancelled %lld", (long long)cancelled);
    if (tty) {
        char bar[BAR_WIDTH + 1];
        int fill = total ? (int)(final * BAR_WIDTH / total) : BAR_WIDTH;
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        printf("\r%s [%s] %3d%%  %lld SMS  queued %lld  sent %lld  delivered %lld  failed "
               "%lld%s\033[K",
               tag, bar, pct, (long long)total, (long long)queued, (long long)sent,
               (long long)delivered, (long long)failed, extra);
        if (last || finished) putchar('\n');
    } else {
        printf("tag '%s': %lld SMS, queued %lld, sent %lld, delivered %lld, failed %lld%s%s "
               "(%d%% final)\n",
               tag, (long long)total, (long long)queued, (long long)sent, (long long)delivered,
               (long long)failed, cancelled ? "," : "", extra, pct);
    }
    fflush(stdout);
    return finished;
}

static int run(const ctl_opts *o, const char *service, const char *tag, int watch,
               long interval) {
    ctl_ovh *c = ctl_ovh_new(o);
    if (!c) return SG_EIO;
    char *sn = ctl_segment(service), *tg = ctl_segment(tag);
    char *path = sg_xasprintf("/sms/%s/tags/%s/statistics", sn, tg);
    int tty = !o->json && isatty(STDOUT_FILENO);
    int rc;
    for (;;) {
        ctl_http_resp resp;
        rc = ctl_ovh_call(c, "GET", path, NULL, &resp);
        if (rc) break;
        json_t *st = NULL;
        rc = ctl_http_answer(o, &resp, &st);
        if (rc == 0 && o->json) { /* printed as is; read it for the end of --watch */
            fflush(stdout);
            st = json_loadb(resp.body, resp.len, 0, NULL);
        }
        ctl_http_resp_fini(&resp);
        if (rc) break;
        if (num(st, "total") == 0) {
            json_decref(st);
            ctl_err("no SMS of %s carries the tag '%s'", service, tag);
            rc = SG_ENOTFOUND;
            break;
        }
        int finished = o->json ? num(st, "pending") == 0 && num(st, "sent") == 0
                               : show(st, tag, tty, !watch);
        json_decref(st);
        if (!watch || finished) break;
        struct timespec ts = {interval, 0};
        nanosleep(&ts, NULL);
    }
    free(path);
    free(tg);
    free(sn);
    ctl_ovh_free(c);
    return rc;
}

int ctl_campaign_main(int argc, char **argv) {
    int seen[O_N] = {0};
    const char *val[O_N] = {0};
    ctl_args a = {.seen = seen, .val = val};
    ctl_args_parse(argc, argv, opts, NOPTS, O_HELP, 0, &a);
    const char **pos = a.pos;
    int npos = a.npos, ex = CTL_EXIT_OK;
    long interval = 1, timeout = CTL_DEFAULT_TIMEOUT;
    if (seen[O_HELP]) {
        fputs(ctl_campaign_usage, stdout);
    } else if (a.err[0]) {
        ex = usage_error("%s", a.err);
    } else if (npos < 2 || strcmp(pos[1], "status") != 0) {
        ex = npos < 2 ? usage_error("'campaign' needs a subcommand: status")
                      : usage_error("unknown subcommand 'campaign %s' (one of: status)", pos[1]);
    } else if (npos != 3) {
        ex = npos < 3 ? usage_error("'campaign status' expects TAG")
                      : usage_error("unexpected argument '%s' for 'campaign status'", pos[3]);
    } else if (!val[O_SERVICE] || !*val[O_SERVICE]) {
        ex = usage_error("campaign status needs --service S");
    } else if (val[O_INTERVAL] && parse_long(val[O_INTERVAL], 1, INTERVAL_MAX, &interval)) {
        ex = usage_error("--interval expects seconds (1 to %d), not '%s'", INTERVAL_MAX,
                         val[O_INTERVAL]);
    } else if (val[O_TIMEOUT] && parse_long(val[O_TIMEOUT], 1, 86400, &timeout)) {
        ex = usage_error("--timeout expects seconds (1 to 86400), not '%s'", val[O_TIMEOUT]);
    } else {
        ctl_opts o;
        ctl_opts_init(&o, val[O_DATA], val[O_URL], val[O_CACERT], seen[O_JSON], seen[O_INSECURE]);
        o.timeout_s = timeout;
        int rc = run(&o, val[O_SERVICE], pos[2], seen[O_WATCH], interval);
        ex = rc == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
    }
    free(pos);
    return ex;
}
