/*
 * smsgated.c - the daemon's entry point: options, wiring, signals, the loop.
 *
 * Start-up: read the config (util/config.c), prepare the data directory (database, admin
 * token, self-signed certificate when none is configured), open the store (which starts its
 * thread), create the dispatcher with the embedded sim route, the status-callback notifier,
 * the API, and the HTTP(S) listeners; then write DATA/smsgated.url and run the loop.
 *
 * Shutdown on SIGTERM/SIGINT: stop accepting connections; let requests in flight finish (their
 * store operations commit and they are answered); stop dispatching and wait for every message
 * handed to a route to be reported and stored; then stop the notifier (status callbacks in
 * flight are abandoned: they are durable and made again at the next start) and close the
 * store, which drains its queue.
 * Nothing accepted is lost: what was answered is committed, what is queued stays queued.
 * A second signal, or shutdown-timeout-s, cuts the wait short (still safe: leases expire).
 *
 * SIGHUP reloads the configuration (on_reload): the --config file is read again, the command
 * line still wins, the keys marked reloadable in util/config.c take their new value, and
 * every other changed key is named in a warning (it needs a restart). An invalid file changes
 * nothing. The log level and debug prefixes are set again from the result.
 *
 * Under systemd (Type=notify) the service manager is told READY=1 once the store is open and
 * the listeners are bound, RELOADING=1 ... READY=1 around a reload and STOPPING=1 at the
 * first SIGTERM (util/sdnotify.c); when stderr is the journal (JOURNAL_STREAM), log lines
 * carry syslog priorities instead of timestamps (util/log.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "api/api.h"
#include "campaign/campaign.h"
#include "cluster/cluster.h"
#include "core/phone.h"
#include "core/price.h"
#include "dispatch/dispatch.h"
#include "dispatch/hours_table.h"
#include "http/http.h"
#include "metrics/metrics.h"
#include "notify/notify.h"
#include "pay/payhook.h"
#include "sim/sim.h"
#include "hlr/hlr_embedded.h"
#include "smpp/smpp_route.h"
#include "store/pg_listen.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/man.h"
#include "util/sdnotify.h"
#include "util/util.h"

#define LOG "main"

typedef struct daemon_state {
    sg_config cfg;
    struct event_base *base;
    store *st;
    dispatch *disp;
    cluster *cluster;
    /* PostgreSQL: the cluster's heartbeats and epoch reads on a session of their own, so that
     * a long transaction of the main store (a campaign's fan-out) never delays them past the
     * fence or the takeover timeout (NULL on SQLite: one node, one store) */
    store *ctl_st;
    int registered; /* the node is registered: cluster_stop() at exit */
    int exit_code;  /* 1 when the node was taken over while running */
    notify *notify;
    payhook *pay;
    campaign *camp;
    hlr_provider *hlr; /* HLR lookups (hlr/hlr_embedded.h); NULL with hlr-provider none */
    api *api;
    http_server *http;
    metrics *metrics; /* --metrics-listen; NULL when empty */
    pg_listen *listen; /* PostgreSQL: other nodes' wake-ups (NULL on SQLite) */
    struct event *sig_term, *sig_int, *sig_hup, *drain_ev;
    int argc;      /* the command line, read again by each reload */
    char **argv;
    int stopping;
    int64_t deadline_ms;
} daemon_state;

/* A wake-up from another node (store.h, wake_others), or the listener (re)connected (channel
 * NULL: one may have been missed): claim what is due now rather than at the next poll. */
static void on_wake(const char *channel, const char *payload, void *arg) {
    daemon_state *d = arg;
    if (channel && strcmp(payload, store_instance(d->st)) == 0) return; /* our own */
    dispatch_kick(d->disp);
}

static int mkdir_p(const char *path, mode_t mode) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int write_file(const char *path, const char *text, mode_t mode) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    /* fchmod: a leftover .tmp keeps its old mode through O_TRUNC. */
    int ok = fchmod(fd, mode) == 0 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) return -1;
    return 0;
}

/* Every file smsgated creates in the data directory is private (0600; smsgated.url, which
 * holds no secret, 0644), whatever the directory's mode; but a directory other users may read
 * or write still lets them list it, or replace files in it. Said once, at start. */
