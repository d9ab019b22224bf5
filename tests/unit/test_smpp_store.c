/*
 * test_smpp_store.c - the routes area of the store against a real SQLite file: the route
 * table (seeded sim route, add/change/remove rules), SMPP acceptances with their operator ids,
 * receipts matched whatever the id's form, receipts that arrive before the acceptance is
 * stored, multi-part aggregation into one final state, and MO messages.
 *
 * Run all tests: build/tests/test_smpp_store; one test: build/tests/test_smpp_store <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 60

static int setup(void **state) {
    store_fixture_setup(state);
    store_fixture_account(*state, "acme", 100000);
    return 0;
}

/* Stores one message of parts parts and claims it; returns its id. */
static int64_t submitting(store_fixture *f, int parts) {
    store_submit_msg m = {.receiver = "+33612345678", .message = "hi", .length = 2,
                          .parts = parts, .credits = 1000 * parts};
    store_submit_req r = {.service_id = f->sid, .sender = "36184", .msgs = &m,
                          .count = 1, .total_credits = 1000 * parts, .validity_min = 2880};
    r.now_ms = r.due_ms = sg_now_ms();
    assert_int_equal(STORE_RUN(f, submit, &r), 0);
    store_claim_req c = {.node = "t", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &c), 0);
    assert_int_equal(c.count, 1);
    store_claim_fini(&c);
    return m.id;
}

static void accept_ids(store_fixture *f, const char *route, int64_t id, const char *const *ids,
                       size_t n) {
    store_smpp_accept_item it = {.msg_id = id, .route = route, .nparts = n, .smsc_ids = ids,
                                 .ts_ms = sg_now_ms()};
    store_smpp_accept_req r = {.items = &it, .count = 1};
    assert_int_equal(STORE_RUN(f, smpp_accept, &r), 0);
}

static int receipt(store_fixture *f, const char *route, const char *smsc_id, int state, int dlr,
                   int ptt) {
    store_smpp_receipt_item it = {.route = route, .smsc_id = smsc_id, .state = state,
                                  .dlr = dlr, .ptt = ptt, .ts_ms = sg_now_ms()};
    store_smpp_receipt_req r = {.items = &it, .count = 1};
    assert_int_equal(STORE_RUN(f, smpp_receipt, &r), 0);
    return it.matched;
}

static int64_t msg_state_of(store_fixture *f, int64_t id) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT state FROM messages WHERE id = %lld", (long long)id);
    return store_fixture_query_int(f, sql);
}

static void test_route_table(void **state) {
    store_fixture *f = *state;
    store_route_list_req l = {0};
    assert_int_equal(STORE_RUN(f, route_list, &l), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.routes[0].name, "sim");
    assert_string_equal(l.routes[0].kind, "sim");
    assert_string_equal(l.routes[0].prefixes, "");
    assert_int_equal(l.routes[0].enabled, 1);
    store_route_list_fini(&l);

    store_route_req add = {.name = "fr", .create = 1};
    add.route = (store_route){.name = "fr", .kind = "smpp", .host = "127.0.0.1", .port = 2775,
                              .system_id = "id", .binds = 2, .window = 10, .tps = 5,
                              .prefixes = "+33", .priority = 1, .weight = 1, .enabled = 1};
    assert_int_equal(STORE_RUN(f, route_put, &add), 0);
    assert_int_equal(STORE_RUN(f, route_put, &add), SG_ECONFLICT);
    store_route_req get = {.name = "fr"};
    assert_int_equal(STORE_RUN(f, route_get, &get), 0);
    assert_int_equal(get.route.tps, 5);
    assert_int_equal(get.route.version, 1);
    get.route.tps = 7;
    get.create = 0;
    assert_int_equal(STORE_RUN(f, route_put, &get), 0);
    store_route_fini(&get.route);
    store_route_req get2 = {.name = "fr"};
    assert_int_equal(STORE_RUN(f, route_get, &get2), 0);
    assert_int_equal(get2.route.tps, 7);
    assert_int_equal(get2.route.version, 2); /* every change moves the version */
    store_route_fini(&get2.route);
    store_route_req rm = {.name = "sim"};
    assert_int_equal(STORE_RUN(f, route_remove, &rm), SG_EPERM);
    rm.name = "fr";
    assert_int_equal(STORE_RUN(f, route_remove, &rm), 0);
    assert_int_equal(STORE_RUN(f, route_remove, &rm), SG_ENOTFOUND);
}

