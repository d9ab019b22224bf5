/*
 * metrics.c - GET /metrics in Prometheus' text format, on a listener of its own (metrics.h;
 * every metric is listed in docs/metrics.md).
 *
 * Design: nothing on the send path waits for, locks or allocates for a metric. Each module
 * counts what it does in plain integers and fixed-bucket histograms (util/metrics.h) on the
 * thread that does it: the loop thread's (HTTP replies, route reports, callbacks) are read
 * here directly, since a scrape runs on the same loop; the store thread's are copied under the
 * store's mutexes, which it takes once per batch anyway (store_metrics.h). A scrape then
 * asks the store one read-only question, the depth of the queues (store_metrics_read), and
 * answers when it returns; if the store cannot answer, the scrape still answers, with
 * smsgate_store_up 0.
 *
 * HTTP requests are counted by (route pattern, method, status) in an open-addressed table of
 * fixed size, and their latencies by (route pattern, method): labels come from the route
 * table (api.c), never from the path a client sent, so their number is bounded by the
 * routes. A table that is full (it is sized for every route with a dozen statuses) counts the
 * rest under route "other".
 *
 * Invariants:
 *  1. Every family is written with its HELP and TYPE once, samples of one family together.
 *  2. A counter never goes down while the process runs (the route counters of the SMPP driver,
 *     smsgate_smpp_incoming_total and smsgate_smpp_receipts_total, restart from 0 when the
 *     route is rebuilt by a configuration change: Prometheus' rate() takes it as a reset).
 */
#include "metrics/metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define LOG "metrics"

#define REQ_SLOTS 1024 /* (route, method, status) */
#define LAT_SLOTS 512  /* (route, method) */

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
                                      "other"};
#define NMETHODS (int)(sizeof methods / sizeof methods[0])

typedef struct req_slot {
    const char *route; /* NULL: free; a static string (the route table's pattern) */
    int method, status;
    uint64_t n;
} req_slot;

typedef struct lat_slot {
    const char *route;
    int method;
    sg_hist h;
} lat_slot;

struct metrics {
    struct event_base *base;
    metrics_sources src;
    http_server *http;     /* the scrape listener */
    http_server *observed; /* the API's server, for its connection count */
    req_slot req[REQ_SLOTS];
    lat_slot *lat; /* LAT_SLOTS, on the heap: each holds a histogram */
    size_t nreq, nlat;
    int64_t start_ms; /* wall clock at start, process_start_time_seconds */
};

static const char ROUTE_OTHER[] = "other";
static const char ROUTE_NONE[] = "unmatched";

static int method_index(const char *m) {
    for (int i = 0; i < NMETHODS - 1; i++)
        if (m && !strcmp(m, methods[i])) return i;
    return NMETHODS - 1;
}

static size_t hash(const char *route, int method, int status) {
    uint64_t x = (uint64_t)(uintptr_t)route * 0x9E3779B97F4A7C15ull;
    x ^= (uint64_t)method * 0xC2B2AE3D27D4EB4Full + (uint64_t)status * 0x165667B19E3779F9ull;
    return (size_t)(x >> 40);
}

static req_slot *req_find(metrics *m, const char *route, int method, int status) {
    size_t i = hash(route, method, status) % REQ_SLOTS;
    for (size_t k = 0; k < REQ_SLOTS; k++, i = (i + 1) % REQ_SLOTS) {
        req_slot *s = &m->req[i];
        if (s->route == route && s->method == method && s->status == status) return s;
        if (!s->route) {
            /* the last few slots are kept for route "other" */
            if (m->nreq >= (route == ROUTE_OTHER ? REQ_SLOTS - 1 : REQ_SLOTS - 8)) return NULL;
            *s = (req_slot){.route = route, .method = method, .status = status};
            m->nreq++;
            return s;
        }
    }
    return NULL;
}

static lat_slot *lat_find(metrics *m, const char *route, int method) {
    size_t i = hash(route, method, 0) % LAT_SLOTS;
    for (size_t k = 0; k < LAT_SLOTS; k++, i = (i + 1) % LAT_SLOTS) {
        lat_slot *s = &m->lat[i];
        if (s->route == route && s->method == method) return s;
        if (!s->route) {
            if (m->nlat >= (route == ROUTE_OTHER ? LAT_SLOTS - 1 : LAT_SLOTS - 8)) return NULL;
            s->route = route;
            s->method = method;
            sg_hist_init(&s->h, sg_hist_fast_s, sg_hist_fast_n);
            m->nlat++;
            return s;
        }
    }
    return NULL;
}

