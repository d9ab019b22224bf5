/*
 * test_store.c - the store against a real SQLite file: group commit, the ledger, the message
 * state machine, claims and leases, the sim's memory, fault injection, idempotency records,
 * the outgoing list's filters.
 *
 * Each test opens a fresh database in a temporary directory, queues operations, and runs the
 * event loop until their callbacks ran (results are only delivered on the loop thread).
 */
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
#include <sqlite3.h>

#include "store/store.h"
#include "util/util.h"

#include "store_fixture.h"

static int64_t balance(store_fixture *f, const char *name) {
    store_service_get_req g = {.name = name};
    store_done d = {0};
    STORE_QUEUE(f, service_get, &g, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    int64_t b = g.svc.balance;
    store_service_fini(&g.svc);
    return b;
}

static int64_t submit(store_fixture *f, int64_t sid, const char *receiver, int64_t credits,
                      int64_t due_in_ms, int *rc_out) {
    store_submit_msg m = {.receiver = receiver, .message = "hi", .length = 2, .parts = 1,
                          .credits = credits};
    store_submit_req r = {.service_id = sid, .sender = "36184", .msgs = &m, .count = 1,
                          .total_credits = credits, .validity_min = 2880};
    r.now_ms = sg_now_ms();
    r.due_ms = r.now_ms + due_in_ms;
    store_done d = {0};
    STORE_QUEUE(f, submit, &r, &d);
    store_fixture_wait(f);
    *rc_out = d.rc;
    return m.id;
}

static void test_submit_debits_and_refuses_without_credit(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 1500);
    int rc;
    int64_t id = submit(f, sid, "+33612345678", 1000, 0, &rc);
    assert_int_equal(rc, 0);
    assert_true(id > 0);
    assert_int_equal(balance(f, "sms-acme-1"), 500);
    /* Not enough left: nothing stored, nothing debited. */
    submit(f, sid, "+33612345679", 1000, 0, &rc);
    assert_int_equal(rc, SG_ENOCREDIT);
    assert_int_equal(balance(f, "sms-acme-1"), 500);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger"), 2);
}

static void test_group_commit_batches(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 1000000);
    enum { N = 200 };
    static store_submit_msg m[N];
    static store_submit_req r[N];
    static store_done d[N];
    uint64_t c0, o0, c1, o1;
    store_stats(f->st, &c0, &o0);
    for (int i = 0; i < N; i++) {
        m[i] = (store_submit_msg){.receiver = "+33612345678", .message = "x", .length = 1,
                                  .parts = 1, .credits = 1000};
        r[i] = (store_submit_req){.service_id = sid, .sender = "36184", .msgs = &m[i],
                                  .count = 1, .total_credits = 1000, .now_ms = sg_now_ms()};
        r[i].due_ms = r[i].now_ms;
        d[i] = (store_done){0};
        STORE_QUEUE(f, submit, &r[i], &d[i]);
    }
    store_fixture_wait(f);
    store_stats(f->st, &c1, &o1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].rc, 0);
        assert_int_equal(d[i].called, 1);
    }
    assert_int_equal(o1 - o0, N);
    /* Queued together, they share far fewer commits than operations. */
    assert_true(c1 - c0 < N / 2);
    assert_int_equal(balance(f, "sms-acme-1"), 1000000 - N * 1000);
}

static void test_failed_op_rolls_back_alone(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 5000);
    /* Two operations in one batch: the first fails (no credit), the second succeeds. */
    store_submit_msg m1 = {.receiver = "+33612345678", .message = "a", .parts = 1,
                           .credits = 9000};
    store_submit_msg m2 = {.receiver = "+33612345678", .message = "b", .parts = 1,
                           .credits = 1000};
    store_submit_req r1 = {.service_id = sid, .sender = "s", .msgs = &m1, .count = 1,
                           .total_credits = 9000};
    store_submit_req r2 = {.service_id = sid, .sender = "s", .msgs = &m2, .count = 1,
                           .total_credits = 1000};
    store_done d1 = {0}, d2 = {0};
    STORE_QUEUE(f, submit, &r1, &d1);
    STORE_QUEUE(f, submit, &r2, &d2);
    store_fixture_wait(f);
    assert_int_equal(d1.rc, SG_ENOCREDIT);
    assert_int_equal(d2.rc, 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages"), 1);
    assert_int_equal(balance(f, "sms-acme-1"), 4000);
}

