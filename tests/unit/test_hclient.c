/*
 * test_hclient.c - the fast HTTP/1.1 client of status callbacks (src/notify/hclient.c):
 * which URLs it takes, and requests over real loopback TCP to a scripted server.
 *
 * Harness. The server and the client share one event_base on the test's thread. The server
 * (struct srv) accepts connections with an evconnlistener and answers each complete request
 * (up to the blank line) with the next entry of its script: raw response bytes, where a '|'
 * means "pause 30 ms here" so the client sees the answer in pieces; or hangs; or closes the
 * connection without answering. It counts connections accepted and keeps each request head,
 * so a test can tell whether a connection was reused and what was sent. A test runs the loop
 * until its request's callback ran or a deadline passed (a deadline is a failure).
 *
 * Run one test: test_hclient <name-glob>.
 */
#include <setjmp.h>
#include <signal.h>
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
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "notify/hclient.h"
#include "util/util.h"

#define MAX_STEPS 16
#define MAX_CONNS 16

/* ---- which URLs the client takes ---- */

static void test_target_parse(void **state) {
    (void)state;
    hclient_target t;
    assert_int_equal(hclient_target_parse("http://127.0.0.1:8080/s?a=1&b=%2B", &t), 0);
    assert_int_equal(t.addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 8080);
    assert_int_equal((int)t.host_len, 14);
    assert_memory_equal(t.host, "127.0.0.1:8080", 14);
    assert_int_equal((int)t.path_len, 12);
    assert_memory_equal(t.path, "/s?a=1&b=%2B", 12);

    assert_int_equal(hclient_target_parse("HTTP://10.0.0.1:80/x#frag", &t), 0);
    assert_int_equal((int)t.host_len, 8); /* the default port is left out of Host */
    assert_memory_equal(t.host, "10.0.0.1", 8);
    assert_int_equal((int)t.path_len, 2);

    assert_int_equal(hclient_target_parse("http://[::1]:9000?q", &t), 0);
    assert_int_equal(t.addr.ss_family, AF_INET6);
    assert_int_equal((int)t.host_len, 10);
    assert_memory_equal(t.host, "[::1]:9000", 10);
    assert_int_equal((int)t.path_len, 2); /* "?q": the client adds the leading '/' */

    assert_int_equal(hclient_target_parse("http://[2001:db8::1]/", &t), 0);
    assert_int_equal((int)t.host_len, 13);

    static const char *const others[] = {
        "https://127.0.0.1/",          /* TLS: curl */
        "http://example.com/",         /* a name: curl resolves it */
        "http://localhost:8080/",
        "http://u:p@127.0.0.1/",       /* credentials: curl sends them */
        "http://127.1/",               /* not the canonical form */
        "http://127.000.0.1/",
        "http://[::FFFF:1.2.3.4]/",
        "http://[fe80::1%25eth0]/",    /* a zone */
        "http://127.0.0.1:08080/",     /* a non-canonical port */
        "http://127.0.0.1:/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:8a/",
        "http://127.0.0.1/a/../b",     /* dot segments: curl removes them */
        "http://127.0.0.1/./b",
        "http://127.0.0.1/a/.",
        "http://127.0.0.1/a b",        /* characters curl would encode or refuse */
        "http://127.0.0.1/a\\b",
        "http://127.0.0.1/\xc3\xa9",
        "ftp://127.0.0.1/",
        "http://[::1/",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        if (hclient_target_parse(others[i], &t) != SG_EINVAL) fail_msg("took '%s'", others[i]);
    }
    /* Dots that are not whole segments, and dots in the query, are fine. */
    assert_int_equal(hclient_target_parse("http://127.0.0.1/a/.b/..c?x=/../", &t), 0);
}

/* ---- the scripted server ---- */

typedef struct step {
    const char *answer;   /* raw bytes, '|' = pause; NULL = hang */
    int close;            /* close after answering (or, without an answer, at once) */
} step;

