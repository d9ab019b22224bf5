/*
 * config.c - the one table of settings (see config.h).
 *
 * Each row: key, type, default, bounds (integers), offset in sg_config, description.
 * The type may carry RELOAD (T_INT | RELOAD): a SIGHUP applies a new value of that key while
 * the daemon runs (sg_config_reload). A key is reloadable only when every reader takes it
 * from the loop thread's sg_config at the moment of use (nothing copies it at start) or, for
 * the log settings, through util/log.c's thread-safe setters; the default is no.
 * Loading order: defaults, then the config file (given by --config on the command line), then
 * the command line. Unknown keys, malformed integers and values out of bounds are errors that
 * name the key and the place (file:line or "command line").
 *
 * The same table prints --help (sg_config_usage) and the OPTIONS section of smsgated(8)
 * (sg_config_man), so the two cannot disagree.
 */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/man.h"
#include "util/util.h"

enum { T_STR, T_INT, T_BOOL }; /* T_BOOL is stored as int64_t 0/1 */
#define RELOAD 0x100           /* or-ed into the type: applied again on SIGHUP */
#define TYPE(k) ((k)->type & 0xff)

typedef struct key_def {
    const char *name;
    int type; /* T_*, | RELOAD */
    const char *def;
    int64_t min, max;
    size_t off;
    const char *help;
} key_def;

