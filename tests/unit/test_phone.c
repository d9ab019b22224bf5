/*
 * test_phone.c - unit tests of core/phone: normalisation to E.164, refusal of bad input,
 * region and country code, the cache (hits, invalid results, eviction, threads), and the
 * shim's strict E.164 fast path, proved equal to libphonenumber's Parse() on a large corpus
 * (test_fast_path_equivalence).
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/phone.h"
#include "core/phone_shim.h"
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

/* Inputs in strict E.164 form where libphonenumber does something subtle; the expected values
 * are what Parse() gave before the fast path existed. */
static void test_e164_subtle_cases(void **state) {
    (void)state;
    /* A national prefix after the country code is stripped (FR '0', US '1', AU '0', CN '0',
     * AR '0', MX '1')... */
    expect_number("+330612345678", NULL, "+33612345678", "fr", 33, 1);
    expect_number("+112015550123", NULL, "+12015550123", "us", 1, 1);
    expect_number("+610412345678", NULL, "+61412345678", "au", 61, 1);
    expect_number("+86013812345678", NULL, "+8613812345678", "cn", 86, 1);
    expect_number("+54091123456789", NULL, "+5491123456789", "ar", 54, 1);
    expect_number("+5215512345678", NULL, "+525512345678", "mx", 52, 1);
    /* ...unless what remains would be too short. */
    expect_invalid("+3306123456789", NULL);
    /* Italy keeps its leading zero: it is part of the number. */
    expect_number("+390612345678", NULL, "+390612345678", "it", 39, 0);
    expect_number("+39061234567", NULL, "+39061234567", "it", 39, 0);
    /* Shared calling codes: the region comes from the number. */
    expect_number("+14165550123", NULL, "+14165550123", "ca", 1, 1);
    expect_number("+79161234567", NULL, "+79161234567", "ru", 7, 1);
    expect_number("+77011234567", NULL, "+77011234567", "kz", 7, 1);
    expect_number("+78001234567", NULL, "+78001234567", "ru", 7, 0); /* '8' is RU's prefix */
    expect_number("+441534456789", NULL, "+441534456789", "je", 44, 0);
    expect_number("+262692123456", NULL, "+262692123456", "re", 262, 1);
    /* A national prefix pattern that needs more than one digit to decide (CN, MG). */
    expect_number("+8613812345678", NULL, "+8613812345678", "cn", 86, 1);
    expect_number("+261321234567", NULL, "+261321234567", "mg", 261, 1);
    expect_invalid("+2613212345678", NULL);
    /* Non-geographic codes. */
    expect_number("+80012345678", NULL, "+80012345678", "", 800, 0);
    expect_invalid("+800012345678", NULL);
    expect_invalid("+882130123456", NULL);
    /* Unassigned code, too long, too short. */
    expect_invalid("+999123456789", NULL);
    expect_invalid("+33612345678901", NULL);
    expect_invalid("+3361", NULL);
    expect_invalid("+0033612345678", NULL);
}

/* The fast path is on, takes the common cases, and declines where Parse() might strip a
 * national prefix; otherwise the equivalence test below would prove nothing. */
static void test_fast_path_taken(void **state) {
    (void)state;
    static const char *fast[] = {"+33612345678", "+4915123456789", "+447400123456",
                                 "+12015550123", "+8613812345678", "+5511912345678",
                                 "+80012345678", "+390612345678"};
    static const char *declined[] = {"+330612345678", "+112015550123", "+610412345678",
                                     "+86013812345678", "+5215512345678", "+78001234567",
                                     "+999123456789", "+33 612345678", "0612345678",
                                     "+3", "+0033612345678", "+33612345678901234567"};
    phone_info pi;
    assert_int_equal(phone_shim_fast_usable(), 1);
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
        if (phone_shim_parse_fast(fast[i], &pi) == PHONE_SHIM_DECLINED)
            fail_msg("fast path declined '%s'", fast[i]);
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        if (phone_shim_parse_fast(declined[i], &pi) != PHONE_SHIM_DECLINED)
            fail_msg("fast path took '%s'", declined[i]);
    /* Declining leaves *out zeroed. */
    phone_info zero;
    memset(&zero, 0, sizeof zero);
    memset(&pi, 0x5a, sizeof pi);
    assert_int_equal(phone_shim_parse_fast("+330612345678", &pi), PHONE_SHIM_DECLINED);
    assert_memory_equal(&pi, &zero, sizeof pi);
}

/* ---- Equivalence of the fast path and Parse() on a generated corpus ---- */

#define CORPUS_RANDOM_PER_CODE 120  /* random digit strings after each of the 1000 codes */
#define CORPUS_RANDOM_PER_KNOWN 300 /* and more after each code libphonenumber knows */

