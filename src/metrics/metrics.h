/*
 * metrics.h - Prometheus metrics at GET /metrics on a listener of its own (--metrics-listen),
 * and the readiness of the node for /readyz (docs/metrics.md).
 *
 * Owns: its HTTP server (the listener), the table of HTTP request counts and latencies of the
 * API's server (fed by http_server_set_observer), nothing else. Everything else it shows is
 * read, at scrape time, from the module that counts it: the store's committed counters and
 * commit histograms (store_counters_read), the notifier's outcomes (notify_get_stats), the
 * dispatcher's submits per route and the routes' live state (dispatch_submit_counts,
 * dispatch_status), the process (getrusage, /proc/self). The gauges only the database knows
 * (queue depths, callbacks pending and dead) come from one read-only store operation per
 * scrape (store_metrics_read); when the store does not answer, the scrape still answers, with
 * smsgate_store_up 0 and without them.
 *
 * Thread: the loop thread, for everything. Sources are borrowed and must outlive it.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <event2/event.h>

#include "dispatch/dispatch.h"
#include "http/http.h"
#include "notify/notify.h"
#include "store/store.h"
#include "util/metrics.h"

typedef struct metrics metrics;

typedef struct metrics_sources {
    store *st;        /* the main store */
    store *ctl_st;    /* the cluster's session (PostgreSQL), or NULL */
    dispatch *disp;
    notify *notify;
    const char *version; /* smsgate_build_info{version} */
    const char *node;    /* the node's name, a label of smsgate_build_info */
} metrics_sources;

/* A metrics object over the sources (borrowed), serving nothing yet. */
metrics *metrics_new(struct event_base *base, const metrics_sources *src);
/* Listens for scrapes on addr (http/http.h's forms: "127.0.0.1:9464", ":9464"). Returns 0 or
 * the listener's error (logged). */
int metrics_listen(metrics *m, const char *addr);
/* The local port of the listener, -1 when none. */
int metrics_port(const metrics *m);
/* Counts the replies of an API server (its requests by route, method and status, and their
 * latency). */
void metrics_observe(metrics *m, http_server *api_server);
/* Stops accepting scrapes (shutdown). */
void metrics_stop_accepting(metrics *m);
/* NULL does nothing. */
void metrics_free(metrics *m);

/* The HTTP observer metrics_observe installs, exposed for tests: counts one reply. */
void metrics_count_request(metrics *m, const char *method, const char *route, int status,
                           double seconds);
/* Writes the whole exposition into p, without the store's gauges unless g is given (NULL:
 * the store did not answer). For tests and the scrape. */
void metrics_render(metrics *m, const store_metrics_read_req *g, sg_prom *p);

#endif
