/*
 * server.c - the HTTP(S) front: evhttp listeners, one http_req per request, and the only code
 * that writes responses (JSON, raw, and the OVH error body).
 *
 * Design. Each listener, plain or TLS, is its own struct evhttp with one bound socket, so the
 * generic callback learns from its argument whether a request came over TLS; every evhttp gets
 * the same limits and dispatches to the same handler. evhttp does the HTTP/1.1 work: parsing
 * (after the stricter checks of "Connections" below; what it still refuses itself, a request
 * line it cannot parse or an unknown method, it answers as HTML: libevent 2.1 has no hook to
 * change that), "100 Continue", keep-alive and HEAD (finish() leaves out the body of a HEAD
 * reply, which evhttp 2.1 would send). For each complete request on_request() copies what a
 * handler may need (target, decoded path and query, headers, body, peer) into an http_req, so
 * a handler never touches libevent memory and an http_req outlives its connection safely.
 * Replies go through finish(), which sends, logs, counts and frees.
 *
 * Life of one request (struct http__req, the private side of an http_req):
 *
 *     on_request() --> PENDING --finish()--> freed (reply sent)
 *                        |
 *                        | on_conn_close() (connection freed) or http_server_free()
 *                        v
 *                     ORPHANED --finish()--> freed (reply logged and counted, not sent)
 *
 *   PENDING:  ereq and evcon set; x->conn (when set) has req == x.
 *   ORPHANED: ereq == NULL; detach_ereq() performed the transition.
 *
 * Invariants:
 * 1. x->ereq != NULL exactly while the evhttp_request is alive and still ours to answer.
 * 2. The close callback of every adopted connection is (on_conn_close, conn), for its whole
 *    life; conn->req is the request waiting for its reply, and finish() clears it before
 *    sending, so the callback can never see a freed request.
 * 3. An http__req is in its server's pending list from on_request() to finish(); when the
 *    server is freed first, x->srv becomes NULL. http_server_inflight() is the list's length.
 * 4. Only finish() frees an http__req, and it runs exactly once per request (the contract:
 *    exactly one http_reply_*() call).
 *
 * Connections (struct http_conn). evhttp has no connection limit, no deadline for a request's
 * head (its timeout restarts at every byte) and a lenient parser, so each connection gets a
 * watcher: an evbuffer callback on its bufferevent's input, which runs whenever bytes arrive
 * and before evhttp's read callback sees them. The watcher keeps a request's head (and a chunked
 * body) away from evhttp, in conn->hold, until it is complete; then checks it
 * (http__head_check, http__chunked_feed) and either hands it back, or hands evhttp a stand-in
 * request (HTTP_SYNTH_REQUEST) that on_request() answers with the refusal, 400 or 408, before
 * the connection closes. Everything answered therefore goes through http_reply_error().
 *
 *     on_new_conn() --adopt_all()--> IDLE --first byte--> HEAD --head checked--> BODY
 *                                     ^                     |  \--chunked--> CHUNKED --end--/
 *                                     |                     |                  |
 *                                     |          refused or too slow (408)     |
 *                                     |                     v                  v
 *                                     |                   REJECT --on_request()--> close
 *                                     |
 *                               on_reply_done() <--finish()-- HANDLER <--on_request()-- BODY
 *
 *   IDLE: no byte of a request yet; in the idle list (eviction, oldest first).
 *   HEAD, CHUNKED: bytes held in conn->hold. BODY: evhttp reads the body itself.
 *   HANDLER: the request waits for its reply, no deadline. Closing (on_conn_close) may happen
 *   in any state; on_sweep() closes or rejects those past their deadline.
 * 5. A connection is counted in nconns from on_new_conn() to on_conn_close(), and is in the
 *    hash (by evcon) and the conns list from adopt_all() to on_conn_close(). adopt_all() runs
 *    from an event activated in on_new_conn(), so before any read on the new connection.
 * 6. Listeners accept exactly when paused == 0 and the server is not draining (apply_pause).
 *    P_LIMIT is cleared by a close, P_FD by a close or its timer, P_BURST by the next loop pass.
 * 7. The input buffer of a socket bufferevent is frozen at its end outside reads: bytes are
 *    given back to it with evbuffer_prepend*, never added.
 *
 * What libevent 2.1.12 does around those states (read from its http.c; test_http.c checks it):
 * - When a request is complete, evhttp stops reading the connection until the reply has been
 *   written. A client that disconnects while the handler works is therefore noticed only
 *   when the reply is written (the write fails, or the next read sees EOF) and evhttp then
 *   frees the connection itself; the evhttp_request stays valid until our reply. The
 *   connection timeout does not run during that time either, so slow handlers are not cut off.
 * - evhttp frees a connection that still holds an unanswered request in evhttp_free() and
 *   after EOF or a timeout in evhttp_connection_fail_(). In the second case it first unlinks
 *   the request (evhttp_request_get_connection() becomes NULL) and leaves it to whoever
 *   answers it; in the first it frees the request with the connection. The close callback
 *   runs before either; on_conn_close() frees an unlinked request itself and forgets a linked
 *   one. 2.1.12 reaches the EOF path only for connections it reads (see
 *   http__req_watch_close, a test hook); http_server_free() orphans its pending requests
 *   itself before it calls evhttp_free().
 * - "Expect: 100-continue" (curl sends it for large bodies): evhttp writes "100 Continue" as
 *   soon as the headers are in (a Content-Length over max_body was refused before). For a
 *   chunked body, whose head is held until the body has ended, no "100 Continue" is sent:
 *   clients send the body after their own wait (curl: 1 s).
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "http/http_int.h"
#include "util/log.h"
#include "util/jsonfmt.h"
#include "util/util.h"

#define SUB "http"
#define HTTP_DEFAULT_MAX_BODY (16u * 1024 * 1024)
#define HTTP_DEFAULT_MAX_HEADERS (64u * 1024)
#define HTTP_DEFAULT_TIMEOUT_S 60
#define HTTP_DEFAULT_MAX_CONNECTIONS 1024
#define HTTP_DEFAULT_HEADER_TIMEOUT_S 10
#define HTTP_DEFAULT_KEEPALIVE_TIMEOUT_S 60
#define HTTP_DEFAULT_BODY_MIN_RATE 1024
#define HTTP_SWEEP_MS 500         /* deadlines are checked this often */
#define HTTP_ACCEPT_BURST 64      /* accepts in a row before letting the loop read them */
#define HTTP_FD_RETRY_MS 250      /* pause after accept() ran out of descriptors */
#define HTTP_EVICT_LOOK 16        /* idle connections looked at for one eviction */
#define HTTP_EVICT_RETRY_MS 20    /* pause when every idle connection looked at had bytes */
/* What evhttp is given instead of a head we refuse: a request it parses and hands to
 * on_request(), which answers it with the refusal and closes the connection. */
#define HTTP_SYNTH_REQUEST "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
#define HTTP_BACKLOG 511
#define HTTP_JSON_TYPE "application/json; charset=utf-8"
#define HTTP_METHODS                                                                     \
    (EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |            \
     EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH)

typedef struct http_listener {
    http_server *srv;
    struct http_listener *gnext;       /* g_listeners */
    struct evhttp *eh;
    struct evhttp_bound_socket *bound; /* NULL once the server stopped accepting */
    SSL_CTX *ssl_ctx;                  /* NULL for plain HTTP */
    int port;
    char addr[96];                     /* as configured, for logs */
} http_listener;

typedef struct http_conn http_conn;

typedef struct http__req {
    http_req pub;                      /* pub.priv points back here */
    http_server *srv;                  /* NULL once the server was freed */
    struct evhttp_request *ereq;       /* NULL once orphaned (invariant 1) */
    struct evhttp_connection *evcon;
    http_conn *conn;                   /* NULL once orphaned or answered */
    struct http__req *prev, *next;     /* server's pending list */
    http_param *headers;               /* copied request headers */
    int nheaders;
} http__req;

