/*
 * test_price.c - unit tests of core/price: the built-in table covers sms.CountryEnum, lookups,
 * and price_set_overrides() including '*' and every kind of error, each of which must leave
 * the table exactly as it was.
 *
 * Run all tests: build/tests/test_price; one test: build/tests/test_price <name-or-glob>.
 * The table is process-wide state, so every test runs between snapshot() and restore(): the
 * group setup records the built-in rates, and each test's teardown writes them back through
 * price_set_overrides() itself (all 207 codes named, '*' for the unknown rate), so tests do
 * not depend on their order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/price.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60
#define NCC 207

/* sms.CountryEnum of spec section 4, without "all", copied independently of price.c. */
static const char *const countries[NCC] = {
    "ad", "ae", "af", "ag", "ai", "al", "am", "an", "ao", "ar", "at", "au", "aw", "az", "ba",
    "bb", "bd", "be", "bf", "bg", "bh", "bi", "bj", "bm", "bn", "bo", "br", "bs", "bt", "bw",
    "by", "bz", "ca", "cd", "cf", "cg", "ch", "ci", "ck", "cl", "cm", "cn", "co", "cr", "cu",
    "cv", "cy", "cz", "de", "dk", "dm", "dz", "ec", "ee", "eg", "es", "et", "fi", "fj", "fk",
    "fo", "fr", "ga", "gb", "gd", "ge", "gf", "gh", "gi", "gl", "gm", "gn", "gp", "gq", "gr",
    "gt", "gu", "gw", "gy", "hk", "hn", "hr", "ht", "hu", "id", "ie", "il", "in", "io", "iq",
    "ir", "is", "it", "jm", "jo", "jp", "ke", "kg", "kh", "km", "kn", "kr", "kw", "ky", "kz",
    "la", "lb", "lc", "li", "lk", "lr", "ls", "lt", "lu", "lv", "ly", "ma", "md", "me", "mg",
    "mk", "ml", "mn", "mo", "mq", "mr", "ms", "mt", "mu", "mv", "mw", "mx", "my", "mz", "na",
    "nc", "ne", "ng", "ni", "nl", "no", "np", "nz", "om", "pa", "pe", "pf", "pg", "ph", "pk",
    "pl", "ps", "pt", "py", "qa", "re", "ro", "rs", "ru", "rw", "sa", "sb", "sc", "sd", "se",
    "sg", "si", "sk", "sl", "sm", "sn", "so", "sr", "st", "sv", "sy", "sz", "tc", "td", "tg",
    "th", "tj", "tl", "tm", "tn", "to", "tr", "tt", "tw", "tz", "ua", "ug", "us", "uy", "uz",
    "vc", "ve", "vg", "vi", "vn", "vu", "ws", "ye", "yt", "za", "zm", "zw",
};

typedef struct rates {
    double cc[NCC];
    double unknown;
} rates;

static rates builtin;

static void snapshot(rates *r) {
    for (int i = 0; i < NCC; i++) r->cc[i] = price_credits_per_part(countries[i]);
    r->unknown = price_credits_per_part("zz");
}

static void assert_rates_equal(const rates *a, const rates *b) {
    for (int i = 0; i < NCC; i++)
        if (a->cc[i] != b->cc[i])
            fail_msg("rate of '%s' changed: %g -> %g", countries[i], a->cc[i], b->cc[i]);
    assert_true(a->unknown == b->unknown);
}

static int group_setup(void **state) {
    (void)state;
    snapshot(&builtin);
    return 0;
}

/* Writes the built-in rates back, through the public API. */
static int restore(void **state) {
    (void)state;
    char spec[NCC * 32 + 64];
    size_t n = 0;
    for (int i = 0; i < NCC; i++)
        n += (size_t)snprintf(spec + n, sizeof spec - n, "%s=%.17g,", countries[i], builtin.cc[i]);
    snprintf(spec + n, sizeof spec - n, "*=%.17g", builtin.unknown);
    if (price_set_overrides(spec) != 0) return -1;
    rates now;
    snapshot(&now);
    return memcmp(&now, &builtin, sizeof now) == 0 ? 0 : -1;
}

static void test_every_country_known(void **state) {
    (void)state;
    for (int i = 0; i < NCC; i++) {
        if (!price_country_known(countries[i])) fail_msg("'%s' unknown", countries[i]);
        double r = price_credits_per_part(countries[i]);
        if (!(r >= 0.5 && r <= 6.0)) fail_msg("'%s' costs %g", countries[i], r);
    }
}

static void test_unknown_countries(void **state) {
    (void)state;
    const char *bad[] = {"all", "zz", "xx", "FR", "Fr", "f", "fra", "", "f1", "uk", "eu", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(price_country_known(bad[i]), 0);
        assert_true(price_credits_per_part(bad[i]) == builtin.unknown);
    }
}

static void test_builtin_rates(void **state) {
    (void)state;
    assert_true(price_credits_per_part("fr") == 1.0);
    double de = price_credits_per_part("de");
    assert_true(de > 1.0 && de <= 6.0);
    /* An unknown destination is never cheaper than any known one. */
    assert_true(price_credits_per_part("zz") == 6.0);
    for (int i = 0; i < NCC; i++) assert_true(builtin.cc[i] <= builtin.unknown);
    /* France is the cheapest destination. */
    for (int i = 0; i < NCC; i++) assert_true(builtin.cc[i] >= 1.0);
}

