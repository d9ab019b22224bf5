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
 * Names. Tests of host names give the client its own resolv.conf and hosts file (in a temp
 * directory): the name server is a real DNS server on a loopback UDP port (libevent's evdns
 * server, struct dns), which answers A questions from a small table, NXDOMAIN for unknown
 * names, never for names marked to hang, and counts the questions it got per name. One test
 * uses the system's files and "localhost", as smsgated does.
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
#include <event2/dns.h>
#include <event2/dns_struct.h>
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
    assert_null(t.name);
    assert_int_equal(t.port, 80);

    /* Names in canonical form: resolved by the client, Host as in the URL. */
    assert_int_equal(hclient_target_parse("http://localhost:8080/x", &t), 0);
    assert_non_null(t.name);
    assert_int_equal((int)t.name_len, 9);
    assert_memory_equal(t.name, "localhost", 9);
    assert_int_equal(t.port, 8080);
    assert_int_equal((int)t.addrlen, 0);
    assert_int_equal((int)t.host_len, 14);
    assert_memory_equal(t.host, "localhost:8080", 14);
    assert_int_equal(hclient_target_parse("http://cb.example.com:80/dlr?k=1", &t), 0);
    assert_int_equal((int)t.host_len, 14); /* the default port is left out of Host */
    assert_memory_equal(t.host, "cb.example.com", 14);
    assert_int_equal((int)t.name_len, 14);
    assert_int_equal(t.port, 80);
    static const char *const names[] = {
        "http://a-b.c0.example/", "http://xn--bcher-kva.example/", "http://1password.com/",
        "http://a.b.c.d.e.f.example?x", "http://x/",
        "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (hclient_target_parse(names[i], &t) != 0 || !t.name) fail_msg("refused '%s'", names[i]);
    }

    static const char *const others[] = {
        "https://127.0.0.1/",          /* TLS: curl */
        "https://example.com/",
        "http://Example.com/",         /* names curl might rewrite: case, trailing dot, ... */
        "http://example.com./",
        "http://-a.example/",
        "http://a-.example/",
        "http://a..example/",
        "http://.example/",
        "http://a_b.example/",
        "http://exa%6dple.com/",
        "http://b\xc3\xbc" "cher.example/",
        "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/",
        "http://0x7f.0.0.1/",          /* numbers curl reads as an IPv4 address */
        "http://1.2.3/",
        "http://2130706433/",
        "http://a.123/",
        "http://u:p@127.0.0.1/",       /* credentials: curl sends them */
        "http://u@example.com/",
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
    /* A name of 253 characters is the longest. */
    char url[300] = "http://";
    for (int i = 0; i < 4; i++) {
        if (i) strcat(url, ".");
        strcat(url, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 62 */
    }
    assert_int_equal((int)strlen(url) - 7, 4 * 62 + 3);
    strcat(url, ".ab/"); /* 251 + 3 = 254: one too many */
    assert_int_equal(hclient_target_parse(url, &t), SG_EINVAL);
    strcpy(url + strlen(url) - 4, ".a/"); /* 253 */
    assert_int_equal(hclient_target_parse(url, &t), 0);
    assert_int_equal((int)t.name_len, 253);
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

/* ---- the name server ---- */

#define DNS_NAMES 8

typedef struct dns {
    struct evdns_server_port *port;
    int udp_port;
    struct {
        const char *name, *ip;   /* ip NULL: no A record (NODATA) */
        int hang;                /* never answer */
        int questions;           /* A questions received */
    } names[DNS_NAMES];
    int n;
} dns;

static void on_dns(struct evdns_server_request *req, void *arg) {
    dns *d = arg;
    for (int i = 0; i < req->nquestions; i++) {
        const struct evdns_server_question *q = req->questions[i];
        for (int j = 0; j < d->n; j++) {
            if (strcasecmp(q->name, d->names[j].name)) continue;
            if (q->type == EVDNS_TYPE_A) d->names[j].questions++;
            if (d->names[j].hang) {
                evdns_server_request_drop(req);
                return;
            }
            struct in_addr in;
            if (q->type == EVDNS_TYPE_A && d->names[j].ip) {
                assert_int_equal(inet_pton(AF_INET, d->names[j].ip, &in), 1);
                evdns_server_request_add_a_reply(req, q->name, 1, &in, 60);
            }
            evdns_server_request_respond(req, 0);
            return;
        }
    }
    evdns_server_request_respond(req, DNS_ERR_NOTEXIST);
}

static dns *dns_start(struct event_base *base) {
    dns *d = sg_xcalloc(1, sizeof *d);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    d->udp_port = ntohs(sin.sin_port);
    d->port = evdns_add_server_port_with_base(base, fd, 0, on_dns, d); /* owns fd */
    assert_non_null(d->port);
    return d;
}

static void dns_add(dns *d, const char *name, const char *ip, int hang) {
    assert_true(d->n < DNS_NAMES);
    d->names[d->n].name = name;
    d->names[d->n].ip = ip;
    d->names[d->n].hang = hang;
    d->n++;
}

static int dns_questions(const dns *d, const char *name) {
    for (int j = 0; j < d->n; j++)
        if (!strcmp(d->names[j].name, name)) return d->names[j].questions;
    fail_msg("no name '%s'", name);
    return -1;
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
    /* names: the name server and the client's resolv.conf and hosts file */
    dns *dns;
    char dir[64], resolv_conf[96], hosts[96];
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

/* Frees the client, then lets evdns report the lookups it cancelled (from the loop). */
static void free_client(fixture *f) {
    hclient_free(f->c);
    f->c = NULL;
    for (int i = 0; i < 3; i++) event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static int teardown(void **state) {
    fixture *f = *state;
    free_client(f);
    if (f->dns) {
        evdns_close_server_port(f->dns->port);
        free(f->dns);
    }
    if (f->dir[0]) {
        unlink(f->resolv_conf);
        unlink(f->hosts);
        rmdir(f->dir);
    }
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

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* Replaces the client by one that resolves names with the test's name server and hosts file
 * (hosts: its content). */
static void use_names(fixture *f, const char *hosts, hclient_refuse_cb refuse,
                      int64_t dns_ttl_ms, int64_t timeout_ms) {
    if (!f->dns) {
        f->dns = dns_start(f->base);
        snprintf(f->dir, sizeof f->dir, "/tmp/sghclientXXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->resolv_conf, sizeof f->resolv_conf, "%s/resolv.conf", f->dir);
        snprintf(f->hosts, sizeof f->hosts, "%s/hosts", f->dir);
    }
    char conf[128];
    snprintf(conf, sizeof conf, "nameserver 127.0.0.1:%d\n", f->dns->udp_port);
    write_file(f->resolv_conf, conf);
    write_file(f->hosts, hosts);
    free_client(f);
    hclient_options o = {.timeout_ms = timeout_ms, .resolve = 1, .resolv_conf = f->resolv_conf,
                         .hosts_file = f->hosts, .dns_ttl_ms = dns_ttl_ms, .refuse = refuse};
    f->c = hclient_new(f->base, &o);
    hclient_stats st;
    hclient_get_stats(f->c, &st);
    assert_int_equal(st.resolves, 1);
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

/* ---- names ---- */

static int refuse_loopback(const struct sockaddr *sa) {
    return sa->sa_family != AF_INET ||
           ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24 == 127;
}

static int refuse_127_0_0_2(const struct sockaddr *sa) {
    return sa->sa_family == AF_INET &&
           ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) == 0x7f000002;
}

/* Names from the hosts file: the request is the one curl would send (Host as in the URL), and
 * a connection is reused for the same name only, never for another name or the bare address. */
static void test_name_hosts_file(void **state) {
    fixture *f = *state;
    use_names(f, "# a comment\n127.0.0.1 a.test b.test\n", NULL, 0, 2000);
    for (int i = 0; i < 4; i++) f->s.script[i].answer = OK;
    snprintf(f->url, sizeof f->url, "http://a.test:%d/s?a=1", f->s.port);
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 1);
    char want[256];
    snprintf(want, sizeof want, "GET /s?a=1 HTTP/1.1\r\nHost: a.test:%d\r\nX-Test: 1\r\n\r\n",
             f->s.port);
    assert_string_equal(f->s.heads[0], want);
    assert_string_equal(f->s.heads[1], want);
    snprintf(f->url, sizeof f->url, "http://b.test:%d/", f->s.port);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 2);
    snprintf(want, sizeof want, "GET / HTTP/1.1\r\nHost: b.test:%d\r\nX-Test: 1\r\n\r\n",
             f->s.port);
    assert_string_equal(f->s.heads[2], want);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/", f->s.port);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 3);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.lookups, 2); /* a.test and b.test, once each */
    assert_int_equal((int)st.cached, 1);
    assert_int_equal((int)st.names, 2);
    assert_int_equal((int)st.idle, 3);
}

/* Names from DNS: requests made while the name is resolved wait for the one lookup; the
 * answer is used until it expires, then asked for again. */
static void test_name_dns_cached(void **state) {
    fixture *f = *state;
    use_names(f, "", NULL, 300, 2000);
    dns_add(f->dns, "c.test", "127.0.0.1", 0);
    for (int i = 0; i < 5; i++) f->s.script[i].answer = OK;
    snprintf(f->url, sizeof f->url, "http://c.test:%d/", f->s.port);
    for (int i = 0; i < 3; i++) start(f, f->url);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.lookups, 1);
    assert_int_equal((int)st.busy, 0); /* all three wait for the answer */
    run_until(f, 3);
    for (int i = 0; i < 3; i++) assert_ok(&f->out[i], 200);
    assert_int_equal(dns_questions(f->dns, "c.test"), 1);
    assert_ok(get(f), 200);
    stats(f, &st);
    assert_int_equal((int)st.lookups, 1);
    assert_int_equal((int)st.cached, 1);
    assert_int_equal(dns_questions(f->dns, "c.test"), 1);
    run_for(f, 400); /* the answer expires */
    assert_ok(get(f), 200);
    stats(f, &st);
    assert_int_equal((int)st.lookups, 2);
    assert_int_equal(dns_questions(f->dns, "c.test"), 2);
    assert_int_equal(f->s.accepts, 3); /* the idle connections were reused meanwhile */
}

/* A name that does not exist, or has no address, fails the request (retryable), from the
 * loop; the failure is remembered for a while. */
static void test_name_not_found(void **state) {
    fixture *f = *state;
    use_names(f, "", NULL, 0, 2000);
    dns_add(f->dns, "empty.test", NULL, 0);
    snprintf(f->url, sizeof f->url, "http://no-such-host.test:%d/", f->s.port);
    outcome *o = get(f);
    assert_int_equal(o->rc, SG_ETEMP);
    if (!strstr(o->error, "Could not resolve host: no-such-host.test"))
        fail_msg("error: '%s'", o->error);
    o = get(f);
    assert_int_equal(o->rc, SG_ETEMP);
    assert_non_null(strstr(o->error, "Could not resolve host: no-such-host.test"));
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.lookups, 1);
    assert_int_equal((int)st.cached, 1);
    snprintf(f->url, sizeof f->url, "http://empty.test:%d/", f->s.port);
    o = get(f);
    assert_int_equal(o->rc, SG_ETEMP);
    assert_non_null(strstr(o->error, "Could not resolve host: empty.test"));
    assert_int_equal(f->s.accepts, 0);
    start(f, f->url); /* a failure queued from the cache: teardown frees it */
}

/* The caller's rule is checked on every resolved address: the first acceptable one is used,
 * and when none is, nothing is connected to. */
static void test_name_refused(void **state) {
    fixture *f = *state;
    use_names(f, "127.0.0.2 m.test\n127.0.0.1 m.test\n127.0.0.1 a.test\n", refuse_127_0_0_2, 0,
              2000);
    f->s.script[0].answer = OK;
    snprintf(f->url, sizeof f->url, "http://m.test:%d/", f->s.port);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 1);
    use_names(f, "127.0.0.1 a.test\n", refuse_loopback, 0, 2000);
    snprintf(f->url, sizeof f->url, "http://a.test:%d/", f->s.port);
    outcome *o = get(f);
    assert_int_equal(o->rc, SG_EPERM);
    assert_non_null(strstr(o->error, "refused"));
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.connects, 0);
    assert_int_equal(f->s.accepts, 1);
}