/* One accepted connection (see "Connections" below for its states). */
typedef enum { C_IDLE, C_HEAD, C_CHUNKED, C_BODY, C_HANDLER, C_REJECT } conn_state;

struct http_conn {
    http_server *srv;
    http_listener *l;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;  /* set by adopt() */
    struct evbuffer_cb_entry *watch;  /* on_input() on the bufferevent's input */
    struct evbuffer *hold;            /* C_HEAD, C_CHUNKED: what evhttp must not see yet */
    http__chunked ck;                 /* C_CHUNKED: the body's framing so far */
    http__req *req;                   /* C_HANDLER: the request waiting for its reply */
    conn_state st;
    int served;                       /* replies sent on it */
    int in_watch;                     /* on_input() re-entrance guard */
    int64_t since_ms;                 /* start of the current state's deadline */
    uint64_t body_bytes;              /* C_CHUNKED, C_BODY: bytes received since the head */
    size_t scanned, line_len;         /* C_HEAD, C_CHUNKED: bytes of hold already scanned */
    int reject_status;                /* C_REJECT: the answer, and why */
    const char *reject_why;
    char reject_method[16], reject_target[120];
    http_conn *prev, *next;           /* srv->conns: every adopted connection */
    http_conn *iprev, *inext;         /* srv->idle_head..idle_tail: C_IDLE, oldest first */
    http_conn *hnext;                 /* srv->hash bucket (key: evcon) */
    http_conn *anext;                 /* srv->adopt queue */
};

/* Why the listeners are not accepting (bits of http_server.paused). */
enum { P_LIMIT = 1, P_FD = 2, P_BURST = 4 };

struct http_server {
    struct event_base *base;
    http_limits limits;
    http_handler_cb handler;
    void *arg;
    http_listener **lst;
    int nlst;
    http__req *pending;
    int inflight;
    int draining; /* stop_accepting was called: new requests get 503 + Connection: close */
    /* connections */
    int nconns;              /* accepted and not closed (adopted or not) */
    http_conn *conns, *idle_head, *idle_tail, *adopt;
    http_conn **hash;
    size_t hash_mask;
    struct event *adopt_ev, *sweep_ev, *burst_ev, *fd_ev;
    int paused, accepting, burst;
    uint64_t evicted, timed_out;
    sg_log_limit lim_accept, lim_limit, lim_evict;
};

static uint64_t g_errors[600];
static uint64_t g_next_id;
static http_listener *g_listeners; /* every listener of every server (accept error callback) */

/* ---- status lines and error classes ---------------------------------------------------- */

static const char *reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 460: return "Resource Expired"; /* OVH-specific; python-ovh: ResourceExpiredError */
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: break;
    }
    if (status >= 500) return "Server Error";
    if (status >= 400) return "Client Error";
    if (status >= 300) return "Redirection";
    if (status >= 200) return "Success";
    return "Informational";
}

/* "Client::" + the reason phrase without spaces ("Client::NotFound", "Client::ResourceExpired");
 * every 5xx is "Server::InternalServerError", as the contract in http.h says. */
static void error_class(int status, char *out, size_t n) {
    if (status >= 500) {
        snprintf(out, n, "Server::InternalServerError");
        return;
    }
    size_t k = (size_t)snprintf(out, n, "Client::");
    for (const char *p = reason(status); *p && k + 1 < n; p++)
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            out[k++] = *p;
    out[k] = '\0';
}

uint64_t http_error_count(int status) {
    return status >= 0 && status < 600 ? g_errors[status] : 0;
}

/* ---- request-target parsing ----------------------------------------------------------- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX (and '+' as space when plus_is_space) from s[0..len) into a new string; an
 * invalid %-sequence stays literal. *out_len gets the decoded length, which is less than
 * strlen() of the result exactly when it contains a NUL byte. */