void metrics_count_request(metrics *m, const char *method, const char *route, int status,
                           double seconds) {
    int mi = method_index(method);
    if (!route) route = ROUTE_NONE;
    req_slot *s = req_find(m, route, mi, status);
    if (!s) s = req_find(m, ROUTE_OTHER, mi, status);
    if (s) s->n++;
    lat_slot *l = lat_find(m, route, mi);
    if (!l) l = lat_find(m, ROUTE_OTHER, mi);
    if (l) sg_hist_observe(&l->h, seconds);
}

static void on_observe(const http_req *r, int status, double seconds, void *arg) {
    metrics_count_request(arg, r->method, r->route, status, seconds);
}

/* ---- rendering ---- */

typedef struct route_acc {
    sg_prom *p;
    int family; /* 0: header not written yet */
} route_acc;

static const char *const result_names[3] = {"accepted", "temporary", "permanent"};

static void submit_counts(const char *route, const uint64_t n[3], void *arg) {
    sg_prom *p = arg;
    for (int r = 0; r < 3; r++) {
        const char *l[] = {"route", route, "result", result_names[r], NULL};
        sg_prom_sample(p, "smsgate_smpp_submits_total", l, (double)n[r]);
    }
}

static void render_http(metrics *m, sg_prom *p) {
    sg_prom_family(p, "smsgate_http_requests_total", "counter",
                   "API requests answered, by route pattern, method and status code.");
    for (size_t i = 0; i < REQ_SLOTS; i++) {
        const req_slot *s = &m->req[i];
        if (!s->route) continue;
        char code[8];
        snprintf(code, sizeof code, "%d", s->status);
        const char *l[] = {"method", methods[s->method], "route", s->route, "code", code, NULL};
        sg_prom_sample(p, "smsgate_http_requests_total", l, (double)s->n);
    }
    sg_prom_family(p, "smsgate_http_request_seconds", "histogram",
                   "Time from a request's arrival to its answer, by route pattern and method.");
    for (size_t i = 0; i < LAT_SLOTS; i++) {
        const lat_slot *s = &m->lat[i];
        if (!s->route) continue;
        const char *l[] = {"method", methods[s->method], "route", s->route, NULL};
        sg_prom_hist(p, "smsgate_http_request_seconds", l, &s->h);
    }
    if (m->observed) {
        sg_prom_family(p, "smsgate_http_connections", "gauge",
                       "Open HTTP(S) connections of the API's listeners.");
        sg_prom_sample(p, "smsgate_http_connections", NULL,
                       (double)http_server_connections(m->observed));
    }
}

