/*
 * test_notify.c - status callbacks: the pure rules of a call (notify/call.c; its URL is
 * core/callurl.c, tested in test_callurl.c), the durable queue
 * in the store (store/sqlite_notify.c, against a real SQLite file), and the notifier
 * (notify/notify.c) delivering over real HTTP to a libevent HTTP server on loopback.
 *
 * Store tests queue operations and run the loop until their callbacks ran. Delivery tests run
 * the notifier and the receiver on the same loop until the receiver saw what was expected or a
 * deadline passed (a deadline is a failure, never a measurement).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>

#include "core/receipt.h"
#include "core/callurl.h"
#include "core/kannel.h"
#include "notify/call.h"
#include "notify/notify.h"
#include "store/store.h"
#include "util/util.h"

#include "store_fixture.h"

/* ---- pure rules ---- */

static void test_sign_rfc4231(void **state) {
    (void)state;
    char sig[NOTIFY_CALL_SIG_LEN];
    const char *data = "what do ya want for nothing?";
    notify_call_sign("Jefe", data, strlen(data), sig);
    assert_string_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c7"
                             "5a003f089d2739839dec58b964ec3843");
}

static int private4(const char *a) {
    struct sockaddr_in in = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, a, &in.sin_addr), 1);
    return notify_call_addr_private((struct sockaddr *)&in);
}

static int private6(const char *a) {
    struct sockaddr_in6 in = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, a, &in.sin6_addr), 1);
    return notify_call_addr_private((struct sockaddr *)&in);
}

static void test_private_addresses(void **state) {
    (void)state;
    static const char *const priv4[] = {"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
                                        "172.31.255.255", "192.168.1.1", "169.254.169.254",
                                        "100.64.0.1", "0.0.0.0", "224.0.0.1",
                                        "255.255.255.255", "198.18.0.1", "192.0.2.1"};
    static const char *const pub4[] = {"8.8.8.8", "172.32.0.1", "172.15.255.255", "1.1.1.1",
                                       "100.128.0.1", "193.0.0.1"};
    static const char *const priv6[] = {"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
                                        "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                                        "64:ff9b::a00:1", "2002:7f00:1::", "2001:db8::1",
                                        "::127.0.0.1"};
    static const char *const pub6[] = {"2a00:1450:4007:80e::200e", "::ffff:8.8.8.8",
                                       "2606:4700::1111", "64:ff9b::808:808"};
    for (size_t i = 0; i < sizeof priv4 / sizeof *priv4; i++) assert_true(private4(priv4[i]));
    for (size_t i = 0; i < sizeof pub4 / sizeof *pub4; i++) assert_false(private4(pub4[i]));
    for (size_t i = 0; i < sizeof priv6 / sizeof *priv6; i++) assert_true(private6(priv6[i]));
    for (size_t i = 0; i < sizeof pub6 / sizeof *pub6; i++) assert_false(private6(pub6[i]));
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_true(notify_call_addr_private(&un));
}

static int class_of(const char *a) {
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    int c;
    if (inet_pton(AF_INET, a, &in.sin_addr) == 1) {
        c = notify_call_addr_class((struct sockaddr *)&in);
        assert_int_equal(notify_call_addr_refused((struct sockaddr *)&in, 1),
                         c == NOTIFY_ADDR_FORBIDDEN);
        assert_int_equal(notify_call_addr_refused((struct sockaddr *)&in, 0),
                         c != NOTIFY_ADDR_PUBLIC);
    } else {
        assert_int_equal(inet_pton(AF_INET6, a, &in6.sin6_addr), 1);
        c = notify_call_addr_class((struct sockaddr *)&in6);
        assert_int_equal(notify_call_addr_refused((struct sockaddr *)&in6, 1),
                         c == NOTIFY_ADDR_FORBIDDEN);
        assert_int_equal(notify_call_addr_refused((struct sockaddr *)&in6, 0),
                         c != NOTIFY_ADDR_PUBLIC);
    }
    assert_int_equal(notify_call_addr_text_class(a), c);
    return c;
}

/* Issue 12 point 9: link-local and metadata addresses are refused even with
 * callback-allow-private, in every form they can be written in. */