static char *pct_decode(const char *s, size_t len, int plus_is_space, size_t *out_len) {
    char *out = sg_xmalloc(len + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out[j++] = ' ';
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    *out_len = j;
    return out;
}

static int parse_path(http_req *r, const char *p, size_t len, const char **why) {
    const char *end = p + len;
    int cap = 1;
    for (const char *q = p; q < end; q++)
        if (*q == '/') cap++;
    r->segs = sg_xcalloc((size_t)cap, sizeof *r->segs);
    r->nsegs = 0;
    r->has_base = 0;
    int first = 1;
    size_t total = 1;
    while (p < end) {
        if (*p == '/') { /* empty segments collapse, trailing slashes included */
            p++;
            continue;
        }
        const char *e = memchr(p, '/', (size_t)(end - p));
        if (!e) e = end;
        size_t raw = (size_t)(e - p);
        if (first && ((raw == 3 && !memcmp(p, "1.0", 3)) || (raw == 2 && !memcmp(p, "v1", 2)))) {
            r->has_base = 1; /* the base path, followed by '/' or the end */
            first = 0;
            p = e;
            continue;
        }
        first = 0;
        size_t dlen;
        char *seg = pct_decode(p, raw, 0, &dlen);
        if (dlen != strlen(seg) || memchr(seg, '/', dlen)) {
            free(seg);
            *why = "A path segment decodes to a NUL byte or a '/'.";
            return SG_EINVAL;
        }
        if (!strcmp(seg, ".") || !strcmp(seg, "..")) {
            free(seg);
            *why = "Dot segments ('.', '..') are not allowed in the path.";
            return SG_EINVAL;
        }
        r->segs[r->nsegs++] = seg;
        total += dlen + 1;
        p = e;
    }
    r->path = sg_xmalloc(total + 1);
    size_t k = 0;
    for (int i = 0; i < r->nsegs; i++) {
        size_t n = strlen(r->segs[i]);
        r->path[k++] = '/';
        memcpy(r->path + k, r->segs[i], n);
        k += n;
    }
    if (k == 0) r->path[k++] = '/';
    r->path[k] = '\0';
    return 0;
}

static int parse_query(http_req *r, const char *q, size_t len, const char **why) {
    const char *end = q + len;
    int cap = 1;
    for (const char *p = q; p < end; p++)
        if (*p == '&') cap++;
    r->params = sg_xcalloc((size_t)cap, sizeof *r->params);
    r->nparams = 0;
    while (q < end) {
        const char *e = memchr(q, '&', (size_t)(end - q));
        if (!e) e = end;
        if (e > q) {
            const char *eq = memchr(q, '=', (size_t)(e - q));
            const char *kend = eq ? eq : e;
            size_t klen, vlen;
            char *key = pct_decode(q, (size_t)(kend - q), 1, &klen);
            char *val = eq ? pct_decode(eq + 1, (size_t)(e - eq - 1), 1, &vlen)
                           : pct_decode("", 0, 1, &vlen);
            r->params[r->nparams].key = key;
            r->params[r->nparams].val = val;
            r->nparams++;
            if (klen != strlen(key) || vlen != strlen(val)) {
                *why = "A query parameter decodes to a NUL byte.";
                return SG_EINVAL;
            }
        }
        q = e + (e < end);
    }
    return 0;
}

int http_req_form(http_req *r) {
    if (r->body_len == 0) return 0;
    http_req tmp = {0};
    const char *why = NULL;
    int rc = parse_query(&tmp, (const char *)r->body, r->body_len, &why);
    if (tmp.nparams > 0) {
        r->params = sg_xrealloc(r->params, (size_t)(r->nparams + tmp.nparams) * sizeof *r->params);
        memcpy(r->params + r->nparams, tmp.params, (size_t)tmp.nparams * sizeof *tmp.params);
        r->nparams += tmp.nparams;
    }
    free(tmp.params);
    return rc;
}

int http__parse_target(http_req *r, const char **why) {
    const char *t = r->target ? r->target : "";
    if (t[0] != '/') {
        /* Absolute form (RFC 9112 3.2.2): skip "scheme://authority". */
        const char *s = strstr(t, "://");
        if (!s || (strncasecmp(t, "http://", 7) && strncasecmp(t, "https://", 8))) {
            *why = "The request target must be a path starting with '/'.";
            return SG_EINVAL;
        }
        t = s + 3 + strcspn(s + 3, "/?#");
    }
    size_t plen = strcspn(t, "?#");
    int rc = parse_path(r, t, plen, why);
    if (rc) return rc;
    const char *q = t + plen;
    if (*q == '?') {
        q++;
        return parse_query(r, q, strcspn(q, "#"), why);
    }
    return parse_query(r, q, 0, why);
}

/* ---- request-head framing (RFC 9112) ---------------------------------------------------- */

static int is_tchar(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ctl(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

/* Trims optional whitespace (SP, HTAB) from both ends of [*b, *e). */
static void trim_ows(const char **b, const char **e) {
    while (*b < *e && (**b == ' ' || **b == '\t')) (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
}

static int name_is(const char *p, size_t n, const char *name) {
    return strlen(name) == n && !strncasecmp(p, name, n);
}

int http__head_check(const char *p, size_t n, int *chunked, uint64_t *length, const char **why) {
    const char *end = p + n;
    *chunked = 0;
    *length = 0;
    int line = 0, ncl = 0, nte = 0, http10 = 0, ended = 0, bodiless = 0;
    const char *te = NULL, *te_end = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            *why = "The request head does not end with an empty line.";
            return 400;
        }
        if (nl == p || nl[-1] != '\r') {
            *why = "A line of the request head ends with a bare LF instead of CRLF.";
            return 400;
        }
        const char *le = nl - 1;
        if (memchr(p, '\r', (size_t)(le - p))) {
            *why = "The request head contains a CR byte that does not end a line.";
            return 400;
        }
        if (le == p) { /* the empty line: the head ends here */
            ended = 1;
            break;
        }
        if (line == 0) {
            for (const char *q = p; q < le; q++)
                if (is_ctl((unsigned char)*q)) {
                    *why = "The request line contains a control character.";
                    return 400;
                }
            /* The version exactly as RFC 9112 writes it: evhttp's sscanf("HTTP/%d.%d") would
             * also take "HTTP/1.00" or "HTTP/01.0", and read them as 1.0 behind our back. */
            if (le - p >= 9 && !memcmp(le - 9, " HTTP/1.0", 9)) {
                http10 = 1;
            } else if (le - p < 9 || memcmp(le - 9, " HTTP/1.1", 9)) {
                *why = "The request line must end with ' HTTP/1.1' or ' HTTP/1.0'.";
                return 400;
            }
            /* evhttp reads no body for HEAD and TRACE whatever the head says, so a body
             * declared there would be parsed as the next request: refused below. */
            bodiless = (le - p >= 5 && !memcmp(p, "HEAD ", 5)) ||
                       (le - p >= 6 && !memcmp(p, "TRACE ", 6));
        } else {
            if (*p == ' ' || *p == '\t') {
                *why = "Header line folding (obs-fold) is not accepted.";
                return 400;
            }
            const char *colon = memchr(p, ':', (size_t)(le - p));
            if (!colon || colon == p) {
                *why = "A header line has no name followed by ':'.";
                return 400;
            }
            for (const char *q = p; q < colon; q++) {
                if (is_tchar((unsigned char)*q)) continue;
                *why = (*q == ' ' || *q == '\t')
                           ? "Whitespace between a header name and the colon is not accepted."
                           : "A header name contains a character outside of a token.";
                return 400;
            }
            const char *v = colon + 1, *ve = le;
            for (const char *q = v; q < ve; q++)
                if (is_ctl((unsigned char)*q) && *q != '\t') {
                    *why = "A header value contains a control character (NUL, a byte below 0x20 "
                           "other than HTAB, or DEL).";
                    return 400;
                }
            trim_ows(&v, &ve);
            size_t nlen = (size_t)(colon - p);
            if (name_is(p, nlen, "Content-Length")) {
                if (++ncl > 1) {
                    *why = "The request has more than one Content-Length header.";
                    return 400;
                }
                if (v == ve || ve - v > 18) {
                    *why = "Content-Length must be a decimal number of at most 18 digits.";
                    return 400;
                }
                for (const char *q = v; q < ve; q++) {
                    if (*q < '0' || *q > '9') {
                        *why = "Content-Length must be a decimal number of at most 18 digits.";
                        return 400;
                    }
                    *length = *length * 10 + (uint64_t)(*q - '0');
                }
            } else if (name_is(p, nlen, "Transfer-Encoding")) {
                nte++;
                te = v;
                te_end = ve;
            }
        }
        line++;
        p = nl + 1;
    }
    if (!ended || line == 0) {
        *why = "The request head is incomplete.";
        return 400;
    }
    if (bodiless && (nte || *length > 0)) {
        *why = "A HEAD or TRACE request may not carry a body.";
        return 400;
    }
    if (nte) {
        if (ncl) {
            *why = "A request may not have both Transfer-Encoding and Content-Length.";
            return 400;
        }
        if (nte > 1 || te_end - te != 7 || strncasecmp(te, "chunked", 7)) {
            *why = "The only Transfer-Encoding accepted is a single 'chunked'.";
            return 400;
        }
        if (http10) {
            *why = "Transfer-Encoding is not accepted in an HTTP/1.0 request.";
            return 400;
        }
        *chunked = 1;
    }
    return 0;
}

enum { K_SIZE, K_SIZE_LF, K_DATA, K_DATA_CR, K_DATA_LF, K_TRAILER, K_END_LF };

int http__chunked_feed(http__chunked *k, const unsigned char *p, size_t n, uint64_t max_body,
                       size_t *used, const char **why) {
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = p[i];
        int v;
        switch (k->state) {
        case K_SIZE:
            if ((v = hexval((char)ch)) >= 0) {
                if (++k->digits > 15) {
                    *why = "A chunk size has more than 15 hex digits.";
                    return 400;
                }
                k->size = k->size * 16 + (uint64_t)v;
            } else if (ch == '\r' && k->digits) {
                k->state = K_SIZE_LF;
            } else {
                *why = ch == ';' ? "Chunk extensions are not accepted."
                                 : "A chunk size is not made of hex digits followed by CRLF.";
                return 400;
            }
            break;
        case K_SIZE_LF:
            if (ch != '\n') {
                *why = "A chunk size is not made of hex digits followed by CRLF.";
                return 400;
            }
            if (k->size == 0) {
                k->state = K_TRAILER;
                break;
            }
            k->total += k->size;
            if (k->total > max_body) {
                *why = "The request body is larger than the server accepts.";
                return 413;
            }
            k->state = K_DATA;
            break;
        case K_DATA: {
            uint64_t take = n - i < k->size ? n - i : k->size;
            k->size -= take;
            i += (size_t)take - 1;
            if (k->size == 0) k->state = K_DATA_CR;
            break;
        }
        case K_DATA_CR:
        case K_DATA_LF:
            if (ch != (k->state == K_DATA_CR ? '\r' : '\n')) {
                *why = "The data of a chunk is not followed by CRLF.";
                return 400;
            }
            if (k->state == K_DATA_CR) {
                k->state = K_DATA_LF;
            } else {
                k->state = K_SIZE;
                k->size = 0;
                k->digits = 0;
            }
            break;
        case K_TRAILER:
            if (ch != '\r') {
                *why = "Trailer fields after a chunked body are not accepted.";
                return 400;
            }
            k->state = K_END_LF;
            break;
        case K_END_LF:
            if (ch != '\n') {
                *why = "A chunked body does not end with CRLF.";
                return 400;
            }
            *used = i + 1;
            return 1;
        }
    }
    *used = n;
    return 0;
}

void http__req_fields_free(http_req *r) {
    for (int i = 0; r->segs && i < r->nsegs; i++) free(r->segs[i]);
    for (int i = 0; r->params && i < r->nparams; i++) {
        free(r->params[i].key);
        free(r->params[i].val);
    }
    free(r->segs);
    free(r->params);
    free(r->target);
    free(r->path);
    free(r->body);
    r->segs = NULL;
    r->params = NULL;
    r->nsegs = r->nparams = 0;
    r->target = r->path = NULL;
    r->body = NULL;
    r->body_len = 0;
}

/* ---- request life ---------------------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type m) {
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "UNKNOWN";
}

static void pending_unlink(http__req *x) {
    http_server *s = x->srv;
    if (!s) return;
    if (x->prev) x->prev->next = x->next;
    else s->pending = x->next;
    if (x->next) x->next->prev = x->prev;
    x->prev = x->next = NULL;
    x->srv = NULL;
    s->inflight--;
    assert(s->inflight >= 0);
}

static void req_free(http__req *x) {
    for (int i = 0; i < x->nheaders; i++) {
        free(x->headers[i].key);
        free(x->headers[i].val);
    }
    free(x->headers);
    http__req_fields_free(&x->pub);
    free(x);
}

/* PENDING -> ORPHANED. After this, nothing of x refers to libevent. */
static void detach_ereq(http__req *x) {
    if (!x->ereq) return;
    /* Unlinked by evhttp_connection_fail_ (EOF, timeout): nobody else will free it. A request
     * still linked is freed by evhttp together with its connection. */
    if (evhttp_request_get_connection(x->ereq) == NULL) evhttp_request_free(x->ereq);
    x->ereq = NULL;
    x->evcon = NULL;
}

/* ---- connections ----------------------------------------------------------------------- */

static void on_conn_close(struct evhttp_connection *evcon, void *arg);
static void adopt_all(http_server *s);

static void conn_hash_insert(http_server *s, http_conn *c) {
    size_t b = ((uintptr_t)c->evcon >> 4) & s->hash_mask;
    c->hnext = s->hash[b];
    s->hash[b] = c;
}

static void conn_hash_remove(http_server *s, http_conn *c) {
    http_conn **pp = &s->hash[((uintptr_t)c->evcon >> 4) & s->hash_mask];
    while (*pp && *pp != c) pp = &(*pp)->hnext;
    if (*pp) *pp = c->hnext;
}

static http_conn *conn_find(http_server *s, struct evhttp_connection *evcon) {
    http_conn *c = s->hash[((uintptr_t)evcon >> 4) & s->hash_mask];
    while (c && c->evcon != evcon) c = c->hnext;
    return c;
}

static void idle_append(http_server *s, http_conn *c) {
    c->inext = NULL;
    c->iprev = s->idle_tail;
    if (s->idle_tail) s->idle_tail->inext = c;
    else s->idle_head = c;
    s->idle_tail = c;
}

static void idle_unlink(http_server *s, http_conn *c) {
    if (c->iprev) c->iprev->inext = c->inext;
    else if (s->idle_head == c) s->idle_head = c->inext;
    else return; /* not in the list */
    if (c->inext) c->inext->iprev = c->iprev;
    else s->idle_tail = c->iprev;
    c->iprev = c->inext = NULL;
}

/* Enables or disables every listener so that they accept exactly when nothing pauses them. */
static void apply_pause(http_server *s) {
    int want = !s->paused && !s->draining;
    if (want == s->accepting) return;
    s->accepting = want;
    for (int i = 0; i < s->nlst; i++) {
        http_listener *l = s->lst[i];
        if (!l->bound) continue;
        struct evconnlistener *el = evhttp_bound_socket_get_listener(l->bound);
        if (want) evconnlistener_enable(el);
        else evconnlistener_disable(el);
    }
}

static void pause_set(http_server *s, int bits) {
    s->paused |= bits;
    apply_pause(s);
}

static void pause_clear(http_server *s, int bits) {
    s->paused &= ~bits;
    apply_pause(s);
}

/* Closes the connection that has been idle longest (no byte of a request received), to make
 * room for a new one. A connection with bytes waiting in its socket is spared: it was accepted
 * in this very loop pass, or its request arrived since, and the loop has not read it yet; up
 * to HTTP_EVICT_LOOK of the oldest are looked at (one ioctl each, only at the limit).
 * Returns 1 when one was closed, 0 when no connection is idle, -1 when the idle ones looked at
 * all have bytes waiting. */
static int evict_idle(http_server *s) {
    if (s->adopt) adopt_all(s); /* accepted earlier in this pass: set up by evhttp by now */
    http_conn *c = s->idle_head;
    if (!c) return 0;
    for (int looked = 0; c && looked < HTTP_EVICT_LOOK; c = c->inext, looked++) {
        int waiting = 0;
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        if (fd >= 0 && ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0) continue;
        s->evicted++;
        sg_log_limited(&s->lim_evict, SG_LOG_WARN, SUB,
                       "%d connections open (max-connections %d): closing idle connections, "
                       "oldest first, to accept new ones (%llu so far).",
                       s->nconns, s->limits.max_connections, (unsigned long long)s->evicted);
        evhttp_connection_free(c->evcon); /* on_conn_close() frees c */
        return 1;
    }
    return -1;
}

/* Stops accepting for ms (or until a connection closes). */
static void pause_for(http_server *s, int ms) {
    pause_set(s, P_FD);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(s->fd_ev, &tv);
}

/* Refuses the head being received on c: what evhttp is given instead is HTTP_SYNTH_REQUEST, so
 * that on_request() answers status with why, then the connection closes. Everything the client
 * sent after the head (its body, pipelined requests) is thrown away. */
static void reject(http_conn *c, struct evbuffer *in, int status, const char *why) {
    /* Keep the method and target for the log line, when they can be read. */
    char line[160];
    size_t k = 0, n = evbuffer_get_length(c->hold);
    if (n) {
        ev_ssize_t got = evbuffer_copyout(c->hold, line, sizeof line - 1);
        k = got > 0 ? (size_t)got : 0;
    }
    line[k] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    for (char *q = line; *q; q++)
        if (is_ctl((unsigned char)*q) || (unsigned char)*q >= 0x80) *q = '?';
    char *sp = strchr(line, ' ');
    if (sp) *sp = '\0';
    snprintf(c->reject_method, sizeof c->reject_method, "%.15s", line[0] ? line : "-");
    if (sp) {
        char *t = sp + 1, *e = strchr(t, ' ');
        if (e) *e = '\0';
        snprintf(c->reject_target, sizeof c->reject_target, "%.119s", t);
    } else {
        snprintf(c->reject_target, sizeof c->reject_target, "-");
    }
    evbuffer_drain(c->hold, n);
    c->st = C_REJECT;
    c->reject_status = status;
    c->reject_why = why;
    c->in_watch++;
    evbuffer_drain(in, evbuffer_get_length(in));
    /* prepend, not add: a socket bufferevent freezes the end of its input outside its reads. */
    evbuffer_prepend(in, HTTP_SYNTH_REQUEST, sizeof HTTP_SYNTH_REQUEST - 1);
    c->in_watch--;
}

/* The contiguous bytes of buf from offset off on, without copying; 0 when there are none. */
static int peek_at(struct evbuffer *buf, size_t off, struct evbuffer_iovec *v) {
    struct evbuffer_ptr ptr;
    return evbuffer_ptr_set(buf, &ptr, off, EVBUFFER_PTR_SET) == 0 &&
           evbuffer_peek(buf, -1, &ptr, v, 1) >= 1 && v->iov_len > 0;
}

/* Scans hold from c->scanned for the empty line that ends a head. Returns the head's length
 * including that line, or 0 when it has not arrived yet. Each byte is looked at once. */
static size_t scan_head(http_conn *c) {
    size_t len = evbuffer_get_length(c->hold);
    while (c->scanned < len) {
        struct evbuffer_iovec v;
        if (!peek_at(c->hold, c->scanned, &v)) break;
        const unsigned char *b = v.iov_base;
        for (size_t i = 0; i < v.iov_len; i++) {
            if (b[i] == '\n') {
                if (c->line_len == 0) {
                    c->scanned += i + 1;
                    return c->scanned;
                }
                c->line_len = 0;
            } else if (b[i] != '\r') {
                c->line_len++;
            }
        }
        c->scanned += v.iov_len;
    }
    return 0;
}

/* C_CHUNKED: the head is checked and held; moves new bytes into hold too and checks the
 * chunked framing from c->scanned. Once the body has ended, evhttp gets the head, the body and
 * whatever followed (a pipelined request stays unread in the input until on_reply_done()). */
static void take_chunked(http_conn *c, struct evbuffer *in) {
    http_server *s = c->srv;
    c->in_watch++;
    evbuffer_add_buffer(c->hold, in);
    c->in_watch--;
    size_t len = evbuffer_get_length(c->hold);
    /* Data is counted against max_body by the parser; this bounds the framing around it (a
     * body of one-byte chunks is seven times its data). */
    if (len > s->limits.max_headers + 2 * s->limits.max_body) {
        reject(c, in, 413, "The request body is larger than the server accepts.");
        return;
    }
    while (c->scanned < len) {
        struct evbuffer_iovec v;
        if (!peek_at(c->hold, c->scanned, &v)) break;
        size_t used = 0;
        const char *why = NULL;
        int rc = http__chunked_feed(&c->ck, v.iov_base, v.iov_len, s->limits.max_body, &used, &why);
        c->scanned += used;
        if (rc == 0) continue;
        if (rc != 1) {
            reject(c, in, rc, why);
            return;
        }
        c->st = C_BODY;
        c->in_watch++;
        evbuffer_prepend_buffer(in, c->hold); /* in is empty: moved to hold above */
        c->in_watch--;
        return;
    }
}

/* C_IDLE or C_HEAD, with new bytes in the bufferevent's input in: moves them into hold until
 * the head is complete, then checks it and gives it (and what follows) back to evhttp, or
 * refuses it. Runs before evhttp's read callback sees the bytes. */
static void take_head(http_conn *c, struct evbuffer *in) {
    http_server *s = c->srv;
    c->in_watch++;
    if (c->st == C_IDLE) {
        idle_unlink(s, c);
        c->st = C_HEAD;
        /* The head deadline runs from the accept for a connection's first request, from the
         * first byte for the next ones (nginx: client_header_timeout, keepalive_timeout). */
        if (c->served) c->since_ms = sg_mono_ms();
        c->scanned = c->line_len = 0;
    }
    evbuffer_add_buffer(c->hold, in);
    if (c->scanned == 0) {
        /* RFC 9112 2.2: empty lines before a request line are ignored. */
        unsigned char two[2];
        ev_ssize_t got;
        while ((got = evbuffer_copyout(c->hold, two, 2)) > 0) {
            if (two[0] == '\n') evbuffer_drain(c->hold, 1);
            else if (got == 2 && two[0] == '\r' && two[1] == '\n') evbuffer_drain(c->hold, 2);
            else break;
        }
        if (got == 1 && two[0] == '\r') { /* maybe the first half of one more empty line */
            c->in_watch--;
            return;
        }
    }
    size_t end = scan_head(c);
    c->in_watch--;
    if (end > s->limits.max_headers) {
        reject(c, in, 431, "The request head is longer than the server accepts.");
        return;
    }
    if (!end) {
        if (evbuffer_get_length(c->hold) > s->limits.max_headers)
            reject(c, in, 431, "The request head is longer than the server accepts.");
        return;
    }
    const char *why = NULL;
    const char *head = (const char *)evbuffer_pullup(c->hold, (ev_ssize_t)end);
    int chunked = 0;
    uint64_t length = 0;
    int status = http__head_check(head, end, &chunked, &length, &why);
    if (!status && length > s->limits.max_body) {
        /* Before evhttp would answer it with its own HTML page. */
        status = 413;
        why = "The request body is larger than the server accepts.";
    }
    if (status) {
        reject(c, in, status, why);
        return;
    }
    c->since_ms = sg_mono_ms();
    c->body_bytes = evbuffer_get_length(c->hold) - end;
    if (chunked) {
        c->st = C_CHUNKED;
        memset(&c->ck, 0, sizeof c->ck);
        take_chunked(c, in);
        return;
    }
    c->st = C_BODY;
    c->in_watch++;
    evbuffer_prepend_buffer(in, c->hold); /* in is empty: take_head() moved it all to hold */
    c->in_watch--;
}

/* evbuffer callback on a connection's input: runs each time bytes are added (read from the
 * socket or decrypted), before evhttp's read callback. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg) {
    http_conn *c = arg;
    if (c->in_watch || info->n_added == 0) return;
    switch (c->st) {
    case C_BODY: c->body_bytes += info->n_added; return;
    case C_IDLE:
    case C_HEAD: take_head(c, in); return;
    case C_CHUNKED:
        c->body_bytes += info->n_added;
        take_chunked(c, in);
        return;
    case C_HANDLER:
    case C_REJECT: return;
    }
}

static void sweep_start(http_server *s) {
    if (evtimer_pending(s->sweep_ev, NULL)) return;
    struct timeval tv = {0, HTTP_SWEEP_MS * 1000};
    evtimer_add(s->sweep_ev, &tv);
}

/* Deferred from on_new_conn(): by now evhttp has made the connection object of each new
 * bufferevent (it is the bufferevent's callback argument), and none of them has run a callback
 * yet: this event was queued before any of their reads. */
static void adopt_all(http_server *s) {
    http_conn *c;
    while ((c = s->adopt)) {
        s->adopt = c->anext;
        c->anext = NULL;
        void *evcon = NULL;
        bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
        assert(evcon);
        c->evcon = evcon;
        evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
        c->hold = evbuffer_new();
        if (!c->hold) {
            sg_log_error(SUB, "evbuffer_new failed (out of memory); aborting.");
            abort();
        }
        c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
        conn_hash_insert(s, c);
        c->next = s->conns;
        if (s->conns) s->conns->prev = c;
        s->conns = c;
        c->st = C_IDLE;
        c->since_ms = sg_mono_ms();
        idle_append(s, c);
    }
    sweep_start(s);
}

static void on_adopt(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    adopt_all(arg);
}

/* evhttp_set_bevcb() callback: evhttp accepted a connection on listener arg and asks for its
 * bufferevent. Counts it and applies the connection limit. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg) {
    http_listener *l = arg;
    http_server *s = l->srv;
    struct bufferevent *bev = l->ssl_ctx ? http__tls_bev_new(base, l->ssl_ctx)
                                         : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        sg_log_error(SUB, "bufferevent_socket_new failed (out of memory); aborting.");
        abort();
    }
    s->nconns++;
    if (s->nconns >= s->limits.max_connections) {
        int r = evict_idle(s);
        if (r < 0) {
            pause_for(s, HTTP_EVICT_RETRY_MS);
        } else if (r == 0) {
            pause_set(s, P_LIMIT);
            sg_log_limited(&s->lim_limit, SG_LOG_WARN, SUB,
                           "%d connections open (max-connections), none idle: not accepting "
                           "until one closes; new connections wait in the listen backlog.",
                           s->nconns);
        }
    }
    if (++s->burst >= HTTP_ACCEPT_BURST) {
        /* Let the loop read what the accepted connections sent before accepting more. */
        pause_set(s, P_BURST);
        struct timeval now = {0, 0};
        evtimer_add(s->burst_ev, &now);
    }
    http_conn *c = sg_xcalloc(1, sizeof *c);
    c->srv = s;
    c->l = l;
    c->bev = bev;
    c->anext = s->adopt;
    s->adopt = c;
    event_active(s->adopt_ev, EV_TIMEOUT, 1);
    return bev;
}