static void render_store(metrics *m, const store_metrics_read_req *g, sg_prom *p) {
    store_counters c, k;
    store_counters_read(m->src.st, &c);
    if (m->src.ctl_st) { /* the cluster's session applies receipts too (docs/cluster.md) */
        store_counters_read(m->src.ctl_st, &k);
        for (int i = 0; i < STORE_COUNT_N; i++) c.n[i] += k.n[i];
        sg_hist_add(&c.commit_s, &k.commit_s);
        sg_hist_add(&c.batch_ops, &k.batch_ops);
    }
    sg_prom_family(p, "smsgate_messages_accepted_total", "counter",
                   "Messages (one per receiver) stored for sending by this node.");
    sg_prom_sample(p, "smsgate_messages_accepted_total", NULL, (double)c.n[STORE_COUNT_ACCEPTED]);
    sg_prom_family(p, "smsgate_messages_final_total", "counter",
                   "Messages that reached a final state through this node, by that state.");
    static const struct {
        const char *name;
        int k;
    } finals[] = {{"delivered", STORE_COUNT_DELIVERED}, {"failed", STORE_COUNT_FAILED},
                  {"expired", STORE_COUNT_EXPIRED}, {"cancelled", STORE_COUNT_CANCELLED}};
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        const char *l[] = {"status", finals[i].name, NULL};
        sg_prom_sample(p, "smsgate_messages_final_total", l, (double)c.n[finals[i].k]);
    }
    sg_prom_family(p, "smsgate_credits_debited_total", "counter",
                   "Credits debited by sends (refunds not subtracted).");
    sg_prom_sample(p, "smsgate_credits_debited_total", NULL,
                   (double)c.n[STORE_COUNT_DEBITED_MILLI] / 1000.0);
    sg_prom_family(p, "smsgate_orders_total", "counter",
                   "Purchase orders created, paid and cancelled through this node.");
    static const struct {
        const char *name;
        int k;
    } orders[] = {{"created", STORE_COUNT_ORDER_CREATED}, {"paid", STORE_COUNT_ORDER_PAID},
                  {"cancelled", STORE_COUNT_ORDER_CANCELLED}};
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        const char *l[] = {"state", orders[i].name, NULL};
        sg_prom_sample(p, "smsgate_orders_total", l, (double)c.n[orders[i].k]);
    }
    sg_prom_family(p, "smsgate_store_commit_seconds", "histogram",
                   "Time each store transaction's COMMIT took (the fsync on SQLite).");
    sg_prom_hist(p, "smsgate_store_commit_seconds", NULL, &c.commit_s);
    sg_prom_family(p, "smsgate_store_batch_operations", "histogram",
                   "Operations per committed store transaction (group commit).");
    sg_prom_hist(p, "smsgate_store_batch_operations", NULL, &c.batch_ops);
    sg_prom_family(p, "smsgate_store_up", "gauge",
                   "1 when the store answered this scrape's query, else 0.");
    sg_prom_sample(p, "smsgate_store_up", NULL, g ? 1 : 0);
    if (!g) return;
    sg_prom_family(p, "smsgate_queue_messages", "gauge",
                   "Messages waiting in the store: due now, held for later (deferred, marketing "
                   "hours, retry), in flight (claimed by a node).");
    const char *due[] = {"state", "due", NULL}, *held[] = {"state", "held", NULL},
               *fly[] = {"state", "in_flight", NULL};
    sg_prom_sample(p, "smsgate_queue_messages", due, (double)g->due);
    sg_prom_sample(p, "smsgate_queue_messages", held, (double)g->held);
    sg_prom_sample(p, "smsgate_queue_messages", fly, (double)g->in_flight);
    sg_prom_family(p, "smsgate_callbacks_pending", "gauge",
                   "Status and reply callbacks waiting for a (next) attempt.");
    sg_prom_sample(p, "smsgate_callbacks_pending", NULL, (double)g->callbacks_pending);
    sg_prom_family(p, "smsgate_callbacks_dead", "gauge",
                   "Callbacks in the dead-letter list (smsctl callbacks replay).");
    sg_prom_sample(p, "smsgate_callbacks_dead", NULL, (double)g->callbacks_dead);
}

static double json_num(json_t *o, const char *k, double def) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : def;
}