static void test_forbidden_addresses(void **state) {
    (void)state;
    static const char *const forbidden[] = {
        "169.254.169.254", "169.254.0.1", "169.254.255.255", "100.100.100.200", "192.0.0.192",
        "fe80::1", "febf:ffff::1", "fd00:ec2::254", "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::", "::169.254.169.254",
        "64:ff9b:1::a9fe:a9fe", "64:ff9b:1:a9fe:a9:fe00::"};
    static const char *const priv[] = {"127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1",
                                       "100.64.0.1", "192.0.0.1", "::1", "fc00::1",
                                       "fd00:ec2::253", "fec0::1", "::ffff:127.0.0.1",
                                       "::"};
    static const char *const pub[] = {"8.8.8.8", "169.255.0.1", "169.253.255.255", "2606:4700::1111",
                                      "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof forbidden / sizeof *forbidden; i++)
        assert_int_equal(class_of(forbidden[i]), NOTIFY_ADDR_FORBIDDEN);
    for (size_t i = 0; i < sizeof priv / sizeof *priv; i++)
        assert_int_equal(class_of(priv[i]), NOTIFY_ADDR_PRIVATE);
    for (size_t i = 0; i < sizeof pub / sizeof *pub; i++)
        assert_int_equal(class_of(pub[i]), NOTIFY_ADDR_PUBLIC);
    assert_int_equal(notify_call_addr_text_class("not an address"), NOTIFY_ADDR_PRIVATE);
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_true(notify_call_addr_forbidden(&un) == 0 && notify_call_addr_private(&un));
}

static void test_backoff(void **state) {
    (void)state;
    /* Doubles from the base, is capped, and is spread over [d/2, d]. */
    assert_int_equal(notify_call_backoff_ms(1, 1000, 3600000, 0), 500);
    assert_int_equal(notify_call_backoff_ms(1, 1000, 3600000, 500), 1000);
    assert_int_equal(notify_call_backoff_ms(3, 1000, 3600000, 0), 2000);
    assert_int_equal(notify_call_backoff_ms(3, 1000, 3600000, 2000), 4000);
    assert_int_equal(notify_call_backoff_ms(40, 1000, 3600000, 0), 1800000);
    assert_int_equal(notify_call_backoff_ms(1000, 1000, 3600000, UINT32_MAX) <= 3600000, 1);
    for (uint32_t r = 0; r < 5000; r += 7) {
        int64_t d = notify_call_backoff_ms(5, 100, 10000, r * 2654435761u);
        assert_true(d >= 800 && d <= 1600);
    }
}

/* ---- the store and the notifier ---- */

typedef struct hit {
    char *uri, *sig, *call;
} hit;

typedef struct fixture {
    store_fixture s; /* the store, its loop and its directory */
    notify *n;
    /* the receiver */
    struct evhttp *http;
    int port;
    int fail_first;     /* answer 500 to this many requests first */
    int hang;           /* never answer (evhttp frees the request when curl hangs up) */
    int moved;          /* paths under /moved answer 302 to /final */
    hit hits[256];
    int nhits;
} fixture;

static void on_http(struct evhttp_request *req, void *arg) {
    fixture *f = arg;
    if (f->nhits < 256) {
        hit *h = &f->hits[f->nhits++];
        struct evkeyvalq *hd = evhttp_request_get_input_headers(req);
        const char *sig = evhttp_find_header(hd, "X-Smsgate-Signature");
        const char *call = evhttp_find_header(hd, "X-Smsgate-Call");
        h->uri = sg_xstrdup(evhttp_request_get_uri(req));
        h->sig = sig ? sg_xstrdup(sig) : NULL;
        h->call = call ? sg_xstrdup(call) : NULL;
    }
    if (f->hang) return;
    if (f->moved && !strncmp(evhttp_request_get_uri(req), "/moved", 6)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/final");
        evhttp_send_reply(req, 302, "Found", NULL);
        return;
    }
    int status = 200;
    if (f->fail_first > 0) {
        f->fail_first--;
        status = 500;
    }
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Boom", NULL);
}

static void start_receiver(fixture *f) {
    f->http = evhttp_new(f->s.base);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len),
                     0);
    f->port = ntohs(sa.sin_port);
    evhttp_set_gencb(f->http, on_http, f);
}

static int setup(void **state) {
    fixture *f = sg_xcalloc(1, sizeof *f);
    store_fixture_open(&f->s, "notify", NULL);
    start_receiver(f);
    *state = f;
    return 0;
}

static void stop_notifier(fixture *f) {
    if (!f->n) return;
    notify_stop(f->n);
    while (store_pending(f->s.st) > 0) event_base_loop(f->s.base, EVLOOP_ONCE);
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f->n) notify_stop(f->n);
    /* evdns reports the lookups notify_stop cancelled from the loop: let it, so that their
     * memory is freed before the base is. */
    for (int i = 0; i < 3; i++) event_base_loop(f->s.base, EVLOOP_NONBLOCK);
    store_close(f->s.st);
    f->s.st = NULL;
    notify_free(f->n);
    evhttp_free(f->http);
    for (int i = 0; i < f->nhits; i++) {
        free(f->hits[i].uri);
        free(f->hits[i].sig);
        free(f->hits[i].call);
    }
    store_fixture_close(&f->s); /* the loop and the directory */
    free(f);
    return 0;
}

