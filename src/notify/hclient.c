/*
 * hclient.c - a small keep-alive HTTP/1.1 GET client on bufferevents (see hclient.h).
 *
 * Why it exists. Status callbacks are tiny GETs, mostly to a few origins that keep their
 * connections open. libcurl's per-transfer machinery (URL parsing, header building, a
 * liveness poll() before reusing a connection, socket callbacks re-registering events) cost
 * about 15 us per call in profiles; this client sends a prebuilt request on a pooled
 * connection and parses the answer in place, for a few syscalls per call. It takes only what
 * it can send exactly as libcurl would (plain http, a literal IP or a canonical DNS name, no
 * TLS); notify.c keeps libcurl for the rest and for redirects.
 *
 * Design. A destination (struct dest) is an address, a port and the Host header sent there;
 * it holds its idle connections, most recently used first. The Host header is part of the key
 * so that a connection opened for one name is never used for another name that resolves to
 * the same address (libcurl does not do that either: some front ends route a connection by
 * its first request). hclient_get() takes an idle connection or opens a new one, so requests
 * never wait here: the caller bounds them per destination. A connection (struct conn) is one
 * bufferevent plus one timer: the timer is the connect deadline, then the request's deadline,
 * then the idle expiry. A request (struct hclient_req) holds its whole text, so it can be sent
 * again on a new connection when a reused one turns out to have been closed by the server
 * (a race every keep-alive client has; GET is idempotent, so it is sent once more).
 * Writes go straight to the socket with send() when nothing is queued (the common case):
 * bufferevent_write() would add and remove a write event around every request, two
 * epoll_ctl() calls each time. Reads go through the bufferevent; the response is parsed in
 * place by a resumable parser (parse()) and its body discarded as it comes.
 *
 * Names. A name is resolved by evdns on the same event_base (resolver_new(): the name servers,
 * search list and options of resolv.conf, then the hosts file), never by a blocking call. Its
 * answer is kept in a cache (struct lookup, one per name) for dns_ttl_ms, a failure for
 * dns_fail_ms (evdns_getaddrinfo() does not give the TTL); at most dns_max answers are kept, the
 * oldest dropped first. A request for a name whose lookup is running joins that lookup's
 * waiters; the lookup's timer fails the waiters whose share of the connect timeout ran out (the
 * lookup itself goes on and fills the cache). When the answer comes, each waiter goes on like a
 * request to a literal address (lookup_use()). Addresses refuse() rejects are dropped from the
 * answer when it is stored, so the rule is checked once per answer, not per request.
 * Failures that are not a connection's (no answer, every address refused, lookup timed out)
 * are reported from the loop through the client's report queue (report_later()), never from
 * inside hclient_get().
 *
 * A connection's states (conn->state) and the functions that perform each transition:
 *
 *   conn_open() --> CONNECTING --on_event(CONNECTED)--> BUSY --conn_complete()--> IDLE
 *                        |                               ^  |                      |
 *                        |                               +--|-----conn_send()------+
 *                        v                                  v                      v
 *                   conn_fail() / conn_close()  <-----------+        conn_close() (EOF, data,
 *                                                                    idle expiry, too many)
 *
 * A request's states (req->wait): ON_CONN (it has a connection, or is being given one),
 * RESOLVING (waiter_add(): in a lookup's waiters) and REPORTING (report_later(): its failure
 * is queued for on_reports()). A lookup's states (lookup->state): RESOLVING (lookup_start())
 * -> DONE (lookup_done(), from evdns's callback) -> RESOLVING again once expired; a DONE
 * lookup is dropped by lookup_drop() to make room.
 *
 * Invariants:
 *  1. A CONNECTING or BUSY connection has exactly one request (conn->req, and req->cn points
 *     back); an IDLE one has none and is in its destination's idle list and the client's
 *     idle list. A connection is in exactly one of c->busy and c->idle lists.
 *  2. A request's callback runs exactly once (finish()), after the request was freed and its
 *     connection was pooled or closed, so the callback may start a request on that very
 *     connection. Nothing touches a connection after finish() returned.
 *  3. A connection is reused only after a complete response, with nothing left unread or
 *     unsent, and neither side asked to close.
 *  4. A destination exists while it has connections (d->nconn > 0).
 *  5. Only a RESOLVING lookup has waiters, and it has an evdns request in flight (greq, or its
 *     callback is running); a DONE lookup is in the client's done list, oldest answer first,
 *     and c->ndone <= dns_max. A lookup is NEW only between lookup_get() and lookup_start().
 *  6. An evdns request is never cancelled after its callback ran (evdns forbids it), and the
 *     evdns base outlives every request: hclient_free() cancels the lookups in flight and
 *     leaves them, with the resolver, to be freed by their (deferred) cancel callbacks.
 */
#include "notify/hclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/util.h>

#include "util/log.h"
#include "util/util.h"

#define LOG "notify.hclient"
#define DEST_BUCKETS 64
#define LOOKUP_BUCKETS 256
#define CHUNK_LINE_MAX 1024     /* a chunk-size line, extensions included */
#define ERR_LEN 512
#define NAME_MAX_LEN 253        /* a DNS name in text, without a trailing dot */
#define LOOKUP_MAX_ADDRS 16     /* addresses kept from one answer */

typedef struct dest dest;
typedef struct conn conn;
typedef struct lookup lookup;
typedef struct resolver resolver;

enum { CONN_CONNECTING = 1, CONN_BUSY = 2, CONN_IDLE = 3 };
enum { REQ_ON_CONN = 0, REQ_RESOLVING = 1, REQ_REPORTING = 2 };
enum { LK_NEW = 0, LK_RESOLVING = 1, LK_DONE = 2 };

/* An address without its port (a lookup's answer) or with it (a destination's). */
typedef union addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} addr;

/* Where the parser of a response is. */
enum {
    PH_DONE = -1,   /* the response is complete */
    PH_HEAD,        /* status line and headers (interim 1xx answers are skipped) */
    PH_BODY_LEN,    /* remaining bytes of a Content-Length body */
    PH_CHUNK_SIZE,  /* a chunk-size line */
    PH_CHUNK_DATA,  /* remaining bytes of a chunk */
    PH_CHUNK_END,   /* the CRLF after a chunk */
    PH_TRAILER,     /* trailer lines after the last chunk */
    PH_UNTIL_CLOSE  /* a body without length: it ends when the server closes */
};

struct hclient_req {
    hclient *c;
    conn *cn;                  /* ON_CONN: its connection */
    hclient_done_cb cb;
    void *arg;
    int64_t start_ms, deadline_ms;
    int64_t connect_from_ms;   /* when the connect timeout of its next connection started */
    int retried;
    int wait;                  /* REQ_ON_CONN, REQ_RESOLVING or REQ_REPORTING */
    lookup *lk;                /* RESOLVING: the lookup it waits for */
    hclient_req *wnext, *wprev; /* RESOLVING: lk's waiters; REPORTING: the client's reports */
    int fail_rc;               /* REPORTING: the outcome to report (strings owned) */
    char *fail_error, *fail_refused;
    int port;
    size_t host_off, host_len; /* the Host header value, in text */
    size_t name_len;           /* the host name at the start of it; 0 for a literal */
    size_t len;
    char text[];               /* the whole request */
};

