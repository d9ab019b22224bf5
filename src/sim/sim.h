/*
 * sim.h - the embedded simulated operator network, as a route (route.h).
 *
 * Runs on the loop thread. Its memory (which messages it accepted, which receipts are due)
 * lives in the store, written in the same transactions as the messages' status changes, so
 * after a crash it neither forgets a message nor delivers one twice: a message submitted again
 * after a restart is recognised by its id and not delivered a second time.
 */
#ifndef SG_SIM_H
#define SG_SIM_H

#include <event2/event.h>

#include "dispatch/route.h"
#include "store/store.h"

/* Creates the sim route. delay_ms: time between acceptance and each receipt (and between a
 * delivery and the reply of a receiver ending in 905 or 906, core/sim_model.h);
 * reply_window_ms: the reply window its replies are attributed within (reply-window-h).
 * Receipts that were due before a restart are sent right away. */
route *sim_route_new(struct event_base *base, store *st, int64_t delay_ms,
                     int64_t reply_window_ms);

#endif
