/*
 * cluster.c - this node's life among the nodes sharing one database (cluster.h,
 * docs/cluster.md; the SQL is store/store_cluster_sql.c).
 *
 * Design. At start the node registers its name with a random instance id (cluster_register,
 * before anything dispatches): a name held by another instance whose heartbeat is fresher
 * than the takeover timeout (node-timeout-s) is refused, and smsgated exits. Then a timer
 * runs every heartbeat-ms: one store operation renews the heartbeat, renews or takes the bind
 * slots of each SMPP route (dispatch_slots_get / dispatch_slots_set: the routes open binds
 * only on the slots this node holds) and takes over the nodes that fell silent. Another timer
 * reads the configuration epoch every 500 ms; when it moves, config_changed runs (smsgated
 * drops the API's caches and reloads the route table).
 *
 * The fence. A node that could not renew its heartbeat for half the timeout stops dispatching
 * (dispatch_fence: no claim, every bind closed) until a heartbeat succeeds again. The others
 * take its slots and messages only after the whole timeout, so the half left is the margin in
 * which its binds close: a node cut off from the database never sends beyond the SMPP window
 * that was in flight when it was fenced. The time is measured from when the last successful
 * heartbeat was queued (its leases run from then), on the monotonic clock; a heartbeat stuck
 * in the store counts as failed.
 *
 *     registered --heartbeat ok--> running --no renewal for timeout/2--> fenced
 *                                     ^                                    |
 *                                     +------------ heartbeat ok ----------+
 *     running/fenced --heartbeat says lost (name taken, or declared dead)--> lost (exit)
 *
 * Restarts. A node killed (or crashed) and started again at once finds its name's row still
 * fresh, under the instance that died. DIR/node-NAME.lock tells the two cases apart: the
 * process holds it (flock) while it runs and writes its instance id in it; a new process that
 * gets the lock knows the instance written there has ended and may take the row back at once
 * (node_register's previous), while a second process on the same directory does not get the
 * lock and is refused. Nodes on other machines (other data directories) are told apart by
 * the heartbeat alone.
 *
 * Invariants:
 *  1. At most one heartbeat and one epoch read are in flight.
 *  2. While fenced, the dispatcher claims nothing and every bind is closed; only a successful
 *     heartbeat lifts the fence, and hands the routes their slots again.
 */
#include "cluster/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

#define LOG "cluster"
#define EPOCH_MS 500

typedef struct beat_ctx {
    struct cluster *c;
    store_node_heartbeat_req req;
    int64_t sent_mono;
} beat_ctx;

struct cluster {
    struct event_base *base;
    store *st;
    dispatch *d;
    cluster_options opt;
    char *name, *address, *version, *lock_dir;
    char instance[17];
    int lock_fd; /* DIR/node-NAME.lock, held while the process runs; -1 none */
    struct event *beat_ev, *epoch_ev, *kick_ev, *fence_ev;
    int beating, reading, kicked, fenced, lost, failing;
    int64_t last_ok_mono; /* when the last successful heartbeat was queued */
    int64_t orphan_cursor; /* where the heartbeats' sweep of kept receipts goes on */
    int have_epoch;
    int64_t epoch;
    store_config_epoch_req epoch_req;
};

/* The takeover timeout, at least 4 heartbeats (smsgated checks it at start; a reload may set
 * less: the fence would then fall between two heartbeats). */
static int64_t timeout_ms(const cluster *c) {
    int64_t t = *c->opt.timeout_s * 1000, min = 4 * c->opt.heartbeat_ms;
    return t > min ? t : (min + 999) / 1000 * 1000;
}

static void beat_free(beat_ctx *b) {
    for (size_t i = 0; i < b->req.count; i++) free((char *)b->req.routes[i].route);
    free(b->req.routes);
    free(b);
}