struct conn {
    hclient *c;
    dest *d;
    struct bufferevent *bev;
    struct event *timer;
    int state;
    int pending_errno;         /* a connect that failed at once, reported from the timer */
    hclient_req *req;
    unsigned served;           /* complete responses on this connection */
    /* the response being read */
    int got_byte, phase, status, close_after, chunked, has_len;
    int64_t remaining, length;
    char *location;            /* a 3xx answer's Location header (owned), else NULL */
    size_t scanned;            /* PH_HEAD: bytes known to hold no end of headers;
                                  PH_TRAILER: trailer bytes seen */
    conn *dnext, *dprev;       /* IDLE: the destination's idle list */
    conn *next, *prev;         /* the client's idle or busy list */
};

struct dest {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char name[NAME_MAX_LEN + INET6_ADDRSTRLEN + 20]; /* "10.1.2.3 port 8080" or
                                  "cb.example (10.1.2.3) port 8080", for messages */
    conn *idle;                /* most recently used first */
    int nidle, nconn;
    dest *next;                /* bucket chain */
    size_t name_len;           /* the host name at the start of host; 0 for a literal */
    size_t host_len;
    char host[];               /* the Host header sent there: part of the key */
};

/* The evdns base, shared by the client and the lookups in flight: it must outlive evdns's
 * callbacks, which come after hclient_free() for cancelled lookups (invariant 6). */
struct resolver {
    struct evdns_base *base;
    size_t pending;            /* evdns requests whose callback has not run */
    int closing;               /* the client is gone: freed when pending reaches 0 */
};

/* The cache entry of one name. */
struct lookup {
    hclient *c;                /* NULL once hclient_free() left it to its cancel callback */
    resolver *rs;
    struct evdns_getaddrinfo_request *greq; /* RESOLVING: evdns's request */
    int state;                 /* LK_NEW, LK_RESOLVING, LK_DONE */
    int err;                   /* DONE: 0 or an EVUTIL_EAI_* code */
    int64_t expires_ms;        /* DONE: when the answer stops being used (monotonic) */
    addr *addrs;               /* DONE: the acceptable addresses, IPv4 first, port 0 */
    size_t naddrs, pick;       /* pick: the one in use (moves on when one cannot be reached) */
    char refused[INET6_ADDRSTRLEN]; /* DONE: the last address refuse() rejected, or "" */
    hclient_req *whead, *wtail; /* RESOLVING: the requests waiting, oldest first */
    struct event *timer;       /* RESOLVING: the oldest waiter's deadline */
    lookup *next;              /* bucket chain */
    lookup *dnext, *dprev;     /* DONE: the client's done list */
    size_t name_len;
    char name[];
};

struct hclient {
    struct event_base *base;
    hclient_options opt;
    dest *dests[DEST_BUCKETS];
    conn *idle, *idle_tail;    /* every idle connection, most recently used first */
    conn *busy;                /* CONNECTING and BUSY connections */
    size_t nidle, nbusy;
    resolver *rs;              /* NULL: names are not taken */
    lookup *lookups[LOOKUP_BUCKETS];
    lookup *done_head, *done_tail; /* DONE lookups, oldest answer first */
    size_t nnames, ndone;
    hclient_req *rhead, *rtail; /* REPORTING requests, in order */
    size_t nreports;
    struct event *report_ev;   /* runs on_reports() */
    uint64_t connects, reuses, retries, lookups_started, cached;
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void conn_send(conn *cn, hclient_req *r);
static void lookup_demote(hclient *c, const dest *d);

/* ---- targets ---- */

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static int is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }

/* 1 when s[0..n) is a DNS name in the canonical form hclient.h describes. libcurl sends such a
 * name as it is; anything else (upper case, a trailing dot, IDN, numbers it would read as an
 * IPv4 address) it may rewrite, so it is left to it. */
static int is_name(const char *s, size_t n) {
    if (n == 0 || n > NAME_MAX_LEN) return 0;
    const char *label = s, *e = s + n;
    for (const char *q = s; q <= e; q++) {
        if (q < e && *q != '.') {
            if (!is_lower(*q) && !is_digit(*q) && *q != '-') return 0;
            continue;
        }
        size_t ll = (size_t)(q - label);
        if (ll == 0 || ll > 63 || label[0] == '-' || q[-1] == '-') return 0;
        if (q == e && !is_lower(label[0])) return 0; /* the last label */
        label = q + 1;
    }
    return 1;
}

int hclient_target_parse(const char *url, hclient_target *t) {
    if (strncasecmp(url, "http://", 7) != 0) return SG_EINVAL;
    const char *auth = url + 7;
    size_t alen = strcspn(auth, "/?#");
    const char *end = auth + alen;
    if (memchr(auth, '@', alen)) return SG_EINVAL; /* user info: libcurl sends credentials */
    const char *host = auth, *host_end, *port = NULL;
    char text[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN + 1];
    memset(t, 0, sizeof *t);
    int family;
    if (*auth == '[') {
        const char *rb = memchr(auth, ']', alen);
        if (!rb || (size_t)(rb - auth - 1) >= sizeof text) return SG_EINVAL;
        memcpy(text, auth + 1, (size_t)(rb - auth - 1));
        text[rb - auth - 1] = '\0';
        host_end = rb + 1;
        family = AF_INET6;
    } else {
        const char *colon = memchr(auth, ':', alen);
        host_end = colon ? colon : end;
        if (is_name(host, (size_t)(host_end - host))) {
            t->name = host;
            t->name_len = (size_t)(host_end - host);
            family = AF_UNSPEC;
        } else {
            if ((size_t)(host_end - host) >= sizeof text) return SG_EINVAL;
            memcpy(text, host, (size_t)(host_end - host));
            text[host_end - host] = '\0';
            family = AF_INET;
        }
    }
    if (host_end < end) {
        if (*host_end != ':') return SG_EINVAL;
        port = host_end + 1;
    }
    long portnum = 80;
    if (port) {
        /* Canonical digits only: 1 to 65535 without leading zeros. */
        if (port == end || *port == '0' || end - port > 5) return SG_EINVAL;
        portnum = 0;
        for (const char *q = port; q < end; q++) {
            if (!is_digit(*q)) return SG_EINVAL;
            portnum = portnum * 10 + (*q - '0');
        }
        if (portnum > 65535) return SG_EINVAL;
    }
    /* The address must be in the form inet_ntop() writes, so the Host header is the one
     * libcurl would send (it normalises addresses). */
    t->port = (int)portnum;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&t->addr;
        if (inet_pton(AF_INET, text, &in->sin_addr) != 1) return SG_EINVAL;
        if (!inet_ntop(AF_INET, &in->sin_addr, canon, sizeof canon) || strcmp(canon, text))
            return SG_EINVAL;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)portnum);
        t->addrlen = sizeof *in;
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->addr;
        if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) return SG_EINVAL;
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, canon, sizeof canon) || strcmp(canon, text))
            return SG_EINVAL;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)portnum);
        t->addrlen = sizeof *in6;
    }
    /* Path and query: stop at a fragment; only printable ASCII, no backslash (libcurl would
     * encode or reject those), and no "." or ".." segment (libcurl would remove it). */
    const char *path = end, *path_end = path + strcspn(path, "#");
    const char *query = memchr(path, '?', (size_t)(path_end - path));
    const char *seg_end = query ? query : path_end;
    for (const char *q = path; q < path_end; q++)
        if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f || *q == '\\') return SG_EINVAL;
    for (const char *q = path; q < seg_end; q++) {
        if (*q != '/') continue;
        const char *s = q + 1;
        size_t n = 0;
        while (s + n < seg_end && s[n] != '/') n++;
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return SG_EINVAL;
    }
    t->host = host;
    t->host_len = (size_t)((port && portnum != 80 ? end : host_end) - host);
    t->path = path;
    t->path_len = (size_t)(path_end - path);
    return 0;
}