/* Creates account NAME and returns its service id; the service name goes to sn. */
static int64_t make_service(fixture *f, const char *name, char sn[64]) {
    store_account_create_req a = {.name = name, .credits = 100000, .rules_json = "[]"};
    store_done d = {0};
    STORE_QUEUE(&f->s, account_create, &a, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
    snprintf(sn, 64, "%s", a.service_name);
    store_service_get_req g = {.name = a.service_name};
    store_done d2 = {0};
    STORE_QUEUE(&f->s, service_get, &g, &d2);
    store_fixture_wait(&f->s);
    assert_int_equal(d2.rc, 0);
    int64_t id = g.svc.id;
    store_service_fini(&g.svc);
    free(a.service_name);
    free(a.app_key);
    free(a.app_secret);
    free(a.consumer_key);
    return id;
}

static void set_callback(fixture *f, int64_t sid, const char *url) {
    store_service_update_req u = {.service_id = sid, .set_callback = 1, .callback = url};
    store_done d = {0};
    STORE_QUEUE(&f->s, service_update, &u, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
}

static int64_t submit(fixture *f, int64_t sid, const char *receiver, const char *tag) {
    store_submit_msg m = {.receiver = receiver, .message = "hi", .length = 2, .parts = 1,
                          .credits = 1000};
    store_submit_req r = {.service_id = sid, .sender = "36184", .msgs = &m, .count = 1,
                          .total_credits = 1000, .validity_min = 2880, .tag = tag};
    r.now_ms = r.due_ms = sg_now_ms();
    store_done d = {0};
    STORE_QUEUE(&f->s, submit, &r, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
    return m.id;
}

static void set_status(fixture *f, int64_t id, msg_state s, int dlr, int ptt) {
    store_status_update u = {.msg_id = id, .state = s, .dlr = dlr, .ptt = ptt,
                             .ts_ms = sg_now_ms(), .smsc_id = "x"};
    store_status_req r = {.ups = &u, .count = 1};
    store_done d = {0};
    STORE_QUEUE(&f->s, status, &r, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
    assert_int_equal(r.applied, 1);
}

static int64_t query_int(fixture *f, const char *sql) {
    char v[64];
    assert_int_equal(store_fixture_query_text(&f->s, sql, v, sizeof v), 0);
    return atoll(v);
}

static void claim(fixture *f, store_notify_claim_req *r, const char *busy) {
    memset(r, 0, sizeof *r);
    r->node = "t";
    r->now_ms = sg_now_ms();
    r->lease_ms = 60000;
    r->limit = 10;
    r->busy_json = busy;
    store_done d = {0};
    STORE_QUEUE(&f->s, notify_claim, r, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
}

static void finish(fixture *f, int64_t id, int ok, int dead, int64_t next_ms) {
    store_notify_result x = {.id = id, .at_ms = sg_now_ms(), .ok = ok, .dead = dead,
                             .next_ms = next_ms, .http_status = ok ? 200 : 503,
                             .error = ok ? NULL : "HTTP status 503"};
    store_notify_finish_req r = {.results = &x, .count = 1};
    store_done d = {0};
    STORE_QUEUE(&f->s, notify_finish, &r, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
}

/* One call per called event, queued with the event, handed out one per SMS in order. */
static void test_queue_follows_events_in_order(void **state) {
    fixture *f = *state;
    char sn[64], sn2[64];
    int64_t sid = make_service(f, "acme", sn);
    int64_t sid2 = make_service(f, "quiet", sn2); /* no callBack: no calls */
    set_callback(f, sid, "http://cb.example/dlr?k=v");
    int64_t a = submit(f, sid, "+33612345678", "t1");
    int64_t b = submit(f, sid, "+33612345679", NULL);
    int64_t q = submit(f, sid2, "+33612345670", NULL);
    int64_t cancelled = submit(f, sid, "+33612345671", NULL);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls"), 0); /* creation */
    store_msg_req cr = {.service_id = sid, .id = cancelled};
    store_done dc = {0};
    STORE_QUEUE(&f->s, msg_cancel, &cr, &dc);
    store_fixture_wait(&f->s);
    assert_int_equal(dc.rc, 0);
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, a, MSG_DELIVERED, DLR_DELIVERED, 4);
    set_status(f, b, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, q, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls"), 3);

    store_notify_claim_req r;
    claim(f, &r, NULL);
    assert_int_equal(r.count, 2); /* a's first event and b's; a's second waits for the first */
    int64_t a1 = r.calls[0].id, b1 = r.calls[1].id;
    const char *want = "http://cb.example/dlr?k=v&id=1&dlr=8&ptt=3&date=";
    assert_true(!strncmp(r.calls[0].url, want, strlen(want)));
    assert_string_equal(r.calls[0].origin, "http://cb.example:80");
    assert_int_equal(strlen(r.calls[0].secret), 64);
    assert_int_equal(r.calls[0].attempts, 0);
    assert_true(r.calls[0].first_ms > 0);
    char *secret = sg_xstrdup(r.calls[0].secret);
    store_notify_claim_fini(&r);
    (void)b1;

    claim(f, &r, NULL); /* leased: nothing more */
    assert_int_equal(r.count, 0);
    store_notify_claim_fini(&r);

    finish(f, a1, 1, 0, 0);
    claim(f, &r, NULL);
    assert_int_equal(r.count, 1); /* a's delivery receipt, now that its submission was called */
    assert_non_null(strstr(r.calls[0].url, "&dlr=1&ptt=4&"));
    assert_non_null(strstr(r.calls[0].url, "&tag=t1"));
    assert_string_equal(r.calls[0].secret, secret);
    store_notify_claim_fini(&r);

    store_notify_secret_req s = {.service_name = sn};
    store_done ds = {0};
    STORE_QUEUE(&f->s, notify_secret, &s, &ds);
    store_fixture_wait(&f->s);
    assert_int_equal(ds.rc, 0);
    assert_string_equal(s.secret, secret);
    free(s.secret);
    free(secret);
}

/* The date parameter is the event's time in epoch seconds. */
static void test_queue_url_date(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = make_service(f, "acme", sn);
    set_callback(f, sid, "http://cb.example/x");
    int64_t a = submit(f, sid, "+33612345678", NULL);
    int64_t before = sg_now_ms() / 1000;
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    store_notify_claim_req r;
    claim(f, &r, NULL);
    assert_int_equal(r.count, 1);
    const char *d = strstr(r.calls[0].url, "&date=");
    assert_non_null(d);
    long long date = atoll(d + 6);
    assert_true(date >= before && date <= before + 2);
    store_notify_claim_fini(&r);
}

static int64_t submit_own(fixture *f, int64_t sid, const char *receiver, const char *url,
                          int mask) {
    store_submit_msg m = {.receiver = receiver, .message = "hi", .length = 2, .parts = 1,
                          .credits = 1000};
    store_submit_req r = {.service_id = sid, .sender = "36184", .msgs = &m, .count = 1,
                          .total_credits = 1000, .validity_min = 2880, .callback_url = url,
                          .callback_mask = mask};
    r.now_ms = r.due_ms = sg_now_ms();
    store_done d = {0};
    STORE_QUEUE(&f->s, submit, &r, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
    return m.id;
}

/* The one call claimable now: its URL (new) after it was finished, or NULL when none. */
static char *claim_one(fixture *f) {
    store_notify_claim_req r;
    claim(f, &r, NULL);
    if (r.count == 0) {
        store_notify_claim_fini(&r);
        return NULL;
    }
    assert_int_equal(r.count, 1);
    char *url = sg_xstrdup(r.calls[0].url);
    finish(f, r.calls[0].id, 1, 0, 0);
    store_notify_claim_fini(&r);
    return url;
}

/* Issue 15 (I3): a message's own callback. With a dlr-mask, its Kannel dlr-url is expanded
 * at each event in the mask and at no other; without, its URL replaces the service's
 * callBack (here there is none). */
static void test_own_callback_and_dlr_mask(void **state) {
    fixture *f = *state;
    char sn[64], want[512];
    int64_t sid = make_service(f, "acme", sn);
    const char *tmpl = "http://dlr.example/k?st=%d&to=%p&from=%P&id=%I&A=%A&F=%F&b=%b";
    int64_t a = submit_own(f, sid, "+33612345678", tmpl, KANNEL_DLR_DELIVERED |
                                                         KANNEL_DLR_UNDELIVERED);
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    assert_null(claim_one(f)); /* 8 is not in the mask */
    set_status(f, a, MSG_DELIVERED, DLR_DELIVERED, 0);
    char *u = claim_one(f);
    snprintf(want, sizeof want, "http://dlr.example/k?st=1&to=%%2B33612345678&from=36184&id=%lld"
             "&A=DELIVRD&F=x&b=hi", (long long)a);
    assert_non_null(u);
    assert_string_equal(u, want);
    free(u);

    int64_t b = submit_own(f, sid, "+33612345902", tmpl, KANNEL_DLR_ALL);
    set_status(f, b, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    u = claim_one(f);
    assert_non_null(u);
    assert_non_null(strstr(u, "?st=8&"));
    assert_non_null(strstr(u, "&A=ACK%2F&"));
    free(u);
    set_status(f, b, MSG_FAILED, DLR_ERROR, 23);
    u = claim_one(f);
    snprintf(want, sizeof want, "http://dlr.example/k?st=2&to=%%2B33612345902&from=36184&id=%lld"
             "&A=UNDELIV&F=x&b=hi", (long long)b);
    assert_non_null(u);
    assert_string_equal(u, want);
    free(u);

    int64_t c = submit_own(f, sid, "+33612345678", "http://own.example/cb", 0);
    set_status(f, c, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    u = claim_one(f);
    assert_non_null(u);
    snprintf(want, sizeof want, "http://own.example/cb?id=%lld&dlr=8&", (long long)c);
    assert_true(!strncmp(u, want, strlen(want)));
    free(u);
    /* a message without its own URL still follows the service (none here: no call) */
    int64_t d = submit(f, sid, "+33612345678", NULL);
    set_status(f, d, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    assert_null(claim_one(f));
}

/* Issue #7: with some origins busy, a claim walks the origins (index notify_origin_due)
 * instead of reading the busy ones' backlog; the others' calls still come, oldest first. */
static void test_claim_with_busy_origins(void **state) {
    fixture *f = *state;
    char sa[64], sb[64];
    int64_t a = make_service(f, "busyco", sa), b = make_service(f, "freeco", sb);
    set_callback(f, a, "http://busy.example/x");
    set_callback(f, b, "http://free.example/y");
    int64_t m[4] = {submit(f, a, "+33612345601", NULL), submit(f, b, "+33612345602", NULL),
                    submit(f, a, "+33612345603", NULL), submit(f, b, "+33612345604", NULL)};
    for (int i = 0; i < 4; i++) set_status(f, m[i], MSG_SUBMITTED, DLR_SUBMITTED, 3);

    store_notify_claim_req r;
    claim(f, &r, "[\"http://busy.example:80\"]");
    assert_int_equal(r.count, 2);
    assert_string_equal(r.calls[0].origin, "http://free.example:80");
    assert_string_equal(r.calls[1].origin, "http://free.example:80");
    assert_true(r.calls[0].id < r.calls[1].id);
    assert_non_null(strstr(r.calls[0].url, "id="));
    store_notify_claim_fini(&r);

    claim(f, &r, "[\"http://busy.example:80\", \"http://free.example:80\"]");
    assert_int_equal(r.count, 0); /* every origin busy: nothing, and nothing read for it */
    store_notify_claim_fini(&r);

    claim(f, &r, "[\"http://free.example:80\"]");
    assert_int_equal(r.count, 2); /* the busy one's calls, once it has room */
    assert_string_equal(r.calls[0].origin, "http://busy.example:80");
    assert_true(r.calls[0].id < r.calls[1].id);
    store_notify_claim_fini(&r);
}

static void test_retry_dead_replay_list(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = make_service(f, "acme", sn);
    set_callback(f, sid, "http://cb.example/x");
    int64_t a = submit(f, sid, "+33612345678", NULL);
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, a, MSG_DELIVERED, DLR_DELIVERED, 4);

    store_notify_claim_req r;
    claim(f, &r, "[\"http://cb.example:80\"]"); /* a busy origin is left alone */
    assert_int_equal(r.count, 0);
    store_notify_claim_fini(&r);
    claim(f, &r, NULL);
    assert_int_equal(r.count, 1);
    int64_t id = r.calls[0].id;
    store_notify_claim_fini(&r);

    int64_t later = sg_now_ms() + 60000;
    finish(f, id, 0, 0, later);
    claim(f, &r, NULL);
    assert_int_equal(r.count, 0); /* not due, and its successor waits behind it */
    assert_int_equal(r.next_due_ms, later);
    store_notify_claim_fini(&r);
    assert_int_equal(query_int(f, "SELECT attempts FROM notify_calls WHERE id = 1"), 1);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE id = 1 AND "
                                  "state = 0 AND done_ms IS NULL AND lease_ms IS NULL AND "
                                  "lease_owner IS NULL AND last_status = 503 AND "
                                  "last_error = 'HTTP status 503' AND last_ms > 0"), 1);

    /* Replaying a pending call makes it due now; it keeps its retry window. */
    int64_t ids[] = {id};
    store_notify_replay_req rp = {.service_name = sn, .ids = ids, .count = 1,
                                  .now_ms = sg_now_ms()};
    store_done d = {0};
    STORE_QUEUE(&f->s, notify_replay, &rp, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
    assert_int_equal(rp.replayed, 1);
    claim(f, &r, NULL);
    assert_int_equal(r.count, 1);
    store_notify_claim_fini(&r);
    finish(f, id, 0, 1, 0); /* its window is over: dead */
    assert_int_equal(query_int(f, "SELECT state FROM notify_calls WHERE id = 1"), 2);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE id = 1 AND "
                                  "done_ms = last_ms AND lease_ms IS NULL AND next_ms > 0"), 1);

    /* A dead call no longer holds its successor back. */
    claim(f, &r, NULL);
    assert_int_equal(r.count, 1);
    int64_t id2 = r.calls[0].id;
    store_notify_claim_fini(&r);
    finish(f, id2, 1, 0, 0);

    store_notify_list_req l = {.service_name = sn, .state = -1};
    store_done dl = {0};
    STORE_QUEUE(&f->s, notify_list, &l, &dl);
    store_fixture_wait(&f->s);
    assert_int_equal(dl.rc, 0);
    json_t *arr = json_loads(l.json, 0, NULL);
    assert_int_equal(json_array_size(arr), 1);
    json_t *o = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "dead");
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "lastStatus")), 503);
    assert_string_equal(json_string_value(json_object_get(o, "lastError")), "HTTP status 503");
    assert_int_equal(json_integer_value(json_object_get(o, "messageId")), a);
    assert_true(json_is_null(json_object_get(o, "nextAttemptAt")));
    json_decref(arr);
    free(l.json);

    /* Replay without ids: every dead call, with a fresh window, to the current callBack. */
    set_callback(f, sid, "https://fixed.example/new");
    store_notify_replay_req all = {.service_name = sn, .now_ms = sg_now_ms()};
    store_done d2 = {0};
    STORE_QUEUE(&f->s, notify_replay, &all, &d2);
    store_fixture_wait(&f->s);
    assert_int_equal(all.replayed, 1);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 0 AND "
                                  "first_ms IS NULL AND origin = 'https://fixed.example:443' AND "
                                  "url LIKE 'https://fixed.example/new?id=1&dlr=8&ptt=3&%'"), 1);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE "
                                  "url LIKE 'http://cb.example/%'"), 1); /* the delivered one */
    int64_t bad[] = {999};
    store_notify_replay_req nf = {.service_name = sn, .ids = bad, .count = 1};
    store_done d3 = {0};
    STORE_QUEUE(&f->s, notify_replay, &nf, &d3);
    store_fixture_wait(&f->s);
    assert_int_equal(d3.rc, SG_ENOTFOUND);
    store_notify_replay_req ns = {.service_name = "sms-nope-1"};
    store_done d4 = {0};
    STORE_QUEUE(&f->s, notify_replay, &ns, &d4);
    store_fixture_wait(&f->s);
    assert_int_equal(d4.rc, SG_ENOTFOUND);
}

