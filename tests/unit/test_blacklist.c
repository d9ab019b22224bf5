/*
 * test_blacklist.c - unit tests of the blacklists area (store/sqlite_blacklist.c) on a real
 * database (SQLite, or PostgreSQL with SMSGATE_TEST_DATABASE: store_fixture.h):
 *   - a marketing SMS to a blacklisted receiver is refused for that receiver only (no message,
 *     no debit), a transactional one goes, a removed number is sent to again;
 *   - the operations: add (twice), list with filters, get, delete;
 *   - the opt-out of an incoming STOP (sqlite__optout, run on a connection of the backend
 *     opened beside the store, inside a transaction as the incoming hook runs it): one row per
 *     service that sent the mobile a marketing SMS within the window, with that SMS and its
 *     batch, one stopCallBack call for a service that has one; a second STOP writes nothing;
 *     texts that are not opt-outs, a STOP sent elsewhere than to the short number and not as a
 *     reply, transactional SMS, and SMS older than the window are left alone.
 *
 * Run all tests: build/tests/test_blacklist; one test: build/tests/test_blacklist <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/thread.h>

#include "core/optout.h"
#include "store/sqlite_blacklist_int.h"
#include "store_fixture.h"

#define TEST_TIMEOUT_S 120

static const store_options opts = {.stop_clause = "STOP 36184", .optout_window_days = 30};

static int setup(void **state) {
    store_fixture *f = sg_xcalloc(1, sizeof *f);
    store_fixture_open(f, "blacklist", &opts);
    *state = f;
    return 0;
}

/* Sends one SMS of service sid to each of to[0..n) (marketing when stop is 1), priced for
 * France; the messages' ids in ids (0 for a refused receiver); returns the store's rc. */
static int send_sms(store_fixture *f, int64_t sid, const char *const *to, size_t n, int stop,
                int64_t *ids, int *stoplisted, int64_t *credits) {
    store_submit_msg m[8] = {{0}};
    for (size_t i = 0; i < n; i++)
        m[i] = (store_submit_msg){.receiver = to[i], .message = "Promo\nSTOP 36184",
                                  .length = 16, .parts = 1, .region = "fr"};
    store_submit_req r = {.service_id = sid, .sender = "36184", .msgs = m, .count = n,
                          .validity_min = 2880, .stop_clause = stop, .now_ms = sg_now_ms()};
    r.due_ms = r.now_ms;
    int rc = STORE_RUN(f, submit, &r);
    for (size_t i = 0; i < n; i++) {
        ids[i] = m[i].id;
        if (stoplisted) stoplisted[i] = m[i].stoplisted;
    }
    if (credits) *credits = r.total_credits;
    return rc;
}

static int64_t count(store_fixture *f, const char *fmt, ...) {
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return store_fixture_query_int(f, sql);
}

static void test_send_refuses_blacklisted_marketing(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 100000);
    store_blacklist_req add = {.service_name = "sms-acme-1", .number = "+33611111111"};
    assert_int_equal(STORE_RUN(f, blacklist_add, &add), 0);
    assert_int_equal(add.added, 1);
    add.added = -1;
    assert_int_equal(STORE_RUN(f, blacklist_add, &add), 0);
    assert_int_equal(add.added, 0); /* already there: left alone */

    const char *to[] = {"+33611111111", "+33622222222"};
    int64_t ids[2], credits;
    int stopl[2];
    assert_int_equal(send_sms(f, sid, to, 2, 1, ids, stopl, &credits), 0);
    assert_int_equal(ids[0], 0);
    assert_int_equal(stopl[0], 1);
    assert_true(ids[1] > 0);
    assert_int_equal(stopl[1], 0);
    assert_int_equal(credits, 1000); /* one SMS to France */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages WHERE receiver = '+33611111111'"),
                     0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM events"), 1);
    assert_int_equal(count(f, "SELECT count FROM sends ORDER BY id DESC LIMIT 1"), 1);
    assert_int_equal(count(f, "SELECT balance FROM ledger ORDER BY id DESC LIMIT 1"), 99000);

    /* Only the blacklisted receiver: nothing is charged at all. */
    assert_int_equal(send_sms(f, sid, to, 1, 1, ids, stopl, &credits), 0);
    assert_int_equal(ids[0], 0);
    assert_int_equal(credits, 0);
    assert_int_equal(count(f, "SELECT balance FROM ledger ORDER BY id DESC LIMIT 1"), 99000);

    /* A transactional SMS (no STOP clause) goes. */
    assert_int_equal(send_sms(f, sid, to, 1, 0, ids, stopl, &credits), 0);
    assert_true(ids[0] > 0);
    assert_int_equal(stopl[0], 0);

    /* Another service has no blacklist: its marketing SMS goes. */
    int64_t other = store_fixture_account(f, "beta", 10000);
    assert_int_equal(send_sms(f, other, to, 1, 1, ids, stopl, NULL), 0);
    assert_true(ids[0] > 0);

    /* Removed: marketing SMS go again. */
    store_blacklist_req del = {.service_id = sid, .number = "+33611111111"};
    assert_int_equal(STORE_RUN(f, blacklist_delete, &del), 0);
    assert_int_equal(STORE_RUN(f, blacklist_delete, &del), SG_ENOTFOUND);
    assert_int_equal(send_sms(f, sid, to, 1, 1, ids, stopl, NULL), 0);
    assert_true(ids[0] > 0);
}

