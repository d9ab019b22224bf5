/*
 * test_msgid.c - unit tests of core/msgid: the messageID of an outgoing SMS, its form, its
 * round trip, and the uuids that must not name an SMS.
 *
 * Run all tests: build/tests/test_msgid; one test: build/tests/test_msgid <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <string.h>
#include <unistd.h>

#include "core/msgid.h"

#define TEST_TIMEOUT_S 60

static void test_form(void **state) {
    (void)state;
    char out[MSGID_LEN];
    assert_int_equal(msgid_format(7, 4242, out), 0);
    assert_string_equal(out, "00000007-0000-4000-8000-000000001092");
    /* A uuid as OVH's clients check it (the schema's uuid type: 8-4-4-4-12 hex digits). */
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                             REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
    assert_int_equal(msgid_format(0xffffffffLL, 0xffffffffffffLL, out), 0);
    assert_string_equal(out, "ffffffff-0000-4000-8000-ffffffffffff");
    assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
    regfree(&re);
    /* Ids that do not fit are refused, never truncated into another SMS's id. */
    assert_int_equal(msgid_format(0x100000000LL, 1, out), -1);
    assert_string_equal(out, "");
    assert_int_equal(msgid_format(1, 0x1000000000000LL, out), -1);
    assert_int_equal(msgid_format(-1, 1, out), -1);
}

static void test_round_trip(void **state) {
    (void)state;
    const int64_t svcs[] = {0, 1, 9, 255, 65536, 0x7fffffffLL, 0xffffffffLL};
    const int64_t ids[] = {1, 2, 15, 16, 999999, 0x123456789aLL, 0xffffffffffffLL};
    for (size_t i = 0; i < sizeof svcs / sizeof svcs[0]; i++)
        for (size_t j = 0; j < sizeof ids / sizeof ids[0]; j++) {
            char out[MSGID_LEN];
            int64_t s, m;
            assert_int_equal(msgid_format(svcs[i], ids[j], out), 0);
            assert_int_equal(msgid_parse(out, &s, &m), 0);
            assert_int_equal(s, svcs[i]);
            assert_int_equal(m, ids[j]);
        }
    /* Upper case is the same uuid. */
    int64_t s, m;
    assert_int_equal(msgid_parse("0000000A-0000-4000-8000-00000000001F", &s, &m), 0);
    assert_int_equal(s, 10);
    assert_int_equal(m, 31);
}

static void test_not_ours(void **state) {
    (void)state;
    int64_t s = 5, m = 5;
    /* Not uuids: -1 (the API answers 400). */
    const char *bad[] = {"", "1234", "00000007-0000-4000-8000-00000000109",
                         "00000007-0000-4000-8000-0000000010922", "00000007_0000-4000-8000-000000001092",
                         "0000000g-0000-4000-8000-000000001092", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(msgid_parse(bad[i], &s, &m), -1);
        assert_int_equal(s, 0);
        assert_int_equal(m, 0);
    }
    assert_int_equal(msgid_parse(NULL, &s, &m), -1);
    /* uuids of another form (a random v4, a batch id) or of message 0: 1, naming no SMS. */
    assert_int_equal(msgid_parse("3f1c9a2e-8b7d-4e21-9c3a-5d6e7f809a1b", &s, &m), 1);
    assert_int_equal(m, 0);
    assert_int_equal(msgid_parse("00000007-0000-4000-8000-000000000000", &s, &m), 1);
    assert_int_equal(msgid_parse("00000007-0001-4000-8000-000000001092", &s, &m), 1);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_not_ours),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("msgid", tests, NULL, NULL);
}
