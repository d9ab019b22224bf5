/*
 * test_auth.c - unit tests for src/auth/sign.c: signatures, verification, access rules, IPs.
 *
 * Every expected signature below was computed outside smsgate, with coreutils, while the test
 * was written, e.g.
 *     printf %s 'AS+CK+GET+https://eu.api.ovh.com/1.0/auth/currentCredential++1366560945' \
 *         | sha1sum
 * so the tests check the hash input byte for byte, not just that signing and verifying agree.
 *
 * Run all tests, or only those whose name matches a cmocka filter pattern:
 *     test_auth                 test_auth 'test_verify_*'
 * The whole run is killed by SIGALRM after TEST_TIMEOUT_S seconds so a hang fails loudly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "auth/sign.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 30

#define AS "EgWIz07P0HYwtQDs"
#define CK "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1"
#define TS "1366560945"

/* sha1("EgWIz07P0HYwtQDs+MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1+GET+
 *       https://eu.api.ovh.com/1.0/auth/currentCredential++1366560945") */
#define SIG_KAT "$1$6d5517c72bf322a28649c90bf46649d580616487"
/* sha1("+++++"): every field empty */
#define SIG_EMPTY "$1$0b31475e483959e9aa90dc56099c7e1c427928b0"

/* One POST signed three ways: AS+CK+POST+{prefix}{TARGET}+{BODY}+TS */
#define TARGET "/1.0/sms/sms-ab12345-1/jobs?tag=a%20b"
#define BODY "{\"message\":\"Hello\",\"receivers\":[\"+33612345678\"],\"sender\":\"ACME\"}"
#define SIG_NODE "$1$ea5df56db39a9470092f1cca2dfd25a352dbc839" /* https://127.0.0.1 */
#define SIG_PHP "$1$9788fc23ab90191317cb990255de7ed40d300532"  /* http://127.0.0.1:8080 */
#define SIG_PUB "$1$36733897f98dfdb9f5f47d3626988c71ffbf40b5"  /* https://sms.example.com */

/* GET /1.0/sms, empty body */
#define SIG_V6_NODE "$1$b9aa2812627793bbf3a2588cf8e0836be98181b2" /* https://[::1] */
#define SIG_V6_PHP "$1$a51e7abe78790bb36b31824e451397c29d223b01"  /* http://[::1]:8443 */
#define SIG_HTTP_NOPORT "$1$099e03cc56cb087844a1e9c0a90dbc0d2764a400" /* http://localhost */

/* ---------------------------------------------------------------------------------------------
 * Helpers
 */

/* A POST of BODY to TARGET with the right keys; each test changes what it needs. */
static auth_verify_in post_in(const char *host, int tls, const char *sig) {
    auth_verify_in in = {
        .app_secret = AS,
        .consumer_key = CK,
        .method = "POST",
        .target = TARGET,
        .host = host,
        .tls = tls,
        .public_urls = NULL,
        .body = (const unsigned char *)BODY,
        .body_len = strlen(BODY),
        .timestamp = TS,
        .signature = sig,
    };
    return in;
}

static auth_verify_in get_sms_in(const char *host, int tls, const char *sig) {
    auth_verify_in in = post_in(host, tls, sig);
    in.method = "GET";
    in.target = "/1.0/sms";
    in.body = NULL;
    in.body_len = 0;
    return in;
}

static json_t *json(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j) fail_msg("bad JSON in test: %s (%s)", text, e.text);
    return j;
}

static int allowed(const char *cidrs_json, const char *ip) {
    json_t *a = json(cidrs_json);
    int r = auth_ip_allowed(a, ip);
    json_decref(a);
    return r;
}

static int cidrs_valid(const char *cidrs_json) {
    json_t *a = json(cidrs_json);
    char err[160] = "";
    int r = auth_cidrs_validate(a, err, sizeof err);
    if (r != 0) assert_true(err[0] != '\0');
    json_decref(a);
    return r;
}