static void test_operations(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 1000);
    const char *nums[] = {"+33633333333", "+33611111111", "+33622222222"};
    for (int i = 0; i < 3; i++) {
        store_blacklist_req add = {.service_id = sid, .number = nums[i], .now_ms = 1000 + i};
        assert_int_equal(STORE_RUN(f, blacklist_add, &add), 0);
    }
    store_fixture_exec(f, "UPDATE blacklists SET sms_outgoing_id = 42, "
                          "batch_id = 'b0b0b0b0-0000-4000-8000-000000000001' "
                          "WHERE number = '+33622222222'");
    store_blacklist_req l = {.service_id = sid};
    assert_int_equal(STORE_RUN(f, blacklist_list, &l), 0);
    assert_int_equal(l.count, 3);
    assert_string_equal(l.items[0].number, "+33611111111"); /* in order of number */
    assert_string_equal(l.items[2].number, "+33633333333");
    assert_string_equal(l.items[0].source, "operator");
    assert_null(l.items[0].batch_id);
    assert_int_equal(l.items[0].sms_outgoing_id, 0);
    store_blacklist_req_fini(&l);

    store_blacklist_req byout = {.service_id = sid, .sms_outgoing_id = 42};
    assert_int_equal(STORE_RUN(f, blacklist_list, &byout), 0);
    assert_int_equal(byout.count, 1);
    assert_string_equal(byout.items[0].number, "+33622222222");
    store_blacklist_req_fini(&byout);
    store_blacklist_req bybatch = {.service_name = "sms-acme-1",
                                   .batch_id = "b0b0b0b0-0000-4000-8000-000000000001"};
    assert_int_equal(STORE_RUN(f, blacklist_list, &bybatch), 0);
    assert_int_equal(bybatch.count, 1);
    store_blacklist_req_fini(&bybatch);
    store_blacklist_req bynum = {.service_id = sid, .number = "+33633333333"};
    assert_int_equal(STORE_RUN(f, blacklist_list, &bynum), 0);
    assert_int_equal(bynum.count, 1);
    store_blacklist_req_fini(&bynum);

    store_blacklist_req g = {.service_id = sid, .number = "+33622222222"};
    assert_int_equal(STORE_RUN(f, blacklist_get, &g), 0);
    assert_int_equal(g.items[0].sms_outgoing_id, 42);
    assert_string_equal(g.items[0].batch_id, "b0b0b0b0-0000-4000-8000-000000000001");
    assert_int_equal(g.items[0].created_ms, 1002);
    store_blacklist_req_fini(&g);
    store_blacklist_req none = {.service_id = sid, .number = "+33699999999"};
    assert_int_equal(STORE_RUN(f, blacklist_get, &none), SG_ENOTFOUND);
    store_blacklist_req nosvc = {.service_name = "sms-nobody-1", .number = "+33611111111"};
    assert_int_equal(STORE_RUN(f, blacklist_add, &nosvc), SG_ENOTFOUND);
    /* Another service sees none of them. */
    int64_t other = store_fixture_account(f, "beta", 1000);
    store_blacklist_req lo = {.service_id = other};
    assert_int_equal(STORE_RUN(f, blacklist_list, &lo), 0);
    assert_int_equal(lo.count, 0);
    store_blacklist_req_fini(&lo);
}

/* ---- the opt-out, on a connection of the backend opened beside the store ---- */

typedef struct direct {
    store_backend be;
    store_handoff handoff;
    store_conn *c;
    optout_rules *rules;
} direct;

