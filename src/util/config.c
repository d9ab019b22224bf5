/*
 * config.c - the one table of settings (see config.h).
 *
 * Each row: key, type, default, bounds (integers), offset in sg_config, description.
 * Loading order: defaults, then the config file (given by --config on the command line), then
 * the command line. Unknown keys, malformed integers and values out of bounds are errors that
 * name the key and the place (file:line or "command line").
 */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef enum { T_STR, T_INT, T_BOOL } ctype_t; /* T_BOOL is stored as int64_t 0/1 */

typedef struct key_def {
    const char *name;
    ctype_t type;
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
    {"sim-delay-ms", T_INT, "500", 0, 3600000, S(sim_delay_ms),
     "delay of each receipt from the embedded sim route"},
    {"log-level", T_STR, "info", 0, 0, S(log_level), "error, warn, info or debug"},
    {"log-debug", T_STR, "", 0, 0, S(log_debug),
     "comma-separated subsystems with debug output (http,store,dispatch,sim,api or all)"},
    {"public-url", T_STR, "", 0, 0, S(public_url),
     "comma-separated public base URLs clients sign against (https://sms.example.com)"},
    {"timestamp-window-s", T_INT, "300", 1, 86400, S(timestamp_window_s),
     "accepted skew of X-Ovh-Timestamp, in seconds"},
    {"default-region", T_STR, "fr", 0, 0, S(default_region),
     "region for national receiver numbers (ISO 3166 alpha-2); empty: international only"},
    {"stop-clause", T_STR, "STOP 36184", 0, 0, S(stop_clause),
     "mention appended on a new line unless noStopClause is true"},
    {"rates", T_STR, "", 0, 0, S(rates),
     "credit rate overrides per part: \"fr=1,de=2.5,*=3\""},
    {"billing-country", T_STR, "fr", 0, 0, S(billing_country),
     "country orders are billed in (currency, VAT): es, fr, gb, ie, it or pl"},
    {"payment-hook", T_STR, "", 0, 0, S(payment_hook),
     "collects payment of orders: an http(s) URL to POST each order to, or a shell command; "
     "empty: orders wait for 'smsctl order pay', automatic top-ups are paid by the account"},
    {"payment-url", T_STR, "", 0, 0, S(payment_url),
     "order.url template, {orderId} and {serviceName} replaced; empty: the order's own URL"},
    {"max-parts", T_INT, "6", 1, 255, S(max_parts), "longest message accepted, in SMS parts"},
    {"lease-ms", T_INT, "60000", 1000, 3600000, S(lease_ms),
     "how long a claimed message belongs to this node before another may take it"},
    {"node", T_STR, "local", 0, 0, S(node), "name of this node (owner of message leases)"},
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
     "status callbacks may call loopback and private addresses (testing only)"},
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
    {"fault-crash-after-commit", T_INT, "0", 0, INT32_MAX, S(fault_crash_after_commit),
     "testing only: abort() right after the Nth store commit"},
    {"fault-fail-nth-op", T_INT, "0", 0, INT32_MAX, S(fault_fail_nth_op),
     "testing only: the Nth store operation fails with an I/O error"},
    {"smpp-enquire-ms", T_INT, "30000", 1000, 3600000, S(smpp_enquire_ms),
     "SMPP: send enquire_link after this much silence on a bind"},
    {"smpp-resp-timeout-ms", T_INT, "10000", 100, 600000, S(smpp_resp_timeout_ms),
     "SMPP: how long an SMSC may take to answer a request (submit, bind, enquire_link)"},
    {"smpp-reconnect-min-ms", T_INT, "500", 10, 600000, S(smpp_reconnect_min_ms),
     "SMPP: first wait before reconnecting a lost bind (doubles on each failure)"},
    {"smpp-reconnect-max-ms", T_INT, "30000", 10, 3600000, S(smpp_reconnect_max_ms),
     "SMPP: longest wait between two reconnection attempts"},
    {"csv-max-bytes", T_INT, "268435456", 1024, INT64_C(17179869184), S(csv_max_bytes),
     "largest receivers CSV fetched from a csvUrl or read from a document, in bytes"},
    {"csv-max-rows", T_INT, "1000000", 1, 100000000, S(csv_max_rows),
     "most rows in one receivers list"},
    {"csv-timeout-s", T_INT, "300", 1, 86400, S(csv_timeout_s),
     "longest download of a receivers CSV (csvUrl, receiversDocumentUrl)"},
};
#undef S
#define NKEYS (sizeof keys / sizeof keys[0])

