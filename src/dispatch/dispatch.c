/*
 * dispatch.c - the dispatcher: claim due messages, pick a route, fail over, store what routes
 * report.
 *
 * Design. One claim is in flight at a time. Its size is the free capacity of the routes that
 * are up (capped by the batch option, less what already waits in memory), so the dispatcher
 * rarely claims more than the routes can take. Each claimed message becomes a `pending`
 * record that keeps a copy of the message until its fate is stored, so that a temporary
 * failure can be retried at once on the next route without another claim.
 *
 * Route choice, for one message (pick()):
 *   1. candidates: the pickable routes whose prefix matches the receiver longest (a route
 *      without prefixes matches everything, more weakly than any prefix), less the routes
 *      that already failed this message temporarily;
 *   2. walk their priorities from the lowest number: a priority with no route up is skipped
 *      (failover); in the first priority with a route up, pick among the up routes that have
 *      capacity by smooth weighted round-robin on their weights;
 *   3. if that priority's up routes are all busy (window or rate limit), the message WAITs:
 *      it is held in memory (the `held` FIFO) and retried whenever a route reports or wakes
 *      us; after HOLD_MS it goes back to the store queue. It never moves to a lower priority
 *      because of load, only because of failure, so a rate limit is never bypassed.
 *   4. no candidate up at all: back to the store queue, due again a little later (when the
 *      candidates are paused, at the end of the earliest pause: resume_in()).
 *
 * Temporary refusals (docs/smpp.md "Temporary errors"). A route's ROUTE_TEMP sends the message
 * to the next candidate at once (another SMSC is not the one that said no). When none is left,
 * retry_later() puts it back in the store queue, due after retry_delay_ms(attempt) (core/retry.c:
 * doubling from retry_min_ms to retry_max_ms, ±20 %), counting the attempt in
 * messages.retries; after retry_max_attempts, or when its validity would end before the next
 * attempt, it fails with the ptt of its last refusal, refunded (the ledger note says why).
 * Because the next attempt's time is the message's due_ms, the claim skips waiting messages
 * with the same query and index as before; nothing here runs for a message that is accepted.
 *
 * Route pauses. Each route counts the temporary refusals in a row of messages on their first
 * attempt (temp_run; an acceptance or a permanent refusal resets it: route_ok()). At
 * route_backoff_after it pauses (route_temp()):
 *
 *      running --N fresh refusals--> paused --bo_until passed--> probing (capacity 1)
 *         ^                             ^                            |
 *         |                             +--- probe refused (fresh) --+  (bo_step + 1)
 *         +-------------- any acceptance or permanent refusal -------+
 *
 * A paused or probing route counts as down in pick() (its messages fail over or wait in the
 * store without using up attempts); while probing it takes one message (route_cap()). A probe
 * that was a retried message and is refused decides nothing: its number may be the trouble,
 * so the next message probes at once.
 *
 * Messages handed over at insert (store.h, store_dispatch_set_direct). While the queue is
 * drained (the last claim found fewer than it asked for) and nothing waits in `held`, the
 * store writes a message due now already claimed by this node and hands it over once its
 * send committed (on_take): no claim reads it back, no claim writes its lease. Claims then
 * run only on the tick, for what became due meanwhile (retries, schedules, other nodes'
 * leftovers), and when asked (dispatch_kick: a send that was not handed over, a wake-up from
 * another node); a report does not trigger one. When a message handed over must wait (the
 * routes are full) or no route here can take one, the hand-off closes (room 0) and claims
 * take over, in the queue's order, until one finds the queue drained again.
 *
 * Reports are gathered in `cur` during one loop pass and written as one store_status
 * operation (one savepoint in the next group commit), not one transaction each.
 *
 * Route table reload (dispatch_reload): the store's table is compared with the routes in use
 * by name and version. Unchanged routes stay; new ones are built by the factory; changed,
 * disabled or removed SMPP routes are retired: they take nothing new, and once their last
 * message is reported they are stopped (unbind) and freed. The sim route is never rebuilt:
 * its settings are updated in place and, when disabled, it keeps applying the receipts of the
 * messages it accepted.
 *
 * Bind slots and the fence (docs/cluster.md; cluster/cluster.c drives both). A route with
 * binds (route.h, contract 6) opens only the binds whose slots this node holds:
 * dispatch_slots_get() gathers, for the heartbeat, each such route's slots and those it may
 * give up; dispatch_slots_set() hands each route what the heartbeat got. dispatch_fence(1),
 * when the heartbeat could not be renewed for half the takeover timeout, stops claiming, makes
 * every route close its binds (set_slots 0) and sends what is held or handed back to the store
 * queue (pick() sees no route); dispatch_fence(0) after a successful heartbeat resumes.
 *
 * Marketing hours (docs/replies.md, dispatch/hours_table.c). A marketing SMS (stop_clause) whose
 * destination is outside its allowed hours is not handed to a route: place() writes it back
 * as scheduled, due at the next allowed minute (a status update with hold_until_ms), so that
 * the claim does not see it again before then. Transactional SMS never reach the check; when
 * no country has hours, neither does anything else. Nothing is claimed before the hours are
 * loaded (hours_table_ready), so a restart on a Sunday sends no marketing SMS by mistake.
 *
 * Invariants:
 *  1. Every claimed message is in exactly one place until its status is queued for writing:
 *     handed to a route (in `inflight`, found by id in `table`), or in `held`.
 *  2. `stopping` stops new claims and requeues the held messages; dispatch_stop's callback
 *     runs when nothing is in flight, claiming or being written, and every route stopped.
 *  3. A route is freed only after it reported everything it took and its stop() finished.
 *  4. A message that was refused temporarily (ntried > 0) leaves the dispatcher only through
 *     retry_later() (queued with its attempt counted, or failed), except when stopping.
 *  5. A route takes at most one message while bo_step > 0, and none before bo_until.
 *  6. While fenced, nothing is claimed and no message is handed to a route.
 */