static void fence(cluster *c, int64_t silent_ms) {
    if (c->fenced) return;
    c->fenced = 1;
    sg_log_warn(LOG, "Node '%s' could not renew its heartbeat for %lld ms (half of "
                     "node-timeout-s %lld): it stops dispatching and closes its binds until "
                     "the database answers again.",
                c->name, (long long)silent_ms, (long long)*c->opt.timeout_s);
    dispatch_fence(c->d, 1);
}

static void send_beat(cluster *c);

/* The fence falls at half the timeout after the last renewal, to the millisecond (the beat
 * timer alone would see it up to heartbeat-ms late). */
static void arm_fence(cluster *c) {
    int64_t left = c->last_ok_mono + timeout_ms(c) / 2 - sg_mono_ms();
    if (left < 0) left = 0;
    struct timeval tv = {left / 1000, (left % 1000) * 1000};
    evtimer_add(c->fence_ev, &tv);
}

static void on_fence_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cluster *c = arg;
    int64_t silent = sg_mono_ms() - c->last_ok_mono;
    if (c->lost) return;
    if (silent >= timeout_ms(c) / 2) fence(c, silent);
    else arm_fence(c); /* the timeout was reloaded meanwhile */
}

static void on_beat(int rc, void *arg) {
    beat_ctx *b = arg;
    cluster *c = b->c;
    c->beating = 0;
    if (rc != 0) {
        if (!c->failing)
            sg_log_error(LOG, "Renewing node '%s''s heartbeat failed (%s); retrying every "
                              "%lld ms.", c->name, sg_strerror(rc),
                         (long long)c->opt.heartbeat_ms);
        c->failing = 1;
    } else if (b->req.lost) {
        if (!c->lost) {
            c->lost = 1;
            if (!c->fenced) {
                c->fenced = 1;
                dispatch_fence(c->d, 1);
            }
            sg_log_error(LOG, "Node '%s' (instance %s) was taken over: another instance "
                              "registered its name, or the other nodes declared it dead after "
                              "node-timeout-s and took its work. It must start again.",
                         c->name, c->instance);
            if (c->opt.lost) c->opt.lost(c->opt.arg);
        }
    } else if (!c->lost) {
        c->orphan_cursor = b->req.orphan_cursor;
        if (c->failing) sg_log_info(LOG, "Node '%s' renewed its heartbeat again.", c->name);
        c->failing = 0;
        c->last_ok_mono = b->sent_mono;
        arm_fence(c);
        if (c->fenced && sg_mono_ms() - c->last_ok_mono < timeout_ms(c) / 2) {
            c->fenced = 0;
            dispatch_fence(c->d, 0);
        }
        if (!c->fenced) dispatch_slots_set(c->d, b->req.routes, b->req.count);
        if (b->req.reaped)
            sg_log_warn(LOG, "Took over %zu node%s silent for node-timeout-s: %zu message%s "
                             "back in the queue, bind slots free.",
                        b->req.reaped, b->req.reaped == 1 ? "" : "s", b->req.requeued,
                        b->req.requeued == 1 ? "" : "s");
    }
    beat_free(b);
    if (c->kicked && !c->lost) send_beat(c);
}

static void send_beat(cluster *c) {
    if (c->beating || c->lost) return;
    c->kicked = 0;
    beat_ctx *b = sg_xcalloc(1, sizeof *b);
    b->c = c;
    b->sent_mono = sg_mono_ms();
    b->req.name = c->name;
    b->req.instance = c->instance;
    b->req.now_ms = sg_now_ms();
    b->req.timeout_ms = timeout_ms(c);
    b->req.reap = !c->fenced && b->sent_mono - c->last_ok_mono < timeout_ms(c) / 2;
    b->req.count = dispatch_slots_get(c->d, &b->req.routes);
    b->req.orphan_cursor = c->orphan_cursor;
    c->beating = 1;
    store_node_heartbeat(c->st, &b->req, on_beat, b);
}

static void on_beat_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cluster *c = arg;
    int64_t silent = sg_mono_ms() - c->last_ok_mono;
    if (!c->lost && silent >= timeout_ms(c) / 2) fence(c, silent);
    send_beat(c);
}