typedef struct srv srv;

typedef struct sconn {
    srv *s;
    struct bufferevent *bev;
    struct event *pause;
    const char *rest;     /* what is left to write after a pause */
    int close_after_rest;
} sconn;

struct srv {
    struct event_base *base;
    struct evconnlistener *lis;
    int port;
    int accepts, requests;
    step script[MAX_STEPS];
    char *heads[MAX_STEPS];
    sconn *conns[MAX_CONNS];
};

static void sconn_free(sconn *sc) {
    srv *s = sc->s;
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i] == sc) s->conns[i] = NULL;
    bufferevent_free(sc->bev);
    event_free(sc->pause);
    free(sc);
}

/* Writes text up to the next '|'; the rest follows after a pause. */
static void sconn_write(sconn *sc, const char *text, int close) {
    const char *bar = strchr(text, '|');
    size_t n = bar ? (size_t)(bar - text) : strlen(text);
    bufferevent_write(sc->bev, text, n);
    if (bar) {
        sc->rest = bar + 1;
        sc->close_after_rest = close;
        struct timeval tv = {0, 30000};
        evtimer_add(sc->pause, &tv);
    } else if (close) {
        /* Flush, then close: done from the write callback once the output is empty. */
        sc->close_after_rest = 1;
        sc->rest = NULL;
        if (evbuffer_get_length(bufferevent_get_output(sc->bev)) == 0) sconn_free(sc);
    }
}

static void on_pause(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sconn *sc = arg;
    const char *rest = sc->rest;
    sc->rest = NULL;
    sconn_write(sc, rest, sc->close_after_rest);
}

static void on_swrite(struct bufferevent *bev, void *arg) {
    sconn *sc = arg;
    if (sc->close_after_rest && !sc->rest &&
        evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        sconn_free(sc);
}

static void on_sread(struct bufferevent *bev, void *arg) {
    sconn *sc = arg;
    srv *s = sc->s;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0) return;
        size_t len = (size_t)end.pos + 4;
        int i = s->requests++;
        assert_true(i < MAX_STEPS);
        s->heads[i] = sg_xmalloc(len + 1);
        evbuffer_remove(in, s->heads[i], len);
        s->heads[i][len] = '\0';
        step *st = &s->script[i];
        if (!st->answer) {
            if (st->close) sconn_free(sc);
            return; /* hang */
        }
        sconn_write(sc, st->answer, st->close);
        if (st->close) return; /* sc may be gone */
    }
}

static void on_sevent(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    (void)what;
    sconn_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int len, void *arg) {
    (void)l;
    (void)sa;
    (void)len;
    srv *s = arg;
    s->accepts++;
    sconn *sc = sg_xcalloc(1, sizeof *sc);
    sc->s = s;
    sc->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    sc->pause = evtimer_new(s->base, on_pause, sc);
    bufferevent_setcb(sc->bev, on_sread, on_swrite, on_sevent, sc);
    bufferevent_enable(sc->bev, EV_READ | EV_WRITE);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (!s->conns[i]) {
            s->conns[i] = sc;
            return;
        }
    }
    fail_msg("too many server connections");
}

/* ---- the fixture ---- */

typedef struct outcome {
    int called, rc, status;
    char error[256], location[256];
} outcome;

typedef struct fixture {
    struct event_base *base;
    srv s;
    hclient *c;
    outcome out[MAX_STEPS];
    int next;             /* index of the next outcome */
    char url[128];
    /* chained requests: the callback starts the next one while chain > 0 */
    int chain;
} fixture;