static void test_override_some(void **state) {
    (void)state;
    assert_int_equal(price_set_overrides("fr=1.2,de=2.5"), 0);
    assert_true(price_credits_per_part("fr") == 1.2);
    assert_true(price_credits_per_part("de") == 2.5);
    rates now;
    snapshot(&now);
    for (int i = 0; i < NCC; i++)
        if (strcmp(countries[i], "fr") != 0 && strcmp(countries[i], "de") != 0)
            assert_true(now.cc[i] == builtin.cc[i]);
    assert_true(now.unknown == builtin.unknown);

    /* Later calls apply on top of earlier ones. */
    assert_int_equal(price_set_overrides("it=0"), 0);
    assert_true(price_credits_per_part("it") == 0.0);
    assert_true(price_credits_per_part("de") == 2.5);
}

static void test_override_star(void **state) {
    (void)state;
    assert_int_equal(price_set_overrides("fr=1,de=2.5,*=3"), 0);
    assert_true(price_credits_per_part("fr") == 1.0);
    assert_true(price_credits_per_part("de") == 2.5);
    assert_true(price_credits_per_part("it") == 3.0);
    assert_true(price_credits_per_part("us") == 3.0);
    assert_true(price_credits_per_part("zw") == 3.0);
    assert_true(price_credits_per_part("zz") == 3.0);
    assert_true(price_credits_per_part(NULL) == 3.0);

    /* '*' may come first; countries named anywhere in the same spec are kept. */
    assert_int_equal(price_set_overrides("*=0.75,gb=1.25"), 0);
    assert_true(price_credits_per_part("gb") == 1.25);
    assert_true(price_credits_per_part("fr") == 0.75);
    assert_true(price_credits_per_part("de") == 0.75);
    assert_true(price_credits_per_part("zz") == 0.75);
}

static void test_override_syntax(void **state) {
    (void)state;
    assert_int_equal(price_set_overrides(" fr = 1.5 ,\tde=2 , *= 4 "), 0);
    assert_true(price_credits_per_part("fr") == 1.5);
    assert_true(price_credits_per_part("de") == 2.0);
    assert_true(price_credits_per_part("es") == 4.0);
    assert_int_equal(price_set_overrides("fr=1000"), 0);
    assert_true(price_credits_per_part("fr") == 1000.0);
    assert_int_equal(price_set_overrides("fr=0.0"), 0);
    assert_true(price_credits_per_part("fr") == 0.0);
    assert_int_equal(price_set_overrides("fr=007.50"), 0);
    assert_true(price_credits_per_part("fr") == 7.5);
}

static void test_override_empty(void **state) {
    (void)state;
    rates before, after;
    snapshot(&before);
    assert_int_equal(price_set_overrides(""), 0);
    assert_int_equal(price_set_overrides("  \t "), 0);
    snapshot(&after);
    assert_rates_equal(&before, &after);
}

static void test_override_errors_leave_table(void **state) {
    (void)state;
    static const char *const bad[] = {
        "xx=1", "FR=1", "all=1", "f=1", "fra=1", "zz=2",     /* unknown codes */
        "fr=-1", "fr=+1", "*=-0.5",                          /* negative / signed */
        "fr=nan", "fr=NaN", "fr=inf", "fr=infinity", "*=inf", /* non-finite */
        "fr=1e3", "fr=1E-2", "fr=0x10", "fr=1.2.3", "fr=.5", "fr=5.", "fr=1 2", "fr=1,5",
        "fr=1001", "fr=1000.5", "fr=0000000000000000000000000000000001", /* bound, length */
        "fr=", "fr", "=1", "*", "*=", "fr==1", "fr:1", "fr 1",
        "fr=1,", ",fr=1", "fr=1,,de=2", "fr=1;de=2", ",",
        "fr=1,fr=2", "*=1,*=2",                             /* repeated keys */
        "de=2,fr=abc", "*=3,zz=1", "fr=2,de=3,*=4,xx=5",    /* good items, then an error */
        "fr=1\n", "fr=1\xc2\xa0",
    };
    /* Start from a state that differs from the built-in one, to see nothing moves back. */
    assert_int_equal(price_set_overrides("fr=1.5,*=2"), 0);
    rates before, after;
    snapshot(&before);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = price_set_overrides(bad[i]);
        if (rc != SG_EINVAL) fail_msg("'%s' gave %d, expected SG_EINVAL", bad[i], rc);
        snapshot(&after);
        assert_rates_equal(&before, &after);
    }
    assert_int_equal(price_set_overrides(NULL), SG_EINVAL);
    snapshot(&after);
    assert_rates_equal(&before, &after);
}

static void test_restore_roundtrip(void **state) {
    (void)state;
    /* The teardown's own mechanism: after wild overrides, restore() gets the built-ins back. */
    assert_int_equal(price_set_overrides("*=0.1,fr=0.3"), 0);
    assert_int_equal(restore(NULL), 0);
    assert_true(price_credits_per_part("fr") == 1.0);
}

#define T(f) cmocka_unit_test_teardown(f, restore)

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        T(test_every_country_known),
        T(test_unknown_countries),
        T(test_builtin_rates),
        T(test_override_some),
        T(test_override_star),
        T(test_override_syntax),
        T(test_override_empty),
        T(test_override_errors_leave_table),
        T(test_restore_roundtrip),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("price", tests, group_setup, NULL);
}