static void test_accept_and_receipt_any_id_form(void **state) {
    store_fixture *f = *state;
    int64_t id = submitting(f, 1);
    const char *ids[] = {"0000ABCD"};
    accept_ids(f, "fr", id, ids, 1);
    assert_int_equal(msg_state_of(f, id), MSG_SUBMITTED);
    /* The receipt gives the id in decimal. */
    assert_int_equal(receipt(f, "fr", "43981", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(msg_state_of(f, id), MSG_DELIVERED);
    /* A repeated receipt changes nothing; a late "enroute" does not move it back. */
    assert_int_equal(receipt(f, "fr", "abcd", MSG_ENROUTE, DLR_ENROUTE, 3), 1);
    assert_int_equal(msg_state_of(f, id), MSG_DELIVERED);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM events WHERE message_id = %lld AND state = 5",
             (long long)id);
    assert_int_equal(store_fixture_query_int(f, sql), 1);
}

static void test_receipt_before_accept(void **state) {
    store_fixture *f = *state;
    int64_t id = submitting(f, 1);
    /* The receipt overtakes the commit of the submit_sm_resp. */
    assert_int_equal(receipt(f, "fr", "77", MSG_FAILED, DLR_FAILED, 24), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_orphans WHERE smsc_id = '77'") > 0,
                     1);
    assert_int_equal(msg_state_of(f, id), MSG_SUBMITTING);
    const char *ids[] = {"077"};
    accept_ids(f, "fr", id, ids, 1);
    assert_int_equal(msg_state_of(f, id), MSG_FAILED);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_orphans"), 0);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT ptt FROM messages WHERE id = %lld", (long long)id);
    assert_int_equal(store_fixture_query_int(f, sql), 24);
}

/* Issue #7: acceptances look for early receipts only while some may be waiting; one kept
 * after an acceptance that found none is still applied by the next acceptance. */
static void test_receipt_before_accept_after_quiet(void **state) {
    store_fixture *f = *state;
    int64_t first = submitting(f, 1), second = submitting(f, 1);
    const char *ids1[] = {"500"};
    accept_ids(f, "fr", first, ids1, 1); /* no early receipt: remembered as none */
    assert_int_equal(receipt(f, "fr", "501", MSG_DELIVERED, DLR_DELIVERED, 4), 0);
    const char *ids2[] = {"501"};
    accept_ids(f, "fr", second, ids2, 1);
    assert_int_equal(msg_state_of(f, second), MSG_DELIVERED);
    assert_int_equal(msg_state_of(f, first), MSG_SUBMITTED);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_orphans"), 0);
}

/* A decimal id from 4097 on is also the hexadecimal spelling of an earlier id ("4097" =
 * 0x1001): a receipt that overtakes its own id's commit must be kept, not taken by the earlier
 * message already delivered (its receipt was then lost: two nodes on PostgreSQL). */
