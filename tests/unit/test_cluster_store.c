/*
 * test_cluster_store.c - the cluster area of the store (store_cluster.h) against a real SQLite
 * file: a node name held by a live instance refuses a second one, and is free again after the
 * takeover timeout or a clean stop; leases of unregistered owners ("local" of older versions)
 * go back to the queue at registration; a silent node is declared dead once and its messages
 * requeued; bind slots are spread ceil(N / live) and taken back from a dead node; the
 * configuration epoch moves with configuration tables and not with sends.
 *
 * Several nodes share one database here through one store: each request names its node, as
 * separate processes would.
 *
 * Run all tests: build/tests/test_cluster_store; one test: build/tests/test_cluster_store <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/opid.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 60
#define TIMEOUT_MS 10000

static int reg(store_fixture *f, const char *name, const char *instance, int64_t now,
               store_node_register_req *out) {
    store_node_register_req r = {.name = name, .instance = instance, .address = "http://x",
                                 .version = "t", .now_ms = now, .timeout_ms = TIMEOUT_MS};
    int rc = STORE_RUN(f, node_register, &r);
    if (out) *out = r;
    else store_node_register_fini(&r);
    return rc;
}

/* One heartbeat; *cursor (may be NULL) carries the sweep's position as the node keeps it. */
static store_node_heartbeat_req beat_at(store_fixture *f, const char *name,
                                        const char *instance, int64_t now, store_slot_claim *k,
                                        size_t n, int64_t *cursor) {
    store_node_heartbeat_req r = {.name = name, .instance = instance, .now_ms = now,
                                  .timeout_ms = TIMEOUT_MS, .routes = k, .count = n,
                                  .reap = 1, .orphan_cursor = cursor ? *cursor : 0};
    assert_int_equal(STORE_RUN(f, node_heartbeat, &r), 0);
    if (cursor) *cursor = r.orphan_cursor;
    return r;
}

static store_node_heartbeat_req beat(store_fixture *f, const char *name, const char *instance,
                                     int64_t now, store_slot_claim *k, size_t n) {
    return beat_at(f, name, instance, now, k, n, NULL);
}

static int popcount(uint64_t v) {
    int n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

static void test_name_refused_while_alive(void **state) {
    store_fixture *f = *state;
    int64_t now = sg_now_ms();
    assert_int_equal(reg(f, "n1", "i-a", now, NULL), 0);
    store_node_register_req r;
    assert_int_equal(reg(f, "n1", "i-b", now + 1000, &r), SG_ECONFLICT);
    assert_true(r.refused);
    assert_int_equal(r.other_age_ms, 1000);
    assert_string_equal(r.other_address, "http://x");
    store_node_register_fini(&r);
    /* The same instance may register again (a retry). */
    assert_int_equal(reg(f, "n1", "i-a", now + 1000, NULL), 0);
    /* Another name is another node. */
    assert_int_equal(reg(f, "n2", "i-b", now + 1000, NULL), 0);
    /* Silent for the whole timeout: the name can be taken. */
    assert_int_equal(reg(f, "n1", "i-c", now + 1000 + TIMEOUT_MS + 1, NULL), 0);
    /* The old instance learns at its next heartbeat that it lost the name. */
    store_node_heartbeat_req h = beat(f, "n1", "i-a", now + TIMEOUT_MS + 1500, NULL, 0);
    assert_true(h.lost);
    h = beat(f, "n1", "i-c", now + TIMEOUT_MS + 1500, NULL, 0);
    assert_false(h.lost);
}

static void test_previous_instance_taken_back_at_once(void **state) {
    store_fixture *f = *state;
    int64_t now = sg_now_ms();
    assert_int_equal(reg(f, "n1", "i-a", now, NULL), 0);
    /* A restart after a crash: the data directory's lock says i-a ended. */
    store_node_register_req r = {.name = "n1", .instance = "i-b", .previous = "i-a",
                                 .now_ms = now + 100, .timeout_ms = TIMEOUT_MS};
    assert_int_equal(STORE_RUN(f, node_register, &r), 0);
    /* Not for a name held by an instance this directory never knew. */
    store_node_register_req x = {.name = "n1", .instance = "i-c", .previous = "i-a",
                                 .now_ms = now + 200, .timeout_ms = TIMEOUT_MS};
    assert_int_equal(STORE_RUN(f, node_register, &x), SG_ECONFLICT);
    store_node_register_fini(&x);
}

static void test_clean_stop_frees_name(void **state) {
    store_fixture *f = *state;
    int64_t now = sg_now_ms();
    assert_int_equal(reg(f, "n1", "i-a", now, NULL), 0);
    store_node_stop_req s = {.name = "n1", .instance = "i-a", .now_ms = now + 10};
    assert_int_equal(STORE_RUN(f, node_stop, &s), 0);
    assert_int_equal(reg(f, "n1", "i-b", now + 20, NULL), 0);
}

/* Submits one message and claims it for node; returns its id. */
static int64_t claimed_by(store_fixture *f, const char *node) {
    store_submit_msg m = {.receiver = "+33612345678", .message = "hi", .length = 2,
                          .parts = 1, .credits = 1000};
    store_submit_req r = {.service_id = f->sid, .sender = "36184", .msgs = &m, .count = 1,
                          .total_credits = 1000, .validity_min = 2880};
    r.now_ms = r.due_ms = sg_now_ms();
    assert_int_equal(STORE_RUN(f, submit, &r), 0);
    store_claim_req c = {.node = node, .now_ms = sg_now_ms(), .lease_ms = 600000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &c), 0);
    assert_true(c.count >= 1); /* and any other message due */
    store_claim_fini(&c);
    return m.id;
}

