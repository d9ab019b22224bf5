/*
 * test_phone.c - unit tests of core/phone: normalisation to E.164, refusal of bad input,
 * region and country code, and the cache (hits, invalid results, eviction, threads).
 *
 * Run all tests: build/tests/test_phone; one test: build/tests/test_phone <name-or-glob>.
 * The whole binary is killed by SIGALRM after TEST_TIMEOUT_S seconds so a hang fails loudly.
 * Tests share the module's process-wide cache, so cache tests compare counters before and
 * after, never absolute values, and use numbers no other test uses when they need a miss.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/phone.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 300

static void expect_number(const char *input, const char *region, const char *e164,
                          const char *cc2, int country_code, int is_mobile) {
    phone_info pi;
    int rc = phone_normalize(input, region, &pi);
    if (rc != 0) fail_msg("'%s' (region %s) refused, expected %s", input, region, e164);
    assert_string_equal(pi.e164, e164);
    assert_string_equal(pi.region, cc2);
    assert_int_equal(pi.country_code, country_code);
    assert_int_equal(pi.is_mobile, is_mobile);
}

static void expect_invalid(const char *input, const char *region) {
    phone_info pi;
    memset(&pi, 0x5a, sizeof pi);
    int rc = phone_normalize(input, region, &pi);
    if (rc != SG_EINVAL)
        fail_msg("'%s' (region %s) gave %d, expected SG_EINVAL", input ? input : "(null)",
                 region ? region : "(null)", rc);
    /* *out is zeroed on failure. */
    phone_info zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&pi, &zero, sizeof pi);
}

static void test_international_forms(void **state) {
    (void)state;
    expect_number("+33612345678", NULL, "+33612345678", "fr", 33, 1);
    expect_number("+33612345678", "FR", "+33612345678", "fr", 33, 1);
    expect_number("+33 6 12 34 56 78", NULL, "+33612345678", "fr", 33, 1);
    expect_number("+33 (0)6 12-34.56.78", NULL, "+33612345678", "fr", 33, 1);
    expect_number("  +33612345678", NULL, "+33612345678", "fr", 33, 1);
}

static void test_double_zero_prefix(void **state) {
    (void)state;
    /* "00" is the international prefix whatever the default region, even none. */
    expect_number("0033612345678", NULL, "+33612345678", "fr", 33, 1);
    expect_number("0033612345678", "", "+33612345678", "fr", 33, 1);
    expect_number("0033612345678", "FR", "+33612345678", "fr", 33, 1);
    expect_number("0033612345678", "US", "+33612345678", "fr", 33, 1);
    expect_number("00 33 6 12 34 56 78", NULL, "+33612345678", "fr", 33, 1);
    expect_number("004915123456789", NULL, "+4915123456789", "de", 49, 1);
}

static void test_national_needs_region(void **state) {
    (void)state;
    expect_number("0612345678", "FR", "+33612345678", "fr", 33, 1);
    expect_number("0612345678", "fr", "+33612345678", "fr", 33, 1);
    expect_number("06 12 34 56 78", "fr", "+33612345678", "fr", 33, 1);
    expect_invalid("0612345678", NULL);
    expect_invalid("0612345678", "");
}

static void test_spec_test_numbers(void **state) {
    (void)state;
    /* The numbers the integration tests and the docs use must be valid French mobiles. */
    expect_number("+33612345678", NULL, "+33612345678", "fr", 33, 1);
    expect_number("+33612345901", NULL, "+33612345901", "fr", 33, 1);
    expect_number("+33612345902", NULL, "+33612345902", "fr", 33, 1);
    expect_number("+33612345903", NULL, "+33612345903", "fr", 33, 1);
    expect_number("+33612345904", NULL, "+33612345904", "fr", 33, 1);
}

static void test_invalid_numbers(void **state) {
    (void)state;
    expect_invalid("12345", NULL);
    expect_invalid("12345", "FR");
    expect_invalid("+33 1", NULL);
    expect_invalid("abc", NULL);
    expect_invalid("abc", "FR");
    expect_invalid("+999123456789", NULL);
    expect_invalid("+", NULL);
    expect_invalid("00", NULL);
    expect_invalid("+3361234567890123", NULL);
}

