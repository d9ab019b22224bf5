/*
 * smsctl.c - entry point of smsctl, the operator's and customer's command-line client of
 * smsgated: option parsing and dispatch only. The commands live in src/ctl/ (admin.c for the
 * admin API, sms.c for the signed customer API); their texts in ctl/usage.c; docs/smsctl.md is
 * the manual.
 *
 * Design: argv is read once by parse_args() into a cli struct: positional words (the command,
 * its subcommand, its arguments) and options, which may come before or after the command and
 * take their value either as "--opt=value" or as the next word. Options are one table (optdefs)
 * and every command names the options it accepts beside the global ones (commands[]), so an
 * option given to the wrong command is a usage error rather than silently ignored. Values are
 * checked before anything is sent. The parser is our own rather than getopt_long because
 * credit amounts are negative numbers ("service credit sms-x-1 -5") and getopt would take "-5"
 * for an option.
 *
 * Invariants:
 *   1. Exit status: 0 success, 1 API or network error (the command printed the server's
 *      message), 2 usage error (an error line, then the command's usage, on stderr).
 *   2. Help (--help, -h, "help COMMAND") goes to stdout and exits 0.
 *   3. After "--" every word is positional, so a MESSAGE may start with '-'.
 *   4. A word that looks like a negative number ("-5", "-.5") is positional, never an option.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/admin.h"
#include "ctl/callbacks.h"
#include "ctl/blacklist.h"
#include "ctl/campaign.h"
#include "ctl/credits.h"
#include "ctl/numbers.h"
#include "ctl/users.h"
#include "ctl/ctl.h"
#include "ctl/incoming.h"
#include "ctl/routes.h"
#include "ctl/hours.h"
#include "ctl/sms.h"
#include "ctl/usage.h"
#include "core/sendfields.h"
#include "ctl/ops.h"
#include "util/util.h"

enum opt_id {
    OPT_DATA, OPT_URL, OPT_JSON, OPT_INSECURE, OPT_CACERT, OPT_TIMEOUT, OPT_HELP,
    OPT_CREDITS, OPT_COMMENT, OPT_REASON, OPT_SERVICE, OPT_TO, OPT_SENDER, OPT_SFR, OPT_NOSTOP,
    OPT_TAG, OPT_DIFFERED, OPT_PRIORITY, OPT_STATE, OPT_ID, OPT_BILLING,
    OPT_REFERENCE, OPT_IDEM_KEY, OPT_UNATTRIBUTED, OPT_PARTIAL, OPT_PASSWORD, OPT_COUNT
};

#define BIT(id) (1u << (id))
#define OPTS_GLOBAL                                                                            \
    (BIT(OPT_DATA) | BIT(OPT_URL) | BIT(OPT_JSON) | BIT(OPT_INSECURE) | BIT(OPT_CACERT) |      \
     BIT(OPT_TIMEOUT) | BIT(OPT_HELP))
#define OPTS_SEND                                                                              \
    (BIT(OPT_SERVICE) | BIT(OPT_TO) | BIT(OPT_SENDER) | BIT(OPT_SFR) | BIT(OPT_NOSTOP) |        \
     BIT(OPT_TAG) | BIT(OPT_DIFFERED) | BIT(OPT_PRIORITY) | BIT(OPT_IDEM_KEY))

static const struct optdef {
    const char *name;
    enum opt_id id;
    int takes_value;
} optdefs[] = {
    {"data", OPT_DATA, 1},         {"url", OPT_URL, 1},
    {"json", OPT_JSON, 0},         {"insecure", OPT_INSECURE, 0},
    {"cacert", OPT_CACERT, 1},     {"timeout", OPT_TIMEOUT, 1},
    {"help", OPT_HELP, 0},         {"credits", OPT_CREDITS, 1},
    {"comment", OPT_COMMENT, 1},   {"reason", OPT_REASON, 1},
    {"service", OPT_SERVICE, 1},   {"to", OPT_TO, 1},
    {"sender", OPT_SENDER, 1},     {"sender-for-response", OPT_SFR, 0},
    {"no-stop", OPT_NOSTOP, 0},    {"tag", OPT_TAG, 1},
    {"differed", OPT_DIFFERED, 1}, {"priority", OPT_PRIORITY, 1},
    {"state", OPT_STATE, 1},       {"id", OPT_ID, 1},
    {"billing", OPT_BILLING, 1},   {"reference", OPT_REFERENCE, 1},
    {"idempotency-key", OPT_IDEM_KEY, 1},
    {"unattributed", OPT_UNATTRIBUTED, 0}, {"partial", OPT_PARTIAL, 0},
    {"password", OPT_PASSWORD, 1},
};

/* The command line, as parsed. Strings are borrowed from argv. */
typedef struct cli {
    unsigned seen;               /* BIT(id) for every option given */
    const char *val[OPT_COUNT];  /* last value of each option that takes one */
    const char **to;             /* every --to, in order */
    size_t nto;
    const char **pos;            /* positional words: command, subcommand, arguments */
    int npos;
    char err[256];               /* first parse error, "" if none */
} cli;