static void test_recover_releases_leases(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = make_service(f, "acme", sn);
    set_callback(f, sid, "http://cb.example/x");
    set_status(f, submit(f, sid, "+33612345678", NULL), MSG_SUBMITTED, DLR_SUBMITTED, 3);
    store_notify_claim_req r;
    claim(f, &r, NULL);
    assert_int_equal(r.count, 1);
    store_notify_claim_fini(&r);
    memset(&r, 0, sizeof r);
    r.node = "t";
    r.now_ms = sg_now_ms();
    r.lease_ms = 60000;
    r.limit = 10;
    r.recover = 1;
    store_done d = {0};
    STORE_QUEUE(&f->s, notify_claim, &r, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(r.recovered, 1);
    assert_int_equal(r.count, 1);
    store_notify_claim_fini(&r);
}

/* ---- delivery over HTTP ---- */

static void start_notifier(fixture *f, int allow_private) {
    notify_options o = {.node = "t", .allow_private = allow_private, .timeout_ms = 3000,
                        .backoff_ms = 50, .backoff_max_ms = 200, .retry_ms = 60000,
                        .host_limit = 2};
    f->n = notify_new(f->s.base, f->s.st, &o);
    notify_start(f->n);
}

/* Service "acme" with its callBack at fmt (one %d: the receiver's port), then a started
 * notifier. Returns the service's id; its name is in sn. */
static int64_t callbacks_to(fixture *f, char sn[64], const char *fmt, int allow_private) {
    char url[128];
    int64_t sid = make_service(f, "acme", sn);
    snprintf(url, sizeof url, fmt, f->port);
    set_callback(f, sid, url);
    start_notifier(f, allow_private);
    return sid;
}

/* Runs the loop until the receiver saw want requests, failing after timeout_ms. */
static void run_until_hits(fixture *f, int want, int64_t timeout_ms) {
    int64_t end = sg_mono_ms() + timeout_ms;
    struct timeval tick = {0, 20000};
    while (f->nhits < want) {
        assert_true(sg_mono_ms() < end);
        event_base_loopexit(f->s.base, &tick);
        event_base_dispatch(f->s.base);
    }
}

static void run_for(fixture *f, int64_t ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(f->s.base, &tv);
    event_base_dispatch(f->s.base);
}

static char *service_secret(fixture *f, const char *sn) {
    store_notify_secret_req s = {.service_name = sn};
    store_done d = {0};
    STORE_QUEUE(&f->s, notify_secret, &s, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
    return s.secret;
}

static void assert_signed(const hit *h, const char *secret) {
    size_t n;
    const char *q = callurl_query(h->uri, &n);
    char sig[NOTIFY_CALL_SIG_LEN];
    notify_call_sign(secret, q, n, sig);
    assert_non_null(h->sig);
    assert_string_equal(h->sig, sig);
}

static void test_delivers_in_order_signed_once(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = callbacks_to(f, sn, "http://127.0.0.1:%d/cb?k=v", 1);
    int64_t a = submit(f, sid, "+33612345678", "T 1");
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, a, MSG_ENROUTE, DLR_ENROUTE, 3);
    set_status(f, a, MSG_DELIVERED, DLR_DELIVERED, 4);
    run_until_hits(f, 3, 5000);
    run_for(f, 300); /* nothing more comes */
    assert_int_equal(f->nhits, 3);
    char *secret = service_secret(f, sn);
    static const char *const dlrs[] = {"&dlr=8&", "&dlr=4&", "&dlr=1&"};
    for (int i = 0; i < 3; i++) {
        assert_true(!strncmp(f->hits[i].uri, "/cb?k=v&id=1&", 13));
        assert_non_null(strstr(f->hits[i].uri, dlrs[i]));
        assert_non_null(strstr(f->hits[i].uri, "&receiver=%2B33612345678&"));
        assert_non_null(strstr(f->hits[i].uri, "&tag=T%201"));
        assert_signed(&f->hits[i], secret);
        assert_non_null(f->hits[i].call);
    }
    free(secret);
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 1 AND "
                                  "attempts = 1 AND lease_ms IS NULL"), 3);
}