typedef struct corpus_stats {
    unsigned long inputs, fast_valid, fast_invalid, declined, mismatches;
} corpus_stats;

static int known_code[1000]; /* 1 for the calling codes libphonenumber knows */
static uint64_t corpus_rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n) {
    corpus_rng ^= corpus_rng << 13; /* xorshift64: fixed seed, same corpus on every run */
    corpus_rng ^= corpus_rng >> 7;
    corpus_rng ^= corpus_rng << 17;
    return (unsigned)(corpus_rng % n);
}

/* Default regions cycled through: with a '+' they must make no difference. */
static const char *const corpus_regions[] = {"ZZ", "FR", "US", "GB", "DE", "IN", "BR",
                                             "RU", "CN", "AR", "MX", "IT", "QQ"};

/* Runs one input through both paths and through phone_shim_parse(), and compares. */
static void check_one(const char *text, corpus_stats *st) {
    const char *region = corpus_regions[st->inputs % (sizeof corpus_regions /
                                                      sizeof corpus_regions[0])];
    phone_info fast, full, prod;
    st->inputs++;
    int rf = phone_shim_parse_fast(text, &fast);
    int rb = phone_shim_parse_full(text, region, &full);
    int rp = phone_shim_parse(text, region, &prod);
    int same = 1;
    if (rp != rb || memcmp(&prod, &full, sizeof prod) != 0) same = 0;
    if (rf == PHONE_SHIM_DECLINED) {
        st->declined++;
    } else {
        if (rf == 0) st->fast_valid++;
        else st->fast_invalid++;
        if (rf != rb || memcmp(&fast, &full, sizeof fast) != 0) same = 0;
        if (phone_shim_fast_same_number(text, region) != 1) same = 0;
    }
    if (!same) {
        if (st->mismatches < 20)
            print_message("MISMATCH '%s' (region %s): fast %d '%s' '%s' %d %d, full %d '%s' "
                          "'%s' %d %d, parse %d\n",
                          text, region, rf, fast.e164, fast.region, fast.country_code,
                          fast.is_mobile, rb, full.e164, full.region, full.country_code,
                          full.is_mobile, rp);
        st->mismatches++;
    }
}

/* The country code of an E.164 string as libphonenumber reads it: the first known prefix. */
static size_t code_length(const char *digits) {
    int cc = 0;
    for (size_t i = 0; i < 3 && digits[i]; i++) {
        cc = cc * 10 + (digits[i] - '0');
        if (digits[0] != '0' && known_code[cc]) return i + 1;
    }
    return 0;
}

/* Checks "+" head insert tail, where head is the first cut digits of digits. */
static void check_spliced(const char *digits, size_t cut, const char *insert, size_t skip,
                          corpus_stats *st) {
    char text[64];
    snprintf(text, sizeof text, "+%.*s%s%s", (int)cut, digits, insert, digits + cut + skip);
    check_one(text, st);
}

/* An example number and its systematic variants. */
static void check_variants(const char *e164, corpus_stats *st) {
    const char *digits = e164 + 1;
    size_t len = strlen(digits), ccl = code_length(digits);
    char one[2] = {0, 0};

    check_one(e164, st);
    for (size_t i = 0; i < len; i++) {
        for (char d = '0'; d <= '9'; d++) { /* each position changed to each other digit */
            if (d == digits[i]) continue;
            one[0] = d;
            check_spliced(digits, i, one, 1, st);
        }
        check_spliced(digits, i, "", 1, st); /* one digit removed */
    }
    for (size_t i = 0; i <= len; i++) { /* one digit added, at every position */
        for (char d = '0'; d <= '9'; d++) {
            one[0] = d;
            check_spliced(digits, i, one, 0, st);
        }
    }
    /* Leading zeros before the code; national prefixes and zeros after it. */
    check_spliced(digits, 0, "0", 0, st);
    check_spliced(digits, 0, "00", 0, st);
    if (ccl == 0) return;
    static const char *const after_code[] = {"00", "000", "0000", "01", "15", "90", "80",
                                             "88", "11", "10", "19", "183", "1001"};
    for (size_t i = 0; i < sizeof after_code / sizeof after_code[0]; i++)
        check_spliced(digits, ccl, after_code[i], 0, st);
    int cc = 0;
    for (size_t i = 0; i < ccl; i++) cc = cc * 10 + (digits[i] - '0');
    char ndd[16], twice[32];
    if (phone_shim_ndd_prefix(cc, ndd, sizeof ndd) == 0 && ndd[0]) {
        check_spliced(digits, ccl, ndd, 0, st);
        snprintf(twice, sizeof twice, "%s%s", ndd, ndd);
        check_spliced(digits, ccl, twice, 0, st);
    }
    /* The national number cut short, and padded long. */
    char text[64];
    for (size_t keep = 0; keep + ccl < len; keep++) {
        snprintf(text, sizeof text, "+%.*s", (int)(ccl + keep), digits);
        check_one(text, st);
    }
    for (size_t extra = 1; len + extra < 24; extra++) {
        snprintf(text, sizeof text, "%s%.*s", e164, (int)extra, "98765432109876543210987");
        check_one(text, st);
    }
}

