/*
 * test_numbers.c - the numbers area of the store (store_numbers.h) against a real database
 * (SQLite, or PostgreSQL with SMSGATE_TEST_DATABASE): a number belongs to one service at
 * most, reads restricted to an account or a service see only theirs, removal, smsResponse,
 * and every change raises the configuration epoch (so a node caching them forgets them).
 *
 * Run all tests: build/tests/test_numbers; one test: build/tests/test_numbers <name>.
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

#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 60

static int add(store_fixture *f, const char *service, const char *number, int *created,
               char **owner) {
    store_vnum_req r = {.number = number, .service = service, .now_ms = 1000};
    int rc = STORE_RUN(f, vnum_add, &r);
    if (created) *created = r.created;
    if (owner) *owner = r.vnum.service ? strdup(r.vnum.service) : NULL;
    store_vnum_fini(&r.vnum);
    return rc;
}

static int64_t epoch(store_fixture *f) {
    store_config_epoch_req r = {0};
    assert_int_equal(STORE_RUN(f, config_epoch, &r), 0);
    return r.epoch;
}

static void test_one_service_per_number(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "acme", 0);
    int64_t b = store_fixture_account(f, "bob", 0);
    int created = -1;
    char *owner = NULL;
    assert_int_equal(add(f, "sms-acme-1", "+33700000001", &created, &owner), 0);
    assert_int_equal(created, 1);
    assert_string_equal(owner, "sms-acme-1");
    free(owner);
    /* Again to the same service: nothing changes. */
    assert_int_equal(add(f, "sms-acme-1", "+33700000001", &created, NULL), 0);
    assert_int_equal(created, 0);
    /* To another service: refused, and the owner is named. */
    assert_int_equal(add(f, "sms-bob-1", "+33700000001", &created, &owner), SG_ECONFLICT);
    assert_string_equal(owner, "sms-acme-1");
    free(owner);
    assert_int_equal(add(f, "sms-nobody-1", "+33700000002", NULL, NULL), SG_ENOTFOUND);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM virtual_numbers"), 1);

    store_vnum_req g = {.number = "+33700000001"};
    assert_int_equal(STORE_RUN(f, vnum_get, &g), 0);
    assert_int_equal(g.vnum.service_id, a);
    assert_int_equal(g.vnum.created_ms, 1000);
    assert_null(g.vnum.sms_response);
    store_vnum_fini(&g.vnum);
    /* Restricted to bob's service or account: not found. */
    g = (store_vnum_req){.number = "+33700000001", .service_id = b};
    assert_int_equal(STORE_RUN(f, vnum_get, &g), SG_ENOTFOUND);
    int64_t bob_account = store_fixture_query_int(f, "SELECT id FROM accounts WHERE name = 'bob'");
    g = (store_vnum_req){.number = "+33700000001", .account_id = bob_account};
    assert_int_equal(STORE_RUN(f, vnum_get, &g), SG_ENOTFOUND);
}