/* An address that cannot be connected to fails the request; the next request to the name
 * uses its next address. */
static void test_name_next_address(void **state) {
    fixture *f = *state;
    use_names(f, "127.0.0.2 d.test\n127.0.0.1 d.test\n", NULL, 0, 2000);
    f->s.script[0].answer = OK; /* the server listens on 127.0.0.1 only */
    f->s.script[1].answer = OK;
    snprintf(f->url, sizeof f->url, "http://d.test:%d/", f->s.port);
    outcome *o = get(f);
    assert_int_equal(o->rc, SG_ETEMP);
    if (!strstr(o->error, "d.test (127.0.0.2) port")) fail_msg("error: '%s'", o->error);
    assert_ok(get(f), 200);
    assert_ok(get(f), 200);
    assert_int_equal(f->s.accepts, 1);
}

/* A name server that does not answer: the requests fail when their share of the connect
 * timeout ran out; a cancelled one never calls back; freeing the client with a lookup in
 * flight and a request waiting for it leaks nothing (ASan checks). */
static void test_name_resolve_timeout(void **state) {
    fixture *f = *state;
    use_names(f, "", NULL, 0, 300);
    dns_add(f->dns, "slow.test", "127.0.0.1", 1);
    snprintf(f->url, sizeof f->url, "http://slow.test:%d/", f->s.port);
    int64_t t0 = sg_mono_ms();
    outcome *o = get(f);
    int64_t took = sg_mono_ms() - t0;
    assert_int_equal(o->rc, SG_ETEMP);
    if (!strstr(o->error, "Resolving host slow.test timed out")) fail_msg("error: '%s'", o->error);
    assert_true(took >= 290 && took < 2000);
    hclient_target t;
    assert_int_equal(hclient_target_parse(f->url, &t), 0);
    hclient_req *a, *b;
    assert_int_equal(hclient_get(f->c, &t, "", on_done, f, &a), 0);
    assert_int_equal(hclient_get(f->c, &t, "", on_done, f, &b), 0);
    hclient_cancel(a);
    run_for(f, 50);
    assert_int_equal(f->next, 1);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal((int)st.lookups, 1); /* the lookup still runs: they joined it */
    (void)b;
}