#include "dispatch/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "core/retry.h"
#include "dispatch/hours_table.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "dispatch"
#define TABLE_SIZE 4096         /* buckets of the in-flight table (power of two) */
#define MAX_TRIED 8             /* routes remembered as failed for one message */
#define REQUEUE_NO_ROUTE_MS 1000 /* no route up for a message: due again after this */
#define REQUEUE_HELD_MS 50      /* held too long: due again (almost) at once */
#define REQUEUE_ELSEWHERE_MS 200 /* its route's binds are on other nodes: due again soon */

typedef struct status_batch {
    store_status_req req;
    store_status_update *ups;
    char **strs; /* copies of route names and smsc ids, freed after the write */
    size_t nstrs;
    dispatch *d;
} status_batch;

typedef struct pending {
    store_msg m;
    int64_t tried[MAX_TRIED];
    int ntried;
    /* The last temporary refusal (when ntried > 0): what the message stores if it fails. */
    int last_ptt, last_dlr;
    char *last_route, *last_why; /* new, freed with the record; NULL before a refusal */
    int64_t held_since; /* mono ms; 0 when not held */
    int64_t want;       /* held: the id of the busy route it waits for */
    route *rt;          /* in flight: the route that has it */
    struct pending *hnext; /* in-flight table chain */
    struct pending *qnext; /* held queue */
} pending;

typedef struct route_list {
    route **v;
    size_t n;
} route_list;

/* /metrics: a route's submits by result, kept by name so that a reloaded route (a new
 * object) keeps counting; as many entries as route names seen, a handful. */
typedef struct route_count {
    char *name;
    uint64_t n[3]; /* by route_result */
} route_count;

struct dispatch {
    struct event_base *base;
    store *st;
    route_count *counts;
    size_t ncounts;
    size_t last_count; /* the entry found last: reports come in runs of one route */
    dispatch_options opt;
    char *node;
    route_list routes;   /* in use */
    route_list retiring; /* winding down */
    int64_t next_route_id;
    int64_t hold_ms;
    struct event *claim_ev, *tick_ev, *flush_ev, *held_ev, *take_ev;
    int direct;          /* the store hands new messages over (see the file comment) */
    int claiming, again, stopping, started, reloading, stopping_routes;
    size_t inflight;     /* handed to routes, not yet reported */
    size_t writes;       /* status batches being written */
    status_batch *cur;   /* updates gathered during this loop pass */
    pending *table[TABLE_SIZE];
    pending *held_head, *held_tail;
    size_t nheld;
    struct stop_ctx **stops; /* one per retiring route whose stop() was called */
    size_t nstops;
    struct event *retire_ev;
    void (*stop_done)(void *);
    void *stop_arg;
    uint64_t rng;        /* xorshift64* state for the jitter of retries */
    int fenced;          /* dispatch_fence(): no claim, no send */
    void (*routes_hook)(void *arg);
    void *routes_hook_arg;
    hours_table *hours; /* marketing hours (hours_table.h) */
};

static void drain_held(dispatch *d);
static void retire_check(dispatch *d);

static int routes_stopped(dispatch *d);

static void maybe_stopped(dispatch *d) {
    if (!d->stopping || !d->stop_done || d->claiming || d->inflight || d->writes || d->cur ||
        d->nheld || d->reloading)
        return;
    if (!routes_stopped(d)) return;
    void (*done)(void *) = d->stop_done;
    d->stop_done = NULL;
    done(d->stop_arg);
}

/* ---- status updates, batched per loop pass ---- */

static char *keep(status_batch *b, const char *s) {
    if (!s) return NULL;
    b->strs = sg_xrealloc(b->strs, (b->nstrs + 1) * sizeof *b->strs);
    return b->strs[b->nstrs++] = sg_xstrdup(s);
}

static store_status_update *add_update(dispatch *d) {
    if (!d->cur) {
        d->cur = sg_xcalloc(1, sizeof *d->cur);
        d->cur->d = d;
        event_active(d->flush_ev, EV_WRITE, 0);
    }
    status_batch *b = d->cur;
    b->ups = sg_xrealloc(b->ups, (b->req.count + 1) * sizeof *b->ups);
    store_status_update *u = &b->ups[b->req.count++];
    memset(u, 0, sizeof *u);
    u->ts_ms = sg_now_ms();
    return u;
}

static void on_written(int rc, void *arg) {
    status_batch *b = arg;
    dispatch *d = b->d;
    if (rc != 0)
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "Storing %zu status updates failed (%s); the messages stay claimed and "
                          "go back to the queue when their lease ends.", b->req.count,
                     sg_strerror(rc));
    for (size_t i = 0; i < b->nstrs; i++) free(b->strs[i]);
    free(b->strs);
    free(b->ups);
    free(b);
    d->writes--;
    maybe_stopped(d);
}

static void on_flush(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    dispatch *d = arg;
    status_batch *b = d->cur;
    if (!b) return;
    d->cur = NULL;
    b->req.ups = b->ups;
    d->writes++;
    store_status(d->st, &b->req, on_written, b);
}

static void requeue_id(dispatch *d, int64_t id, int64_t delay_ms) {
    store_status_update *u = add_update(d);
    u->msg_id = id;
    u->state = MSG_QUEUED;
    u->retry_at_ms = sg_now_ms() + delay_ms;
}

/* ---- pending records ---- */

static pending *pending_new(store_msg *m) {
    pending *p = sg_xcalloc(1, sizeof *p);
    p->m = *m; /* takes the strings */
    memset(m, 0, sizeof *m);
    return p;
}

static void pending_free(pending *p) {
    free(p->last_route);
    free(p->last_why);
    store_msg_fini(&p->m);
    free(p);
}

static size_t bucket(int64_t id) { return (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 52); }

static void table_put(dispatch *d, pending *p) {
    size_t b = bucket(p->m.id) & (TABLE_SIZE - 1);
    p->hnext = d->table[b];
    d->table[b] = p;
}

static pending *table_take(dispatch *d, int64_t id) {
    size_t b = bucket(id) & (TABLE_SIZE - 1);
    for (pending **pp = &d->table[b]; *pp; pp = &(*pp)->hnext) {
        if ((*pp)->m.id == id) {
            pending *p = *pp;
            *pp = p->hnext;
            p->hnext = NULL;
            return p;
        }
    }
    return NULL;
}