static int64_t state_of(store_fixture *f, int64_t id) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT state FROM messages WHERE id = %lld", (long long)id);
    return store_fixture_query_int(f, sql);
}

static void test_legacy_local_leases_requeued(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 100000);
    int64_t old = claimed_by(f, "local"); /* an older version's node, never registered */
    assert_int_equal(state_of(f, old), MSG_SUBMITTING);
    store_node_register_req r;
    assert_int_equal(reg(f, "host-a", "i-a", sg_now_ms(), &r), 0);
    assert_int_equal(r.legacy_requeued, 1);
    assert_int_equal(state_of(f, old), MSG_QUEUED);
    /* A registered node's leases are left alone by another's registration. */
    int64_t mine = claimed_by(f, "host-a"); /* the old one too */
    assert_int_equal(reg(f, "host-b", "i-b", sg_now_ms(), &r), 0);
    assert_int_equal(r.legacy_requeued, 0);
    assert_int_equal(state_of(f, mine), MSG_SUBMITTING);
    assert_int_equal(state_of(f, old), MSG_SUBMITTING);
}

static void test_dead_node_taken_over_once(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 100000);
    int64_t now = sg_now_ms();
    assert_int_equal(reg(f, "a", "i-a", now, NULL), 0);
    assert_int_equal(reg(f, "b", "i-b", now, NULL), 0);
    int64_t id = claimed_by(f, "a");
    /* A node back from a stall of its own takes nobody over. */
    store_node_heartbeat_req q = {.name = "b", .instance = "i-b", .now_ms = now + TIMEOUT_MS + 1,
                                  .timeout_ms = TIMEOUT_MS};
    assert_int_equal(STORE_RUN(f, node_heartbeat, &q), 0);
    assert_int_equal(q.reaped, 0);
    assert_int_equal(state_of(f, id), MSG_SUBMITTING);
    /* Fresh: nothing is taken. */
    store_node_heartbeat_req h = beat(f, "b", "i-b", now + TIMEOUT_MS - 1, NULL, 0);
    assert_int_equal(h.reaped, 0);
    assert_int_equal(h.live, 2);
    assert_int_equal(state_of(f, id), MSG_SUBMITTING);
    h = beat(f, "b", "i-b", now + TIMEOUT_MS + 1, NULL, 0);
    assert_int_equal(h.reaped, 1);
    assert_int_equal(h.requeued, 1);
    assert_int_equal(h.live, 1);
    assert_int_equal(state_of(f, id), MSG_QUEUED);
    h = beat(f, "b", "i-b", now + TIMEOUT_MS + 2, NULL, 0);
    assert_int_equal(h.reaped, 0);
    /* The dead node's own heartbeat is refused: it must start again. */
    h = beat(f, "a", "i-a", now + TIMEOUT_MS + 3, NULL, 0);
    assert_true(h.lost);
    assert_int_equal(reg(f, "a", "i-a2", now + TIMEOUT_MS + 4, NULL), 0);
}

