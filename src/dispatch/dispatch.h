/*
 * dispatch.h - takes due messages from the store and hands them to routes.
 *
 * Runs on the loop thread. Owns the routes (built from the store's route table through the
 * factory given to dispatch_new, rebuilt by dispatch_reload, freed in dispatch_free).
 * Claims are leases: a claimed message is `submitting` until its route reports; if this node
 * dies, the lease expires (or dispatch_start's recovery requeues it) and it is sent again.
 * That makes submission at-least-once; the window for a duplicate is a crash between the
 * operator's acceptance and the commit that records it, plus, for SMPP, the submits still
 * unanswered when a connection drops (docs/smpp.md).
 *
 * Route choice (docs/smpp.md): the routes whose prefix matches the receiver longest; among
 * them the lowest priority number that has a route up; among those, by weight. A busy route
 * (up, window or rate limit reached) makes its messages wait in memory for a short while and
 * then in the store queue; a route that is down or answers a temporary error makes them fail
 * over to the next route. When no route is left to try, a temporarily refused message goes
 * back to the store queue for a later attempt, after a delay that doubles at each attempt
 * (with jitter), and fails after the last attempt or at the end of its validity period. A
 * route whose submits all fail temporarily pauses as a whole, then probes with one message.
 */
#ifndef SG_DISPATCH_H
#define SG_DISPATCH_H

#include <event2/event.h>
#include <jansson.h>

#include "dispatch/route.h"
#include "store/store.h"

typedef struct dispatch dispatch;

/* Builds the driver of a stored route (kind "sim" or "smpp"); NULL when it cannot (logged).
 * The dispatcher sets the generic fields (name, prefixes, priority, weight, pickable,
 * version) itself afterwards. */
typedef route *(*dispatch_factory_fn)(const store_route *conf, void *arg);

typedef struct dispatch_options {
    const char *node;   /* owner name for leases */
    int64_t lease_ms;
    size_t batch;       /* most messages per claim */
    int64_t tick_ms;    /* how often to look for newly due (scheduled) messages */
    dispatch_factory_fn factory; /* NULL: only routes given with dispatch_add_route */
    void *factory_arg;
    /* Temporary refusals (docs/smpp.md "Temporary errors"); 0 takes the default. */
    int64_t retry_min_ms;   /* first wait before a message is tried again (1000) */
    int64_t retry_max_ms;   /* longest wait (600000); also the longest pause of a route */
    int retry_max_attempts; /* attempts before the message fails (15) */
    int route_backoff_after; /* temporary refusals in a row that pause a route; 0 = never */
} dispatch_options;

dispatch *dispatch_new(struct event_base *base, store *st, const dispatch_options *opt);
/* Takes ownership of rt; sets its report callback. For routes not kept in the store. */
void dispatch_add_route(dispatch *d, route *rt);
/* Loads the route table (when there is a factory), requeues messages this node had claimed
 * before a restart, then starts claiming. */
void dispatch_start(dispatch *d);
/* Reads the route table again and applies it without a restart: new routes start, changed
 * ones are rebuilt, removed or disabled ones stop taking messages and wind down once their
 * messages are reported. done(rc, arg), when not NULL, runs once the new table is in use. */
void dispatch_reload(dispatch *d, void (*done)(int rc, void *arg), void *arg);
/* Says new messages may be due now (after a send was committed). Cheap; coalesced. */
void dispatch_kick(dispatch *d);
/* /metrics: calls fn once per route name that reported a message since start, with its
 * reports by route_result (accepted, temporary, permanent; route.h). Loop thread. */
void dispatch_submit_counts(dispatch *d, void (*fn)(const char *route, const uint64_t n[3],
                                                    void *arg), void *arg);
/* How many routes in use can take traffic now (enabled and up, route.h contract 3): what
 * /readyz asks. */
size_t dispatch_routes_up(dispatch *d);
/* The live state of every route, as a JSON array (new reference). */
json_t *dispatch_status(dispatch *d);
/* Stops claiming; done(arg) runs once every message handed to a route was reported and its
 * status stored, and the routes are wound down. */
void dispatch_stop(dispatch *d, void (*done)(void *arg), void *arg);
/* Bind slots of the routes in use that have binds (route.h, contract 6), for the cluster's
 * heartbeat: a new array (*out, free() it and each route name) of each such route's name,
 * slots and slots to give up; returns its length. */
size_t dispatch_slots_get(dispatch *d, store_slot_claim **out);
/* Hands each route named in k[] the slots this node holds (held) and its share. */
void dispatch_slots_set(dispatch *d, const store_slot_claim *k, size_t n);
/* fenced 1: this node could not renew its leases; it claims nothing, sends nothing more
 * (every bind closes; what it held goes back to the store queue when the store answers)
 * until fenced 0, after a heartbeat succeeded again. */
void dispatch_fence(dispatch *d, int fenced);
/* fn(arg) runs after the route table was (re)loaded, so that new routes get their slots. */
void dispatch_set_routes_hook(dispatch *d, void (*fn)(void *arg), void *arg);
/* The marketing hours (hours_table.h) this dispatcher holds marketing SMS by, reloaded with
 * the route table (dispatch_reload); borrowed for the dispatcher's life. */
struct hours_table *dispatch_hours(dispatch *d);
/* Frees the dispatcher and its routes. NULL does nothing. */
void dispatch_free(dispatch *d);

#endif