static void test_retries_until_2xx(void **state) {
    fixture *f = *state;
    char sn[64];
    f->fail_first = 3;
    int64_t sid = callbacks_to(f, sn, "http://127.0.0.1:%d/", 1);
    int64_t a = submit(f, sid, "+33612345678", NULL);
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, a, MSG_DELIVERED, DLR_DELIVERED, 4);
    run_until_hits(f, 5, 10000); /* 3 failures of the first call, then both calls */
    run_for(f, 300);
    assert_int_equal(f->nhits, 5);
    for (int i = 0; i < 4; i++) assert_non_null(strstr(f->hits[i].uri, "&dlr=8&"));
    assert_non_null(strstr(f->hits[4].uri, "&dlr=1&"));
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT attempts FROM notify_calls WHERE dlr = 8"), 4);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 1"), 2);
}

/* Runs the loop until the (only) call was attempted n times, failing after ms. */
static void wait_attempts(fixture *f, int n, int64_t ms) {
    int64_t end = sg_mono_ms() + ms;
    while (query_int(f, "SELECT attempts FROM notify_calls") < n) {
        assert_true(sg_mono_ms() < end);
        run_for(f, 50);
    }
}

/* A name resolving to a private address is refused like the address itself, with the same
 * error, by the fast client (which resolves the name) when it takes names, else by curl. */
