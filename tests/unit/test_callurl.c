/*
 * test_callurl.c - unit tests of core/callurl: the URL of a status callback (parameters in
 * order, percent-encoding, an existing query or fragment in the callBack), the origin a URL's
 * calls are counted under, and the query string the signature covers.
 *
 * Run all tests: build/tests/test_callurl; one test: build/tests/test_callurl <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/callurl.h"

#define TEST_TIMEOUT_S 60

static void test_status_url(void **state) {
    (void)state;
    callurl_params p = {.id = 42, .dlr = 16, .ptt = 23, .date_ms = 1717171717123,
                            .sender = "My Shop", .receiver = "+33612345678", .tag = NULL};
    char *u = callurl_status("https://h.example/cb", &p);
    assert_string_equal(u, "https://h.example/cb?id=42&dlr=16&ptt=23&date=1717171717"
                           "&sender=My%20Shop&receiver=%2B33612345678&description=16"
                           "&descriptionDlr=Error%2C%20not%20billed&tag=");
    free(u);
    p.tag = "a&b=c";
    p.dlr = 1;
    u = callurl_status("http://h/cb?token=x#frag", &p);
    assert_string_equal(u, "http://h/cb?token=x&id=42&dlr=1&ptt=23&date=1717171717"
                           "&sender=My%20Shop&receiver=%2B33612345678&description=1"
                           "&descriptionDlr=Success&tag=a%26b%3Dc");
    free(u);
    u = callurl_status("http://h/cb?", &p);
    assert_true(!strncmp(u, "http://h/cb?id=42&", 18));
    free(u);
    u = callurl_status("http://h/cb?a=1&", &p);
    assert_true(!strncmp(u, "http://h/cb?a=1&id=42&", 22));
    free(u);
}

/* Calls of other kinds: any parameters, joined and encoded as a status call's. */
static void test_with(void **state) {
    (void)state;
    callurl_kv kv[] = {{"id", "7"}, {"message", "Oui, merci +33"}, {"tag", NULL}};
    char *u = callurl_with("https://h.example/r?k=v#f", kv, 3);
    assert_string_equal(u, "https://h.example/r?k=v&id=7&message=Oui%2C%20merci%20%2B33&tag=");
    free(u);
    u = callurl_with("http://h/r", kv, 1);
    assert_string_equal(u, "http://h/r?id=7");
    free(u);
    u = callurl_with("http://h/r?a=1&", kv, 0);
    assert_string_equal(u, "http://h/r?a=1&");
    free(u);
}

static void test_origin_and_query(void **state) {
    (void)state;
    static const struct {
        const char *url, *origin;
    } cases[] = {
        {"http://Example.COM/x?y", "http://example.com:80"},
        {"HTTPS://user:pw@h.example:8443", "https://h.example:8443"},
        {"https://h.example?q=1", "https://h.example:443"},
        {"http://[::1]:9/p", "http://[::1]:9"},
        {"http://[::1]/p", "http://[::1]:80"},
        {"http://127.0.0.1:0/", NULL},
        {"http://h:99999/", NULL},
        {"http://h:8x/", NULL},
        {"http:///path", NULL},
        {"ftp://h/", NULL},
        {"http://[::1/", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *o = callurl_origin(cases[i].url);
        if (cases[i].origin) {
            assert_non_null(o);
            assert_string_equal(o, cases[i].origin);
        } else {
            assert_null(o);
        }
        free(o);
    }
    size_t n;
    const char *q = callurl_query("http://h/p?a=1&b=2#f", &n);
    assert_int_equal(n, 7);
    assert_memory_equal(q, "a=1&b=2", 7);
    callurl_query("http://h/p#f?x", &n);
    assert_int_equal(n, 0);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_url),
        cmocka_unit_test(test_with),
        cmocka_unit_test(test_origin_and_query),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("callurl", tests, NULL, NULL);
}