static void test_garbage_input(void **state) {
    (void)state;
    expect_invalid(NULL, NULL);
    expect_invalid("", NULL);
    expect_invalid("   ", NULL);
    expect_invalid("--", NULL);
    /* Letters are refused even where libphonenumber would read them as vanity digits. */
    expect_invalid("0612345678x", "FR");
    expect_invalid("+1 800 FLOWERS", NULL);
    expect_invalid("+33612345678 ext 12", NULL);
    expect_invalid("+33+612345678", NULL);
    expect_invalid("33612345678+", NULL);
    expect_invalid("+33612345678\n", NULL);
    expect_invalid("+3361234\0" "5678", NULL); /* stops at the NUL: too short */
    expect_invalid("+33\xc2\xa0" "612345678", NULL); /* no-break space */
}

static void test_length_limit(void **state) {
    (void)state;
    char buf[128];
    /* 64 bytes is the limit: pad a valid number with leading blanks. */
    memset(buf, ' ', sizeof buf);
    strcpy(buf + 64 - strlen("+33612345678"), "+33612345678");
    assert_int_equal(strlen(buf), 64);
    expect_number(buf, NULL, "+33612345678", "fr", 33, 1);
    memset(buf, ' ', sizeof buf);
    strcpy(buf + 65 - strlen("+33612345678"), "+33612345678");
    assert_int_equal(strlen(buf), 65);
    expect_invalid(buf, NULL);
    /* A long run of digits. */
    memset(buf, '1', sizeof buf);
    buf[sizeof buf - 1] = '\0';
    expect_invalid(buf, NULL);
}

static void test_bad_region(void **state) {
    (void)state;
    expect_invalid("0612345678", "FRA");
    expect_invalid("0612345678", "F");
    expect_invalid("0612345678", "1r");
    expect_invalid("+33612345678", "F!");
    /* A well-formed region libphonenumber does not know: national forms fail, '+' forms work. */
    expect_invalid("0612345678", "QQ");
    expect_number("+33612345678", "QQ", "+33612345678", "fr", 33, 1);
}

static void test_region_and_country_code(void **state) {
    (void)state;
    expect_number("+4915123456789", NULL, "+4915123456789", "de", 49, 1);
    expect_number("07400 123456", "GB", "+447400123456", "gb", 44, 1);
    /* FIXED_LINE_OR_MOBILE counts as mobile (NANP numbers). */
    expect_number("+1 201-555-0123", NULL, "+12015550123", "us", 1, 1);
    expect_number("(201) 555-0123", "us", "+12015550123", "us", 1, 1);
    /* Fixed line and VoIP: valid, not mobile. */
    expect_number("01 23 45 67 89", "FR", "+33123456789", "fr", 33, 0);
    expect_number("+33912345678", NULL, "+33912345678", "fr", 33, 0);
    /* Overseas departments and territories have their own region. */
    expect_number("+590690001234", NULL, "+590690001234", "gp", 590, 1);
    expect_number("+262692123456", NULL, "+262692123456", "re", 262, 1);
    expect_number("+687751234", NULL, "+687751234", "nc", 687, 1);
    /* Non-geographic (+800 international freephone): valid, no region. */
    expect_number("+800 1234 5678", NULL, "+80012345678", "", 800, 0);
}

static void test_cache_hits(void **state) {
    (void)state;
    unsigned long h0, m0, h1, m1, h2, m2;
    phone_info a, b;

    phone_cache_stats(&h0, &m0);
    assert_int_equal(phone_normalize("+33 6 12 34 59 99", NULL, &a), 0);
    phone_cache_stats(&h1, &m1);
    assert_int_equal(m1, m0 + 1);
    assert_int_equal(h1, h0);

    assert_int_equal(phone_normalize("+33 6 12 34 59 99", NULL, &b), 0);
    phone_cache_stats(&h2, &m2);
    assert_int_equal(h2, h1 + 1);
    assert_int_equal(m2, m1);
    assert_memory_equal(&a, &b, sizeof a);
    assert_string_equal(b.e164, "+33612345999");

    /* A different default region is a different key... */
    assert_int_equal(phone_normalize("+33 6 12 34 59 99", "FR", &b), 0);
    phone_cache_stats(&h1, &m1);
    assert_int_equal(m1, m2 + 1);
    /* ...but "fr" and "FR" are the same one. */
    assert_int_equal(phone_normalize("+33 6 12 34 59 99", "fr", &b), 0);
    phone_cache_stats(&h2, &m2);
    assert_int_equal(h2, h1 + 1);
    assert_int_equal(m2, m1);

    /* Either pointer may be NULL. */
    phone_cache_stats(NULL, NULL);
}

