/*
 * test_hlr.c - unit tests of HLR lookups:
 *   - core/hlr.c: the embedded answer from libphonenumber's data (country, calling code,
 *     region or city, reachable for mobiles, nothing about operators) and from the sim's test
 *     numbers; invalid input refused; the status names;
 *   - hlr/hlr_embedded.c: the provider contract (done runs later on the loop, never inside
 *     lookup, exactly once);
 *   - store/sqlite_hlr.c on a real database (SQLite, or PostgreSQL with SMSGATE_TEST_DATABASE:
 *     store_fixture.h): lookups stored with one ledger row, only answered ones charged, not
 *     enough credits stores nothing, a service reads only its own.
 *
 * Run all tests: build/tests/test_hlr; one test: build/tests/test_hlr <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/thread.h>

#include "core/hlr.h"
#include "hlr/hlr_embedded.h"
#include "store_fixture.h"

#define TEST_TIMEOUT_S 120

/* ---- core/hlr.c ---- */

static void test_embedded_answer(void **state) {
    (void)state;
    hlr_result r;
    assert_int_equal(hlr_embedded_answer("+33612345678", 0, &r), 0);
    assert_string_equal(r.msisdn, "+33612345678");
    assert_true(r.valid && r.reachable && !r.ported && !r.roaming);
    assert_string_equal(r.country, "France");
    assert_string_equal(r.country_code, "33");
    assert_string_equal(r.region, "France"); /* no finer data for a mobile */
    assert_string_equal(r.operator_name, ""); /* no carrier data in Debian 12 */
    assert_string_equal(r.network, "");
    assert_string_equal(r.operator_code, "");

    assert_int_equal(hlr_embedded_answer("+33491123456", 0, &r), 0); /* a fixed line */
    assert_true(r.valid && !r.reachable);
    assert_string_equal(r.region, "Marseille");

    assert_int_equal(hlr_embedded_answer("+4930123456", 0, &r), 0);
    assert_string_equal(r.country, "Germany");
    assert_string_equal(r.country_code, "49");
    assert_string_equal(r.region, "Berlin");

    assert_int_equal(hlr_embedded_answer("+262692123456", 0, &r), 0); /* UTF-8 kept */
    assert_string_equal(r.country, "R\xc3\xa9union");

    /* Numbers ending like the sim's test numbers mean nothing without hlr-sim-numbers. */
    assert_int_equal(hlr_embedded_answer("+33600000902", 0, &r), 0);
    assert_true(r.valid && r.reachable);

    const char *bad[] = {"", "abc", "+33", "+3361234567890123", "0612345678", "+99912345678"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(hlr_embedded_answer(bad[i], 0, &r), SG_EINVAL);
        assert_string_equal(r.msisdn, "");
    }
}

static void test_embedded_sim_numbers(void **state) {
    (void)state;
    struct {
        const char *n;
        int valid, reachable, roaming;
    } cases[] = {
        {"+33600000900", 1, 1, 0}, {"+33600000901", 1, 0, 0}, {"+33600000902", 0, 0, 0},
        {"+33600000903", 1, 0, 0}, {"+33600000904", 1, 1, 1}, {"+33600000905", 1, 1, 0},
        {"+33491123456", 1, 1, 0}, /* the sim delivers to fixed lines too */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hlr_result r;
        assert_int_equal(hlr_embedded_answer(cases[i].n, 1, &r), 0);
        assert_int_equal(r.valid, cases[i].valid);
        assert_int_equal(r.reachable, cases[i].reachable);
        assert_int_equal(r.roaming, cases[i].roaming);
        assert_int_equal(r.ported, 0);
        assert_string_equal(r.operator_name, HLR_SIM_OPERATOR);
        assert_string_equal(r.operator_code, "00101");
    }
}

static void test_status_names(void **state) {
    (void)state;
    assert_string_equal(hlr_status_name(HLR_TODO), "todo");
    assert_string_equal(hlr_status_name(HLR_DOING), "doing");
    assert_string_equal(hlr_status_name(HLR_DONE), "done");
    assert_string_equal(hlr_status_name(HLR_ERROR), "error");
    assert_string_equal(hlr_status_name(42), "error");
}

static void test_describe(void **state) {
    (void)state;
    phone_details d;
    assert_int_equal(phone_describe("+14155552671", &d), 0);
    assert_string_equal(d.country, "United States");
    assert_string_equal(d.area, "San Francisco, CA");
    assert_int_equal(phone_describe("+33 6 12 34 56 78", &d), SG_EINVAL); /* E.164 only */
    assert_int_equal(phone_describe(NULL, &d), SG_EINVAL);
    assert_int_equal(phone_describe("+1234567890123456789012", &d), SG_EINVAL);
}

/* ---- hlr/hlr_embedded.c ---- */

typedef struct answers {
    int calls, rc;
    hlr_result res;
} answers;

static void on_answer(int rc, const hlr_result *res, void *arg) {
    answers *a = arg;
    a->calls++;
    a->rc = rc;
    if (res) a->res = *res;
    else assert_int_not_equal(rc, 0);
}