static int rules_valid(const char *rules_json, char *err, size_t errlen) {
    json_t *r = json(rules_json);
    int rc = auth_rules_validate(r, err, errlen);
    json_decref(r);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * auth_signature, auth_signature_equal
 */

static void test_signature_known_answer(void **state) {
    (void)state;
    char sig[AUTH_SIG_LEN];
    auth_signature(AS, CK, "GET", "https://eu.api.ovh.com/1.0/auth/currentCredential", NULL, 0,
                   TS, sig);
    assert_string_equal(sig, SIG_KAT);
    assert_int_equal(strlen(sig), AUTH_SIG_LEN - 1);

    auth_signature("", "", "", "", NULL, 0, "", sig);
    assert_string_equal(sig, SIG_EMPTY);

    /* The body is hashed as bytes with its length: a NUL inside it counts. */
    char sig2[AUTH_SIG_LEN];
    auth_signature(AS, CK, "POST", "u", (const unsigned char *)"a\0b", 3, TS, sig);
    auth_signature(AS, CK, "POST", "u", (const unsigned char *)"a\0c", 3, TS, sig2);
    assert_string_not_equal(sig, sig2);
}

static void test_signature_post_forms(void **state) {
    (void)state;
    char sig[AUTH_SIG_LEN];
    const unsigned char *b = (const unsigned char *)BODY;
    auth_signature(AS, CK, "POST", "https://127.0.0.1" TARGET, b, strlen(BODY), TS, sig);
    assert_string_equal(sig, SIG_NODE);
    auth_signature(AS, CK, "POST", "http://127.0.0.1:8080" TARGET, b, strlen(BODY), TS, sig);
    assert_string_equal(sig, SIG_PHP);
    auth_signature(AS, CK, "POST", "https://sms.example.com" TARGET, b, strlen(BODY), TS, sig);
    assert_string_equal(sig, SIG_PUB);
}

static void test_signature_equal(void **state) {
    (void)state;
    assert_true(auth_signature_equal(SIG_KAT, SIG_KAT));
    assert_true(auth_signature_equal(SIG_KAT, "$1$6D5517C72BF322A28649C90BF46649D580616487"));
    assert_true(auth_signature_equal("$1$ABCDEF", "$1$abcdef"));
    assert_false(auth_signature_equal(SIG_KAT, SIG_EMPTY));
    assert_false(auth_signature_equal(SIG_KAT, "$1$6d5517c72bf322a28649c90bf46649d58061648"));
    assert_false(auth_signature_equal(SIG_KAT, "$1$6d5517c72bf322a28649c90bf46649d580616486"));
    assert_false(auth_signature_equal("$1$g", "$1$G")); /* only hex digits fold */
    assert_false(auth_signature_equal("$1$", "$1$a"));
    assert_true(auth_signature_equal("", ""));
    assert_false(auth_signature_equal(NULL, SIG_KAT));
    assert_false(auth_signature_equal(SIG_KAT, NULL));
}

/* ---------------------------------------------------------------------------------------------
 * auth_verify
 */

static void test_verify_node_form(void **state) {
    (void)state;
    /* node signs https://{host} without the port, whatever port it connects to. */
    auth_verify_in in = post_in("127.0.0.1:8443", 1, SIG_NODE);
    assert_int_equal(auth_verify(&in), 0);
    in.host = "127.0.0.1";
    assert_int_equal(auth_verify(&in), 0);
    /* Candidate (d) is tried even on a plain listener (TLS terminated by a proxy). */
    in = post_in("127.0.0.1:8080", 0, SIG_NODE);
    assert_int_equal(auth_verify(&in), 0);
}

static void test_verify_php_python_form(void **state) {
    (void)state;
    auth_verify_in in = post_in("127.0.0.1:8080", 0, SIG_PHP);
    assert_int_equal(auth_verify(&in), 0);
    /* The same signature does not verify over TLS: the client signed "http://". */
    in.tls = 1;
    assert_int_equal(auth_verify(&in), SG_EPERM);
    /* nor with another port in the Host header */
    in = post_in("127.0.0.1:8081", 0, SIG_PHP);
    assert_int_equal(auth_verify(&in), SG_EPERM);
}

static void test_verify_scheme_host_without_port(void **state) {
    (void)state;
    /* php after PSR-7 normalisation drops ":80"; candidate (c) is http://{host}. */
    auth_verify_in in = get_sms_in("localhost:80", 0, SIG_HTTP_NOPORT);
    assert_int_equal(auth_verify(&in), 0);
    in.host = "localhost:8080";
    assert_int_equal(auth_verify(&in), 0);
    in.host = "localhost";
    assert_int_equal(auth_verify(&in), 0);
    in.host = "localhost:";
    assert_int_equal(auth_verify(&in), 0);
    in.host = "localhost:80x"; /* not a port: kept whole, so no candidate matches */
    assert_int_equal(auth_verify(&in), SG_EPERM);
}

static void test_verify_ipv6_host(void **state) {
    (void)state;
    auth_verify_in in = get_sms_in("[::1]:8443", 1, SIG_V6_NODE);
    assert_int_equal(auth_verify(&in), 0);
    in = get_sms_in("[::1]", 1, SIG_V6_NODE);
    assert_int_equal(auth_verify(&in), 0);
    in = get_sms_in("[::1]:8443", 0, SIG_V6_PHP);
    assert_int_equal(auth_verify(&in), 0);
    /* The port is stripped after ']', never inside the address. */
    in = get_sms_in("[::1]:8443", 0, "$1$0000000000000000000000000000000000000000");
    assert_int_equal(auth_verify(&in), SG_EPERM);
}

static void test_verify_public_url(void **state) {
    (void)state;
    const char *const urls[] = {"https://other.example.net", "https://sms.example.com", NULL};
    auth_verify_in in = post_in("10.0.0.5:8080", 0, SIG_PUB);
    assert_int_equal(auth_verify(&in), SG_EPERM); /* not configured */
    in.public_urls = urls;
    assert_int_equal(auth_verify(&in), 0);
    /* Behind a proxy the Host header may be missing or internal; the public URL is enough. */
    in.host = NULL;
    assert_int_equal(auth_verify(&in), 0);
    in.host = "";
    assert_int_equal(auth_verify(&in), 0);

    /* A trailing slash on the configured URL does not double the slash. */
    const char *const slashed[] = {"https://sms.example.com/", NULL};
    in.public_urls = slashed;
    assert_int_equal(auth_verify(&in), 0);
    const char *const slashed2[] = {"https://sms.example.com//", NULL};
    in.public_urls = slashed2;
    assert_int_equal(auth_verify(&in), 0);

    /* Public URLs come first but Host candidates are still tried. */
    in = post_in("127.0.0.1:8080", 0, SIG_PHP);
    in.public_urls = urls;
    assert_int_equal(auth_verify(&in), 0);
    /* Duplicates and empty entries are harmless. */
    const char *const dup[] = {"", "http://127.0.0.1:8080", "http://127.0.0.1:8080/", NULL};
    in.public_urls = dup;
    assert_int_equal(auth_verify(&in), 0);
}

static void test_verify_no_candidates(void **state) {
    (void)state;
    auth_verify_in in = post_in(NULL, 1, SIG_NODE);
    assert_int_equal(auth_verify(&in), SG_EPERM);
    const char *const none[] = {NULL};
    in.public_urls = none;
    assert_int_equal(auth_verify(&in), SG_EPERM);
    assert_int_equal(auth_verify(NULL), SG_EPERM);
}

static void test_verify_wrong_keys_rejected(void **state) {
    (void)state;
    auth_verify_in in = post_in("127.0.0.1:8080", 0, SIG_PHP);
    in.app_secret = "EgWIz07P0HYwtQDt";
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in = post_in("127.0.0.1:8080", 0, SIG_PHP);
    in.consumer_key = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU2";
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in = post_in("127.0.0.1:8080", 0, SIG_PHP);
    in.method = "post"; /* the method is signed as sent, upper case */
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in = post_in("127.0.0.1:8080", 0, SIG_PHP);
    in.timestamp = "1366560946";
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in = post_in("127.0.0.1:8080", 0, SIG_PHP);
    in.app_secret = NULL;
    assert_int_equal(auth_verify(&in), SG_EPERM);
}

static void test_verify_tampered_body_rejected(void **state) {
    (void)state;
    char body[] = BODY;
    auth_verify_in in = post_in("127.0.0.1:8443", 1, SIG_NODE);
    in.body = (const unsigned char *)body;
    assert_int_equal(auth_verify(&in), 0);
    body[12] = 'h'; /* "Hello" -> "hello" */
    assert_int_equal(auth_verify(&in), SG_EPERM);
    body[12] = 'H';
    in.body_len--; /* truncated */
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in.body = NULL;
    in.body_len = 0; /* dropped */
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in.body_len = 5; /* inconsistent input */
    assert_int_equal(auth_verify(&in), SG_EPERM);
}

static void test_verify_tampered_target_rejected(void **state) {
    (void)state;
    auth_verify_in in = post_in("127.0.0.1:8443", 1, SIG_NODE);
    in.target = "/1.0/sms/sms-ab12345-1/jobs?tag=a%20c";
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in.target = "/1.0/sms/sms-ab12345-1/jobs?tag=a+b"; /* same meaning, other bytes */
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in.target = "/1.0/sms/sms-ab12345-1/jobs";
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in.target = "/1.0/sms/sms-ab12345-2/jobs?tag=a%20b";
    assert_int_equal(auth_verify(&in), SG_EPERM);
    in.target = "/v1/sms/sms-ab12345-1/jobs?tag=a%20b";
    assert_int_equal(auth_verify(&in), SG_EPERM);
}

static void test_verify_uppercase_hex_accepted(void **state) {
    (void)state;
    auth_verify_in in = post_in("127.0.0.1:8443", 1, "$1$EA5DF56DB39A9470092F1CCA2DFD25A352DBC839");
    assert_int_equal(auth_verify(&in), 0);
    in.signature = "$1$Ea5dF56db39a9470092f1cca2dfd25a352dbc839";
    assert_int_equal(auth_verify(&in), 0);
}

static void test_verify_malformed_signature_rejected(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",
        "$1$",
        "ea5df56db39a9470092f1cca2dfd25a352dbc839",     /* no prefix */
        "$2$ea5df56db39a9470092f1cca2dfd25a352dbc839",  /* other version */
        "$1$ea5df56db39a9470092f1cca2dfd25a352dbc83",   /* 39 hex */
        "$1$ea5df56db39a9470092f1cca2dfd25a352dbc8390", /* 41 hex */
        "$1$ea5df56db39a9470092f1cca2dfd25a352dbc83g",  /* not hex */
        "$1$ea5df56db39a9470092f1cca2dfd25a352dbc839\n",
        " $1$ea5df56db39a9470092f1cca2dfd25a352dbc839",
        "$1$ ea5df56db39a9470092f1cca2dfd25a352dbc83",
    };
    auth_verify_in in = post_in("127.0.0.1:8443", 1, NULL);
    assert_int_equal(auth_verify(&in), SG_EPERM);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in.signature = bad[i];
        assert_int_equal(auth_verify(&in), SG_EPERM);
    }
}