/* ---- destinations ---- */

static unsigned dest_bucket(const struct sockaddr_storage *a, socklen_t len) {
    uint32_t h = 2166136261u;
    const unsigned char *p = (const unsigned char *)a;
    for (socklen_t i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
    return h % DEST_BUCKETS;
}

/* The address of a as text ("10.1.2.3", "2001:db8::1"), into buf of INET6_ADDRSTRLEN. */
static void addr_text(const struct sockaddr *a, char *buf) {
    const void *raw = a->sa_family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    if (!inet_ntop(a->sa_family, raw, buf, INET6_ADDRSTRLEN)) snprintf(buf, 2, "?");
}

/* The destination of r at addr (its port set), created when there is none. */
static dest *dest_get(hclient *c, const struct sockaddr_storage *a, socklen_t alen,
                      const hclient_req *r) {
    const char *host = r->text + r->host_off;
    size_t hl = r->host_len;
    unsigned b = dest_bucket(a, alen);
    for (dest *d = c->dests[b]; d; d = d->next)
        if (d->addrlen == alen && d->host_len == hl && !memcmp(&d->addr, a, alen) &&
            !memcmp(d->host, host, hl))
            return d;
    dest *d = sg_xcalloc(1, sizeof *d + hl + 1);
    memcpy(&d->addr, a, alen);
    d->addrlen = alen;
    memcpy(d->host, host, hl);
    d->host_len = hl;
    d->name_len = r->name_len;
    char ip[INET6_ADDRSTRLEN];
    addr_text((const struct sockaddr *)a, ip);
    int port = ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
                                              : ((const struct sockaddr_in *)a)->sin_port);
    if (d->name_len)
        snprintf(d->name, sizeof d->name, "%.*s (%s) port %d", (int)d->name_len, d->host, ip,
                 port);
    else
        snprintf(d->name, sizeof d->name, "%s port %d", ip, port);
    d->next = c->dests[b];
    c->dests[b] = d;
    return d;
}

static void dest_release(hclient *c, dest *d) {
    if (d->nconn) return;
    dest **pp = &c->dests[dest_bucket(&d->addr, d->addrlen)];
    while (*pp != d) pp = &(*pp)->next;
    *pp = d->next;
    free(d);
}

/* ---- connection lists ---- */

static void list_unlink(hclient *c, conn *cn) {
    if (cn->state == CONN_IDLE) {
        if (cn->dprev) cn->dprev->dnext = cn->dnext;
        else cn->d->idle = cn->dnext;
        if (cn->dnext) cn->dnext->dprev = cn->dprev;
        cn->dnext = cn->dprev = NULL;
        cn->d->nidle--;
        if (cn->prev) cn->prev->next = cn->next;
        else c->idle = cn->next;
        if (cn->next) cn->next->prev = cn->prev;
        else c->idle_tail = cn->prev;
        c->nidle--;
    } else {
        if (cn->prev) cn->prev->next = cn->next;
        else c->busy = cn->next;
        if (cn->next) cn->next->prev = cn->prev;
        c->nbusy--;
    }
    cn->next = cn->prev = NULL;
}

static void busy_link(hclient *c, conn *cn) {
    cn->prev = NULL;
    cn->next = c->busy;
    if (c->busy) c->busy->prev = cn;
    c->busy = cn;
    c->nbusy++;
}

static void idle_link(hclient *c, conn *cn) {
    dest *d = cn->d;
    cn->dprev = NULL;
    cn->dnext = d->idle;
    if (d->idle) d->idle->dprev = cn;
    d->idle = cn;
    d->nidle++;
    cn->prev = NULL;
    cn->next = c->idle;
    if (c->idle) c->idle->prev = cn;
    else c->idle_tail = cn;
    c->idle = cn;
    c->nidle++;
}

/* ---- connections ---- */

static void arm_event(struct event *ev, int64_t ms) {
    if (ms < 0) ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(ev, &tv);
}

static void arm(conn *cn, int64_t ms) { arm_event(cn->timer, ms); }

/* Closes and frees cn (its request, if any, is the caller's). */
static void conn_close(conn *cn) {
    hclient *c = cn->c;
    dest *d = cn->d;
    list_unlink(c, cn);
    if (cn->req) cn->req->cn = NULL;
    bufferevent_free(cn->bev); /* safe inside its own callback: libevent holds a reference */
    event_free(cn->timer);
    free(cn->location);
    free(cn);
    d->nconn--;
    dest_release(c, d);
}

/* Opens a connection to d; a failure to even start is reported from the timer. */
static conn *conn_open(hclient *c, dest *d) {
    conn *cn = sg_xcalloc(1, sizeof *cn);
    cn->c = c;
    cn->d = d;
    cn->state = CONN_CONNECTING;
    cn->timer = evtimer_new(c->base, on_timer, cn);
    d->nconn++;
    busy_link(c, cn);
    c->connects++;
    int fd = socket(d->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int one = 1; /* as libcurl: a request goes out in one segment, at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (const struct sockaddr *)&d->addr, d->addrlen) != 0 &&
            errno != EINPROGRESS) {
            cn->pending_errno = errno;
            close(fd);
            fd = -1;
        }
    } else {
        cn->pending_errno = errno;
    }
    cn->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(cn->bev, on_read, NULL, on_event, cn);
    if (fd >= 0) {
        bufferevent_enable(cn->bev, EV_READ);
        /* NULL address: the socket is already connecting; libevent waits for writability. */
        if (bufferevent_socket_connect(cn->bev, NULL, 0) != 0) cn->pending_errno = EIO;
    }
    if (cn->pending_errno) event_active(cn->timer, EV_TIMEOUT, 1);
    return cn;
}

/* Hands the callback its outcome; r is freed first (invariant 2). */
static void finish(hclient_req *r, int rc, int status, const char *error, const char *location,
                   const char *refused) {
    hclient_done_cb cb = r->cb;
    void *arg = r->arg;
    free(r);
    hclient_result res = {.rc = rc, .status = status, .error = error, .location = location,
                          .refused = refused};
    cb(arg, &res);
}

