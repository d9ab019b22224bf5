/*
 * test_ops_store.c - unit tests of the store's "ops" area (store_ops.h, sqlite_ops.c) against a
 * real database, SQLite or PostgreSQL (SMSGATE_TEST_DATABASE, tests/unit/store_fixture.h):
 * transfers of credits (both ledgers or neither, refusals that write nothing, several in one
 * batch), a service added to an account, the renewal settings merged field by field, the
 * template lifecycle and sender validation codes.
 *
 * Run all tests: build/tests/test_ops_store; one test: build/tests/test_ops_store <name>.
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
#include "store_fixture.h"

static int64_t q1(store_fixture *f, const char *fmt, long long a) {
    char sql[512];
    snprintf(sql, sizeof sql, fmt, a);
    return store_fixture_query_int(f, sql);
}

/* The balance of sid: its last ledger row's, checked against the sum of its amounts and the
 * chain of rows (each the previous balance plus its amount). */
static int64_t ledger_balance(store_fixture *f, int64_t sid) {
    int64_t b = q1(f, "SELECT COALESCE((SELECT balance FROM ledger WHERE service_id = %lld "
                      "ORDER BY id DESC LIMIT 1), 0)", (long long)sid);
    assert_int_equal(q1(f, "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE service_id = %lld",
                        (long long)sid), b);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM (SELECT balance, amount, LAG(balance, 1, 0) "
                           "OVER (ORDER BY id) AS prev FROM ledger WHERE service_id = %lld) AS l "
                           "WHERE balance != prev + amount", (long long)sid), 0);
    return b;
}

static int64_t rows_of(store_fixture *f, int64_t sid) {
    return q1(f, "SELECT COUNT(*) FROM ledger WHERE service_id = %lld", (long long)sid);
}

static int64_t add_service(store_fixture *f, const char *account, int64_t credits, char *name) {
    store_service_add_req a = {.account = account, .credits = credits};
    assert_int_equal(STORE_RUN(f, service_add, &a), 0);
    strcpy(name, a.service_name);
    store_service_get_req g = {.name = a.service_name};
    assert_int_equal(STORE_RUN(f, service_get, &g), 0);
    assert_int_equal(g.svc.balance, credits);
    int64_t id = g.svc.id;
    store_service_fini(&g.svc);
    return id;
}

static void test_transfer_both_ledgers_or_neither(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "acme", 10000);
    char sn2[96], sn3[96];
    int64_t b = add_service(f, "acme", 0, sn2);
    assert_string_equal(sn2, "sms-acme-2");
    add_service(f, "acme", 0, sn3);
    assert_string_equal(sn3, "sms-acme-3");
    int64_t other = store_fixture_account(f, "other", 3000);
    int64_t account = q1(f, "SELECT account_id FROM services WHERE id = %lld", (long long)a);

    store_credits_transfer_req t = {.account_id = account, .service_id = a,
                                    .from_name = "sms-acme-1", .to = sn2, .amount = 2500};
    assert_int_equal(STORE_RUN(f, credits_transfer, &t), 0);
    assert_int_equal(t.from_balance, 7500);
    assert_int_equal(t.to_balance, 2500);
    assert_int_equal(ledger_balance(f, a), 7500);
    assert_int_equal(ledger_balance(f, b), 2500);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM ledger WHERE service_id = %lld AND kind = "
                           "'transfer' AND amount = 2500 AND ref = 'transfer:sms-acme-1'",
                        (long long)b), 1);

    /* Refusals: nothing written anywhere. */
    int64_t na = rows_of(f, a), nb = rows_of(f, b), no = rows_of(f, other);
    struct {
        const char *to;
        int64_t amount, account;
        int rc;
    } bad[] = {
        {"sms-other-1", 100, account, SG_ENOTFOUND},   /* another account's service */
        {"sms-nobody-1", 100, account, SG_ENOTFOUND},
        {"sms-acme-1", 100, account, SG_EINVAL},       /* itself */
        {sn2, 7501, account, SG_ENOCREDIT},            /* one millicredit too many */
        {sn2, 0, account, SG_EINVAL},
        {sn2, 100, q1(f, "SELECT account_id FROM services WHERE id = %lld", (long long)other),
         SG_ENOTFOUND},                                /* the caller is not the owner */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_credits_transfer_req r = {.account_id = bad[i].account, .service_id = a,
                                        .from_name = "sms-acme-1", .to = bad[i].to,
                                        .amount = bad[i].amount};
        assert_int_equal(STORE_RUN(f, credits_transfer, &r), bad[i].rc);
    }
    assert_int_equal(rows_of(f, a), na);
    assert_int_equal(rows_of(f, b), nb);
    assert_int_equal(rows_of(f, other), no);

    /* Several in one batch (one transaction, a savepoint each): the one that no longer has
     * the credits is refused alone, the others stay. */
    store_credits_transfer_req q[4] = {
        {.account_id = account, .service_id = a, .from_name = "sms-acme-1", .to = sn2, .amount = 5000},
        {.account_id = account, .service_id = a, .from_name = "sms-acme-1", .to = sn3, .amount = 2000},
        {.account_id = account, .service_id = a, .from_name = "sms-acme-1", .to = sn3, .amount = 1000},
        {.account_id = account, .service_id = b, .from_name = sn2, .to = "sms-acme-1", .amount = 7500},
    };
    store_done d[4] = {{0}};
    for (int i = 0; i < 4; i++) STORE_QUEUE(f, credits_transfer, &q[i], &d[i]);
    store_fixture_wait(f);
    assert_int_equal(d[0].rc, 0);
    assert_int_equal(d[1].rc, 0);
    assert_int_equal(d[2].rc, SG_ENOCREDIT); /* 500 left */
    assert_int_equal(d[3].rc, 0);
    assert_int_equal(ledger_balance(f, a), 500 + 7500);
    assert_int_equal(ledger_balance(f, b), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COALESCE(SUM(amount), 0) FROM ledger l "
                                                "JOIN services s ON s.id = l.service_id "
                                                "WHERE s.name = 'sms-acme-3'"), 2000);
    /* The account's total never moved. */
    assert_int_equal(store_fixture_query_int(f, "SELECT SUM(amount) FROM ledger l JOIN services s "
                                                "ON s.id = l.service_id JOIN accounts t ON "
                                                "t.id = s.account_id WHERE t.name = 'acme'"),
                     10000);
    store_service_add_req none = {.account = "nobody"};
    assert_int_equal(STORE_RUN(f, service_add, &none), SG_ENOTFOUND);
}