static void held_push(dispatch *d, pending *p) {
    if (!p->held_since) p->held_since = sg_mono_ms();
    p->qnext = NULL;
    if (d->held_tail) d->held_tail->qnext = p;
    else d->held_head = p;
    d->held_tail = p;
    d->nheld++;
}

/* ---- routes ---- */

static size_t prefix_match(const route *rt, const char *receiver) {
    if (rt->nprefixes == 0) return 1; /* a catch-all route matches with the lowest weight */
    size_t best = 0;
    for (size_t i = 0; i < rt->nprefixes; i++) {
        size_t n = strlen(rt->prefixes[i]);
        if (n + 1 > best && !strncmp(receiver, rt->prefixes[i], n)) best = n + 1;
    }
    return best;
}

static int route_up(route *rt) { return !rt->ops->up || rt->ops->up(rt); }

/* A route in back-off takes nothing until bo_until, then one message (the probe) until that
 * one is reported. Costs one test of bo_step for a route that is not backing off. */
static int backing_off(const route *rt) {
    return rt->bo_step && (rt->bo_probe || sg_mono_ms() < rt->bo_until);
}

static size_t route_cap(route *rt) {
    size_t cap = rt->ops->capacity(rt);
    if (!rt->bo_step) return cap;
    return backing_off(rt) ? 0 : cap ? 1 : 0;
}