static void add_route(store_fixture *f, const char *name) {
    store_route_req rr = {.name = name, .create = 1,
                          .route = {.name = (char *)name, .kind = "smpp", .host = "127.0.0.1",
                                    .port = 1, .system_id = "x", .password = "",
                                    .system_type = "", .tls_ca = "", .prefixes = "",
                                    .binds = 3, .window = 1, .enabled = 1}};
    assert_int_equal(STORE_RUN(f, route_put, &rr), 0);
}

static void test_slots_spread_and_taken_over(void **state) {
    store_fixture *f = *state;
    int64_t now = sg_now_ms();
    add_route(f, "op");
    assert_int_equal(reg(f, "a", "i-a", now, NULL), 0);
    store_slot_claim ka = {.route = "op", .nslots = 3};
    store_node_heartbeat_req h = beat(f, "a", "i-a", now, &ka, 1);
    assert_int_equal(h.live, 1);
    assert_int_equal(ka.held, 7); /* alone: every slot */
    assert_int_equal(ka.share, 3);
    assert_int_equal(reg(f, "b", "i-b", now + 100, NULL), 0);
    store_slot_claim kb = {.route = "op", .nslots = 3};
    h = beat(f, "b", "i-b", now + 100, &kb, 1);
    assert_int_equal(h.live, 2);
    assert_int_equal(kb.held, 0); /* nothing free yet */
    assert_int_equal(kb.share, 2);
    h = beat(f, "a", "i-a", now + 200, &ka, 1);
    assert_int_equal(ka.share, 2); /* a holds one too many: it closes a bind, then releases */
    assert_int_equal(popcount(ka.held), 3);
    ka.release = 4;
    h = beat(f, "a", "i-a", now + 300, &ka, 1);
    assert_int_equal(ka.held, 3);
    h = beat(f, "b", "i-b", now + 400, &kb, 1);
    assert_int_equal(kb.held, 4);
    /* Never two holders: slot 2 is b's now, a cannot take it back while b renews. */
    ka.release = 0;
    h = beat(f, "a", "i-a", now + 500, &ka, 1);
    assert_int_equal(ka.held, 3);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM bind_slots WHERE "
                                                "route = 'op' AND holder IS NOT NULL"),
                     3);
    /* a dies: after the timeout b is alone and takes every slot (a's leases ended). */
    h = beat(f, "b", "i-b", now + 500 + TIMEOUT_MS + 1, &kb, 1);
    assert_int_equal(h.reaped, 1);
    assert_int_equal(h.live, 1);
    assert_int_equal(kb.held, 7);
    /* Fewer binds: the slots beyond go. */
    kb.nslots = 1;
    h = beat(f, "b", "i-b", now + 600 + TIMEOUT_MS, &kb, 1);
    assert_int_equal(kb.held, 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM bind_slots"), 1);
    /* A removed route's slots go at the next heartbeat. */
    store_route_req rm = {.name = "op"};
    assert_int_equal(STORE_RUN(f, route_remove, &rm), 0);
    h = beat(f, "b", "i-b", now + 650 + TIMEOUT_MS, NULL, 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM bind_slots"), 0);
    add_route(f, "op");
    h = beat(f, "b", "i-b", now + 660 + TIMEOUT_MS, &kb, 1);
    assert_int_equal(kb.held, 1);
    /* A clean stop releases them at once. */
    store_node_stop_req s = {.name = "b", .instance = "i-b", .now_ms = now + 700 + TIMEOUT_MS};
    assert_int_equal(STORE_RUN(f, node_stop, &s), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM bind_slots WHERE "
                                                "holder IS NOT NULL"),
                     0);
}

/* The acceptance of message id with operator id smsc_id on route "op", written as another
 * node's transaction left it: the id and the state, without having seen any kept receipt. */
