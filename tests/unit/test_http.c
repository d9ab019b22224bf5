/*
 * test_http.c - unit tests for src/http/: request-target parsing, the server over real
 * loopback sockets (plain and TLS), replies and error bodies, asynchronous replies, client
 * disconnects, streamed replies (whole, HEAD, the client leaving half-way, cut short), server shutdown,
 * and the self-signed certificate.
 *
 * Harness. The event loop and the server run on the test's main thread, so the handler and
 * every cmocka assertion run there. Clients (libcurl, raw sockets, an OpenSSL client) run in
 * one pthread per test step (run_client) and only record what they saw; the main thread
 * checks it after joining. Two pipes connect them: the handler writes one byte to
 * to_client for each request it holds (path "/defer"), and the client sends commands to the
 * loop through to_main: 'R' reply to the held requests ('B' with a 2 MiB string), 'S' stop
 * accepting, 'W' make evhttp
 * watch the held requests' connections, 'D' done (sent by run_client itself).
 *
 * Run one test: test_http <name-glob>. Debug logs: SG_TEST_DEBUG=1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "http/http.h"
#include "http/http_int.h"
#include "util/log.h"
#include "util/util.h"

#define MAX_HELD 8
#define BIG_BODY (2u * 1024 * 1024)

static char g_dir[64], g_cert[128], g_key[128];

typedef struct fx {
    struct event_base *base;
    http_server *srv;
    int port, tls_port;
    int calls;                 /* handler invocations */
    char last_method[16];
    int heads;                 /* HEAD requests seen */
    http_req *held[MAX_HELD];  /* requests held by "/defer" */
    int nheld;
    int to_client[2], to_main[2];
    struct event *ev_cmd;
    int done, timed_out;
    int inflight_seen;         /* inflight when 'R' arrived */
    int port_after_stop;       /* http_server_port() after 'S' */
    int keep_fd;               /* a client socket the main thread closes */
    /* "/stream": a streamed reply of STREAM_PIECES pieces */
    int stream_piece, stream_rc, streams_ended, streams_aborted;
} fx;

#define STREAM_PIECE (256u * 1024)
#define STREAM_PIECES 16

/* ---- handler (main thread) --------------------------------------------------------------- */

static unsigned char pattern(size_t i) {
    return (unsigned char)((i * 31 + 7) & 0xff);
}

static json_t *describe(http_req *r) {
    json_t *segs = json_array(), *params = json_array();
    for (int i = 0; i < r->nsegs; i++) json_array_append_new(segs, json_string(r->segs[i]));
    for (int i = 0; i < r->nparams; i++)
        json_array_append_new(params, json_pack("[ss]", r->params[i].key, r->params[i].val));
    const char *xt = http_req_header(r, "x-TEST");
    return json_pack("{ss ss ss sb so so sI sb ss ss? ss?}", "method", r->method, "target",
                     r->target, "path", r->path, "has_base", r->has_base, "segs", segs,
                     "params", params, "body_len", (json_int_t)r->body_len, "tls", r->tls,
                     "peer", r->peer, "x_test", xt, "tag", http_req_param(r, "tag"));
}

/* Writes piece f->stream_piece of "/stream" (its bytes are pattern(offset)). */
static void on_piece(http_req *r, int rc, void *arg);
static void stream_piece(fx *f, http_req *r) {
    static unsigned char buf[STREAM_PIECE];
    size_t off = (size_t)f->stream_piece * STREAM_PIECE;
    for (size_t i = 0; i < STREAM_PIECE; i++) buf[i] = pattern(off + i);
    http_reply_stream_write(r, buf, STREAM_PIECE, on_piece, f);
}

static void on_piece(http_req *r, int rc, void *arg) {
    fx *f = arg;
    if (rc) {
        f->stream_rc = rc;
        f->streams_aborted++;
        http_reply_stream_abort(r);
        return;
    }
    if (++f->stream_piece == STREAM_PIECES) {
        f->streams_ended++;
        http_reply_stream_end(r);
        return;
    }
    stream_piece(f, r);
}

static void handler(http_req *r, void *arg) {
    fx *f = arg;
    f->calls++;
    snprintf(f->last_method, sizeof f->last_method, "%s", r->method);
    if (!strcmp(r->method, "HEAD")) f->heads++;
    assert_non_null(r->body);
    assert_int_equal(r->body[r->body_len], 0);
    if (!strcmp(r->path, "/null")) {
        http_reply_json(r, NULL);
    } else if (!strcmp(r->path, "/num")) {
        http_reply_json(r, json_integer(42));
    } else if (!strcmp(r->path, "/str")) {
        http_reply_json(r, json_string("h\xc3\xa9"));
    } else if (!strcmp(r->path, "/raw")) {
        http_reply_raw(r, 200, "application/octet-stream", r->body, r->body_len);
    } else if (r->nsegs == 2 && !strcmp(r->segs[0], "err")) {
        int st = atoi(r->segs[1]);
        if (st == 404)
            http_reply_error(r, 404, "NOT_FOUND_X", "Object '%s' does not exist", "abc");
        else
            http_reply_error(r, st, NULL, "Failure %d", st);
    } else if (!strcmp(r->path, "/stream") || !strcmp(r->path, "/stream-short")) {
        /* "/stream-short" announces one byte more than it writes: _end() cuts it off. */
        uint64_t extra = !strcmp(r->path, "/stream-short");
        f->stream_piece = 0;
        f->stream_rc = 0;
        if (http_reply_stream_start(r, "application/octet-stream",
                                    (uint64_t)STREAM_PIECES * STREAM_PIECE + extra)) {
            f->streams_ended++; /* HEAD: complete already */
            return;
        }
        stream_piece(f, r);
    } else if (!strcmp(r->path, "/defer")) {
        assert_true(f->nheld < MAX_HELD);
        f->held[f->nheld++] = r;
        char b = 'g';
        assert_int_equal(write(f->to_client[1], &b, 1), 1);
    } else if (!strcmp(r->path, "/sum")) {
        int ok = r->body_len == BIG_BODY;
        for (size_t i = 0; ok && i < r->body_len; i++) ok = r->body[i] == pattern(i);
        const char *ex = http_req_header(r, "Expect");
        http_reply_json(r, json_pack("{sI sb ss?}", "len", (json_int_t)r->body_len, "ok", ok,
                                     "expect", ex));
    } else {
        http_reply_json(r, describe(r));
    }
}

static void reply_held(fx *f, const char *text) {
    for (int i = 0; i < f->nheld; i++) http_reply_json(f->held[i], json_string(text));
    f->nheld = 0;
}

static void on_cmd(evutil_socket_t fd, short what, void *arg) {
    fx *f = arg;
    (void)what;
    char c;
    if (read(fd, &c, 1) != 1) return;
    switch (c) {
    case 'D':
        f->done = 1;
        event_base_loopbreak(f->base);
        break;
    case 'R':
    case 'B': {
        f->inflight_seen = http_server_inflight(f->srv);
        char *text = NULL;
        if (c == 'B') { /* big enough to need several writes: EPIPE on a closed socket */
            text = sg_xmalloc(BIG_BODY + 1);
            memset(text, 'x', BIG_BODY);
            text[BIG_BODY] = '\0';
        }
        reply_held(f, text ? text : "late");
        free(text);
        break;
    }
    case 'S':
        http_server_stop_accepting(f->srv);
        f->port_after_stop = http_server_port(f->srv, 0);
        c = 's';
        assert_int_equal(write(f->to_client[1], &c, 1), 1);
        break;
    case 'W':
        for (int i = 0; i < f->nheld; i++) http__req_watch_close(f->held[i]);
        c = 'w';
        assert_int_equal(write(f->to_client[1], &c, 1), 1);
        break;
    default:
        fail_msg("unknown command '%c'", c);
    }
}

