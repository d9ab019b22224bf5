/*
 * test_users.c - SMS users (docs/users.md) against a real database (SQLite, or PostgreSQL with
 * SMSGATE_TEST_DATABASE):
 *   - the password hashes (auth/userpw.h): salted, verified only by the password, rules of a
 *     login and a password;
 *   - the users area of the store: create (a login once per service), get (a login alone
 *     found only when one service has it), update, list, delete;
 *   - the quota in the send's transaction: 50 sends queued at once against a quota of 20
 *     credits, exactly 20 accepted (in the same batches), the refused ones changing nothing;
 *   - api_user_auth (api/users.c) on a real API object and store, as http2sms and sendsms call
 *     it: the right password accepted (and the service loaded), a wrong login and a wrong
 *     password refused in the same time (medians of a bounded number of tries, a generous
 *     tolerance), an address outside ipRestrictions refused, and repeated failures refused
 *     without a try (SG_ELIMIT) until the minute is over.
 *
 * Run all tests: build/tests/test_users; one test: build/tests/test_users <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "auth/userpw.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 120
#define ITER 20000 /* PBKDF2 iterations in these tests: a few ms each */

static int setup(void **state) {
    store_fixture *f = calloc(1, sizeof *f);
    store_fixture_open(f, "users", NULL);
    *state = f;
    return 0;
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, store_fixture_teardown)

static int create(store_fixture *f, int64_t sid, const char *login, const char *password) {
    char hash[USERPW_HASH_MAX];
    assert_int_equal(userpw_hash(password, ITER, hash), 0);
    store_user_req r = {.service_id = sid, .login = login, .password_hash = hash, .now_ms = 1};
    int rc = STORE_RUN(f, user_create, &r);
    if (rc == 0) assert_string_equal(r.user.login, login);
    store_user_fini(&r.user);
    return rc;
}

/* ---- passwords ---- */

static void test_password_hashes(void **state) {
    (void)state;
    char a[USERPW_HASH_MAX], b[USERPW_HASH_MAX];
    assert_int_equal(userpw_hash("correct horse", ITER, a), 0);
    assert_int_equal(userpw_hash("correct horse", ITER, b), 0);
    assert_string_not_equal(a, b); /* salted */
    assert_non_null(strstr(a, "pbkdf2-sha256$20000$"));
    assert_null(strstr(a, "horse"));
    assert_int_equal(userpw_verify("correct horse", a), 1);
    assert_int_equal(userpw_verify("correct horse", b), 1);
    assert_int_equal(userpw_verify("correct hors", a), 0);
    assert_int_equal(userpw_verify("", a), 0);
    assert_int_equal(userpw_verify("correct horse", "plain"), 0);
    assert_int_equal(userpw_hash("x", 10, a), SG_EINVAL);
    char nobody[USERPW_HASH_MAX];
    userpw_nobody(ITER, nobody);
    assert_non_null(strstr(nobody, "pbkdf2-sha256$20000$"));
    assert_int_equal(userpw_verify("", nobody), 0);
    char err[96];
    assert_int_equal(userpw_login_ok("team-1.ops_x", err, sizeof err), 0);
    assert_int_equal(userpw_login_ok("ab", err, sizeof err), SG_EINVAL);
    assert_int_equal(userpw_login_ok("a/b/c", err, sizeof err), SG_EINVAL);
    assert_int_equal(userpw_password_ok("12345678", err, sizeof err), 0);
    assert_int_equal(userpw_password_ok("1234567", err, sizeof err), SG_EINVAL);
    assert_int_equal(userpw_password_ok("12345678\n", err, sizeof err), SG_EINVAL);
}

/* ---- the store ---- */