static uint32_t rnd32(dispatch *d) {
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return (uint32_t)((d->rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static int tried(const pending *p, const route *rt) {
    for (int i = 0; i < p->ntried; i++)
        if (p->tried[i] == rt->id) return 1;
    return 0;
}

enum { PICK_OK, PICK_WAIT, PICK_NONE };

/* Chooses a route for p (see the file comment). Returns PICK_OK with *out, PICK_WAIT with
 * *out the busy route it waits for, or PICK_NONE. */
static int pick(dispatch *d, pending *p, route **out) {
    size_t best_len = 0;
    for (size_t i = 0; i < d->routes.n; i++) {
        route *rt = d->routes.v[i];
        if (!rt->pickable) continue;
        size_t len = prefix_match(rt, p->m.receiver);
        if (len > best_len) best_len = len;
    }
    if (!best_len) return PICK_NONE;
    int prev_prio = 0, first = 1;
    for (;;) {
        /* The next priority above prev_prio among the candidates. */
        int prio = 0, found = 0;
        for (size_t i = 0; i < d->routes.n; i++) {
            route *rt = d->routes.v[i];
            if (!rt->pickable || prefix_match(rt, p->m.receiver) != best_len || tried(p, rt))
                continue;
            if (!first && rt->priority <= prev_prio) continue;
            if (!found || rt->priority < prio) prio = rt->priority;
            found = 1;
        }
        if (!found) return PICK_NONE;
        first = 0;
        prev_prio = prio;
        route *busy = NULL, *best = NULL;
        int total = 0;
        for (size_t i = 0; i < d->routes.n; i++) {
            route *rt = d->routes.v[i];
            if (!rt->pickable || rt->priority != prio ||
                prefix_match(rt, p->m.receiver) != best_len || tried(p, rt) || !route_up(rt) ||
                backing_off(rt))
                continue;
            if (route_cap(rt) == 0) {
                if (!busy) busy = rt;
                continue;
            }
            int w = rt->weight > 0 ? rt->weight : 1;
            rt->swrr += w;
            total += w;
            if (!best || rt->swrr > best->swrr) best = rt;
        }
        if (best) {
            best->swrr -= total;
            *out = best;
            return PICK_OK;
        }
        if (busy) {
            *out = busy;
            return PICK_WAIT;
        }
        /* Nothing of this priority is up: fail over to the next one. */
    }
}

/* After PICK_NONE: how long until one of p's candidates may take it, so that it waits in the
 * store queue instead of being claimed again for nothing: until the earliest end of a route's
 * back-off, or REQUEUE_NO_ROUTE_MS when some candidate is down (it may come up any time). */
static int64_t resume_in(dispatch *d, const pending *p) {
    size_t best_len = 0;
    for (size_t i = 0; i < d->routes.n; i++) {
        route *rt = d->routes.v[i];
        size_t len = rt->pickable ? prefix_match(rt, p->m.receiver) : 0;
        if (len > best_len) best_len = len;
    }
    int64_t now = sg_mono_ms(), wait = -1;
    for (size_t i = 0; i < d->routes.n; i++) {
        route *rt = d->routes.v[i];
        if (!best_len || !rt->pickable || prefix_match(rt, p->m.receiver) != best_len ||
            tried(p, rt))
            continue;
        int64_t w = REQUEUE_NO_ROUTE_MS;
        if (route_up(rt) && rt->bo_step && !rt->bo_probe && rt->bo_until > now)
            w = rt->bo_until - now;
        if (wait < 0 || w < wait) wait = w;
    }
    return wait < REQUEUE_NO_ROUTE_MS ? REQUEUE_NO_ROUTE_MS : wait;
}

/* A temporary refusal by rt of a message on its first attempt (fresh) or a later one: counts
 * towards the route's pause, or decides its probe (see the file comment). */
static void route_temp(dispatch *d, route *rt, int64_t msg_id, int fresh, const char *why) {
    int probe = rt->bo_step && rt->bo_probe == msg_id;
    if (probe) rt->bo_probe = 0;
    if (!fresh) return; /* says little about the route: the next message probes at once */
    rt->temp_run++;
    if (!probe && (rt->bo_step || !d->opt.route_backoff_after ||
                   rt->temp_run < d->opt.route_backoff_after))
        return;
    rt->bo_step++;
    int64_t wait = retry_delay_ms(rt->bo_step, d->opt.retry_min_ms, d->opt.retry_max_ms,
                                  rnd32(d));
    rt->bo_until = sg_mono_ms() + wait;
    if (probe)
        sg_log_info(LOG, "Route '%s': the probe was refused too (%s); pausing %lld ms.",
                    rt->name, why ? why : "temporary failure", (long long)wait);
    else
        sg_log_warn(LOG, "Route '%s': its last %d submits were all refused temporarily (last: "
                         "%s); it pauses %lld ms, then tries one message before taking more.",
                    rt->name, rt->temp_run, why ? why : "temporary failure", (long long)wait);
}

/* An acceptance (or a permanent refusal: the SMSC works, the message was wrong) ends a run
 * of temporary refusals and the route's back-off. */
static void route_ok(route *rt) {
    if (rt->bo_step)
        sg_log_info(LOG, "Route '%s' accepts messages again after %d temporary refusals in a "
                         "row; its pause is over.", rt->name, rt->temp_run);
    rt->temp_run = 0;
    rt->bo_step = 0;
    rt->bo_until = 0;
    rt->bo_probe = 0;
}

/* p was refused temporarily by every route it could try: back to the queue for its next
 * attempt, or failed when that was its last one or its validity would end before the next.
 * Takes ownership of p. */
static void retry_later(dispatch *d, pending *p) {
    int n = p->m.retries + 1;
    int64_t now = sg_now_ms();
    int64_t delay = retry_delay_ms(n, d->opt.retry_min_ms, d->opt.retry_max_ms, rnd32(d));
    int64_t expires = p->m.expires_ms ? p->m.expires_ms
                      : p->m.validity_min > 0 ? p->m.due_ms + p->m.validity_min * 60000 : 0;
    store_status_update *u = add_update(d);
    u->msg_id = p->m.id;
    u->route = keep(d->cur, p->last_route);
    if (n < d->opt.retry_max_attempts && (!expires || now + delay <= expires)) {
        u->state = MSG_QUEUED;
        u->retry_at_ms = now + delay;
        u->retry = 1;
        sg_log_debug(LOG, "Message %lld refused temporarily (%s); attempt %d in %lld ms.",
                     (long long)p->m.id, p->last_why, n + 1, (long long)delay);
    } else {
        char why[320];
        snprintf(why, sizeof why, "failed after %d attempt%s%s: %s on route '%s'", n,
                 n > 1 ? "s" : "",
                 n < d->opt.retry_max_attempts ? " (its validity period ends before the next)"
                                                : "",
                 p->last_why, p->last_route);
        u->state = MSG_FAILED;
        u->dlr = p->last_dlr ? p->last_dlr : DLR_ERROR;
        u->ptt = p->last_ptt ? p->last_ptt : 25;
        u->why = keep(d->cur, why);
        sg_log_info(LOG, "Message %lld %s; ptt %d.", (long long)p->m.id, why, u->ptt);
    }
    pending_free(p);
}

/* A marketing SMS outside its destination's hours: back to the store as scheduled, due at
 * the next allowed minute. Returns 1 when it took p (and freed it). Only for a message on its
 * first placement: one refused temporarily goes through retry_later (invariant 4), and is
 * looked at again when it is claimed for its next attempt. */
static int hold_for_hours(dispatch *d, pending *p) {
    if (p->ntried || d->stopping) return 0;
    int64_t until = hours_table_hold(d->hours, p->m.receiver, sg_now_ms());
    if (!until) return 0;
    store_status_update *u = add_update(d);
    u->msg_id = p->m.id;
    u->state = MSG_SCHEDULED;
    u->hold_until_ms = until;
    sg_log_debug(LOG, "Marketing SMS %lld to '%s' is outside its destination's hours; held "
                      "for %lld s.", (long long)p->m.id, p->m.receiver,
                 (long long)((until - sg_now_ms()) / 1000));
    pending_free(p);
    return 1;
}

/* Sends p, holds it, or puts it back in the store queue. Takes ownership of p. */
static void place(dispatch *d, pending *p) {
    if (p->m.stop_clause && hold_for_hours(d, p)) return;
    route *rt = NULL;
    int r = d->stopping || d->fenced ? PICK_NONE : pick(d, p, &rt);
    if (r == PICK_OK) {
        if (rt->ops->send(rt, &p->m) == 0) {
            if (rt->bo_step) {
                rt->bo_probe = p->m.id;
                sg_log_debug(LOG, "Route '%s': probing with message %lld after its pause.",
                            rt->name, (long long)p->m.id);
            }
            p->rt = rt;
            p->held_since = 0;
            table_put(d, p);
            d->inflight++;
            return;
        }
        r = PICK_WAIT; /* the route refused just now: it is busy after all */
    }
    if (r == PICK_WAIT && rt->elsewhere && !d->stopping) {
        /* Its route has binds on other nodes only (route.h contract 6): one of them sends it. */
        requeue_id(d, p->m.id, REQUEUE_ELSEWHERE_MS);
        pending_free(p);
        return;
    }
    if (r == PICK_WAIT && !d->stopping &&
        (!p->held_since || sg_mono_ms() - p->held_since < d->hold_ms)) {
        p->want = rt->id;
        held_push(d, p);
        return;
    }
    if (p->ntried && !d->stopping) { /* refused temporarily, and nowhere else to go now */
        retry_later(d, p);
        return;
    }
    int64_t wait = REQUEUE_HELD_MS;
    if (r == PICK_NONE) {
        wait = d->stopping ? REQUEUE_NO_ROUTE_MS : resume_in(d, p);
        sg_log_debug(LOG, "No route can take message %lld to '%s' now; due again in %lld ms.",
                     (long long)p->m.id, p->m.receiver, (long long)wait);
    }
    requeue_id(d, p->m.id, wait);
    pending_free(p);
}

/* Retries the held messages in order; those still waiting keep their place. */
static void drain_held(dispatch *d) {
    pending *p = d->held_head;
    d->held_head = d->held_tail = NULL;
    size_t n = d->nheld;
    d->nheld = 0;
    while (p && n--) {
        pending *next = p->qnext;
        place(d, p);
        p = next;
    }
}

static void on_held(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    dispatch *d = arg;
    drain_held(d);
    maybe_stopped(d);
}

static size_t total_capacity(dispatch *d) {
    size_t cap = 0;
    for (size_t i = 0; i < d->routes.n; i++) {
        route *rt = d->routes.v[i];
        if (rt->pickable && route_up(rt)) cap += route_cap(rt);
    }
    return cap;
}

static void on_wake(route *rt, void *arg) {
    (void)rt;
    dispatch *d = arg;
    if (d->stopping) return;
    if (d->nheld) event_active(d->held_ev, EV_TIMEOUT, 0);
    if (!d->direct) dispatch_kick(d);
}

static void count_report(dispatch *d, const route *rt, route_result res) {
    size_t i = d->last_count;
    if (i >= d->ncounts || strcmp(d->counts[i].name, rt->name) != 0) {
        for (i = 0; i < d->ncounts && strcmp(d->counts[i].name, rt->name) != 0; i++) {
        }
        if (i == d->ncounts) {
            d->counts = sg_xrealloc(d->counts, (d->ncounts + 1) * sizeof *d->counts);
            d->counts[i] = (route_count){.name = sg_xstrdup(rt->name)};
            d->ncounts++;
        }
        d->last_count = i;
    }
    if ((unsigned)res < 3) d->counts[i].n[res]++;
}

void dispatch_submit_counts(dispatch *d, void (*fn)(const char *route, const uint64_t n[3],
                                                    void *arg), void *arg) {
    for (size_t i = 0; i < d->ncounts; i++) fn(d->counts[i].name, d->counts[i].n, arg);
}

static void on_report(route *rt, const route_report *rep, void *arg) {
    dispatch *d = arg;
    count_report(d, rt, rep->result);
    pending *p = table_take(d, rep->msg_id);
    if (!p) {
        sg_log_error(LOG, "Route '%s' reported message %lld, which it was not given; ignored.",
                     rt->name, (long long)rep->msg_id);
        return;
    }
    d->inflight--;
    store_status_update *u;
    if (rep->result != ROUTE_TEMP && (rt->temp_run || rt->bo_step)) route_ok(rt);
    switch (rep->result) {
    case ROUTE_ACCEPTED:
        if (!rep->stored) {
            u = add_update(d);
            u->msg_id = rep->msg_id;
            u->state = MSG_SUBMITTED;
            u->dlr = DLR_SUBMITTED;
            u->ptt = 3;
            u->route = keep(d->cur, rt->name);
            u->smsc_id = keep(d->cur, rep->smsc_id);
        }
        pending_free(p);
        break;
    case ROUTE_TEMP:
        sg_log_debug(LOG, "Route '%s' could not take message %lld for now (%s); trying the "
                          "next route.", rt->name, (long long)rep->msg_id,
                     rep->why ? rep->why : "temporary failure");
        if (p->ntried < MAX_TRIED) p->tried[p->ntried++] = rt->id;
        p->last_ptt = rep->ptt;
        p->last_dlr = rep->dlr;
        free(p->last_route);
        free(p->last_why);
        p->last_route = sg_xstrdup(rt->name);
        p->last_why = sg_xstrdup(rep->why ? rep->why : "temporary failure");
        route_temp(d, rt, rep->msg_id, p->m.retries == 0, rep->why);
        p->rt = NULL;
        p->held_since = 0;
        place(d, p);
        break;
    case ROUTE_PERM:
        u = add_update(d);
        u->msg_id = rep->msg_id;
        u->state = MSG_FAILED;
        u->dlr = rep->dlr ? rep->dlr : DLR_FAILED;
        u->ptt = rep->ptt;
        u->route = keep(d->cur, rt->name);
        {
            char why[200];
            snprintf(why, sizeof why, "refused by route '%s': %s", rt->name,
                     rep->why ? rep->why : "permanent failure");
            u->why = keep(d->cur, why);
        }
        pending_free(p);
        break;
    }
    if (d->nheld) event_active(d->held_ev, EV_TIMEOUT, 0);
    if (!d->stopping && !d->direct) dispatch_kick(d); /* room for what waits in the queue */
    retire_check(d);
    maybe_stopped(d);
}

/* ---- claiming ---- */

typedef struct claim_ctx {
    dispatch *d;
    store_claim_req req;
} claim_ctx;

static void direct_ready(void *arg) { /* a store thread */
    dispatch *d = arg;
    event_active(d->take_ev, EV_READ, 0);
}

/* Opens (with room for a batch) or shuts the hand-off of new messages; what was handed over
 * already stays to be taken. */
static void direct_set(dispatch *d, int on) {
    on = on && !d->stopping && !d->fenced;
    if (on == d->direct) return;
    d->direct = on;
    store_dispatch_set_direct(d->st, d->node, d->opt.lease_ms, on ? d->opt.batch : 0,
                              direct_ready, d);
}

/* Messages handed over at insert: placed as if claimed. */
static void on_take(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    dispatch *d = arg;
    store_msg *v = NULL;
    size_t n = store_dispatch_take(d->st, &v);
    for (size_t i = 0; i < n; i++) place(d, pending_new(&v[i]));
    free(v);
    if (d->nheld || !total_capacity(d)) { /* the routes here are full or have no binds */
        direct_set(d, 0);
        dispatch_kick(d);
    }
    maybe_stopped(d);
}

static void on_claimed(int rc, void *arg) {
    claim_ctx *cc = arg;
    dispatch *d = cc->d;
    d->claiming = 0;
    if (rc != 0) {
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "Claiming due messages failed (%s); retrying on the next tick.",
                     sg_strerror(rc));
    } else {
        for (size_t i = 0; i < cc->req.count; i++) place(d, pending_new(&cc->req.msgs[i]));
        if (cc->req.count == cc->req.limit) d->again = 1;
        /* drained, and the routes here take what comes: new messages need no claim */
        direct_set(d, cc->req.count < cc->req.limit && !d->nheld && total_capacity(d) > 0);
    }
    store_claim_fini(&cc->req);
    free(cc);
    if (d->again && !d->stopping) {
        d->again = 0;
        dispatch_kick(d);
    }
    maybe_stopped(d);
}

static void on_hours_loaded(int rc, void *arg) {
    dispatch *d = arg;
    if (rc == 0) dispatch_kick(d);
}

static void on_claim(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    dispatch *d = arg;
    if (d->stopping || !d->started || d->fenced) return;
    if (!hours_table_ready(d->hours)) { /* on_hours_loaded kicks again */
        if (!hours_table_loading(d->hours)) hours_table_reload(d->hours, on_hours_loaded, d);
        return;
    }
    if (d->claiming) {
        d->again = 1;
        return;
    }
    if (d->nheld) drain_held(d);
    size_t cap = total_capacity(d);
    if (cap <= d->nheld || d->nheld >= d->opt.batch) return; /* a report or wake kicks us */
    cap -= d->nheld;
    claim_ctx *cc = sg_xcalloc(1, sizeof *cc);
    cc->d = d;
    cc->req.node = d->node;
    cc->req.now_ms = sg_now_ms();
    cc->req.lease_ms = d->opt.lease_ms;
    cc->req.limit = cap < d->opt.batch ? cap : d->opt.batch;
    d->claiming = 1;
    store_claim(d->st, &cc->req, on_claimed, cc);
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    dispatch *d = arg;
    if (d->nheld) drain_held(d);
    retire_check(d);
    dispatch_kick(d);
}

void dispatch_kick(dispatch *d) {
    if (!d->stopping) event_active(d->claim_ev, EV_READ, 0);
}

/* ---- the route table ---- */

static void list_add(route_list *l, route *rt) {
    l->v = sg_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = rt;
}

static void list_del(route_list *l, size_t i) {
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
    l->n--;
}

static void free_prefixes(route *rt) {
    for (size_t i = 0; i < rt->nprefixes; i++) free(rt->prefixes[i]);
    free(rt->prefixes);
    rt->prefixes = NULL;
    rt->nprefixes = 0;
}

static void route_free(route *rt) {
    free_prefixes(rt);
    rt->ops->free(rt);
}

/* Copies the dispatcher's fields of a stored route onto rt. */
static void apply_conf(route *rt, const store_route *c) {
    if (!rt->name || strcmp(rt->name, c->name) != 0) {
        free(rt->name);
        rt->name = sg_xstrdup(c->name);
    }
    free_prefixes(rt);
    const char *p = c->prefixes ? c->prefixes : "";
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && *p == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        if (n) {
            rt->prefixes = sg_xrealloc(rt->prefixes, (rt->nprefixes + 1) * sizeof *rt->prefixes);
            rt->prefixes[rt->nprefixes++] = sg_xstrndup(p, n);
        }
        if (!e) break;
        p = e + 1;
    }
    rt->priority = c->priority;
    rt->weight = c->weight > 0 ? c->weight : 1;
    rt->pickable = c->enabled;
    rt->version = c->version;
}

static void attach(dispatch *d, route *rt) {
    rt->report = on_report;
    rt->report_arg = d;
    rt->wake = on_wake;
    rt->id = ++d->next_route_id;
    list_add(&d->routes, rt);
}

static void retire(dispatch *d, size_t i) {
    route *rt = d->routes.v[i];
    rt->pickable = 0;
    list_del(&d->routes, i);
    list_add(&d->retiring, rt);
    sg_log_info(LOG, "Route '%s' retired: it takes no new messages and stops once its %zu "
                     "messages in flight are reported.", rt->name, rt->ops->inflight(rt));
}

typedef struct stop_ctx {
    dispatch *d;
    route *rt;
    int done;
} stop_ctx;

/* Runs inside the route's own callback chain: only mark it; on_retire frees it next turn. */
static void on_route_stopped(route *rt, void *arg) {
    (void)rt;
    stop_ctx *sc = arg;
    sc->done = 1;
    event_active(sc->d->retire_ev, EV_TIMEOUT, 0);
}

static void on_retire(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    dispatch *d = arg;
    retire_check(d);
    maybe_stopped(d);
}

static stop_ctx *stop_for(dispatch *d, route *rt) {
    for (size_t i = 0; i < d->nstops; i++)
        if (d->stops[i]->rt == rt) return d->stops[i];
    return NULL;
}

static void stop_forget(dispatch *d, stop_ctx *sc) {
    for (size_t i = 0; i < d->nstops; i++)
        if (d->stops[i] == sc) {
            d->stops[i] = d->stops[--d->nstops];
            break;
        }
    free(sc);
}

/* Retired routes: stop those with nothing in flight, free those whose stop finished. */
static void retire_check(dispatch *d) {
    for (size_t i = 0; i < d->retiring.n;) {
        route *rt = d->retiring.v[i];
        stop_ctx *sc = stop_for(d, rt);
        if (!sc) {
            if (rt->ops->inflight(rt) == 0) {
                sc = sg_xcalloc(1, sizeof *sc);
                sc->d = d;
                sc->rt = rt;
                d->stops = sg_xrealloc(d->stops, (d->nstops + 1) * sizeof *d->stops);
                d->stops[d->nstops++] = sc;
                if (rt->ops->stop) rt->ops->stop(rt, on_route_stopped, sc);
                else sc->done = 1;
            }
            if (!sc || !sc->done) {
                i++;
                continue;
            }
        }
        if (sc->done) {
            list_del(&d->retiring, i);
            stop_forget(d, sc);
            sg_log_info(LOG, "Route '%s' stopped and removed.", rt->name);
            route_free(rt);
            continue;
        }
        i++;
    }
}

static int routes_stopped(dispatch *d) {
    if (!d->stopping_routes) {
        d->stopping_routes = 1;
        while (d->routes.n) retire(d, d->routes.n - 1);
    }
    retire_check(d);
    return d->retiring.n == 0;
}

typedef struct reload_ctx {
    dispatch *d;
    store_route_list_req req;
    void (*done)(int rc, void *arg);
    void *arg;
} reload_ctx;

static void on_routes(int rc, void *arg) {
    reload_ctx *rc_ = arg;
    dispatch *d = rc_->d;
    d->reloading = 0;
    if (rc != 0) {
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "Reading the route table failed (%s); the routes in use stay.",
                     sg_strerror(rc));
    } else if (!d->stopping) {
        store_route_list_req *l = &rc_->req;
        /* Routes in use that are gone from the table, or changed (SMPP), retire. */
        for (size_t i = 0; i < d->routes.n;) {
            route *rt = d->routes.v[i];
            const store_route *c = NULL;
            for (size_t k = 0; k < l->count; k++)
                if (!strcmp(l->routes[k].name, rt->name)) c = &l->routes[k];
            int is_sim = !strcmp(rt->ops->kind, "sim");
            if (c && (is_sim || (c->version == rt->version && c->enabled))) {
                apply_conf(rt, c);
                i++;
                continue;
            }
            retire(d, i);
        }
        /* New, changed and re-enabled routes start. */
        for (size_t k = 0; k < l->count; k++) {
            const store_route *c = &l->routes[k];
            int in_use = 0;
            for (size_t i = 0; i < d->routes.n; i++)
                if (!strcmp(d->routes.v[i]->name, c->name)) in_use = 1;
            if (in_use || (!c->enabled && strcmp(c->kind, "sim") != 0)) continue;
            if (!d->opt.factory) continue;
            route *rt = d->opt.factory(c, d->opt.factory_arg);
            if (!rt) continue;
            apply_conf(rt, c);
            attach(d, rt);
            sg_log_info(LOG, "Route '%s' (%s) in use: prefixes '%s', priority %d, weight %d%s.",
                        rt->name, rt->ops->kind, c->prefixes, rt->priority, rt->weight,
                        rt->pickable ? "" : ", disabled");
        }
        retire_check(d);
    }
    if (rc_->done) rc_->done(rc, rc_->arg);
    store_route_list_fini(&rc_->req);
    free(rc_);
    if (!d->started && !d->stopping) {
        d->started = 1;
        struct timeval tv = {d->opt.tick_ms / 1000, (d->opt.tick_ms % 1000) * 1000};
        event_add(d->tick_ev, &tv);
    }
    if (d->nheld) drain_held(d);
    if (d->routes_hook && !d->stopping) d->routes_hook(d->routes_hook_arg);
    dispatch_kick(d);
    maybe_stopped(d);
}

