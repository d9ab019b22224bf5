/*
 * test_http2sms.c - unit tests of core/http2sms: the contentType values, the answer in each
 * format (success and error, with the caller's text escaped), credits as OVH writes them, and
 * the deferred date read in French time (winter, summer, the hour that does not exist, bad
 * dates).
 *
 * Run all tests: build/tests/test_http2sms; one test: build/tests/test_http2sms <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/http2sms.h"

#define TEST_TIMEOUT_S 60

static void test_formats(void **state) {
    (void)state;
    h2s_format f;
    assert_int_equal(h2s_format_of(NULL, &f), 0);
    assert_int_equal(f, H2S_PLAIN);
    assert_int_equal(h2s_format_of("text/XML", &f), 0);
    assert_int_equal(f, H2S_XML);
    assert_int_equal(h2s_format_of("application/xml", &f), 0);
    assert_int_equal(f, H2S_XML);
    assert_int_equal(h2s_format_of("text/json", &f), 0);
    assert_int_equal(f, H2S_JSON);
    assert_int_equal(h2s_format_of("application/json", &f), 0);
    assert_int_equal(f, H2S_JSON);
    assert_int_equal(h2s_format_of("text/html", &f), 0);
    assert_int_equal(f, H2S_HTML);
    assert_int_equal(h2s_format_of("image/png", &f), -1);
    assert_int_equal(f, H2S_PLAIN);
}

static void test_credits(void **state) {
    (void)state;
    char s[32];
    h2s_credits(1987000, s, sizeof s);
    assert_string_equal(s, "1987");
    h2s_credits(85950, s, sizeof s);
    assert_string_equal(s, "85.95");
    h2s_credits(500, s, sizeof s);
    assert_string_equal(s, "0.5");
    h2s_credits(1, s, sizeof s);
    assert_string_equal(s, "0.001");
    h2s_credits(0, s, sizeof s);
    assert_string_equal(s, "0");
    h2s_credits(-1500, s, sizeof s);
    assert_string_equal(s, "-1.5");
}

static void test_render(void **state) {
    (void)state;
    int64_t ids[] = {10867690, 10867691};
    h2s_answer ok = {.status = 100, .credits_left = 1987000, .ids = ids, .count = 2};
    char *s = h2s_render(H2S_JSON, &ok);
    assert_string_equal(s, "{\"status\":100,\"creditLeft\":\"1987\","
                           "\"SmsIds\":[\"10867690\",\"10867691\"]}");
    free(s);
    s = h2s_render(H2S_PLAIN, &ok);
    assert_string_equal(s, "OK\n1987\n10867690\n10867691\n");
    free(s);
    s = h2s_render(H2S_XML, &ok);
    assert_string_equal(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><status>100"
                           "</status><creditLeft>1987</creditLeft><smsIds><smsId>10867690"
                           "</smsId><smsId>10867691</smsId></smsIds></response>\n");
    free(s);
    s = h2s_render(H2S_HTML, &ok);
    assert_non_null(strstr(s, "<BODY>\nOK<br>\n1987<br>\n10867690<br>\n10867691<br>\n</BODY>"));
    free(s);

    h2s_answer ko = {.status = 201, .message = "Missing <message> & \"more\"\nline"};
    s = h2s_render(H2S_JSON, &ko);
    assert_string_equal(s, "{\"status\":201,\"message\":\"Missing <message> & \\\"more\\\"\\nline\"}");
    free(s);
    s = h2s_render(H2S_PLAIN, &ko);
    assert_string_equal(s, "KO\n201 Missing <message> & \"more\" line\n");
    free(s);
    s = h2s_render(H2S_XML, &ko);
    assert_non_null(strstr(s, "<response><status>201</status><message>Missing &lt;message&gt; "
                              "&amp; &quot;more&quot;\nline</message></response>"));
    free(s);
    s = h2s_render(H2S_HTML, &ko);
    assert_non_null(strstr(s, "KO<br>\n201 Missing &lt;message&gt; &amp;"));
    free(s);
}

static void test_deferred(void **state) {
    (void)state;
    int64_t ms;
    /* OVH's example: 18:30 on 19/07/2020, summer time (UTC+2) */
    assert_int_equal(h2s_deferred_ms("183019072020", &ms), 0);
    assert_int_equal(ms, 1595176200000LL); /* 2020-07-19T16:30:00Z */
    /* winter (UTC+1): 12:50 on 28/11/2017 */
    assert_int_equal(h2s_deferred_ms("125028112017", &ms), 0);
    assert_int_equal(ms, 1511869800000LL); /* 2017-11-28T11:50:00Z */
    /* 02:30 on 29/03/2020 does not exist in Paris: the gap ends at 01:00Z */
    assert_int_equal(h2s_deferred_ms("023029032020", &ms), 0);
    assert_int_equal(ms, 1585443600000LL);
    assert_int_equal(h2s_deferred_ms("243019072020", &ms), -1);
    assert_int_equal(h2s_deferred_ms("183031022020", &ms), -1);
    assert_int_equal(h2s_deferred_ms("183029022021", &ms), -1);
    assert_int_equal(h2s_deferred_ms("183029022020", &ms), 0);
    assert_int_equal(h2s_deferred_ms("18301907202", &ms), -1);
    assert_int_equal(h2s_deferred_ms("18301907202a", &ms), -1);
    assert_int_equal(h2s_deferred_ms(NULL, &ms), -1);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_credits),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_deferred),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("http2sms", tests, NULL, NULL);
}
