/*
 * test_kannel.c - unit tests of core/kannel: which dlr-mask bit a status event is, and the
 * expansion of a dlr-url with Kannel's escapes (encoding, the words of the text, '%' that are
 * not escapes, the user's name put in before the URL is stored).
 *
 * Run all tests: build/tests/test_kannel; one test: build/tests/test_kannel <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/kannel.h"
#include "core/receipt.h"

#define TEST_TIMEOUT_S 60

static void test_dlr_type(void **state) {
    (void)state;
    assert_int_equal(kannel_dlr_type(MSG_SUBMITTED, 1), KANNEL_DLR_SMSC_ACK);
    assert_int_equal(kannel_dlr_type(MSG_ENROUTE, 1), KANNEL_DLR_BUFFERED);
    assert_int_equal(kannel_dlr_type(MSG_DELIVERED, 1), KANNEL_DLR_DELIVERED);
    assert_int_equal(kannel_dlr_type(MSG_FAILED, 1), KANNEL_DLR_UNDELIVERED);
    assert_int_equal(kannel_dlr_type(MSG_FAILED, 0), KANNEL_DLR_SMSC_NACK);
    assert_int_equal(kannel_dlr_type(MSG_QUEUED, 0), 0);
    assert_int_equal(kannel_dlr_type(MSG_CANCELLED, 0), 0);
    assert_string_equal(kannel_dlr_reply(KANNEL_DLR_UNDELIVERED, DLR_ERROR), "UNDELIV");
    assert_string_equal(kannel_dlr_reply(KANNEL_DLR_UNDELIVERED, DLR_FAILED), "REJECTD");
    assert_string_equal(kannel_dlr_reply(KANNEL_DLR_SMSC_ACK, DLR_SUBMITTED), "ACK/");
}

static void test_escapes(void **state) {
    (void)state;
    kannel_dlr d = {.type = 1, .dlr = 1, .id = 42, .ts_ms = 1717171717123,
                    .phone = "+33612345678", .sender = "0033123", .text = "HELLO  big* world",
                    .smsc = "sim", .foreign_id = "ab12", .coding = 0, .mclass = 1};
    char *u = kannel_dlr_url("http://h/dlr?s=%d&to=%p&q=%q&from=%P&Q=%Q&id=%I&t=%T&f=%F&i=%i"
                             "&A=%A&c=%c&C=%C&m=%m&x=%2F%z",
                             &d);
    assert_string_equal(u, "http://h/dlr?s=1&to=%2B33612345678&q=%2B33612345678&from=0033123"
                           "&Q=%2B33123&id=42&t=1717171717&f=ab12&i=sim&A=DELIVRD&c=0&C=GSM&m=1"
                           "&x=%2F%z");
    free(u);
    u = kannel_dlr_url("k=%k&s=%s&S=%S&r=%r&a=%a&b=%b&t=%t", &d);
    assert_string_equal(u, "k=HELLO&s=big%2A&S=world&r=&a=HELLO%20big%2A%20world"
                           "&b=HELLO%20%20big%2A%20world&t=2024-05-31%2016%3A08");
    free(u);
    u = kannel_dlr_url("S=%S&r=%r", &d);
    assert_string_equal(u, "S=big~&r=world");
    free(u);
    d.coding = 1;
    d.text = NULL;
    d.mclass = -1;
    u = kannel_dlr_url("c=%c&C=%C&m=%m&b=%b&k=%k&end%", &d);
    assert_string_equal(u, "c=2&C=UTF-16BE&m=&b=&k=&end%");
    free(u);
}

static void test_user(void **state) {
    (void)state;
    char *t = kannel_dlr_url_user("http://h/?u=%n&d=%d", "t\xc3\xa9" "am 1");
    assert_string_equal(t, "http://h/?u=t%%C3%%A9am%%201&d=%d");
    kannel_dlr d = {.type = 16, .id = 1};
    char *u = kannel_dlr_url(t, &d);
    assert_string_equal(u, "http://h/?u=t%C3%A9am%201&d=16");
    free(u);
    free(t);
    t = kannel_dlr_url_user("http://h/?u=%n", NULL);
    assert_string_equal(t, "http://h/?u=");
    free(t);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dlr_type),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_user),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("kannel", tests, NULL, NULL);
}