static void test_store_users(void **state) {
    store_fixture *f = *state;
    int64_t a = store_fixture_account(f, "acme", 1000000);
    int64_t b = store_fixture_account(f, "bob", 1000000);
    assert_int_equal(create(f, a, "team1", "password-1"), 0);
    assert_int_equal(create(f, a, "team1", "password-2"), SG_ECONFLICT);
    assert_int_equal(create(f, a, "team2", "password-2"), 0);
    assert_int_equal(create(f, b, "team1", "password-3"), 0); /* another service: fine */
    assert_int_equal(create(f, b, "solo", "password-4"), 0);

    /* A login alone: found when one service has it, ambiguous otherwise. */
    store_user_req g = {.login = "solo"};
    assert_int_equal(STORE_RUN(f, user_get, &g), 0);
    assert_int_equal(g.user.service_id, b);
    assert_string_equal(g.user.service, "sms-bob-1");
    store_user_fini(&g.user);
    store_user_req amb = {.login = "team1"};
    assert_int_equal(STORE_RUN(f, user_get, &amb), SG_ECONFLICT);
    store_user_req named = {.login = "team1", .service = "sms-acme-1"};
    assert_int_equal(STORE_RUN(f, user_get, &named), 0);
    assert_int_equal(named.user.service_id, a);
    assert_int_equal(named.user.quota_active, 0);
    assert_string_equal(named.user.ip_restrictions, "[]");
    store_user_fini(&named.user);
    store_user_req other = {.login = "team2", .service = "sms-bob-1"};
    assert_int_equal(STORE_RUN(f, user_get, &other), SG_ENOTFOUND);

    store_user_update_req up = {.service_id = a, .login = "team1", .set_quota_status = 1,
                                .quota_active = 1, .set_quota_left = 1, .quota_left = 5000,
                                .set_callback = 1, .callback = "https://example.com/cb",
                                .set_ips = 1, .ip_restrictions = "[\"10.0.0.0/8\"]"};
    assert_int_equal(STORE_RUN(f, user_update, &up), 0);
    store_user_update_req none = {.service_id = b, .login = "team2", .set_callback = 1};
    assert_int_equal(STORE_RUN(f, user_update, &none), SG_ENOTFOUND);
    store_user_req g2 = {.service_id = a, .login = "team1"};
    assert_int_equal(STORE_RUN(f, user_get, &g2), 0);
    assert_int_equal(g2.user.quota_active, 1);
    assert_int_equal(g2.user.quota_left, 5000);
    assert_string_equal(g2.user.callback, "https://example.com/cb");
    assert_string_equal(g2.user.ip_restrictions, "[\"10.0.0.0/8\"]");
    assert_null(g2.user.stop_callback);
    store_user_fini(&g2.user);

    store_user_list_req l = {.service = "sms-acme-1"};
    assert_int_equal(STORE_RUN(f, user_list, &l), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0].login, "team1");
    assert_string_equal(l.items[1].login, "team2");
    store_user_list_fini(&l);
    store_user_list_req l2 = {.service = "sms-acme-1", .account_id = 999};
    assert_int_equal(STORE_RUN(f, user_list, &l2), SG_ENOTFOUND);

    store_user_req d = {.service_id = a, .login = "team2"};
    assert_int_equal(STORE_RUN(f, user_delete, &d), 0);
    store_user_fini(&d.user);
    assert_int_equal(STORE_RUN(f, user_delete, &d), SG_ENOTFOUND);
}

/* ---- the quota in the send's transaction ---- */

