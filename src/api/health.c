/*
 * health.c - the probes of load balancers, systemd and Kubernetes (docs/metrics.md, "Health"):
 *   GET /healthz  the process answers: 200 as long as the loop runs; nothing else is asked;
 *   GET /readyz   the node can serve: the store answers a query (SELECT 1, through the same
 *                 queue as every operation, so a store thread stuck behind a long batch shows
 *                 too) and at least one route can take traffic (dispatch_routes_up); 200, or
 *                 503 with OVH's error body saying which of the two is missing.
 * Both are served on the API's listeners without the /1.0 base and without authentication
 * (api.c's rootless_roots), and answer JSON. A 503 of /readyz is not logged per probe: the
 * store logs an outage once, and a route going down is logged by its driver.
 */
#include "api/api_int.h"

#include <stdlib.h>

#include "util/util.h"

static void healthz(api_call *c) {
    api_reply_json(c, json_pack("{s:s}", "status", "ok"));
}

typedef struct ready_state {
    store_metrics_read_req q;
} ready_state;

static void on_store(int rc, void *arg) {
    api_call *c = arg;
    if (rc) {
        c->req->logged = 1;
        api_reply_error(c, 503, NULL, "Not ready: the database does not answer (%s)",
                        sg_strerror(rc));
        return;
    }
    size_t up = dispatch_routes_up(c->api->d);
    if (up == 0) {
        c->req->logged = 1;
        api_reply_error(c, 503, NULL, "Not ready: no route can take traffic (every route is "
                                      "disabled or down)");
        return;
    }
    api_reply_json(c, json_pack("{s:s, s:s, s:I}", "status", "ready", "store", "ok",
                                "routesUp", (json_int_t)up));
}

static void readyz(api_call *c) {
    ready_state *s = api_call_state(c, sizeof *s, free);
    s->q.gauges = 0; /* SELECT 1 */
    if (store_metrics_read(c->api->st, &s->q, on_store, c) != 0)
        api_reply_error(c, 503, NULL, "Not ready: the store is closing");
}

const api_route api_health_routes[] = {
    {"GET", "/healthz", API_NOAUTH | API_RAW, healthz},
    {"GET", "/readyz", API_NOAUTH | API_RAW, readyz},
    {NULL, NULL, 0, NULL},
};