/* ---------------------------------------------------------------------------------------------
 * auth_pattern_match, auth_rules_allow, auth_rules_validate
 */

static void test_pattern_spec_cases(void **state) {
    (void)state;
    /* spec 2.6: "/sms/" + '*' matches "/sms/a/jobs/1" but not "/sms" */
    assert_true(auth_pattern_match("/sms/*", "/sms/a/jobs/1"));
    assert_true(auth_pattern_match("/sms/*", "/sms/a"));
    assert_false(auth_pattern_match("/sms/*", "/sms"));
    assert_false(auth_pattern_match("/sms/*", "/sms/"));
    assert_false(auth_pattern_match("/sms/*", "/smsx"));
    /* spec 0: guides grant "GET /sms/STAR/jobs/" */
    assert_true(auth_pattern_match("/sms/*/jobs/", "/sms/x/jobs"));
    assert_true(auth_pattern_match("/sms/*/jobs/", "/sms/x/jobs/"));
    assert_true(auth_pattern_match("/sms/*/jobs", "/sms/x/jobs/"));
    assert_true(auth_pattern_match("/sms/*/jobs", "/sms/a/b/jobs"));
    assert_false(auth_pattern_match("/sms/*/jobs/", "/sms/x/jobs/1"));
    assert_false(auth_pattern_match("/sms/*/jobs", "/sms//outgoing"));
    /* "/" + '*' grants everything */
    assert_true(auth_pattern_match("/*", "/"));
    assert_true(auth_pattern_match("/*", "/sms"));
    assert_true(auth_pattern_match("/*", "/sms/a/jobs/1"));
    assert_true(auth_pattern_match("/*", "/auth/currentCredential"));
    assert_true(auth_pattern_match("*", "/sms"));
    assert_false(auth_pattern_match("/*", ""));
}