static void on_guard(evutil_socket_t fd, short what, void *arg) {
    fx *f = arg;
    (void)fd;
    (void)what;
    f->timed_out = 1;
    event_base_loopbreak(f->base);
}

/* ---- running clients --------------------------------------------------------------------- */

typedef void (*client_fn)(fx *f, void *arg);
typedef struct run_ctx {
    fx *f;
    client_fn fn;
    void *arg;
} run_ctx;

static void send_cmd(fx *f, char c) {
    if (write(f->to_main[1], &c, 1) != 1) abort();
}

static void *client_main(void *p) {
    run_ctx *rc = p;
    rc->fn(rc->f, rc->arg);
    send_cmd(rc->f, 'D');
    return NULL;
}

/* Runs fn in a thread while the main thread runs the loop, until fn returns. */
static void run_client(fx *f, client_fn fn, void *arg) {
    run_ctx rc = {f, fn, arg};
    pthread_t t;
    f->done = f->timed_out = 0;
    struct event *guard = evtimer_new(f->base, on_guard, f);
    struct timeval tv = {30, 0};
    evtimer_add(guard, &tv);
    assert_int_equal(pthread_create(&t, NULL, client_main, &rc), 0);
    while (!f->done && !f->timed_out) event_base_loop(f->base, EVLOOP_ONCE);
    pthread_join(t, NULL);
    event_free(guard);
    assert_false(f->timed_out);
}

/* Runs the loop for ms milliseconds (lets the server finish writes and closes). */
static void spin(fx *f, int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

/* Client side: waits up to 10 s for one byte from the main thread. */
static char wait_main(fx *f) {
    struct pollfd p = {.fd = f->to_client[0], .events = POLLIN};
    char c = 0;
    if (poll(&p, 1, 10000) == 1 && read(f->to_client[0], &c, 1) == 1) return c;
    return 0;
}

/* ---- libcurl client ---------------------------------------------------------------------- */

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char hdrs[8192];
    size_t hlen;
    double secs;
    long nconnects;
    int curl_rc;
} resp;

typedef struct creq {
    const char *method;       /* NULL: GET, or POST when body is set */
    const char *path;         /* appended to the base URL */
    int tls;
    const char *host;         /* default 127.0.0.1 */
    const void *body;
    size_t len;
    int has_body;
    const char *hdr[4];
    long expect_ms;           /* CURLOPT_EXPECT_100_TIMEOUT_MS, 0 = default */
    int nobody;               /* HEAD */
    int verify;               /* TLS: verify against g_cert */
} creq;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    resp *r = ud;
    r->body = sg_xrealloc(r->body, r->len + sz * n + 1);
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    resp *r = ud;
    size_t k = sz * n;
    if (r->hlen + k < sizeof r->hdrs) {
        memcpy(r->hdrs + r->hlen, p, k);
        r->hlen += k;
        r->hdrs[r->hlen] = '\0';
    }
    return k;
}

/* Performs one request on curl handle c (reused across calls for keep-alive). */
static void curl_do(CURL *c, fx *f, const creq *q, resp *out) {
    char url[512];
    memset(out, 0, sizeof *out);
    snprintf(url, sizeof url, "%s://%s:%d%s", q->tls ? "https" : "http",
             q->host ? q->host : "127.0.0.1", q->tls ? f->tls_port : f->port, q->path);
    struct curl_slist *hl = NULL;
    for (int i = 0; i < 4 && q->hdr[i]; i++) hl = curl_slist_append(hl, q->hdr[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOBODY, q->nobody ? 1L : 0L);
    if (q->has_body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
    } else if (!q->nobody) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->expect_ms) curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, q->expect_ms);
    if (q->tls) {
        curl_easy_setopt(c, CURLOPT_CAINFO, g_cert);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, q->verify ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, q->verify ? 2L : 0L);
    }
    out->curl_rc = (int)curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->secs);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->nconnects);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
}

typedef struct batch {
    const creq *reqs;
    resp *resps;
    int n;
} batch;

/* Client: performs the batch's requests in order on one handle. */
static void client_batch(fx *f, void *arg) {
    batch *b = arg;
    CURL *c = curl_easy_init();
    for (int i = 0; i < b->n; i++) curl_do(c, f, &b->reqs[i], &b->resps[i]);
    curl_easy_cleanup(c);
}

static void do_batch(fx *f, const creq *reqs, resp *resps, int n) {
    batch b = {reqs, resps, n};
    run_client(f, client_batch, &b);
}

static void resp_free(resp *r) {
    free(r->body);
    r->body = NULL;
}

static json_t *resp_json(const resp *r) {
    json_error_t e;
    json_t *j = json_loadb(r->body ? r->body : "", r->len, JSON_DECODE_ANY, &e);
    if (!j) fail_msg("response is not JSON (%s): %.200s", e.text, r->body ? r->body : "");
    return j;
}