static void render_routes(metrics *m, sg_prom *p) {
    sg_prom_family(p, "smsgate_smpp_submits_total", "counter",
                   "Messages a route reported, by result: accepted by the operator, refused "
                   "temporarily (retried) or permanently.");
    dispatch_submit_counts(m->src.disp, submit_counts, p);
    json_t *routes = dispatch_status(m->src.disp);
    size_t i;
    json_t *r;
    sg_prom_family(p, "smsgate_route_up", "gauge",
                   "1 when the route can carry traffic (an SMPP route: a bind is bound).");
    json_array_foreach(routes, i, r) {
        const char *l[] = {"route", json_string_value(json_object_get(r, "name")), NULL};
        if (!l[1]) continue;
        sg_prom_sample(p, "smsgate_route_up", l, json_is_true(json_object_get(r, "up")));
    }
    sg_prom_family(p, "smsgate_smpp_window_in_use", "gauge",
                   "Messages handed to the route and not yet answered by the operator.");
    json_array_foreach(routes, i, r) {
        const char *l[] = {"route", json_string_value(json_object_get(r, "name")), NULL};
        if (!l[1]) continue;
        sg_prom_sample(p, "smsgate_smpp_window_in_use", l,
                       json_num(r, "windowUsed", json_num(r, "inflight", 0)));
    }
    sg_prom_family(p, "smsgate_smpp_binds", "gauge",
                   "SMPP binds of each route of this node, by state.");
    json_array_foreach(routes, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        json_t *binds = json_object_get(r, "binds");
        if (!name || !json_is_array(binds)) continue;
        static const char *const states[] = {"disconnected", "connecting", "binding", "bound",
                                             "unbinding"}; /* smpp/session.c's, lower case */
        double n[5] = {0};
        size_t j;
        json_t *b;
        json_array_foreach(binds, j, b) {
            const char *s = json_string_value(json_object_get(b, "state"));
            if (s && !strcasecmp(s, "CLOSED")) s = "disconnected"; /* no session (r_status) */
            for (int k = 0; s && k < 5; k++)
                if (!strcasecmp(s, states[k])) n[k]++;
        }
        for (int k = 0; k < 5; k++) {
            const char *l[] = {"route", name, "state", states[k], NULL};
            sg_prom_sample(p, "smsgate_smpp_binds", l, n[k]);
        }
    }
    sg_prom_family(p, "smsgate_smpp_incoming_total", "counter",
                   "Messages from mobiles (deliver_sm, data_sm) received on the route's binds.");
    json_array_foreach(routes, i, r) {
        const char *l[] = {"route", json_string_value(json_object_get(r, "name")), NULL};
        if (!l[1] || !json_object_get(r, "mo")) continue;
        sg_prom_sample(p, "smsgate_smpp_incoming_total", l, json_num(r, "mo", 0));
    }
    sg_prom_family(p, "smsgate_smpp_receipt_seconds", "histogram",
                   "Time from the operator's acceptance of a message (submit_sm_resp) to its "
                   "final delivery receipt.");
    json_array_foreach(routes, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        json_t *h = json_object_get(r, "receiptSeconds");
        json_t *bounds = json_object_get(h, "bounds"), *counts = json_object_get(h, "counts");
        size_t nb = json_array_size(bounds);
        if (!name || nb == 0 || nb > SG_HIST_MAX || json_array_size(counts) != nb + 1) continue;
        double b[SG_HIST_MAX];
        sg_hist x;
        for (size_t k = 0; k < nb; k++) b[k] = json_number_value(json_array_get(bounds, k));
        sg_hist_init(&x, b, (int)nb);
        for (size_t k = 0; k <= nb; k++)
            x.counts[k] = (uint64_t)json_integer_value(json_array_get(counts, k));
        x.count = (uint64_t)json_integer_value(json_object_get(h, "count"));
        x.sum = json_number_value(json_object_get(h, "sum"));
        const char *l[] = {"route", name, NULL};
        sg_prom_hist(p, "smsgate_smpp_receipt_seconds", l, &x);
    }
    sg_prom_family(p, "smsgate_smpp_receipts_total", "counter",
                   "Delivery receipts received on the route's binds.");
    json_array_foreach(routes, i, r) {
        const char *l[] = {"route", json_string_value(json_object_get(r, "name")), NULL};
        if (!l[1] || !json_object_get(r, "receipts")) continue;
        sg_prom_sample(p, "smsgate_smpp_receipts_total", l, json_num(r, "receipts", 0));
    }
    json_decref(routes);
}

static void render_callbacks(metrics *m, sg_prom *p) {
    notify_stats s;
    notify_get_stats(m->src.notify, &s);
    sg_prom_family(p, "smsgate_callbacks_total", "counter",
                   "Callback attempts by result: delivered (2xx), failed (retried later), dead "
                   "(failed for the last time).");
    const char *ok[] = {"result", "delivered", NULL}, *failed[] = {"result", "failed", NULL},
               *dead[] = {"result", "dead", NULL};
    sg_prom_sample(p, "smsgate_callbacks_total", ok, (double)s.delivered);
    sg_prom_sample(p, "smsgate_callbacks_total", failed, (double)s.failed);
    sg_prom_sample(p, "smsgate_callbacks_total", dead, (double)s.dead);
    sg_prom_family(p, "smsgate_callback_seconds", "histogram",
                   "Time from a callback's first attempt (its status event, when handed over at "
                   "once) to the customer's 2xx answer.");
    sg_prom_hist(p, "smsgate_callback_seconds", NULL, &s.seconds);
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void render_process(metrics *m, sg_prom *p) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        sg_prom_family(p, "process_cpu_seconds_total", "counter",
                       "User and system CPU time of the process, in seconds.");
        sg_prom_sample(p, "process_cpu_seconds_total", NULL, cpu);
    }
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) == 2) {
            long pg = sysconf(_SC_PAGESIZE);
            sg_prom_family(p, "process_resident_memory_bytes", "gauge",
                           "Resident memory of the process, in bytes.");
            sg_prom_sample(p, "process_resident_memory_bytes", NULL, (double)rss * (double)pg);
            sg_prom_family(p, "process_virtual_memory_bytes", "gauge",
                           "Virtual memory of the process, in bytes.");
            sg_prom_sample(p, "process_virtual_memory_bytes", NULL, (double)pages * (double)pg);
        }
        fclose(f);
    }
    int fds = count_fds();
    if (fds >= 0) {
        sg_prom_family(p, "process_open_fds", "gauge", "Open file descriptors.");
        sg_prom_sample(p, "process_open_fds", NULL, fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        sg_prom_family(p, "process_max_fds", "gauge", "The open-file limit.");
        sg_prom_sample(p, "process_max_fds", NULL, (double)rl.rlim_cur);
    }
    sg_prom_family(p, "process_start_time_seconds", "gauge",
                   "When the process started, in seconds since the Unix epoch.");
    sg_prom_sample(p, "process_start_time_seconds", NULL, (double)(m->start_ms / 1000));
}