static void test_quota_under_concurrent_sends(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 1000000);
    assert_int_equal(create(f, sid, "q", "password-1"), 0);
    store_user_req g = {.service_id = sid, .login = "q"};
    assert_int_equal(STORE_RUN(f, user_get, &g), 0);
    int64_t uid = g.user.id;
    store_user_fini(&g.user);
    store_user_update_req up = {.service_id = sid, .login = "q", .set_quota_status = 1,
                                .quota_active = 1, .set_quota_left = 1, .quota_left = 20000};
    assert_int_equal(STORE_RUN(f, user_update, &up), 0);

    enum { N = 50 };
    static store_submit_msg msgs[N];
    static store_submit_req reqs[N];
    static store_done done[N];
    static char rcv[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(rcv[i], sizeof rcv[i], "+336000001%02d", i);
        msgs[i] = (store_submit_msg){.receiver = rcv[i], .message = "hi", .length = 2,
                                     .parts = 1, .credits = 1000};
        reqs[i] = (store_submit_req){.service_id = sid, .sender = "+33123", .validity_min = 60,
                                     .msgs = &msgs[i], .count = 1, .total_credits = 1000,
                                     .now_ms = 1000, .due_ms = 1000, .user_id = uid};
        done[i] = (store_done){0};
        STORE_QUEUE(f, submit, &reqs[i], &done[i]);
    }
    store_fixture_wait(f);
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        if (done[i].rc == 0) {
            ok++;
            assert_true(msgs[i].id > 0);
        } else {
            assert_int_equal(done[i].rc, SG_ENOCREDIT);
            assert_int_equal(reqs[i].quota_refused, 1);
            refused++;
        }
    }
    assert_int_equal(ok, 20);
    assert_int_equal(refused, 30);
    char q[160];
    snprintf(q, sizeof q, "SELECT quota_left FROM sms_users WHERE id = %lld", (long long)uid);
    assert_int_equal(store_fixture_query_int(f, q), 0);
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM messages WHERE user_id = %lld", (long long)uid);
    assert_int_equal(store_fixture_query_int(f, q), 20);
    snprintf(q, sizeof q, "SELECT balance FROM ledger WHERE service_id = %lld ORDER BY id DESC "
                          "LIMIT 1", (long long)sid);
    assert_int_equal(store_fixture_query_int(f, q), 1000000 - 20000);
}

/* ---- api_user_auth ---- */

typedef struct auth_fx {
    store_fixture *f;
    sg_config cfg;
    api *a;
    http_req req;
    api_call call;
    int rc, called;
} auth_fx;

static void on_auth(api_call *c, int rc) {
    auth_fx *x = (auth_fx *)((char *)c - offsetof(auth_fx, call));
    x->rc = rc;
    x->called++;
}

static void auth_open(auth_fx *x, store_fixture *f) {
    memset(x, 0, sizeof *x);
    x->f = f;
    char *argv[] = {"test", "--user-password-iterations", "20000", "--user-auth-failures", "5",
                    NULL};
    int help = 0;
    assert_int_equal(sg_config_load(&x->cfg, 5, argv, &help), 0);
    x->a = api_new(&x->cfg, f->st, NULL, "token");
    api_start(x->a, f->base);
}

static void auth_close(auth_fx *x) {
    store_service_fini(&x->call.svc.svc);
    api_stop(x->a);
    api_free(x->a);
    sg_config_fini(&x->cfg);
}