static void on_burst(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    http_server *s = arg;
    s->burst = 0;
    pause_clear(s, P_BURST);
}

static void on_fd_retry(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    pause_clear(arg, P_FD);
}

/* evconnlistener error callback: accept() failed with something else than EAGAIN/EINTR.
 * Without it libevent logs each failure and retries at once, a busy loop when the process is
 * out of descriptors. Here: close an idle connection to free a descriptor if there is one,
 * otherwise stop accepting for HTTP_FD_RETRY_MS (or until a connection closes). */
static void on_accept_error(struct evconnlistener *el, void *arg) {
    int e = EVUTIL_SOCKET_ERROR();
    http_listener *l = g_listeners;
    while (l && l->eh != arg) l = l->gnext;
    (void)el;
    if (!l) return;
    http_server *s = l->srv;
    int r = (e == EMFILE || e == ENFILE) ? evict_idle(s) : 0;
    int freed = r > 0;
    if (!freed) pause_for(s, r < 0 ? HTTP_EVICT_RETRY_MS : HTTP_FD_RETRY_MS);
    sg_log_limited(&s->lim_accept, SG_LOG_WARN, SUB,
                   "Accepting a connection on '%s' failed: %s (%d connections open); %s.",
                   l->addr, strerror(e), s->nconns,
                   freed ? "closed the oldest idle connection to make room"
                         : "pausing accepts for a moment");
}

