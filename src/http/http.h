/*
 * http.h - the HTTP(S) front: evhttp listeners (plain and TLS), one request object per call,
 * and the only functions that write responses.
 *
 * Thread: everything here runs on the loop thread that owns the event_base.
 * Ownership: an http_req is created by the server for each request and handed to the handler;
 * it stays valid until the handler calls exactly one http_reply_*() function, even if the
 * client disconnected in the meantime (the reply is then dropped) or the server was freed.
 * The handler may answer later, from another callback on the same loop (asynchronous
 * handlers). Everything in an http_req is a copy: nothing in it points into libevent.
 * SIGPIPE: the process must ignore it (smsgated's main does). libevent writes with writev() and
 * SSL_write(), not send(MSG_NOSIGNAL), so a reply to a client that went away could otherwise
 * kill the process.
 *
 * Every success is 200 + JSON; every failure is the OVH error body
 *   {"class":"Client::BadRequest","errorCode":"...","httpCode":"400 Bad Request","message":"..."}
 * produced by http_reply_error(); nobody writes error JSON by hand.
 */
#ifndef SG_HTTP_H
#define SG_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

typedef struct http_server http_server;

typedef struct http_param {
    char *key; /* decoded (form-urlencoded: '+' and %20 are spaces) */
    char *val;
} http_param;

typedef struct http_req {
    uint64_t id;            /* request id, for logs */
    const char *method;     /* "GET", "POST", "PUT", "DELETE", ... */
    char *target;           /* raw request-target as received: "/1.0/sms/x/jobs/?tag=a%20b" */
    char *path;             /* decoded path without base prefix and without trailing slash:
                               "/sms/x/jobs"; "/" stays "/". Base "/1.0" and "/v1" stripped;
                               a request outside both keeps its full path. */
    int has_base;           /* 1 when the request was under /1.0 or /v1 */
    char **segs;            /* decoded path segments of path ("sms","x","jobs"); '+' stays
                               '+', empty segments collapse. A segment decoding to a NUL or
                               '/', or "." / "..", gets 400 before any handler runs. */
    int nsegs;
    http_param *params;     /* query parameters in order; repeated keys repeat */
    int nparams;
    unsigned char *body;    /* raw body bytes, NUL-terminated for convenience; never NULL */
    size_t body_len;
    int tls;                /* came in on the TLS listener */
    char peer[64];          /* client IP address, textual */
    int64_t start_ms;       /* monotonic ms at arrival */
    void *user;             /* free for the handler */
    int logged;             /* set by the handler before replying: the failure was logged where
                               it happened (a 503 for a database outage, logged once for it),
                               so the reply is logged at debug level, not WARN */
    /* private to http/ */
    void *priv;
} http_req;

/* Called on the loop thread for every request. Must eventually call one http_reply_*(). */
typedef void (*http_handler_cb)(http_req *req, void *arg);

/* A field left 0 takes its default. A body over max_body (its Content-Length, or the data of a
 * chunked body) gets 413 and a head over max_headers 431, both with the OVH error body, and the
 * handler never sees them.
 * The connection limit and the deadlines are ours (server.c, "Connections"):
 * - at max_connections open connections the server stops accepting; new connections wait in
 *   the kernel's backlog until one closes, except that a connection which has not sent a byte
 *   of a request (new, or idle between two requests) is closed, oldest first, to make room;
 * - a request head (request line and headers) must be complete within header_timeout_s of its
 *   first byte (of the accept, for a connection's first request): 408 and close otherwise;
 * - an idle keep-alive connection is closed after keepalive_timeout_s without a byte;
 * - a body must arrive at body_min_rate bytes per second on average, counted from the end of
 *   the head after a grace of header_timeout_s; the connection is closed otherwise. */
typedef struct http_limits {
    size_t max_body;          /* bytes; larger bodies get 413 (default 16 MiB) */
    size_t max_headers;       /* bytes (default 64 KiB); a longer head gets 431 */
    int timeout_s;            /* read/write timeout per connection (default 60); it does not
                                 run while a request waits for its reply */
    int max_connections;      /* open connections, all listeners together (default 1024) */
    int header_timeout_s;     /* default 10 */
    int keepalive_timeout_s;  /* default 60 */
    int body_min_rate;        /* bytes per second (default 1024); < 0 disables the check */
} http_limits;

/* Creates a server on base; handler receives every request. limits may be NULL (defaults). */
http_server *http_server_new(struct event_base *base, const http_limits *limits,
                             http_handler_cb handler, void *arg);
/* Listens on "127.0.0.1:8080" / "[::1]:8080" / ":8080" (all addresses, IPv6 and IPv4) /
 * "localhost:8080" (resolved once, blocking: call at start-up). Port 0 binds an ephemeral
 * port (see http_server_port). Returns 0, SG_EINVAL (malformed addr) or SG_EIO; logged. */
