/*
 * payhook.h - the payment hook: hands purchase orders to the operator's payment system and
 * records its answers (docs/credits.md, "Payment hook").
 *
 * The setting `payment-hook` is either an http(s) URL, to which each order is POSTed as JSON,
 * or a shell command, run with the order in its environment. Its answer pays the order (the
 * store adds the credits through the ledger, once), leaves it waiting for a later
 * `smsctl order pay`, or refuses it (the order is cancelled); no usable answer is retried with
 * backoff. Without a hook nothing is called: orders wait for `smsctl order pay`, and automatic
 * top-ups are paid at once by the built-in "account" means (inside the store, see
 * store/sqlite_credits.c).
 *
 * Threads: payhook_new/_start/_stop/_free run on the loop thread. The calls themselves, which
 * block (libcurl easy API, or a child process and its pipes), run on one worker thread of the
 * module, one order after another; their answers come back to the loop through an event, and
 * go to the store with one operation. The loop never waits on the payment system.
 *
 * Delivery is at least once: an order is leased while its call runs; a crash (or a stop in the
 * middle of a call that outlives the stop) hands it to the hook again after the lease. The
 * payment system must treat the order id as an idempotency key (the URL form sends it as the
 * Idempotency-Key header too). Paying an order twice never adds its credits twice.
 */
#ifndef SG_PAY_PAYHOOK_H
#define SG_PAY_PAYHOOK_H

#include <event2/event.h>

#include "store/store.h"
#include "util/config.h"

typedef struct payhook payhook;

/* Checks the credits settings (billing-country, payment-hook) and queues them to the store
 * (credits_configure), ahead of any request. cfg and st are borrowed and must outlive the
 * payhook. Returns NULL and *err = SG_EINVAL, after logging which setting is wrong. */
payhook *payhook_new(struct event_base *base, store *st, const sg_config *cfg, int *err);
/* Starts polling the store for orders due to the hook (every second); nothing without a hook. */
void payhook_start(payhook *p);
/* Stops polling; waits for the call in flight, if any (at most its timeout), and queues its
 * answers to the store. Call before store_close(), which then records them. NULL: nothing. */
void payhook_stop(payhook *p);
/* Frees the payhook; after store_close() (its store callbacks must have run). NULL: nothing. */
void payhook_free(payhook *p);

#endif