/* evhttp calls this when it frees a connection (the client closed it, a timeout, an error, an
 * eviction, or the reply to a "Connection: close" request was sent). A request still waiting
 * for its reply is orphaned. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg) {
    http_conn *c = arg;
    http_server *s = c->srv;
    (void)evcon;
    if (c->req) {
        http__req *x = c->req;
        sg_log_debug(SUB, "Request %llu '%s %.200s': the connection closed before the reply; "
                          "the reply will be dropped.",
                     (unsigned long long)x->pub.id, x->pub.method, x->pub.target);
        detach_ereq(x);
        x->conn = NULL;
        c->req = NULL;
    }
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
    evbuffer_free(c->hold);
    idle_unlink(s, c);
    conn_hash_remove(s, c);
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    free(c);
    if (s->paused & (P_LIMIT | P_FD)) {
        if (s->nconns < s->limits.max_connections) pause_clear(s, P_LIMIT | P_FD);
        else pause_clear(s, P_FD);
    }
}

/* on_complete callback of a reply: the reply is written and evhttp is about to read the
 * connection's next request (or to close it). The bytes already in the input buffer are the
 * start of that request (pipelining): they are checked now, as if they had just arrived. */
static void on_reply_done(struct evhttp_request *ereq, void *arg) {
    http_conn *c = arg;
    (void)ereq;
    c->served++;
    c->st = C_IDLE;
    c->since_ms = sg_mono_ms();
    idle_append(c->srv, c);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(in)) take_head(c, in);
}

