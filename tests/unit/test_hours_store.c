/*
 * test_hours_store.c - unit tests of the store's marketing hours area (store_hours.h,
 * store/sqlite_hours.c) on a real database (SQLite, or PostgreSQL with SMSGATE_TEST_DATABASE):
 * France's seeded row, hours_set (a new country needs a time zone, fields given are the only
 * ones changed, "off" for a country without hours stores nothing), the configuration epoch
 * raised by every change, and the hold of a claimed message (scheduled, due then, its lease
 * gone, the claim skipping it until then, a retry's validity end moved by as much, a message
 * no longer claimed left alone), and the release of what was held when the hours change
 * (never before the time an SMS was asked for; differed jobs left alone).
 *
 * Run all tests: build/tests/test_hours_store; one test: build/tests/test_hours_store <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hours.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 120

static int64_t epoch(store_fixture *f) {
    store_config_epoch_req r = {0};
    assert_int_equal(STORE_RUN(f, config_epoch, &r), 0);
    return r.epoch;
}

static void test_france_seeded(void **state) {
    store_fixture *f = *state;
    store_hours_list_req l = {0};
    assert_int_equal(STORE_RUN(f, hours_list, &l), 0);
    assert_int_equal(l.count, 1);
    const store_hours_row *r = &l.rows[0];
    assert_string_equal(r->country, "fr");
    assert_int_equal(r->enabled, 1);
    assert_int_equal(r->days, 0x3f);
    assert_int_equal(r->from_min, 480);
    assert_int_equal(r->to_min, 1200);
    assert_string_equal(r->tz, "Europe/Paris");
    assert_int_equal(r->holidays, HOURS_HOLIDAYS_FR);
    store_hours_list_fini(&l);
}

static void test_set(void **state) {
    store_fixture *f = *state;
    int64_t e0 = epoch(f);
    /* A new country without a time zone: refused, nothing stored. */
    store_hours_set_req s = {.country = "de", .set_days = 1, .days = 0x1f, .now_ms = 5};
    assert_int_equal(STORE_RUN(f, hours_set, &s), SG_EINVAL);
    store_hours_set_fini(&s);
    assert_int_equal(epoch(f), e0);
    /* With one: created with the defaults for what was not given. */
    s = (store_hours_set_req){.country = "de", .set_days = 1, .days = 0x1f,
                              .tz = "Europe/Berlin", .now_ms = 7};
    assert_int_equal(STORE_RUN(f, hours_set, &s), 0);
    assert_int_equal(s.created, 1);
    assert_int_equal(s.row.days, 0x1f);
    assert_int_equal(s.row.from_min, 480);
    assert_int_equal(s.row.to_min, 1200);
    assert_int_equal(s.row.holidays, HOURS_HOLIDAYS_NONE);
    assert_int_equal(s.row.enabled, 1);
    assert_string_equal(s.row.tz, "Europe/Berlin");
    store_hours_set_fini(&s);
    int64_t e1 = epoch(f);
    assert_true(e1 > e0);
    /* France off: the rest stays. */
    s = (store_hours_set_req){.country = "fr", .set_enabled = 1, .enabled = 0, .now_ms = 9};
    assert_int_equal(STORE_RUN(f, hours_set, &s), 0);
    assert_int_equal(s.created, 0);
    assert_int_equal(s.row.enabled, 0);
    assert_int_equal(s.row.days, 0x3f);
    assert_string_equal(s.row.tz, "Europe/Paris");
    assert_int_equal(s.row.holidays, HOURS_HOLIDAYS_FR);
    store_hours_set_fini(&s);
    assert_true(epoch(f) > e1);
    /* A window alone. */
    s = (store_hours_set_req){.country = "fr", .set_window = 1, .from_min = 540, .to_min = 1140};
    assert_int_equal(STORE_RUN(f, hours_set, &s), 0);
    assert_int_equal(s.row.enabled, 0);
    assert_int_equal(s.row.from_min, 540);
    store_hours_set_fini(&s);
    /* Off for a country without hours: nothing stored. */
    int64_t e2 = epoch(f);
    s = (store_hours_set_req){.country = "it", .set_enabled = 1, .enabled = 0};
    assert_int_equal(STORE_RUN(f, hours_set, &s), 0);
    assert_int_equal(s.absent, 1);
    store_hours_set_fini(&s);
    assert_int_equal(epoch(f), e2);
    store_hours_list_req l = {0};
    assert_int_equal(STORE_RUN(f, hours_list, &l), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.rows[0].country, "de");
    assert_string_equal(l.rows[1].country, "fr");
    store_hours_list_fini(&l);
}

static int64_t submit(store_fixture *f, int64_t now) {
    store_submit_msg m = {.receiver = "+33612345678", .message = "Soldes\nSTOP 36184",
                          .length = 17, .parts = 1, .credits = 1000};
    store_submit_req r = {.service_id = f->sid, .sender = "36184", .msgs = &m, .count = 1,
                          .total_credits = 1000, .validity_min = 60, .stop_clause = 1};
    r.now_ms = r.due_ms = now;
    assert_int_equal(STORE_RUN(f, submit, &r), 0);
    return m.id;
}

