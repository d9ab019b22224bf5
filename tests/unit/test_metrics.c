/*
 * test_metrics.c - unit tests of the metrics (docs/metrics.md): util/metrics.c's histograms
 * (which bucket a value on a bound falls in, merging, quantiles estimated from the buckets as
 * Prometheus does) and text writer (escaping, whole numbers,
 * cumulative buckets, the exact lines), metrics/metrics.c's table of HTTP requests (labels from
 * the route pattern, "unmatched", "other" once full) and its exposition without sources, the
 * counts of store_handoff.c that follow the transaction (kept at commit, dropped with a
 * rolled-back operation or batch), and the store's counters on a real database: a send counts
 * its messages and its debit, a refused send nothing, a delivered, failed, expired and
 * cancelled message each its final state, an order its creation and cancellation, and the
 * gauges read by metrics_read.
 *
 * Run all tests: build/tests/test_metrics; one test: build/tests/test_metrics <name>.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "metrics/metrics.h"
#include "store/store.h"
#include "store/store_int.h"
#include "util/metrics.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 60

/* ---- util/metrics.c ---- */

static void test_hist_buckets(void **state) {
    (void)state;
    static const double b[] = {1, 2, 5};
    sg_hist h;
    sg_hist_init(&h, b, 3);
    sg_hist_observe(&h, 0.5);
    sg_hist_observe(&h, 1);   /* on a bound: that bucket (le) */
    sg_hist_observe(&h, 1.5);
    sg_hist_observe(&h, 5);
    sg_hist_observe(&h, 7);   /* above the last: +Inf */
    assert_int_equal(h.counts[0], 2);
    assert_int_equal(h.counts[1], 1);
    assert_int_equal(h.counts[2], 1);
    assert_int_equal(h.counts[3], 1);
    assert_int_equal(h.count, 5);
    assert_true(h.sum > 14.99 && h.sum < 15.01);
    sg_hist g;
    sg_hist_init(&g, b, 3);
    sg_hist_observe(&g, 3);
    sg_hist_add(&g, &h);
    assert_int_equal(g.counts[2], 2);
    assert_int_equal(g.count, 6);
    /* the shipped bounds ascend and fit */
    const double *all[] = {sg_hist_fast_s, sg_hist_slow_s, sg_hist_count_b};
    const int n[] = {sg_hist_fast_n, sg_hist_slow_n, sg_hist_count_n};
    for (int k = 0; k < 3; k++) {
        assert_true(n[k] <= SG_HIST_MAX);
        for (int i = 1; i < n[k]; i++) assert_true(all[k][i] > all[k][i - 1]);
    }
}

/* Quantiles as Prometheus' histogram_quantile estimates them: linear in the bucket holding the
 * rank, from 0 in the first bucket, the last bound above it; NAN when empty. */
static void test_hist_quantile(void **state) {
    (void)state;
    static const double b[] = {1, 2, 5};
    sg_hist h;
    sg_hist_init(&h, b, 3);
    assert_true(isnan(sg_hist_quantile(&h, 0.5)));
    for (int i = 0; i < 4; i++) sg_hist_observe(&h, 1.5); /* four in (1, 2] */
    /* rank 2 of 4 in (1, 2]: halfway */
    assert_true(fabs(sg_hist_quantile(&h, 0.5) - 1.5) < 1e-9);
    assert_true(fabs(sg_hist_quantile(&h, 1) - 2) < 1e-9);
    assert_true(fabs(sg_hist_quantile(&h, 0.95) - 1.95) < 1e-9);
    sg_hist_observe(&h, 0.5);
    sg_hist_observe(&h, 0.5); /* two in (0, 1]: ranks 0-2 start from 0 */
    assert_true(fabs(sg_hist_quantile(&h, 0.1) - 0.3) < 1e-9); /* rank 0.6 of 2 in [0, 1] */
    assert_true(fabs(sg_hist_quantile(&h, 2.0 / 6) - 1) < 1e-9); /* rank 2: the bound */
    assert_true(fabs(sg_hist_quantile(&h, 0.5) - 1.25) < 1e-9); /* rank 3: 1 of 4 in (1, 2] */
    /* empty buckets between are skipped; above the last bound gives the last bound */
    for (int i = 0; i < 6; i++) sg_hist_observe(&h, 9);
    assert_true(fabs(sg_hist_quantile(&h, 0.95) - 5) < 1e-9);
    assert_true(fabs(sg_hist_quantile(&h, 0.5) - 2) < 1e-9); /* rank 6: the top of (1, 2] */
    /* q out of range is clamped */
    assert_true(fabs(sg_hist_quantile(&h, 7) - 5) < 1e-9);
    assert_true(fabs(sg_hist_quantile(&h, -1) - 0) < 1e-9);
}