static int setup(void **state) {
    fixture *f = sg_xcalloc(1, sizeof *f);
    f->base = event_base_new();
    f->s.base = f->base;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    f->s.lis = evconnlistener_new_bind(f->base, on_accept, &f->s,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                       (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(f->s.lis);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(evconnlistener_get_fd(f->s.lis), (struct sockaddr *)&sin, &len),
                     0);
    f->s.port = ntohs(sin.sin_port);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/s?a=1", f->s.port);
    hclient_options o = {.timeout_ms = 2000};
    f->c = hclient_new(f->base, &o);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    hclient_free(f->c);
    for (int i = 0; i < MAX_CONNS; i++)
        if (f->s.conns[i]) sconn_free(f->s.conns[i]);
    for (int i = 0; i < MAX_STEPS; i++) free(f->s.heads[i]);
    evconnlistener_free(f->s.lis);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void start(fixture *f, const char *url);

static void on_done(void *arg, const hclient_result *res) {
    fixture *f = arg;
    outcome *o = &f->out[f->next++];
    o->called++;
    o->rc = res->rc;
    o->status = res->status;
    snprintf(o->error, sizeof o->error, "%s", res->error ? res->error : "");
    snprintf(o->location, sizeof o->location, "%s", res->location ? res->location : "");
    if (f->chain > 0) {
        f->chain--;
        start(f, f->url); /* from inside the callback: may reuse the connection just freed */
    }
}

static void start(fixture *f, const char *url) {
    hclient_target t;
    assert_int_equal(hclient_target_parse(url, &t), 0);
    hclient_req *r = NULL;
    assert_int_equal(hclient_get(f->c, &t, "X-Test: 1\r\n", on_done, f, &r), 0);
    assert_non_null(r);
}

static void run_for(fixture *f, int64_t ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

/* Runs the loop until `want` callbacks ran, failing after 5 s. */
static void run_until(fixture *f, int want) {
    int64_t end = sg_mono_ms() + 5000;
    while (f->next < want) {
        if (sg_mono_ms() > end) fail_msg("only %d of %d requests finished", f->next, want);
        run_for(f, 10);
    }
}

/* One request to f->url; returns its outcome. */
static outcome *get(fixture *f) {
    int i = f->next;
    start(f, f->url);
    run_until(f, i + 1);
    assert_int_equal(f->out[i].called, 1);
    return &f->out[i];
}

static void assert_ok(const outcome *o, int status) {
    if (o->rc != 0) fail_msg("request failed: %s", o->error);
    assert_int_equal(o->status, status);
}

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void stats(fixture *f, hclient_stats *st) { hclient_get_stats(f->c, st); }

/* ---- requests ---- */

static void test_keepalive_reuse(void **state) {
    fixture *f = *state;
    f->s.script[0].answer = OK;
    f->s.script[1].answer = OK;
    f->s.script[2].answer = OK;
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 1);
    char want[256];
    snprintf(want, sizeof want,
             "GET /s?a=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Test: 1\r\n\r\n", f->s.port);
    assert_string_equal(f->s.heads[0], want);
    assert_string_equal(f->s.heads[1], want);
    /* The next request is started from the callback of the previous one. */
    f->chain = 1;
    f->s.script[3].answer = OK;
    assert_ok(get(f), 200);
    run_until(f, 4);
    assert_ok(&f->out[3], 200);
    assert_int_equal(f->s.accepts, 1);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.connects, 1);
    assert_int_equal((int)st.reuses, 3);
    assert_int_equal((int)st.idle, 1);
    assert_int_equal((int)st.busy, 0);
}

static void test_bodies(void **state) {
    fixture *f = *state;
    static char big[300000];
    snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n");
    size_t n = strlen(big);
    memset(big + n, 'x', 200000);
    big[n + 200000] = '\0';
    f->s.script[0].answer = "HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n01234|56789";
    f->s.script[1].answer = big;
    f->s.script[2].answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n1;ext=1\r\n |\r\nA\r\n0123|456789\r\n0\r\n\r\n";
    f->s.script[3].answer = "HTTP/1.1 202 Accepted\r\ntransfer-encoding: gzip, CHUNKED\r\n"
                            "\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n|\r\n";
    f->s.script[4].answer = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    f->s.script[5].answer = "HTTP/1.1 200 OK\n"
                            "Content-Length: 3\n\nabc"; /* bare LF line ends */
    f->s.script[6].answer = "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n";
    assert_ok(get(f), 201);
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_ok(get(f), 202);
    assert_ok(get(f), 204);
    assert_ok(get(f), 200);
    assert_ok(get(f), 204);
    /* Every body was framed right: one connection carried them all. */
    assert_int_equal(f->s.accepts, 1);
}

static void test_connection_close(void **state) {
    fixture *f = *state;
    f->s.script[0].answer = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    f->s.script[1].answer = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    f->s.script[2].answer = "HTTP/1.1 200 OK\r\n\r\nread until| close";
    f->s.script[2].close = 1;
    f->s.script[3].answer = OK;
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 4);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.reuses, 0);
    assert_int_equal((int)st.retries, 0);
}