void dispatch_reload(dispatch *d, void (*done)(int rc, void *arg), void *arg) {
    reload_ctx *rc = sg_xcalloc(1, sizeof *rc);
    rc->d = d;
    rc->done = done;
    rc->arg = arg;
    d->reloading++;
    store_route_list(d->st, &rc->req, on_routes, rc);
    hours_table_reload(d->hours, NULL, NULL); /* marketing hours change with the config too */
}

hours_table *dispatch_hours(dispatch *d) { return d->hours; }

size_t dispatch_routes_up(dispatch *d) {
    size_t n = 0;
    for (size_t i = 0; i < d->routes.n; i++)
        n += d->routes.v[i]->pickable && route_up(d->routes.v[i]);
    return n;
}

json_t *dispatch_status(dispatch *d) {
    json_t *arr = json_array();
    for (int pass = 0; pass < 2; pass++) {
        route_list *l = pass ? &d->retiring : &d->routes;
        for (size_t i = 0; i < l->n; i++) {
            route *rt = l->v[i];
            size_t waiting = 0;
            for (pending *p = d->held_head; p; p = p->qnext)
                if (p->want == rt->id) waiting++;
            json_t *pre = json_array();
            for (size_t k = 0; k < rt->nprefixes; k++)
                json_array_append_new(pre, json_string(rt->prefixes[k]));
            json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:i, s:i, s:o, s:b, s:I, s:I, s:I}",
                                  "name", rt->name, "kind", rt->ops->kind, "enabled",
                                  rt->pickable, "retiring", pass, "priority", rt->priority,
                                  "weight", rt->weight, "prefixes", pre, "up", route_up(rt),
                                  "inflight", (json_int_t)rt->ops->inflight(rt), "capacity",
                                  (json_int_t)rt->ops->capacity(rt), "queue",
                                  (json_int_t)waiting);
            json_object_set_new(o, "temporaryRun", json_integer(rt->temp_run));
            if (rt->bo_step) {
                int64_t left = rt->bo_until - sg_mono_ms();
                char when[SG_TIME_ISO_LEN];
                sg_time_iso(sg_now_ms() + (left > 0 ? left : 0), when);
                json_object_set_new(o, "backoff",
                                    json_pack("{s:s, s:i, s:b}", "until", when, "step",
                                              rt->bo_step, "probing", rt->bo_probe != 0));
            } else {
                json_object_set_new(o, "backoff", json_null());
            }
            if (rt->ops->status) rt->ops->status(rt, o);
            json_array_append_new(arr, o);
        }
    }
    return arr;
}