void metrics_render(metrics *m, const store_metrics_read_req *g, sg_prom *p) {
    sg_prom_family(p, "smsgate_build_info", "gauge",
                   "Always 1; the labels say which smsgate this node runs.");
    const char *l[] = {"version", m->src.version ? m->src.version : "",
                       "node", m->src.node ? m->src.node : "", NULL};
    sg_prom_sample(p, "smsgate_build_info", l, 1);
    render_http(m, p);
    if (m->src.st) render_store(m, g, p);
    if (m->src.disp) render_routes(m, p);
    if (m->src.notify) render_callbacks(m, p);
    render_process(m, p);
}

/* ---- the scrape ---- */

typedef struct scrape {
    metrics *m;
    http_req *req;
    store_metrics_read_req g;
} scrape;

static void reply(scrape *s, int store_ok) {
    sg_prom p;
    sg_prom_init(&p);
    metrics_render(s->m, store_ok ? &s->g : NULL, &p);
    http_reply_raw(s->req, 200, "text/plain; version=0.0.4; charset=utf-8", p.buf, p.len);
    sg_prom_fini(&p);
    free(s);
}

static void on_gauges(int rc, void *arg) {
    scrape *s = arg;
    if (rc)
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "The store did not answer the scrape's query "
                                               "(%s): smsgate_store_up is 0.", sg_strerror(rc));
    reply(s, rc == 0);
}

static void on_request(http_req *req, void *arg) {
    metrics *m = arg;
    if (strcmp(req->path, "/metrics") != 0) {
        static const char msg[] = "Not found: metrics are at /metrics.\n";
        http_reply_raw(req, 404, "text/plain; charset=utf-8", msg, sizeof msg - 1);
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        static const char msg[] = "Only GET is allowed on /metrics.\n";
        http_reply_header(req, "Allow", "GET, HEAD");
        http_reply_raw(req, 405, "text/plain; charset=utf-8", msg, sizeof msg - 1);
        return;
    }
    scrape *s = sg_xcalloc(1, sizeof *s);
    s->m = m;
    s->req = req;
    s->g.gauges = 1;
    s->g.now_ms = sg_now_ms();
    if (!m->src.st || store_metrics_read(m->src.st, &s->g, on_gauges, s) != 0) reply(s, 0);
}

metrics *metrics_new(struct event_base *base, const metrics_sources *src) {
    metrics *m = sg_xcalloc(1, sizeof *m);
    m->base = base;
    m->src = *src;
    m->lat = sg_xcalloc(LAT_SLOTS, sizeof *m->lat);
    m->start_ms = sg_now_ms();
    return m;
}

int metrics_listen(metrics *m, const char *addr) {
    if (!m->http) {
        http_limits lim = {.max_body = 1024, .max_connections = 64};
        m->http = http_server_new(m->base, &lim, on_request, m);
    }
    return http_server_listen(m->http, addr);
}

int metrics_port(const metrics *m) { return m->http ? http_server_port(m->http, 0) : -1; }

void metrics_observe(metrics *m, http_server *api_server) {
    m->observed = api_server;
    http_server_set_observer(api_server, on_observe, m);
}

void metrics_stop_accepting(metrics *m) {
    if (m && m->http) http_server_stop_accepting(m->http);
}

void metrics_free(metrics *m) {
    if (!m) return;
    http_server_free(m->http);
    free(m->lat);
    free(m);
}