static void direct_open(store_fixture *f, direct *d) {
    memset(d, 0, sizeof *d);
    store__handoff_init(&d->handoff);
    if (f->database) {
        store__postgres_backend(&d->be);
        assert_int_equal(d->be.open(f->database, &d->handoff, &d->c), 0);
    } else {
        d->be = store_sqlite_backend;
        assert_int_equal(d->be.open(f->path, &d->handoff, &d->c), 0);
    }
    d->rules = optout_rules_new(NULL, "STOP 36184");
    sqlite__optout_configure(d->c, d->rules, 30LL * 86400 * 1000);
}

static void direct_close(direct *d) {
    d->be.close(d->c);
    store__handoff_fini(&d->handoff);
    optout_rules_free(d->rules);
}

/* Runs the opt-out of m in a transaction of its own, as the incoming hook does; returns how
 * many services blacklisted the sender. */
static int optout(direct *d, const store_incoming_row *m) {
    int n = -1;
    assert_int_equal(sqldrv_begin(d->c), 0);
    assert_int_equal(sqlite__optout(d->c, m, &n), 0);
    assert_int_equal(sqldrv_commit(d->c), 0);
    return n;
}

static void test_optout(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "acme", 100000);
    int64_t b = store_fixture_account(f, "beta", 100000);
    int64_t t = store_fixture_account(f, "tran", 100000);
    int64_t old = store_fixture_account(f, "olde", 100000);
    store_service_update_req u = {.service_id = a, .set_stop_callback = 1,
                                  .stop_callback = "http://127.0.0.1:9/stop?key=k"};
    assert_int_equal(STORE_RUN(f, service_update, &u), 0);
    const char *mobile[] = {"+33633333333"};
    int64_t id_a1, id_a2, id_b, id_t, id_old;
    assert_int_equal(send_sms(f, a, mobile, 1, 1, &id_a1, NULL, NULL), 0);
    assert_int_equal(send_sms(f, a, mobile, 1, 1, &id_a2, NULL, NULL), 0);
    assert_int_equal(send_sms(f, b, mobile, 1, 1, &id_b, NULL, NULL), 0);
    assert_int_equal(send_sms(f, t, mobile, 1, 0, &id_t, NULL, NULL), 0); /* transactional */
    assert_int_equal(send_sms(f, old, mobile, 1, 1, &id_old, NULL, NULL), 0);
    int64_t id_queued;
    assert_int_equal(send_sms(f, old, mobile, 1, 1, &id_queued, NULL, NULL), 0); /* not sent */
    /* Every one was sent but the last; olde's sent one is older than the window. */
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE messages SET sent_ms = created_ms WHERE id <> %lld",
             (long long)id_queued);
    store_fixture_exec(f, sql);
    snprintf(sql, sizeof sql, "UPDATE messages SET created_ms = created_ms - %lld WHERE id = %lld",
             31LL * 86400 * 1000, (long long)id_old);
    store_fixture_exec(f, sql);
    /* acme's second SMS came from a batch. */
    snprintf(sql, sizeof sql,
             "INSERT INTO campaigns(id, service_id, kind, message, sender, records, count, "
             "invalid, credits, send_id, first_msg, last_msg, due_ms, created_ms, updated_ms) "
             "SELECT 'cafe0000-0000-4000-8000-000000000001', service_id, 'batch', 'x', '36184', "
             "1, 1, 0, 1000, send_id, id, id, 0, 0, 0 FROM messages WHERE id = %lld",
             (long long)id_a2);
    store_fixture_exec(f, sql);

    direct d;
    direct_open(f, &d);
    int64_t now = sg_now_ms();
    /* Not opt-outs, or not addressed to us: nothing. */
    store_incoming_row no1 = {.sender = "+33633333333", .receiver = "36184", .text = "Oui merci",
                             .ts_ms = now};
    assert_int_equal(optout(&d, &no1), 0);
    store_incoming_row no2 = {.sender = "+33633333333", .receiver = "+33755555555",
                             .text = "STOP", .ts_ms = now};
    assert_int_equal(optout(&d, &no2), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM blacklists"), 0);

    /* "Stop" to the short number: acme and beta, not tran (transactional) nor olde (too old,
     * and its recent SMS was never sent). */
    store_incoming_row stop = {.id = 77, .sender = "+33633333333", .receiver = "36184",
                              .text = " Stop ", .ts_ms = now};
    assert_int_equal(optout(&d, &stop), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM blacklists"), 2);
    assert_int_equal(count(f, "SELECT sms_outgoing_id FROM blacklists WHERE service_id = %lld",
                           (long long)a), id_a2);
    assert_int_equal(count(f, "SELECT sms_outgoing_id FROM blacklists WHERE service_id = %lld",
                           (long long)b), id_b);
    assert_int_equal(count(f, "SELECT incoming_id FROM blacklists WHERE service_id = %lld",
                           (long long)a), 77);
    char text[512];
    snprintf(sql, sizeof sql, "SELECT batch_id FROM blacklists WHERE service_id = %lld",
             (long long)a);
    assert_int_equal(store_fixture_query_text(f, sql, text, sizeof text), 0);
    assert_string_equal(text, "cafe0000-0000-4000-8000-000000000001");
    snprintf(sql, sizeof sql, "SELECT COALESCE(batch_id, 'none') FROM blacklists "
                              "WHERE service_id = %lld", (long long)b);
    assert_int_equal(store_fixture_query_text(f, sql, text, sizeof text), 0);
    assert_string_equal(text, "none");
    /* One call, acme's (beta has no stopCallBack), with the documented parameters. */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'stop'"), 1);
    assert_int_equal(count(f, "SELECT service_id FROM notify_calls WHERE kind = 'stop'"), a);
    assert_int_equal(count(f, "SELECT message_id FROM notify_calls WHERE kind = 'stop'"), id_a2);
    assert_int_equal(store_fixture_query_text(f, "SELECT url FROM notify_calls WHERE kind = "
                                                 "'stop'", text, sizeof text), 0);
    char want[512];
    snprintf(want, sizeof want,
             "http://127.0.0.1:9/stop?key=k&id=%lld&sender=%%2B33633333333&receiver=36184&"
             "message=%%20Stop%%20&date=%lld&smsOutgoingID=%lld&"
             "batchID=cafe0000-0000-4000-8000-000000000001&tag=&incomingID=77&"
             "number=%%2B33633333333",
             (long long)id_a2, (long long)(now / 1000), (long long)id_a2);
    assert_string_equal(text, want);

    /* A second STOP (another spelling, as a reply): no new row, no new call. */
    store_incoming_row again = {.id = 78, .sender = "+33633333333",
                               .receiver = "+33700000001", .text = "ARRÊT",
                               .reply_to_id = id_b, .ts_ms = now};
    assert_int_equal(optout(&d, &again), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM blacklists"), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'stop'"), 1);

    /* After a removal, a new STOP blacklists and calls again. */
    store_blacklist_req del = {.service_id = a, .number = "+33633333333"};
    assert_int_equal(STORE_RUN(f, blacklist_delete, &del), 0);
    store_incoming_row third = {.id = 79, .sender = "+33633333333",
                               .receiver = "+36184", .text = "stop 36184", .ts_ms = now};
    assert_int_equal(optout(&d, &third), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'stop'"), 2);
    direct_close(&d);

    /* The next marketing SMS of acme to the mobile is refused; tran's transactional goes. */
    int64_t id;
    int sl;
    assert_int_equal(send_sms(f, a, mobile, 1, 1, &id, &sl, NULL), 0);
    assert_int_equal(sl, 1);
    assert_int_equal(send_sms(f, a, mobile, 1, 0, &id, &sl, NULL), 0);
    assert_true(id > 0);
}

static void test_optout_off(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "acme", 100000);
    const char *mobile[] = {"+33644444444"};
    int64_t id;
    assert_int_equal(send_sms(f, a, mobile, 1, 1, &id, NULL, NULL), 0);
    store_fixture_exec(f, "UPDATE messages SET sent_ms = created_ms");
    direct d;
    direct_open(f, &d);
    optout_rules_free(d.rules);
    d.rules = optout_rules_new("", "STOP 36184"); /* optout-keywords = "" */
    sqlite__optout_configure(d.c, d.rules, 0);
    store_incoming_row stop = {.sender = "+33644444444", .receiver = "36184", .text = "STOP",
                              .ts_ms = sg_now_ms()};
    assert_int_equal(optout(&d, &stop), 0);
    sqlite__optout_configure(d.c, NULL, 0); /* no rules at all */
    assert_int_equal(optout(&d, &stop), 0);
    direct_close(&d);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM blacklists"), 0);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_refuses_blacklisted_marketing, setup,
                                        store_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_operations, setup, store_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_optout, setup, store_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_optout_off, setup, store_fixture_teardown),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads(); /* the store's results reach the loop from its thread */
    return cmocka_run_group_tests_name("blacklist", tests, NULL, NULL);
}