static void test_list_and_remove(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 0);
    store_fixture_account(f, "bob", 0);
    int64_t bob_account = store_fixture_query_int(f, "SELECT id FROM accounts WHERE name = 'bob'");
    assert_int_equal(add(f, "sms-acme-1", "+33700000003", NULL, NULL), 0);
    assert_int_equal(add(f, "sms-acme-1", "+33700000001", NULL, NULL), 0);
    assert_int_equal(add(f, "sms-bob-1", "+33700000002", NULL, NULL), 0);

    store_vnum_list_req l = {0};
    assert_int_equal(STORE_RUN(f, vnum_list, &l), 0);
    assert_int_equal(l.count, 3);
    assert_string_equal(l.items[0].number, "+33700000001");
    assert_string_equal(l.items[1].number, "+33700000002");
    assert_string_equal(l.items[1].service, "sms-bob-1");
    store_vnum_list_fini(&l);
    l = (store_vnum_list_req){.service = "sms-acme-1"};
    assert_int_equal(STORE_RUN(f, vnum_list, &l), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[1].number, "+33700000003");
    store_vnum_list_fini(&l);
    l = (store_vnum_list_req){.account_id = bob_account};
    assert_int_equal(STORE_RUN(f, vnum_list, &l), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].number, "+33700000002");
    store_vnum_list_fini(&l);
    /* Another account's service is unknown to bob. */
    l = (store_vnum_list_req){.account_id = bob_account, .service = "sms-acme-1"};
    assert_int_equal(STORE_RUN(f, vnum_list, &l), SG_ENOTFOUND);
    assert_int_equal(l.count, 0);

    store_vnum_req r = {.number = "+33700000001", .account_id = bob_account};
    assert_int_equal(STORE_RUN(f, vnum_remove, &r), SG_ENOTFOUND);
    r = (store_vnum_req){.number = "+33700000001"};
    assert_int_equal(STORE_RUN(f, vnum_remove, &r), 0);
    assert_string_equal(r.vnum.service, "sms-acme-1");
    store_vnum_fini(&r.vnum);
    r = (store_vnum_req){.number = "+33700000001"};
    assert_int_equal(STORE_RUN(f, vnum_remove, &r), SG_ENOTFOUND);
    /* Removed, the number may go to another service. */
    assert_int_equal(add(f, "sms-bob-1", "+33700000001", NULL, NULL), 0);
    assert_int_equal(store_fixture_query_int(
                         f, "SELECT COUNT(*) FROM virtual_numbers v JOIN services s "
                            "ON s.id = v.service_id WHERE s.name = 'sms-bob-1'"),
                     2);
}

static void test_sms_response(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 0);
    assert_int_equal(add(f, "sms-acme-1", "+33700000001", NULL, NULL), 0);
    const char *js = "{\"responseType\":\"text\",\"text\":\"merci\"}";
    store_vnum_req r = {.number = "+33700000001", .sms_response = js};
    assert_int_equal(STORE_RUN(f, vnum_response, &r), 0);
    assert_string_equal(r.vnum.sms_response, js);
    store_vnum_fini(&r.vnum);
    char out[128];
    assert_int_equal(store_fixture_query_text(f, "SELECT sms_response FROM virtual_numbers",
                                              out, sizeof out), 0);
    assert_string_equal(out, js);
    r = (store_vnum_req){.number = "+33700000009", .sms_response = js};
    assert_int_equal(STORE_RUN(f, vnum_response, &r), SG_ENOTFOUND);
    r = (store_vnum_req){.number = "+33700000001", .sms_response = NULL};
    assert_int_equal(STORE_RUN(f, vnum_response, &r), 0);
    assert_null(r.vnum.sms_response);
    store_vnum_fini(&r.vnum);
}

static void test_changes_raise_the_epoch(void **state) {
    store_fixture *f = *state;
    store_fixture_account(f, "acme", 0);
    int64_t e0 = epoch(f);
    assert_int_equal(add(f, "sms-acme-1", "+33700000001", NULL, NULL), 0);
    int64_t e1 = epoch(f);
    assert_true(e1 > e0);
    store_vnum_req r = {.number = "+33700000001", .sms_response = "{}"};
    assert_int_equal(STORE_RUN(f, vnum_response, &r), 0);
    store_vnum_fini(&r.vnum);
    int64_t e2 = epoch(f);
    assert_true(e2 > e1);
    /* Reads do not move it. */
    store_vnum_list_req l = {0};
    assert_int_equal(STORE_RUN(f, vnum_list, &l), 0);
    store_vnum_list_fini(&l);
    assert_int_equal(epoch(f), e2);
    r = (store_vnum_req){.number = "+33700000001"};
    assert_int_equal(STORE_RUN(f, vnum_remove, &r), 0);
    store_vnum_fini(&r.vnum);
    assert_true(epoch(f) > e2);
}

static int setup(void **state) {
    store_fixture *f = calloc(1, sizeof *f);
    store_fixture_open(f, "numbers", NULL);
    *state = f;
    return 0;
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, store_fixture_teardown)

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads();
    sg_log_set_level(SG_LOG_WARN);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_one_service_per_number),
        TEST(test_list_and_remove),
        TEST(test_sms_response),
        TEST(test_changes_raise_the_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