/* Every HTTP_SWEEP_MS while connections are open: closes those past their deadline. */
static void on_sweep(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    http_server *s = arg;
    int64_t now = sg_mono_ms();
    int64_t header_ms = (int64_t)s->limits.header_timeout_s * 1000;
    int64_t keep_ms = (int64_t)s->limits.keepalive_timeout_s * 1000;
    http_conn *c = s->conns, *next;
    for (; c; c = next) {
        next = c->next;
        int64_t age = now - c->since_ms;
        if (c->st == C_IDLE && age >= (c->served ? keep_ms : header_ms)) {
            sg_log_debug(SUB, "Closing a connection idle for %lld ms.", (long long)age);
            evhttp_connection_free(c->evcon);
        } else if (c->st == C_HEAD && age >= header_ms) {
            s->timed_out++;
            reject(c, bufferevent_get_input(c->bev), 408,
                   "The request head did not arrive within header-timeout-s.");
            bufferevent_trigger(c->bev, EV_READ, 0); /* evhttp reads the synthetic request */
        } else if ((c->st == C_BODY || c->st == C_CHUNKED) && s->limits.body_min_rate > 0 &&
                   age > header_ms + (int64_t)(c->body_bytes * 1000 /
                                               (uint64_t)s->limits.body_min_rate)) {
            s->timed_out++;
            sg_log_debug(SUB, "A request body came slower than body-min-rate (%llu bytes in "
                              "%lld ms).",
                         (unsigned long long)c->body_bytes, (long long)age);
            if (c->st == C_CHUNKED) { /* evhttp has seen nothing of it: it can be answered */
                reject(c, bufferevent_get_input(c->bev), 408,
                       "The request body came slower than body-min-rate.");
                bufferevent_trigger(c->bev, EV_READ, 0);
            } else {
                evhttp_connection_free(c->evcon);
            }
        }
    }
    if (s->conns || s->adopt) sweep_start(s);
}

/* Test hook (http_int.h): lets the tests drive evhttp's EOF path through on_conn_close(). */
void http__req_watch_close(http_req *r) {
    http__req *x = r->priv;
    if (x && x->evcon) bufferevent_enable(evhttp_connection_get_bufferevent(x->evcon), EV_READ);
}

static void copy_peer(http_req *r, struct evhttp_connection *evcon) {
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evcon, &addr, &port);
    const char *a = addr ? addr : "";
    /* A dual-stack listener sees IPv4 clients as "::ffff:a.b.c.d"; show them as IPv4. */
    if (!strncasecmp(a, "::ffff:", 7) && strchr(a + 7, '.')) a += 7;
    snprintf(r->peer, sizeof r->peer, "%s", a);
}