static size_t claim(store_fixture *f, int64_t now) {
    store_claim_req c = {.node = "n", .now_ms = now, .lease_ms = 600000, .limit = 10};
    assert_int_equal(STORE_RUN(f, claim, &c), 0);
    size_t n = c.count;
    store_claim_fini(&c);
    return n;
}

static size_t hold(store_fixture *f, int64_t id, int64_t until) {
    store_status_update u = {.msg_id = id, .state = MSG_SCHEDULED, .hold_until_ms = until,
                             .ts_ms = sg_now_ms()};
    store_status_req r = {.ups = &u, .count = 1};
    assert_int_equal(STORE_RUN(f, status, &r), 0);
    return r.applied;
}

static int64_t q(store_fixture *f, const char *col, int64_t id) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT %s FROM messages WHERE id = %lld", col, (long long)id);
    return store_fixture_query_int(f, sql);
}

static void test_hold(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 100000);
    int64_t now = sg_now_ms(), until = now + 3600000;
    int64_t id = submit(f, now);
    assert_int_equal(claim(f, now), 1);
    assert_int_equal(hold(f, id, until), 1);
    assert_int_equal(q(f, "state", id), MSG_SCHEDULED);
    assert_int_equal(q(f, "due_ms", id), until);
    assert_int_equal(q(f, "COUNT(*) AS n", id) , 1);
    assert_int_equal(q(f, "CASE WHEN lease_owner IS NULL AND lease_ms IS NULL AND "
                          "expires_ms IS NULL THEN 1 ELSE 0 END", id), 1);
    assert_int_equal(q(f, "retries", id), 0);
    /* Not claimed again before its time; claimed then. */
    assert_int_equal(claim(f, now + 1000), 0);
    assert_int_equal(claim(f, until - 1), 0);
    /* Its validity (60 minutes) counts from the hold's end: not expired at until. */
    assert_int_equal(claim(f, until), 1);
    assert_int_equal(q(f, "state", id), MSG_SUBMITTING);
    /* A message no longer claimed (say, cancelled meanwhile) is not touched. */
    store_fixture_exec(f, "UPDATE messages SET state = 1, lease_owner = NULL");
    assert_int_equal(hold(f, id, until + 5), 0);
    assert_int_equal(q(f, "due_ms", id), until);
    /* A retry fixed its validity end: it moves by as much as the hold. */
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE messages SET state = 2, expires_ms = %lld WHERE id = %lld",
             (long long)(until + 600000), (long long)id);
    store_fixture_exec(f, sql);
    assert_int_equal(hold(f, id, until + 7200000), 1);
    assert_int_equal(q(f, "expires_ms", id), until + 600000 + 7200000);
    assert_int_equal(q(f, "due_ms", id), until + 7200000);
}

/* A change of hours releases what was held (due again 2 s after it), never before the time the
 * SMS was asked for, and leaves other scheduled SMS (differed jobs) alone. */
static void test_release(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 100000);
    int64_t now = sg_now_ms();
    int64_t held = submit(f, now);
    assert_int_equal(claim(f, now), 1);
    assert_int_equal(hold(f, held, now + 86400000), 1);
    /* A differed job (due in an hour, as asked): not held, not released. */
    store_submit_msg m = {.receiver = "+33612345679", .message = "Soldes\nSTOP 36184",
                          .length = 17, .parts = 1, .credits = 1000};
    store_submit_req r = {.service_id = f->sid, .sender = "36184", .msgs = &m, .count = 1,
                          .total_credits = 1000, .validity_min = 60, .stop_clause = 1,
                          .differed_min = 60};
    r.now_ms = now;
    r.due_ms = now + 3600000;
    assert_int_equal(STORE_RUN(f, submit, &r), 0);
    store_hours_set_req s = {.country = "fr", .set_holidays = 1, .holidays = 0, .now_ms = now};
    assert_int_equal(STORE_RUN(f, hours_set, &s), 0);
    assert_int_equal(s.released, 1);
    store_hours_set_fini(&s);
    assert_int_equal(q(f, "due_ms", held), now + 2000);
    assert_int_equal(q(f, "state", held), MSG_SCHEDULED);
    assert_int_equal(q(f, "due_ms", m.id), now + 3600000);
    /* Held again past the differed one's time: released to the time it was asked for. */
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE messages SET state = 2 WHERE id = %lld", (long long)m.id);
    store_fixture_exec(f, sql);
    assert_int_equal(hold(f, m.id, now + 86400000), 1);
    s = (store_hours_set_req){.country = "fr", .set_holidays = 1, .holidays = 1, .now_ms = now};
    assert_int_equal(STORE_RUN(f, hours_set, &s), 0);
    assert_int_equal(s.released, 1); /* the first one is due in 2 s already */
    store_hours_set_fini(&s);
    assert_int_equal(q(f, "due_ms", m.id), now + 3600000);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, store_fixture_setup, store_fixture_teardown)

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads();
    sg_log_set_level(SG_LOG_WARN);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_france_seeded),
        TEST(test_set),
        TEST(test_hold),
        TEST(test_release),
    };
    return cmocka_run_group_tests_name("hours_store", tests, NULL, NULL);
}