/* The request of cn failed: retried on a new connection when cn was a reused one that failed
 * before any byte of the answer (retryable: not a timeout), else reported. Closes cn. */
static void conn_fail(conn *cn, int rc, int retryable, const char *error) {
    hclient_req *r = cn->req;
    int again = retryable && r && !r->retried && cn->served > 0 && !cn->got_byte &&
                sg_mono_ms() < r->deadline_ms;
    dest *d = cn->d;
    hclient *c = cn->c;
    if (cn->state == CONN_CONNECTING && d->name_len) lookup_demote(c, d);
    d->nconn++; /* keep d alive across the close */
    conn_close(cn);
    d->nconn--;
    if (!r) {
        dest_release(c, d);
        return;
    }
    if (again) {
        r->retried = 1;
        c->retries++;
        r->connect_from_ms = sg_mono_ms();
        conn_send(conn_open(c, d), r);
        return;
    }
    dest_release(c, d);
    finish(r, rc, 0, error, NULL, NULL);
}

/* The response of cn is complete: pool cn or close it, then report. */
static void conn_complete(conn *cn) {
    hclient *c = cn->c;
    hclient_req *r = cn->req;
    int status = cn->status;
    char *location = cn->location; /* ours now: cn may be closed or reused below */
    cn->location = NULL;
    cn->req = NULL;
    r->cn = NULL;
    cn->served++;
    if (cn->close_after || cn->d->nidle >= c->opt.idle_per_dest ||
        evbuffer_get_length(bufferevent_get_input(cn->bev)) ||
        evbuffer_get_length(bufferevent_get_output(cn->bev))) {
        conn_close(cn);
    } else {
        list_unlink(c, cn);
        cn->state = CONN_IDLE;
        idle_link(c, cn);
        arm(cn, c->opt.idle_ms);
        if (c->nidle > (size_t)c->opt.idle_max) conn_close(c->idle_tail);
    }
    finish(r, 0, status, NULL, location, NULL);
    free(location);
}

/* Binds r to cn and writes it. */
static void conn_send(conn *cn, hclient_req *r) {
    hclient *c = cn->c;
    if (cn->state == CONN_IDLE) {
        list_unlink(c, cn);
        cn->state = CONN_BUSY;
        busy_link(c, cn);
        c->reuses++;
    }
    cn->req = r;
    r->cn = cn;
    cn->got_byte = 0;
    cn->phase = PH_HEAD;
    cn->status = cn->close_after = cn->chunked = cn->has_len = 0;
    cn->remaining = cn->length = 0;
    free(cn->location);
    cn->location = NULL;
    cn->scanned = 0;
    if (cn->pending_errno) return; /* the timer, already active, reports it */
    int64_t now = sg_mono_ms();
    if (cn->state == CONN_CONNECTING) {
        int64_t dl = r->connect_from_ms + c->opt.connect_timeout_ms;
        arm(cn, (dl < r->deadline_ms ? dl : r->deadline_ms) - now);
    } else {
        arm(cn, r->deadline_ms - now);
    }
    size_t off = 0;
    struct evbuffer *out = bufferevent_get_output(cn->bev);
    if (cn->state == CONN_BUSY && evbuffer_get_length(out) == 0) {
        ssize_t w = send(bufferevent_getfd(cn->bev), r->text, r->len, MSG_NOSIGNAL);
        if (w > 0) off = (size_t)w;
        /* An error is left to the bufferevent: writing the rest fails the same way and is
         * reported through on_event(), from the loop. */
    }
    if (off < r->len) bufferevent_write(cn->bev, r->text + off, r->len - off);
}

/* Sends r to a (port included): on an idle connection of its destination, or a new one. */
static void send_to(hclient *c, hclient_req *r, const struct sockaddr_storage *a,
                    socklen_t alen) {
    dest *d = dest_get(c, a, alen, r);
    conn_send(d->idle ? d->idle : conn_open(c, d), r);
}

/* ---- the response parser ---- */

static int lower_eq(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && !strncasecmp(s, lit, n);
}

/* 1 when the comma-separated list s[0..n) has token tok (any case). */
static int has_token(const char *s, size_t n, const char *tok, int last_only) {
    size_t tl = strlen(tok);
    int found = 0;
    const char *e = s + n;
    while (s < e) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        const char *te = comma ? comma : e;
        while (s < te && (*s == ' ' || *s == '\t')) s++;
        const char *we = te;
        while (we > s && (we[-1] == ' ' || we[-1] == '\t')) we--;
        int is = (size_t)(we - s) == tl && !strncasecmp(s, tok, tl);
        if (last_only) found = is;
        else if (is) return 1;
        s = comma ? comma + 1 : e;
    }
    return found;
}

/* Offset just past the blank line ending the head in p[0..n), or 0 while there is none. */
static size_t head_end(const char *p, size_t n, size_t *scanned) {
    size_t i = *scanned > 2 ? *scanned - 2 : 0;
    for (;;) {
        const char *nl = memchr(p + i, '\n', n - i);
        if (!nl) break;
        size_t j = (size_t)(nl - p) + 1;
        if (j < n && p[j] == '\n') return j + 1;
        if (j + 1 < n && p[j] == '\r' && p[j + 1] == '\n') return j + 2;
        i = j;
        if (i >= n) break;
    }
    *scanned = n;
    return 0;
}

/* Parses a complete head p[0..n). Returns 0 (a final answer: the body phase is set), 1 (an
 * interim 1xx answer, skipped) or SG_EIO with err set. */
static int parse_head(conn *cn, const char *p, size_t n, char *err) {
    const char *e = p + n;
    const char *nl = memchr(p, '\n', n);
    size_t ll = (size_t)(nl - p);
    if (ll && p[ll - 1] == '\r') ll--;
    if (ll < 12 || memcmp(p, "HTTP/1.", 7) || !is_digit(p[7]) || p[8] != ' ' ||
        !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) || (ll > 12 && p[12] != ' ')) {
        snprintf(err, ERR_LEN, "The server did not answer with an HTTP/1.x status line.");
        return SG_EIO;
    }
    int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (status < 100) {
        snprintf(err, ERR_LEN, "The server answered an invalid HTTP status %d.", status);
        return SG_EIO;
    }
    int close_after = p[7] == '0', chunked = 0, has_len = 0, has_te = 0;
    int64_t length = 0;
    for (const char *l = nl + 1; l < e;) {
        const char *le = memchr(l, '\n', (size_t)(e - l));
        const char *next = le + 1;
        if (le > l && le[-1] == '\r') le--;
        if (le == l) break;                         /* the blank line */
        if (*l == ' ' || *l == '\t') { l = next; continue; } /* obsolete folding: ignored */
        const char *colon = memchr(l, ':', (size_t)(le - l));
        if (!colon) {
            snprintf(err, ERR_LEN, "The server sent a header line without a colon.");
            return SG_EIO;
        }
        const char *v = colon + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t nl_len = (size_t)(colon - l);
        if (lower_eq(l, nl_len, "content-length")) {
            int64_t x = 0;
            if (v == ve) goto bad_length;
            for (const char *q = v; q < ve; q++) {
                if (!is_digit(*q) || x > (INT64_MAX - 9) / 10) goto bad_length;
                x = x * 10 + (*q - '0');
            }
            if (has_len && x != length) goto bad_length;
            has_len = 1;
            length = x;
        } else if (lower_eq(l, nl_len, "transfer-encoding")) {
            /* The last coding decides: chunked, or anything else (the body ends at close). */
            chunked = has_token(v, (size_t)(ve - v), "chunked", 1);
            has_te = 1;
        } else if (lower_eq(l, nl_len, "connection")) {
            if (has_token(v, (size_t)(ve - v), "close", 0)) close_after = 1;
        } else if (lower_eq(l, nl_len, "location") && status / 100 == 3 && v < ve) {
            free(cn->location); /* the last one counts */
            cn->location = sg_xstrndup(v, (size_t)(ve - v));
        }
        l = next;
    }
    if (status / 100 == 1) {
        if (status == 101) {
            snprintf(err, ERR_LEN, "The server switched protocols (101) unasked.");
            return SG_EIO;
        }
        return 1;
    }
    cn->status = status;
    cn->close_after = close_after;
    if (status == 204 || status == 304) {
        cn->phase = PH_DONE; /* no body */
    } else if (chunked) {
        cn->phase = PH_CHUNK_SIZE;
        if (has_len) cn->close_after = 1; /* both framings: trust neither afterwards */
    } else if (has_len && !has_te) {
        cn->remaining = length;
        cn->phase = length ? PH_BODY_LEN : PH_DONE;
    } else {
        cn->phase = PH_UNTIL_CLOSE;
        cn->close_after = 1;
    }
    return 0;