static void test_pattern_literal_and_edges(void **state) {
    (void)state;
    assert_true(auth_pattern_match("/sms", "/sms"));
    assert_true(auth_pattern_match("/sms", "/sms/"));
    assert_true(auth_pattern_match("/sms/", "/sms"));
    assert_false(auth_pattern_match("/sms", "/sms/a"));
    assert_false(auth_pattern_match("/sms", "/SMS"));
    assert_false(auth_pattern_match("/sms", "/sm"));
    assert_true(auth_pattern_match("/", "/"));
    assert_false(auth_pattern_match("/", "/sms"));
    assert_false(auth_pattern_match("/sms//", "/sms")); /* only one slash is stripped */
    /* '?', '.', '+' and '[' are literal */
    assert_false(auth_pattern_match("/sms/a?b", "/sms/axb"));
    assert_true(auth_pattern_match("/sms/a?b", "/sms/a?b"));
    assert_false(auth_pattern_match("/sms/a.b", "/sms/axb"));
    assert_true(auth_pattern_match("/sms/x/blacklists/+33*", "/sms/x/blacklists/+33612345678"));
    assert_false(auth_pattern_match("/sms/[ab]", "/sms/a"));
    /* several stars and backtracking */
    assert_true(auth_pattern_match("/sms/*/outgoing/*", "/sms/a/outgoing/12"));
    assert_false(auth_pattern_match("/sms/*/outgoing/*", "/sms/a/outgoing"));
    assert_true(auth_pattern_match("/a*b*c", "/aXbYbZc"));
    assert_true(auth_pattern_match("/a**c", "/ac"));
    assert_false(auth_pattern_match("/a*bc", "/abcbd"));
    assert_true(auth_pattern_match("/a*bc", "/abcbc"));
    assert_false(auth_pattern_match(NULL, "/sms"));
    assert_false(auth_pattern_match("/sms", NULL));
    assert_false(auth_pattern_match("", "/sms"));
}

