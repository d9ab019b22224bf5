/*
 * test_vnum.c - unit tests of core/vnum: the forms of a virtual number that are accepted and
 * the one each becomes, the API's country codes (uk for gb), and the refusals (not a number,
 * a country without virtual numbers).
 *
 * Run all tests: build/tests/test_vnum; one test: build/tests/test_vnum <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "core/vnum.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static void test_forms(void **state) {
    (void)state;
    static const char *const forms[] = {"+33700000001", "0033700000001", "33700000001",
                                        "0700000001", "+33 7 00 00 00 01"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        vnum_info v;
        assert_int_equal(vnum_parse(forms[i], "FR", &v), 0);
        assert_string_equal(v.e164, "+33700000001");
        assert_string_equal(v.digits, "33700000001");
        assert_string_equal(v.country, "fr");
    }
    /* Digits read as an international number first, whatever the default region. */
    vnum_info v;
    assert_int_equal(vnum_parse("41791234567", "FR", &v), 0);
    assert_string_equal(v.e164, "+41791234567");
    assert_string_equal(v.country, "ch");
    assert_int_equal(vnum_parse("33612345678", NULL, &v), 0);
    assert_string_equal(v.e164, "+33612345678");
}

static void test_countries(void **state) {
    (void)state;
    vnum_info v;
    assert_int_equal(vnum_parse("+447400123456", NULL, &v), 0);
    assert_string_equal(v.country, "uk");
    assert_int_equal(vnum_parse("+4915112345678", NULL, &v), 0);
    assert_string_equal(v.country, "de");
    assert_int_equal(vnum_parse("+34612345678", NULL, &v), 0);
    assert_string_equal(v.country, "es");
    assert_int_equal(vnum_parse("+32470123456", NULL, &v), 0);
    assert_string_equal(v.country, "be");
    /* A valid number of a country without virtual numbers. */
    assert_int_equal(vnum_parse("+12025550123", NULL, &v), SG_EPERM);
    assert_string_equal(v.e164, "+12025550123");
    assert_string_equal(v.country, "");
}

static void test_refused(void **state) {
    (void)state;
    static const char *const bad[] = {"", "abc", "+33", "+3370000000199999", "36184",
                                      "+33 7 00 00 00 0x", "0700000001", "123456789012345678901234567890123"};
    vnum_info v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* A national number needs a default region. */
        assert_int_equal(vnum_parse(bad[i], NULL, &v), SG_EINVAL);
        assert_string_equal(v.e164, "");
    }
    assert_int_equal(vnum_parse(NULL, "FR", &v), SG_EINVAL);
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_countries),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