static void check_data_dir(const char *data) {
    struct stat sb;
    if (stat(data, &sb) != 0 || !(sb.st_mode & 077)) return;
    sg_log_warn(LOG, "The data directory '%s' is %s by other users (mode %04o): its files are "
                     "created 0600, but 'chmod 700 %s' keeps others from listing or replacing "
                     "them.", data,
                (sb.st_mode & 022) ? "writable" : "readable", (unsigned)(sb.st_mode & 07777), data);
}

/* The admin token: $SMSGATE_ADMIN_TOKEN, else DATA/admin.token, else a new one. */
static char *admin_token(const char *data) {
    char path[4096];
    snprintf(path, sizeof path, "%s/admin.token", data);
    const char *env = getenv("SMSGATE_ADMIN_TOKEN");
    char buf[256] = "";
    if (env && *env) {
        snprintf(buf, sizeof buf, "%s", env);
    } else {
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
            fclose(f);
            buf[strcspn(buf, "\r\n")] = '\0';
        }
        if (!buf[0]) sg_random_hex(buf, 24);
    }
    char line[300];
    snprintf(line, sizeof line, "%s\n", buf);
    if (write_file(path, line, 0600) != 0) {
        sg_log_error(LOG, "Writing the admin token to '%s' failed: %s.", path, strerror(errno));
        return NULL;
    }
    return sg_xstrdup(buf);
}

static void stop_now(daemon_state *d) {
    event_base_loopbreak(d->base);
}

static void on_dispatch_stopped(void *arg) {
    daemon_state *d = arg;
    sg_log_info(LOG, "Every message handed to a route is reported and stored; stopping.");
    stop_now(d);
}

/* Polls until in-flight HTTP requests are answered, then stops the dispatcher. */
static void on_drain(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    daemon_state *d = arg;
    if (sg_mono_ms() > d->deadline_ms) {
        sg_log_warn(LOG, "Shutdown timeout reached with %d requests in flight; stopping anyway "
                         "(claimed messages go back to the queue on the next start).",
                    http_server_inflight(d->http));
        stop_now(d);
        return;
    }
    if (http_server_inflight(d->http) > 0) {
        struct timeval tv = {0, 20000};
        event_add(d->drain_ev, &tv);
        return;
    }
    dispatch_stop(d->disp, on_dispatch_stopped, d);
}