static void test_pattern_long_input(void **state) {
    (void)state;
    /* Many stars against a long non-matching path must finish quickly (no exponential case). */
    char pat[200], path[4001];
    size_t k = 0;
    pat[k++] = '/';
    for (int i = 0; i < 60; i++) {
        pat[k++] = 'a';
        pat[k++] = '*';
    }
    pat[k++] = 'b';
    pat[k] = '\0';
    path[0] = '/';
    memset(path + 1, 'a', 3999);
    path[4000] = '\0';
    assert_false(auth_pattern_match(pat, path));
    path[3999] = 'b';
    assert_true(auth_pattern_match(pat, path));
}

static void test_rules_allow(void **state) {
    (void)state;
    json_t *rules = json("[{\"method\":\"GET\",\"path\":\"/sms\"},"
                         " {\"method\":\"GET\",\"path\":\"/sms/*\"},"
                         " {\"method\":\"POST\",\"path\":\"/sms/*/jobs/\"}]");
    assert_true(auth_rules_allow(rules, "GET", "/sms"));
    assert_true(auth_rules_allow(rules, "GET", "/sms/x/jobs/12"));
    assert_true(auth_rules_allow(rules, "POST", "/sms/x/jobs"));
    assert_false(auth_rules_allow(rules, "POST", "/sms/x/outgoing"));
    assert_false(auth_rules_allow(rules, "POST", "/sms"));
    assert_false(auth_rules_allow(rules, "DELETE", "/sms/x/jobs/12"));
    assert_false(auth_rules_allow(rules, "get", "/sms"));
    assert_false(auth_rules_allow(rules, "Get", "/sms"));
    assert_false(auth_rules_allow(rules, "GET", "/auth/currentCredential"));
    assert_false(auth_rules_allow(rules, NULL, "/sms"));
    assert_false(auth_rules_allow(rules, "GET", NULL));
    json_decref(rules);

    json_t *all = json("[{\"method\":\"GET\",\"path\":\"/*\"},"
                       " {\"method\":\"POST\",\"path\":\"/*\"},"
                       " {\"method\":\"PUT\",\"path\":\"/*\"},"
                       " {\"method\":\"DELETE\",\"path\":\"/*\"}]");
    assert_true(auth_rules_allow(all, "DELETE", "/sms/x/outgoing/1"));
    assert_true(auth_rules_allow(all, "PUT", "/sms/x"));
    assert_false(auth_rules_allow(all, "PATCH", "/sms/x"));
    json_decref(all);

    /* Fail closed on anything that is not a rules array; skip malformed entries. */
    assert_false(auth_rules_allow(NULL, "GET", "/sms"));
    json_t *obj = json("{\"method\":\"GET\",\"path\":\"/*\"}");
    assert_false(auth_rules_allow(obj, "GET", "/sms"));
    json_decref(obj);
    json_t *empty = json("[]");
    assert_false(auth_rules_allow(empty, "GET", "/sms"));
    json_decref(empty);
    json_t *mixed = json("[1, {\"method\":\"GET\"}, {\"path\":\"/*\"},"
                         " {\"method\":5,\"path\":\"/*\"},"
                         " {\"method\":\"GET\",\"path\":\"/sms\"}]");
    assert_false(auth_rules_allow(mixed, "GET", "/sms/x"));
    assert_true(auth_rules_allow(mixed, "GET", "/sms"));
    json_decref(mixed);
}