static void test_cancel_refunds_once(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 3000);
    int rc;
    int64_t id = submit(f, sid, "+33612345678", 1000, 3600000, &rc);
    assert_int_equal(rc, 0);
    store_msg_req c = {.service_id = sid, .id = id};
    store_done d = {0};
    STORE_QUEUE(f, msg_cancel, &c, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(c.refunded, 1000);
    assert_int_equal(balance(f, "sms-acme-1"), 3000);
    store_msg_req c2 = {.service_id = sid, .id = id};
    store_done d2 = {0};
    STORE_QUEUE(f, msg_cancel, &c2, &d2);
    store_fixture_wait(f);
    assert_int_equal(d2.rc, SG_ENOTFOUND);
    assert_int_equal(balance(f, "sms-acme-1"), 3000);
    /* Another service cannot cancel it either. */
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'refund'"), 1);
}

static void test_claim_lease_and_status_monotonic(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    int rc;
    int64_t id = submit(f, sid, "+33612345678", 1000, 0, &rc);
    int64_t later = submit(f, sid, "+33612345679", 1000, 3600000, &rc);
    (void)later;
    store_claim_req cl = {.node = "n1", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    store_done d = {0};
    STORE_QUEUE(f, claim, &cl, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(cl.count, 1); /* the scheduled one is not due */
    assert_int_equal(cl.msgs[0].id, id);
    store_claim_fini(&cl);
    /* Claimed again while the lease holds: nothing. */
    store_claim_req cl2 = {.node = "n2", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    store_done d2 = {0};
    STORE_QUEUE(f, claim, &cl2, &d2);
    store_fixture_wait(f);
    assert_int_equal(cl2.count, 0);
    store_claim_fini(&cl2);
    /* After the lease: the other node takes it. */
    store_claim_req cl3 = {.node = "n2", .now_ms = sg_now_ms() + 61000, .lease_ms = 60000,
                           .limit = 10};
    store_done d3 = {0};
    STORE_QUEUE(f, claim, &cl3, &d3);
    store_fixture_wait(f);
    assert_int_equal(cl3.count, 1);
    store_claim_fini(&cl3);

    store_status_update ups[3] = {
        {.msg_id = id, .state = MSG_DELIVERED, .dlr = 1, .ptt = 4},
        {.msg_id = id, .state = MSG_SUBMITTED, .dlr = 8, .ptt = 3}, /* late: ignored */
        {.msg_id = id, .state = MSG_FAILED, .dlr = 2, .ptt = 5},    /* after final: ignored */
    };
    store_status_req sr = {.ups = ups, .count = 3};
    store_done d4 = {0};
    STORE_QUEUE(f, status, &sr, &d4);
    store_fixture_wait(f);
    assert_int_equal(d4.rc, 0);
    assert_int_equal(sr.applied, 1);
    store_msg_req g = {.service_id = sid, .id = id};
    store_done d5 = {0};
    STORE_QUEUE(f, msg_get, &g, &d5);
    store_fixture_wait(f);
    assert_int_equal(g.msg.state, MSG_DELIVERED);
    assert_int_equal(g.msg.dlr, 1);
    assert_true(g.msg.delivered_ms > 0);
    store_msg_fini(&g.msg);
}

static void count_ready(void *arg) { (*(int *)arg)++; }

/* store_dispatch_set_direct: with the hand-off open, a message due now is written claimed by
 * the node and handed over at commit (no claim returns it), its event still says queued; a
 * scheduled one, one whose send failed, and any once the room is 0 are not handed over. */
static void test_messages_handed_over_at_insert(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 3500);
    int ready = 0;
    store_dispatch_set_direct(f->st, "n1", 60000, 100, count_ready, &ready);
    int rc;
    int64_t now_id = submit(f, sid, "+33612345678", 1000, 0, &rc);
    assert_int_equal(rc, 0);
    int64_t later_id = submit(f, sid, "+33612345679", 1000, 3600000, &rc);
    assert_int_equal(rc, 0);
    submit(f, sid, "+33612345670", 9000, 0, &rc); /* not enough credit: rolled back */
    assert_int_equal(rc, SG_ENOCREDIT);
    assert_true(ready >= 1);
    store_msg *v = NULL;
    size_t n = store_dispatch_take(f->st, &v);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].id, now_id);
    assert_int_equal(v[0].state, MSG_SUBMITTING);
    assert_int_equal(v[0].attempts, 1);
    assert_string_equal(v[0].receiver, "+33612345678");
    assert_string_equal(v[0].message, "hi");
    assert_int_equal(v[0].validity_min, 2880);
    store_msg_fini(&v[0]);
    free(v);
    char q[160];
    snprintf(q, sizeof q, "SELECT state * 10 + attempts FROM messages WHERE id = %lld "
                          "AND lease_owner = 'n1' AND lease_ms > 0", (long long)now_id);
    assert_int_equal(store_fixture_query_int(f, q), MSG_SUBMITTING * 10 + 1);
    snprintf(q, sizeof q, "SELECT MIN(state) FROM events WHERE message_id = %lld",
             (long long)now_id);
    assert_int_equal(store_fixture_query_int(f, q), MSG_QUEUED);
    snprintf(q, sizeof q, "SELECT state FROM messages WHERE id = %lld AND lease_owner IS NULL",
             (long long)later_id);
    assert_int_equal(store_fixture_query_int(f, q), MSG_SCHEDULED);
    /* the handed message is claimed already: another node's claim passes it by */
    store_claim_req cl = {.node = "n2", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &cl), 0);
    assert_int_equal(cl.count, 0);
    store_claim_fini(&cl);
    /* room 0: queued as before, for a claim */
    store_dispatch_set_direct(f->st, "n1", 60000, 0, count_ready, &ready);
    int64_t queued_id = submit(f, sid, "+33612345671", 1000, 0, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(store_dispatch_take(f->st, &v), 0);
    store_claim_req cl2 = {.node = "n1", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &cl2), 0);
    assert_int_equal(cl2.count, 1);
    assert_int_equal(cl2.msgs[0].id, queued_id);
    store_claim_fini(&cl2);
    store_dispatch_set_direct(f->st, NULL, 0, 0, NULL, NULL);
}