static void test_private_address_refused(void **state) {
    fixture *f = *state;
    char sn[64];
    /* a name resolving privately */
    int64_t sid = callbacks_to(f, sn, "http://localhost:%d/", 0);
    set_status(f, submit(f, sid, "+33612345678", NULL), MSG_SUBMITTED, DLR_SUBMITTED, 3);
    wait_attempts(f, 2, 5000);
    assert_int_equal(f->nhits, 0);
    notify_stats ns;
    notify_get_stats(f->n, &ns);
    if (ns.resolves) {
        assert_int_equal((int)ns.curl_attempts, 0);
        assert_true(ns.fast_attempts >= 2);
        assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE last_error = "
                                      "'refused: 127.0.0.1 is a loopback or private address "
                                      "(callback-allow-private is off)'"), 1);
    }
    stop_notifier(f);
    char err[256];
    assert_int_equal(store_fixture_query_text(&f->s, "SELECT last_error FROM notify_calls", err,
                                              sizeof err), 0);
    assert_non_null(strstr(err, "private"));
    /* still pending: retried, not lost */
    assert_int_equal(query_int(f, "SELECT state FROM notify_calls"), 0);
}

/* The fast client (plain http to an IP literal) hands a redirect to curl, which follows it
 * from there: the customer's first URL sees the call once, as when curl makes it all. */