static const char *jstr(json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

/* ---- raw socket client ------------------------------------------------------------------- */

static int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void send_str(int fd, const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

/* Reads until EOF, timeout or cap; returns a new NUL-terminated string. */
static char *read_all(int fd) {
    size_t cap = 65536, len = 0;
    char *buf = sg_xmalloc(cap + 1);
    ssize_t k;
    while (len < cap && (k = read(fd, buf + len, cap - len)) > 0) len += (size_t)k;
    buf[len] = '\0';
    return buf;
}

/* Reads one response with a Content-Length body; returns a new string (headers + body). */
static char *read_response(int fd) {
    size_t cap = 65536, len = 0;
    char *buf = sg_xmalloc(cap + 1);
    buf[0] = '\0';
    for (;;) {
        char *e = strstr(buf, "\r\n\r\n");
        if (e) {
            char *cl = strcasestr(buf, "Content-Length:");
            size_t want = (size_t)(e + 4 - buf) + (cl && cl < e ? strtoul(cl + 15, NULL, 10) : 0);
            if (len >= want) break;
        }
        ssize_t k = read(fd, buf + len, cap - len);
        if (k <= 0) break;
        len += (size_t)k;
        buf[len] = '\0';
    }
    return buf;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static fx *fx_new(const http_limits *lim) {
    fx *f = sg_xcalloc(1, sizeof *f);
    f->keep_fd = -1;
    f->base = event_base_new();
    assert_non_null(f->base);
    assert_int_equal(pipe(f->to_client), 0);
    assert_int_equal(pipe(f->to_main), 0);
    f->ev_cmd = event_new(f->base, f->to_main[0], EV_READ | EV_PERSIST, on_cmd, f);
    event_add(f->ev_cmd, NULL);
    f->srv = http_server_new(f->base, lim, handler, f);
    assert_int_equal(http_server_listen(f->srv, "127.0.0.1:0"), 0);
    assert_int_equal(http_server_listen_tls(f->srv, "127.0.0.1:0", g_cert, g_key), 0);
    f->port = http_server_port(f->srv, 0);
    f->tls_port = http_server_port(f->srv, 1);
    assert_true(f->port > 0 && f->tls_port > 0 && f->port != f->tls_port);
    return f;
}

static void fx_free(fx *f) {
    reply_held(f, "teardown");
    http_server_free(f->srv);
    if (f->keep_fd >= 0) close(f->keep_fd);
    event_free(f->ev_cmd);
    event_base_free(f->base);
    close(f->to_client[0]);
    close(f->to_client[1]);
    close(f->to_main[0]);
    close(f->to_main[1]);
    free(f);
}

static int setup(void **state) {
    *state = fx_new(NULL);
    return 0;
}

static int teardown(void **state) {
    fx_free(*state);
    return 0;
}

static int group_setup(void **state) {
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* as smsgated does; replies to vanished clients must not kill us */
    if (getenv("SG_TEST_DEBUG")) sg_log_debug_enable("http");
    else sg_log_set_level(SG_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(g_dir, sizeof g_dir, "/tmp/sg_test_http_XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    snprintf(g_cert, sizeof g_cert, "%s/cert.pem", g_dir);
    snprintf(g_key, sizeof g_key, "%s/key.pem", g_dir);
    return http_tls_selfsigned(g_cert, g_key);
}

static int group_teardown(void **state) {
    (void)state;
    char p[160];
    unlink(g_cert);
    unlink(g_key);
    snprintf(p, sizeof p, "%s/bad.pem", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/log.txt", g_dir); /* left behind when test_error_bodies fails */
    unlink(p);
    rmdir(g_dir);
    curl_global_cleanup();
    return 0;
}

/* ---- pure parsing ------------------------------------------------------------------------ */

typedef struct pcase {
    const char *target;
    int rc;
    const char *path;
    int has_base;
    int nsegs;
    const char *segs[4];
} pcase;

static void test_parse_path(void **state) {
    (void)state;
    static const pcase cases[] = {
        {"/1.0/sms/", 0, "/sms", 1, 1, {"sms"}},
        {"/1.0/sms", 0, "/sms", 1, 1, {"sms"}},
        {"/v1/sms/a%20b/jobs", 0, "/sms/a b/jobs", 1, 3, {"sms", "a b", "jobs"}},
        {"/v1/sms/x/jobs/?a=1", 0, "/sms/x/jobs", 1, 3, {"sms", "x", "jobs"}},
        {"/1.0", 0, "/", 1, 0, {0}},
        {"/1.0/", 0, "/", 1, 0, {0}},
        {"/", 0, "/", 0, 0, {0}},
        {"/1.0x/sms", 0, "/1.0x/sms", 0, 2, {"1.0x", "sms"}},
        {"/v1x", 0, "/v1x", 0, 1, {"v1x"}},
        {"/sms/1.0", 0, "/sms/1.0", 0, 2, {"sms", "1.0"}},
        {"/auth/time", 0, "/auth/time", 0, 2, {"auth", "time"}},
        {"/1.0/sms/x/blacklists/+33612345678", 0, "/sms/x/blacklists/+33612345678", 1, 4,
         {"sms", "x", "blacklists", "+33612345678"}},
        {"/sms//x///", 0, "/sms/x", 0, 2, {"sms", "x"}},
        {"/sms/100%", 0, "/sms/100%", 0, 2, {"sms", "100%"}},
        {"/sms/%zz%4", 0, "/sms/%zz%4", 0, 2, {"sms", "%zz%4"}},
        {"/sms/My%20Sender%2b", 0, "/sms/My Sender+", 0, 2, {"sms", "My Sender+"}},
        {"/sms#frag", 0, "/sms", 0, 1, {"sms"}},
        {"http://example.com:8080/1.0/sms?x=1", 0, "/sms", 1, 1, {"sms"}},
        {"https://example.com", 0, "/", 0, 0, {0}},
        {"/sms/a%2Fb", SG_EINVAL, NULL, 0, 0, {0}},
        {"/sms/a%00b", SG_EINVAL, NULL, 0, 0, {0}},
        {"/sms/..", SG_EINVAL, NULL, 0, 0, {0}},
        {"/sms/%2e", SG_EINVAL, NULL, 0, 0, {0}},
        {"*", SG_EINVAL, NULL, 0, 0, {0}},
        {"ftp://x/y", SG_EINVAL, NULL, 0, 0, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const pcase *c = &cases[i];
        http_req r = {0};
        const char *why = NULL;
        r.target = sg_xstrdup(c->target);
        int rc = http__parse_target(&r, &why);
        if (rc != c->rc) fail_msg("'%s': rc %d, want %d", c->target, rc, c->rc);
        if (rc) {
            assert_non_null(why);
        } else {
            if (strcmp(r.path, c->path)) fail_msg("'%s': path '%s'", c->target, r.path);
            assert_int_equal(r.has_base, c->has_base);
            assert_int_equal(r.nsegs, c->nsegs);
            for (int k = 0; k < c->nsegs; k++) assert_string_equal(r.segs[k], c->segs[k]);
        }
        http__req_fields_free(&r);
    }
}

/* http__head_check: RFC 9112 framing of a complete head (issue 12, point 3). */
static void test_head_check(void **state) {
    (void)state;
    static const struct {
        const char *head;
        size_t len; /* 0: strlen */
        int status, chunked;
        const char *why; /* substring of the reason, for refusals */
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, 0, NULL},
        {"POST / HTTP/1.1\r\nContent-Length: 12\r\nX-A:\tb c \r\n\r\n", 0, 0, 0, NULL},
        {"POST / HTTP/1.1\r\ntransfer-encoding:  Chunked \r\n\r\n", 0, 0, 1, NULL},
        {"GET / HTTP/1.0\r\n\r\n", 0, 0, 0, NULL},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, 400, 0,
         "more than one Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", 0, 400, 0,
         "more than one Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 0, 400, 0, "decimal"},
        {"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 0, 400, 0, "decimal"},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 0, 400, 0, "decimal"},
        {"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", 0, 400, 0, "18"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0, 400, 0,
         "both"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", 0, 400, 0, "Whitespace"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n", 0, 400, 0, "Whitespace"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, 400, 0, "chunked"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, 400, 0, "chunked"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 400, 0, "chunked"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         400, 0, "chunked"},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400, 0, "HTTP/1.0"},
        {"GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 29, 400, 0, "control character"},
        {"GET / HTTP/1.1\r\nX-A: a\x01" "b\r\n\r\n", 0, 400, 0, "control character"},
        {"GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n", 0, 400, 0, "control character"},
        {"GET / HTTP/1.1\r\nX-\0A: ab\r\n\r\n", 29, 400, 0, "token"},
        {"GET /\x01 HTTP/1.1\r\n\r\n", 0, 400, 0, "request line"},
        {"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 0, 400, 0, "obs-fold"},
        {"GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", 0, 400, 0, "obs-fold"},
        {"GET / HTTP/1.1\nHost: a\n\n", 0, 400, 0, "bare LF"},
        {"GET / HTTP/1.1\r\nHost: a\n\r\n", 0, 400, 0, "bare LF"},
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 0, 400, 0, "CR byte"},
        {"GET / HTTP/1.1\r\nX(A): b\r\n\r\n", 0, 400, 0, "token"},
        {"GET / HTTP/1.1\r\n: b\r\n\r\n", 0, 400, 0, "no name"},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 0, 400, 0, "no name"},
        {"GET / HTTP/1.1\r\nHost: a\r\n", 0, 400, 0, "incomplete"},
        /* evhttp reads no body for HEAD and TRACE: a declared one would be the next request. */
        {"HEAD / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, NULL},
        {"HEAD / HTTP/1.1\r\nContent-Length: 47\r\n\r\n", 0, 400, 0, "HEAD or TRACE"},
        {"HEAD / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400, 0, "HEAD or TRACE"},
        {"TRACE / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 0, 400, 0, "HEAD or TRACE"},
        /* Versions evhttp's sscanf would read as 1.0 or 1.1. */
        {"POST / HTTP/1.00\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400, 0, "must end"},
        {"GET / HTTP/01.1\r\n\r\n", 0, 400, 0, "must end"},
        {"GET / HTTP/ 1.0\r\n\r\n", 0, 400, 0, "must end"},
        {"GET / HTTP/0.9\r\n\r\n", 0, 400, 0, "must end"},
        {"GET /\r\n\r\n", 0, 400, 0, "must end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].head);
        const char *why = NULL;
        int chunked = -1;
        uint64_t length = 1;
        int st = http__head_check(cases[i].head, n, &chunked, &length, &why);
        if (st != cases[i].status) fail_msg("case %zu: status %d, want %d", i, st, cases[i].status);
        if (st) {
            assert_non_null(why);
            if (!strstr(why, cases[i].why)) fail_msg("case %zu: '%s'", i, why);
        } else {
            assert_int_equal(chunked, cases[i].chunked);
            assert_int_equal(length, i == 1 ? 12 : 0);
        }
    }
}

/* http__chunked_feed: strict chunk framing, fed whole or one byte at a time. */
static void test_chunked_feed(void **state) {
    (void)state;
    static const struct {
        const char *body;
        int rc;          /* 1 complete, or 400/413 */
        size_t used;     /* for rc 1 */
    } cases[] = {
        {"5\r\nhello\r\n0\r\n\r\n", 1, 15},
        {"5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\nGET", 1, 30},
        {"000\r\n\r\n", 1, 7},
        {"5;ext=1\r\nhello\r\n0\r\n\r\n", 400, 0},
        {"0x5\r\nhello\r\n0\r\n\r\n", 400, 0},
        {" 5\r\nhello\r\n0\r\n\r\n", 400, 0},
        {"+5\r\nhello\r\n0\r\n\r\n", 400, 0},
        {"5 \r\nhello\r\n0\r\n\r\n", 400, 0},
        {"\r\nhello\r\n0\r\n\r\n", 400, 0},
        {"5\nhello\r\n0\r\n\r\n", 400, 0},
        {"5\r\nhelloX\r\n0\r\n\r\n", 400, 0},
        {"ffffffffffffffff\r\n", 400, 0},
        {"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", 400, 0},
        {"5\r\nhello\r\n0\r\n\n", 400, 0},
        {"401\r\n", 413, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const unsigned char *b = (const unsigned char *)cases[i].body;
        size_t n = strlen(cases[i].body);
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            http__chunked k = {0};
            size_t used = 0, at = 0;
            const char *why = NULL;
            int rc = 0;
            if (!bytewise) {
                rc = http__chunked_feed(&k, b, n, 1024, &used, &why);
                at = used;
            } else {
                for (; at < n && rc == 0; at++)
                    rc = http__chunked_feed(&k, b + at, 1, 1024, &used, &why);
                if (rc == 1) at = at - 1 + used;
            }
            if (rc != cases[i].rc)
                fail_msg("case %zu (bytewise %d): rc %d, want %d", i, bytewise, rc, cases[i].rc);
            if (rc == 1) assert_int_equal(at, cases[i].used);
            if (rc > 1) assert_non_null(why);
        }
    }
    /* Incomplete: everything consumed, more needed. */
    http__chunked k = {0};
    size_t used = 0;
    const char *why = NULL;
    const unsigned char *part = (const unsigned char *)"5\r\nhel";
    assert_int_equal(http__chunked_feed(&k, part, 6, 1024, &used, &why), 0);
    assert_int_equal(used, 6);
}

static void test_parse_query(void **state) {
    (void)state;
    http_req r = {0};
    const char *why = NULL;
    r.target = sg_xstrdup("/1.0/sms/x/outgoing?tag=a+b&tag=c%20d&&creationDatetime.from="
                          "2024-05-10T14%3A03%3A21%2B02%3A00&flag&e=&k%2By=v%3D1+2#f");
    assert_int_equal(http__parse_target(&r, &why), 0);
    static const char *want[][2] = {{"tag", "a b"},
                                    {"tag", "c d"},
                                    {"creationDatetime.from", "2024-05-10T14:03:21+02:00"},
                                    {"flag", ""},
                                    {"e", ""},
                                    {"k+y", "v=1 2"}};
    assert_int_equal(r.nparams, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(r.params[i].key, want[i][0]);
        assert_string_equal(r.params[i].val, want[i][1]);
    }
    assert_string_equal(http_req_param(&r, "tag"), "a b");
    assert_null(http_req_param(&r, "TAG"));
    assert_null(http_req_header(&r, "Host")); /* no private part: no headers */
    http__req_fields_free(&r);

    r = (http_req){0};
    r.target = sg_xstrdup("/sms?x=%00");
    assert_int_equal(http__parse_target(&r, &why), SG_EINVAL);
    http__req_fields_free(&r);

    r = (http_req){0};
    r.target = sg_xstrdup("/sms?");
    assert_int_equal(http__parse_target(&r, &why), 0);
    assert_int_equal(r.nparams, 0);
    http__req_fields_free(&r);
}

/* A POST form's fields come after the query's (http2sms and sendsms read both). */
static void test_form_body(void **state) {
    (void)state;
    http_req r = {0};
    const char *why = NULL;
    r.target = sg_xstrdup("/cgi-bin/sendsms?to=1&text=q");
    assert_int_equal(http__parse_target(&r, &why), 0);
    const char *form = "text=Hello+world%21&dlr-url=http%3A%2F%2Fh%2F%3Fs%3D%25d&empty=";
    r.body = (unsigned char *)sg_xstrdup(form);
    r.body_len = strlen(form);
    assert_int_equal(http_req_form(&r), 0);
    assert_int_equal(r.nparams, 5);
    assert_string_equal(http_req_param(&r, "text"), "q"); /* the query's first */
    assert_string_equal(r.params[2].val, "Hello world!");
    assert_string_equal(http_req_param(&r, "dlr-url"), "http://h/?s=%d");
    assert_string_equal(http_req_param(&r, "empty"), "");
    free(r.body);
    r.body = (unsigned char *)sg_xstrdup("a=%00");
    r.body_len = 5;
    assert_int_equal(http_req_form(&r), SG_EINVAL);
    free(r.body);
    r.body = NULL;
    r.body_len = 0;
    assert_int_equal(http_req_form(&r), 0); /* no body: nothing */
    http__req_fields_free(&r);
}

/* ---- the server over sockets ------------------------------------------------------------- */

static void test_path_and_query(void **state) {
    fx *f = *state;
    creq q[] = {
        {.path = "/1.0/sms/", .hdr = {"X-Test: abc"}},
        {.path = "/v1/sms/a%20b/jobs"},
        {.path = "/auth/time"},
        {.path = "/1.0/sms/x/outgoing/?tag=a+b&tag=c%20d&creationDatetime.from=2024-05-10"},
        {.path = "/1.0/sms/x/blacklists/+33612345678"},
    };
    resp r[5];
    do_batch(f, q, r, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(r[i].status, 200);
    json_t *j = resp_json(&r[0]);
    assert_string_equal(jstr(j, "path"), "/sms");
    assert_string_equal(jstr(j, "target"), "/1.0/sms/");
    assert_string_equal(jstr(j, "method"), "GET");
    assert_true(json_is_true(json_object_get(j, "has_base")));
    assert_true(json_is_false(json_object_get(j, "tls")));
    assert_string_equal(jstr(j, "peer"), "127.0.0.1");
    assert_string_equal(jstr(j, "x_test"), "abc");
    json_decref(j);

    j = resp_json(&r[1]);
    assert_string_equal(jstr(j, "path"), "/sms/a b/jobs");
    json_t *segs = json_object_get(j, "segs");
    assert_int_equal(json_array_size(segs), 3);
    assert_string_equal(json_string_value(json_array_get(segs, 0)), "sms");
    assert_string_equal(json_string_value(json_array_get(segs, 1)), "a b");
    assert_string_equal(json_string_value(json_array_get(segs, 2)), "jobs");
    json_decref(j);

    j = resp_json(&r[2]);
    assert_string_equal(jstr(j, "path"), "/auth/time");
    assert_true(json_is_false(json_object_get(j, "has_base")));
    json_decref(j);

    j = resp_json(&r[3]);
    assert_string_equal(jstr(j, "path"), "/sms/x/outgoing");
    assert_string_equal(jstr(j, "tag"), "a b");
    json_t *params = json_object_get(j, "params");
    assert_int_equal(json_array_size(params), 3);
    assert_string_equal(json_string_value(json_array_get(json_array_get(params, 1), 1)), "c d");
    assert_string_equal(json_string_value(json_array_get(json_array_get(params, 2), 0)),
                        "creationDatetime.from");
    json_decref(j);

    j = resp_json(&r[4]);
    assert_string_equal(jstr(j, "path"), "/sms/x/blacklists/+33612345678");
    json_decref(j);
    for (int i = 0; i < 5; i++) resp_free(&r[i]);
}

static void test_body_exact(void **state) {
    fx *f = *state;
    static unsigned char body[70000];
    for (size_t i = 0; i < sizeof body; i++) body[i] = pattern(i);
    body[0] = 0;
    body[5] = 0xff;
    creq q[] = {
        {.path = "/1.0/raw", .body = body, .len = sizeof body, .has_body = 1},
        {.method = "PUT", .path = "/1.0/raw", .body = "x\0y", .len = 3, .has_body = 1},
        {.method = "PATCH", .path = "/1.0/raw", .body = "{}", .len = 2, .has_body = 1},
        {.method = "POST", .path = "/1.0/raw", .body = "", .len = 0, .has_body = 1},
    };
    resp r[4];
    do_batch(f, q, r, 4);
    assert_int_equal(r[0].status, 200);
    assert_int_equal(r[0].len, sizeof body);
    assert_memory_equal(r[0].body, body, sizeof body);
    assert_non_null(strcasestr(r[0].hdrs, "\r\nContent-Type: application/octet-stream\r\n"));
    assert_int_equal(r[1].status, 200);
    assert_int_equal(r[1].len, 3);
    assert_memory_equal(r[1].body, "x\0y", 3);
    assert_int_equal(r[2].status, 200);
    assert_string_equal(r[2].body, "{}");
    assert_int_equal(r[3].status, 200);
    assert_int_equal(r[3].len, 0);
    assert_string_equal(f->last_method, "POST");
    for (int i = 0; i < 4; i++) resp_free(&r[i]);
}

static void test_json_replies(void **state) {
    fx *f = *state;
    creq q[] = {{.path = "/1.0/null"}, {.path = "/1.0/num"}, {.path = "/1.0/str"}};
    resp r[3];
    do_batch(f, q, r, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].status, 200);
        assert_non_null(
            strcasestr(r[i].hdrs, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
        assert_non_null(strcasestr(r[i].hdrs, "\r\nX-Ovh-QueryID: smsgate-"));
    }
    assert_string_equal(r[0].body, "null");
    assert_string_equal(r[1].body, "42");
    assert_string_equal(r[2].body, "\"h\xc3\xa9\"");
    /* Ids differ per request. */
    assert_string_not_equal(strcasestr(r[0].hdrs, "X-Ovh-QueryID"),
                            strcasestr(r[1].hdrs, "X-Ovh-QueryID"));
    for (int i = 0; i < 3; i++) resp_free(&r[i]);
}

static void test_error_bodies(void **state) {
    fx *f = *state;
    char logpath[160];
    snprintf(logpath, sizeof logpath, "%s/log.txt", g_dir);
    int logfd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(logfd >= 0);
    sg_log_set_fd(logfd);
    sg_log_set_level(SG_LOG_WARN);
    uint64_t c404 = http_error_count(404), c460 = http_error_count(460);
    uint64_t c503 = http_error_count(503), c413 = http_error_count(413);
    creq q[] = {{.path = "/1.0/err/404"}, {.path = "/1.0/err/460"}, {.path = "/1.0/err/503"},
                {.path = "/1.0/err/413"}, {.path = "/1.0/err/429"}};
    resp r[5];
    do_batch(f, q, r, 5);
    sg_log_set_fd(2);
    sg_log_set_level(SG_LOG_ERROR);

    assert_int_equal(r[0].status, 404);
    assert_string_equal(r[0].body, "{\"class\":\"Client::NotFound\",\"errorCode\":\"NOT_FOUND_X\","
                                   "\"httpCode\":\"404 Not Found\",\"message\":\"Object 'abc' "
                                   "does not exist\"}");
    assert_non_null(strstr(r[0].hdrs, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strcasestr(r[0].hdrs, "Content-Type: application/json; charset=utf-8"));
    assert_non_null(strcasestr(r[0].hdrs, "X-Ovh-QueryID: smsgate-"));

    assert_int_equal(r[1].status, 460);
    assert_string_equal(r[1].body, "{\"class\":\"Client::ResourceExpired\",\"httpCode\":\"460 "
                                   "Resource Expired\",\"message\":\"Failure 460\"}");
    assert_non_null(strstr(r[1].hdrs, "HTTP/1.1 460 Resource Expired\r\n"));

    assert_int_equal(r[2].status, 503);
    json_t *j = resp_json(&r[2]);
    assert_string_equal(jstr(j, "class"), "Server::InternalServerError");
    assert_string_equal(jstr(j, "httpCode"), "503 Service Unavailable");
    json_decref(j);

    j = resp_json(&r[3]);
    assert_string_equal(jstr(j, "class"), "Client::PayloadTooLarge");
    json_decref(j);
    j = resp_json(&r[4]);
    assert_string_equal(jstr(j, "class"), "Client::TooManyRequests");
    assert_string_equal(jstr(j, "httpCode"), "429 Too Many Requests");
    json_decref(j);

    assert_int_equal(http_error_count(404), c404 + 1);
    assert_int_equal(http_error_count(460), c460 + 1);
    assert_int_equal(http_error_count(503), c503 + 1);
    assert_int_equal(http_error_count(413), c413 + 1);
    assert_int_equal(http_error_count(600), 0);
    assert_int_equal(http_error_count(-1), 0);

    /* The 503 was logged at WARN; the 4xx were not. */
    char logbuf[4096] = {0};
    assert_true(pread(logfd, logbuf, sizeof logbuf - 1, 0) > 0);
    close(logfd);
    unlink(logpath);
    assert_non_null(strstr(logbuf, "WARN http: "));
    assert_non_null(strstr(logbuf, "failed: 503 Service Unavailable"));
    assert_null(strstr(logbuf, ": 404 "));
    for (int i = 0; i < 5; i++) resp_free(&r[i]);
}

static void test_bad_target_is_400(void **state) {
    fx *f = *state;
    uint64_t c400 = http_error_count(400);
    creq q[] = {{.path = "/1.0/sms/a%2Fb"}, {.path = "/1.0/sms/a%00"},
                {.path = "/1.0/sms?x=%00"}, {.path = "/1.0/sms/../auth"}};
    resp r[4];
    do_batch(f, q, r, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].status, 400);
        json_t *j = resp_json(&r[i]);
        assert_string_equal(jstr(j, "class"), "Client::BadRequest");
        assert_string_equal(jstr(j, "httpCode"), "400 Bad Request");
        assert_non_null(jstr(j, "message"));
        assert_null(json_object_get(j, "errorCode"));
        json_decref(j);
        resp_free(&r[i]);
    }
    assert_int_equal(f->calls, 0);
    assert_int_equal(http_error_count(400), c400 + 4);
    assert_int_equal(http_server_inflight(f->srv), 0);
}

static void test_tls(void **state) {
    fx *f = *state;
    creq q[] = {{.path = "/1.0/echo", .tls = 1, .verify = 1},
                {.path = "/1.0/echo", .tls = 1, .verify = 1, .host = "localhost"},
                {.path = "/1.0/null", .tls = 1},
                {.path = "/1.0/echo"}};
    resp r[4];
    do_batch(f, q, r, 4);
    for (int i = 0; i < 4; i++) {
        if (r[i].curl_rc) fail_msg("request %d: curl error %d", i, r[i].curl_rc);
        assert_int_equal(r[i].status, 200);
    }
    json_t *j = resp_json(&r[0]);
    assert_true(json_is_true(json_object_get(j, "tls")));
    assert_string_equal(jstr(j, "path"), "/echo");
    json_decref(j);
    j = resp_json(&r[1]);
    assert_true(json_is_true(json_object_get(j, "tls")));
    json_decref(j);
    assert_string_equal(r[2].body, "null");
    j = resp_json(&r[3]);
    assert_true(json_is_false(json_object_get(j, "tls")));
    json_decref(j);
    for (int i = 0; i < 4; i++) resp_free(&r[i]);
}

static void test_selfsigned_cert(void **state) {
    (void)state;
    struct stat st;
    assert_int_equal(stat(g_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *fp = fopen(g_cert, "r");
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    assert_int_equal(X509_get_version(x), 2);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_host(x, "example.com", 0, 0, NULL), 0);
    /* Valid for about 10 years. */
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)),
                     1);
    assert_true(days >= 3650 && days <= 3652);
    EVP_PKEY *pk = X509_get0_pubkey(x);
    assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_bits(pk), 256);
    X509_free(x);
}

typedef struct expect_arg {
    int tls;
    resp r;
} expect_arg;

static void client_expect(fx *f, void *arg) {
    expect_arg *a = arg;
    unsigned char *body = sg_xmalloc(BIG_BODY);
    for (size_t i = 0; i < BIG_BODY; i++) body[i] = pattern(i);
    /* Guzzle spells it "100-Continue"; evhttp compares case-insensitively. */
    creq q = {.path = "/1.0/sum", .tls = a->tls, .body = body, .len = BIG_BODY, .has_body = 1,
              .hdr = {a->tls ? "Expect: 100-Continue" : "Expect: 100-continue"},
              .expect_ms = 8000};
    CURL *c = curl_easy_init();
    curl_do(c, f, &q, &a->r);
    curl_easy_cleanup(c);
    free(body);
}

/* curl waits up to expect_ms for "100 Continue" before sending the body anyway: a server that
 * never sends it makes this take 8 s instead of milliseconds. */
static void test_expect_100_continue(void **state) {
    fx *f = *state;
    for (int tls = 0; tls <= 1; tls++) {
        expect_arg a = {.tls = tls};
        run_client(f, client_expect, &a);
        if (a.r.curl_rc) fail_msg("tls=%d: curl error %d", tls, a.r.curl_rc);
        assert_int_equal(a.r.status, 200);
        assert_non_null(strstr(a.r.hdrs, "HTTP/1.1 100 Continue"));
        if (a.r.secs > 4.0) fail_msg("tls=%d: took %.2f s (100-continue stalled)", tls, a.r.secs);
        json_t *j = resp_json(&a.r);
        assert_int_equal(json_integer_value(json_object_get(j, "len")), BIG_BODY);
        assert_true(json_is_true(json_object_get(j, "ok")));
        assert_int_equal(strcasecmp(jstr(j, "expect"), "100-continue"), 0);
        json_decref(j);
        resp_free(&a.r);
    }
}

static void test_body_too_large(void **state) {
    (void)state;
    http_limits lim = {.max_body = 1024};
    fx *f = fx_new(&lim);
    static char body[2048];
    memset(body, 'a', sizeof body);
    creq q[] = {{.path = "/1.0/raw", .body = body, .len = 1024, .has_body = 1},
                {.path = "/1.0/raw", .body = body, .len = 2048, .has_body = 1,
                 .hdr = {"Expect: 100-continue"}, .expect_ms = 8000}};
    resp r[2];
    do_batch(f, q, r, 2);
    assert_int_equal(r[0].status, 200);
    assert_int_equal(r[0].len, 1024);
    assert_int_equal(r[1].status, 413);
    assert_true(r[1].secs < 4.0);
    assert_int_equal(f->calls, 1);
    resp_free(&r[0]);
    resp_free(&r[1]);
    fx_free(f);
}

static void test_head_and_keepalive(void **state) {
    fx *f = *state;
    creq q[] = {{.path = "/1.0/echo", .nobody = 1}, {.path = "/1.0/null"}, {.path = "/1.0/num"}};
    resp r[3];
    do_batch(f, q, r, 3);
    assert_int_equal(r[0].status, 200);
    assert_int_equal(r[0].len, 0); /* evhttp drops the body (and its Content-Length) */
    assert_int_equal(f->heads, 1);
    assert_non_null(strcasestr(r[0].hdrs, "\r\nX-Ovh-QueryID: smsgate-"));
    assert_int_equal(r[1].status, 200);
    assert_int_equal(r[2].status, 200);
    /* One connection for all three (keep-alive, HEAD included). */
    assert_int_equal(r[0].nconnects, 1);
    assert_int_equal(r[1].nconnects, 0);
    assert_int_equal(r[2].nconnects, 0);
    assert_int_equal(f->calls, 3);
    for (int i = 0; i < 3; i++) resp_free(&r[i]);
}

/* A streamed reply: every byte, in order, with its Content-Length; HEAD gets the length and
 * no body; the connection is kept for the next request; over TLS too. */
static void test_stream_reply(void **state) {
    fx *f = *state;
    for (int tls = 0; tls <= 1; tls++) {
        creq q[] = {{.path = "/1.0/stream", .tls = tls},
                    {.path = "/1.0/stream", .tls = tls, .nobody = 1},
                    {.path = "/1.0/num", .tls = tls}};
        resp r[3];
        int ended = f->streams_ended;
        do_batch(f, q, r, 3);
        assert_int_equal(r[0].status, 200);
        assert_int_equal(r[0].curl_rc, 0);
        assert_int_equal(r[0].len, STREAM_PIECES * STREAM_PIECE);
        int same = 1;
        for (size_t i = 0; same && i < r[0].len; i++) same = (unsigned char)r[0].body[i] == pattern(i);
        assert_true(same);
        char cl[64];
        snprintf(cl, sizeof cl, "\r\nContent-Length: %u\r\n", STREAM_PIECES * STREAM_PIECE);
        assert_non_null(strcasestr(r[0].hdrs, cl));
        assert_non_null(strcasestr(r[0].hdrs, "\r\nX-Ovh-QueryID: smsgate-"));
        assert_int_equal(r[1].status, 200);
        assert_int_equal(r[1].len, 0);
        assert_non_null(strcasestr(r[1].hdrs, cl));
        assert_int_equal(r[2].status, 200);
        assert_int_equal(r[1].nconnects + r[2].nconnects, 0); /* one connection for all */
        assert_int_equal(f->streams_ended, ended + 2);
        assert_int_equal(http_server_inflight(f->srv), 0);
        for (int i = 0; i < 3; i++) resp_free(&r[i]);
    }
}

/* A streamed reply ended short of its Content-Length is cut off (the connection closed, so
 * the client sees a short body), from inside the write callback; the server serves on. */
static void test_stream_cut_short(void **state) {
    fx *f = *state;
    creq q[] = {{.path = "/1.0/stream-short"}, {.path = "/1.0/num"}};
    resp r[2];
    do_batch(f, q, r, 2);
    assert_int_equal(r[0].status, 200);
    assert_int_not_equal(r[0].curl_rc, 0); /* partial file */
    assert_true(r[0].len <= STREAM_PIECES * STREAM_PIECE);
    assert_int_equal(r[1].status, 200);
    assert_int_equal(r[1].nconnects, 1); /* a new connection */
    assert_int_equal(http_server_inflight(f->srv), 0);
    for (int i = 0; i < 2; i++) resp_free(&r[i]);
}

static void client_stream_leaves(fx *f, void *arg) {
    (void)arg;
    int fd = tcp_connect(f->port);
    int rcv = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    send_str(fd, "GET /1.0/stream HTTP/1.1\r\nHost: t\r\n\r\n");
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf); /* the head and the start of the body */
    (void)n;
    struct linger lg = {1, 0}; /* RST: the server's next write fails */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    usleep(200 * 1000);
}

/* The client leaves in the middle of a streamed reply: the write waiting is answered SG_EIO
 * on a later loop turn, the handler's abort frees the request, the server still serves. */
static void test_stream_client_gone(void **state) {
    fx *f = *state;
    int aborted = f->streams_aborted;
    run_client(f, client_stream_leaves, NULL);
    for (int i = 0; i < 40 && f->streams_aborted == aborted; i++) spin(f, 50);
    assert_int_equal(f->streams_aborted, aborted + 1);
    assert_int_equal(f->stream_rc, SG_EIO);
    assert_true(f->stream_piece < STREAM_PIECES);
    assert_int_equal(http_server_inflight(f->srv), 0);
    creq q = {.path = "/1.0/null"};
    resp r;
    do_batch(f, &q, &r, 1);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* Two connections each hold a request; both count as in flight until answered late. */
typedef struct two_arg {
    char *a, *b;
} two_arg;

static void client_two_deferred(fx *f, void *arg) {
    two_arg *t = arg;
    int s1 = tcp_connect(f->port), s2 = tcp_connect(f->port);
    send_str(s1, "GET /1.0/defer HTTP/1.1\r\nHost: t\r\n\r\n");
    send_str(s2, "POST /v1/defer HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    if (wait_main(f) != 'g' || wait_main(f) != 'g') return;
    send_cmd(f, 'R');
    t->a = read_response(s1);
    t->b = read_response(s2);
    close(s1);
    close(s2);
}

static void test_async_inflight(void **state) {
    fx *f = *state;
    two_arg t = {0};
    assert_int_equal(http_server_inflight(f->srv), 0);
    run_client(f, client_two_deferred, &t);
    assert_int_equal(f->inflight_seen, 2);
    assert_int_equal(http_server_inflight(f->srv), 0);
    assert_non_null(strstr(t.a, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(t.a, "\r\n\r\n\"late\""));
    assert_non_null(strstr(t.b, "\r\n\r\n\"late\""));
    free(t.a);
    free(t.b);
}

typedef struct disc_arg {
    int tls;
    int watch; /* ask the server to watch the connection (EOF path of evhttp) */
} disc_arg;

static SSL *tls_connect(int fd, SSL_CTX **ctx_out) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        return NULL;
    }
    *ctx_out = ctx;
    return ssl;
}

static void client_disconnect(fx *f, void *arg) {
    disc_arg *d = arg;
    const char *req = "POST /1.0/defer HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    int fd = tcp_connect(d->tls ? f->tls_port : f->port);
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    if (d->tls) {
        ssl = tls_connect(fd, &ctx);
        if (!ssl) return;
        SSL_write(ssl, req, (int)strlen(req));
    } else {
        send_str(fd, req);
    }
    if (wait_main(f) != 'g') return;
    if (d->watch) {
        send_cmd(f, 'W');
        if (wait_main(f) != 'w') return;
    }
    /* Leave without a word: no TLS close_notify, RST if unread data remains. */
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    usleep(100 * 1000);
    send_cmd(f, 'B');
}

/* The client leaves while its request is held; the late reply must be harmless (ASan). */
static void test_reply_after_disconnect(void **state) {
    fx *f = *state;
    for (int tls = 0; tls <= 1; tls++) {
        for (int watch = 0; watch <= 1; watch++) {
            disc_arg d = {tls, watch};
            int calls = f->calls;
            run_client(f, client_disconnect, &d);
            assert_int_equal(f->calls, calls + 1);
            assert_int_equal(f->inflight_seen, 1);
            assert_int_equal(f->nheld, 0);
            spin(f, 150); /* let evhttp write into the closed socket and clean up */
            assert_int_equal(http_server_inflight(f->srv), 0);
        }
    }
    /* The server still serves. */
    creq q = {.path = "/1.0/null"};
    resp r;
    do_batch(f, &q, &r, 1);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void client_hold_one(fx *f, void *arg) {
    (void)arg;
    f->keep_fd = tcp_connect(f->port);
    send_str(f->keep_fd, "GET /1.0/defer HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_main(f);
}

/* The server goes away while a request is held; the handler's late reply only frees it. */
static void test_free_server_with_pending(void **state) {
    fx *f = *state;
    run_client(f, client_hold_one, NULL);
    assert_int_equal(f->nheld, 1);
    assert_int_equal(http_server_inflight(f->srv), 1);
    http_server_free(f->srv);
    f->srv = NULL;
    uint64_t c500 = http_error_count(500);
    http_reply_error(f->held[0], 500, NULL, "late %s", "error"); /* counted, not sent */
    f->nheld = 0;
    assert_int_equal(http_error_count(500), c500 + 1);
    /* The client sees the connection closed without a response. */
    char *rest = read_all(f->keep_fd);
    assert_string_equal(rest, "");
    free(rest);
}

/* A second request arrives on the connection while the first is held. */
static void client_pipelined(fx *f, void *arg) {
    char **out = arg;
    int fd = tcp_connect(f->port);
    send_str(fd, "GET /1.0/defer HTTP/1.1\r\nHost: t\r\n\r\n");
    if (wait_main(f) != 'g') return;
    send_str(fd, "GET /1.0/null HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    usleep(100 * 1000);
    send_cmd(f, 'R');
    *out = read_all(fd);
    close(fd);
}

static void test_pipelined_while_pending(void **state) {
    fx *f = *state;
    char *out = NULL;
    run_client(f, client_pipelined, &out);
    assert_non_null(out);
    char *late = strstr(out, "\r\n\r\n\"late\"");
    char *null = strstr(out, "\r\n\r\nnull");
    assert_non_null(late);
    assert_non_null(null);
    assert_true(late < null); /* answers in request order */
    assert_int_equal(f->calls, 2);
    free(out);
}

/* ---- connection limit, deadlines, framing (issue 12) -------------------------------------- */

typedef struct limit_arg {
    int idle_closed;   /* idle connections the server closed to make room */
    char *answer;      /* a request sent while the others are held */
    char *slow;        /* a head trickled past header_timeout_s */
    char *bad;         /* a refused head, then EOF */
    char *chunked;     /* a good chunked body */
    char *bad_chunk;   /* a chunk extension */
    int max_seen;
} limit_arg;

static int closed_by_peer(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, 0) == 1 && read(fd, &c, 1) == 0;
}

static void client_limits(fx *f, void *arg) {
    limit_arg *a = arg;
    int idle[12];
    for (int i = 0; i < 12; i++) idle[i] = tcp_connect(f->port);
    usleep(300 * 1000); /* the server accepts, evicts the oldest */
    int fd = tcp_connect(f->port);
    send_str(fd, "GET /1.0/num HTTP/1.1\r\nHost: t\r\n\r\n");
    a->answer = read_response(fd);
    close(fd);
    for (int i = 0; i < 12; i++) {
        a->idle_closed += idle[i] >= 0 && closed_by_peer(idle[i]);
        if (idle[i] >= 0) close(idle[i]);
    }
    fd = tcp_connect(f->port);
    send_str(fd, "GET /1.0/num HTTP/1.1\r\n");
    usleep(700 * 1000);
    send_str(fd, "Host: t\r\n");
    a->slow = read_all(fd); /* 408, then EOF */
    close(fd);
    fd = tcp_connect(f->port);
    send_str(fd, "POST /1.0/raw HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                 "Content-Length: 3\r\n\r\nabc");
    a->bad = read_all(fd);
    close(fd);
    fd = tcp_connect(f->port);
    send_str(fd, "POST /1.0/raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    a->chunked = read_response(fd);
    send_str(fd, "POST /1.0/raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3;x=y\r\nabc\r\n0\r\n\r\n");
    a->bad_chunk = read_all(fd);
    close(fd);
}

static void test_connection_limit_and_deadlines(void **state) {
    (void)state;
    http_limits lim = {.max_connections = 4, .header_timeout_s = 1, .keepalive_timeout_s = 1};
    fx *f = fx_new(&lim);
    limit_arg a = {0};
    run_client(f, client_limits, &a);
    assert_non_null(strstr(a.answer, "HTTP/1.1 200"));
    assert_non_null(strstr(a.answer, "\r\n\r\n42"));
    assert_true(a.idle_closed >= 12 - 4);
    assert_non_null(strstr(a.slow, "HTTP/1.1 408 Request Timeout"));
    assert_non_null(strstr(a.slow, "\"class\":\"Client::RequestTimeout\""));
    assert_non_null(strstr(a.slow, "Connection: close"));
    assert_non_null(strstr(a.bad, "HTTP/1.1 400 Bad Request"));
    assert_non_null(strstr(a.bad, "more than one Content-Length"));
    assert_non_null(strstr(a.chunked, "HTTP/1.1 200"));
    assert_non_null(strstr(a.chunked, "\r\n\r\nabcde"));
    assert_non_null(strstr(a.bad_chunk, "HTTP/1.1 400 Bad Request"));
    assert_non_null(strstr(a.bad_chunk, "Chunk extensions"));
    assert_true(http_server_connections(f->srv) <= 4);
    spin(f, 1600); /* what is left idle is closed by keepalive/header deadlines */
    assert_int_equal(http_server_connections(f->srv), 0);
    assert_int_equal(f->calls, 2); /* /num and the good chunked POST; refusals never reach it */
    free(a.answer);
    free(a.slow);
    free(a.bad);
    free(a.chunked);
    free(a.bad_chunk);
    fx_free(f);
}

typedef struct stop_arg {
    int refused;
    char *first, *second;
} stop_arg;

static void client_stop(fx *f, void *arg) {
    stop_arg *s = arg;
    int fd = tcp_connect(f->port);
    send_str(fd, "GET /1.0/defer HTTP/1.1\r\nHost: t\r\n\r\n");
    if (wait_main(f) != 'g') return;
    send_cmd(f, 'S');
    if (wait_main(f) != 's') return;
    int fd2 = tcp_connect(f->port);
    s->refused = fd2 < 0 && errno == ECONNREFUSED;
    if (fd2 >= 0) close(fd2);
    send_cmd(f, 'R');
    s->first = read_response(fd);
    /* The connection was closed after the answer in flight. */
    send_str(fd, "GET /1.0/num HTTP/1.1\r\nHost: t\r\n\r\n");
    s->second = read_response(fd);
    close(fd);
}

static void test_stop_accepting(void **state) {
    fx *f = *state;
    stop_arg s = {0};
    run_client(f, client_stop, &s);
    assert_true(s.refused);
    assert_int_equal(f->port_after_stop, -1);
    assert_int_equal(http_server_port(f->srv, 1), -1);
    assert_int_equal(f->inflight_seen, 1);
    assert_non_null(strstr(s.first, "\r\n\r\n\"late\""));
    /* While draining, the answer in flight closes its connection: nothing more is served on
     * it (a request arriving before the close would get 503, see server.c on_request). */
    assert_non_null(strstr(s.first, "Connection: close"));
    assert_true(!s.second || !strstr(s.second, "HTTP/1.1 200"));
    assert_int_equal(http_server_inflight(f->srv), 0);
    free(s.first);
    free(s.second);
    http_server_stop_accepting(f->srv); /* twice is harmless */
}

static void test_listen_errors(void **state) {
    fx *f = *state;
    char addr[32], bad[160];
    int fd = open("/dev/null", O_WRONLY);
    sg_log_set_fd(fd); /* these failures log errors on purpose */
    assert_int_equal(http_server_listen(f->srv, "nonsense"), SG_EINVAL);
    assert_int_equal(http_server_listen(f->srv, "127.0.0.1:99999"), SG_EINVAL);
    assert_int_equal(http_server_listen(f->srv, "::1:80"), SG_EINVAL);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", f->port);
    assert_int_equal(http_server_listen(f->srv, addr), SG_EIO); /* in use */
    assert_int_equal(http_server_listen_tls(f->srv, "127.0.0.1:0", "/nonexistent/c.pem", g_key),
                     SG_EIO);
    snprintf(bad, sizeof bad, "%s/bad.pem", g_dir);
    FILE *fp = fopen(bad, "w");
    fputs("not a certificate\n", fp);
    fclose(fp);
    assert_int_equal(http_server_listen_tls(f->srv, "127.0.0.1:0", bad, g_key), SG_EINVAL);
    assert_int_equal(http_server_listen_tls(f->srv, "127.0.0.1:0", g_cert, bad), SG_EINVAL);
    sg_log_set_fd(2);
    close(fd);
    /* Still exactly the two listeners from the fixture. */
    assert_int_equal(http_server_port(f->srv, 0), f->port);
    assert_int_equal(http_server_port(f->srv, 1), f->tls_port);
    /* Port 0 on IPv6 loopback, when the host has it. */
    if (http_server_listen(f->srv, "[::1]:0") == 0)
        assert_int_equal(http_server_port(f->srv, 0), f->port);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_path),
        cmocka_unit_test(test_parse_query),
        cmocka_unit_test(test_form_body),
        cmocka_unit_test(test_head_check),
        cmocka_unit_test(test_chunked_feed),
        cmocka_unit_test(test_selfsigned_cert),
        cmocka_unit_test_setup_teardown(test_path_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_target_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_100_continue, setup, teardown),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test_setup_teardown(test_head_and_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_cut_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_after_disconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_server_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_while_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_accepting, setup, teardown),
        cmocka_unit_test(test_connection_limit_and_deadlines),
        cmocka_unit_test_setup_teardown(test_listen_errors, setup, teardown),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("http", tests, group_setup, group_teardown);
}