/* The server closes a connection after answering: the client notices while the connection is
 * idle, drops it, and the next request goes on a new one. */
static void test_server_closes_idle(void **state) {
    fixture *f = *state;
    f->s.script[0].answer = OK;
    f->s.script[0].close = 1;
    f->s.script[1].answer = OK;
    assert_ok(get(f), 200);
    run_for(f, 100);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.idle, 0);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 2);
    stats(f, &st);
    assert_int_equal((int)st.retries, 0);
}

/* The server closes a kept-alive connection just as the next request arrives on it: the
 * request is sent once more on a new connection, and succeeds. */
static void test_retry_after_close_race(void **state) {
    fixture *f = *state;
    f->s.script[0].answer = OK;
    f->s.script[1].close = 1; /* no answer, close */
    f->s.script[2].answer = OK;
    f->s.script[3].close = 1; /* and again: no second retry on a new connection */
    f->s.script[4].close = 1;
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 2);
    assert_int_equal(f->s.requests, 3);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.retries, 1);
    outcome *o = get(f); /* retried once, then the failure is reported */
    assert_int_equal(o->rc, SG_ETEMP);
    assert_non_null(strstr(o->error, "Empty reply"));
    assert_int_equal(f->s.requests, 5);
    stats(f, &st);
    assert_int_equal((int)st.retries, 2);
}

/* A fresh connection that fails is not retried. */
static void test_fresh_connection_not_retried(void **state) {
    fixture *f = *state;
    f->s.script[0].close = 1;
    outcome *o = get(f);
    assert_int_equal(o->rc, SG_ETEMP);
    assert_int_equal(f->s.requests, 1);
}

static void test_timeout(void **state) {
    fixture *f = *state;
    hclient_free(f->c);
    hclient_options o = {.timeout_ms = 300};
    f->c = hclient_new(f->base, &o);
    int64_t t0 = sg_mono_ms();
    outcome *r = get(f); /* script[0] is empty: the server never answers */
    int64_t took = sg_mono_ms() - t0;
    assert_int_equal(r->rc, SG_ETEMP);
    assert_non_null(strstr(r->error, "timed out"));
    assert_true(took >= 290 && took < 2000);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.busy + (int)st.idle, 0); /* the connection was dropped */
}

static void test_oversized_headers(void **state) {
    fixture *f = *state;
    static char big[40000];
    int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; n < 20000; i++) n += snprintf(big + n, sizeof big - (size_t)n,
                                                   "X-Filler-%d: %060d\r\n", i, i);
    snprintf(big + n, sizeof big - (size_t)n, "Content-Length: 0\r\n\r\n");
    f->s.script[0].answer = big;
    outcome *o = get(f);
    assert_int_equal(o->rc, SG_EIO);
    assert_non_null(strstr(o->error, "larger than 16384"));
    /* Just under the limit is fine. */
    n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; n < 15000; i++) n += snprintf(big + n, sizeof big - (size_t)n,
                                                   "X-Filler-%d: %060d\r\n", i, i);
    snprintf(big + n, sizeof big - (size_t)n, "Content-Length: 0\r\n\r\n");
    f->s.script[1].answer = big;
    assert_ok(get(f), 200);
}