static void test_provider_contract(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    hlr_provider *p = hlr_embedded_new(base, 0);
    assert_string_equal(p->name, "embedded");
    answers ok = {0}, bad = {0};
    assert_int_equal(p->lookup(p->self, "+33612345678", on_answer, &ok), 0);
    assert_int_equal(p->lookup(p->self, "+999", on_answer, &bad), 0);
    assert_int_equal(ok.calls, 0); /* never from inside lookup() */
    assert_int_equal(bad.calls, 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.rc, 0);
    assert_string_equal(ok.res.country, "France");
    assert_int_equal(bad.calls, 1);
    assert_int_equal(bad.rc, SG_EINVAL);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(ok.calls, 1); /* exactly once */
    hlr_provider_free(p);
    hlr_provider_free(NULL);
    event_base_free(base);
}

/* ---- store/sqlite_hlr.c ---- */

static int setup(void **state) {
    store_fixture *f = sg_xcalloc(1, sizeof *f);
    store_fixture_open(f, "hlr", NULL);
    *state = f;
    return 0;
}

static store_hlr item(const char *number, int status) {
    store_hlr h = {.status = status};
    if (status == HLR_DONE) assert_int_equal(hlr_embedded_answer(number, 0, &h.res), 0);
    else snprintf(h.res.msisdn, sizeof h.res.msisdn, "%s", number);
    return h;
}

static void test_store_create_charge_list_get(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "hlrstore", 1000); /* 1 credit */
    store_hlr items[3] = {item("+33612345678", HLR_DONE), item("+33491123456", HLR_DONE),
                          item("+14155552671", HLR_ERROR)};
    store_hlr_req r = {.service_id = sid, .now_ms = sg_now_ms(), .cost = 100, .items = items,
                       .count = 3};
    assert_int_equal(STORE_RUN(f, hlr_create, &r), 0);
    assert_int_equal(r.total, 200); /* the error is not charged */
    assert_int_equal(r.balance, 800);
    assert_true(items[0].id > 0 && items[1].id > items[0].id && items[2].id > items[1].id);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM ledger WHERE service_id = %lld AND "
                              "kind = 'hlr' AND amount = -200", (long long)sid);
    assert_int_equal(store_fixture_query_int(f, sql), 1);

    store_hlr_req l = {.service_id = sid};
    assert_int_equal(STORE_RUN(f, hlr_list, &l), 0);
    assert_int_equal(l.nids, 3);
    for (size_t i = 0; i < 3; i++) assert_int_equal(l.ids[i], items[i].id);
    store_hlr_req_fini(&l);

    store_hlr_req g = {.service_id = sid, .id = items[1].id};
    assert_int_equal(STORE_RUN(f, hlr_get, &g), 0);
    assert_int_equal(g.count, 1);
    assert_int_equal(g.items[0].status, HLR_DONE);
    assert_string_equal(g.items[0].res.msisdn, "+33491123456");
    assert_string_equal(g.items[0].res.region, "Marseille");
    assert_string_equal(g.items[0].res.country_code, "33");
    assert_true(g.items[0].res.valid && !g.items[0].res.reachable);
    assert_int_equal(g.items[0].created_ms, r.now_ms);
    free(g.items);
    store_hlr_req g2 = {.service_id = sid, .id = items[2].id};
    assert_int_equal(STORE_RUN(f, hlr_get, &g2), 0);
    assert_int_equal(g2.items[0].status, HLR_ERROR);
    free(g2.items);

    /* another service reads none of them */
    int64_t other = store_fixture_account(f, "hlrother", 1000);
    store_hlr_req g3 = {.service_id = other, .id = items[0].id};
    assert_int_equal(STORE_RUN(f, hlr_get, &g3), SG_ENOTFOUND);
    store_hlr_req l2 = {.service_id = other};
    assert_int_equal(STORE_RUN(f, hlr_list, &l2), 0);
    assert_int_equal(l2.nids, 0);
    store_hlr_req_fini(&l2);
}

static void test_store_no_credit(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "hlrpoor", 150);
    store_hlr items[2] = {item("+33612345678", HLR_DONE), item("+33612345679", HLR_DONE)};
    store_hlr_req r = {.service_id = sid, .now_ms = sg_now_ms(), .cost = 100, .items = items,
                       .count = 2};
    assert_int_equal(STORE_RUN(f, hlr_create, &r), SG_ENOCREDIT);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM hlr_lookups"), 0);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM ledger WHERE service_id = %lld AND "
                              "kind = 'hlr'", (long long)sid);
    assert_int_equal(store_fixture_query_int(f, sql), 0);
    /* one fits exactly */
    r.count = 1;
    assert_int_equal(STORE_RUN(f, hlr_create, &r), 0);
    assert_int_equal(r.balance, 50);
    /* free lookups (hlr-cost-millicredits 0) need no credit and write no ledger row */
    int64_t zero = store_fixture_account(f, "hlrfree", 0);
    store_hlr_req z = {.service_id = zero, .now_ms = sg_now_ms(), .cost = 0, .items = items,
                       .count = 2};
    assert_int_equal(STORE_RUN(f, hlr_create, &z), 0);
    assert_int_equal(z.total, 0);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM ledger WHERE service_id = %lld AND "
                              "kind = 'hlr'", (long long)zero);
    assert_int_equal(store_fixture_query_int(f, sql), 0);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_answer),
        cmocka_unit_test(test_embedded_sim_numbers),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_provider_contract),
        cmocka_unit_test_setup_teardown(test_store_create_charge_list_get, setup,
                                        store_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_no_credit, setup, store_fixture_teardown),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads(); /* the store's results reach the loop from its thread */
    return cmocka_run_group_tests_name("hlr", tests, NULL, NULL);
}