int http_req_local(const http_req *r, char *out, size_t n) {
    http__req *x = r->priv;
    struct bufferevent *bev = x && x->evcon ? evhttp_connection_get_bufferevent(x->evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char a[INET6_ADDRSTRLEN] = "";
    if (n) out[0] = '\0';
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return SG_ENOTFOUND;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        snprintf(out, n, "%s:%u", a, (unsigned)ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        unsigned port = ntohs(in6->sin6_port);
        /* A dual-stack listener reached over IPv4: show the IPv4 address, as for peer. */
        if (!strncasecmp(a, "::ffff:", 7) && strchr(a + 7, '.'))
            snprintf(out, n, "%s:%u", a + 7, port);
        else
            snprintf(out, n, "[%s]:%u", a, port);
    } else {
        return SG_ENOTFOUND;
    }
    return 0;
}

void http_reply_header(http_req *r, const char *name, const char *value) {
    http__req *x = r->priv;
    if (x && x->ereq) evhttp_add_header(evhttp_request_get_output_headers(x->ereq), name, value);
}

static void copy_headers(http__req *x, struct evhttp_request *ereq) {
    struct evkeyvalq *h = evhttp_request_get_input_headers(ereq);
    int n = 0;
    for (struct evkeyval *kv = h->tqh_first; kv; kv = kv->next.tqe_next) n++;
    x->headers = sg_xcalloc((size_t)(n ? n : 1), sizeof *x->headers);
    for (struct evkeyval *kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
        x->headers[x->nheaders].key = sg_xstrdup(kv->key);
        x->headers[x->nheaders].val = sg_xstrdup(kv->value);
        x->nheaders++;
    }
}

static void copy_body(http_req *r, struct evhttp_request *ereq) {
    struct evbuffer *in = evhttp_request_get_input_buffer(ereq);
    size_t n = evbuffer_get_length(in);
    r->body = sg_xmalloc(n + 1);
    if (n && evbuffer_copyout(in, r->body, n) != (ev_ssize_t)n) {
        /* Cannot happen for an in-memory evbuffer; keep the request consistent anyway. */
        sg_log_error(SUB, "Request %llu: copying a %zu-byte body failed.",
                     (unsigned long long)r->id, n);
        n = 0;
    }
    r->body[n] = '\0';
    r->body_len = n;
}

/* evhttp generic callback: a complete request arrived on listener arg. The handler may reply
 * (and so free r) before it returns: nothing touches r after the call. */
static void on_request(struct evhttp_request *ereq, void *arg) {
    http_listener *l = arg;
    http_server *s = l->srv;
    struct evhttp_connection *evcon = evhttp_request_get_connection(ereq);
    if (s->adopt) adopt_all(s); /* cannot happen (see adopt_all); cheap to make sure */
    http_conn *c = conn_find(s, evcon);
    http__req *x = sg_xcalloc(1, sizeof *x);
    http_req *r = &x->pub;
    r->priv = x;
    r->id = ++g_next_id;
    r->start_ms = sg_mono_ms();
    r->tls = l->ssl_ctx != NULL;
    copy_peer(r, evcon);
    x->srv = s;
    x->ereq = ereq;
    x->evcon = evcon;
    x->conn = c;
    x->next = s->pending;
    if (s->pending) s->pending->prev = x;
    s->pending = x;
    s->inflight++;
    if (c) c->req = x;

    if (c && c->st == C_REJECT) {
        /* The head was refused before evhttp saw it; this is the synthetic stand-in. */
        r->method = c->reject_method;
        r->target = sg_xstrdup(c->reject_target);
        r->body = sg_xmalloc(1);
        r->body[0] = '\0';
        http_reply_error(r, c->reject_status, NULL, "%s", c->reject_why);
        return;
    }
    if (c) c->st = C_HANDLER;
    r->method = method_name(evhttp_request_get_command(ereq));
    const char *uri = evhttp_request_get_uri(ereq);
    r->target = sg_xstrdup(uri ? uri : "");
    copy_headers(x, ereq);
    copy_body(r, ereq);

    const char *why = NULL;
    if (s->draining) {
        http_reply_error(r, 503, NULL, "The server is shutting down; retry in a moment");
        return;
    }
    if (http__parse_target(r, &why) != 0) {
        http_reply_error(r, 400, NULL, "%s", why);
        return;
    }
    s->handler(r, s->arg);
}

/* Sends (unless orphaned), logs, counts and frees. msg is the error message, or NULL. */
static void finish(http_req *r, int status, const char *ctype, const void *data, size_t len,
                   const char *msg) {
    http__req *x = r->priv;
    assert(x && &x->pub == r);
    if (status >= 400 && status < 600) g_errors[status]++;
    long long ms = (long long)(sg_mono_ms() - r->start_ms);
    const char *tls = r->tls ? " (TLS)" : "", *gone = x->ereq ? "" : " (client gone, not sent)";
    if (status >= 500 && !(status == 503 && x->srv && x->srv->draining) && !r->logged)
        sg_log_warn(SUB, "Request %llu '%s %.200s' from %s%s failed: %d %s after %lld ms%s: %s",
                    (unsigned long long)r->id, r->method, r->target, r->peer, tls, status,
                    reason(status), ms, gone, msg ? msg : "-");
    else
        sg_log_debug(SUB, "Request %llu '%s %.200s' from %s%s: %d in %lld ms%s%s%s",
                     (unsigned long long)r->id, r->method, r->target, r->peer, tls, status, ms,
                     gone, msg ? ": " : ".", msg ? msg : "");

    if (x->ereq) {
        struct evhttp_request *ereq = x->ereq;
        http_conn *c = x->conn;
        int close_after = x->srv && x->srv->draining;
        if (c) { /* invariant 2 */
            c->req = NULL;
            x->conn = NULL;
            if (c->st == C_REJECT) close_after = 1;
            else evhttp_request_set_on_complete_cb(ereq, on_reply_done, c);
        }
        x->ereq = NULL;
        x->evcon = NULL;
        struct evkeyvalq *oh = evhttp_request_get_output_headers(ereq);
        char qid[40];
        snprintf(qid, sizeof qid, "smsgate-%llu", (unsigned long long)r->id);
        if (ctype) evhttp_add_header(oh, "Content-Type", ctype);
        evhttp_add_header(oh, "X-Ovh-QueryID", qid);
        /* While draining, each connection closes after its current request; so does one whose
         * request head was refused (what follows it cannot be trusted). */
        if (close_after) evhttp_add_header(oh, "Connection", "close");
        /* evhttp 2.1 would send a HEAD reply's body: leave it out. */
        if (len && strcmp(r->method, "HEAD") != 0)
            evbuffer_add(evhttp_request_get_output_buffer(ereq), data, len);
        evhttp_send_reply(ereq, status, reason(status), NULL);
    }
    pending_unlink(x);
    req_free(x);
}

/* ---- replies --------------------------------------------------------------------------- */

void http_reply_raw(http_req *r, int status, const char *content_type, const void *data,
                    size_t len) {
    if (status < 100 || status > 599) {
        sg_log_error(SUB, "Request %llu: reply with invalid status %d; sending 500 instead.",
                     (unsigned long long)r->id, status);
        http_reply_error(r, 500, NULL, "Internal error.");
        return;
    }
    finish(r, status, content_type, data, len, NULL);
}

void http_reply_json(http_req *r, json_t *body) {
    char *s = json_dumps(body ? body : json_null(), JSON_COMPACT | JSON_ENCODE_ANY | SG_JSON_REALS);
    json_decref(body);
    if (!s) {
        http_reply_error(r, 500, NULL, "The response could not be encoded as JSON.");
        return;
    }
    finish(r, 200, HTTP_JSON_TYPE, s, strlen(s), NULL);
    free(s);
}

/* json_string() refuses invalid UTF-8; a message quoting client bytes may contain some. */
static json_t *json_string_lossy(char *msg) {
    json_t *j = json_string(msg);
    if (j) return j;
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    return json_string(msg);
}

void http_reply_error(http_req *r, int status, const char *error_code, const char *fmt, ...) {
    if (status < 400 || status > 599) {
        sg_log_error(SUB, "Request %llu: error reply with status %d; sending 500 instead.",
                     (unsigned long long)r->id, status);
        status = 500;
    }
    char small[512], *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(small, sizeof small, "%s", reason(status));
    } else if ((size_t)n >= sizeof small) {
        msg = sg_xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    char cls[64], code[64];
    error_class(status, cls, sizeof cls);
    snprintf(code, sizeof code, "%d %s", status, reason(status));
    json_t *o = json_object();
    json_object_set_new(o, "class", json_string(cls));
    if (error_code) json_object_set_new(o, "errorCode", json_string(error_code));
    json_object_set_new(o, "httpCode", json_string(code));
    json_object_set_new(o, "message", json_string_lossy(msg));
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    finish(r, status, HTTP_JSON_TYPE, body, body ? strlen(body) : 0, msg);
    free(body);
    if (msg != small) free(msg);
}

/* ---- request accessors ----------------------------------------------------------------- */

const char *http_req_header(const http_req *r, const char *name) {
    const http__req *x = r->priv;
    for (int i = 0; x && i < x->nheaders; i++)
        if (!strcasecmp(x->headers[i].key, name)) return x->headers[i].val;
    return NULL;
}

const char *http_req_param(const http_req *r, const char *key) {
    for (int i = 0; i < r->nparams; i++)
        if (!strcmp(r->params[i].key, key)) return r->params[i].val;
    return NULL;
}

/* ---- server and listeners -------------------------------------------------------------- */

http_server *http_server_new(struct event_base *base, const http_limits *limits,
                             http_handler_cb handler, void *arg) {
    assert(base && handler);
    http_server *s = sg_xcalloc(1, sizeof *s);
    s->base = base;
    s->handler = handler;
    s->arg = arg;
    if (limits) s->limits = *limits;
    if (!s->limits.max_body) s->limits.max_body = HTTP_DEFAULT_MAX_BODY;
    if (!s->limits.max_headers) s->limits.max_headers = HTTP_DEFAULT_MAX_HEADERS;
    if (s->limits.timeout_s <= 0) s->limits.timeout_s = HTTP_DEFAULT_TIMEOUT_S;
    if (s->limits.max_connections <= 0) s->limits.max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
    if (s->limits.header_timeout_s <= 0)
        s->limits.header_timeout_s = HTTP_DEFAULT_HEADER_TIMEOUT_S;
    if (s->limits.keepalive_timeout_s <= 0)
        s->limits.keepalive_timeout_s = HTTP_DEFAULT_KEEPALIVE_TIMEOUT_S;
    if (s->limits.body_min_rate == 0) s->limits.body_min_rate = HTTP_DEFAULT_BODY_MIN_RATE;
    size_t buckets = 64;
    while (buckets < (size_t)s->limits.max_connections * 2) buckets *= 2;
    s->hash = sg_xcalloc(buckets, sizeof *s->hash);
    s->hash_mask = buckets - 1;
    s->adopt_ev = event_new(base, -1, 0, on_adopt, s);
    s->sweep_ev = evtimer_new(base, on_sweep, s);
    s->burst_ev = evtimer_new(base, on_burst, s);
    s->fd_ev = evtimer_new(base, on_fd_retry, s);
    if (!s->adopt_ev || !s->sweep_ev || !s->burst_ev || !s->fd_ev) {
        sg_log_error(SUB, "event_new failed (out of memory); aborting.");
        abort();
    }
    s->accepting = 1;
    s->lim_limit.period_ms = s->lim_evict.period_ms = 10000;
    return s;
}

/* Splits "host:port", "[v6]:port" or ":port" into host (may be "") and port. */
static int split_addr(const char *addr, char *host, size_t hostlen, int *port) {
    const char *colon, *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':') return SG_EINVAL;
        h = addr + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) return SG_EINVAL;
        hl = (size_t)(colon - addr);
        if (memchr(addr, ':', hl)) return SG_EINVAL; /* bare IPv6 needs brackets */
    }
    if (hl >= hostlen) return SG_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5) return SG_EINVAL;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return SG_EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535) return SG_EINVAL;
    *port = (int)v;
    return 0;
}