#define S(field) offsetof(sg_config, field)
static const key_def keys[] = {
    {"config", T_STR, "", 0, 0, S(config), "config file to read (key = value lines)"},
    {"listen", T_STR, "127.0.0.1:8080", 0, 0, S(listen), "plain HTTP listener; empty disables"},
    {"tls-listen", T_STR, "127.0.0.1:8443", 0, 0, S(tls_listen), "HTTPS listener; empty disables"},
    {"tls-cert", T_STR, "", 0, 0, S(tls_cert),
     "PEM certificate chain; empty: DATA/tls/cert.pem, self-signed and generated if missing"},
    {"tls-key", T_STR, "", 0, 0, S(tls_key), "PEM private key; empty: DATA/tls/key.pem"},
    {"data", T_STR, "./data", 0, 0, S(data), "data directory (database, admin token, certs)"},
    {"database", T_STR, "", 0, 0, S(database),
     "PostgreSQL database instead of SQLite in the data directory: a libpq connection string or "
     "URI (postgresql://user@host/db); empty: $SMSGATE_DATABASE, else SQLite"},
    {"database-sessions", T_INT, "4", 1, 4, S(database_sessions),
     "PostgreSQL sessions of the store, each with its own thread: the API's, the dispatcher's, "
     "the SMPP routes', the callbacks' (3: dispatch and SMPP share one; 2: all but the API's)"},
    {"sim-delay-ms", T_INT, "500", 0, 3600000, S(sim_delay_ms),
     "delay of each receipt from the embedded sim route"},
    {"log-level", T_STR | RELOAD, "info", 0, 0, S(log_level), "error, warn, info or debug"},
    {"log-debug", T_STR | RELOAD, "", 0, 0, S(log_debug),
     "comma-separated subsystems with debug output (http,store,dispatch,sim,api or all)"},
    {"public-url", T_STR, "", 0, 0, S(public_url),
     "comma-separated public base URLs clients sign against (https://sms.example.com)"},
    {"timestamp-window-s", T_INT | RELOAD, "300", 1, 86400, S(timestamp_window_s),
     "accepted skew of X-Ovh-Timestamp, in seconds"},
    {"default-region", T_STR, "fr", 0, 0, S(default_region),
     "region for national receiver numbers (ISO 3166 alpha-2); empty: international only"},
    {"stop-clause", T_STR, "STOP 36184", 0, 0, S(stop_clause),
     "mention appended on a new line unless noStopClause is true"},
    /* the default is core/optout.h's OPTOUT_DEFAULT_KEYWORDS */
    {"optout-keywords", T_STR, "STOP, STOP SMS, STOPALL, ARRET, ARRETER, ARRET SMS, "
     "UNSUBSCRIBE, DESABONNER, DESINSCRIRE", 0, 0, S(optout_keywords),
     "comma-separated words a mobile answers to opt out of marketing SMS (case, accents and "
     "spaces ignored; each also followed by the stop-clause's number); empty: none"},
    {"optout-window-days", T_INT, "30", 1, 3650, S(optout_window_days),
     "an opt-out blacklists the mobile for each service that sent it an SMS with the "
     "stop-clause within this many days"},
    {"rates", T_STR, "", 0, 0, S(rates),
     "credit rate overrides per part: \"fr=1,de=2.5,*=3\""},
    {"billing-country", T_STR, "fr", 0, 0, S(billing_country),
     "country orders are billed in (currency, VAT): es, fr, gb, ie, it or pl"},
    {"payment-hook", T_STR, "", 0, 0, S(payment_hook),
     "collects payment of orders: an http(s) URL to POST each order to, or a shell command; "
     "empty: orders wait for 'smsctl order pay', automatic top-ups are paid by the account"},
    {"payment-url", T_STR, "", 0, 0, S(payment_url),
     "order.url template, {orderId} and {serviceName} replaced; empty: the order's own URL"},
    {"max-parts", T_INT | RELOAD, "6", 1, 255, S(max_parts),
     "longest message accepted, in SMS parts"},
    {"lease-ms", T_INT, "60000", 1000, 3600000, S(lease_ms),
     "how long a claimed message belongs to this node before another may take it"},
    {"node", T_STR, "", 0, 0, S(node),
     "name of this node (owner of its leases and bind slots; unique among the nodes sharing a "
     "database); empty: the host name"},
    {"heartbeat-ms", T_INT, "1000", 100, 60000, S(heartbeat_ms),
     "how often this node renews its heartbeat and bind slots in the database; at most a "
     "quarter of node-timeout-s"},
    {"node-timeout-s", T_INT | RELOAD, "8", 2, 3600, S(node_timeout_s),
     "a node silent this long is dead: the others take its messages and bind slots over; a "
     "node that could not renew its heartbeat for half of it stops dispatching"},
    {"dispatch-batch", T_INT, "500", 1, 100000, S(dispatch_batch),
     "messages claimed per dispatch pass"},
    {"max-body", T_INT, "16777216", 1024, 1073741824, S(max_body), "largest request body, bytes"},
    {"http-timeout-s", T_INT, "60", 1, 3600, S(http_timeout_s), "HTTP read/write timeout"},
    {"max-connections", T_INT, "0", 0, 1000000, S(max_connections),
     "open HTTP(S) connections at most; 0: what the open-file limit allows, up to 4096"},
    {"header-timeout-s", T_INT, "10", 1, 3600, S(header_timeout_s),
     "a request's line and headers must arrive within this time of its first byte"},
    {"keepalive-timeout-s", T_INT, "60", 1, 3600, S(keepalive_timeout_s),
     "an idle keep-alive connection is closed after this time"},
    {"body-min-rate", T_INT, "1024", 0, 1073741824, S(body_min_rate),
     "slowest accepted request body, bytes per second after header-timeout-s; 0: no minimum"},
    {"shutdown-timeout-s", T_INT, "15", 1, 600, S(shutdown_timeout_s),
     "on SIGTERM, how long requests and deliveries in flight may take to finish"},
    {"callback-allow-private", T_BOOL, "false", 0, 1, S(callback_allow_private),
     "status callbacks and CSV downloads may call loopback and private addresses (testing "
     "only; never link-local or cloud metadata addresses)"},
    {"callback-timeout-ms", T_INT, "10000", 100, 600000, S(callback_timeout_ms),
     "longest status callback attempt, connection included"},
    {"callback-backoff-ms", T_INT, "1000", 10, 3600000, S(callback_backoff_ms),
     "delay before retrying a failed status callback; doubles at each failure"},
    {"callback-backoff-max-ms", T_INT, "3600000", 10, 86400000, S(callback_backoff_max_ms),
     "longest delay between two attempts of a status callback"},
    {"callback-retry-s", T_INT, "86400", 1, 2592000, S(callback_retry_s),
     "how long a failing status callback is retried before the dead-letter list"},
    {"callback-host-concurrency", T_INT, "8", 1, 1000, S(callback_host_concurrency),
     "status callback attempts in flight at once per customer host"},
    {"marketing-hours", T_BOOL, "true", 0, 1, S(marketing_hours),
     "hold marketing SMS (those with the STOP clause) outside the hours of their destination "
     "country (smsctl hours); false: never hold them"},
    {"hlr-provider", T_STR, "embedded", 0, 0, S(hlr_provider),
     "who answers HLR lookups (/sms/{sn}/hlr): embedded (libphonenumber's offline data, no "
     "network) or none (the HLR routes answer 501)"},
    {"hlr-cost-millicredits", T_INT, "100", 0, 1000000, S(hlr_cost_millicredits),
     "credits charged per HLR lookup, in thousandths (OVH charges 0.1 credit: 100)"},
    {"hlr-sim-numbers", T_BOOL, "false", 0, 1, S(hlr_sim_numbers),
     "the embedded HLR provider answers the sim's test numbers as the sim delivers them "
     "(902 unknown, 903 absent...) and names the sim as every number's operator"},
    {"fault-crash-after-commit", T_INT, "0", 0, INT32_MAX, S(fault_crash_after_commit),
     "testing only: abort() right after the Nth store commit"},
    {"fault-fail-nth-op", T_INT, "0", 0, INT32_MAX, S(fault_fail_nth_op),
     "testing only: the Nth store operation fails with an I/O error"},
    {"fault-clock-offset", T_STR, "0", 0, 0, S(fault_clock_offset),
     "testing only: added to the server's clock (milliseconds, or a duration such as -3d or "
     "2h30m), to run it at another date and time (marketing hours)"},
    {"smpp-enquire-ms", T_INT, "30000", 1000, 3600000, S(smpp_enquire_ms),
     "SMPP: send enquire_link after this much silence on a bind"},
    {"smpp-resp-timeout-ms", T_INT, "10000", 100, 600000, S(smpp_resp_timeout_ms),
     "SMPP: how long an SMSC may take to answer a request (submit, bind, enquire_link)"},
    {"smpp-reconnect-min-ms", T_INT, "500", 10, 600000, S(smpp_reconnect_min_ms),
     "SMPP: first wait before reconnecting a lost bind (doubles on each failure)"},
    {"smpp-reconnect-max-ms", T_INT, "30000", 10, 3600000, S(smpp_reconnect_max_ms),
     "SMPP: longest wait between two reconnection attempts"},
    {"smpp-retry-min-ms", T_INT, "1000", 10, 3600000, S(smpp_retry_min_ms),
     "SMPP: wait before the first retry of a message refused temporarily (doubles each time)"},
    {"smpp-retry-max-ms", T_INT, "600000", 10, 86400000, S(smpp_retry_max_ms),
     "SMPP: longest wait between two attempts of a message refused temporarily"},
    {"smpp-retry-max-attempts", T_INT, "15", 1, 1000, S(smpp_retry_max_attempts),
     "SMPP: attempts of a message refused temporarily before it fails"},
    {"smpp-route-backoff-failures", T_INT, "10", 0, 1000000, S(smpp_route_backoff_failures),
     "SMPP: temporary refusals in a row, without a success, after which a route pauses as a "
     "whole (0: never)"},
    {"rate-limit-per-key", T_INT, "0", 0, 10000000, S(rate_limit_per_key),
     "signed requests per second per application key (0: no limit); smsctl account "
     "set-limit sets it per account"},
    {"rate-limit-per-key-burst", T_INT, "0", 0, 10000000, S(rate_limit_per_key_burst),
     "requests an application key may make at once (0: one second's worth)"},
    {"rate-limit-per-address", T_INT, "0", 0, 10000000, S(rate_limit_per_address),
     "requests per second per client address, IPv6 by /64 (0: no limit)"},
    {"rate-limit-per-address-burst", T_INT, "0", 0, 10000000, S(rate_limit_per_address_burst),
     "requests an address may make at once (0: one second's worth)"},
    {"credential-rate-per-address", T_INT, "10", 0, 1000000, S(credential_rate_per_address),
     "unsigned POST /auth/credential per minute per client address (0: no limit)"},
    {"credential-burst-per-address", T_INT, "20", 1, 1000000, S(credential_burst_per_address),
     "POST /auth/credential an address may make at once"},
    {"rate-limit-table-size", T_INT, "16384", 16, 16777216, S(rate_limit_table_size),
     "buckets kept per kind of limit (keys, addresses, credential requests); the least "
     "recently used goes first"},
    {"consumer-key-pending-ttl-s", T_INT, "86400", 0, 31536000, S(consumer_key_pending_ttl_s),
     "a consumer key not validated within this many seconds of its request expires (0: never)"},
    {"csv-max-bytes", T_INT, "268435456", 1024, INT64_C(17179869184), S(csv_max_bytes),
     "largest receivers CSV fetched from a csvUrl or read from a document, in bytes"},
    {"csv-max-rows", T_INT, "1000000", 1, 100000000, S(csv_max_rows),
     "most rows in one receivers list"},
    {"csv-timeout-s", T_INT, "300", 1, 86400, S(csv_timeout_s),
     "longest download of a receivers CSV (csvUrl, receiversDocumentUrl)"},
    {"idempotency-ttl-s", T_INT, "86400", 1, 30 * 86400, S(idempotency_ttl_s),
     "how long the answer to a request with an Idempotency-Key is kept for its retries"},
    {"user-password-iterations", T_INT, "100000", 1000, 10000000, S(user_password_iterations),
     "PBKDF2-HMAC-SHA-256 iterations of a new SMS user password's hash (docs/users.md)"},
    {"user-auth-failures", T_INT, "5", 1, 1000000, S(user_auth_failures),
     "failed SMS user authentications a login, or an address, may have in a minute; the "
     "next ones are refused (429) until that minute is over"},
    {"reply-window-h", T_INT, "48", 1, 8760, S(reply_window_h),
     "an incoming SMS to a number that sent the mobile an SMS within this many hours belongs "
     "to the service that sent the last of them (docs/replies.md)"},
    {"metrics-listen", T_STR, "127.0.0.1:9464", 0, 0, S(metrics_listen),
     "listener of Prometheus' GET /metrics (docs/metrics.md), plain HTTP without "
     "authentication: keep it on a private address; empty disables"},
    {"console", T_BOOL, "true", 0, 1, S(console),
     "serve the web console at /console/ (docs/console.md)"},
    {"console-session-idle-s", T_INT, "1800", 60, 86400 * 30, S(console_session_idle_s),
     "a console session unused for this many seconds is logged out"},
    {"console-session-max-age-s", T_INT, "43200", 60, 86400 * 365, S(console_session_max_age_s),
     "a console session ends this many seconds after its login, used or not"},
    {"console-sessions-max", T_INT, "10000", 1, 10000000, S(console_sessions_max),
     "console sessions kept on this node; the least recently used goes first"},
};
#undef S
#define NKEYS (sizeof keys / sizeof keys[0])