static void test_sim_accepts_once(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    int rc;
    int64_t id = submit(f, sid, "+33612345678", 1000, 0, &rc);
    store_sim_accept_req a = {.msg_id = id, .due_ms = sg_now_ms()};
    store_sim_accept_req b = {.msg_id = id, .due_ms = sg_now_ms()};
    store_done d1 = {0}, d2 = {0};
    STORE_QUEUE(f, sim_accept, &a, &d1);
    STORE_QUEUE(f, sim_accept, &b, &d2);
    store_fixture_wait(f);
    assert_int_equal(d1.rc, 0);
    assert_int_equal(d2.rc, 0);
    assert_int_equal(a.duplicate, 0);
    assert_int_equal(b.duplicate, 1);
    assert_string_equal(a.smsc_id, b.smsc_id);
    store_sim_advance_req adv = {.now_ms = sg_now_ms() + 10, .delay_ms = 10, .limit = 100};
    store_done d3 = {0};
    STORE_QUEUE(f, sim_advance, &adv, &d3);
    store_fixture_wait(f);
    assert_int_equal(adv.done, 1);
    store_sim_advance_req adv2 = {.now_ms = sg_now_ms() + 1000, .delay_ms = 10, .limit = 100};
    store_done d4 = {0};
    STORE_QUEUE(f, sim_advance, &adv2, &d4);
    store_fixture_wait(f);
    assert_int_equal(adv2.done, 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT deliveries FROM sim_messages"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT submits FROM sim_messages"), 2);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM events WHERE state = 5"), 1);
}

static void test_undeliverable_refunded(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 2000);
    int rc;
    int64_t id = submit(f, sid, "+33612345902", 1000, 0, &rc);
    store_status_update ups[2] = {
        {.msg_id = id, .state = MSG_SUBMITTED, .dlr = 8, .ptt = 3, .smsc_id = "x"},
        {.msg_id = id, .state = MSG_FAILED, .dlr = 16, .ptt = 23},
    };
    store_status_req sr = {.ups = ups, .count = 2};
    store_done d = {0};
    STORE_QUEUE(f, status, &sr, &d);
    store_fixture_wait(f);
    assert_int_equal(sr.applied, 2);
    assert_int_equal(balance(f, "sms-acme-1"), 2000);
    /* A rejected (dlr 2) message after acceptance stays billed. */
    int64_t id2 = submit(f, sid, "+33612345901", 1000, 0, &rc);
    store_status_update ups2[2] = {
        {.msg_id = id2, .state = MSG_SUBMITTED, .dlr = 8, .ptt = 3, .smsc_id = "y"},
        {.msg_id = id2, .state = MSG_FAILED, .dlr = 2, .ptt = 5},
    };
    store_status_req sr2 = {.ups = ups2, .count = 2};
    store_done d2 = {0};
    STORE_QUEUE(f, status, &sr2, &d2);
    store_fixture_wait(f);
    assert_int_equal(balance(f, "sms-acme-1"), 1000);
}