static const key_def *find(const char *name, size_t len) {
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(keys[i].name) == len && !strncmp(keys[i].name, name, len)) return &keys[i];
    return NULL;
}

static int set(sg_config *cfg, const key_def *k, const char *val, const char *where) {
    char *base = (char *)cfg + k->off;
    if (k->type == T_STR) {
        char **p = (char **)base;
        free(*p);
        *p = sg_xstrdup(val);
        return 0;
    }
    if (k->type == T_BOOL) {
        static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false",
                                                                                  "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (!strcmp(val, yes[i]) || !strcmp(val, no[i])) {
                *(int64_t *)base = !strcmp(val, yes[i]);
                return 0;
            }
        }
        fprintf(stderr, "smsgated: %s: '%s' needs true or false, not '%s'.\n", where, k->name,
                val);
        return SG_EINVAL;
    }
    errno = 0;
    char *end;
    long long v = strtoll(val, &end, 10);
    if (errno || end == val || *end) {
        fprintf(stderr, "smsgated: %s: '%s' needs a whole number, not '%s'.\n", where, k->name,
                val);
        return SG_EINVAL;
    }
    if (v < k->min || v > k->max) {
        fprintf(stderr, "smsgated: %s: '%s' must be between %lld and %lld, not %lld.\n", where,
                k->name, (long long)k->min, (long long)k->max, v);
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
        fprintf(stderr, "smsgated: cannot read config file '%s': %s.\n", path, strerror(errno));
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
            fprintf(stderr, "smsgated: %s: expected 'key = value'.\n", where);
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
            fprintf(stderr, "smsgated: %s: unknown key '%s'.\n", where, key);
            rc = SG_EINVAL;
            break;
        }
        rc = set(cfg, k, val, where);
    }
    fclose(f);
    return rc;
}

int sg_config_load(sg_config *cfg, int argc, char **argv, int *help_out) {
    memset(cfg, 0, sizeof *cfg);
    *help_out = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (set(cfg, &keys[i], keys[i].def, "default")) return SG_EINVAL;
    /* First pass: find --config; second: apply the rest over the file. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                *help_out = 1;
                return 0;
            }
            if (strncmp(a, "--", 2) != 0) {
                fprintf(stderr, "smsgated: unexpected argument '%s' (options look like "
                                "--key=value).\n", a);
                return SG_EINVAL;
            }
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const key_def *k = find(name, len);
            if (!k) {
                fprintf(stderr, "smsgated: command line: unknown option '--%.*s' (see --help).\n",
                        (int)len, name);
                return SG_EINVAL;
            }
            const char *val;
            if (eq) {
                val = eq + 1;
            } else if (k->type == T_BOOL) {
                val = "true"; /* a flag alone: --callback-allow-private */
            } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                val = argv[++i];
            } else {
                fprintf(stderr, "smsgated: command line: '--%s' needs a value.\n", k->name);
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

void sg_config_usage(FILE *out, const char *prog) {
    fprintf(out, "usage: %s [--key=value ...]\n\nEvery key also works in the file given by "
                 "--config, as 'key = value'.\n\n", prog);
    for (size_t i = 0; i < NKEYS; i++)
        fprintf(out, "  --%-26s %s (default: \"%s\")\n", keys[i].name, keys[i].help, keys[i].def);
}

void sg_config_fini(sg_config *cfg) {
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == T_STR) {
            char **p = (char **)((char *)cfg + keys[i].off);
            free(*p);
            *p = NULL;
        }
}