/* The last loading error, without the "smsgated: " prefix. Loading happens on the main thread
 * only (start-up, then SIGHUP on the loop), so one buffer is enough. */
static char g_err[1024];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
}

static const key_def *find(const char *name, size_t len) {
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(keys[i].name) == len && !strncmp(keys[i].name, name, len)) return &keys[i];
    return NULL;
}

static int set(sg_config *cfg, const key_def *k, const char *val, const char *where) {
    char *base = (char *)cfg + k->off;
    if (TYPE(k) == T_STR) {
        char **p = (char **)base;
        free(*p);
        *p = sg_xstrdup(val);
        return 0;
    }
    if (TYPE(k) == T_BOOL) {
        static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false",
                                                                                  "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (!strcmp(val, yes[i]) || !strcmp(val, no[i])) {
                *(int64_t *)base = !strcmp(val, yes[i]);
                return 0;
            }
        }
        fail("%s: '%s' needs true or false, not '%s'.", where, k->name, val);
        return SG_EINVAL;
    }
    errno = 0;
    char *end;
    long long v = strtoll(val, &end, 10);
    if (errno || end == val || *end) {
        fail("%s: '%s' needs a whole number, not '%s'.", where, k->name, val);
        return SG_EINVAL;
    }
    if (v < k->min || v > k->max) {
        fail("%s: '%s' must be between %lld and %lld, not %lld.", where, k->name,
             (long long)k->min, (long long)k->max, v);
        return SG_EINVAL;
    }
    *(int64_t *)base = v;
    return 0;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static int load_file(sg_config *cfg, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fail("cannot read config file '%s': %s.", path, strerror(errno));
        return SG_EINVAL;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        char where[512];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!eq) {
            fail("%s: expected 'key = value'.", where);
            rc = SG_EINVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        const key_def *k = find(key, strlen(key));
        if (!k || !strcmp(key, "config")) {
            fail("%s: unknown key '%s'.", where, key);
            rc = SG_EINVAL;
            break;
        }
        rc = set(cfg, k, val, where);
    }
    fclose(f);
    return rc;
}