static size_t claim_at(store_fixture *f, int64_t now_ms, store_claim_req *cl) {
    *cl = (store_claim_req){.node = "n1", .now_ms = now_ms, .lease_ms = 60000, .limit = 10};
    store_done d = {0};
    STORE_QUEUE(f, claim, cl, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    return cl->count;
}

static void status1(store_fixture *f, const store_status_update *u) {
    store_status_update up = *u;
    store_status_req sr = {.ups = &up, .count = 1};
    store_done d = {0};
    STORE_QUEUE(f, status, &sr, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(sr.applied, 1);
}

/* Issue 12: a temporarily refused message waits for its next attempt (due_ms moves, retries
 * counts), is listed as waiting on a retry, keeps the end of its validity period (which the
 * moved due_ms no longer gives), and a failure's refund carries its reason. */
static void test_retry_requeue_keeps_validity(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    int rc;
    int64_t id = submit(f, sid, "+33612345678", 1000, 0, &rc); /* validity 2880 min */
    assert_int_equal(rc, 0);
    int64_t now = sg_now_ms(), due0, expires = 0;
    store_claim_req cl;
    assert_int_equal(claim_at(f, now, &cl), 1);
    due0 = cl.msgs[0].due_ms;
    assert_int_equal(cl.msgs[0].retries, 0);
    assert_int_equal(cl.msgs[0].expires_ms, 0);
    store_claim_fini(&cl);
    /* Two refused attempts, each pushing the next one further. */
    for (int k = 1; k <= 2; k++) {
        int64_t at = now + k * 3600000;
        status1(f, &(store_status_update){.msg_id = id, .state = MSG_QUEUED, .retry_at_ms = at,
                                          .retry = 1, .route = "orange"});
        assert_int_equal(claim_at(f, at - 1, &cl), 0); /* not before its time */
        store_claim_fini(&cl);
        store_retry_waiting_req w = {.now_ms = at - 1};
        store_done d = {0};
        STORE_QUEUE(f, retry_waiting, &w, &d);
        store_fixture_wait(f);
        assert_int_equal(d.rc, 0);
        assert_int_equal(w.count, 1);
        assert_string_equal(w.items[0].route, "orange");
        assert_int_equal(w.items[0].count, 1);
        assert_int_equal(w.items[0].next_ms, at);
        store_retry_waiting_fini(&w);
        assert_int_equal(claim_at(f, at, &cl), 1);
        assert_int_equal(cl.msgs[0].retries, k);
        assert_int_equal(cl.msgs[0].due_ms, at);
        expires = cl.msgs[0].expires_ms;
        assert_int_equal(expires, due0 + 2880 * 60000LL);
        store_claim_fini(&cl);
    }
    /* A requeue without a retry (no route up) does not count. */
    status1(f, &(store_status_update){.msg_id = id, .state = MSG_QUEUED,
                                      .retry_at_ms = expires - 1000});
    assert_int_equal(store_fixture_query_int(f, "SELECT retries FROM messages"), 2);
    /* Past its validity (from the first due time, not from the moved one): it expires. */
    assert_int_equal(claim_at(f, expires + 1, &cl), 0);
    store_claim_fini(&cl);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages WHERE state = 6 AND ptt = 8"),
                     1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND note = "
                                   "'its validity period ended before it was sent'"), 1);
    assert_int_equal(balance(f, "sms-acme-1"), 10000);

    /* A failure after the last attempt: the refund's note is the dispatcher's reason. */
    int64_t id2 = submit(f, sid, "+33612345679", 1000, 0, &rc);
    assert_int_equal(claim_at(f, sg_now_ms(), &cl), 1);
    store_claim_fini(&cl);
    status1(f, &(store_status_update){.msg_id = id2, .state = MSG_FAILED, .dlr = 16, .ptt = 25,
                                      .route = "orange", .why = "failed after 15 attempts"});
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND note = "
                                   "'failed after 15 attempts'"), 1);
    assert_int_equal(balance(f, "sms-acme-1"), 10000);
}