/* Runs one authentication from peer; returns its rc and its duration in *ms. */
static int auth_try(auth_fx *x, const char *peer, const char *login, const char *pw, double *ms) {
    store_service_fini(&x->call.svc.svc);
    memset(&x->call, 0, sizeof x->call);
    memset(&x->req, 0, sizeof x->req);
    snprintf(x->req.peer, sizeof x->req.peer, "%s", peer);
    x->call.api = x->a;
    x->call.req = &x->req;
    x->called = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    api_user_auth(&x->call, NULL, login, pw, on_auth);
    assert_int_equal(x->called, 0); /* never from inside the call */
    while (!x->called) event_base_loop(x->f->base, EVLOOP_ONCE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(x->called, 1);
    if (ms) *ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    return x->rc;
}

static void test_auth_accepts_the_password(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 1000000);
    assert_int_equal(create(f, sid, "team1", "password-1"), 0);
    auth_fx x;
    auth_open(&x, f);
    assert_int_equal(auth_try(&x, "127.0.0.1", "team1", "password-1", NULL), 0);
    assert_true(x.call.user_id > 0);
    assert_string_equal(x.call.user_login, "team1");
    assert_int_equal(x.call.svc.svc.id, sid);
    assert_string_equal(x.call.svc.svc.name, "sms-acme-1");
    assert_int_equal(x.call.account_id, x.call.svc.svc.account_id);
    /* again: from the verified credentials; "service/login" names the service */
    assert_int_equal(auth_try(&x, "127.0.0.1", "sms-acme-1/team1", "password-1", NULL), 0);
    assert_int_equal(auth_try(&x, "127.0.0.1", "sms-other-1/team1", "password-1", NULL),
                     SG_EPERM);
    assert_int_equal(auth_try(&x, "127.0.0.1", "team1", "password-2", NULL), SG_EPERM);
    /* ipRestrictions */
    store_user_update_req up = {.service_id = sid, .login = "team1", .set_ips = 1,
                                .ip_restrictions = "[\"192.0.2.0/24\"]"};
    assert_int_equal(STORE_RUN(f, user_update, &up), 0);
    api_config_changed(x.a); /* what the epoch does on every node */
    assert_int_equal(auth_try(&x, "127.0.0.1", "team1", "password-1", NULL), SG_EPERM);
    assert_int_equal(auth_try(&x, "192.0.2.7", "team1", "password-1", NULL), 0);
    auth_close(&x);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_auth_constant_time_and_slowdown(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 1000000);
    assert_int_equal(create(f, sid, "team1", "password-1"), 0);
    auth_fx x;
    auth_open(&x, f);
    /* Medians of wrong logins and wrong passwords, alternated, each from a fresh address and
     * for a login of its own so that the slowdown stays out of it. */
    enum { TRIES = 15 };
    double wl[TRIES], wp[TRIES];
    for (int i = 0; i < TRIES; i++) {
        char login[32];
        snprintf(login, sizeof login, "member%d", i);
        assert_int_equal(create(f, sid, login, "password-1"), 0);
    }
    for (int i = 0; i < TRIES; i++) {
        char peer[32], login[32];
        snprintf(peer, sizeof peer, "10.1.%d.1", i);
        snprintf(login, sizeof login, "nobody%d", i);
        assert_int_equal(auth_try(&x, peer, login, "password-1", &wl[i]), SG_EPERM);
        snprintf(peer, sizeof peer, "10.2.%d.1", i);
        snprintf(login, sizeof login, "member%d", i);
        assert_int_equal(auth_try(&x, peer, login, "password-x", &wp[i]), SG_EPERM);
    }
    qsort(wl, TRIES, sizeof wl[0], cmp_double);
    qsort(wp, TRIES, sizeof wp[0], cmp_double);
    double ml = wl[TRIES / 2], mp = wp[TRIES / 2];
    double ok_ms;
    assert_int_equal(auth_try(&x, "10.3.0.1", "team1", "password-1", &ok_ms), 0);
    fprintf(stderr, "# medians: wrong login %.2f ms, wrong password %.2f ms (first success "
                    "%.2f ms)\n", ml, mp, ok_ms);
    /* Both verify a hash of the same cost: within 50 % of each other (a wrong login that
     * skipped the hash would take a small fraction of a wrong password). */
    assert_true(ml > 0.5 * mp && ml < 1.5 * mp);
    assert_true(mp > 1.0); /* 20,000 iterations take milliseconds: a hash was verified */

    /* Slowdown: 5 failures of one login within a minute, then refused without a try, even
     * with the right password and from another address; another login is not affected. */
    for (int i = 0; i < 5; i++) {
        char peer[32];
        snprintf(peer, sizeof peer, "10.4.%d.1", i);
        assert_int_equal(auth_try(&x, peer, "team1", "wrong-pass", NULL), SG_EPERM);
    }
    double blocked_ms;
    assert_int_equal(auth_try(&x, "10.5.0.1", "team1", "password-1", &blocked_ms), SG_ELIMIT);
    assert_true(blocked_ms < mp); /* nothing verified */
    /* An address with 5 failures is refused for any login. */
    for (int i = 0; i < 5; i++) {
        char login[32];
        snprintf(login, sizeof login, "ghost%d", i);
        assert_int_equal(auth_try(&x, "10.6.0.1", login, "wrong-pass", NULL), SG_EPERM);
    }
    assert_int_equal(auth_try(&x, "10.6.0.1", "ghost9", "wrong-pass", NULL), SG_ELIMIT);
    assert_int_equal(auth_try(&x, "10.7.0.1", "ghost9", "wrong-pass", NULL), SG_EPERM);
    auth_close(&x);
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads();
    sg_log_set_level(SG_LOG_WARN);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hashes),
        TEST(test_store_users),
        TEST(test_quota_under_concurrent_sends),
        TEST(test_auth_accepts_the_password),
        TEST(test_auth_constant_time_and_slowdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