static void check_random(int cc, int count, corpus_stats *st) {
    char text[64];
    for (int i = 0; i < count; i++) {
        int n = snprintf(text, sizeof text, "+%d", cc);
        int tail = 1 + (int)rnd(18); /* 1..18 digits: too short, normal and too long */
        /* Some tails start with zeros, as Italian and padded numbers do. */
        int zeros = rnd(4) == 0 ? 1 + (int)rnd(3) : 0;
        for (int k = 0; k < tail; k++)
            text[n++] = (char)('0' + (k < zeros ? 0 : (int)rnd(10)));
        text[n] = '\0';
        check_one(text, st);
    }
}

static void test_fast_path_equivalence(void **state) {
    (void)state;
    assert_int_equal(phone_shim_fast_usable(), 1);

    int codes[1000];
    size_t ncodes = phone_shim_calling_codes(codes, 1000);
    assert_true(ncodes > 200 && ncodes <= 1000);
    for (size_t i = 0; i < ncodes; i++) {
        assert_true(codes[i] > 0 && codes[i] < 1000);
        known_code[codes[i]] = 1;
    }

    size_t nex = phone_shim_examples(NULL, 0);
    assert_true(nex > 1000);
    char(*examples)[PHONE_E164_MAX] = sg_xcalloc(nex, sizeof *examples);
    assert_int_equal(phone_shim_examples(examples, nex), nex);

    corpus_stats st = {0};
    for (size_t i = 0; i < nex; i++) check_variants(examples[i], &st);
    unsigned long from_examples = st.inputs;
    for (int cc = 0; cc < 1000; cc++)
        check_random(cc, CORPUS_RANDOM_PER_CODE + (known_code[cc] ? CORPUS_RANDOM_PER_KNOWN : 0),
                     &st);
    free(examples);

    print_message("fast path corpus: %lu inputs (%zu examples and %lu variants, %lu random); "
                  "fast path valid %lu, invalid %lu, declined %lu; mismatches %lu\n",
                  st.inputs, nex, from_examples - nex, st.inputs - from_examples, st.fast_valid,
                  st.fast_invalid, st.declined, st.mismatches);
    assert_int_equal(st.mismatches, 0);
    assert_true(st.inputs >= 100000);
    /* The fast path must have decided most inputs, valid ones among them. */
    assert_true(st.fast_valid > 50000);
    assert_true(st.declined < st.inputs / 4);
}

static void test_init_idempotent(void **state) {
    (void)state;
    phone_init();
    phone_init();
    expect_number("+33612345678", NULL, "+33612345678", "fr", 33, 1);
}

/* Issue 12 point 11: one SMS per distinct number, whatever form each was written in. */
static void test_set_distinct_numbers(void **state) {
    (void)state;
    static const char *const forms[] = {"+33612345678", "0612345678", "0033 6 12 34 56 78",
                                        "+33 6 12 34 56 78", "06.12.34.56.78"};
    phone_set s;
    phone_set_init(&s, 2);
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        phone_info pi;
        assert_int_equal(phone_normalize(forms[i], "FR", &pi), 0);
        assert_int_equal(phone_set_add(&s, pi.e164), i == 0);
    }
    /* Many numbers: the set grows and still tells each apart. */
    char num[PHONE_E164_MAX];
    for (int i = 0; i < 5000; i++) {
        snprintf(num, sizeof num, "+3361%07d", i);
        assert_int_equal(phone_set_add(&s, num), 1);
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(num, sizeof num, "+3361%07d", i);
        assert_int_equal(phone_set_add(&s, num), 0);
    }
    assert_int_equal(phone_set_add(&s, "+336123456789"), 1); /* one digit more: another */
    assert_int_equal(s.count, 5002);
    phone_set_fini(&s);
    phone_set_fini(&s); /* twice is harmless */
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_distinct_numbers),
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
        cmocka_unit_test(test_e164_subtle_cases),
        cmocka_unit_test(test_fast_path_taken),
        cmocka_unit_test(test_fast_path_equivalence),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    phone_init();
    return cmocka_run_group_tests_name("phone", tests, NULL, NULL);
}
