/*
 * server.c - the HTTP(S) front: evhttp listeners, one http_req per request, and the only code
 * that writes responses (JSON, raw, and the OVH error body).
 *
 * Design. Each listener, plain or TLS, is its own struct evhttp with one bound socket, so the
 * generic callback learns from its argument whether a request came over TLS; every evhttp gets
 * the same limits and dispatches to the same handler. evhttp does the HTTP/1.1 work: parsing,
 * body and header limits (it answers 413 and 400 itself, as HTML: libevent 2.1 has no hook to
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
 *   PENDING:  ereq and evcon set; the connection's close callback points at this request.
 *   ORPHANED: ereq == NULL; detach_ereq() performed the transition.
 *
 * Invariants:
 * 1. x->ereq != NULL exactly while the evhttp_request is alive and still ours to answer.
 * 2. While x->ereq != NULL, the close callback of x->evcon is (on_conn_close, x); finish()
 *    clears it before sending, so the callback can never see a freed request.
 * 3. An http__req is in its server's pending list from on_request() to finish(); when the
 *    server is freed first, x->srv becomes NULL. http_server_inflight() is the list's length.
 * 4. Only finish() frees an http__req, and it runs exactly once per request (the contract:
 *    exactly one http_reply_*() call).
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
 *   soon as the headers are in, if the declared Content-Length fits max_body; otherwise it
 *   answers 413 at once. Nothing here has to help.
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
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "http/http_int.h"
#include "util/log.h"
#include "util/util.h"

#define SUB "http"
#define HTTP_DEFAULT_MAX_BODY (16u * 1024 * 1024)
#define HTTP_DEFAULT_MAX_HEADERS (64u * 1024)
#define HTTP_DEFAULT_TIMEOUT_S 60
#define HTTP_BACKLOG 511
#define HTTP_JSON_TYPE "application/json; charset=utf-8"
#define HTTP_METHODS                                                                     \
    (EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |            \
     EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH)

typedef struct http_listener {
    http_server *srv;
    struct evhttp *eh;
    struct evhttp_bound_socket *bound; /* NULL once the server stopped accepting */
    SSL_CTX *ssl_ctx;                  /* NULL for plain HTTP */
    int port;
    char addr[96];                     /* as configured, for logs */
} http_listener;

typedef struct http__req {
    http_req pub;                      /* pub.priv points back here */
    http_server *srv;                  /* NULL once the server was freed */
    struct evhttp_request *ereq;       /* NULL once orphaned (invariant 1) */
    struct evhttp_connection *evcon;
    struct http__req *prev, *next;     /* server's pending list */
    http_param *headers;               /* copied request headers */
    int nheaders;
} http__req;

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
};

static uint64_t g_errors[600];
static uint64_t g_next_id;

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

/* evhttp calls this when it frees the connection of a request still waiting for its reply. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg) {
    http__req *x = arg;
    (void)evcon;
    sg_log_debug(SUB, "Request %llu '%s %.200s': the connection closed before the reply; the "
                      "reply will be dropped.",
                 (unsigned long long)x->pub.id, x->pub.method, x->pub.target);
    detach_ereq(x);
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
    http__req *x = sg_xcalloc(1, sizeof *x);
    http_req *r = &x->pub;
    r->priv = x;
    r->id = ++g_next_id;
    r->start_ms = sg_mono_ms();
    r->tls = l->ssl_ctx != NULL;
    r->method = method_name(evhttp_request_get_command(ereq));
    const char *uri = evhttp_request_get_uri(ereq);
    r->target = sg_xstrdup(uri ? uri : "");
    copy_peer(r, evcon);
    copy_headers(x, ereq);
    copy_body(r, ereq);

    x->srv = s;
    x->ereq = ereq;
    x->evcon = evcon;
    x->next = s->pending;
    if (s->pending) s->pending->prev = x;
    s->pending = x;
    s->inflight++;
    evhttp_connection_set_closecb(evcon, on_conn_close, x);

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
    if (status >= 500 && !(status == 503 && x->srv && x->srv->draining))
        sg_log_warn(SUB, "Request %llu '%s %.200s' from %s%s failed: %d %s after %lld ms%s: %s",
                    (unsigned long long)r->id, r->method, r->target, r->peer, tls, status,
                    reason(status), ms, gone, msg ? msg : "-");
    else
        sg_log_debug(SUB, "Request %llu '%s %.200s' from %s%s: %d in %lld ms%s%s%s",
                     (unsigned long long)r->id, r->method, r->target, r->peer, tls, status, ms,
                     gone, msg ? ": " : ".", msg ? msg : "");

    if (x->ereq) {
        struct evhttp_request *ereq = x->ereq;
        if (x->evcon) evhttp_connection_set_closecb(x->evcon, NULL, NULL); /* invariant 2 */
        x->ereq = NULL;
        x->evcon = NULL;
        struct evkeyvalq *oh = evhttp_request_get_output_headers(ereq);
        char qid[40];
        snprintf(qid, sizeof qid, "smsgate-%llu", (unsigned long long)r->id);
        if (ctype) evhttp_add_header(oh, "Content-Type", ctype);
        evhttp_add_header(oh, "X-Ovh-QueryID", qid);
        /* While draining, each connection closes after its current request. */
        if (x->srv && x->srv->draining) evhttp_add_header(oh, "Connection", "close");
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
    char *s = json_dumps(body ? body : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
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
    if (ssl_ctx) evhttp_set_bevcb(l->eh, http__tls_bev_new, ssl_ctx);
    l->bound = evhttp_bind_listener(l->eh, el);
    if (!l->bound) {
        sg_log_error(SUB, "evhttp_bind_listener failed (out of memory); aborting.");
        abort();
    }
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
        if (x->evcon) evhttp_connection_set_closecb(x->evcon, NULL, NULL);
        detach_ereq(x);
        pending_unlink(x);
    }
    for (int i = 0; i < s->nlst; i++) {
        evhttp_free(s->lst[i]->eh); /* bound socket, connections, their requests */
        SSL_CTX_free(s->lst[i]->ssl_ctx);
        free(s->lst[i]);
    }
    free(s->lst);
    free(s);
}