static void begin_stop(daemon_state *d) {
    d->stopping = 1;
    sg_sdnotify("STOPPING=1\nSTATUS=Finishing requests in flight, then stopping.");
    http_server_stop_accepting(d->http);
    metrics_stop_accepting(d->metrics);
    campaign_stop(d->camp); /* receiver downloads in progress end now (503) */
    d->deadline_ms = sg_mono_ms() + d->cfg.shutdown_timeout_s * 1000;
    on_drain(-1, 0, d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    daemon_state *d = arg;
    if (d->stopping) {
        sg_log_warn(LOG, "Second signal %d: stopping at once.", (int)sig);
        stop_now(d);
        return;
    }
    sg_log_info(LOG, "Signal %d: finishing requests in flight, then stopping.", (int)sig);
    begin_stop(d);
}

/* Another node changed the configuration (cluster.h): as an admin change on this node does,
 * the API forgets its cached keys and services and the dispatcher reloads the route table. */
static void on_config_changed(void *arg) {
    daemon_state *d = arg;
    if (d->stopping) return;
    api_config_changed(d->api);
    dispatch_reload(d->disp, NULL, NULL);
}

/* The cluster's store wrote callbacks (store thread: notify_kick only activates an event). */
static void on_ctl_callbacks(void *arg) {
    daemon_state *d = arg;
    notify_kick(d->notify);
}

/* This node was taken over by the others (cluster.h): it is fenced; it stops and exits 1. */
static void on_node_lost(void *arg) {
    daemon_state *d = arg;
    d->exit_code = 1;
    if (!d->stopping) begin_stop(d);
}

/* The node's name: the node key, else the host name. */
static void node_name(const char *cfg, char *out, size_t n) {
    if (cfg[0]) {
        snprintf(out, n, "%s", cfg);
        return;
    }
    if (gethostname(out, n) != 0 || !out[0]) snprintf(out, n, "local");
    out[n - 1] = '\0';
}

static enum sg_log_level parse_level(const char *s);

static void on_config_change(const char *key, const char *old_value, const char *new_value,
                             int applied, void *arg) {
    (void)arg;
    if (applied)
        sg_log_info(LOG, "Reload: '%s' is now '%s' (was '%s').", key, new_value, old_value);
    else
        sg_log_warn(LOG, "Reload: '%s' changed to '%s' but needs a restart to take effect; it "
                         "stays '%s' until then.", key, new_value, old_value);
}

/* SIGHUP: applies the reloadable keys of the configuration as it is now. Runs on the loop
 * thread, where every reader of a reloadable key reads it. */
static void on_reload(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    daemon_state *d = arg;
    if (d->stopping) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ULL +
                              (unsigned long long)ts.tv_nsec / 1000;
    sg_sdnotifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration.", usec);
    const char *file = d->cfg.config[0] ? d->cfg.config : "(no --config file)";
    int n = sg_config_reload(&d->cfg, d->argc, d->argv, on_config_change, d);
    if (n < 0) {
        sg_log_error(LOG, "Reloading the configuration failed, nothing changed: %s",
                     sg_config_error());
    } else {
        sg_log_set_level(parse_level(d->cfg.log_level));
        sg_log_debug_enable(d->cfg.log_debug);
        if (d->cfg.heartbeat_ms * 4 > d->cfg.node_timeout_s * 1000)
            sg_log_warn(LOG, "Reload: 'node-timeout-s' %lld is less than 4 heartbeats "
                             "('heartbeat-ms' %lld); the node uses %lld s.",
                        (long long)d->cfg.node_timeout_s, (long long)d->cfg.heartbeat_ms,
                        (long long)((d->cfg.heartbeat_ms * 4 + 999) / 1000));
        sg_log_info(LOG, "Configuration reloaded from '%s': %d key%s applied.", file, n,
                    n == 1 ? "" : "s");
    }
    sg_sdnotify("READY=1\nSTATUS=Serving.");
}

/* Tells whether stderr is the journal: JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd
 * connected (a child whose stderr was redirected inherits the variable, hence the check). */
static int stderr_is_journal(void) {
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0) return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* smsgated(8), from the same table as --help (util/config.c) for its OPTIONS. */
static void print_man(FILE *out) {
    fputs(".TH SMSGATED 8 \"\" \"smsgate " SMSGATE_VERSION "\" \"smsgate\"\n"
          ".nh\n"
          ".SH NAME\n"
          "smsgated \\- SMS service with the HTTP API of OVHcloud's /1.0/sms\n"
          ".SH SYNOPSIS\n"
          ".B smsgated\n"
          "[\\fB\\-\\-config\\fR=\\fIFILE\\fR]\n"
          "[\\fB\\-\\-\\fR\\fIkey\\fR=\\fIvalue\\fR ...]\n"
          ".br\n"
          ".B smsgated \\-\\-help\n"
          ".SH DESCRIPTION\n"
          ".B smsgated\n"
          "accepts SMS over an HTTP API that is wire-compatible with OVHcloud's /1.0/sms API (the\n"
          "official OVH SDKs work against it by changing only the endpoint), stores them in\n"
          "SQLite (or PostgreSQL, with \\fB\\-\\-database\\fR),\n"
          "hands them to operators over SMPP 3.4 or to its embedded simulated network,\n"
          "and calls the customers' status callbacks.\n"
          "Accounts, senders, prices, routes and orders are managed with\n"
          ".BR smsctl (1).\n"
          ".PP\n"
          "It runs in the foreground, logs one line per event on standard error, and keeps its\n"
          "state in the data directory.\n"
          ".SH OPTIONS\n"
          "Every option is also a key of the configuration file named by\n"
          "\\fB\\-\\-config\\fR, written \\(lqkey = value\\(rq, one per line,\n"
          "with \\(lq#\\(rq comments; the command line wins over the file.\n"
          "Values are checked at start; an error names the key and the file and line.\n"
          "Keys that say \\(lqReloaded on SIGHUP\\(rq take a new value from the file\n"
          "while the daemon runs; the others need a restart.\n"
          ".TP\n"
          "\\fB\\-\\-help\\fR\n"
          "Prints every key with its default, and exits.\n",
          out);
    sg_config_man(out);
    fputs(".SH SIGNALS\n"
          ".TP\n"
          ".BR SIGTERM \", \" SIGINT\n"
          "Stop accepting connections, let requests in flight finish, wait until every message\n"
          "handed to a route is reported and stored, then exit 0.\n"
          "\\fB\\-\\-shutdown\\-timeout\\-s\\fR bounds the wait; a second signal\n"
          "stops at once.\n"
          "Nothing accepted is lost either way.\n"
          ".TP\n"
          ".B SIGHUP\n"
          "Read the configuration file again and apply the keys marked\n"
          "\\(lqReloaded on SIGHUP\\(rq; each changed key is logged, and a warning names each\n"
          "changed key that needs a restart. An invalid file changes nothing and is logged as\n"
          "an error.\n"
          ".SH ENVIRONMENT\n"
          ".TP\n"
          ".B SMSGATE_ADMIN_TOKEN\n"
          "The admin API token; it is written to \\fIDATA\\fR/admin.token.\n"
          ".TP\n"
          ".B SMSGATE_DATABASE\n"
          "A PostgreSQL connection string, used when \\fB\\-\\-database\\fR is empty.\n"
          ".TP\n"
          ".B NOTIFY_SOCKET\n"
          "Set by systemd for a Type=notify service: smsgated sends READY=1 once it serves,\n"
          "RELOADING=1 and READY=1 around a reload, and STOPPING=1 when it begins to stop.\n"
          ".TP\n"
          ".B JOURNAL_STREAM\n"
          "When it names standard error, log lines carry a syslog priority prefix\n"
          "(\\(lq<6>\\(rq) instead of a timestamp.\n"
          ".SH FILES\n"
          ".TP\n"
          ".I /etc/smsgate/smsgated.conf\n"
          "The configuration read by the packaged service\n"
          "(\\fB\\-\\-config\\fR in smsgated.service); its \\fBdata\\fR is\n"
          ".IR /var/lib/smsgate .\n"
          ".TP\n"
          ".IR DATA /smsgate.db\n"
          "The SQLite store (with its \\-wal and \\-shm files).\n"
          ".TP\n"
          ".IR DATA /admin.token\n"
          "The admin API token (mode 0600), created on first start.\n"
          ".TP\n"
          ".IR DATA /smsgated.url\n"
          "Where the server listens, for \\fBsmsctl \\-\\-data\\fR.\n"
          ".TP\n"
          ".IR DATA /tls/cert.pem \", \" DATA /tls/key.pem\n"
          "The self-signed certificate generated when \\fB\\-\\-tls\\-cert\\fR is empty.\n"
          ".SH EXIT STATUS\n"
          "0 after a clean stop, 1 when start-up fails, 2 for an invalid configuration.\n"
          ".SH SEE ALSO\n"
          ".BR smsctl (1),\n"
          ".BR systemd.service (5),\n"
          ".BR sd_notify (3)\n",
          out);
}

/* The dispatcher's route factory: the embedded sim, or an SMPP route. */
static route *make_route(const store_route *conf, void *arg) {
    daemon_state *d = arg;
    if (!strcmp(conf->kind, "sim"))
        return sim_route_new(d->base, d->st, d->cfg.sim_delay_ms,
                             d->cfg.reply_window_h * 3600 * 1000);
    if (!strcmp(conf->kind, "smpp")) {
        smpp_route_timing t = {d->cfg.smpp_enquire_ms, d->cfg.smpp_resp_timeout_ms,
                               d->cfg.smpp_reconnect_min_ms, d->cfg.smpp_reconnect_max_ms,
                               1 /* binds on this node's slots only (cluster.h) */,
                               d->cfg.reply_window_h * 3600 * 1000};
        int err = 0;
        return smpp_route_new(d->base, d->st, conf, &t, &err);
    }
    sg_log_error(LOG, "Route '%s' has an unknown kind '%s'; it is not used.", conf->name,
                 conf->kind);
    return NULL;
}

static enum sg_log_level parse_level(const char *s) {
    if (!strcmp(s, "error")) return SG_LOG_ERROR;
    if (!strcmp(s, "warn")) return SG_LOG_WARN;
    if (!strcmp(s, "debug")) return SG_LOG_DEBUG;
    return SG_LOG_INFO;
}

/* Descriptors kept out of the HTTP connection budget, on top of those open when it is computed:
 * SMPP binds, status callbacks, CSV downloads, the store's files as it grows. */
#define FD_RESERVE 64
#define AUTO_MAX_CONNECTIONS 4096

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 32; /* a guess on systems without /proc */
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n > 3 ? n - 3 : n; /* ".", "..", and the directory's own descriptor */
}