/* ---- bind slots and the fence (docs/cluster.md) ---- */

size_t dispatch_slots_get(dispatch *d, store_slot_claim **out) {
    *out = NULL;
    size_t n = 0;
    for (size_t i = 0; i < d->routes.n; i++) {
        route *rt = d->routes.v[i];
        if (!rt->ops->slots) continue;
        *out = sg_xrealloc(*out, (n + 1) * sizeof **out);
        store_slot_claim *k = &(*out)[n++];
        memset(k, 0, sizeof *k);
        k->release = rt->ops->slots(rt, &k->nslots);
        k->route = sg_xstrdup(rt->name);
    }
    return n;
}

/* 1 while a retiring route named name still has binds open (its stop has not finished). */
static int retiring_named(dispatch *d, const char *name) {
    for (size_t i = 0; i < d->retiring.n; i++)
        if (d->retiring.v[i]->ops->set_slots && !strcmp(d->retiring.v[i]->name, name))
            return 1;
    return 0;
}

void dispatch_slots_set(dispatch *d, const store_slot_claim *k, size_t n) {
    if (d->fenced) return;
    for (size_t i = 0; i < d->routes.n; i++) {
        route *rt = d->routes.v[i];
        /* A changed route opens its binds once the version it replaces closed its own (the
         * next heartbeat): the operator never sees more than its binds. */
        if (!rt->ops->set_slots || retiring_named(d, rt->name)) continue;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(k[j].route, rt->name))
                rt->ops->set_slots(rt, k[j].held, k[j].share, k[j].elsewhere);
    }
}

