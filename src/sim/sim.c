/*
 * sim.c - the embedded simulated operator network (a route, see sim.h and core/sim_model.h).
 *
 * Design. send() asks the store to record the sim's acceptance (store_sim_accept), which in the
 * same transaction marks the message submitted; when that commits, the sim reports ACCEPTED
 * with stored=1. Receipts are driven by one timer: store_sim_advance applies every receipt that
 * is due (message status + the sim's own row, atomically) and returns when the next one is due.
 * The replies of receivers ending in 905 and 906 are steps like receipts: the store records
 * each as an incoming message in the step's transaction (store/sqlite_sim.c).
 *
 * States of the receipt timer: IDLE (nothing due) -> ARMED (timer set for next_due) ->
 * RUNNING (an advance operation in flight; `rerun` asks for another pass when it returns).
 * arm() is the only function that moves between them.
 */
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>

#include "core/sim_model.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "sim"
#define SIM_WINDOW 2000    /* messages in flight inside the sim at once */
#define SIM_ADVANCE 2000   /* receipts applied per store operation */

typedef struct sim {
    struct event_base *base;
    store *st;
    int64_t delay_ms, reply_window_ms;
    size_t inflight;
    struct event *timer;
    int running, rerun;
    int64_t armed_for;   /* 0 = not armed */
    store_sim_advance_req adv;
    route *rt;
    int stopping;        /* stop() was called: no new pass; done_cb once idle */
    void (*done_cb)(route *rt, void *arg);
    void *done_arg;
} sim;

typedef struct accept_ctx {
    route *rt;
    store_sim_accept_req req;
} accept_ctx;

static void arm(sim *s, int64_t due_ms);

/* When stopping and idle (no acceptance nor receipt pass in flight), reports the stop, once. */
static void maybe_stopped(sim *s) {
    if (!s->stopping || s->running || s->inflight || !s->done_cb) return;
    void (*done)(route *, void *) = s->done_cb;
    s->done_cb = NULL;
    done(s->rt, s->done_arg);
}

static void on_advanced(int rc, void *arg) {
    sim *s = arg;
    s->running = 0;
    if (s->stopping) {
        maybe_stopped(s); /* due receipts resume from the store on the next start */
        return;
    }
    if (rc != 0) {
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "Applying due receipts failed (%s); retrying in one second.",
                     sg_strerror(rc));
        arm(s, sg_now_ms() + 1000);
        return;
    }
    if (s->adv.done == SIM_ADVANCE || s->rerun) {
        s->rerun = 0;
        arm(s, sg_now_ms());
    } else if (s->adv.next_due_ms) {
        arm(s, s->adv.next_due_ms);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sim *s = arg;
    s->armed_for = 0;
    if (s->stopping) {
        s->running = 0;
        maybe_stopped(s);
        return;
    }
    if (s->running) {
        s->rerun = 1;
        return;
    }
    s->running = 1;
    memset(&s->adv, 0, sizeof s->adv);
    s->adv.now_ms = sg_now_ms();
    s->adv.delay_ms = s->delay_ms;
    s->adv.reply_window_ms = s->reply_window_ms;
    s->adv.limit = SIM_ADVANCE;
    store_sim_advance(s->st, &s->adv, on_advanced, s);
}

/* Makes sure a pass runs no later than due_ms. */
static void arm(sim *s, int64_t due_ms) {
    if (s->stopping) return;
    int64_t wait = due_ms - sg_now_ms();
    if (s->running && wait <= 0) {
        s->rerun = 1;
        return;
    }
    if (s->armed_for && s->armed_for <= due_ms) return;
    if (wait < 0) wait = 0;
    struct timeval tv = {wait / 1000, (wait % 1000) * 1000};
    s->armed_for = due_ms;
    event_add(s->timer, &tv);
}

static void on_accepted(int rc, void *arg) {
    accept_ctx *ac = arg;
    route *rt = ac->rt;
    sim *s = rt->priv;
    s->inflight--;
    route_report rep = {.msg_id = ac->req.msg_id};
    if (rc == 0) {
        rep.result = ROUTE_ACCEPTED;
        rep.smsc_id = ac->req.smsc_id;
        rep.stored = 1;
        if (ac->req.duplicate)
            sg_log_info(LOG, "Message %lld was submitted again after a restart; the sim already "
                             "had it as '%s' and does not deliver it twice.",
                        (long long)ac->req.msg_id, ac->req.smsc_id);
        arm(s, ac->req.due_ms);
    } else {
        rep.result = ROUTE_TEMP;
    }
    rt->report(rt, &rep, rt->report_arg);
    free(ac);
    maybe_stopped(s);
}

static int sim_send(route *rt, const store_msg *m) {
    sim *s = rt->priv;
    accept_ctx *ac = sg_xcalloc(1, sizeof *ac);
    ac->rt = rt;
    ac->req.msg_id = m->id;
    ac->req.outcome = sim_outcome_for(m->receiver);
    ac->req.due_ms = sg_now_ms() + s->delay_ms;
    s->inflight++;
    store_sim_accept(s->st, &ac->req, on_accepted, ac);
    return 0;
}

static size_t sim_capacity(route *rt) {
    sim *s = rt->priv;
    return s->inflight >= SIM_WINDOW ? 0 : SIM_WINDOW - s->inflight;
}

static size_t sim_inflight(route *rt) { return ((sim *)rt->priv)->inflight; }

/* Winds the sim down: no new receipt pass; done runs once what is in flight has returned
 * (from a store callback, or from the timer on the next loop turn if already idle). */
static void sim_stop(route *rt, void (*done)(route *rt, void *arg), void *arg) {
    sim *s = rt->priv;
    s->stopping = 1;
    s->done_cb = done;
    s->done_arg = arg;
    s->armed_for = 0;
    event_del(s->timer);
    if (!s->running && !s->inflight) {
        s->running = 1; /* one last pass of the timer reports the stop, never from here */
        struct timeval tv = {0, 0};
        event_add(s->timer, &tv);
    }
}

static void sim_free(route *rt) {
    sim *s = rt->priv;
    event_free(s->timer);
    free(s);
    free(rt->name);
    free(rt);
}

static const route_ops sim_ops = {
    .kind = "sim",
    .send = sim_send,
    .capacity = sim_capacity,
    .inflight = sim_inflight,
    .free = sim_free,
    .stop = sim_stop,
};

route *sim_route_new(struct event_base *base, store *st, int64_t delay_ms,
                     int64_t reply_window_ms) {
    sim *s = sg_xcalloc(1, sizeof *s);
    s->base = base;
    s->st = st;
    s->delay_ms = delay_ms;
    s->reply_window_ms = reply_window_ms;
    s->timer = evtimer_new(base, on_timer, s);
    route *rt = sg_xcalloc(1, sizeof *rt);
    rt->ops = &sim_ops;
    rt->name = sg_xstrdup("sim");
    rt->priority = 1000;
    rt->priv = s;
    s->rt = rt;
    arm(s, sg_now_ms()); /* receipts that came due while smsgated was stopped */
    return rt;
}
