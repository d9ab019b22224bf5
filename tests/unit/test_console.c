/*
 * test_console.c - unit tests of api/console_session: ids and CSRF tokens (length, alphabet,
 * never twice), a session found by its id and touched, forgotten after its idle time and after
 * its maximum age, logout, the least recently used one dropped when the table is full; the
 * Cookie header's parsing; the CSRF comparison.
 *
 * Run all tests: build/tests/test_console; one test: build/tests/test_console <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "api/console_session.h"

#define TEST_TIMEOUT_S 60

static int b64url(const char *s) {
    if (strlen(s) != CONSOLE_TOKEN_LEN) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static console_session *get(console_sessions *t, const char *id, int64_t now) {
    return console_session_get(t, id, strlen(id), now);
}

static void test_tokens(void **state) {
    (void)state;
    console_sessions *t = console_sessions_new(1000, 60000, 600000);
    char seen[200][CONSOLE_TOKEN_LEN + 1];
    for (int i = 0; i < 100; i++) {
        console_session *s = console_session_new(t, CONSOLE_OPERATOR, 1000);
        assert_true(b64url(s->id));
        assert_true(b64url(s->csrf));
        assert_string_not_equal(s->id, s->csrf);
        strcpy(seen[2 * i], s->id);
        strcpy(seen[2 * i + 1], s->csrf);
    }
    for (int i = 0; i < 200; i++)
        for (int j = i + 1; j < 200; j++) assert_string_not_equal(seen[i], seen[j]);
    assert_int_equal(console_sessions_count(t), 100);
    console_sessions_free(t);
}

static void test_find_touch_expire(void **state) {
    (void)state;
    console_sessions *t = console_sessions_new(10, 1000, 5000); /* idle 1 s, at most 5 s */
    console_session *s = console_session_new(t, CONSOLE_CUSTOMER, 10000);
    char id[CONSOLE_TOKEN_LEN + 1];
    strcpy(id, s->id);
    assert_ptr_equal(get(t, id, 10500), s);
    assert_ptr_equal(get(t, id, 11400), s); /* touched at 10500: idle until 11500 */
    /* Used every 900 ms, it still ends 5 s after its creation. */
    assert_ptr_equal(get(t, id, 12300), s);
    assert_ptr_equal(get(t, id, 13200), s);
    assert_ptr_equal(get(t, id, 14100), s);
    assert_ptr_equal(get(t, id, 14999), s);
    assert_null(get(t, id, 15000));
    assert_int_equal(console_sessions_count(t), 0); /* removed when met */
    /* Idle for its whole idle time: gone. */
    s = console_session_new(t, CONSOLE_CUSTOMER, 20000);
    strcpy(id, s->id);
    assert_null(get(t, id, 21000));
    /* A wrong id, a prefix of a right one, an empty one. */
    s = console_session_new(t, CONSOLE_OPERATOR, 30000);
    strcpy(id, s->id);
    char wrong[CONSOLE_TOKEN_LEN + 1];
    strcpy(wrong, id);
    wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
    assert_null(get(t, wrong, 30001));
    assert_null(console_session_get(t, id, CONSOLE_TOKEN_LEN - 1, 30001));
    assert_null(get(t, "", 30001));
    assert_ptr_equal(get(t, id, 30001), s);
    console_sessions_free(t);
}

static void test_logout(void **state) {
    (void)state;
    console_sessions *t = console_sessions_new(10, 60000, 600000);
    console_session *a = console_session_new(t, CONSOLE_OPERATOR, 1);
    console_session *b = console_session_new(t, CONSOLE_CUSTOMER, 1);
    char ida[CONSOLE_TOKEN_LEN + 1], idb[CONSOLE_TOKEN_LEN + 1];
    strcpy(ida, a->id);
    strcpy(idb, b->id);
    console_session_remove(t, a);
    console_session_remove(t, NULL);
    assert_null(get(t, ida, 2));
    assert_ptr_equal(get(t, idb, 2), b);
    assert_int_equal(console_sessions_count(t), 1);
    console_sessions_free(t);
}

static void test_full_drops_least_recent(void **state) {
    (void)state;
    console_sessions *t = console_sessions_new(3, 60000, 600000);
    char id[4][CONSOLE_TOKEN_LEN + 1];
    for (int i = 0; i < 3; i++) strcpy(id[i], console_session_new(t, CONSOLE_CUSTOMER, 100 + i)->id);
    assert_non_null(get(t, id[0], 200)); /* the oldest, but used: id[1] is now the least recent */
    strcpy(id[3], console_session_new(t, CONSOLE_CUSTOMER, 300)->id);
    assert_int_equal(console_sessions_count(t), 3);
    assert_null(get(t, id[1], 301));
    assert_non_null(get(t, id[0], 301));
    assert_non_null(get(t, id[2], 301));
    assert_non_null(get(t, id[3], 301));
    console_sessions_free(t);
}

static void test_cookie(void **state) {
    (void)state;
    size_t n;
    const char *v = console_cookie_get("smsgate_session=abc", "smsgate_session", &n);
    assert_non_null(v);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "abc", 3);
    v = console_cookie_get("a=1; smsgate_session=xyz; b=2", "smsgate_session", &n);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "xyz", 3);
    v = console_cookie_get("a=1;smsgate_session=\"q\"  ", "smsgate_session", &n);
    assert_int_equal(n, 1);
    assert_memory_equal(v, "q", 1);
    assert_null(console_cookie_get("xsmsgate_session=1", "smsgate_session", &n));
    assert_null(console_cookie_get("smsgate_sessionx=1", "smsgate_session", &n));
    assert_null(console_cookie_get("smsgate_session", "smsgate_session", &n));
    assert_null(console_cookie_get("", "smsgate_session", &n));
    assert_null(console_cookie_get(NULL, "smsgate_session", &n));
    v = console_cookie_get("smsgate_session=", "smsgate_session", &n);
    assert_null(v); /* an empty value (a logged-out cookie) is no session */
}

static void test_csrf(void **state) {
    (void)state;
    console_sessions *t = console_sessions_new(3, 60000, 600000);
    console_session *s = console_session_new(t, CONSOLE_OPERATOR, 1);
    char tok[CONSOLE_TOKEN_LEN + 1];
    strcpy(tok, s->csrf);
    assert_true(console_csrf_ok(s, tok));
    assert_false(console_csrf_ok(s, NULL));
    assert_false(console_csrf_ok(s, ""));
    assert_false(console_csrf_ok(s, s->id));
    tok[CONSOLE_TOKEN_LEN - 1] ^= 1;
    assert_false(console_csrf_ok(s, tok));
    tok[CONSOLE_TOKEN_LEN - 1] ^= 1;
    char longer[CONSOLE_TOKEN_LEN + 2];
    strcpy(longer, tok);
    strcat(longer, "x");
    assert_false(console_csrf_ok(s, longer));
    console_sessions_free(t);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),  cmocka_unit_test(test_find_touch_expire),
        cmocka_unit_test(test_logout),  cmocka_unit_test(test_full_drops_least_recent),
        cmocka_unit_test(test_cookie),  cmocka_unit_test(test_csrf),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
