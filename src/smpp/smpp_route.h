/*
 * smpp_route.h - a route (dispatch/route.h) that delivers through an operator's SMSC over
 * SMPP 3.4: N binds (transceivers, or transmitter + receiver pairs), a window per bind, a
 * messages-per-second limit for the route, multi-part messages, receipts and MO messages.
 *
 * Loop thread only. The route owns its sessions (smpp/session.h) and its TLS context; the
 * dispatcher owns the route. Receipts and acceptances are written through the store (routes
 * area, store_routes.h); a deliver_sm is acknowledged only after its receipt is committed.
 */
#ifndef SG_SMPP_ROUTE_H
#define SG_SMPP_ROUTE_H

#include <event2/event.h>

#include "dispatch/route.h"
#include "store/store.h"

/* Timing knobs shared by every bind of every SMPP route (smsgated settings). */
typedef struct smpp_route_timing {
    int64_t enquire_ms;       /* enquire_link after this much silence */
    int64_t resp_timeout_ms;  /* response deadline of every request */
    int64_t reconnect_min_ms, reconnect_max_ms;
    /* 1: the route opens no bind until set_slots() (route.h, contract 6) grants its slot, as
     * smsgated does (docs/cluster.md); 0: every bind opens at once. */
    int leased_binds;
    /* Incoming SMS: the reply window of their attribution (store_incoming.h); 0 = 48 h. */
    int64_t reply_window_ms;
} smpp_route_timing;

/* Builds the route for conf (kind "smpp") and starts binding. Strings are copied. Returns
 * NULL and *err (SG_EINVAL, logged) when conf is unusable, e.g. a TLS CA file that cannot be
 * read. timing may be NULL (defaults). */
route *smpp_route_new(struct event_base *base, store *st, const store_route *conf,
                      const smpp_route_timing *timing, int *err);

#endif