/* Fits max-connections (0 = automatic) under the open-file limit, raising the soft limit
 * towards the hard one when that helps. Returns the number of connections to allow, or -1 when
 * the limit leaves too little room to serve at all (logged). An explicit value that does not
 * fit is lowered with one warning; the automatic value is lowered silently (one info line). */
static int fit_connections(int64_t want) {
    int64_t reserve = open_fds() + FD_RESERVE;
    int64_t target = want ? want : AUTO_MAX_CONNECTIONS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        sg_log_warn(LOG, "getrlimit(RLIMIT_NOFILE) failed: %s; max-connections stays %lld.",
                    strerror(errno), (long long)target);
        return (int)target;
    }
    rlim_t need = (rlim_t)(target + reserve);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t to = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) ? need : rl.rlim_max;
        if (to > rl.rlim_cur) {
            struct rlimit nr = {to, rl.rlim_max};
            if (setrlimit(RLIMIT_NOFILE, &nr) == 0) {
                sg_log_info(LOG, "Raised the open-file limit from %llu to %llu.",
                            (unsigned long long)rl.rlim_cur, (unsigned long long)to);
                rl.rlim_cur = to;
            }
        }
    }
    int64_t fit = rl.rlim_cur == RLIM_INFINITY ? target : (int64_t)rl.rlim_cur - reserve;
    if (fit < 16) {
        sg_log_error(LOG, "The open-file limit (%llu) leaves room for %lld HTTP connections "
                          "once %lld descriptors are kept for the rest; raise it (ulimit -n).",
                     (unsigned long long)rl.rlim_cur, (long long)(fit < 0 ? 0 : fit),
                     (long long)reserve);
        return -1;
    }
    if (fit >= target) return (int)target;
    if (want)
        sg_log_warn(LOG, "max-connections %lld does not fit under the open-file limit %llu "
                         "(%lld descriptors kept for the store, SMPP, callbacks and downloads): "
                         "lowered to %lld.",
                    (long long)want, (unsigned long long)rl.rlim_cur, (long long)reserve,
                    (long long)fit);
    else
        sg_log_info(LOG, "max-connections: %lld, what the open-file limit %llu allows with %lld "
                         "descriptors kept for the rest.",
                    (long long)fit, (unsigned long long)rl.rlim_cur, (long long)reserve);
    return (int)fit;
}