static void on_kick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cluster *c = arg;
    if (c->beating) c->kicked = 1;
    else send_beat(c);
}

static void on_epoch(int rc, void *arg) {
    cluster *c = arg;
    c->reading = 0;
    if (rc != 0) return; /* the heartbeat reports the store's trouble */
    int64_t e = c->epoch_req.epoch;
    /* The first read counts as a change too: the routes and caches were loaded at start,
     * before it, and a change made by another node in between (a route added while this node
     * started) would otherwise be taken as the starting point and never applied. */
    if (!c->have_epoch || e != c->epoch) {
        sg_log_debug(LOG, "Configuration epoch %lld -> %lld: dropping caches, reloading routes.",
                     c->have_epoch ? (long long)c->epoch : -1LL, (long long)e);
        c->epoch = e;
        c->have_epoch = 1;
        if (c->opt.config_changed) c->opt.config_changed(c->opt.arg);
    }
}

static void on_epoch_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    cluster *c = arg;
    if (c->reading) return;
    c->reading = 1;
    store_config_epoch(c->st, &c->epoch_req, on_epoch, c);
}

cluster *cluster_new(struct event_base *base, store *st, dispatch *d, const cluster_options *opt) {
    cluster *c = sg_xcalloc(1, sizeof *c);
    c->base = base;
    c->st = st;
    c->d = d;
    c->opt = *opt;
    c->name = sg_xstrdup(opt->name);
    c->address = sg_xstrdup(opt->address ? opt->address : "");
    c->version = sg_xstrdup(opt->version ? opt->version : "");
    c->opt.name = c->name;
    c->opt.address = c->address;
    c->opt.version = c->version;
    c->lock_dir = sg_xstrdup(opt->lock_dir ? opt->lock_dir : "");
    c->opt.lock_dir = c->lock_dir;
    c->lock_fd = -1;
    if (c->opt.heartbeat_ms < 100) c->opt.heartbeat_ms = 100;
    if (c->opt.epoch_ms <= 0) c->opt.epoch_ms = EPOCH_MS;
    sg_random_hex(c->instance, 8);
    c->beat_ev = event_new(base, -1, EV_PERSIST, on_beat_timer, c);
    c->epoch_ev = event_new(base, -1, EV_PERSIST, on_epoch_timer, c);
    c->kick_ev = event_new(base, -1, 0, on_kick, c);
    c->fence_ev = evtimer_new(base, on_fence_timer, c);
    return c;
}

typedef struct wait_ctx {
    int done, rc;
} wait_ctx;

static void on_waited(int rc, void *arg) {
    wait_ctx *w = arg;
    w->rc = rc;
    w->done = 1;
}

/* Takes DIR/node-NAME.lock (see "Restarts"); the instance id of its last holder goes to
 * previous ("" if none). 0, SG_ECONFLICT (another process holds it), SG_EIO (logged). */
static int take_lock(cluster *c, char previous[17]) {
    previous[0] = '\0';
    if (!c->lock_dir[0]) return 0;
    char file[300], path[4400];
    size_t k = 0;
    for (const char *p = c->name; *p && k + 1 < sizeof file; p++)
        file[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                            (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
                        ? *p : '_';
    file[k] = '\0';
    snprintf(path, sizeof path, "%s/node-%s.lock", c->lock_dir, file);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        sg_log_error(LOG, "Opening '%s' failed: %s.", path, strerror(errno));
        return SG_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            sg_log_error(LOG, "Node name '%s' is held by another smsgated running on the data "
                              "directory '%s' (it holds '%s'): give this one another name with "
                              "--node, or stop that one.", c->name, c->lock_dir, path);
            return SG_ECONFLICT;
        }
        sg_log_error(LOG, "Locking '%s' failed: %s.", path, strerror(e));
        return SG_EIO;
    }
    ssize_t n = pread(fd, previous, 16, 0);
    previous[n > 0 ? n : 0] = '\0';
    c->lock_fd = fd;
    return 0;
}

