/*
 * test_ratelimit.c - unit tests of core/ratelimit: a bucket's rate, burst and recovery with a
 * clock driven by hand, refusals that take nothing, limits changed between calls, the table's
 * bound under a stream of distinct keys (and which buckets it drops first), and the key of an
 * address (IPv6 by /64).
 *
 * Run all tests: build/tests/test_ratelimit; one test: build/tests/test_ratelimit <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/ratelimit.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static int take(rl_table *t, const char *key, const rl_limit *l, int64_t now, int64_t *retry) {
    return rl_take(t, key, strlen(key), l, now, retry);
}

static void test_burst_then_rate(void **state) {
    (void)state;
    rl_table *t = rl_table_new(16);
    rl_limit l = rl_limit_make(10, 1000, 5); /* 10/s, 5 at once */
    int64_t now = 1000000, retry = 0;
    for (int i = 0; i < 5; i++) assert_int_equal(take(t, "k", &l, now, &retry), 0);
    assert_int_equal(take(t, "k", &l, now, &retry), SG_ELIMIT);
    assert_int_equal(retry, 100); /* one interval */
    /* Refused requests take nothing: knocking again does not push recovery further. */
    for (int i = 0; i < 50; i++) assert_int_equal(take(t, "k", &l, now, &retry), SG_ELIMIT);
    assert_int_equal(retry, 100);
    assert_int_equal(take(t, "k", &l, now + 99, &retry), SG_ELIMIT);
    assert_int_equal(retry, 1);
    assert_int_equal(take(t, "k", &l, now + 100, &retry), 0);
    assert_int_equal(take(t, "k", &l, now + 100, &retry), SG_ELIMIT);
    /* Sustained: one request per 100 ms over 10 s is always allowed. */
    int64_t at = now + 200;
    for (int i = 0; i < 100; i++, at += 100) assert_int_equal(take(t, "k", &l, at, NULL), 0);
    /* After a long idle time the whole burst is back, not more. */
    at += 3600 * 1000;
    for (int i = 0; i < 5; i++) assert_int_equal(take(t, "k", &l, at, NULL), 0);
    assert_int_equal(take(t, "k", &l, at, NULL), SG_ELIMIT);
    rl_table_free(t);
}

static void test_keys_independent(void **state) {
    (void)state;
    rl_table *t = rl_table_new(16);
    rl_limit l = rl_limit_make(1, 60000, 2); /* 1 per minute, 2 at once */
    int64_t retry;
    assert_int_equal(take(t, "a", &l, 0, NULL), 0);
    assert_int_equal(take(t, "a", &l, 0, NULL), 0);
    assert_int_equal(take(t, "a", &l, 10, &retry), SG_ELIMIT);
    assert_int_equal(retry, 120000 - 60000 - 10);
    assert_int_equal(take(t, "b", &l, 10, NULL), 0);
    assert_int_equal(take(t, "ab", &l, 10, NULL), 0);
    assert_int_equal(rl_table_count(t), 3);
    rl_table_free(t);
}

static void test_no_limit(void **state) {
    (void)state;
    rl_table *t = rl_table_new(4);
    rl_limit off = rl_limit_make(0, 1000, 10);
    assert_false(rl_limit_on(&off));
    for (int i = 0; i < 1000; i++) assert_int_equal(take(t, "k", &off, 0, NULL), 0);
    assert_int_equal(rl_table_count(t), 0); /* nothing stored */
    rl_limit bad = rl_limit_make(5, 0, 1);
    assert_false(rl_limit_on(&bad));
    rl_table_free(t);
    rl_table_free(NULL);
}

static void test_limit_changes_apply(void **state) {
    (void)state;
    rl_table *t = rl_table_new(4);
    rl_limit strict = rl_limit_make(1, 1000, 1), loose = rl_limit_make(1000, 1000, 100);
    assert_int_equal(take(t, "k", &strict, 0, NULL), 0);
    assert_int_equal(take(t, "k", &strict, 0, NULL), SG_ELIMIT);
    /* A looser limit applies at once: the debt run up under the strict one (a whole second)
     * is cut to one interval of the new one. */
    int64_t retry;
    assert_int_equal(take(t, "k", &loose, 0, &retry), SG_ELIMIT);
    assert_int_equal(retry, 1);
    assert_int_equal(take(t, "k", &loose, 1, NULL), 0);
    assert_int_equal(take(t, "k", &loose, 1, NULL), SG_ELIMIT);
    /* ... and its bucket refills at the new rate: full (100) after 100 ms. */
    for (int i = 0; i < 100; i++) assert_int_equal(take(t, "k", &loose, 102, NULL), 0);
    assert_int_equal(take(t, "k", &loose, 102, NULL), SG_ELIMIT);
    /* A burst of 1 is "no burst": burst 0 and negative mean the same. */
    rl_limit z = rl_limit_make(1, 1000, 0);
    assert_int_equal(z.tolerance_us, 0);
    rl_limit fast = rl_limit_make(10000000, 1, 1); /* under a microsecond: clamped to 1 */
    assert_int_equal(fast.interval_us, 1);
    rl_table_free(t);
}