void dispatch_fence(dispatch *d, int fenced) {
    if (d->fenced == fenced) return;
    d->fenced = fenced;
    if (fenced) direct_set(d, 0); /* (a claim reopens it once the fence is lifted) */
    if (!fenced) {
        sg_log_info(LOG, "Dispatching again: this node renewed its heartbeat.");
        dispatch_kick(d);
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        route_list *l = pass ? &d->retiring : &d->routes;
        for (size_t i = 0; i < l->n; i++)
            if (l->v[i]->ops->set_slots) l->v[i]->ops->set_slots(l->v[i], 0, 0, 0);
    }
    /* Held messages go back to the queue (if the store can still be reached). */
    if (d->nheld) event_active(d->held_ev, EV_TIMEOUT, 0);
}

void dispatch_set_routes_hook(dispatch *d, void (*fn)(void *arg), void *arg) {
    d->routes_hook = fn;
    d->routes_hook_arg = arg;
}

/* ---- life cycle ---- */

dispatch *dispatch_new(struct event_base *base, store *st, const dispatch_options *opt) {
    dispatch *d = sg_xcalloc(1, sizeof *d);
    d->base = base;
    d->st = st;
    d->opt = *opt;
    d->node = sg_xstrdup(opt->node ? opt->node : "local");
    d->opt.node = d->node;
    if (!d->opt.batch) d->opt.batch = 500;
    if (!d->opt.tick_ms) d->opt.tick_ms = 200;
    if (!d->opt.lease_ms) d->opt.lease_ms = 60000;
    if (d->opt.retry_min_ms <= 0) d->opt.retry_min_ms = 1000;
    if (d->opt.retry_max_ms <= 0) d->opt.retry_max_ms = 600000;
    if (d->opt.retry_max_ms < d->opt.retry_min_ms) d->opt.retry_max_ms = d->opt.retry_min_ms;
    if (d->opt.retry_max_attempts <= 0) d->opt.retry_max_attempts = 15;
    sg_random((unsigned char *)&d->rng, sizeof d->rng);
    d->rng |= 1; /* xorshift needs a non-zero state */
    d->hold_ms = d->opt.lease_ms / 4 < 5000 ? d->opt.lease_ms / 4 : 5000;
    d->claim_ev = event_new(base, -1, 0, on_claim, d);
    d->flush_ev = event_new(base, -1, 0, on_flush, d);
    d->held_ev = event_new(base, -1, 0, on_held, d);
    d->retire_ev = event_new(base, -1, 0, on_retire, d);
    d->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, d);
    d->take_ev = event_new(base, -1, 0, on_take, d);
    d->hours = hours_table_new(st);
    /* Flushing runs after the claims and reports of a loop pass. */
    event_priority_set(d->flush_ev, 1);
    return d;
}

