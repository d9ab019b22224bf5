/*
 * test_optout.c - unit tests of core/optout: folding (case, accents, spaces, edge
 * punctuation, invalid UTF-8, length), the default keywords in their usual spellings, the
 * stop clause's short number after a keyword, texts that are not opt-outs, and a configured
 * list.
 *
 * Run all tests: build/tests/test_optout; one test: build/tests/test_optout <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "core/optout.h"

#define TEST_TIMEOUT_S 60

static const char *fold(const char *s) {
    static char out[OPTOUT_MAX_TEXT + 1];
    size_t n = optout_fold(s, out, sizeof out);
    return n == (size_t)-1 ? "<none>" : out;
}

static void test_fold(void **state) {
    (void)state;
    assert_string_equal(fold("stop"), "STOP");
    assert_string_equal(fold("  Stop \n"), "STOP");
    assert_string_equal(fold("Arrêt"), "ARRET");
    assert_string_equal(fold("ARRÊT"), "ARRET");
    assert_string_equal(fold("désabonner"), "DESABONNER");
    assert_string_equal(fold("Ça œuvre Ĳ ß"), "CA OEUVRE IJ SS");
    assert_string_equal(fold("stop\t\t 36184"), "STOP 36184");
    assert_string_equal(fold("\xC2\xA0STOP\xE2\x80\xAF" "36184\xC2\xA0"), "STOP 36184"); /* nbsp */
    assert_string_equal(fold("Stop!"), "STOP");
    assert_string_equal(fold("...stop."), "STOP");
    assert_string_equal(fold("\xEF\xBB\xBFstop"), "STOP"); /* a byte order mark */
    assert_string_equal(fold(""), "");
    assert_string_equal(fold("   "), "");
    assert_string_equal(fold("stop \xF0\x9F\x98\x80"), "STOP \xF0\x9F\x98\x80"); /* kept */
    assert_string_equal(fold("a \xC3\x97 b"), "A \xC3\x97 B");                    /* × kept */
    /* invalid UTF-8 (a lone continuation byte, an overlong form, a truncated sequence) */
    assert_string_equal(fold("st\x80op"), "<none>");
    assert_string_equal(fold("\xC0\xAF"), "<none>");
    assert_string_equal(fold("stop\xC3"), "<none>");
    /* longer than the buffer once folded */
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_string_equal(fold(big), "<none>");
    /* idempotent (invariant 1) */
    const char *samples[] = {" Arrêt SMS ", "stop 36184", "Ça œuvre", "x.y!"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char once[OPTOUT_MAX_TEXT + 1], twice[OPTOUT_MAX_TEXT + 1];
        optout_fold(samples[i], once, sizeof once);
        optout_fold(once, twice, sizeof twice);
        assert_string_equal(once, twice);
    }
}

static void test_default_keywords(void **state) {
    (void)state;
    optout_rules *r = optout_rules_new(NULL, "STOP 36184");
    assert_string_equal(optout_short_number(r), "36184");
    const char *yes[] = {"STOP", "stop", "Stop", "  stop  ", "STOP.", "Stop !", "ARRET",
                         "Arrêt", "arret", "ARRÊT", "Stop SMS", "stop  sms", "STOP 36184",
                         "stop36184", "Stop 36184", "ARRET 36184", "UNSUBSCRIBE",
                         "unsubscribe", "Désabonner", "STOPALL", "Arrêter"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!optout_match(r, yes[i])) fail_msg("'%s' should be an opt-out", yes[i]);
    const char *no[] = {"", "   ", "Oui, merci", "STOPPER", "non stop", "STOP 12345",
                        "stop 3618", "stop 361845", "please stop sending", "STOP?",
                        "ST OP", "S.T.O.P", "arrete de m'ecrire", NULL};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (optout_match(r, no[i])) fail_msg("'%s' should not be an opt-out", no[i]);
    optout_rules_free(r);
}

static void test_short_number(void **state) {
    (void)state;
    optout_rules *r = optout_rules_new(NULL, "STOP 36184");
    assert_true(optout_is_short_number(r, "36184"));
    assert_true(optout_is_short_number(r, "+36184"));
    assert_true(optout_is_short_number(r, "0036184"));
    assert_false(optout_is_short_number(r, "38184"));
    assert_false(optout_is_short_number(r, "+33612345678"));
    assert_false(optout_is_short_number(r, NULL));
    optout_rules_free(r);
    /* A clause without digits: no short number, keywords alone still match. */
    r = optout_rules_new(NULL, "Reply STOP to opt out");
    assert_string_equal(optout_short_number(r), "");
    assert_false(optout_is_short_number(r, "36184"));
    assert_true(optout_match(r, "stop"));
    assert_false(optout_match(r, "stop 36184"));
    optout_rules_free(r);
    r = optout_rules_new(NULL, NULL);
    assert_string_equal(optout_short_number(r), "");
    optout_rules_free(r);
    /* The last run of digits is the number. */
    r = optout_rules_new(NULL, "Stop au 3 6 1 8 4 ou STOP 38100");
    assert_string_equal(optout_short_number(r), "38100");
    optout_rules_free(r);
}

static void test_configured_list(void **state) {
    (void)state;
    optout_rules *r = optout_rules_new(" fin , Quitter,,NO MORE, désinscription ", "STOP 36184");
    assert_true(optout_match(r, "FIN"));
    assert_true(optout_match(r, "quitter"));
    assert_true(optout_match(r, "no   more"));
    assert_true(optout_match(r, "Desinscription"));
    assert_true(optout_match(r, "fin 36184"));
    assert_false(optout_match(r, "stop")); /* the list replaces the default */
    assert_false(optout_match(r, ""));
    optout_rules_free(r);
    /* An empty list: nothing is an opt-out. */
    r = optout_rules_new("", "STOP 36184");
    assert_false(optout_match(r, "STOP"));
    assert_false(optout_match(r, "36184"));
    optout_rules_free(r);
    optout_rules_free(NULL);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_default_keywords),
        cmocka_unit_test(test_short_number),
        cmocka_unit_test(test_configured_list),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("optout", tests, NULL, NULL);
}