static void test_fault_fail_nth_op(void **state) {
    store_fixture *f = *state;
    store_close(f->st);
    store_fixture_reopen(f, &(store_options){.fail_nth_op = 2});
    store_account_create_req a = {.name = "a1", .credits = 1, .rules_json = "[]"};
    store_account_create_req b = {.name = "a2", .credits = 1, .rules_json = "[]"};
    store_done d1 = {0}, d2 = {0};
    STORE_QUEUE(f, account_create, &a, &d1);
    STORE_QUEUE(f, account_create, &b, &d2);
    store_fixture_wait(f);
    assert_int_equal(d1.rc, 0);
    assert_int_equal(d2.rc, SG_EIO);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM accounts"), 1);
    free(a.service_name); free(a.app_key); free(a.app_secret); free(a.consumer_key);
}

static void exec_sql(store_fixture *f, const char *sql) { store_fixture_exec(f, sql); }

/* store_limits.h: an account's rate limit, read back with its credentials. */
static void test_account_limit(void **state) {
    store_fixture *f = *state;
    store_account_create_req a = {.name = "acme", .credits = 0, .rules_json = "[]"};
    store_done d = {0};
    STORE_QUEUE(f, account_create, &a, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    store_account_limit_req l = {.name = "acme"};
    STORE_QUEUE(f, account_limit, &l, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(l.rate, -1);
    assert_int_equal(l.burst, -1);
    l = (store_account_limit_req){.name = "acme", .set = 1, .rate = 5, .burst = 0};
    STORE_QUEUE(f, account_limit, &l, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(l.rate, 5);
    assert_int_equal(l.burst, 0);
    store_auth_lookup_req r = {.app_key = a.app_key, .consumer_key = a.consumer_key};
    STORE_QUEUE(f, auth_lookup, &r, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(r.rate_limit, 5);
    assert_int_equal(r.rate_burst, 0);
    store_auth_lookup_fini(&r);
    l = (store_account_limit_req){.name = "nobody", .set = 1, .rate = 1, .burst = 1};
    STORE_QUEUE(f, account_limit, &l, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, SG_ENOTFOUND);
    free(a.service_name); free(a.app_key); free(a.app_secret); free(a.consumer_key);
}

/* A pending consumer key past its deadline cannot be validated; credential_expire deletes
 * only never-validated keys, a bounded batch at a time. */
static void test_pending_credentials_expire(void **state) {
    store_fixture *f = *state;
    store_account_create_req a = {.name = "acme", .credits = 0, .rules_json = "[]"};
    store_done d = {0};
    STORE_QUEUE(f, account_create, &a, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    store_credential_create_req c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (store_credential_create_req){.app_key = a.app_key, .rules_json = "[]"};
        STORE_QUEUE(f, credential_create, &c[i], &d);
        store_fixture_wait(f);
        assert_int_equal(d.rc, 0);
    }
    /* Everything was requested an hour ago but c[3]. */
    int64_t now = sg_now_ms();
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE credentials SET created_ms = %lld WHERE consumer_key != '%s'",
             (long long)(now - 3600000), c[3].consumer_key);
    exec_sql(f, sql);
    int64_t before = now - 60000; /* a one-minute TTL */
    store_credential_state_req v = {.consumer_key = c[0].consumer_key, .state = "validated",
                                    .pending_before_ms = before};
    STORE_QUEUE(f, credential_state, &v, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(v.expired, 1);
    v = (store_credential_state_req){.consumer_key = c[3].consumer_key, .state = "validated",
                                     .pending_before_ms = before};
    STORE_QUEUE(f, credential_state, &v, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(v.expired, 0);
    /* Refusing an old request still works (it is not a validation). */
    v = (store_credential_state_req){.consumer_key = c[1].consumer_key, .state = "refused",
                                     .pending_before_ms = before};
    STORE_QUEUE(f, credential_state, &v, &d);
    store_fixture_wait(f);
    assert_int_equal(v.expired, 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM credentials WHERE state = 'expired'"), 1);
    /* Old and never validated: c[0] (expired) and c[2] (pending); not the account's key, not
     * c[1] (refused), not c[3] (recent, validated). */
    store_credential_expire_req e = {.before_ms = before, .limit = 1};
    STORE_QUEUE(f, credential_expire, &e, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(e.deleted, 1);
    assert_int_equal(e.more, 1);
    e = (store_credential_expire_req){.before_ms = before, .limit = 10};
    STORE_QUEUE(f, credential_expire, &e, &d);
    store_fixture_wait(f);
    assert_int_equal(e.deleted, 1);
    assert_int_equal(e.more, 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM credentials"), 3);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM credentials WHERE state IN "
                                   "('pendingValidation', 'expired')"), 0);
    for (int i = 0; i < 4; i++) free(c[i].consumer_key);
    free(a.service_name); free(a.app_key); free(a.app_secret); free(a.consumer_key);
}

/* ---- idempotency records (store_idem.h) ---- */

/* A render() as the API's: reads what the operation wrote (the id assigned in the
 * transaction) on the store thread. */
static char *render_ids(void *arg, int *status) {
    store_submit_req *r = arg;
    *status = 200;
    return sg_xasprintf("{\"ids\":[%lld],\"creditsLeft\":%lld}", (long long)r->msgs[0].id,
                        (long long)r->balance);
}

static void idem_init(store_idem *x, const char *key, const char *fp, int64_t now_ms) {
    memset(x, 0, sizeof *x);
    x->scope = "c1";
    x->key = key;
    snprintf(x->fingerprint, sizeof x->fingerprint, "%s", fp);
    x->now_ms = now_ms;
    x->ttl_ms = 5000;
}

/* Queues one single-receiver submit of 1 credit with idem and waits for it. */
static int submit_idem(store_fixture *f, int64_t sid, store_submit_req *r, store_submit_msg *m,
                       store_idem *x) {
    *m = (store_submit_msg){.receiver = "+33612345678", .message = "a", .parts = 1,
                            .credits = 1000};
    *r = (store_submit_req){.service_id = sid, .sender = "s", .msgs = m, .count = 1,
                            .total_credits = 1000};
    x->render = render_ids;
    x->render_arg = r;
    store_done d = {.f = f};
    f->pending++;
    assert_int_equal(store_submit_idem(f->st, r, x, store_fixture_on_done, &d), 0);
    store_fixture_wait(f);
    return d.rc;
}

static void idem_get(store_fixture *f, store_idem *g) {
    store_done d = {0};
    STORE_QUEUE(f, idem_get, g, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
}

static void test_idem_recorded_with_the_send(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 5000);
    store_submit_msg m;
    store_submit_req r;
    store_idem x;
    idem_init(&x, "k1", "aaaa", sg_now_ms());
    assert_int_equal(submit_idem(f, sid, &r, &m, &x), 0);
    assert_int_equal(x.recorded, 1);
    char want[96];
    snprintf(want, sizeof want, "{\"ids\":[%lld],\"creditsLeft\":4000}", (long long)m.id);
    assert_string_equal(x.body, want);
    /* Looked up: the same bytes; another fingerprint is a mismatch; another scope is new. */
    store_idem g;
    idem_init(&g, "k1", "aaaa", sg_now_ms());
    idem_get(f, &g);
    assert_int_equal(g.found, 1);
    assert_int_equal(g.mismatch, 0);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, want);
    store_idem_fini(&g);
    idem_init(&g, "k1", "bbbb", sg_now_ms());
    idem_get(f, &g);
    assert_int_equal(g.found, 1);
    assert_int_equal(g.mismatch, 1);
    store_idem_fini(&g);
    idem_init(&g, "k1", "aaaa", sg_now_ms());
    g.scope = "c2";
    idem_get(f, &g);
    assert_int_equal(g.found, 0);
    store_idem_fini(&g);
    store_idem_fini(&x);
}

static void test_idem_duplicate_in_one_batch_rolls_back(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 5000);
    store_submit_msg m1 = {.receiver = "+33612345678", .message = "a", .parts = 1,
                           .credits = 1000};
    store_submit_msg m2 = m1;
    store_submit_req r1 = {.service_id = sid, .sender = "s", .msgs = &m1, .count = 1,
                           .total_credits = 1000};
    store_submit_req r2 = r1;
    r2.msgs = &m2;
    store_idem x1, x2;
    idem_init(&x1, "dup", "aaaa", sg_now_ms());
    idem_init(&x2, "dup", "aaaa", sg_now_ms());
    x1.render = x2.render = render_ids;
    x1.render_arg = &r1;
    x2.render_arg = &r2;
    store_done d1 = {.f = f}, d2 = {.f = f};
    f->pending += 2;
    assert_int_equal(store_submit_idem(f->st, &r1, &x1, store_fixture_on_done, &d1), 0);
    assert_int_equal(store_submit_idem(f->st, &r2, &x2, store_fixture_on_done, &d2), 0);
    store_fixture_wait(f);
    assert_int_equal(d1.rc, 0);
    assert_int_equal(d2.rc, SG_ECONFLICT);
    assert_int_equal(x2.found, 1);
    assert_int_equal(x2.mismatch, 0);
    assert_string_equal(x2.body, x1.body); /* the first one's answer */
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages"), 1);
    assert_int_equal(balance(f, "sms-acme-1"), 4000);
    store_idem_fini(&x1);
    store_idem_fini(&x2);
}

static void test_idem_failure_not_recorded(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 500);
    store_submit_msg m;
    store_submit_req r;
    store_idem x;
    idem_init(&x, "poor", "aaaa", sg_now_ms());
    assert_int_equal(submit_idem(f, sid, &r, &m, &x), SG_ENOCREDIT);
    assert_int_equal(x.recorded, 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM idempotency"), 0);
    store_idem_fini(&x);
}

static void test_idem_expiry_and_prune(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 5000);
    store_submit_msg m;
    store_submit_req r;
    store_idem x;
    idem_init(&x, "old", "aaaa", sg_now_ms() - 10000); /* older than the 5 s ttl */
    assert_int_equal(submit_idem(f, sid, &r, &m, &x), 0);
    store_idem g;
    idem_init(&g, "old", "aaaa", sg_now_ms());
    idem_get(f, &g);
    assert_int_equal(g.found, 0); /* expired: forgotten, and replaced by a new send */
    store_idem y;
    idem_init(&y, "old", "aaaa", sg_now_ms());
    assert_int_equal(submit_idem(f, sid, &r, &m, &y), 0);
    assert_int_equal(y.recorded, 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM idempotency"), 1);
    store_idem_prune_req p = {.before_ms = sg_now_ms() - 5000, .limit = 10};
    store_done d = {0};
    STORE_QUEUE(f, idem_prune, &p, &d);
    store_fixture_wait(f);
    assert_int_equal(d.rc, 0);
    assert_int_equal(p.deleted, 0); /* the live one stays */
    p = (store_idem_prune_req){.before_ms = sg_now_ms() + 1, .limit = 10};
    STORE_QUEUE(f, idem_prune, &p, &d);
    store_fixture_wait(f);
    assert_int_equal(p.deleted, 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM idempotency"), 0);
    store_idem_fini(&x);
    store_idem_fini(&y);
    store_idem_fini(&g);
}

/* A message of sid with the fields the outgoing list filters on; its id. */
static int64_t submit_with(store_fixture *f, int64_t sid, const char *sender,
                           const char *receiver, const char *tag, int64_t differed_min,
                           int64_t due_in_ms) {
    store_submit_msg m = {.receiver = receiver, .message = "hi", .length = 2, .parts = 1};
    store_submit_req r = {.service_id = sid, .sender = sender, .tag = tag, .msgs = &m,
                          .count = 1, .validity_min = 2880, .differed_min = differed_min};
    r.now_ms = sg_now_ms();
    r.due_ms = r.now_ms + due_in_ms;
    assert_int_equal(STORE_RUN(f, submit, &r), 0);
    return m.id;
}

/* Runs the outgoing list q; returns which of ids[0..n) it gave (bit i for ids[i]), and checks
 * that it gave nothing else, in increasing order. */
static unsigned listed(store_fixture *f, store_outgoing_filter q, const int64_t *ids, size_t n) {
    assert_int_equal(STORE_RUN(f, outgoing_list, &q), 0);
    unsigned found = 0;
    for (size_t k = 0; k < q.count; k++) {
        if (k > 0) assert_true(q.ids[k] > q.ids[k - 1]);
        size_t i = 0;
        while (i < n && ids[i] != q.ids[k]) i++;
        assert_true(i < n);
        found |= 1u << i;
    }
    free(q.ids);
    return found;
}

static void test_outgoing_list_filters(void **state) {
    store_fixture *f = *state;
    int64_t t0 = sg_now_ms();
    int64_t sid = store_fixture_account(f, "acme", 100000);
    int64_t other = store_fixture_account(f, "other", 100000);
    enum { A = 1, B = 2, C = 4, D = 8, O = 16 };
    int64_t ids[5];
    ids[0] = submit_with(f, sid, "36184", "+33600000001", "t1", 0, 0);       /* A: queued */
    ids[1] = submit_with(f, sid, "ACME", "+33600000002", NULL, 5, 60000);    /* B: scheduled */
    ids[2] = submit_with(f, sid, "ACME", "+33600000003", "t1", 0, 0);        /* C: queued */
    ids[3] = submit_with(f, sid, "36184", "+33600000004", NULL, 0, 3600000); /* D: scheduled */
    ids[4] = submit_with(f, other, "36184", "+33600000001", "t1", 0, 0);     /* O: elsewhere */
    store_msg_req cancel = {.service_id = sid, .id = ids[3]};
    assert_int_equal(STORE_RUN(f, msg_cancel, &cancel), 0);
    store_claim_req cl = {.node = "n1", .now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &cl), 0);
    assert_int_equal(cl.count, 3); /* A, C and O are submitting */
    store_claim_fini(&cl);
    store_status_update up = {.msg_id = ids[2], .state = MSG_SUBMITTED, .dlr = 8, .ptt = 3,
                              .route = "sim", .smsc_id = "s1"};
    store_status_req sr = {.ups = &up, .count = 1};
    assert_int_equal(STORE_RUN(f, status, &sr), 0);
    assert_int_equal(sr.applied, 1);

    /* /jobs: pending (A submitting, B scheduled); never cancelled D nor another service's O. */
    store_outgoing_filter q = {.service_id = sid, .pending = 1, .ptt = -1, .dlr = -1,
                               .differed = -1};
    assert_int_equal(listed(f, q, ids, 5), A | B);
    store_outgoing_filter x = q;
    x.tag = "t1";
    assert_int_equal(listed(f, x, ids, 5), A);
    x = q;
    x.receiver = "+33600000002";
    assert_int_equal(listed(f, x, ids, 5), B);
    x = q;
    x.sender = "ACME";
    assert_int_equal(listed(f, x, ids, 5), B);
    x = q;
    x.differed = 5;
    assert_int_equal(listed(f, x, ids, 5), B);
    x.differed = 0;
    assert_int_equal(listed(f, x, ids, 5), A);
    x = q;
    x.from_ms = t0;
    assert_int_equal(listed(f, x, ids, 5), A | B);
    x.from_ms = sg_now_ms() + 3600000;
    assert_int_equal(listed(f, x, ids, 5), 0);
    x = q;
    x.to_ms = t0 - 1;
    assert_int_equal(listed(f, x, ids, 5), 0);

    /* /outgoing: with an operator or final (C). */
    q.pending = 0;
    assert_int_equal(listed(f, q, ids, 5), C);
    x = q;
    x.tag = "t1";
    assert_int_equal(listed(f, x, ids, 5), C);
    x.tag = "nope";
    assert_int_equal(listed(f, x, ids, 5), 0);
    x = q;
    x.ptt = 3;
    x.dlr = 8;
    assert_int_equal(listed(f, x, ids, 5), C);
    x.ptt = 4;
    assert_int_equal(listed(f, x, ids, 5), 0);
    x.ptt = -1;
    x.dlr = 1;
    assert_int_equal(listed(f, x, ids, 5), 0);
    x = q;
    x.tag = "t1";
    x.receiver = "+33600000003";
    x.sender = "ACME";
    x.from_ms = t0;
    x.to_ms = sg_now_ms() + 1000;
    assert_int_equal(listed(f, x, ids, 5), C);
    x.sender = "36184";
    assert_int_equal(listed(f, x, ids, 5), 0);
    /* Deleted from the history: listed no more. */
    store_msg_req del = {.service_id = sid, .id = ids[2]};
    assert_int_equal(STORE_RUN(f, msg_delete, &del), 0);
    assert_int_equal(listed(f, q, ids, 5), 0);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, store_fixture_setup, store_fixture_teardown)

int main(int argc, char **argv) {
    evthread_use_pthreads();
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_submit_debits_and_refuses_without_credit),
        TEST(test_group_commit_batches),
        TEST(test_failed_op_rolls_back_alone),
        TEST(test_cancel_refunds_once),
        TEST(test_claim_lease_and_status_monotonic),
        TEST(test_messages_handed_over_at_insert),
        TEST(test_sim_accepts_once),
        TEST(test_undeliverable_refunded),
        TEST(test_retry_requeue_keeps_validity),
        TEST(test_fault_fail_nth_op),
        TEST(test_account_limit),
        TEST(test_pending_credentials_expire),
        TEST(test_idem_recorded_with_the_send),
        TEST(test_idem_duplicate_in_one_batch_rolls_back),
        TEST(test_idem_failure_not_recorded),
        TEST(test_idem_expiry_and_prune),
        TEST(test_outgoing_list_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
