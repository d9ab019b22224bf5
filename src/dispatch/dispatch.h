/*
 * dispatch.h - takes due messages from the store and hands them to routes.
 *
 * Runs on the loop thread. Owns the routes given to it (frees them in dispatch_free).
 * Claims are leases: a claimed message is `submitting` until its route reports; if this node
 * dies, the lease expires (or dispatch_start's recovery requeues it) and it is sent again.
 * That makes submission at-least-once; the window for a duplicate is a crash between the
 * operator's acceptance and the commit that records it (docs/operations.md).
 */
#ifndef SG_DISPATCH_H
#define SG_DISPATCH_H

#include <event2/event.h>

#include "dispatch/route.h"
#include "store/store.h"

typedef struct dispatch dispatch;

typedef struct dispatch_options {
    const char *node;   /* owner name for leases */
    int64_t lease_ms;
    size_t batch;       /* most messages per claim */
    int64_t tick_ms;    /* how often to look for newly due (scheduled) messages */
} dispatch_options;

dispatch *dispatch_new(struct event_base *base, store *st, const dispatch_options *opt);
/* Takes ownership of rt; sets its report callback. */
void dispatch_add_route(dispatch *d, route *rt);
/* Requeues messages this node had claimed before a restart, then starts claiming. */
void dispatch_start(dispatch *d);
/* Says new messages may be due now (after a send was committed). Cheap; coalesced. */
void dispatch_kick(dispatch *d);
/* Stops claiming; done(arg) runs once every message handed to a route was reported and its
 * status stored. */
void dispatch_stop(dispatch *d, void (*done)(void *arg), void *arg);
/* Frees the dispatcher and its routes. NULL does nothing. */
void dispatch_free(dispatch *d);

#endif