static void test_prom_text(void **state) {
    (void)state;
    static const double b[] = {0.5, 1};
    sg_hist h;
    sg_hist_init(&h, b, 2);
    sg_hist_observe(&h, 0.25);
    sg_hist_observe(&h, 0.75);
    sg_hist_observe(&h, 3);
    sg_prom p;
    sg_prom_init(&p);
    sg_prom_family(&p, "a_total", "counter", "Line one\\two\nthree.");
    const char *l[] = {"route", "/sms/{}/x", "q", "say \"hi\"\\\n", NULL};
    sg_prom_sample(&p, "a_total", l, 42);
    sg_prom_sample(&p, "a_total", NULL, 0.125);
    sg_prom_family(&p, "h_seconds", "histogram", "H.");
    const char *hl[] = {"m", "GET", NULL};
    sg_prom_hist(&p, "h_seconds", hl, &h);
    assert_string_equal(p.buf,
                        "# HELP a_total Line one\\\\two\\nthree.\n"
                        "# TYPE a_total counter\n"
                        "a_total{route=\"/sms/{}/x\",q=\"say \\\"hi\\\"\\\\\\n\"} 42\n"
                        "a_total 0.125\n"
                        "# HELP h_seconds H.\n"
                        "# TYPE h_seconds histogram\n"
                        "h_seconds_bucket{m=\"GET\",le=\"0.5\"} 1\n"
                        "h_seconds_bucket{m=\"GET\",le=\"1\"} 2\n"
                        "h_seconds_bucket{m=\"GET\",le=\"+Inf\"} 3\n"
                        "h_seconds_sum{m=\"GET\"} 4\n"
                        "h_seconds_count{m=\"GET\"} 3\n");
    sg_prom_fini(&p);
}

/* ---- metrics/metrics.c without sources ---- */