int main(int argc, char **argv) {
    daemon_state d = {0};
    int help = 0, rc = 1;
    if (sg_config_load(&d.cfg, argc, argv, &help) != 0) return 2;
    if (help) {
        if (help == SG_CONFIG_MAN)
            print_man(stdout);
        else
            sg_config_usage(stdout, argv[0]);
        sg_config_fini(&d.cfg);
        return 0;
    }
    d.argc = argc;
    d.argv = argv;
    sg_log_set_journal(stderr_is_journal());
    sg_log_set_level(parse_level(d.cfg.log_level));
    sg_log_debug_enable(d.cfg.log_debug);
    signal(SIGPIPE, SIG_IGN);
    if (price_set_overrides(d.cfg.rates) != 0) {
        fprintf(stderr, "smsgated: 'rates' is invalid: '%s' (expected \"fr=1,de=2.5,*=3\").\n",
                d.cfg.rates);
        sg_config_fini(&d.cfg);
        return 2;
    }
    if (d.cfg.heartbeat_ms * 4 > d.cfg.node_timeout_s * 1000) {
        fprintf(stderr, "smsgated: 'heartbeat-ms' (%lld) must be at most a quarter of "
                        "'node-timeout-s' (%lld s): a node stops dispatching when it could not "
                        "renew its heartbeat for half the timeout (docs/cluster.md).\n",
                (long long)d.cfg.heartbeat_ms, (long long)d.cfg.node_timeout_s);
        sg_config_fini(&d.cfg);
        return 2;
    }
    if (strcmp(d.cfg.hlr_provider, "embedded") != 0 && strcmp(d.cfg.hlr_provider, "none") != 0) {
        fprintf(stderr, "smsgated: 'hlr-provider' must be embedded or none, not '%s'.\n",
                d.cfg.hlr_provider);
        sg_config_fini(&d.cfg);
        return 2;
    }
    int64_t clock_offset;
    if (sg_duration_parse(d.cfg.fault_clock_offset, &clock_offset) != 0) {
        fprintf(stderr, "smsgated: 'fault-clock-offset' needs milliseconds or a duration such "
                        "as -3d or 2h30m, not '%s'.\n", d.cfg.fault_clock_offset);
        sg_config_fini(&d.cfg);
        return 2;
    }
    if (clock_offset) {
        sg_set_clock_offset(clock_offset); /* before any thread */
        sg_log_warn(LOG, "Testing only: the clock runs %lld ms %s real time "
                         "(fault-clock-offset).", (long long)(clock_offset < 0 ? -clock_offset
                                                                               : clock_offset),
                    clock_offset < 0 ? "behind" : "ahead of");
    }
    phone_init();

    char path[4096], cert[4096], key[4096];
    if (mkdir_p(d.cfg.data, 0700) != 0) {
        sg_log_error(LOG, "Creating the data directory '%s' failed: %s.", d.cfg.data,
                     strerror(errno));
        sg_config_fini(&d.cfg);
        return 1;
    }
    check_data_dir(d.cfg.data);
    char *token = admin_token(d.cfg.data);
    if (!token) {
        sg_config_fini(&d.cfg);
        return 1;
    }

    sg_log_route_libevent();
    evthread_use_pthreads();
    d.base = event_base_new();
    event_base_priority_init(d.base, 3); /* default 1; dispatch flushes at 2, after the rest */

    snprintf(path, sizeof path, "%s/smsgate.db", d.cfg.data);
    /* PostgreSQL when a connection string is given (the setting, else the environment) */
    const char *database = *d.cfg.database ? d.cfg.database : getenv("SMSGATE_DATABASE");
    store_options so = {.path = path,
                        .database = database && *database ? database : NULL,
                        .sessions = (int)d.cfg.database_sessions,
                        .crash_after_commit = (int)d.cfg.fault_crash_after_commit,
                        .fail_nth_op = (int)d.cfg.fault_fail_nth_op,
                        .optout_keywords = d.cfg.optout_keywords,
                        .stop_clause = d.cfg.stop_clause,
                        .optout_window_days = d.cfg.optout_window_days};
    int err = 0;
    d.st = store_open(d.base, &so, &err);
    if (!d.st) {
        /* the connection string is not logged: it may hold a password */
        sg_log_error(LOG, "Opening the store '%s' failed: %s.",
                     so.database ? "(PostgreSQL: database)" : path, sg_strerror(err));
        goto out;
    }
    if (so.database) {
        store_options co = so;
        co.crash_after_commit = co.fail_nth_op = 0; /* fault injection: the main store's */
        co.sessions = 1;
        if (!(d.ctl_st = store_open(d.base, &co, &err))) {
            sg_log_error(LOG, "Opening the cluster's session to PostgreSQL failed: %s.",
                         sg_strerror(err));
            goto out;
        }
    }

    char node[256];
    node_name(d.cfg.node, node, sizeof node);
    dispatch_options dopt = {.node = node, .lease_ms = d.cfg.lease_ms,
                             .batch = (size_t)d.cfg.dispatch_batch, .factory = make_route,
                             .factory_arg = &d, .retry_min_ms = d.cfg.smpp_retry_min_ms,
                             .retry_max_ms = d.cfg.smpp_retry_max_ms,
                             .retry_max_attempts = (int)d.cfg.smpp_retry_max_attempts,
                             .route_backoff_after = (int)d.cfg.smpp_route_backoff_failures};
    d.disp = dispatch_new(d.base, d.st, &dopt); /* routes come from the store's route table */
    hours_table_set_enabled(dispatch_hours(d.disp), (int)d.cfg.marketing_hours);
    if (so.database) { /* a message accepted on another node is dispatched here at once */
        static const char *const channels[] = {STORE_WAKE_CHANNEL, NULL};
        d.listen = pg_listen_new(d.base, so.database, channels, on_wake, &d);
    }
    notify_options nopt = {.node = node,
                           .allow_private = (int)d.cfg.callback_allow_private,
                           .timeout_ms = d.cfg.callback_timeout_ms,
                           .backoff_ms = d.cfg.callback_backoff_ms,
                           .backoff_max_ms = d.cfg.callback_backoff_max_ms,
                           .retry_ms = d.cfg.callback_retry_s * 1000,
                           .host_limit = (int)d.cfg.callback_host_concurrency};
    d.notify = notify_new(d.base, d.st, &nopt);
    /* The node registers before it serves or dispatches anything (a name in use: exit 1);
     * the loop runs during the registration, so the listeners are not bound yet. */
    char *address = d.cfg.public_url[0] ? sg_xstrdup(d.cfg.public_url)
                    : sg_xasprintf("%s%s%s%s%s", d.cfg.listen[0] ? "http://" : "", d.cfg.listen,
                                   d.cfg.listen[0] && d.cfg.tls_listen[0] ? "," : "",
                                   d.cfg.tls_listen[0] ? "https://" : "", d.cfg.tls_listen);
    cluster_options kopt = {.name = node, .address = address, .version = SMSGATE_VERSION,
                            .heartbeat_ms = d.cfg.heartbeat_ms,
                            .timeout_s = &d.cfg.node_timeout_s,
                            .config_changed = on_config_changed, .lost = on_node_lost,
                            .arg = &d, .lock_dir = d.cfg.data};
    d.cluster = cluster_new(d.base, d.ctl_st ? d.ctl_st : d.st, d.disp, &kopt);
    free(address);
    if (cluster_register(d.cluster) != 0) goto out;
    d.registered = 1;
    d.pay = payhook_new(d.base, d.st, &d.cfg, &err);
    if (!d.pay) goto out;
    d.api = api_new(&d.cfg, d.st, d.disp, token);
    campaign_options copt = {.default_region = d.cfg.default_region,
                             .allow_private = (int)d.cfg.callback_allow_private,
                             .max_bytes = d.cfg.csv_max_bytes,
                             .max_rows = d.cfg.csv_max_rows,
                             .timeout_ms = d.cfg.csv_timeout_s * 1000};
    d.camp = campaign_new(d.base, d.st, d.disp, &copt);
    api_set_campaign(d.api, d.camp);
    if (!strcmp(d.cfg.hlr_provider, "embedded"))
        d.hlr = hlr_embedded_new(d.base, (int)d.cfg.hlr_sim_numbers);
    api_set_hlr(d.api, d.hlr);

    int max_conns = fit_connections(d.cfg.max_connections);
    if (max_conns < 0) goto out;
    http_limits lim = {.max_body = (size_t)d.cfg.max_body, .max_headers = 64 * 1024,
                       .timeout_s = (int)d.cfg.http_timeout_s,
                       .max_connections = max_conns,
                       .header_timeout_s = (int)d.cfg.header_timeout_s,
                       .keepalive_timeout_s = (int)d.cfg.keepalive_timeout_s,
                       .body_min_rate = d.cfg.body_min_rate ? (int)d.cfg.body_min_rate : -1};
    d.http = http_server_new(d.base, &lim, api_handle, d.api);
    char url[512] = "";
    if (d.cfg.listen[0]) {
        if (http_server_listen(d.http, d.cfg.listen) != 0) goto out;
        snprintf(url, sizeof url, "http://%s\n", d.cfg.listen);
    }
    if (d.cfg.tls_listen[0]) {
        if (d.cfg.tls_cert[0]) {
            snprintf(cert, sizeof cert, "%s", d.cfg.tls_cert);
            snprintf(key, sizeof key, "%s", d.cfg.tls_key[0] ? d.cfg.tls_key : d.cfg.tls_cert);
        } else {
            char dir[2048];
            snprintf(dir, sizeof dir, "%s/tls", d.cfg.data);
            snprintf(cert, sizeof cert, "%s/cert.pem", dir);
            snprintf(key, sizeof key, "%s/key.pem", dir);
            if (access(cert, R_OK) != 0 || access(key, R_OK) != 0) {
                if (mkdir_p(dir, 0700) != 0 || http_tls_selfsigned(cert, key) != 0) {
                    sg_log_error(LOG, "Generating a self-signed certificate in '%s' failed.", dir);
                    goto out;
                }
                sg_log_info(LOG, "Generated a self-signed certificate: '%s'.", cert);
            }
        }
        if (http_server_listen_tls(d.http, d.cfg.tls_listen, cert, key) != 0) goto out;
        if (!url[0]) snprintf(url, sizeof url, "https://%s\n", d.cfg.tls_listen);
    }
    if (!url[0]) {
        sg_log_error(LOG, "Neither 'listen' nor 'tls-listen' is set: nothing to serve.");
        goto out;
    }
    if (d.cfg.metrics_listen[0]) { /* docs/metrics.md */
        metrics_sources msrc = {.st = d.st, .ctl_st = d.ctl_st, .disp = d.disp,
                                .notify = d.notify, .version = SMSGATE_VERSION, .node = node};
        d.metrics = metrics_new(d.base, &msrc);
        if (metrics_listen(d.metrics, d.cfg.metrics_listen) != 0) goto out;
        metrics_observe(d.metrics, d.http);
    }
    snprintf(path, sizeof path, "%s/smsgated.url", d.cfg.data);
    if (write_file(path, url, 0644) != 0)
        sg_log_warn(LOG, "Writing '%s' failed: %s.", path, strerror(errno));

    d.sig_term = evsignal_new(d.base, SIGTERM, on_signal, &d);
    d.sig_int = evsignal_new(d.base, SIGINT, on_signal, &d);
    d.sig_hup = evsignal_new(d.base, SIGHUP, on_reload, &d);
    d.drain_ev = evtimer_new(d.base, on_drain, &d);
    event_add(d.sig_term, NULL);
    event_add(d.sig_int, NULL);
    event_add(d.sig_hup, NULL);
    cluster_start(d.cluster);
    dispatch_start(d.disp);
    notify_start(d.notify);
    /* Callbacks written by the cluster's session (a receipt another node kept, applied by the
     * heartbeat's sweep; a dead node's callbacks released) are not handed over directly: wake
     * the notifier to claim them at once, as the main store's hand-off does. */
    if (d.ctl_st) store_notify_set_wake(d.ctl_st, on_ctl_callbacks, &d);
    payhook_start(d.pay);
    campaign_start(d.camp);
    api_start(d.api, d.base);
    sg_log_info(LOG, "smsgated %s ready: http '%s', https '%s', data '%s', sim delay %lld ms.",
                SMSGATE_VERSION, d.cfg.listen, d.cfg.tls_listen, d.cfg.data,
                (long long)d.cfg.sim_delay_ms);
    sg_sdnotifyf("READY=1\nSTATUS=Serving: http '%s', https '%s'.", d.cfg.listen,
                 d.cfg.tls_listen);
    event_base_dispatch(d.base);
    rc = d.exit_code;

out:
    if (d.registered) cluster_stop(d.cluster); /* its bind slots free for the others at once */
    api_stop(d.api);       /* no more housekeeping: idempotency records, pending keys */
    notify_stop(d.notify); /* callbacks in flight are abandoned: durable, made again later */
    payhook_stop(d.pay);   /* a payment call in flight is waited for; its answer is recorded */
    campaign_stop(d.camp); /* loads in progress fail; their rows are dropped */
    store_close(d.st); /* drains queued operations before the objects they call back die */
    store_close(d.ctl_st);
    notify_free(d.notify);
    payhook_free(d.pay);
    campaign_free(d.camp);
    http_server_free(d.http);
    metrics_free(d.metrics); /* after store_close: a scrape's query has answered */
    pg_listen_free(d.listen);
    cluster_free(d.cluster);
    dispatch_free(d.disp);
    api_free(d.api);
    hlr_provider_free(d.hlr); /* after the api: no lookup is started any more */
    if (d.sig_term) event_free(d.sig_term);
    if (d.sig_int) event_free(d.sig_int);
    if (d.sig_hup) event_free(d.sig_hup);
    if (d.drain_ev) event_free(d.drain_ev);
    if (d.base) event_base_free(d.base);
    free(token);
    sg_config_fini(&d.cfg);
    if (rc == 0) sg_log_info(LOG, "smsgated stopped.");
    return rc;
}