int cluster_register(cluster *c) {
    char previous[17];
    int lrc = take_lock(c, previous);
    if (lrc) return lrc;
    store_node_register_req r = {.name = c->name, .instance = c->instance,
                                 .address = c->address, .version = c->version,
                                 .previous = previous, .now_ms = sg_now_ms(),
                                 .timeout_ms = timeout_ms(c)};
    wait_ctx w = {0};
    int64_t sent = sg_mono_ms();
    store_node_register(c->st, &r, on_waited, &w);
    while (!w.done) event_base_loop(c->base, EVLOOP_ONCE);
    if (w.rc == SG_ECONFLICT && r.refused) {
        sg_log_error(LOG, "Node name '%s' is held by another running smsgated (address '%s', "
                          "last heartbeat %lld ms ago): give this one another name with "
                          "--node, or stop that one (a node silent for node-timeout-s %lld is "
                          "taken over).",
                     c->name, r.other_address ? r.other_address : "",
                     (long long)r.other_age_ms, (long long)*c->opt.timeout_s);
    } else if (w.rc) {
        sg_log_error(LOG, "Registering node '%s' failed: %s.", c->name, sg_strerror(w.rc));
    } else {
        c->last_ok_mono = sent;
        if (c->lock_fd >= 0 && (ftruncate(c->lock_fd, 0) != 0 ||
                                pwrite(c->lock_fd, c->instance, 16, 0) != 16))
            sg_log_warn(LOG, "Writing this node's instance id in its lock file failed: %s; a "
                             "restart right after a crash will wait node-timeout-s.",
                        strerror(errno));
        sg_log_info(LOG, "Node '%s' registered (instance %s, takeover after %lld s).", c->name,
                    c->instance, (long long)*c->opt.timeout_s);
        if (r.legacy_requeued)
            sg_log_info(LOG, "Requeued %zu messages leased by a node of an older version.",
                        r.legacy_requeued);
    }
    store_node_register_fini(&r);
    return w.rc;
}

static void on_routes(void *arg) { cluster_kick(arg); }

void cluster_start(cluster *c) {
    struct timeval tv = {c->opt.heartbeat_ms / 1000, (c->opt.heartbeat_ms % 1000) * 1000};
    event_add(c->beat_ev, &tv);
    struct timeval te = {c->opt.epoch_ms / 1000, (c->opt.epoch_ms % 1000) * 1000};
    event_add(c->epoch_ev, &te);
    dispatch_set_routes_hook(c->d, on_routes, c);
    arm_fence(c);
    send_beat(c);
}

void cluster_kick(cluster *c) { event_active(c->kick_ev, EV_TIMEOUT, 0); }

void cluster_stop(cluster *c) {
    if (!c) return;
    event_del(c->beat_ev);
    event_del(c->epoch_ev);
    event_del(c->kick_ev);
    event_del(c->fence_ev);
    dispatch_set_routes_hook(c->d, NULL, NULL);
    while (c->beating || c->reading) event_base_loop(c->base, EVLOOP_ONCE);
    if (c->lost) return;
    store_node_stop_req r = {.name = c->name, .instance = c->instance, .now_ms = sg_now_ms()};
    wait_ctx w = {0};
    store_node_stop(c->st, &r, on_waited, &w);
    while (!w.done) event_base_loop(c->base, EVLOOP_ONCE);
    if (w.rc)
        sg_log_warn(LOG, "Recording node '%s''s stop failed (%s); the others take its bind "
                         "slots when their leases end.", c->name, sg_strerror(w.rc));
}

const char *cluster_name(const cluster *c) { return c->name; }

int cluster_fenced(const cluster *c) { return c->fenced; }

void cluster_free(cluster *c) {
    if (!c) return;
    event_free(c->beat_ev);
    event_free(c->epoch_ev);
    event_free(c->kick_ev);
    event_free(c->fence_ev);
    free(c->name);
    free(c->address);
    free(c->version);
    free(c->lock_dir);
    if (c->lock_fd >= 0) close(c->lock_fd);
    free(c);
}
