/*
 * test_opid.c - unit tests of core/opid: the keys operator message ids are stored and found
 * under (hexadecimal and decimal spellings, case, leading zeros, blanks), checked against the
 * rule written by value over every short id of a small alphabet.
 *
 * Run all tests: build/tests/test_opid; one test: build/tests/test_opid <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/opid.h"

#define TEST_TIMEOUT_S 60

/* 1 when a lookup of id a finds id b stored under its key (opid_keys); checks that the
 * relation is symmetric. */
static int same_id(const char *a, const char *b) {
    char ka[OPID_KEYS][OPID_KEY_LEN], kb[OPID_KEYS][OPID_KEY_LEN];
    int na = opid_keys(a, ka), nb = opid_keys(b, kb);
    int ab = 0, ba = 0;
    for (int i = 0; i < na; i++) ab |= nb > 0 && !strcmp(ka[i], kb[0]);
    for (int j = 0; j < nb; j++) ba |= na > 0 && !strcmp(kb[j], ka[0]);
    assert_int_equal(ab, ba);
    return ab;
}

/* The matching rule spelled out by value: equal exact forms, or the same number with one id
 * read as decimal (at most 19 digits) and the other as hexadecimal (at most 16 digits). */
static int same_id_by_value(const char *a, const char *b) {
    char na[80], nb[80];
    const char *ids[2] = {a, b};
    char *outs[2] = {na, nb};
    for (int t = 0; t < 2; t++) {
        const char *s = ids[t];
        while (*s == '0' && s[1]) s++;
        size_t k = 0;
        for (; s[k]; k++) outs[t][k] = (char)tolower((unsigned char)s[k]);
        outs[t][k] = 0;
    }
    if (!strcmp(na, nb)) return 1;
    int dec_a = strspn(na, "0123456789") == strlen(na) && strlen(na) <= 19;
    int dec_b = strspn(nb, "0123456789") == strlen(nb) && strlen(nb) <= 19;
    int hex_a = strspn(na, "0123456789abcdef") == strlen(na) && strlen(na) <= 16;
    int hex_b = strspn(nb, "0123456789abcdef") == strlen(nb) && strlen(nb) <= 16;
    if (dec_a && hex_b && strtoull(na, NULL, 10) == strtoull(nb, NULL, 16)) return 1;
    if (hex_a && dec_b && strtoull(na, NULL, 16) == strtoull(nb, NULL, 10)) return 1;
    return 0;
}

static void test_id_forms_match(void **state) {
    (void)state;
    assert_true(same_id("0000ABCD", "43981"));  /* hex with zeros vs decimal */
    assert_true(same_id("abcd", "ABCD"));       /* case */
    assert_true(same_id("007", "7"));           /* leading zeros */
    assert_true(same_id("1a2b3c", "1715004"));
    assert_true(same_id("10", "16"));           /* "10" may be hex */
    assert_true(same_id("10", "a"));            /* ... or decimal */
    assert_false(same_id("abc", "abd"));
    assert_false(same_id("12", "13"));
    assert_true(same_id("msg-XY", "MSG-xy"));   /* not numeric: exact, case-folded */
    assert_true(same_id("ffffffffffffffff", "18446744073709551615") == 0); /* 20 digits */
    assert_true(same_id("8ac7230489e7ffff", "9999999999999999999"));    /* 19 digits */
    char k[OPID_KEYS][OPID_KEY_LEN];
    assert_int_equal(opid_keys("", k), 0);
    assert_int_equal(opid_keys("0", k), 1);
    assert_string_equal(k[0], "s:0");
    assert_int_equal(opid_keys("10", k), 3);
    assert_string_equal(k[0], "s:10");
    assert_string_equal(k[1], "s:16");
    assert_string_equal(k[2], "s:a");
    assert_int_equal(opid_keys("ffffffffffffffffff", k), 1); /* too long to be a number */
    /* every pair of short ids over a small alphabet: the keys agree with the rule by value */
    const char alpha[] = "01aA9f";
    char ids[1 + 6 + 36 + 216][4];
    int n = 0;
    ids[n++][0] = '0';
    ids[0][1] = 0;
    for (int len = 1; len <= 3; len++) {
        int total = 1;
        for (int i = 0; i < len; i++) total *= 6;
        for (int v = 0; v < total; v++) {
            int x = v;
            for (int i = 0; i < len; i++, x /= 6) ids[n][i] = alpha[x % 6];
            ids[n++][len] = 0;
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (same_id(ids[i], ids[j]) != same_id_by_value(ids[i], ids[j]))
                fail_msg("ids '%s' and '%s' disagree with the rule", ids[i], ids[j]);
}

static void test_blanks_and_limits(void **state) {
    (void)state;
    char k[OPID_KEYS][OPID_KEY_LEN];
    assert_int_equal(opid_keys("  \t", k), 0);
    assert_int_equal(opid_keys(" 00ABC \n", k), 2);
    assert_string_equal(k[0], "s:abc");
    assert_string_equal(k[1], "s:2748");
    char longest[65], over[66];
    memset(longest, 'z', 64);
    longest[64] = 0;
    memset(over, 'z', 65);
    over[65] = 0;
    assert_int_equal(opid_keys(longest, k), 1);
    assert_int_equal(strlen(k[0]), 66);
    assert_int_equal(opid_keys(over, k), 0);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_forms_match),
        cmocka_unit_test(test_blanks_and_limits),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("opid", tests, NULL, NULL);
}
