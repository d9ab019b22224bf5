/*
 * notify.h - status callbacks: delivers the calls queued in the store (store_notify.h) to the
 * customers' callBack URLs, with hclient.h (plain http to an IP literal or a host name) or
 * libcurl's multi interface, both driven by the event loop.
 *
 * Thread: the loop thread only. One notifier per process: it registers the store's wake-up
 * hook (store_notify_set_wake) so that a committed status event is called at once, without
 * polling.
 *
 * Owns: its curl multi handle and easy handles, one libevent event per socket curl uses, its
 * hclient (the keep-alive client for plain http:// URLs, with its connections, its evdns
 * resolver and cache of answers; freed by notify_stop, the lookups in flight cancelled, which
 * evdns confirms on the next pass of the loop), and every call it claimed until the outcome is
 * stored. Claimed calls are
 * leased in the store; when smsgated stops or dies with calls in flight, the next start
 * releases this node's leases and the calls are made again (delivery is at least once;
 * docs/callbacks.md).
 *
 * Life: notify_new() -> notify_start() -> ... -> notify_stop() (before store_close: it queues
 * the last outcomes) -> store_close() -> notify_free().
 */
#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <netinet/in.h>

#include "store/store.h"
#include "util/metrics.h"

typedef struct notify notify;

/* A field left 0 takes the default in brackets. */
typedef struct notify_options {
    const char *node;        /* owner name of the leases (copied) ["local"] */
    int allow_private;       /* 1: loopback and private destination addresses are allowed */
    int64_t timeout_ms;      /* one attempt, connection included [10000] */
    int64_t backoff_ms;      /* delay after the first failure [1000] */
    int64_t backoff_max_ms;  /* longest delay between attempts [3600000] */
    int64_t retry_ms;        /* how long after its first attempt a call is retried, before it
                                goes to the dead-letter list [86400000] */
    int host_limit;          /* attempts in flight at once per origin (scheme, host, port) [8] */
    size_t batch;            /* calls claimed per store operation [256] */
} notify_options;

/* Creates the notifier. base and st are borrowed and must outlive it. Claims nothing before
 * notify_start(). */
notify *notify_new(struct event_base *base, store *st, const notify_options *opt);
/* Releases this node's leases from an earlier run, then starts delivering. */
void notify_start(notify *n);
/* Says calls may be due now (the store's wake-up hook does it by itself). Cheap; coalesced. */
void notify_kick(notify *n);
/* Stops delivering: unregisters the wake-up hook, abandons attempts in flight (they stay
 * leased and are made again after the next start) and queues the outcomes gathered so far.
 * Call before store_close(). Idempotent. */
void notify_stop(notify *n);
/* Frees the notifier (stopping it first, without storing anything, if notify_stop was not
 * called). Call after store_close(). NULL does nothing. */
void notify_free(notify *n);

/* Counters for tests and diagnostics. The fast client's are 0 once stopped. */
typedef struct notify_stats {
    uint64_t fast_attempts;  /* attempts started on the fast client (hclient) */
    uint64_t curl_attempts;  /* attempts started on curl, redirects from the fast client too */
    uint64_t handed;         /* calls the store handed over at insert (not claimed) */
    uint64_t lookups;        /* name lookups the fast client started */
    uint64_t cached;         /* fast attempts to a name answered from its cache */
    uint64_t connects;       /* connections the fast client opened */
    int resolves;            /* 1 when the fast client takes host names */
    /* /metrics: attempts answered 2xx, failed (to be retried), failed for the last time
     * (dead-letter list); seconds from a call's first attempt to its 2xx answer */
    uint64_t delivered, failed, dead;
    sg_hist seconds;
} notify_stats;
void notify_get_stats(const notify *n, notify_stats *s);

/* The destination rule, for any curl easy handle that fetches a customer's URL (callbacks,
 * CSV downloads): every connection the handle opens, redirects included, goes through
 * notify_call_addr_refused(): link-local and cloud metadata addresses are always refused,
 * other private addresses unless allow_private; proxies from the environment are turned off
 * (a proxy would hide the real destination) and only http and https are allowed. The guard is the caller's and must outlive the handle. After a transfer
 * failed, guard->refused holds the last address refused ("" when none was). */
typedef struct notify_guard {
    int allow_private;
    char refused[INET6_ADDRSTRLEN + 1];
} notify_guard;
void notify_guard_apply(CURL *easy, notify_guard *guard);

/* 1 when guard->refused is a link-local or metadata address (refused whatever allow_private
 * says), so that the error can say so; 0 when it is another private address or empty. */
int notify_guard_forbidden(const notify_guard *guard);

#endif