/* Without a readable resolv.conf the client takes no names (the caller uses curl), and keeps
 * taking addresses. */
static void test_no_resolver(void **state) {
    fixture *f = *state;
    hclient_free(f->c);
    hclient_options o = {.timeout_ms = 2000, .resolve = 1, .resolv_conf = "/nonexistent/conf"};
    f->c = hclient_new(f->base, &o);
    hclient_stats st;
    stats(f, &st);
    assert_int_equal(st.resolves, 0);
    char url[64];
    snprintf(url, sizeof url, "http://localhost:%d/", f->s.port);
    hclient_target t;
    assert_int_equal(hclient_target_parse(url, &t), 0);
    hclient_req *r = NULL;
    assert_int_equal(hclient_get(f->c, &t, "", on_done, f, &r), SG_EINVAL);
    assert_null(r);
    f->s.script[0].answer = OK;
    assert_ok(get(f), 200);
}

/* The system's configuration, as smsgated uses it: "localhost" from /etc/hosts. */
static void test_localhost_system(void **state) {
    fixture *f = *state;
    hclient_free(f->c);
    hclient_options o = {.timeout_ms = 2000, .resolve = 1};
    f->c = hclient_new(f->base, &o);
    hclient_stats st;
    stats(f, &st);
    if (!st.resolves) skip(); /* no /etc/resolv.conf here: names go to curl */
    f->s.script[0].answer = OK;
    snprintf(f->url, sizeof f->url, "http://localhost:%d/s", f->s.port);
    assert_ok(get(f), 200);
    char want[256];
    snprintf(want, sizeof want, "GET /s HTTP/1.1\r\nHost: localhost:%d\r\nX-Test: 1\r\n\r\n",
             f->s.port);
    assert_string_equal(f->s.heads[0], want);
    stats(f, &st);
    assert_int_equal((int)st.lookups, 1);
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
        cmocka_unit_test_setup_teardown(test_name_hosts_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_dns_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_next_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_resolve_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_resolver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_system, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