/* sg_config_load without printing: the error is left in g_err. */
static int load(sg_config *cfg, int argc, char **argv, int *help_out) {
    memset(cfg, 0, sizeof *cfg);
    *help_out = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (set(cfg, &keys[i], keys[i].def, "default")) return SG_EINVAL;
    /* First pass: find --config; second: apply the rest over the file. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                *help_out = SG_CONFIG_HELP;
                return 0;
            }
            if (!strcmp(a, "--man")) { /* not in --help: the Makefile's man page source */
                *help_out = SG_CONFIG_MAN;
                return 0;
            }
            if (strncmp(a, "--", 2) != 0) {
                fail("unexpected argument '%s' (options look like --key=value).", a);
                return SG_EINVAL;
            }
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const key_def *k = find(name, len);
            if (!k) {
                fail("command line: unknown option '--%.*s' (see --help).", (int)len, name);
                return SG_EINVAL;
            }
            const char *val;
            if (eq) {
                val = eq + 1;
            } else if (TYPE(k) == T_BOOL) {
                val = "true"; /* a flag alone: --callback-allow-private */
            } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                val = argv[++i];
            } else {
                fail("command line: '--%s' needs a value.", k->name);
                return SG_EINVAL;
            }
            int is_config = !strcmp(k->name, "config");
            if (pass == 0 && is_config) {
                if (set(cfg, k, val, "command line") || load_file(cfg, val)) return SG_EINVAL;
            } else if (pass == 1 && !is_config) {
                if (set(cfg, k, val, "command line")) return SG_EINVAL;
            }
        }
    }
    return 0;
}