typedef struct command command;
typedef int (*run_fn)(const command *cmd, const cli *c, const ctl_opts *o);

struct command {
    const char *name;
    const char *sub;      /* subcommand, or NULL */
    int nargs;            /* positional arguments after name [sub] */
    const char *args;     /* their names, for errors */
    unsigned opts;        /* options accepted beside OPTS_GLOBAL */
    run_fn run;
};

/* Arguments that may follow the nargs ones: those args writes in brackets ("[SERVICE]"). */
static int optional_args(const command *cmd) {
    int n = 0;
    for (const char *p = cmd->args; *p; p++) n += *p == '[';
    return n;
}

static int looks_negative_number(const char *s) {
    return s[0] == '-' && (isdigit((unsigned char)s[1]) ||
                           (s[1] == '.' && isdigit((unsigned char)s[2])));
}

static void set_err(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(cli *c, const char *fmt, ...) {
    if (c->err[0]) return; /* keep the first one */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* Splits argv into options and positional words. Errors are recorded in c->err, and parsing
 * goes on so that the command (for its usage text) and --help are still found. */
static void parse_args(int argc, char **argv, cli *c) {
    int only_pos = 0;
    c->pos = sg_xcalloc((size_t)argc, sizeof *c->pos);
    c->to = sg_xcalloc((size_t)argc, sizeof *c->to);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0' || looks_negative_number(a)) {
            c->pos[c->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            c->seen |= BIT(OPT_HELP);
            continue;
        }
        if (a[1] != '-') {
            set_err(c, "unknown option '%s'", a);
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct optdef *d = NULL;
        for (size_t k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
            if (strlen(optdefs[k].name) == nlen && strncmp(optdefs[k].name, name, nlen) == 0)
                d = &optdefs[k];
        if (!d) {
            set_err(c, "unknown option '--%.*s'", (int)nlen, name);
            continue;
        }
        const char *value = NULL;
        if (d->takes_value) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                set_err(c, "option --%s needs a value", d->name);
                continue;
            }
        } else if (eq) {
            set_err(c, "option --%s takes no value", d->name);
            continue;
        }
        c->seen |= BIT(d->id);
        if (d->id == OPT_TO)
            c->to[c->nto++] = value;
        else
            c->val[d->id] = value;
    }
}

/* Prints "smsctl: message" and the usage of cmd (general usage when cmd is NULL or unknown) on
 * stderr; returns CTL_EXIT_USAGE. */
static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fputs("smsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    if (!cmd || ctl_usage_print(stderr, cmd) != 0) ctl_usage_print(stderr, NULL);
    return CTL_EXIT_USAGE;
}

/* Parses a finite decimal number ("12", "-5.5", "1e3"; no hex, inf or nan). */
static int parse_number(const char *s, double *out) {
    if (!*s || strpbrk(s, "xXnN") || isspace((unsigned char)*s)) return SG_EINVAL;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end || errno || !isfinite(d)) return SG_EINVAL;
    *out = d;
    return 0;
}