static void test_redirect_followed(void **state) {
    fixture *f = *state;
    char sn[64];
    f->moved = 1;
    int64_t sid = callbacks_to(f, sn, "http://127.0.0.1:%d/moved", 1);
    set_status(f, submit(f, sid, "+33612345678", NULL), MSG_SUBMITTED, DLR_SUBMITTED, 3);
    run_until_hits(f, 2, 5000);
    run_for(f, 300);
    assert_int_equal(f->nhits, 2); /* the fast client, then curl at the Location */
    assert_true(!strncmp(f->hits[0].uri, "/moved?id=1&", 12));
    assert_string_equal(f->hits[1].uri, "/final");
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 1 AND "
                                  "attempts = 1 AND last_status = 200"), 1);
}

/* The guard holds for a literal loopback address too (the fast client's path). */
static void test_private_literal_refused(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = callbacks_to(f, sn, "http://127.0.0.1:%d/", 0);
    set_status(f, submit(f, sid, "+33612345678", NULL), MSG_SUBMITTED, DLR_SUBMITTED, 3);
    wait_attempts(f, 2, 5000);
    assert_int_equal(f->nhits, 0);
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 0 AND "
                                  "last_status IS NULL AND last_error = 'refused: 127.0.0.1 is "
                                  "a loopback or private address (callback-allow-private is "
                                  "off)'"), 1);
}

/* A status event of an SMS with no earlier pending call is handed to the notifier when it
 * commits (no claim); the next events of that SMS wait for it and are claimed in order. */
static void test_handed_over_at_insert(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = callbacks_to(f, sn, "http://127.0.0.1:%d/h", 1);
    run_for(f, 100); /* the first claim releases an earlier run's leases, then hands-off open */
    int64_t a = submit(f, sid, "+33612345678", NULL), b = submit(f, sid, "+33612345679", NULL);
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, b, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, a, MSG_DELIVERED, DLR_DELIVERED, 4);
    run_until_hits(f, 3, 5000);
    run_for(f, 200);
    assert_int_equal(f->nhits, 3);
    notify_stats ns;
    notify_get_stats(f->n, &ns);
    assert_true(ns.handed >= 2); /* the first call of each SMS at least */
    /* a's delivery (1) came after its submission (8); nothing twice */
    int a8 = -1, a1 = -1;
    for (int i = 0; i < f->nhits; i++) {
        char id[32];
        snprintf(id, sizeof id, "id=%lld&", (long long)a);
        if (!strstr(f->hits[i].uri, id)) continue;
        if (strstr(f->hits[i].uri, "dlr=8")) a8 = i;
        if (strstr(f->hits[i].uri, "dlr=1&")) a1 = i;
    }
    assert_true(a8 >= 0 && a1 > a8);
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 1 AND "
                                  "attempts = 1 AND lease_owner IS NULL"), 3);
}

/* A call of another kind (sqlite__notify_call writes such rows: 'reply', 'stop') is made by
 * the same notifier as a status call: claimed, a GET of its whole URL, signed with the
 * service's secret, retried until 2xx; a replay does not point it at the callBack (that is a
 * status call's URL). */