static void test_table_bound(void **state) {
    (void)state;
    enum { CAP = 100 };
    rl_table *t = rl_table_new(CAP);
    rl_limit l = rl_limit_make(1, 1000, 1);
    char k[32];
    /* An attacker cycling through 100,000 addresses: the table never holds more than CAP. */
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof k, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        assert_int_equal(take(t, k, &l, 0, NULL), 0);
        assert_true(rl_table_count(t) <= CAP);
    }
    assert_int_equal(rl_table_count(t), CAP);
    /* Every one of them was dropped while still holding its key back (same instant). */
    assert_int_equal(rl_table_evicted_busy(t), 100000 - CAP);
    /* The most recent CAP keys are still limited; an older one starts afresh. */
    assert_int_equal(take(t, "10.1.134.159", &l, 0, NULL), SG_ELIMIT); /* i = 99999 */
    assert_int_equal(take(t, "10.0.0.0", &l, 0, NULL), 0);
    rl_table_free(t);
}

static void test_lru_keeps_busy_key(void **state) {
    (void)state;
    enum { CAP = 8 };
    rl_table *t = rl_table_new(CAP);
    rl_limit l = rl_limit_make(1, 1000, 1);
    char k[32];
    assert_int_equal(take(t, "client", &l, 0, NULL), 0);
    /* The client keeps calling between the attacker's new keys: it is never the least recently
     * used, so it stays limited. */
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "x%d", i);
        take(t, k, &l, 0, NULL);
        if (i % (CAP / 2) == 0) assert_int_equal(take(t, "client", &l, 0, NULL), SG_ELIMIT);
    }
    /* Idle buckets (already full again) are dropped without being counted as busy. */
    rl_table *u = rl_table_new(2);
    assert_int_equal(take(u, "a", &l, 0, NULL), 0);
    assert_int_equal(take(u, "b", &l, 0, NULL), 0);
    assert_int_equal(take(u, "c", &l, 5000, NULL), 0);
    assert_int_equal(rl_table_evicted_busy(u), 0);
    assert_int_equal(take(u, "d", &l, 5000, NULL), 0);
    assert_int_equal(rl_table_evicted_busy(u), 0); /* b was idle too */
    assert_int_equal(take(u, "e", &l, 5000, NULL), 0);
    assert_int_equal(rl_table_evicted_busy(u), 1); /* c was not */
    rl_table_free(u);
    rl_table_free(t);
}

static void test_long_keys(void **state) {
    (void)state;
    rl_table *t = rl_table_new(4);
    rl_limit l = rl_limit_make(1, 1000, 1);
    char a[200], b[200];
    memset(a, 'a', sizeof a);
    memcpy(b, a, sizeof b);
    b[150] = 'b'; /* differs after RL_KEY_MAX: the same bucket */
    assert_int_equal(rl_take(t, a, sizeof a, &l, 0, NULL), 0);
    assert_int_equal(rl_take(t, b, sizeof b, &l, 0, NULL), SG_ELIMIT);
    b[3] = 'b';
    assert_int_equal(rl_take(t, b, sizeof b, &l, 0, NULL), 0);
    rl_table_free(t);
}

static void test_addr_key(void **state) {
    (void)state;
    char k[80];
    rl_addr_key("192.0.2.7", k, sizeof k);
    assert_string_equal(k, "192.0.2.7");
    rl_addr_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof k);
    assert_string_equal(k, "2001:db8:1:2::/64");
    char k2[80];
    rl_addr_key("2001:DB8:1:2::1", k2, sizeof k2);
    assert_string_equal(k, k2);
    rl_addr_key("::1", k, sizeof k);
    assert_string_equal(k, "::/64");
    rl_addr_key("not an address", k, sizeof k);
    assert_string_equal(k, "not an address");
    assert_int_equal(rl_addr_key("192.0.2.7", k, 4), 3);
    assert_string_equal(k, "192");
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),  cmocka_unit_test(test_keys_independent),
        cmocka_unit_test(test_no_limit),         cmocka_unit_test(test_limit_changes_apply),
        cmocka_unit_test(test_table_bound),      cmocka_unit_test(test_lru_keeps_busy_key),
        cmocka_unit_test(test_long_keys),        cmocka_unit_test(test_addr_key),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