static void test_redirect_reported(void **state) {
    fixture *f = *state;
    f->s.script[0].answer = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\n"
                            "Content-Length: 5\r\n\r\nmoved";
    f->s.script[1].answer = OK;
    outcome *o = get(f);
    assert_ok(o, 302);
    assert_string_equal(o->location, "http://127.0.0.1:1/x"); /* for curl to follow */
    o = get(f);
    assert_ok(o, 200);
    assert_string_equal(o->location, ""); /* not a redirect: none */
    assert_int_equal(f->s.accepts, 1);
}

static void test_protocol_errors(void **state) {
    fixture *f = *state;
    f->s.script[0].answer = "SSH-2.0-OpenSSH\r\n\r\n";
    f->s.script[1].answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    f->s.script[2].answer = "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n";
    f->s.script[3].answer = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
    f->s.script[3].close = 1;
    f->s.script[4].answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
    f->s.script[5].answer = OK;
    static const char *const errs[] = {"status line", "chunked", "Content-Length",
                                       "before the end"};
    for (int i = 0; i < 4; i++) {
        outcome *o = get(f);
        assert_int_not_equal(o->rc, 0);
        if (!strstr(o->error, errs[i])) fail_msg("error %d: '%s'", i, o->error);
    }
    assert_ok(get(f), 200); /* bytes after the answer: not reused */
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 6);
}

static void test_connect_refused(void **state) {
    fixture *f = *state;
    /* A port nobody listens on: bind one, then close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/", ntohs(sin.sin_port));
    outcome *o = get(f);
    assert_int_equal(o->rc, SG_ETEMP);
    assert_non_null(strstr(o->error, "Failed to connect"));
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.busy + (int)st.idle, 0);
}

/* Cancelled requests never call back; freeing the client with requests in flight (connecting
 * and waiting for an answer) and idle connections leaks nothing (ASan checks). */
static void test_cancel_and_free(void **state) {
    fixture *f = *state;
    f->s.script[0].answer = OK;
    assert_ok(get(f), 200); /* one idle connection */
    hclient_target t;
    assert_int_equal(hclient_target_parse(f->url, &t), 0);
    hclient_req *a, *b, *c;
    assert_int_equal(hclient_get(f->c, &t, "", on_done, f, &a), 0); /* reuses the idle one */
    assert_int_equal(hclient_get(f->c, &t, "", on_done, f, &b), 0); /* connecting */
    run_for(f, 50);
    hclient_cancel(a);
    assert_int_equal(hclient_get(f->c, &t, "", on_done, f, &c), 0);
    run_for(f, 50);
    assert_int_equal(f->next, 1); /* nothing called back; b and c hang */
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.busy, 2);
    (void)b;
    (void)c;
    /* teardown frees the client with b and c in flight */
}

/* More idle connections than allowed per destination are closed. */
static void test_idle_limit(void **state) {
    fixture *f = *state;
    hclient_free(f->c);
    hclient_options o = {.timeout_ms = 2000, .idle_per_dest = 2};
    f->c = hclient_new(f->base, &o);
    for (int i = 0; i < 4; i++) f->s.script[i].answer = "HTTP/1.1 200 OK\r\nContent-Length: "
                                                        "2\r\n\r\n|ok";
    for (int i = 0; i < 4; i++) start(f, f->url);
    run_until(f, 4);
    for (int i = 0; i < 4; i++) assert_ok(&f->out[i], 200);
    assert_int_equal(f->s.accepts, 4);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.idle, 2);
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN); /* as smsgated: libevent writes with writev() */
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_parse),
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_close_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_connection_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