/* The target's ledger row fails to be written (a trigger refuses it, as a full disk or a lost
 * connection would): the source's row, written first, goes with it. */
static void test_transfer_nothing_half_done(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "half", 10000);
    char sn2[96];
    int64_t b = add_service(f, "half", 1000, sn2);
    int64_t account = q1(f, "SELECT account_id FROM services WHERE id = %lld", (long long)a);
    char sql[512];
    if (store_fixture_pg()) {
        snprintf(sql, sizeof sql,
                 "CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;"
                 "CREATE TRIGGER refuse_target BEFORE INSERT ON ledger FOR EACH ROW "
                 "WHEN (NEW.service_id = %lld) EXECUTE FUNCTION refuse_row();", (long long)b);
    } else {
        snprintf(sql, sizeof sql,
                 "CREATE TRIGGER refuse_target BEFORE INSERT ON ledger WHEN NEW.service_id = %lld "
                 "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;", (long long)b);
    }
    store_fixture_exec(f, sql);
    int64_t na = rows_of(f, a), nb = rows_of(f, b);
    store_credits_transfer_req t = {.account_id = account, .service_id = a,
                                    .from_name = "sms-half-1", .to = sn2, .amount = 4000};
    assert_true(STORE_RUN(f, credits_transfer, &t) < 0);
    assert_int_equal(rows_of(f, a), na);
    assert_int_equal(rows_of(f, b), nb);
    assert_int_equal(ledger_balance(f, a), 10000);
    assert_int_equal(ledger_balance(f, b), 1000);
    /* The other way round the source's row is the one refused: nothing either. */
    store_credits_transfer_req back = {.account_id = account, .service_id = b,
                                       .from_name = sn2, .to = "sms-half-1", .amount = 500};
    assert_true(STORE_RUN(f, credits_transfer, &back) < 0);
    assert_int_equal(rows_of(f, a), na);
    assert_int_equal(rows_of(f, b), nb);
    /* The store goes on: once the fault is gone the same transfer is written whole. */
    store_fixture_exec(f, store_fixture_pg() ? "DROP TRIGGER refuse_target ON ledger;"
                                               "DROP FUNCTION refuse_row();"
                                             : "DROP TRIGGER refuse_target");
    assert_int_equal(STORE_RUN(f, credits_transfer, &t), 0);
    assert_int_equal(ledger_balance(f, a), 6000);
    assert_int_equal(ledger_balance(f, b), 5000);
}

static void test_renew_merged(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "renew", 0);
    store_service_info_req g = {.service_id = a};
    assert_int_equal(STORE_RUN(f, service_info, &g), 0);
    assert_string_equal(g.account_name, "renew");
    assert_true(g.created_ms > 0);
    assert_int_equal(g.r_automatic, 1);
    assert_int_equal(g.r_manual, 0);
    assert_int_equal(g.r_period, 0);
    store_service_info_fini(&g);
    store_service_info_req s = {.service_id = a, .set = 1, .automatic = 0,
                                .delete_at_expiration = -1, .forced = -1, .manual_payment = -2,
                                .period = 6};
    assert_int_equal(STORE_RUN(f, service_info, &s), 0);
    store_service_info_fini(&s);
    store_service_info_req s2 = {.service_id = a, .set = 1, .automatic = -1,
                                 .delete_at_expiration = -1, .forced = 1, .manual_payment = -1,
                                 .period = -1};
    assert_int_equal(STORE_RUN(f, service_info, &s2), 0);
    store_service_info_fini(&s2);
    store_service_info_req g2 = {.service_id = a};
    assert_int_equal(STORE_RUN(f, service_info, &g2), 0);
    assert_int_equal(g2.r_automatic, 0); /* kept from the first change */
    assert_int_equal(g2.r_forced, 1);
    assert_int_equal(g2.r_manual, -1);   /* null */
    assert_int_equal(g2.r_period, 6);
    store_service_info_fini(&g2);
}