void dispatch_add_route(dispatch *d, route *rt) {
    if (!rt->weight) rt->weight = 1;
    rt->pickable = 1;
    attach(d, rt);
}

typedef struct recover_ctx {
    dispatch *d;
    store_recover_req req;
} recover_ctx;

static void on_recovered(int rc, void *arg) {
    recover_ctx *rc_ = arg;
    dispatch *d = rc_->d;
    if (rc != 0)
        sg_log_error(LOG, "Requeueing messages claimed before the restart failed (%s); they "
                          "will be retried when their lease ends.", sg_strerror(rc));
    else if (rc_->req.requeued)
        sg_log_info(LOG, "Requeued %zu messages that were being submitted when smsgated stopped.",
                    rc_->req.requeued);
    free(rc_);
    if (d->opt.factory) {
        dispatch_reload(d, NULL, NULL); /* starts claiming once the routes are built */
        return;
    }
    d->started = 1;
    struct timeval tv = {d->opt.tick_ms / 1000, (d->opt.tick_ms % 1000) * 1000};
    event_add(d->tick_ev, &tv);
    dispatch_kick(d);
}

void dispatch_start(dispatch *d) {
    recover_ctx *rc = sg_xcalloc(1, sizeof *rc);
    rc->d = d;
    rc->req.node = d->node;
    hours_table_reload(d->hours, on_hours_loaded, d); /* before the first claim */
    store_recover(d->st, &rc->req, on_recovered, rc);
}

void dispatch_stop(dispatch *d, void (*done)(void *arg), void *arg) {
    /* No more messages handed over; those that were go back to the queue with the held ones
     * (one committed after this take stays claimed until the next start: store.h). */
    store_dispatch_set_direct(d->st, d->node, d->opt.lease_ms, 0, NULL, NULL);
    store_msg *v = NULL;
    size_t n = store_dispatch_take(d->st, &v);
    d->stopping = 1;
    d->direct = 0;
    store_dispatch_set_direct(d->st, NULL, 0, 0, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        requeue_id(d, v[i].id, 0);
        store_msg_fini(&v[i]);
    }
    free(v);
    d->stop_done = done;
    d->stop_arg = arg;
    event_del(d->tick_ev);
    /* Held messages go back to the queue now. */
    pending *p = d->held_head;
    d->held_head = d->held_tail = NULL;
    d->nheld = 0;
    while (p) {
        pending *next = p->qnext;
        requeue_id(d, p->m.id, 0);
        pending_free(p);
        p = next;
    }
    maybe_stopped(d);
}

void dispatch_free(dispatch *d) {
    if (!d) return;
    for (size_t i = 0; i < d->ncounts; i++) free(d->counts[i].name);
    free(d->counts);
    for (size_t i = 0; i < d->routes.n; i++) route_free(d->routes.v[i]);
    for (size_t i = 0; i < d->retiring.n; i++) {
        stop_ctx *sc = stop_for(d, d->retiring.v[i]);
        if (sc) stop_forget(d, sc);
        route_free(d->retiring.v[i]);
    }
    free(d->routes.v);
    free(d->retiring.v);
    free(d->stops);
    for (size_t b = 0; b < TABLE_SIZE; b++)
        for (pending *p = d->table[b], *n; p; p = n) {
            n = p->hnext;
            pending_free(p);
        }
    for (pending *p = d->held_head, *n; p; p = n) {
        n = p->qnext;
        pending_free(p);
    }
    event_free(d->claim_ev);
    event_free(d->flush_ev);
    event_free(d->held_ev);
    event_free(d->retire_ev);
    event_free(d->tick_ev);
    event_free(d->take_ev);
    hours_table_free(d->hours);
    if (d->cur) {
        for (size_t i = 0; i < d->cur->nstrs; i++) free(d->cur->strs[i]);
        free(d->cur->strs);
        free(d->cur->ups);
        free(d->cur);
    }
    free(d->node);
    free(d);
}