/* Parses a decimal integer in [min, max], digits only (and a leading '-' when min < 0). */
static int parse_int(const char *s, long long min, long long max, long long *out) {
    const char *p = (*s == '-' && min < 0) ? s + 1 : s;
    if (!*p) return SG_EINVAL;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return SG_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < min || v > max) return SG_EINVAL;
    *out = v;
    return 0;
}

/* Reports a bad argument on stderr; the caller returns SG_EINVAL so main adds the usage. */
static int bad_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_arg(const char *fmt, ...) {
    va_list ap;
    fputs("smsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return SG_EINVAL;
}

/* The arguments of a command: the words after "name" or "name sub". */
static const char *arg(const command *cmd, const cli *c, int i) {
    return c->pos[(cmd->sub ? 2 : 1) + i];
}

static int run_health(const command *cmd, const cli *c, const ctl_opts *o) {
    (void)cmd;
    (void)c;
    return ctl_admin_health(o);
}

static int run_account_create(const command *cmd, const cli *c, const ctl_opts *o) {
    double credits;
    const char *v = c->val[OPT_CREDITS];
    if (v && (parse_number(v, &credits) || credits < 0))
        return bad_arg("--credits expects a number >= 0, not '%s'", v);
    return ctl_admin_account_create(o, arg(cmd, c, 0), v ? &credits : NULL);
}

static int run_account_add_service(const command *cmd, const cli *c, const ctl_opts *o) {
    double credits = 0;
    const char *v = c->val[OPT_CREDITS];
    if (v && (parse_number(v, &credits) || credits < 0))
        return bad_arg("--credits expects a number >= 0, not '%s'", v);
    return ctl_service_add(o, arg(cmd, c, 0), credits, v != NULL);
}

static int run_account_list(const command *cmd, const cli *c, const ctl_opts *o) {
    (void)cmd;
    (void)c;
    return ctl_admin_account_list(o);
}

static int run_sender(const command *cmd, const cli *c, const ctl_opts *o) {
    const char *status = strcmp(cmd->sub, "approve") == 0  ? "enable"
                         : strcmp(cmd->sub, "refuse") == 0 ? "refused"
                                                           : "disable";
    return ctl_admin_sender_set(o, arg(cmd, c, 0), arg(cmd, c, 1), status,
                                c->val[OPT_COMMENT]);
}

static int run_template(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_template_set(o, arg(cmd, c, 0), arg(cmd, c, 1),
                            strcmp(cmd->sub, "approve") == 0 ? "enable" : "refused",
                            c->val[OPT_COMMENT]);
}

static int run_template_list(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_template_list(o, arg(cmd, c, 0));
}

static int run_sender_code(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_sender_code(o, arg(cmd, c, 0), arg(cmd, c, 1));
}

static int run_sender_list(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_admin_sender_list(o, arg(cmd, c, 0));
}

static int run_credential(const command *cmd, const cli *c, const ctl_opts *o) {
    if (strcmp(cmd->sub, "show") == 0) return ctl_admin_credential_show(o, arg(cmd, c, 0));
    return ctl_admin_credential_set(o, arg(cmd, c, 0), cmd->sub);
}

static int run_account_limit(const command *cmd, const cli *c, const ctl_opts *o) {
    if (strcmp(cmd->sub, "limit") == 0)
        return ctl_admin_account_limit(o, arg(cmd, c, 0), NULL, NULL);
    int rc = ctl_admin_account_limit(o, arg(cmd, c, 0), arg(cmd, c, 1), arg(cmd, c, 2));
    return rc == SG_EINVAL ? bad_arg("see 'smsctl help account'") : rc;
}

static int run_credit(const command *cmd, const cli *c, const ctl_opts *o) {
    double amount;
    const char *v = arg(cmd, c, 1);
    if (parse_number(v, &amount) || amount == 0)
        return bad_arg("AMOUNT must be a non-zero number such as 100 or -5.5, not '%s'", v);
    return ctl_admin_service_credit(o, arg(cmd, c, 0), amount, c->val[OPT_REASON]);
}

/* Prices and orders (ctl/credits.c). */
static int run_price_list(const command *cmd, const cli *c, const ctl_opts *o) {
    (void)cmd;
    return ctl_credits_price_list(o, c->val[OPT_BILLING]);
}

static int run_price_set(const command *cmd, const cli *c, const ctl_opts *o) {
    const char *v = arg(cmd, c, 1);
    double credits;
    if (strcmp(v, "default") == 0) return ctl_credits_price_set(o, arg(cmd, c, 0), NULL);
    if (parse_number(v, &credits) || credits < 0 || credits > 1000)
        return bad_arg("CREDITS must be a number from 0 to 1000, or 'default', not '%s'", v);
    return ctl_credits_price_set(o, arg(cmd, c, 0), &credits);
}

static int run_price_pack(const command *cmd, const cli *c, const ctl_opts *o) {
    long long q;
    double price;
    if (parse_int(arg(cmd, c, 1), 1, INT64_MAX, &q))
        return bad_arg("QUANTITY must be a pack size such as 1000, not '%s'", arg(cmd, c, 1));
    if (parse_number(arg(cmd, c, 2), &price) || price < 0)
        return bad_arg("PRICE must be a number >= 0 (without tax), not '%s'", arg(cmd, c, 2));
    return ctl_credits_pack_set(o, arg(cmd, c, 0), q, price);
}

static int run_price_vat(const command *cmd, const cli *c, const ctl_opts *o) {
    double rate;
    if (parse_number(arg(cmd, c, 1), &rate) || rate < 0 || rate > 100)
        return bad_arg("RATE must be a percentage from 0 to 100, not '%s'", arg(cmd, c, 1));
    return ctl_credits_vat_set(o, arg(cmd, c, 0), rate);
}

static int run_order_list(const command *cmd, const cli *c, const ctl_opts *o) {
    (void)cmd;
    const char *s = c->val[OPT_STATE];
    if (s && strcmp(s, "unpaid") != 0 && strcmp(s, "paid") != 0 && strcmp(s, "cancelled") != 0)
        return bad_arg("--state expects unpaid, paid or cancelled, not '%s'", s);
    return ctl_credits_order_list(o, c->val[OPT_SERVICE], s);
}

/* Reads the ID argument of an order command. */
static int order_id(const command *cmd, const cli *c, int64_t *id) {
    long long v;
    if (parse_int(arg(cmd, c, 0), 1, INT64_MAX, &v))
        return bad_arg("ID must be an order id (a positive integer), not '%s'", arg(cmd, c, 0));
    *id = (int64_t)v;
    return 0;
}

static int run_order(const command *cmd, const cli *c, const ctl_opts *o) {
    int64_t id = 0;
    int rc = order_id(cmd, c, &id);
    if (rc) return rc;
    if (strcmp(cmd->sub, "show") == 0) return ctl_credits_order_show(o, id);
    if (strcmp(cmd->sub, "pay") == 0) return ctl_credits_order_pay(o, id, c->val[OPT_REFERENCE]);
    return ctl_credits_order_cancel(o, id);
}

static int run_callbacks_list(const command *cmd, const cli *c, const ctl_opts *o) {
    const char *s = c->val[OPT_STATE];
    if (s && strcmp(s, "pending") != 0 && strcmp(s, "dead") != 0 && strcmp(s, "delivered") != 0)
        return bad_arg("--state expects pending, dead or delivered, not '%s'", s);
    return ctl_callbacks_list(o, arg(cmd, c, 0), s);
}

static int run_callbacks_replay(const command *cmd, const cli *c, const ctl_opts *o) {
    long long id;
    if (c->val[OPT_ID] && parse_int(c->val[OPT_ID], 1, INT64_MAX, &id))
        return bad_arg("--id expects a callback id (a positive integer), not '%s'",
                       c->val[OPT_ID]);
    int64_t id64 = c->val[OPT_ID] ? (int64_t)id : 0;
    return ctl_callbacks_replay(o, arg(cmd, c, 0), c->val[OPT_ID] ? &id64 : NULL);
}

static int run_service_secret(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_callbacks_secret(o, arg(cmd, c, 0));
}

static int run_blacklist(const command *cmd, const cli *c, const ctl_opts *o) {
    if (strcmp(cmd->sub, "list") == 0) return ctl_blacklist_list(o, arg(cmd, c, 0));
    if (strcmp(cmd->sub, "add") == 0) return ctl_blacklist_add(o, arg(cmd, c, 0), arg(cmd, c, 1));
    return ctl_blacklist_remove(o, arg(cmd, c, 0), arg(cmd, c, 1));
}

static int run_node_list(const command *cmd, const cli *c, const ctl_opts *o) {
    (void)cmd;
    (void)c;
    return ctl_admin_node_list(o);
}

/* SMS users (ctl/users.c). */
static int run_user_add(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_user_add(o, arg(cmd, c, 0), arg(cmd, c, 1), c->val[OPT_PASSWORD]);
}

static int run_user_list(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_user_list(o, arg(cmd, c, 0));
}

static int run_user_passwd(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_user_passwd(o, arg(cmd, c, 0), arg(cmd, c, 1), c->val[OPT_PASSWORD]);
}

static int run_user_remove(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_user_remove(o, arg(cmd, c, 0), arg(cmd, c, 1));
}

/* Virtual numbers (ctl/numbers.c). */
static int run_number_add(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_number_add(o, arg(cmd, c, 0), arg(cmd, c, 1));
}

static int run_number_list(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_number_list(o, c->npos > 2 ? arg(cmd, c, 0) : NULL);
}

static int run_number_remove(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_number_remove(o, arg(cmd, c, 0));
}

static int run_number_response(const command *cmd, const cli *c, const ctl_opts *o) {
    const char *v = arg(cmd, c, 1);
    return ctl_number_response(o, arg(cmd, c, 0), strcmp(v, "default") == 0 ? NULL : v);
}

static int run_ledger(const command *cmd, const cli *c, const ctl_opts *o) {
    return ctl_admin_ledger(o, arg(cmd, c, 0));
}

static int run_send(const command *cmd, const cli *c, const ctl_opts *o) {
    ctl_sms_send_req r = {0};
    r.service = c->val[OPT_SERVICE];
    r.to = c->to;
    r.nto = c->nto;
    r.message = arg(cmd, c, 0);
    r.sender = c->val[OPT_SENDER];
    r.sender_for_response = (c->seen & BIT(OPT_SFR)) != 0;
    r.no_stop = (c->seen & BIT(OPT_NOSTOP)) != 0;
    r.tag = c->val[OPT_TAG];
    r.priority = c->val[OPT_PRIORITY];
    r.idempotency_key = c->val[OPT_IDEM_KEY];
    r.differed = CTL_SMS_NO_DIFFERED;
    if (!r.service || !*r.service) return bad_arg("send needs --service S");
    if (r.nto == 0) return bad_arg("send needs at least one --to NUMBER");
    if (r.idempotency_key) {
        size_t n = strlen(r.idempotency_key);
        int ok = n >= 1 && n <= 255;
        for (const char *p = r.idempotency_key; ok && *p; p++)
            ok = *p > ' ' && *p < 0x7f && *p != '"';
        if (!ok)
            return bad_arg("--idempotency-key expects 1 to 255 visible ASCII characters "
                           "(no '\"'), not '%s'", r.idempotency_key);
    }
    if (c->val[OPT_DIFFERED]) {
        long long m;
        if (parse_int(c->val[OPT_DIFFERED], 0, SEND_DIFFERED_MAX, &m))
            return bad_arg("--differed expects minutes (an integer from 0 to %d), not '%s'",
                           SEND_DIFFERED_MAX, c->val[OPT_DIFFERED]);
        r.differed = (long)m;
    }
    if (r.priority && send_enum_find(send_priorities, r.priority) < 0) {
        char allowed[64];
        return bad_arg("--priority expects one of %s, not '%s'",
                       send_enum_list(send_priorities, allowed, sizeof allowed), r.priority);
    }
    return ctl_sms_send(o, &r);
}

static int run_status(const command *cmd, const cli *c, const ctl_opts *o) {
    const char *sn = c->val[OPT_SERVICE];
    long long id;
    if (!sn || !*sn) return bad_arg("status needs --service S");
    if (parse_int(arg(cmd, c, 0), 1, INT64_MAX, &id))
        return bad_arg("ID must be a positive integer, not '%s'", arg(cmd, c, 0));
    return ctl_sms_status(o, sn, (int64_t)id);
}

static int run_incoming_list(const command *cmd, const cli *c, const ctl_opts *o) {
    (void)cmd;
    int un = (c->seen & BIT(OPT_UNATTRIBUTED)) != 0, partial = (c->seen & BIT(OPT_PARTIAL)) != 0;
    if (un + partial + (c->val[OPT_SERVICE] != NULL) > 1)
        return bad_arg("give one of --service S, --unattributed and --partial");
    if (c->val[OPT_SERVICE] && !*c->val[OPT_SERVICE]) return bad_arg("--service needs a name");
    return ctl_incoming_list(o, c->val[OPT_SERVICE], un, partial);
}

static const command commands[] = {
    {"account", "create", 1, "NAME", BIT(OPT_CREDITS), run_account_create},
    {"account", "list", 0, "", 0, run_account_list},
    {"account", "add-service", 1, "NAME", BIT(OPT_CREDITS), run_account_add_service},
    {"sender", "list", 1, "SERVICE", 0, run_sender_list},
    {"account", "limit", 1, "NAME", 0, run_account_limit},
    {"account", "set-limit", 3, "NAME RATE|default BURST|default", 0, run_account_limit},
    {"sender", "approve", 2, "SERVICE SENDER", BIT(OPT_COMMENT), run_sender},
    {"sender", "refuse", 2, "SERVICE SENDER", BIT(OPT_COMMENT), run_sender},
    {"sender", "disable", 2, "SERVICE SENDER", BIT(OPT_COMMENT), run_sender},
    {"sender", "code", 2, "SERVICE SENDER", 0, run_sender_code},
    {"template", "list", 1, "SERVICE", 0, run_template_list},
    {"template", "approve", 2, "SERVICE NAME", BIT(OPT_COMMENT), run_template},
    {"template", "refuse", 2, "SERVICE NAME", BIT(OPT_COMMENT), run_template},
    {"credential", "validate", 1, "CONSUMER_KEY", 0, run_credential},
    {"credential", "refuse", 1, "CONSUMER_KEY", 0, run_credential},
    {"credential", "show", 1, "CONSUMER_KEY", 0, run_credential},
    {"service", "credit", 2, "SERVICE AMOUNT", BIT(OPT_REASON), run_credit},
    {"service", "secret", 1, "SERVICE", 0, run_service_secret},
    {"callbacks", "list", 1, "SERVICE", BIT(OPT_STATE), run_callbacks_list},
    {"callbacks", "replay", 1, "SERVICE", BIT(OPT_ID), run_callbacks_replay},
    {"blacklist", "list", 1, "SERVICE", 0, run_blacklist},
    {"blacklist", "add", 2, "SERVICE NUMBER", 0, run_blacklist},
    {"blacklist", "remove", 2, "SERVICE NUMBER", 0, run_blacklist},
    {"price", "list", 0, "", BIT(OPT_BILLING), run_price_list},
    {"price", "set", 2, "COUNTRY CREDITS", 0, run_price_set},
    {"price", "set-pack", 3, "BILLING QUANTITY PRICE", 0, run_price_pack},
    {"price", "set-vat", 2, "BILLING RATE", 0, run_price_vat},
    {"order", "list", 0, "", BIT(OPT_SERVICE) | BIT(OPT_STATE), run_order_list},
    {"order", "show", 1, "ID", 0, run_order},
    {"order", "pay", 1, "ID", BIT(OPT_REFERENCE), run_order},
    {"order", "cancel", 1, "ID", 0, run_order},
    {"ledger", NULL, 1, "SERVICE", 0, run_ledger},
    {"incoming", "list", 0, "", BIT(OPT_SERVICE) | BIT(OPT_UNATTRIBUTED) | BIT(OPT_PARTIAL),
     run_incoming_list},
    {"node", "list", 0, "", 0, run_node_list},
    {"number", "add", 2, "SERVICE NUMBER", 0, run_number_add},
    {"number", "list", 0, "[SERVICE]", 0, run_number_list},
    {"number", "remove", 1, "NUMBER", 0, run_number_remove},
    {"number", "response", 2, "NUMBER RESPONSE|default", 0, run_number_response},
    {"user", "add", 2, "SERVICE LOGIN", BIT(OPT_PASSWORD), run_user_add},
    {"user", "list", 1, "SERVICE", 0, run_user_list},
    {"user", "passwd", 2, "SERVICE LOGIN", BIT(OPT_PASSWORD), run_user_passwd},
    {"user", "remove", 2, "SERVICE LOGIN", 0, run_user_remove},
    {"health", NULL, 0, "", 0, run_health},
    {"send", NULL, 1, "MESSAGE", OPTS_SEND, run_send},
    {"status", NULL, 1, "ID", BIT(OPT_SERVICE), run_status},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int is_command(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return 1;
    return strcmp(name, "help") == 0;
}

/* Finds the entry for the positional words, or prints a usage error and returns NULL. */
static const command *find_command(const cli *c) {
    const char *name = c->pos[0];
    char subs[128] = "";
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const command *cmd = &commands[i];
        if (strcmp(cmd->name, name) != 0) continue;
        if (!cmd->sub) return cmd;
        if (c->npos > 1 && strcmp(cmd->sub, c->pos[1]) == 0) return cmd;
        snprintf(subs + strlen(subs), sizeof subs - strlen(subs), "%s%s", subs[0] ? ", " : "",
                 cmd->sub);
    }
    if (!subs[0])
        usage_error(NULL, "unknown command '%s'", name);
    else if (c->npos < 2)
        usage_error(name, "'%s' needs a subcommand: %s", name, subs);
    else
        usage_error(name, "unknown subcommand '%s %s' (one of: %s)", name, c->pos[1], subs);
    return NULL;
}

/* Checks the number of arguments and the options given to cmd; prints a usage error and
 * returns CTL_EXIT_USAGE when they do not fit. */
static int check_command(const command *cmd, const cli *c) {
    char full[64];
    snprintf(full, sizeof full, "%s%s%s", cmd->name, cmd->sub ? " " : "",
             cmd->sub ? cmd->sub : "");
    int have = c->npos - (cmd->sub ? 2 : 1);
    if (have < cmd->nargs)
        return usage_error(cmd->name, "'%s' expects %s", full, cmd->args);
    if (have > cmd->nargs + optional_args(cmd)) {
        const char *extra = c->pos[c->npos - have + cmd->nargs + optional_args(cmd)];
        if (strcmp(cmd->name, "send") == 0)
            return usage_error(cmd->name, "unexpected argument '%s': quote a MESSAGE made of "
                               "several words", extra);
        return usage_error(cmd->name, "unexpected argument '%s' for '%s'", extra, full);
    }
    unsigned extra_opts = c->seen & ~(OPTS_GLOBAL | cmd->opts);
    for (size_t k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
        if (extra_opts & BIT(optdefs[k].id))
            return usage_error(cmd->name, "option --%s does not apply to '%s'", optdefs[k].name,
                               full);
    return CTL_EXIT_OK;
}

/* Fills the global options from the command line, then the environment. */
static int global_opts(const cli *c, ctl_opts *o) {
    ctl_opts_init(o, c->val[OPT_DATA], c->val[OPT_URL], c->val[OPT_CACERT],
                  (c->seen & BIT(OPT_JSON)) != 0, (c->seen & BIT(OPT_INSECURE)) != 0);
    if (c->val[OPT_TIMEOUT]) {
        long long t;
        if (parse_int(c->val[OPT_TIMEOUT], 1, 86400, &t))
            return usage_error(c->npos ? c->pos[0] : NULL,
                               "--timeout expects seconds (1 to 86400), not '%s'",
                               c->val[OPT_TIMEOUT]);
        o->timeout_s = (long)t;
    }
    return CTL_EXIT_OK;
}

/* Runs the command line parsed into c; returns the exit status. */
static int dispatch(const cli *c) {
    const char *name = c->npos > 0 ? c->pos[0] : NULL;
    int known = name && is_command(name);

    if (c->seen & BIT(OPT_HELP)) {
        if (name && !known) return usage_error(NULL, "unknown command '%s'", name);
        ctl_usage_print(stdout, name);
        return CTL_EXIT_OK;
    }
    if (c->err[0]) return usage_error(known ? name : NULL, "%s", c->err);
    if (!name) return usage_error(NULL, "no command given");
    if (strcmp(name, "help") == 0) {
        if (c->npos > 2) return usage_error("help", "'help' takes at most one COMMAND");
        if (ctl_usage_print(stdout, c->npos == 2 ? c->pos[1] : NULL) != 0)
            return usage_error(NULL, "unknown command '%s'", c->pos[1]);
        return CTL_EXIT_OK;
    }
    const command *cmd = find_command(c);
    if (!cmd) return CTL_EXIT_USAGE;
    int ex = check_command(cmd, c);
    if (ex != CTL_EXIT_OK) return ex;
    ctl_opts o;
    memset(&o, 0, sizeof o);
    ex = global_opts(c, &o);
    if (ex != CTL_EXIT_OK) return ex;

    int rc = cmd->run(cmd, c, &o);
    if (rc == SG_EINVAL) {
        fputc('\n', stderr);
        ctl_usage_print(stderr, cmd->name);
        return CTL_EXIT_USAGE;
    }
    return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--man") == 0) { /* the Makefile's source of smsctl.1 */
        ctl_usage_man(stdout);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
    }
    cli c;
    memset(&c, 0, sizeof c);
    parse_args(argc, argv, &c);
    /* The route commands parse their own options (ctl/routes.c). */
    int ex = c.npos > 0 && strcmp(c.pos[0], "route") == 0      ? ctl_route_main(argc, argv)
             : c.npos > 0 && strcmp(c.pos[0], "campaign") == 0 ? ctl_campaign_main(argc, argv)
             : c.npos > 0 && strcmp(c.pos[0], "hours") == 0    ? ctl_hours_main(argc, argv)
                                                                : dispatch(&c);
    free(c.pos);
    free(c.to);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "smsctl: cannot write to standard output: %s\n", strerror(errno));
        if (ex == CTL_EXIT_OK) ex = CTL_EXIT_FAIL;
    }
    return ex;
}