static void test_cache_keeps_invalid(void **state) {
    (void)state;
    unsigned long h0, m0, h1, m1;
    expect_invalid("+999 123 450 001", NULL);
    phone_cache_stats(&h0, &m0);
    expect_invalid("+999 123 450 001", NULL);
    phone_cache_stats(&h1, &m1);
    assert_int_equal(h1, h0 + 1);
    assert_int_equal(m1, m0);

    /* Syntax errors never reach the cache. */
    expect_invalid("not a number", NULL);
    expect_invalid("not a number", NULL);
    phone_cache_stats(&h0, &m0);
    assert_int_equal(h0, h1);
    assert_int_equal(m0, m1);
}

/* More distinct keys than the cache holds (64 Ki): every answer stays right while entries
 * are evicted, and a recently used entry survives. */
static void test_cache_eviction(void **state) {
    (void)state;
    const int n = 80000;
    char buf[32];
    phone_info pi;
    unsigned long h0, m0, h1, m1;

    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "+3361%07d", i);
        assert_int_equal(phone_normalize(buf, NULL, &pi), 0);
        assert_string_equal(pi.e164, buf);
        /* Keep touching the first number: CLOCK must not evict it. */
        if (i % 1024 == 0) assert_int_equal(phone_normalize("+33610000000", NULL, &pi), 0);
    }
    phone_cache_stats(&h0, &m0);
    assert_int_equal(phone_normalize("+33610000000", NULL, &pi), 0);
    phone_cache_stats(&h1, &m1);
    assert_int_equal(h1, h0 + 1);

    /* Early numbers may be gone; whether hit or miss, the answer is the same. */
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "+3361%07d", i);
        assert_int_equal(phone_normalize(buf, NULL, &pi), 0);
        assert_string_equal(pi.e164, buf);
    }
    phone_cache_stats(&h0, &m0);
    assert_true(m0 > m1); /* 80000 keys do not fit: some of these had been evicted */
}

#define THREADS 4
#define PER_THREAD 3000

static void *worker(void *arg) {
    long id = (long)arg;
    char buf[32], want[32];
    phone_info pi;
    for (int i = 0; i < PER_THREAD; i++) {
        /* Half the keys are shared by all threads, half are the thread's own. */
        int k = (i % 2) ? i : (int)id * PER_THREAD + i;
        snprintf(buf, sizeof buf, "00 33 6 0%07d", k);
        snprintf(want, sizeof want, "+3360%07d", k);
        if (phone_normalize(buf, "fr", &pi) != 0 || strcmp(pi.e164, want) != 0)
            return "wrong answer";
        if (phone_normalize("+999 1", NULL, &pi) != SG_EINVAL) return "invalid accepted";
    }
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < THREADS; i++) {
        void *res;
        assert_int_equal(pthread_join(t[i], &res), 0);
        assert_null(res);
    }
}

static void test_init_idempotent(void **state) {
    (void)state;
    phone_init();
    phone_init();
    expect_number("+33612345678", NULL, "+33612345678", "fr", 33, 1);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_international_forms),
        cmocka_unit_test(test_double_zero_prefix),
        cmocka_unit_test(test_national_needs_region),
        cmocka_unit_test(test_spec_test_numbers),
        cmocka_unit_test(test_invalid_numbers),
        cmocka_unit_test(test_garbage_input),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_bad_region),
        cmocka_unit_test(test_region_and_country_code),
        cmocka_unit_test(test_cache_hits),
        cmocka_unit_test(test_cache_keeps_invalid),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_threads),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    phone_init();
    return cmocka_run_group_tests_name("phone", tests, NULL, NULL);
}