static void accepted_elsewhere(store_fixture *f, int64_t id, const char *smsc_id, int64_t now) {
    char keys[OPID_KEYS][OPID_KEY_LEN], sql[512];
    assert_true(opid_keys(smsc_id, keys) > 0);
    snprintf(sql, sizeof sql,
             "INSERT INTO smpp_ids(route, idkey, message_id, part, nparts, created_ms) "
             "VALUES ('op', '%s', %lld, 0, 1, %lld); UPDATE messages SET state = %d, dlr = 8 "
             "WHERE id = %lld",
             keys[0], (long long)id, (long long)now, MSG_SUBMITTED, (long long)id);
    store_fixture_exec(f, sql);
}

/* A receipt kept on one node while its acceptance was stored on another, each transaction
 * missing the other (PostgreSQL, READ COMMITTED): a later heartbeat applies it. */
static void test_heartbeat_applies_receipts_kept_elsewhere(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 100000);
    add_route(f, "op");
    int64_t now = sg_now_ms();
    assert_int_equal(reg(f, "a", "i-a", now, NULL), 0);
    int64_t id = claimed_by(f, "a");
    store_smpp_receipt_item it = {.route = "op", .smsc_id = "77aa", .state = MSG_DELIVERED,
                                  .dlr = DLR_DELIVERED, .ptt = 4, .ts_ms = now};
    store_smpp_receipt_req rr = {.items = &it, .count = 1};
    assert_int_equal(STORE_RUN(f, smpp_receipt, &rr), 0);
    assert_int_equal(it.matched, 0); /* kept */
    /* The acceptance, written as the other node's transaction left it: the id and the state,
     * without having seen the kept receipt. */
    accepted_elsewhere(f, id, "77aa", now);
    store_slot_claim k = {.route = "op", .nslots = 1};
    store_node_heartbeat_req h = beat(f, "a", "i-a", now + 10, &k, 1);
    assert_int_equal(h.receipts_matched, 1);
    assert_int_equal(state_of(f, id), MSG_DELIVERED);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_orphans"), 0);
    h = beat(f, "a", "i-a", now + 20, &k, 1);
    assert_int_equal(h.receipts_matched, 0);
}

/* Many kept receipts nobody will claim (ids of another system) must not hide one whose
 * acceptance arrives later: the sweep pages on from one heartbeat to the next. */
static void test_heartbeat_sweep_reaches_past_unknown_receipts(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 100000);
    add_route(f, "op");
    int64_t now = sg_now_ms();
    assert_int_equal(reg(f, "a", "i-a", now, NULL), 0);
    int64_t id = claimed_by(f, "a");
    enum { UNKNOWN = 700 };
    store_smpp_receipt_item *its = calloc(UNKNOWN + 1, sizeof *its);
    char (*ids)[16] = calloc(UNKNOWN + 1, sizeof *ids);
    assert_non_null(its);
    assert_non_null(ids);
    for (int i = 0; i <= UNKNOWN; i++) {
        snprintf(ids[i], sizeof ids[i], i == UNKNOWN ? "77aa" : "e%05d", i);
        its[i] = (store_smpp_receipt_item){.route = "op", .smsc_id = ids[i],
                                           .state = MSG_DELIVERED, .dlr = DLR_DELIVERED,
                                           .ptt = 4, .ts_ms = now};
    }
    store_smpp_receipt_req rr = {.items = its, .count = UNKNOWN + 1};
    assert_int_equal(STORE_RUN(f, smpp_receipt, &rr), 0);
    accepted_elsewhere(f, id, "77aa", now);
    store_slot_claim k = {.route = "op", .nslots = 1};
    size_t matched = 0;
    int64_t cursor = 0;
    for (int beat_no = 0; beat_no < 2; beat_no++) {
        store_node_heartbeat_req h = beat_at(f, "a", "i-a", now + 10 + beat_no, &k, 1, &cursor);
        matched += h.receipts_matched;
    }
    assert_int_equal(matched, 1);
    assert_int_equal(state_of(f, id), MSG_DELIVERED);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM smpp_orphans"), UNKNOWN);
    free(its);
    free(ids);
}

static int64_t epoch(store_fixture *f) {
    store_config_epoch_req r = {0};
    assert_int_equal(STORE_RUN(f, config_epoch, &r), 0);
    return r.epoch;
}

