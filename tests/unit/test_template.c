/*
 * test_template.c - unit tests of core/template: OVH's example, what is and is not a
 * variable, case-insensitive column names, unknown columns named in the error, missing
 * values, and rendering into one growing buffer.
 *
 * Run all tests: build/tests/test_template; one test: build/tests/test_template <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/template.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static const char *const cols[] = {"number", "civility", "name", "age"};

static char *render(const char *text, const char *const *vals, size_t n) {
    int err = 0;
    template *t = template_new(text, cols, 4, NULL, 0, &err);
    assert_non_null(t);
    size_t lens[8];
    for (size_t i = 0; i < n; i++) lens[i] = strlen(vals[i]);
    char *buf = NULL;
    size_t cap = 0;
    size_t len = template_render(t, vals, lens, n, &buf, &cap);
    assert_int_equal(len, strlen(buf));
    template_free(t);
    return buf;
}

static void test_ovh_example(void **state) {
    (void)state;
    const char *row[] = {"+33601020304", "Mr", "Dupont", "47"};
    char *s = render("Hello, #civility# #name#. You are #age# years old.", row, 4);
    assert_string_equal(s, "Hello, Mr Dupont. You are 47 years old.");
    free(s);
}

static void test_text_without_variables_is_kept(void **state) {
    (void)state;
    const char *row[] = {"+33601020304", "Mr", "Dupont", "47"};
    const char *keep[] = {"Order #12 is ready", "Price: 5# each #", "##", "#", "a#b", "",
                          "# name #", "#na me#", "tel #+33 6#"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        char *s = render(keep[i], row, 4);
        assert_string_equal(s, keep[i]);
        free(s);
    }
}

static void test_variables_anywhere_and_repeated(void **state) {
    (void)state;
    const char *row[] = {"+33601020304", "Mr", "Dupont", "47"};
    char *s = render("#name##name#:#NAME#!#Age#", row, 4);
    assert_string_equal(s, "DupontDupont:Dupont!47");
    free(s);
    s = render("##name#", row, 4);
    assert_string_equal(s, "#Dupont");
    free(s);
}

static void test_unknown_column_is_named(void **state) {
    (void)state;
    int err = 0;
    char bad[TEMPLATE_NAME_MAX + 1];
    assert_null(template_new("Hi #name#, #firstname#", cols, 4, bad, sizeof bad, &err));
    assert_int_equal(err, SG_ENOTFOUND);
    assert_string_equal(bad, "firstname");
    /* Cut to the buffer given. */
    char small[4];
    assert_null(template_new("#surname#", cols, 4, small, sizeof small, &err));
    assert_string_equal(small, "sur");
}

static void test_name_length_limit(void **state) {
    (void)state;
    char text[TEMPLATE_NAME_MAX + 8], name[TEMPLATE_NAME_MAX + 2];
    memset(name, 'x', TEMPLATE_NAME_MAX + 1);
    name[TEMPLATE_NAME_MAX + 1] = '\0';
    /* 65 bytes: not a variable, kept as text. */
    snprintf(text, sizeof text, "#%s#", name);
    int err = 0;
    template *t = template_new(text, cols, 4, NULL, 0, &err);
    assert_non_null(t);
    assert_int_equal(template_vars(t), 0);
    template_free(t);
    /* 64 bytes: a variable, unknown here. */
    name[TEMPLATE_NAME_MAX] = '\0';
    snprintf(text, sizeof text, "#%s#", name);
    assert_null(template_new(text, cols, 4, NULL, 0, &err));
    assert_int_equal(err, SG_ENOTFOUND);
}

static void test_missing_values_render_empty(void **state) {
    (void)state;
    const char *row[] = {"+33601020304", "Mrs"};
    char *s = render("[#civility#][#name#][#age#]", row, 2);
    assert_string_equal(s, "[Mrs][][]");
    free(s);
}

static void test_uses_and_vars(void **state) {
    (void)state;
    int err = 0;
    template *t = template_new("#age# #age# #name#", cols, 4, NULL, 0, &err);
    assert_non_null(t);
    assert_int_equal(template_vars(t), 3);
    assert_true(template_uses(t, 3));
    assert_true(template_uses(t, 2));
    assert_false(template_uses(t, 0));
    template_free(t);
}

static void test_buffer_reused_and_grown(void **state) {
    (void)state;
    int err = 0;
    template *t = template_new("<#name#>", cols, 4, NULL, 0, &err);
    char *buf = NULL;
    size_t cap = 0;
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int round = 0; round < 3; round++) {
        const char *v[] = {"", "", round == 1 ? big : "ab", ""};
        size_t lens[] = {0, 0, strlen(v[2]), 0};
        size_t len = template_render(t, v, lens, 4, &buf, &cap);
        assert_int_equal(len, strlen(v[2]) + 2);
        assert_int_equal(buf[0], '<');
        assert_int_equal(buf[len - 1], '>');
        assert_int_equal(buf[len], '\0');
        assert_true(cap > len);
    }
    free(buf);
    template_free(t);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ovh_example),
        cmocka_unit_test(test_text_without_variables_is_kept),
        cmocka_unit_test(test_variables_anywhere_and_repeated),
        cmocka_unit_test(test_unknown_column_is_named),
        cmocka_unit_test(test_name_length_limit),
        cmocka_unit_test(test_missing_values_render_empty),
        cmocka_unit_test(test_uses_and_vars),
        cmocka_unit_test(test_buffer_reused_and_grown),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
