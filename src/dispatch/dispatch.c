/*
 * dispatch.c - the dispatcher: claim due messages, pick a route, store what routes report.
 *
 * Design. One claim is in flight at a time. Its size is the free capacity of all routes
 * (capped by the batch option), so the dispatcher never claims more than the routes can take:
 * a claimed message is handed over at once. Route reports are gathered in `ups` during one
 * loop pass and written as one store_status operation (one savepoint in the next group
 * commit), not one transaction each.
 *
 * Invariants:
 *  1. Every claimed message is either handed to a route (and counted in `inflight` until its
 *     report) or put back in the queue with a retry time.
 *  2. `stopping` stops new claims; dispatch_stop's callback runs when inflight, claiming and
 *     unsaved or unsaved-in-flight status updates are all zero.
 */
#include "dispatch/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"

#define LOG "dispatch"

typedef struct status_batch {
    store_status_req req;
    store_status_update *ups;
    char **strs; /* copies of route names and smsc ids, freed after the write */
    size_t nstrs;
    dispatch *d;
} status_batch;

struct dispatch {
    struct event_base *base;
    store *st;
    dispatch_options opt;
    char *node;
    route **routes;
    size_t nroutes;
    struct event *claim_ev, *tick_ev, *flush_ev;
    int claiming, again, stopping, started;
    size_t inflight;       /* handed to routes, not yet reported */
    size_t writes;         /* status batches being written */
    status_batch *cur;     /* updates gathered during this loop pass */
    void (*stop_done)(void *);
    void *stop_arg;
};

static void maybe_stopped(dispatch *d) {
    if (d->stopping && d->stop_done && !d->claiming && !d->inflight && !d->writes && !d->cur) {
        void (*done)(void *) = d->stop_done;
        d->stop_done = NULL;
        done(d->stop_arg);
    }
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
        sg_log_error(LOG, "Storing %zu status updates failed (%s); the messages stay claimed and "
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

static void requeue(dispatch *d, const store_msg *m, int64_t delay_ms) {
    store_status_update *u = add_update(d);
    u->msg_id = m->id;
    u->state = MSG_QUEUED;
    u->retry_at_ms = sg_now_ms() + delay_ms;
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

/* The route for m: the longest prefix match with free capacity; ties go to the lower
 * priority number. NULL when no route can take it now. */
static route *pick(dispatch *d, const store_msg *m) {
    route *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < d->nroutes; i++) {
        route *rt = d->routes[i];
        size_t len = prefix_match(rt, m->receiver);
        if (!len || rt->ops->capacity(rt) == 0) continue;
        if (!best || len > best_len || (len == best_len && rt->priority < best->priority)) {
            best = rt;
            best_len = len;
        }
    }
    return best;
}

static size_t total_capacity(dispatch *d) {
    size_t cap = 0;
    for (size_t i = 0; i < d->nroutes; i++) cap += d->routes[i]->ops->capacity(d->routes[i]);
    return cap;
}

static void on_report(route *rt, const route_report *rep, void *arg) {
    dispatch *d = arg;
    d->inflight--;
    store_status_update *u;
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
        break;
    case ROUTE_TEMP:
        u = add_update(d);
        u->msg_id = rep->msg_id;
        u->state = MSG_QUEUED;
        u->retry_at_ms = sg_now_ms() + 1000;
        break;
    case ROUTE_PERM:
        u = add_update(d);
        u->msg_id = rep->msg_id;
        u->state = MSG_FAILED;
        u->dlr = rep->dlr ? rep->dlr : DLR_FAILED;
        u->ptt = rep->ptt;
        u->route = keep(d->cur, rt->name);
        break;
    }
    if (!d->stopping) dispatch_kick(d);
    maybe_stopped(d);
}

/* ---- claiming ---- */

typedef struct claim_ctx {
    dispatch *d;
    store_claim_req req;
} claim_ctx;

static void on_claimed(int rc, void *arg) {
    claim_ctx *cc = arg;
    dispatch *d = cc->d;
    d->claiming = 0;
    if (rc != 0) {
        sg_log_error(LOG, "Claiming due messages failed (%s); retrying on the next tick.",
                     sg_strerror(rc));
    } else {
        for (size_t i = 0; i < cc->req.count; i++) {
            store_msg *m = &cc->req.msgs[i];
            route *rt = pick(d, m);
            if (!rt) {
                sg_log_debug(LOG, "No route can take message %lld to '%s' now; requeued.",
                             (long long)m->id, m->receiver);
                requeue(d, m, 1000);
                continue;
            }
            if (rt->ops->send(rt, m) != 0) {
                requeue(d, m, 1000);
                continue;
            }
            d->inflight++;
        }
        if (cc->req.count == cc->req.limit) d->again = 1;
    }
    store_claim_fini(&cc->req);
    free(cc);
    if (d->again && !d->stopping) {
        d->again = 0;
        dispatch_kick(d);
    }
    maybe_stopped(d);
}

static void on_claim(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    dispatch *d = arg;
    if (d->stopping || !d->started) return;
    if (d->claiming) {
        d->again = 1;
        return;
    }
    size_t cap = total_capacity(d);
    if (cap == 0) return; /* a report will kick us when room frees up */
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
    dispatch_kick(arg);
}

void dispatch_kick(dispatch *d) {
    if (!d->stopping) event_active(d->claim_ev, EV_READ, 0);
}

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
    d->claim_ev = event_new(base, -1, 0, on_claim, d);
    d->flush_ev = event_new(base, -1, 0, on_flush, d);
    d->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, d);
    /* Flushing runs after the claims and reports of a loop pass. */
    event_priority_set(d->flush_ev, 1);
    return d;
}

void dispatch_add_route(dispatch *d, route *rt) {
    rt->report = on_report;
    rt->report_arg = d;
    d->routes = sg_xrealloc(d->routes, (d->nroutes + 1) * sizeof *d->routes);
    d->routes[d->nroutes++] = rt;
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
    d->started = 1;
    struct timeval tv = {d->opt.tick_ms / 1000, (d->opt.tick_ms % 1000) * 1000};
    event_add(d->tick_ev, &tv);
    dispatch_kick(d);
}

void dispatch_start(dispatch *d) {
    recover_ctx *rc = sg_xcalloc(1, sizeof *rc);
    rc->d = d;
    rc->req.node = d->node;
    store_recover(d->st, &rc->req, on_recovered, rc);
}

void dispatch_stop(dispatch *d, void (*done)(void *arg), void *arg) {
    d->stopping = 1;
    d->stop_done = done;
    d->stop_arg = arg;
    event_del(d->tick_ev);
    maybe_stopped(d);
}

void dispatch_free(dispatch *d) {
    if (!d) return;
    for (size_t i = 0; i < d->nroutes; i++) d->routes[i]->ops->free(d->routes[i]);
    free(d->routes);
    event_free(d->claim_ev);
    event_free(d->flush_ev);
    event_free(d->tick_ev);
    if (d->cur) {
        for (size_t i = 0; i < d->cur->nstrs; i++) free(d->cur->strs[i]);
        free(d->cur->strs);
        free(d->cur->ups);
        free(d->cur);
    }
    free(d->node);
    free(d);
}