static void test_config_epoch_moves_with_configuration_only(void **state) {
    store_fixture *f = *state;
    int64_t e0 = epoch(f);
    store_fixture_account(f, "acme", 100000); /* inserts only: nothing cached can be stale */
    assert_int_equal(epoch(f), e0);
    claimed_by(f, "n"); /* a send and its claim: no configuration table */
    assert_int_equal(epoch(f), e0);
    store_route_req rr = {.name = "op", .create = 1,
                          .route = {.name = "op", .kind = "smpp", .host = "127.0.0.1",
                                    .port = 1, .system_id = "x", .password = "", .system_type = "",
                                    .tls_ca = "", .prefixes = "", .binds = 1, .window = 1,
                                    .enabled = 1}};
    assert_int_equal(STORE_RUN(f, route_put, &rr), 0);
    int64_t e1 = epoch(f);
    assert_true(e1 > e0);
    store_account_limit_req lim = {.name = "acme", .set = 1, .rate = 5, .burst = 5};
    assert_int_equal(STORE_RUN(f, account_limit, &lim), 0);
    int64_t e2 = epoch(f);
    assert_true(e2 > e1);
    /* A write by another process (the operator's sqlite3, another node) counts as well. */
    store_fixture_exec(f, "UPDATE credentials SET state = 'refused'");
    int64_t e3 = epoch(f);
    assert_true(e3 > e2);
    /* The housekeeping of never-validated keys deletes keys no node cached: no bump. */
    store_fixture_exec(f, "UPDATE credentials SET state = 'pendingValidation'");
    int64_t e4 = epoch(f);
    assert_true(e4 > e3);
    store_credential_expire_req ex = {.before_ms = sg_now_ms() + 1000, .limit = 10};
    assert_int_equal(STORE_RUN(f, credential_expire, &ex), 0);
    assert_int_equal(ex.deleted, 1);
    assert_int_equal(epoch(f), e4);
}

static void test_cluster_status(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 100000);
    add_route(f, "op");
    int64_t now = sg_now_ms();
    assert_int_equal(reg(f, "a", "i-a", now, NULL), 0);
    store_slot_claim k = {.route = "op", .nslots = 2};
    beat(f, "a", "i-a", now, &k, 1);
    claimed_by(f, "a");
    store_cluster_status_req r = {.now_ms = now + 1, .timeout_ms = TIMEOUT_MS};
    assert_int_equal(STORE_RUN(f, cluster_status, &r), 0);
    json_t *nodes = json_loads(r.nodes_json, 0, NULL), *slots = json_loads(r.slots_json, 0, NULL);
    assert_int_equal(json_array_size(nodes), 1);
    json_t *n = json_array_get(nodes, 0);
    assert_string_equal(json_string_value(json_object_get(n, "state")), "alive");
    assert_int_equal(json_integer_value(json_object_get(n, "messagesLeased")), 1);
    assert_int_equal(json_array_size(json_object_get(n, "slots")), 2);
    assert_int_equal(json_array_size(slots), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(slots, 1), "holder")),
                        "a");
    json_decref(nodes);
    json_decref(slots);
    store_cluster_status_fini(&r);
    r = (store_cluster_status_req){.now_ms = now + TIMEOUT_MS + 1, .timeout_ms = TIMEOUT_MS};
    assert_int_equal(STORE_RUN(f, cluster_status, &r), 0);
    assert_non_null(strstr(r.nodes_json, "\"state\":\"dead\""));
    assert_non_null(strstr(r.slots_json, "\"holder\":null"));
    store_cluster_status_fini(&r);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, store_fixture_setup, store_fixture_teardown)

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads();
    sg_log_set_level(SG_LOG_WARN);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_name_refused_while_alive),
        TEST(test_previous_instance_taken_back_at_once),
        TEST(test_clean_stop_frees_name),
        TEST(test_legacy_local_leases_requeued),
        TEST(test_dead_node_taken_over_once),
        TEST(test_slots_spread_and_taken_over),
        TEST(test_heartbeat_applies_receipts_kept_elsewhere),
        TEST(test_heartbeat_sweep_reaches_past_unknown_receipts),
        TEST(test_config_epoch_moves_with_configuration_only),
        TEST(test_cluster_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