static void test_receipt_before_accept_other_base_final(void **state) {
    store_fixture *f = *state;
    int64_t old = submitting(f, 1), fresh = submitting(f, 1);
    const char *ids1[] = {"1001"};
    accept_ids(f, "fr", old, ids1, 1);
    assert_int_equal(receipt(f, "fr", "1001", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(msg_state_of(f, old), MSG_DELIVERED);
    /* 4097's receipt comes before 4097's accept: kept, not matched to 1001's message */
    assert_int_equal(receipt(f, "fr", "4097", MSG_DELIVERED, DLR_DELIVERED, 4), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_orphans"), 1);
    const char *ids2[] = {"4097"};
    accept_ids(f, "fr", fresh, ids2, 1);
    assert_int_equal(msg_state_of(f, fresh), MSG_DELIVERED);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_orphans"), 0);
    /* a message still waiting is found by another spelling, as before */
    int64_t hex = submitting(f, 1);
    const char *ids3[] = {"2a"};
    accept_ids(f, "fr", hex, ids3, 1);
    assert_int_equal(receipt(f, "fr", "42", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(msg_state_of(f, hex), MSG_DELIVERED);
}

static void test_multipart_aggregation(void **state) {
    store_fixture *f = *state;
    int64_t ok = submitting(f, 3);
    const char *ids[] = {"a1", "a2", "a3"};
    accept_ids(f, "fr", ok, ids, 3);
    assert_int_equal(receipt(f, "fr", "A2", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(msg_state_of(f, ok), MSG_ENROUTE); /* not final before the last part */
    assert_int_equal(receipt(f, "fr", "a1", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(msg_state_of(f, ok), MSG_ENROUTE);
    assert_int_equal(receipt(f, "fr", "a3", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(msg_state_of(f, ok), MSG_DELIVERED);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM events WHERE message_id = %lld AND state >= 5",
             (long long)ok);
    assert_int_equal(store_fixture_query_int(f, sql), 1); /* reported once, final */

    /* One part fails: the message fails with that part's ptt, once all parts are final. */
    int64_t bad = submitting(f, 2);
    const char *ids2[] = {"b1", "b2"};
    accept_ids(f, "fr", bad, ids2, 2);
    assert_int_equal(receipt(f, "fr", "b2", MSG_FAILED, DLR_FAILED, 27), 1);
    assert_int_equal(msg_state_of(f, bad), MSG_ENROUTE);
    assert_int_equal(receipt(f, "fr", "b1", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(msg_state_of(f, bad), MSG_FAILED);
    snprintf(sql, sizeof sql, "SELECT dlr * 1000 + ptt FROM messages WHERE id = %lld",
             (long long)bad);
    assert_int_equal(store_fixture_query_int(f, sql), 2027);
}

static void test_mo_stored(void **state) {
    store_fixture *f = *state;
    store_smpp_mo_item m = {.route = "fr", .source = "+33611112222", .destination = "36184",
                            .text = "STOP", .data_coding = 0, .ts_ms = sg_now_ms()};
    store_smpp_mo_req r = {.items = &m, .count = 1};
    assert_int_equal(STORE_RUN(f, smpp_mo, &r), 0);
    assert_true(m.id > 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM incoming WHERE message = 'STOP' AND service_id = 0"), 1);
}

/* Ids older than a week are forgotten by the prune that runs every 5,000 accepted messages,
 * and only those: the young ones still match their receipts. */
static void test_prune_old_ids(void **state) {
    store_fixture *f = *state;
    int64_t id = submitting(f, 1);
    enum { OLD = 3000, YOUNG = 3000 };
    store_smpp_accept_item *items = sg_xcalloc(OLD + YOUNG, sizeof *items);
    char (*names)[16] = sg_xcalloc(OLD + YOUNG, sizeof *names);
    const char **ids = sg_xcalloc(OLD + YOUNG, sizeof *ids);
    int64_t now = sg_now_ms(), week = 7LL * 24 * 3600 * 1000;
    for (int i = 0; i < OLD + YOUNG; i++) {
        snprintf(names[i], sizeof names[i], "id-%d", i);
        ids[i] = names[i];
        items[i] = (store_smpp_accept_item){.msg_id = id, .route = "fr", .nparts = 1,
                                            .smsc_ids = &ids[i],
                                            .ts_ms = i < OLD ? now - week - 3600000 : now};
    }
    store_smpp_accept_req r = {.items = items, .count = OLD + YOUNG};
    assert_int_equal(STORE_RUN(f, smpp_accept, &r), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_ids WHERE idkey LIKE 's:id-%'"),
                     YOUNG);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM smpp_ids WHERE created_ms < %lld",
             (long long)(now - week));
    assert_int_equal(store_fixture_query_int(f, sql), 0);
    assert_int_equal(receipt(f, "fr", "id-5999", MSG_DELIVERED, DLR_DELIVERED, 4), 1);
    assert_int_equal(receipt(f, "fr", "id-1", MSG_DELIVERED, DLR_DELIVERED, 4), 0); /* forgotten */
    free(items);
    free(names);
    free(ids);
}

/* Accepts and receipts of several messages in one operation each (on PostgreSQL written by
 * one statement per operation, sqlite_msg.c "Deferred status writes"), a second change of a
 * message among them: every message ends delivered, with one event per change in the order
 * of the changes, each status callback naming its own message's event, every operator id
 * stored, and nothing for the stale changes. */
static void test_batched_accepts_and_receipts(void **state) {
    store_fixture *f = *state;
    enum { N = 5 };
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        store_submit_msg m = {.receiver = "+33612345678", .message = "hi \"you\", {a,b}",
                              .length = 2, .parts = 1, .credits = 1000};
        store_submit_req r = {.service_id = f->sid, .sender = "36184", .msgs = &m, .count = 1,
                              .total_credits = 1000, .validity_min = 2880,
                              .callback_url = "http://127.0.0.1:9/cb"};
        r.now_ms = r.due_ms = sg_now_ms();
        assert_int_equal(STORE_RUN(f, submit, &r), 0);
        ids[i] = m.id;
    }
    store_claim_req c = {.node = "t", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &c), 0);
    assert_int_equal(c.count, N);
    store_claim_fini(&c);
    char names[N + 1][16];
    const char *smsc[N + 1];
    store_smpp_accept_item acc[N + 1];
    for (int i = 0; i <= N; i++) { /* the last one a second acceptance of the first */
        snprintf(names[i], sizeof names[i], "bat-%d", i);
        smsc[i] = names[i];
        acc[i] = (store_smpp_accept_item){.msg_id = ids[i % N], .route = "fr", .nparts = 1,
                                          .smsc_ids = &smsc[i], .ts_ms = sg_now_ms()};
    }
    store_smpp_accept_req ar = {.items = acc, .count = N + 1};
    assert_int_equal(STORE_RUN(f, smpp_accept, &ar), 0);
    store_smpp_receipt_item rec[N + 1];
    for (int i = 0; i <= N; i++) /* the last one a second receipt of the first message */
        rec[i] = (store_smpp_receipt_item){.route = "fr", .smsc_id = names[i % N],
                                           .state = MSG_DELIVERED, .dlr = DLR_DELIVERED,
                                           .ptt = 4, .ts_ms = sg_now_ms()};
    store_smpp_receipt_req rr = {.items = rec, .count = N + 1};
    assert_int_equal(STORE_RUN(f, smpp_receipt, &rr), 0);
    char sql[512];
    for (int i = 0; i < N; i++) {
        assert_int_equal(rec[i].matched, 1);
        assert_int_equal(msg_state_of(f, ids[i]), MSG_DELIVERED);
        long long id = (long long)ids[i];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM events WHERE message_id = %lld", id);
        assert_int_equal(store_fixture_query_int(f, sql), 3); /* created, submitted, delivered */
        /* the events' order is the changes' */
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM events a JOIN events b ON "
                 "b.message_id = a.message_id AND b.id > a.id AND b.state < a.state "
                 "WHERE a.message_id = %lld", id);
        assert_int_equal(store_fixture_query_int(f, sql), 0);
        /* a callback for each change after the creation, naming the event of its change */
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM notify_calls c JOIN events e ON "
                 "e.id = c.event_id AND e.message_id = c.message_id AND e.dlr = c.dlr "
                 "WHERE c.message_id = %lld AND c.seq_key = %lld", id, id);
        assert_int_equal(store_fixture_query_int(f, sql), 2);
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM notify_calls WHERE message_id = %lld",
                 id);
        assert_int_equal(store_fixture_query_int(f, sql), 2);
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE id = %lld AND "
                 "smsc_id = 'bat-%d' AND sent_ms > 0 AND delivered_ms > 0 AND dlr = %d",
                 id, i, DLR_DELIVERED);
        assert_int_equal(store_fixture_query_int(f, sql), 1);
    }
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_ids WHERE idkey "
                                                "LIKE 's:bat-%'"), N + 1);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, store_fixture_teardown)

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads();
    sg_log_set_level(SG_LOG_WARN);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_route_table),
        TEST(test_accept_and_receipt_any_id_form),
        TEST(test_receipt_before_accept),
        TEST(test_receipt_before_accept_after_quiet),
        TEST(test_receipt_before_accept_other_base_final),
        TEST(test_multipart_aggregation),
        TEST(test_mo_stored),
        TEST(test_prune_old_ids),
        TEST(test_batched_accepts_and_receipts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