bad_length:
    snprintf(err, ERR_LEN, "The server sent an invalid Content-Length.");
    return SG_EIO;
}

/* Consumes what `in` holds of the response. Returns 0 when the response is complete,
 * SG_EAGAIN while more is needed, SG_EIO with err set when the server broke the protocol. */
static int parse(conn *cn, struct evbuffer *in, char *err) {
    size_t max_head = cn->c->opt.max_head;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        switch (cn->phase) {
        case PH_DONE:
            return 0;
        case PH_HEAD: {
            if (!avail) return SG_EAGAIN;
            size_t n = avail < max_head ? avail : max_head;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
            size_t end = head_end(p, n, &cn->scanned);
            if (!end) {
                if (n < max_head) return SG_EAGAIN;
                snprintf(err, ERR_LEN, "The response headers are larger than %zu bytes.",
                         max_head);
                return SG_EIO;
            }
            int rc = parse_head(cn, p, end, err);
            evbuffer_drain(in, end);
            cn->scanned = 0;
            if (rc < 0) return rc;
            break; /* a final answer moved to its body phase; an interim one stays here */
        }
        case PH_BODY_LEN:
        case PH_CHUNK_DATA: {
            size_t take = (int64_t)avail < cn->remaining ? avail : (size_t)cn->remaining;
            evbuffer_drain(in, take);
            cn->remaining -= (int64_t)take;
            if (cn->remaining) return SG_EAGAIN;
            if (cn->phase == PH_BODY_LEN) return 0;
            cn->phase = PH_CHUNK_END;
            break;
        }
        case PH_CHUNK_SIZE:
        case PH_CHUNK_END:
        case PH_TRAILER: {
            size_t n = avail < CHUNK_LINE_MAX ? avail : CHUNK_LINE_MAX;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
            const char *nl = p ? memchr(p, '\n', n) : NULL;
            if (!nl) {
                if (n < CHUNK_LINE_MAX) return SG_EAGAIN;
                snprintf(err, ERR_LEN, "The server sent a chunk line longer than %d bytes.",
                         CHUNK_LINE_MAX);
                return SG_EIO;
            }
            size_t used = (size_t)(nl - p) + 1, ll = used - 1;
            if (ll && p[ll - 1] == '\r') ll--;
            if (cn->phase == PH_CHUNK_END) {
                if (ll) goto bad_chunk;
                cn->phase = PH_CHUNK_SIZE;
            } else if (cn->phase == PH_TRAILER) {
                cn->scanned += used;
                if (!ll) {
                    evbuffer_drain(in, used);
                    return 0;
                }
                if (cn->scanned > max_head) {
                    snprintf(err, ERR_LEN, "The response trailers are larger than %zu bytes.",
                             max_head);
                    return SG_EIO;
                }
            } else {
                int64_t size = 0;
                size_t i = 0;
                for (; i < ll; i++) {
                    char ch = p[i];
                    int v = is_digit(ch) ? ch - '0'
                            : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                            : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : -1;
                    if (v < 0) break;
                    if (i >= 15) goto bad_chunk;
                    size = size * 16 + v;
                }
                if (i == 0) goto bad_chunk;
                for (; i < ll; i++) /* only whitespace, then extensions, may follow */
                    if (p[i] == ';') break;
                    else if (p[i] != ' ' && p[i] != '\t') goto bad_chunk;
                cn->remaining = size;
                cn->phase = size ? PH_CHUNK_DATA : PH_TRAILER;
                cn->scanned = 0;
            }
            evbuffer_drain(in, used);
            break;
        }
        case PH_UNTIL_CLOSE:
            evbuffer_drain(in, avail);
            return SG_EAGAIN;
        }
    }

bad_chunk:
    snprintf(err, ERR_LEN, "The server sent an invalid chunked body.");
    return SG_EIO;
}

/* ---- events ---- */

static void on_read(struct bufferevent *bev, void *arg) {
    conn *cn = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (cn->state == CONN_IDLE || !cn->req) {
        conn_close(cn); /* nothing was asked: whatever the server says ends the connection */
        return;
    }
    if (evbuffer_get_length(in)) cn->got_byte = 1;
    char err[ERR_LEN];
    int rc = parse(cn, in, err);
    if (rc == SG_EAGAIN) return;
    if (rc < 0) conn_fail(cn, SG_EIO, 0, err);
    else conn_complete(cn);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    conn *cn = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (cn->state == CONN_CONNECTING) {
            cn->state = CONN_BUSY;
            if (cn->req) arm(cn, cn->req->deadline_ms - sg_mono_ms());
        }
        return;
    }
    if (cn->state == CONN_IDLE || !cn->req) {
        conn_close(cn);
        return;
    }
    int saved = EVUTIL_SOCKET_ERROR();
    char err[ERR_LEN];
    if (cn->state == CONN_CONNECTING) {
        snprintf(err, ERR_LEN, "Failed to connect to %s: %s.", cn->d->name,
                 saved ? strerror(saved) : "connection failed");
        conn_fail(cn, SG_ETEMP, 0, err);
        return;
    }
    /* What was read before the end may complete the response. */
    struct evbuffer *in = bufferevent_get_input(bev);
    if (evbuffer_get_length(in)) cn->got_byte = 1;
    int rc = parse(cn, in, err);
    if (rc == 0) {
        conn_complete(cn);
        return;
    }
    if (rc != SG_EAGAIN) {
        conn_fail(cn, SG_EIO, 0, err);
        return;
    }
    if ((what & BEV_EVENT_EOF) && cn->phase == PH_UNTIL_CLOSE) {
        conn_complete(cn);
        return;
    }
    if (!cn->got_byte && (what & BEV_EVENT_EOF))
        snprintf(err, ERR_LEN, "Empty reply from server %s.", cn->d->name);
    else if (what & BEV_EVENT_EOF)
        snprintf(err, ERR_LEN, "The server %s closed the connection before the end of the "
                 "response.", cn->d->name);
    else
        snprintf(err, ERR_LEN, "%s failure with %s: %s.",
                 (what & BEV_EVENT_WRITING) ? "Send" : "Receive", cn->d->name,
                 saved ? strerror(saved) : "connection error");
    conn_fail(cn, SG_ETEMP, 1, err);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn *cn = arg;
    if (cn->state == CONN_IDLE || !cn->req) {
        conn_close(cn); /* kept idle long enough */
        return;
    }
    char err[ERR_LEN];
    int64_t took = sg_mono_ms() - cn->req->start_ms;
    if (cn->pending_errno)
        snprintf(err, ERR_LEN, "Failed to connect to %s: %s.", cn->d->name,
                 strerror(cn->pending_errno));
    else if (cn->state == CONN_CONNECTING)
        snprintf(err, ERR_LEN, "Connection to %s timed out after %lld ms.", cn->d->name,
                 (long long)took);
    else
        snprintf(err, ERR_LEN, "Operation timed out after %lld ms with %s from %s.",
                 (long long)took, cn->got_byte ? "an incomplete answer" : "no answer",
                 cn->d->name);
    conn_fail(cn, SG_ETEMP, 0, err);
}