/* Binds and listens on host ("" = all addresses) and port; NULL with errno on failure. */
static struct evconnlistener *bind_addr(http_server *s, const char *addr, const char *host,
                                        int port) {
    const unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;
    if (!host[0]) {
        /* All addresses: "::" is dual-stack on Linux by default; fall back to IPv4 only. */
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                                  .sin6_addr = IN6ADDR_ANY_INIT};
        struct evconnlistener *l = evconnlistener_new_bind(
            s->base, NULL, NULL, flags, HTTP_BACKLOG, (struct sockaddr *)&a6, sizeof a6);
        if (l) return l;
        struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_ANY)};
        return evconnlistener_new_bind(s->base, NULL, NULL, flags, HTTP_BACKLOG,
                                       (struct sockaddr *)&a4, sizeof a4);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    int gai = getaddrinfo(host, ps, &hints, &ai);
    if (gai) {
        sg_log_error(SUB, "Cannot resolve the listen address '%s': %s.", addr, gai_strerror(gai));
        errno = EADDRNOTAVAIL;
        return NULL;
    }
    struct evconnlistener *l = evconnlistener_new_bind(s->base, NULL, NULL, flags, HTTP_BACKLOG,
                                                       ai->ai_addr, (int)ai->ai_addrlen);
    int e = errno;
    freeaddrinfo(ai);
    errno = e;
    return l;
}

static int local_port(struct evconnlistener *l) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Binds addr and puts one evhttp on it; takes ownership of ssl_ctx (may be NULL). */
static int add_listener(http_server *s, const char *addr, SSL_CTX *ssl_ctx) {
    char host[256];
    int port;
    if (split_addr(addr, host, sizeof host, &port)) {
        sg_log_error(SUB, "Invalid listen address '%s': expected host:port, [v6]:port or :port.",
                     addr);
        SSL_CTX_free(ssl_ctx);
        return SG_EINVAL;
    }
    struct evconnlistener *el = bind_addr(s, addr, host, port);
    if (!el) {
        sg_log_error(SUB, "Cannot listen on '%s': %s.", addr, strerror(errno));
        SSL_CTX_free(ssl_ctx);
        return SG_EIO;
    }
    http_listener *l = sg_xcalloc(1, sizeof *l);
    l->srv = s;
    l->ssl_ctx = ssl_ctx;
    l->port = local_port(el);
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    l->eh = evhttp_new(s->base);
    if (!l->eh) {
        sg_log_error(SUB, "evhttp_new failed (out of memory); aborting.");
        abort();
    }
    size_t body = s->limits.max_body, hdrs = s->limits.max_headers;
    evhttp_set_max_body_size(l->eh, body > (size_t)EV_SSIZE_MAX ? EV_SSIZE_MAX : (ev_ssize_t)body);
    evhttp_set_max_headers_size(l->eh,
                                hdrs > (size_t)EV_SSIZE_MAX ? EV_SSIZE_MAX : (ev_ssize_t)hdrs);
    evhttp_set_timeout(l->eh, s->limits.timeout_s);
    evhttp_set_allowed_methods(l->eh, HTTP_METHODS);
    evhttp_set_gencb(l->eh, on_request, l);
    evhttp_set_bevcb(l->eh, on_new_conn, l);
    l->bound = evhttp_bind_listener(l->eh, el);
    if (!l->bound) {
        sg_log_error(SUB, "evhttp_bind_listener failed (out of memory); aborting.");
        abort();
    }
    evconnlistener_set_error_cb(el, on_accept_error);
    if (!s->accepting) evconnlistener_disable(el);
    l->gnext = g_listeners;
    g_listeners = l;
    s->lst = sg_xrealloc(s->lst, (size_t)(s->nlst + 1) * sizeof *s->lst);
    s->lst[s->nlst++] = l;
    sg_log_info(SUB, "Listening on '%s' (port %d, %s).", addr, l->port, ssl_ctx ? "TLS" : "plain");
    return 0;
}

int http_server_listen(http_server *s, const char *addr) {
    return add_listener(s, addr, NULL);
}

int http_server_listen_tls(http_server *s, const char *addr, const char *cert_file,
                           const char *key_file) {
    int err = 0;
    SSL_CTX *ctx = http__tls_ctx_new(cert_file, key_file, &err);
    if (!ctx) {
        sg_log_error(SUB, "Not listening on '%s' with TLS: the certificate or key is unusable.",
                     addr);
        return err;
    }
    return add_listener(s, addr, ctx);
}

int http_server_port(const http_server *s, int tls) {
    for (int i = 0; s && i < s->nlst; i++)
        if (s->lst[i]->bound && (s->lst[i]->ssl_ctx != NULL) == (tls != 0)) return s->lst[i]->port;
    return -1;
}

void http_server_stop_accepting(http_server *s) {
    s->draining = 1;
    for (int i = 0; i < s->nlst; i++) {
        http_listener *l = s->lst[i];
        if (!l->bound) continue;
        evhttp_del_accept_socket(l->eh, l->bound);
        l->bound = NULL;
        sg_log_info(SUB, "Stopped accepting on '%s'; %d request(s) in flight.", l->addr,
                    s->inflight);
    }
}

int http_server_connections(const http_server *s) {
    return s->nconns;
}

int http_server_inflight(const http_server *s) {
    return s->inflight;
}

void http_server_free(http_server *s) {
    if (!s) return;
    if (s->inflight)
        sg_log_info(SUB, "Freeing the HTTP server with %d request(s) in flight; their replies "
                         "will be dropped.",
                    s->inflight);
    /* Orphan pending requests before evhttp_free() frees their connections (invariant 3). */
    while (s->pending) {
        http__req *x = s->pending;
        detach_ereq(x);
        x->conn = NULL;
        pending_unlink(x);
    }
    /* Forget our side of every connection; evhttp_free() then closes them. */
    while (s->conns) {
        http_conn *c = s->conns;
        s->conns = c->next;
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
        evbuffer_free(c->hold);
        free(c);
    }
    while (s->adopt) {
        http_conn *c = s->adopt;
        s->adopt = c->anext;
        free(c);
    }
    for (int i = 0; i < s->nlst; i++) {
        http_listener **pp = &g_listeners;
        while (*pp && *pp != s->lst[i]) pp = &(*pp)->gnext;
        if (*pp) *pp = s->lst[i]->gnext;
        evhttp_free(s->lst[i]->eh); /* bound socket, connections, their requests */
        SSL_CTX_free(s->lst[i]->ssl_ctx);
        free(s->lst[i]);
    }
    event_free(s->adopt_ev);
    event_free(s->sweep_ev);
    event_free(s->burst_ev);
    event_free(s->fd_ev);
    free(s->hash);
    free(s->lst);
    free(s);
}