static void test_http_table(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    metrics_sources src = {.version = "9.9", .node = "n1"};
    metrics *m = metrics_new(base, &src);
    static const char route[] = "/sms/{}/jobs";
    for (int i = 0; i < 3; i++) metrics_count_request(m, "POST", route, 200, 0.002);
    metrics_count_request(m, "POST", route, 400, 0.0001);
    metrics_count_request(m, "GET", NULL, 404, 0.0001);
    metrics_count_request(m, "BREW", route, 405, 0.0001);
    /* more distinct series than the table holds: the rest go to route "other" */
    static char names[1200][16];
    for (int i = 0; i < 1200; i++) {
        snprintf(names[i], sizeof names[i], "/r%d", i);
        metrics_count_request(m, "GET", names[i], 200, 0.001);
    }
    sg_prom p;
    sg_prom_init(&p);
    metrics_render(m, NULL, &p);
    assert_non_null(strstr(p.buf, "smsgate_build_info{version=\"9.9\",node=\"n1\"} 1\n"));
    assert_non_null(strstr(p.buf, "smsgate_http_requests_total{method=\"POST\",route=\"/sms/{}/"
                                  "jobs\",code=\"200\"} 3\n"));
    assert_non_null(strstr(p.buf, "smsgate_http_requests_total{method=\"POST\",route=\"/sms/{}/"
                                  "jobs\",code=\"400\"} 1\n"));
    assert_non_null(strstr(p.buf, "smsgate_http_requests_total{method=\"GET\",route=\"unmatched\","
                                  "code=\"404\"} 1\n"));
    assert_non_null(strstr(p.buf, "{method=\"other\",route=\"/sms/{}/jobs\",code=\"405\"} 1\n"));
    assert_non_null(strstr(p.buf, "smsgate_http_request_seconds_count{method=\"POST\",route=\"/sms"
                                  "/{}/jobs\"} 4\n"));
    assert_non_null(strstr(p.buf, "smsgate_http_request_seconds_bucket{method=\"POST\",route=\"/sm"
                                  "s/{}/jobs\",le=\"0.0025\"} 4\n"));
    const char *o = strstr(p.buf, "smsgate_http_requests_total{method=\"GET\",route=\"other\","
                                  "code=\"200\"} ");
    assert_non_null(o);
    long other = strtol(o + strlen("smsgate_http_requests_total{method=\"GET\",route=\"other\","
                                   "code=\"200\"} "), NULL, 10);
    assert_true(other > 100 && other < 1200); /* the table kept most of them */
    /* without a store: no store family at all; the process ones are there */
    assert_null(strstr(p.buf, "smsgate_store_up"));
    assert_non_null(strstr(p.buf, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(p.buf, "process_open_fds "));
    sg_prom_fini(&p);
    metrics_free(m);
    event_base_free(base);
}

/* ---- counts that follow the transaction (store_handoff.c) ---- */

static void test_counts_follow_the_transaction(void **state) {
    (void)state;
    store_handoff h;
    store__handoff_init(&h);
    /* operation 1 counts and succeeds, operation 2 counts and is rolled back */
    store__handoff_savepoint(&h);
    store__count(&h, STORE_COUNT_ACCEPTED, 3);
    store__handoff_savepoint(&h);
    store__count(&h, STORE_COUNT_ACCEPTED, 5);
    store__count(&h, STORE_COUNT_DEBITED_MILLI, 5000);
    store__handoff_rollback_op(&h);
    assert_int_equal(h.counted[STORE_COUNT_ACCEPTED], 0); /* nothing before the commit */
    store__handoff_committed(&h);
    assert_int_equal(h.counted[STORE_COUNT_ACCEPTED], 3);
    assert_int_equal(h.counted[STORE_COUNT_DEBITED_MILLI], 0);
    /* a batch that fails as a whole counts nothing */
    store__handoff_savepoint(&h);
    store__count(&h, STORE_COUNT_DELIVERED, 2);
    store__handoff_aborted(&h);
    store__handoff_savepoint(&h);
    store__handoff_committed(&h);
    assert_int_equal(h.counted[STORE_COUNT_DELIVERED], 0);
    assert_int_equal(h.counted[STORE_COUNT_ACCEPTED], 3);
    store__count(NULL, STORE_COUNT_ACCEPTED, 1); /* no hand-off: nothing */
    store__count(&h, STORE_COUNT_N, 1);          /* out of range: nothing */
    store__handoff_fini(&h);
}

/* ---- the store's counters on a real database ---- */

static int send_one(store_fixture *f, const char *receiver, int64_t credits, int64_t due_in_ms,
                int64_t validity_min, int64_t *id) {
    store_submit_msg m = {.receiver = receiver, .message = "hi", .length = 2, .parts = 1,
                          .credits = credits};
    store_submit_req r = {.service_id = f->sid, .sender = "36184", .msgs = &m, .count = 1,
                          .total_credits = credits, .validity_min = validity_min};
    r.now_ms = sg_now_ms();
    r.due_ms = r.now_ms + due_in_ms;
    int rc = STORE_RUN(f, submit, &r);
    if (id) *id = m.id;
    return rc;
}

static void status(store_fixture *f, int64_t id, msg_state st, int dlr, int ptt) {
    store_status_update u = {.msg_id = id, .state = st, .dlr = dlr, .ptt = ptt};
    store_status_req r = {.ups = &u, .count = 1};
    assert_int_equal(STORE_RUN(f, status, &r), 0);
    assert_int_equal(r.applied, 1);
}

static void test_store_counters(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 3000);
    store_counters c;
    store_counters_read(f->st, &c);
    uint64_t commits0 = c.commit_s.count;
    assert_int_equal(c.n[STORE_COUNT_ACCEPTED], 0);

    int64_t a, b, d, e;
    assert_int_equal(send_one(f, "+33612345670", 1000, 0, 2880, &a), 0);
    assert_int_equal(send_one(f, "+33612345671", 1000, 0, 2880, &b), 0);
    assert_int_equal(send_one(f, "+33612345672", 1000, 3600000, 2880, &d), 0); /* deferred */
    assert_int_equal(send_one(f, "+33612345673", 1000, 0, 2880, &e), SG_ENOCREDIT);
    store_counters_read(f->st, &c);
    assert_int_equal(c.n[STORE_COUNT_ACCEPTED], 3);
    assert_int_equal(c.n[STORE_COUNT_DEBITED_MILLI], 3000);
    assert_true(c.commit_s.count > commits0);
    assert_true(c.batch_ops.count == c.commit_s.count);

    store_metrics_read_req g = {.gauges = 1, .now_ms = sg_now_ms()};
    assert_int_equal(STORE_RUN(f, metrics_read, &g), 0);
    assert_int_equal(g.due, 2);
    assert_int_equal(g.held, 1);
    assert_int_equal(g.in_flight, 0);
    assert_int_equal(g.callbacks_pending, 0);
    assert_int_equal(g.callbacks_dead, 0);
    store_claim_req cl = {.node = "n1", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &cl), 0);
    assert_int_equal(cl.count, 2);
    store_claim_fini(&cl);
    g.now_ms = sg_now_ms();
    assert_int_equal(STORE_RUN(f, metrics_read, &g), 0);
    assert_int_equal(g.due, 0);
    assert_int_equal(g.in_flight, 2);

    status(f, a, MSG_SUBMITTED, 8, 3);
    status(f, a, MSG_DELIVERED, 1, 4);
    status(f, b, MSG_FAILED, 2, 5);
    store_msg_req cancel = {.service_id = f->sid, .id = d};
    assert_int_equal(STORE_RUN(f, msg_cancel, &cancel), 0);
    store_counters_read(f->st, &c);
    assert_int_equal(c.n[STORE_COUNT_DELIVERED], 1);
    assert_int_equal(c.n[STORE_COUNT_FAILED], 1);
    assert_int_equal(c.n[STORE_COUNT_CANCELLED], 1);
    assert_int_equal(c.n[STORE_COUNT_EXPIRED], 0);
    assert_int_equal(c.n[STORE_COUNT_ACCEPTED], 3); /* final states add no message */

    /* a message whose validity ends before it is claimed expires at the claim */
    store_credit_adjust_req adj = {.service_name = "sms-acme-1", .amount = 1000, .kind = "adjustment",
                                   .ref = "test"};
    assert_int_equal(STORE_RUN(f, credit_adjust, &adj), 0);
    int64_t x;
    assert_int_equal(send_one(f, "+33612345674", 1000, 0, 1, &x), 0);
    store_claim_req late = {.node = "n1", .now_ms = sg_now_ms() + 120000, .lease_ms = 60000,
                            .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &late), 0);
    store_claim_fini(&late);
    store_counters_read(f->st, &c);
    assert_int_equal(c.n[STORE_COUNT_EXPIRED], 1);
    assert_int_equal(c.n[STORE_COUNT_FAILED], 1);

    /* readiness: SELECT 1 only */
    store_metrics_read_req ping = {.gauges = 0};
    assert_int_equal(STORE_RUN(f, metrics_read, &ping), 0);
    assert_int_equal(ping.due, 0);
}

static void test_store_counts_orders(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 0);
    store_order_create_req o = {.service_id = f->sid, .quantity = 100, .billing = "fr"};
    assert_int_equal(STORE_RUN(f, order_create, &o), 0);
    store_order_cancel_req cx = {.id = o.order.id};
    int rc = STORE_RUN(f, order_cancel, &cx);
    assert_int_equal(rc, 0);
    store_counters c;
    store_counters_read(f->st, &c);
    assert_int_equal(c.n[STORE_COUNT_ORDER_CREATED], 1);
    assert_int_equal(c.n[STORE_COUNT_ORDER_CANCELLED], 1);
    assert_int_equal(c.n[STORE_COUNT_ORDER_PAID], 0);
    store_order_fini(&o.order);
    store_order_fini(&cx.order);
}

#define FIXTURE(fn) cmocka_unit_test_setup_teardown(fn, store_fixture_setup, store_fixture_teardown)

int main(int argc, char **argv) {
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_buckets),
        cmocka_unit_test(test_hist_quantile),
        cmocka_unit_test(test_prom_text),
        cmocka_unit_test(test_http_table),
        cmocka_unit_test(test_counts_follow_the_transaction),
        FIXTURE(test_store_counters),
        FIXTURE(test_store_counts_orders),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