/* ---- failures reported from the loop ---- */

static void report_unlink(hclient *c, hclient_req *r) {
    if (r->wprev) r->wprev->wnext = r->wnext;
    else c->rhead = r->wnext;
    if (r->wnext) r->wnext->wprev = r->wprev;
    else c->rtail = r->wprev;
    r->wnext = r->wprev = NULL;
    c->nreports--;
}

/* Queues the failure of r (on no connection and in no list) for on_reports(), so that its
 * callback runs from the loop even when the failure is known inside hclient_get(). */
static void report_later(hclient *c, hclient_req *r, int rc, const char *error,
                         const char *refused) {
    r->wait = REQ_REPORTING;
    r->fail_rc = rc;
    r->fail_error = sg_xstrdup(error);
    r->fail_refused = refused ? sg_xstrdup(refused) : NULL;
    r->wnext = NULL;
    r->wprev = c->rtail;
    if (c->rtail) c->rtail->wnext = r;
    else c->rhead = r;
    c->rtail = r;
    c->nreports++;
    event_active(c->report_ev, EV_TIMEOUT, 0);
}

/* Reports the failures queued before this pass, at most; those the callbacks queue activate
 * the event again and wait for the next pass. */
static void on_reports(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    hclient *c = arg;
    for (size_t n = c->nreports; n > 0 && c->rhead; n--) {
        hclient_req *r = c->rhead;
        report_unlink(c, r);
        char *error = r->fail_error, *refused = r->fail_refused;
        finish(r, r->fail_rc, 0, error, NULL, refused);
        free(error);
        free(refused);
    }
}

/* ---- names ---- */

static void on_lookup_timer(evutil_socket_t fd, short what, void *arg);

static void resolver_free(resolver *rs) {
    evdns_base_free(rs->base, 0); /* nothing is pending: no callback is dropped */
    free(rs);
}

/* The evdns resolver of the client, or NULL (names go to libcurl) when the name servers
 * cannot be read. A hosts file that cannot be read only leaves DNS alone. */
static resolver *resolver_new(hclient *c) {
    const char *conf = c->opt.resolv_conf ? c->opt.resolv_conf : "/etc/resolv.conf";
    const char *hosts = c->opt.hosts_file ? c->opt.hosts_file : "/etc/hosts";
    /* Not initialised from resolv.conf by evdns_base_new(): without a name server it would
     * quietly use 127.0.0.1, and the hosts file is loaded on its own below. */
    struct evdns_base *db = evdns_base_new(c->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!db) {
        sg_log_info(LOG, "Callbacks to host names go through libcurl: the evdns resolver "
                         "could not be created.");
        return NULL;
    }
    int rc = evdns_base_resolv_conf_parse(
        db, (DNS_OPTIONS_ALL & ~DNS_OPTION_HOSTSFILE) | DNS_OPTION_NAMESERVERS_NO_DEFAULT, conf);
    if (rc != 0 || evdns_base_count_nameservers(db) == 0) {
        static const char *const why[] = {"", "cannot open it", "cannot stat it", "too large",
                                          "out of memory", "short read", "no name server"};
        sg_log_info(LOG, "Callbacks to host names go through libcurl: reading the name servers "
                         "from '%s' failed (%s).",
                    conf, rc > 0 && rc < 7 ? why[rc] : "no name server");
        evdns_base_free(db, 0);
        return NULL;
    }
    if (evdns_base_load_hosts(db, hosts) != 0)
        sg_log_info(LOG, "Reading '%s' failed; host names of callbacks are resolved by DNS "
                         "alone.", hosts);
    /* As the C library's resolver (which libcurl uses): no 0x20 case randomisation, which
     * some forwarders do not preserve, turning every answer into a timeout. */
    evdns_base_set_option(db, "randomize-case:", "0");
    resolver *rs = sg_xcalloc(1, sizeof *rs);
    rs->base = db;
    return rs;
}

static unsigned lookup_bucket(const char *name, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h % LOOKUP_BUCKETS;
}

static lookup *lookup_find(hclient *c, const char *name, size_t len) {
    for (lookup *lk = c->lookups[lookup_bucket(name, len)]; lk; lk = lk->next)
        if (lk->name_len == len && !memcmp(lk->name, name, len)) return lk;
    return NULL;
}

static void done_unlink(hclient *c, lookup *lk) {
    if (lk->dprev) lk->dprev->dnext = lk->dnext;
    else c->done_head = lk->dnext;
    if (lk->dnext) lk->dnext->dprev = lk->dprev;
    else c->done_tail = lk->dprev;
    lk->dnext = lk->dprev = NULL;
    c->ndone--;
}

/* Frees a DONE lookup (it has no waiters: invariant 5). */
static void lookup_drop(hclient *c, lookup *lk) {
    done_unlink(c, lk);
    lookup **pp = &c->lookups[lookup_bucket(lk->name, lk->name_len)];
    while (*pp != lk) pp = &(*pp)->next;
    *pp = lk->next;
    event_free(lk->timer);
    free(lk->addrs);
    free(lk);
    c->nnames--;
}

/* Appends lk to the done list, dropping the oldest answers beyond dns_max (never lk). */
static void done_link(hclient *c, lookup *lk) {
    lk->dnext = NULL;
    lk->dprev = c->done_tail;
    if (c->done_tail) c->done_tail->dnext = lk;
    else c->done_head = lk;
    c->done_tail = lk;
    c->ndone++;
    while (c->ndone > (size_t)c->opt.dns_max && c->done_head != lk) lookup_drop(c, c->done_head);
}