int sg_config_load(sg_config *cfg, int argc, char **argv, int *help_out) {
    int rc = load(cfg, argc, argv, help_out);
    if (rc) fprintf(stderr, "smsgated: %s\n", g_err);
    return rc;
}

/* The value of key k in cfg as text, as it would be written in the file; new string. */
static char *value_text(const sg_config *cfg, const key_def *k) {
    const char *base = (const char *)cfg + k->off;
    if (TYPE(k) == T_STR) return sg_xstrdup(*(char *const *)base);
    if (TYPE(k) == T_BOOL) return sg_xstrdup(*(const int64_t *)base ? "true" : "false");
    return sg_xasprintf("%lld", (long long)*(const int64_t *)base);
}

int sg_config_reload(sg_config *cfg, int argc, char **argv, sg_config_change_cb cb, void *arg) {
    sg_config next;
    int help = 0, applied = 0;
    if (load(&next, argc, argv, &help) != 0) {
        sg_config_fini(&next);
        return SG_EINVAL;
    }
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        char *old = value_text(cfg, k), *now = value_text(&next, k);
        if (strcmp(old, now) != 0) {
            int apply = (k->type & RELOAD) != 0;
            if (apply) { /* swap, so that next's fini frees the old string */
                char *a = (char *)cfg + k->off, *b = (char *)&next + k->off, tmp[sizeof(int64_t)];
                size_t n = TYPE(k) == T_STR ? sizeof(char *) : sizeof(int64_t);
                memcpy(tmp, a, n);
                memcpy(a, b, n);
                memcpy(b, tmp, n);
                applied++;
            }
            cb(k->name, old, now, apply, arg);
        }
        free(old);
        free(now);
    }
    sg_config_fini(&next);
    return applied;
}

const char *sg_config_error(void) { return g_err; }

void sg_config_usage(FILE *out, const char *prog) {
    fprintf(out, "usage: %s [--key=value ...]\n\nEvery key also works in the file given by "
                 "--config, as 'key = value'. On SIGHUP the file is read\nagain and the keys "
                 "marked 'reloadable' take their new value; the others need a restart.\n\n",
            prog);
    for (size_t i = 0; i < NKEYS; i++)
        fprintf(out, "  --%-26s %s (default: \"%s\"%s)\n", keys[i].name, keys[i].help,
                keys[i].def, keys[i].type & RELOAD ? "; reloadable" : "");
}

void sg_config_man(FILE *out) {
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        static const char *const arg[] = {"text", "N", "true|false"};
        fputs(".TP\n\\fB\\-\\-", out);
        sg_man_puts(out, k->name);
        fprintf(out, "\\fR=\\fI%s\\fR\n", arg[TYPE(k)]);
        sg_man_puts(out, k->help);
        fputs(".\n", out);
        if (!strcmp(k->name, "config")) {
            fputs("Command line only.\n", out);
        } else {
            fputs("Default: ", out);
            if (k->def[0]) {
                fputs("\\(lq", out);
                sg_man_puts(out, k->def);
                fputs("\\(rq", out);
            } else {
                fputs("empty", out);
            }
            fputs(".\n", out);
        }
        if (TYPE(k) == T_INT)
            fprintf(out, "From %lld to %lld.\n", (long long)k->min, (long long)k->max);
        if (TYPE(k) == T_BOOL) {
            fputs("Given alone, \\fB\\-\\-", out);
            sg_man_puts(out, k->name);
            fputs("\\fR means true.\n", out);
        }
        fputs(k->type & RELOAD ? "Reloaded on SIGHUP.\n" : "", out);
    }
}

void sg_config_fini(sg_config *cfg) {
    for (size_t i = 0; i < NKEYS; i++)
        if (TYPE(&keys[i]) == T_STR) {
            char **p = (char **)((char *)cfg + keys[i].off);
            free(*p);
            *p = NULL;
        }
}
