/*
 * test_retry.c - unit tests of core/retry: the backoff schedule of temporarily refused
 * messages (docs/smpp.md "Temporary errors"): doubling from the minimum, the cap, the ±20 %
 * jitter at both ends of the random range, and odd arguments (n < 1, max below min, huge n).
 *
 * Run all tests: build/tests/test_retry; one test: build/tests/test_retry <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "core/retry.h"

#define TEST_TIMEOUT_S 60

static void test_doubling_to_the_cap(void **state) {
    (void)state;
    /* The defaults: 1 s doubling to 10 min. */
    const int64_t want[] = {1000,   2000,   4000,   8000,   16000,  32000,  64000,
                            128000, 256000, 512000, 600000, 600000, 600000};
    for (int n = 1; n <= 13; n++) assert_int_equal(retry_base_ms(n, 1000, 600000), want[n - 1]);
    /* Fifteen attempts wait about an hour in all (the documented default). */
    int64_t sum = 0;
    for (int n = 1; n < 15; n++) sum += retry_base_ms(n, 1000, 600000);
    assert_int_equal(sum, 1023000 + 4 * 600000);
}

static void test_jitter_bounds(void **state) {
    (void)state;
    for (int n = 1; n <= 20; n++) {
        int64_t base = retry_base_ms(n, 200, 2000);
        assert_int_equal(retry_delay_ms(n, 200, 2000, 0), base - base / 5);
        assert_int_equal(retry_delay_ms(n, 200, 2000, UINT32_MAX), base + base / 5);
        int64_t mid = retry_delay_ms(n, 200, 2000, UINT32_MAX / 2);
        assert_true(mid >= base - 1 && mid <= base + 1);
        /* Non-decreasing in the random value. */
        int64_t prev = -1;
        for (uint32_t r = 0; r < UINT32_MAX - (1u << 24); r += 1u << 24) {
            int64_t d = retry_delay_ms(n, 200, 2000, r);
            assert_true(d >= prev);
            assert_true(d >= base - base / 5 && d <= base + base / 5);
            prev = d;
        }
    }
}

static void test_odd_arguments(void **state) {
    (void)state;
    assert_int_equal(retry_base_ms(0, 1000, 600000), 1000);  /* n < 1 counts as 1 */
    assert_int_equal(retry_base_ms(-5, 1000, 600000), 1000);
    assert_int_equal(retry_base_ms(3, 1000, 10), 1000);      /* max below min: min */
    assert_int_equal(retry_base_ms(1000000, 1000, 600000), 600000); /* no overflow */
    assert_int_equal(retry_base_ms(70, INT64_MAX / 4, INT64_MAX / 2), INT64_MAX / 2);
    assert_int_equal(retry_base_ms(5, 0, 100), 0);
    assert_int_equal(retry_delay_ms(5, 0, 100, UINT32_MAX), 0);
    /* A cap that is not a power-of-two multiple of the minimum is reached exactly. */
    assert_int_equal(retry_base_ms(3, 300, 1000), 1000);
    assert_int_equal(retry_base_ms(2, 300, 1000), 600);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubling_to_the_cap),
        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_odd_arguments),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