static void test_rules_validate_ok(void **state) {
    (void)state;
    char err[160] = "";
    assert_int_equal(rules_valid("[{\"method\":\"GET\",\"path\":\"/sms\"},"
                                 " {\"method\":\"GET\",\"path\":\"/sms/*\"},"
                                 " {\"method\":\"POST\",\"path\":\"/sms/*/jobs/\"},"
                                 " {\"method\":\"PUT\",\"path\":\"/*\"},"
                                 " {\"method\":\"DELETE\",\"path\":\"/*\",\"extra\":1}]",
                                 err, sizeof err),
                     0);
    assert_string_equal(err, "");
    assert_int_equal(rules_valid("[]", err, sizeof err), 0);
}

static void test_rules_validate_errors(void **state) {
    (void)state;
    static const struct {
        const char *json;
        const char *msg_part;
    } cases[] = {
        {"null", "array"},
        {"{\"method\":\"GET\",\"path\":\"/sms\"}", "array"},
        {"\"GET /sms\"", "array"},
        {"[\"GET /sms\"]", "accessRules[0]"},
        {"[{\"method\":\"GET\",\"path\":\"/sms\"}, {\"path\":\"/sms\"}]", "accessRules[1].method"},
        {"[{\"method\":\"get\",\"path\":\"/sms\"}]", "accessRules[0].method"},
        {"[{\"method\":\"PATCH\",\"path\":\"/sms\"}]", "method"},
        {"[{\"method\":\"GETX\",\"path\":\"/sms\"}]", "method"},
        {"[{\"method\":7,\"path\":\"/sms\"}]", "method"},
        {"[{\"method\":null,\"path\":\"/sms\"}]", "method"},
        {"[{\"method\":\"GET\"}]", "accessRules[0].path"},
        {"[{\"method\":\"GET\",\"path\":\"sms/*\"}]", "path"},
        {"[{\"method\":\"GET\",\"path\":\"\"}]", "path"},
        {"[{\"method\":\"GET\",\"path\":[\"/sms\"]}]", "path"},
        {"[{\"method\":\"GET\",\"path\":\"/sms\\u0000/x\"}]", "path"},
        {"[{\"method\":\"GET\",\"path\":\"/sms\\n\"}]", "path"},
        {"[{\"method\":\"GET\\u0000\",\"path\":\"/sms\"}]", "method"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[160] = "";
        int rc = rules_valid(cases[i].json, err, sizeof err);
        if (rc != SG_EINVAL) fail_msg("case %zu (%s) returned %d", i, cases[i].json, rc);
        if (!strstr(err, cases[i].msg_part))
            fail_msg("case %zu (%s): message '%s' lacks '%s'", i, cases[i].json, err,
                     cases[i].msg_part);
    }
    /* No room for a message is fine, and a short buffer is truncated, not overrun. */
    assert_int_equal(rules_valid("[1]", NULL, 0), SG_EINVAL);
    char tiny[8];
    assert_int_equal(rules_valid("[1]", tiny, sizeof tiny), SG_EINVAL);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_int_equal(auth_rules_validate(NULL, NULL, 0), SG_EINVAL);
}

/* ---------------------------------------------------------------------------------------------
 * auth_ip_allowed, auth_cidrs_validate
 */

static void test_ip_no_restriction(void **state) {
    (void)state;
    assert_true(auth_ip_allowed(NULL, "192.0.2.1"));
    assert_true(auth_ip_allowed(NULL, NULL));
    assert_true(allowed("null", "192.0.2.1"));
    assert_true(allowed("[]", "2001:db8::1"));
    assert_true(allowed("[]", "not an ip"));
    /* Fail closed on a value that is neither null nor an array. */
    assert_false(allowed("\"192.0.2.0/24\"", "192.0.2.1"));
    assert_false(allowed("{}", "192.0.2.1"));
}

static void test_ip_v4(void **state) {
    (void)state;
    const char *net = "[\"192.0.2.0/24\"]";
    assert_true(allowed(net, "192.0.2.0"));
    assert_true(allowed(net, "192.0.2.77"));
    assert_true(allowed(net, "192.0.2.255"));
    assert_false(allowed(net, "192.0.3.1"));
    assert_false(allowed(net, "192.0.1.255"));
    assert_false(allowed(net, "2001:db8::1"));
    assert_false(allowed(net, "garbage"));
    assert_false(allowed(net, ""));
    assert_false(allowed(net, NULL));

    assert_true(allowed("[\"127.0.0.1\"]", "127.0.0.1"));
    assert_false(allowed("[\"127.0.0.1\"]", "127.0.0.2"));
    assert_true(allowed("[\"127.0.0.1/32\"]", "127.0.0.1"));
    assert_true(allowed("[\"10.0.0.128/25\"]", "10.0.0.200"));
    assert_false(allowed("[\"10.0.0.128/25\"]", "10.0.0.127"));
    assert_true(allowed("[\"10.0.0.0/9\"]", "10.127.255.255"));
    assert_false(allowed("[\"10.0.0.0/9\"]", "10.128.0.0"));
    assert_true(allowed("[\"0.0.0.0/0\"]", "203.0.113.9"));
    assert_false(allowed("[\"0.0.0.0/0\"]", "2001:db8::1"));
    /* host bits in the rule are ignored */
    assert_true(allowed("[\"192.0.2.1/24\"]", "192.0.2.200"));
    /* several entries, malformed ones skipped */
    assert_true(allowed("[\"bogus\", 5, \"198.51.100.0/24\", \"10.0.0.0/8\"]", "10.1.2.3"));
    assert_false(allowed("[\"bogus\", 5, \"198.51.100.0/24\"]", "10.1.2.3"));
}

static void test_ip_v6(void **state) {
    (void)state;
    const char *net = "[\"2001:db8::/32\"]";
    assert_true(allowed(net, "2001:db8::1"));
    assert_true(allowed(net, "2001:db8:ffff:1::5"));
    assert_true(allowed(net, "2001:DB8::1"));
    assert_false(allowed(net, "2001:db9::1"));
    assert_false(allowed(net, "192.0.2.1"));
    assert_true(allowed("[\"2001:db8::/33\"]", "2001:db8:7fff::1"));
    assert_false(allowed("[\"2001:db8::/33\"]", "2001:db8:8000::1"));
    assert_true(allowed("[\"::1\"]", "::1"));
    assert_true(allowed("[\"::1/128\"]", "0:0:0:0:0:0:0:1"));
    assert_false(allowed("[\"::1\"]", "::2"));
    assert_false(allowed("[\"::1\"]", "127.0.0.1"));
    assert_true(allowed("[\"::/0\"]", "2001:db8::1"));
    assert_true(allowed("[\"fe80::/10\"]", "fe80::1%eth0"));
}

static void test_ip_v4_mapped(void **state) {
    (void)state;
    /* A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d */
    assert_true(allowed("[\"127.0.0.1\"]", "::ffff:127.0.0.1"));
    assert_true(allowed("[\"127.0.0.0/8\"]", "::FFFF:127.0.0.9"));
    assert_true(allowed("[\"192.0.2.0/24\"]", "::ffff:c000:0201"));
    assert_false(allowed("[\"127.0.0.1\"]", "::ffff:127.0.0.2"));
    /* mapped peers are IPv4: an IPv6 catch-all does not admit them */
    assert_false(allowed("[\"::/0\"]", "::ffff:10.0.0.1"));
    assert_false(allowed("[\"::/0\"]", "10.0.0.1"));
    /* mapped rules are IPv4 rules too */
    assert_true(allowed("[\"::ffff:10.0.0.0/104\"]", "10.1.2.3"));
    assert_true(allowed("[\"::ffff:10.0.0.0/104\"]", "::ffff:10.1.2.3"));
    assert_false(allowed("[\"::ffff:10.0.0.0/104\"]", "11.0.0.1"));
    assert_true(allowed("[\"::ffff:127.0.0.1\"]", "127.0.0.1"));
    /* a mapped block shorter than /96 stays IPv6 and matches IPv6 peers only */
    assert_true(allowed("[\"::ffff:0:0/80\"]", "::1:0:0"));
    assert_false(allowed("[\"::ffff:0:0/80\"]", "10.0.0.1"));
}

static void test_cidrs_validate(void **state) {
    (void)state;
    assert_int_equal(auth_cidrs_validate(NULL, NULL, 0), 0);
    assert_int_equal(cidrs_valid("null"), 0);
    assert_int_equal(cidrs_valid("[]"), 0);
    assert_int_equal(cidrs_valid("[\"192.0.2.0/24\", \"2001:db8::/32\", \"127.0.0.1\", \"::1\","
                                 " \"0.0.0.0/0\", \"::/0\", \"::ffff:10.0.0.0/104\","
                                 " \"192.0.2.1/24\", \"10.0.0.0/008\"]"),
                     0);
    static const char *const bad[] = {
        "\"192.0.2.0/24\"",  "{}",         "[5]",          "[null]",
        "[\"\"]",            "[\"1.2.3\"]", "[\"1.2.3.4.5\"]", "[\"256.0.0.1\"]",
        "[\"10.0.0.0/33\"]", "[\"::/129\"]", "[\"10.0.0.0/\"]", "[\"10.0.0.0/-1\"]",
        "[\"10.0.0.0/ 8\"]", "[\"10.0.0.0/8/9\"]", "[\"10.0.0.0/0008\"]", "[\" 10.0.0.1\"]",
        "[\"10.0.0.1%eth0\"]", "[\"example.com\"]", "[\"2001:db8::/x\"]",
        "[\"10.0.0.0/8\", \"bogus\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cidrs_valid(bad[i]) != SG_EINVAL) fail_msg("'%s' was accepted", bad[i]);
    }
    char err[160] = "";
    json_t *a = json("[\"10.0.0.0/8\", \"bogus\"]");
    assert_int_equal(auth_cidrs_validate(a, err, sizeof err), SG_EINVAL);
    assert_non_null(strstr(err, "allowedIPs[1]"));
    assert_non_null(strstr(err, "bogus"));
    json_decref(a);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_known_answer),
        cmocka_unit_test(test_signature_post_forms),
        cmocka_unit_test(test_signature_equal),
        cmocka_unit_test(test_verify_node_form),
        cmocka_unit_test(test_verify_php_python_form),
        cmocka_unit_test(test_verify_scheme_host_without_port),
        cmocka_unit_test(test_verify_ipv6_host),
        cmocka_unit_test(test_verify_public_url),
        cmocka_unit_test(test_verify_no_candidates),
        cmocka_unit_test(test_verify_wrong_keys_rejected),
        cmocka_unit_test(test_verify_tampered_body_rejected),
        cmocka_unit_test(test_verify_tampered_target_rejected),
        cmocka_unit_test(test_verify_uppercase_hex_accepted),
        cmocka_unit_test(test_verify_malformed_signature_rejected),
        cmocka_unit_test(test_pattern_spec_cases),
        cmocka_unit_test(test_pattern_literal_and_edges),
        cmocka_unit_test(test_pattern_long_input),
        cmocka_unit_test(test_rules_allow),
        cmocka_unit_test(test_rules_validate_ok),
        cmocka_unit_test(test_rules_validate_errors),
        cmocka_unit_test(test_ip_no_restriction),
        cmocka_unit_test(test_ip_v4),
        cmocka_unit_test(test_ip_v6),
        cmocka_unit_test(test_ip_v4_mapped),
        cmocka_unit_test(test_cidrs_validate),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