/* The lookup of name, a new one (LK_NEW) when there is none. */
static lookup *lookup_get(hclient *c, const char *name, size_t len) {
    lookup *lk = lookup_find(c, name, len);
    if (lk) return lk;
    lk = sg_xcalloc(1, sizeof *lk + len + 1);
    lk->c = c;
    lk->rs = c->rs;
    memcpy(lk->name, name, len);
    lk->name_len = len;
    lk->timer = evtimer_new(c->base, on_lookup_timer, lk);
    unsigned b = lookup_bucket(name, len);
    lk->next = c->lookups[b];
    c->lookups[b] = lk;
    c->nnames++;
    return lk;
}

/* When a request waiting for a name gives up: resolving shares the connect timeout with
 * connecting, as in libcurl. */
static int64_t resolve_deadline(const hclient *c, const hclient_req *r) {
    int64_t dl = r->start_ms + c->opt.connect_timeout_ms;
    return dl < r->deadline_ms ? dl : r->deadline_ms;
}

static void waiter_add(hclient *c, lookup *lk, hclient_req *r) {
    r->wait = REQ_RESOLVING;
    r->lk = lk;
    r->wnext = NULL;
    r->wprev = lk->wtail;
    if (lk->wtail) {
        lk->wtail->wnext = r;
    } else {
        lk->whead = r;
        arm_event(lk->timer, resolve_deadline(c, r) - sg_mono_ms());
    }
    lk->wtail = r;
}

static void waiter_unlink(lookup *lk, hclient_req *r) {
    if (r->wprev) r->wprev->wnext = r->wnext;
    else lk->whead = r->wnext;
    if (r->wnext) r->wnext->wprev = r->wprev;
    else lk->wtail = r->wprev;
    r->wnext = r->wprev = NULL;
    r->lk = NULL;
    r->wait = REQ_ON_CONN;
    if (!lk->whead) evtimer_del(lk->timer);
}

/* r goes on with the answer of lk (DONE): to a connection, or its failure is queued. */
static void lookup_use(hclient *c, lookup *lk, hclient_req *r) {
    char err[ERR_LEN];
    if (lk->err) {
        snprintf(err, sizeof err, "Could not resolve host: %s (%s).", lk->name,
                 evutil_gai_strerror(lk->err));
        report_later(c, r, SG_ETEMP, err, NULL);
        return;
    }
    if (!lk->naddrs) {
        snprintf(err, sizeof err, "Every address of %s is refused (the last one: %s).",
                 lk->name, lk->refused);
        report_later(c, r, SG_EPERM, err, lk->refused);
        return;
    }
    const addr *a = &lk->addrs[lk->pick];
    struct sockaddr_storage ss;
    socklen_t alen;
    memset(&ss, 0, sizeof ss);
    if (a->sa.sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        *in6 = a->in6;
        in6->sin6_port = htons((uint16_t)r->port);
        alen = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        *in = a->in;
        in->sin_port = htons((uint16_t)r->port);
        alen = sizeof *in;
    }
    send_to(c, r, &ss, alen);
}

/* Stores the outcome of lk's lookup (evdns's err and answer) and lets its waiters go on. The
 * acceptable addresses are kept, IPv4 before IPv6, each in the order of the answer. */