int http_server_listen(http_server *s, const char *addr);
/* Listens with TLS 1.2+ (OpenSSL) using PEM cert (chain) and key files. Returns 0, SG_EIO (a file
 * cannot be read, or the socket cannot be bound) or SG_EINVAL (bad PEM, key does not match the
 * certificate, malformed addr); logged. */
int http_server_listen_tls(http_server *s, const char *addr, const char *cert_file,
                           const char *key_file);
/* Returns the local port of the first listener of that kind (tls 0 = plain, 1 = TLS) that is
 * still accepting, or -1 when there is none. */
int http_server_port(const http_server *s, int tls);
/* Stops accepting new connections (listeners closed); requests in flight continue, and so do
 * further requests on connections already open (keep-alive). */
void http_server_stop_accepting(http_server *s);
/* Number of open connections (accepted and not yet closed), all listeners together. */
int http_server_connections(const http_server *s);
/* Number of requests handed to the handler and not yet replied to. */
int http_server_inflight(const http_server *s);
/* Frees the server, its listeners and its connections. Requests still in flight are detached:
 * the handler must still reply to each, and that reply only frees it. NULL does nothing. */
void http_server_free(http_server *s);

/* Returns the first value of a request header (case-insensitive name), or NULL. */
const char *http_req_header(const http_req *r, const char *name);
/* Writes where the client of r connected to, as a URL authority: "127.0.0.1:8080",
 * "[2001:db8::1]:8443" (the connection's own local address, so a listener on all addresses
 * gives the one the client used; never anything the client wrote). Returns 0, or SG_ENOTFOUND
 * (out = "") when the connection is gone. One getsockname() call: only for the few answers
 * that carry a URL. */
int http_req_local(const http_req *r, char *out, size_t n);
/* Returns the first value of query parameter key, or NULL. */
const char *http_req_param(const http_req *r, const char *key);

/* Reads r's body as an HTML form (application/x-www-form-urlencoded, decoded as the query
 * is) and appends its fields to r->params, after the query's: http_req_param() then finds a
 * query parameter before a body field of the same name. Returns 0, or SG_EINVAL when a field
 * decodes to a NUL byte (the fields before it are kept). Loop thread, before any reply. */
int http_req_form(http_req *r);

/* Adds a header to the reply that r will get (e.g. "Retry-After"); call before the
 * http_reply_*() function. Both strings are copied. Does nothing once the client is gone. */
void http_reply_header(http_req *r, const char *name, const char *value);

/* Every http_reply_*() frees r: it must not be used afterwards. Each adds the headers
 * "X-Ovh-QueryID: smsgate-<id>" and Content-Type, logs the request (debug; 5xx at WARN) and
 * counts statuses >= 400 in http_error_count(). */

/* 200 with the JSON value, compact, any top-level type ("null", 42, "text");
 * Content-Type "application/json; charset=utf-8". Takes ownership of body; NULL means null. */
void http_reply_json(http_req *r, json_t *body);
/* status (100..599) with a raw body (copied) and content type (omitted when NULL). */
void http_reply_raw(http_req *r, int status, const char *content_type, const void *data,
                    size_t len);
/* The OVH error body. status e.g. 400; error_code may be NULL (omitted); message printf-style.
 * class is derived from status: 400 Client::BadRequest, 401 Client::Unauthorized,
 * 403 Client::Forbidden, 404 Client::NotFound, 405 Client::MethodNotAllowed,
 * 409 Client::Conflict, 413 Client::PayloadTooLarge, 5xx Server::InternalServerError; any
 * other 4xx "Client::" + its reason phrase without spaces (460 Client::ResourceExpired, with
 * httpCode "460 Resource Expired"). A status outside 400..599 is logged and sent as 500. */
void http_reply_error(http_req *r, int status, const char *error_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes a self-signed certificate (X.509 v3, CN=localhost, CA:FALSE, serverAuth) and its EC
 * P-256 key, valid 10 years, with subjectAltName IP:127.0.0.1, IP:::1, DNS:localhost, to the two
 * paths as PEM (the key PKCS#8, mode 0600). Overwrites existing files. Returns 0 or SG_EIO. */
int http_tls_selfsigned(const char *cert_file, const char *key_file);

/* Per-status error counters since start, over all servers (index = status code 0..599; 0
 * outside). Counts our replies with status >= 400 (among them the 400s of a malformed request
 * head or chunked body, the 408s of one that came too slowly, the 413s and 431s of one too
 * long), not the ones evhttp sends by itself (400 for a request line it cannot parse, 501 for an
 * unknown method). */
uint64_t http_error_count(int status);

#endif