static void test_other_kind_delivered(void **state) {
    fixture *f = *state;
    char sn[64], sql[512];
    int64_t sid = callbacks_to(f, sn, "http://127.0.0.1:%d/status", 1);
    f->fail_first = 1;
    snprintf(sql, sizeof sql,
             "INSERT INTO notify_calls(service_id, kind, event_id, event_ms, url, origin, "
             "created_ms, next_ms) VALUES (%lld, 'reply', 7, 1717171717000, "
             "'http://127.0.0.1:%d/cgi?k=v&id=7&message=Oui%%2C%%20merci', "
             "'http://127.0.0.1:%d', %lld, %lld)",
             (long long)sid, f->port, f->port, (long long)sg_now_ms(), (long long)sg_now_ms());
    store_fixture_exec(&f->s, sql);
    notify_kick(f->n);
    run_until_hits(f, 2, 10000); /* a failure, then the retry */
    run_for(f, 200);
    assert_int_equal(f->nhits, 2);
    for (int i = 0; i < 2; i++)
        assert_string_equal(f->hits[i].uri, "/cgi?k=v&id=7&message=Oui%2C%20merci");
    char *secret = service_secret(f, sn);
    assert_signed(&f->hits[1], secret);
    free(secret);
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'reply' AND "
                                  "state = 1 AND attempts = 2"), 1);
    /* replayed by id: made again to its own URL, not to the callBack */
    int64_t id = query_int(f, "SELECT id FROM notify_calls WHERE kind = 'reply'");
    store_notify_replay_req r = {.service_name = sn, .ids = &id, .count = 1,
                                 .now_ms = sg_now_ms()};
    store_done d = {0};
    STORE_QUEUE(&f->s, notify_replay, &r, &d);
    store_fixture_wait(&f->s);
    assert_int_equal(d.rc, 0);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'reply' AND "
                                  "state = 0 AND url LIKE '%/cgi?k=v&id=7&%'"), 1);
}

/* A callback to a host name goes through the fast client, which resolves the name once (the
 * hosts file: "localhost") and uses the answer for the next calls; curl is not used. */
static void test_name_delivered_fast(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = callbacks_to(f, sn, "http://localhost:%d/cb?k=v", 1);
    notify_stats ns;
    notify_get_stats(f->n, &ns);
    if (!ns.resolves) skip(); /* no /etc/resolv.conf here: names go to curl */
    int64_t a = submit(f, sid, "+33612345678", NULL);
    set_status(f, a, MSG_SUBMITTED, DLR_SUBMITTED, 3);
    set_status(f, a, MSG_ENROUTE, DLR_ENROUTE, 3);
    set_status(f, a, MSG_DELIVERED, DLR_DELIVERED, 4);
    run_until_hits(f, 3, 5000);
    run_for(f, 200);
    assert_int_equal(f->nhits, 3);
    char *secret = service_secret(f, sn);
    for (int i = 0; i < 3; i++) {
        assert_true(!strncmp(f->hits[i].uri, "/cb?k=v&id=1&", 13));
        assert_signed(&f->hits[i], secret);
    }
    free(secret);
    notify_get_stats(f->n, &ns);
    assert_int_equal((int)ns.fast_attempts, 3);
    assert_int_equal((int)ns.curl_attempts, 0);
    assert_int_equal((int)ns.lookups, 1);
    assert_int_equal((int)ns.cached, 2);
    assert_int_equal((int)ns.connects, 1); /* and one kept-alive connection */
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 1"), 3);
}

/* A name that does not resolve fails the attempt with a clear error; the call stays pending
 * and is retried, never lost. */
static void test_unknown_name_retried(void **state) {
    fixture *f = *state;
    char sn[64];
    int64_t sid = callbacks_to(f, sn, "http://no-such-host.invalid:%d/", 1);
    notify_stats ns;
    notify_get_stats(f->n, &ns);
    if (!ns.resolves) skip();
    set_status(f, submit(f, sid, "+33612345678", NULL), MSG_SUBMITTED, DLR_SUBMITTED, 3);
    /* NXDOMAIN comes at once; a name server that does not answer takes the 3 s connect
     * timeout per attempt. */
    wait_attempts(f, 2, 15000);
    notify_get_stats(f->n, &ns);
    assert_int_equal((int)ns.curl_attempts, 0);
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 0 AND "
                                  "last_status IS NULL AND (last_error LIKE 'Could not resolve "
                                  "host: no-such-host.invalid%' OR last_error LIKE 'Resolving "
                                  "host no-such-host.invalid timed out%')"), 1);
}

/* A stop abandons an attempt in flight; a new notifier makes it again. */
static void test_stop_abandons_then_restart_delivers(void **state) {
    fixture *f = *state;
    char sn[64];
    f->hang = 1;
    int64_t sid = callbacks_to(f, sn, "http://127.0.0.1:%d/", 1);
    set_status(f, submit(f, sid, "+33612345678", NULL), MSG_SUBMITTED, DLR_SUBMITTED, 3);
    run_until_hits(f, 1, 5000);
    stop_notifier(f);
    notify_free(f->n);
    f->n = NULL;
    f->hang = 0;
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM notify_calls WHERE state = 0 AND "
                                  "lease_ms IS NOT NULL"), 1);
    start_notifier(f, 1);
    run_until_hits(f, 2, 5000);
    stop_notifier(f);
    assert_int_equal(query_int(f, "SELECT state FROM notify_calls"), 1);
}

int main(int argc, char **argv) {
    evthread_use_pthreads();
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_rfc4231),
        cmocka_unit_test(test_private_addresses),
        cmocka_unit_test(test_forbidden_addresses),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test_setup_teardown(test_queue_follows_events_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_url_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_callback_and_dlr_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_dead_replay_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_with_busy_origins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_releases_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivers_in_order_signed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_until_2xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_address_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_literal_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_delivered_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_name_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_abandons_then_restart_delivers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_handed_over_at_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_kind_delivered, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