static void test_templates_lifecycle(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "tmpl", 0);
    store_template_req c = {.service_id = a, .name = "otp", .activity = "alerting",
                            .message = "Code #VALUE#", .now_ms = 1000};
    assert_int_equal(STORE_RUN(f, template_create, &c), 0);
    assert_int_equal(STORE_RUN(f, template_create, &c), SG_ECONFLICT);
    /* The customer cannot approve it; the operator can (by service name). */
    store_template_req u = {.service_id = a, .name = "otp", .status = "enable"};
    assert_int_equal(STORE_RUN(f, template_update, &u), SG_EPERM);
    store_template_fini(&u);
    store_template_req m = {.service_name = "sms-tmpl-1", .name = "otp", .status = "enable",
                            .comment = "ok", .admin = 1};
    assert_int_equal(STORE_RUN(f, template_update, &m), 0);
    store_template_fini(&m);
    store_template_req d = {.service_id = a, .name = "otp", .status = "disable"};
    assert_int_equal(STORE_RUN(f, template_update, &d), 0);
    store_template_fini(&d);
    store_template_req g = {.service_id = a, .name = "otp"};
    assert_int_equal(STORE_RUN(f, template_get, &g), 0);
    assert_string_equal(g.out.status, "disable");
    assert_string_equal(g.out.comment, "ok");
    assert_int_equal(g.out.created_ms, 1000);
    store_template_fini(&g);
    /* A new message: back to moderation, comment cleared. */
    store_template_req n = {.service_id = a, .name = "otp", .message = "Your code #VALUE#"};
    assert_int_equal(STORE_RUN(f, template_update, &n), 0);
    store_template_fini(&n);
    store_template_req g2 = {.service_id = a, .name = "otp"};
    assert_int_equal(STORE_RUN(f, template_get, &g2), 0);
    assert_string_equal(g2.out.status, "waitingValidation");
    assert_string_equal(g2.out.comment, "");
    store_template_fini(&g2);
    store_template_req l = {.service_id = a};
    assert_int_equal(STORE_RUN(f, template_list, &l), 0);
    assert_int_equal(l.count, 1);
    store_template_fini(&l);
    store_template_req del = {.service_id = a, .name = "otp"};
    assert_int_equal(STORE_RUN(f, template_delete, &del), 0);
    assert_int_equal(STORE_RUN(f, template_delete, &del), SG_ENOTFOUND);
    store_template_req miss = {.service_name = "sms-tmpl-1", .name = "otp", .status = "enable",
                               .admin = 1};
    assert_int_equal(STORE_RUN(f, template_update, &miss), SG_ENOTFOUND);
}

static void test_sender_codes(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "codes", 0);
    store_sender_req s = {.service_id = a, .sender = "+33612345678", .reason = "r",
                          .type = "numeric"};
    assert_int_equal(STORE_RUN(f, sender_create, &s), 0);
    store_sender_code_req v = {.service_id = a, .sender = "+33612345678", .code = "1"};
    assert_int_equal(STORE_RUN(f, sender_validate, &v), SG_EPERM); /* no code yet */
    store_sender_code_req k = {.service_name = "sms-codes-1", .sender = "+33612345678"};
    assert_int_equal(STORE_RUN(f, sender_code, &k), 0);
    assert_int_equal(strlen(k.code_out), 6);
    char wrong[8];
    snprintf(wrong, sizeof wrong, "%06d", (atoi(k.code_out) + 1) % 1000000);
    v.code = wrong;
    assert_int_equal(STORE_RUN(f, sender_validate, &v), 0);
    assert_int_equal(v.tries_left, STORE_SENDER_CODE_TRIES - 1);
    v.code = k.code_out;
    assert_int_equal(STORE_RUN(f, sender_validate, &v), 0);
    assert_int_equal(v.tries_left, -1);
    store_sender_req g = {.service_id = a, .sender = "+33612345678"};
    assert_int_equal(STORE_RUN(f, sender_get, &g), 0);
    assert_string_equal(g.out.status, "enable");
    store_sender_fini(&g.out);
    assert_int_equal(STORE_RUN(f, sender_validate, &v), SG_EPERM); /* used up */
    store_sender_code_req none = {.service_name = "sms-codes-1", .sender = "Nobody"};
    assert_int_equal(STORE_RUN(f, sender_code, &none), SG_ENOTFOUND);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, store_fixture_setup, store_fixture_teardown)

int main(int argc, char **argv) {
    evthread_use_pthreads();
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_transfer_both_ledgers_or_neither),
        TEST(test_transfer_nothing_half_done),
        TEST(test_renew_merged),
        TEST(test_templates_lifecycle),
        TEST(test_sender_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