static void lookup_done(hclient *c, lookup *lk, int err, const struct evutil_addrinfo *ai) {
    free(lk->addrs);
    lk->addrs = NULL;
    lk->naddrs = lk->pick = 0;
    lk->refused[0] = '\0';
    lk->err = err;
    if (!err) {
        lk->addrs = sg_xcalloc(LOOKUP_MAX_ADDRS, sizeof *lk->addrs);
        for (int v6 = 0; v6 < 2; v6++) {
            for (const struct evutil_addrinfo *a = ai; a; a = a->ai_next) {
                if (!a->ai_addr || a->ai_addr->sa_family != (v6 ? AF_INET6 : AF_INET)) continue;
                addr x;
                memset(&x, 0, sizeof x);
                if (v6) {
                    x.in6.sin6_family = AF_INET6;
                    x.in6.sin6_addr = ((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
                } else {
                    x.in.sin_family = AF_INET;
                    x.in.sin_addr = ((const struct sockaddr_in *)a->ai_addr)->sin_addr;
                }
                if (c->opt.refuse && c->opt.refuse(&x.sa)) {
                    addr_text(&x.sa, lk->refused);
                    continue;
                }
                int dup = 0;
                for (size_t i = 0; i < lk->naddrs && !dup; i++)
                    dup = !memcmp(&lk->addrs[i], &x, sizeof x);
                if (!dup && lk->naddrs < LOOKUP_MAX_ADDRS) lk->addrs[lk->naddrs++] = x;
            }
        }
        if (!lk->naddrs && !lk->refused[0]) lk->err = EVUTIL_EAI_NODATA;
    }
    lk->state = LK_DONE;
    lk->expires_ms = sg_mono_ms() + (lk->err ? c->opt.dns_fail_ms : c->opt.dns_ttl_ms);
    done_link(c, lk);
    evtimer_del(lk->timer);
    while (lk->whead) {
        hclient_req *r = lk->whead;
        waiter_unlink(lk, r);
        lookup_use(c, lk, r);
    }
}

/* evdns's callback: from the loop, or from inside evdns_getaddrinfo() when the hosts file
 * answered at once. For a lookup hclient_free() left behind, this is its cancellation. */
static void on_resolved(int err, struct evutil_addrinfo *ai, void *arg) {
    lookup *lk = arg;
    resolver *rs = lk->rs;
    rs->pending--;
    lk->greq = NULL;
    if (lk->c) lookup_done(lk->c, lk, err, ai);
    else free(lk); /* its timer and addresses went with the client */
    if (ai) evutil_freeaddrinfo(ai);
    /* evdns touches neither its base nor this request's memory after calling back, so the
     * base can go now (invariant 6). */
    if (rs->closing && !rs->pending) resolver_free(rs);
}

/* Starts the lookup of lk (new, or DONE and expired). It may be answered before this returns
 * (the hosts file): lookup_done() has run then. */
static void lookup_start(hclient *c, lookup *lk) {
    if (lk->state == LK_DONE) done_unlink(c, lk);
    lk->state = LK_RESOLVING;
    c->lookups_started++;
    c->rs->pending++;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG; /* no AAAA question on a host without IPv6 */
    struct evdns_getaddrinfo_request *g =
        evdns_getaddrinfo(c->rs->base, lk->name, NULL, &hints, on_resolved, lk);
    if (lk->state != LK_RESOLVING) return; /* answered from within */
    if (g) {
        lk->greq = g;
        return;
    }
    /* evdns always calls back when it returns NULL; should it not, fail rather than wait. */
    c->rs->pending--;
    lookup_done(c, lk, EVUTIL_EAI_FAIL, NULL);
}

/* The oldest waiters whose time to resolve ran out fail; the lookup goes on. */
static void on_lookup_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lookup *lk = arg;
    hclient *c = lk->c;
    int64_t now = sg_mono_ms();
    char err[ERR_LEN];
    while (lk->whead && resolve_deadline(c, lk->whead) <= now) {
        hclient_req *r = lk->whead;
        waiter_unlink(lk, r);
        snprintf(err, sizeof err, "Resolving host %s timed out after %lld ms.", lk->name,
                 (long long)(now - r->start_ms));
        report_later(c, r, SG_ETEMP, err, NULL);
    }
    if (lk->whead) arm_event(lk->timer, resolve_deadline(c, lk->whead) - now);
}

/* A connection to d could not be opened: the next address of its name is used from now on.
 * (libcurl would try it within the same attempt; here the next attempt does.) */
static void lookup_demote(hclient *c, const dest *d) {
    lookup *lk = lookup_find(c, d->host, d->name_len);
    if (!lk || lk->state != LK_DONE || lk->naddrs < 2) return;
    const addr *a = &lk->addrs[lk->pick];
    int same;
    if (a->sa.sa_family != d->addr.ss_family)
        same = 0;
    else if (a->sa.sa_family == AF_INET6)
        same = !memcmp(&a->in6.sin6_addr, &((const struct sockaddr_in6 *)&d->addr)->sin6_addr,
                       sizeof a->in6.sin6_addr);
    else
        same = a->in.sin_addr.s_addr == ((const struct sockaddr_in *)&d->addr)->sin_addr.s_addr;
    if (same) lk->pick = (lk->pick + 1) % lk->naddrs;
}

/* ---- the client ---- */

hclient *hclient_new(struct event_base *base, const hclient_options *opt) {
    hclient *c = sg_xcalloc(1, sizeof *c);
    c->base = base;
    c->opt = *opt;
    if (c->opt.timeout_ms <= 0) c->opt.timeout_ms = 10000;
    if (c->opt.connect_timeout_ms <= 0)
        c->opt.connect_timeout_ms = c->opt.timeout_ms < 10000 ? c->opt.timeout_ms : 10000;
    if (c->opt.idle_per_dest <= 0) c->opt.idle_per_dest = 8;
    if (c->opt.idle_max <= 0) c->opt.idle_max = 256;
    if (c->opt.idle_ms <= 0) c->opt.idle_ms = 30000;
    if (!c->opt.max_head) c->opt.max_head = 16384;
    if (c->opt.dns_ttl_ms <= 0) c->opt.dns_ttl_ms = 30000;
    if (c->opt.dns_fail_ms <= 0) c->opt.dns_fail_ms = 5000;
    if (c->opt.dns_max <= 0) c->opt.dns_max = 1024;
    c->report_ev = event_new(base, -1, 0, on_reports, c);
    if (c->opt.resolve) c->rs = resolver_new(c);
    c->opt.resolv_conf = c->opt.hosts_file = NULL; /* borrowed: not kept */
    return c;
}

void hclient_free(hclient *c) {
    if (!c) return;
    while (c->busy) {
        conn *cn = c->busy;
        hclient_req *r = cn->req;
        conn_close(cn);
        free(r);
    }
    while (c->idle) conn_close(c->idle);
    while (c->rhead) {
        hclient_req *r = c->rhead;
        report_unlink(c, r);
        free(r->fail_error);
        free(r->fail_refused);
        free(r);
    }
    for (size_t b = 0; b < LOOKUP_BUCKETS; b++) {
        while (c->lookups[b]) {
            lookup *lk = c->lookups[b];
            c->lookups[b] = lk->next;
            while (lk->whead) {
                hclient_req *r = lk->whead;
                waiter_unlink(lk, r);
                free(r);
            }
            event_free(lk->timer);
            free(lk->addrs);
            if (lk->state == LK_RESOLVING) {
                /* evdns calls back from the loop with EVUTIL_EAI_CANCEL; on_resolved() then
                 * frees lk, and the resolver after the last one. */
                lk->c = NULL;
                lk->addrs = NULL;
                if (lk->greq) evdns_getaddrinfo_cancel(lk->greq);
            } else {
                free(lk);
            }
        }
    }
    if (c->rs) {
        c->rs->closing = 1;
        if (!c->rs->pending) resolver_free(c->rs);
    }
    event_free(c->report_ev);
    free(c);
}

int hclient_get(hclient *c, const hclient_target *t, const char *headers, hclient_done_cb cb,
                void *arg, hclient_req **out) {
    static const char get[] = "GET ", ver[] = " HTTP/1.1\r\nHost: ";
    if (t->name && !c->rs) return SG_EINVAL;
    size_t hl = strlen(headers);
    int slash = t->path_len == 0 || t->path[0] != '/';
    size_t len = (sizeof get - 1) + (size_t)slash + t->path_len + (sizeof ver - 1) +
                 t->host_len + 2 + hl + 2;
    hclient_req *r = sg_xmalloc(sizeof *r + len + 1);
    memset(r, 0, sizeof *r);
    char *p = r->text;
    memcpy(p, get, sizeof get - 1);
    p += sizeof get - 1;
    if (slash) *p++ = '/';
    memcpy(p, t->path, t->path_len);
    p += t->path_len;
    memcpy(p, ver, sizeof ver - 1);
    p += sizeof ver - 1;
    r->host_off = (size_t)(p - r->text);
    r->host_len = t->host_len;
    memcpy(p, t->host, t->host_len);
    p += t->host_len;
    memcpy(p, "\r\n", 2);
    p += 2;
    memcpy(p, headers, hl);
    p += hl;
    memcpy(p, "\r\n", 3);
    r->len = len;
    r->c = c;
    r->cb = cb;
    r->arg = arg;
    r->port = t->port;
    r->start_ms = sg_mono_ms();
    r->connect_from_ms = r->start_ms;
    r->deadline_ms = r->start_ms + c->opt.timeout_ms;
    *out = r;
    if (!t->name) {
        send_to(c, r, &t->addr, t->addrlen);
        return 0;
    }
    r->name_len = t->name_len;
    lookup *lk = lookup_get(c, t->name, t->name_len);
    if (lk->state == LK_DONE && r->start_ms < lk->expires_ms) {
        c->cached++;
        lookup_use(c, lk, r);
        return 0;
    }
    waiter_add(c, lk, r);
    if (lk->state != LK_RESOLVING) lookup_start(c, lk);
    return 0;
}

void hclient_cancel(hclient_req *r) {
    if (!r) return;
    if (r->wait == REQ_RESOLVING) {
        waiter_unlink(r->lk, r); /* the lookup goes on: its answer fills the cache */
    } else if (r->wait == REQ_REPORTING) {
        report_unlink(r->c, r);
        free(r->fail_error);
        free(r->fail_refused);
    } else if (r->cn) {
        conn_close(r->cn);
    }
    free(r);
}

void hclient_get_stats(const hclient *c, hclient_stats *s) {
    s->connects = c->connects;
    s->reuses = c->reuses;
    s->retries = c->retries;
    s->lookups = c->lookups_started;
    s->cached = c->cached;
    s->idle = c->nidle;
    s->busy = c->nbusy;
    s->names = c->nnames;
    s->resolves = c->rs != NULL;
}
