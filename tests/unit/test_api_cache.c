/*
 * test_api_cache.c - unit tests of api/api_cache: what the API remembers of authentication
 * lookups and services, that it keeps its own copies, forgets on flush, never keeps what auth
 * could not use, and stays bounded.
 *
 * Run all tests: build/tests/test_api_cache; one test: build/tests/test_api_cache <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_cache.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static store_auth_lookup_req lookup(const char *secret, const char *state, const char *rules,
                                    const char *ips) {
    store_auth_lookup_req r = {.app_found = 1, .cred_found = 1, .cred_app_matches = 1,
                               .account_id = 7, .app_id = 3, .cred_id = 9,
                               .cred_expires_ms = 123};
    r.app_secret = sg_xstrdup(secret);
    r.cred_state = sg_xstrdup(state);
    r.rules_json = rules ? sg_xstrdup(rules) : NULL;
    r.allowed_ips_json = ips ? sg_xstrdup(ips) : NULL;
    return r;
}

static void test_auth_put_get_copies(void **state) {
    (void)state;
    api_cache *c = api_cache_new();
    store_auth_lookup_req r = lookup("s3cret", "validated",
                                     "[{\"method\":\"GET\",\"path\":\"/*\"}]",
                                     "[\"127.0.0.1/32\"]");
    assert_null(api_cache_auth_get(c, "ak", "ck"));
    api_cache_auth_put(c, "ak", "ck", &r);
    store_auth_lookup_fini(&r); /* the cache kept its own copies */
    const api_cache_auth *e = api_cache_auth_get(c, "ak", "ck");
    assert_non_null(e);
    assert_string_equal(e->lookup.app_secret, "s3cret");
    assert_string_equal(e->lookup.cred_state, "validated");
    assert_int_equal(e->lookup.account_id, 7);
    assert_int_equal(e->lookup.cred_expires_ms, 123);
    assert_true(json_is_array(e->rules));
    assert_int_equal(json_array_size(e->rules), 1);
    assert_true(json_is_array(e->ips));
    assert_null(e->lookup.app_key);
    /* The key is the pair, not either half. */
    assert_null(api_cache_auth_get(c, "ak", "other"));
    assert_null(api_cache_auth_get(c, "other", "ck"));
    assert_null(api_cache_auth_get(c, "ak\nck", ""));
    api_cache_free(c);
}

static void test_auth_without_rules_or_ips(void **state) {
    (void)state;
    api_cache *c = api_cache_new();
    store_auth_lookup_req r = lookup("s", "validated", NULL, NULL);
    api_cache_auth_put(c, "ak", "ck", &r);
    store_auth_lookup_fini(&r);
    const api_cache_auth *e = api_cache_auth_get(c, "ak", "ck");
    assert_non_null(e);
    assert_true(json_is_array(e->rules)); /* no rules: an empty list, as auth reads it */
    assert_int_equal(json_array_size(e->rules), 0);
    assert_null(e->ips);
    api_cache_free(c);
}

static void test_auth_unparsable_not_kept(void **state) {
    (void)state;
    api_cache *c = api_cache_new();
    store_auth_lookup_req r = lookup("s", "validated", "[not json", NULL);
    api_cache_auth_put(c, "ak", "ck", &r);
    store_auth_lookup_fini(&r);
    assert_null(api_cache_auth_get(c, "ak", "ck"));
    r = lookup("s", "validated", "[]", "{broken");
    api_cache_auth_put(c, "ak", "ck", &r);
    store_auth_lookup_fini(&r);
    assert_null(api_cache_auth_get(c, "ak", "ck"));
    api_cache_free(c);
}

static void test_auth_replace_and_flush(void **state) {
    (void)state;
    api_cache *c = api_cache_new();
    store_auth_lookup_req r = lookup("one", "validated", "[]", NULL);
    api_cache_auth_put(c, "ak", "ck", &r);
    store_auth_lookup_fini(&r);
    r = lookup("two", "validated", "[]", NULL);
    api_cache_auth_put(c, "ak", "ck", &r);
    store_auth_lookup_fini(&r);
    assert_string_equal(api_cache_auth_get(c, "ak", "ck")->lookup.app_secret, "two");
    api_cache_flush(c);
    assert_null(api_cache_auth_get(c, "ak", "ck"));
    api_cache_free(c);
}

static void test_service_put_get_flush(void **state) {
    (void)state;
    api_cache *c = api_cache_new();
    store_service s = {.id = 5, .account_id = 2, .balance = 42000};
    s.name = sg_xstrdup("sms-acme-1");
    s.short_number = sg_xstrdup("36184");
    s.callback = sg_xstrdup("https://example.com/dlr");
    api_cache_service_put(c, &s);
    store_service_fini(&s);
    const store_service *e = api_cache_service_get(c, "sms-acme-1");
    assert_non_null(e);
    assert_int_equal(e->id, 5);
    assert_int_equal(e->account_id, 2);
    assert_int_equal(e->balance, 42000);
    assert_string_equal(e->short_number, "36184");
    assert_string_equal(e->callback, "https://example.com/dlr");
    assert_null(e->description);
    store_service copy;
    api_cache_service_copy(&copy, e);
    api_cache_flush(c);
    assert_null(api_cache_service_get(c, "sms-acme-1"));
    assert_string_equal(copy.short_number, "36184"); /* a copy outlives the cache entry */
    store_service_fini(&copy);
    api_cache_free(c);
}

static void test_bounded(void **state) {
    (void)state;
    api_cache *c = api_cache_new();
    char name[32];
    for (int i = 0; i <= API_CACHE_MAX; i++) {
        store_service s = {.id = i + 1};
        snprintf(name, sizeof name, "sms-n%d-1", i);
        s.name = name;
        api_cache_service_put(c, &s);
    }
    /* The put after the limit emptied the table first: only the last one is left. */
    snprintf(name, sizeof name, "sms-n%d-1", API_CACHE_MAX);
    assert_non_null(api_cache_service_get(c, name));
    assert_null(api_cache_service_get(c, "sms-n0-1"));
    api_cache_free(c);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_put_get_copies),
        cmocka_unit_test(test_auth_without_rules_or_ips),
        cmocka_unit_test(test_auth_unparsable_not_kept),
        cmocka_unit_test(test_auth_replace_and_flush),
        cmocka_unit_test(test_service_put_get_flush),
        cmocka_unit_test(test_bounded),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("api_cache", tests, NULL, NULL);
}
