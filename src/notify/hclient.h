/*
 * hclient.h - a small keep-alive HTTP/1.1 client for GET requests to plain http:// URLs whose
 * host is a literal IP address: the fast path of status callbacks (notify.c). Everything else
 * (https, names, user info, unusual paths) is for libcurl; hclient_target_parse() says which.
 *
 * Owns: a pool of TCP connections per destination address (IP, port), each a bufferevent on
 * the caller's event_base, and every request started until its callback ran or it was
 * cancelled. It does not queue: every request gets a connection at once (an idle one of its
 * destination, or a new one); the caller bounds how many run at once per destination.
 *
 * Thread: the loop thread of the event_base only. The process must ignore SIGPIPE (libevent
 * writes with writev(), see http/http.h).
 *
 * Life: hclient_new() -> hclient_get() ... -> hclient_free() (cancels what is in flight
 * without calling back, closes every connection).
 */
#ifndef SG_NOTIFY_HCLIENT_H
#define SG_NOTIFY_HCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <sys/socket.h>

typedef struct hclient hclient;
typedef struct hclient_req hclient_req;

/* A field left 0 takes the default in brackets. */
typedef struct hclient_options {
    int64_t timeout_ms;         /* one request, connecting and a retry included [10000] */
    int64_t connect_timeout_ms; /* establishing one connection [min(timeout_ms, 10000)] */
    int idle_per_dest;          /* idle connections kept per destination [8] */
    int idle_max;               /* idle connections kept in all [256] */
    int64_t idle_ms;            /* how long an idle connection is kept [30000] */
    size_t max_head;            /* largest status line + headers accepted [16384] */
} hclient_options;

/* Where a request goes: parsed from a URL by hclient_target_parse(). The strings point into
 * that URL and are borrowed until it is freed. */
typedef struct hclient_target {
    struct sockaddr_storage addr; /* the literal address and port of the URL */
    socklen_t addrlen;
    const char *host;             /* the Host header value: "10.1.2.3:8080", "[2001:db8::1]",
                                     the port left out when it is 80 */
    size_t host_len;
    const char *path;             /* path and query as they are in the URL; empty means "/" */
    size_t path_len;
} hclient_target;

/* Fills t and returns 0 when url is one this client sends exactly as libcurl would: scheme
 * http (any case), no user info, host a literal IPv4 address or bracketed IPv6 address in its
 * canonical text form (no zone), an optional canonical port, and a path and query of printable
 * ASCII without dot segments. Returns SG_EINVAL for anything else (use libcurl). Pure. */
int hclient_target_parse(const char *url, hclient_target *t);

/* The outcome of one request, borrowed for the duration of the callback. */
typedef struct hclient_result {
    int rc;            /* 0: an HTTP response came (status); else SG_ETEMP (connection or
                          timeout) or SG_EIO (the server broke the protocol) */
    int status;        /* the HTTP status when rc is 0; 3xx are reported as they are */
    const char *error; /* rc != 0: what went wrong, one sentence for an operator */
    const char *location; /* a 3xx answer's Location header as sent, else NULL */
} hclient_result;

/* Runs exactly once per started request, from the loop, never from inside hclient_get(). The
 * request is already freed; the callback may start new requests and cancel others, but must
 * not free the client. */
typedef void (*hclient_done_cb)(void *arg, const hclient_result *res);

/* Creates a client on base (borrowed, must outlive it). */
hclient *hclient_new(struct event_base *base, const hclient_options *opt);

/* Frees the client: cancels every request in flight (their callbacks never run) and closes
 * every connection. NULL does nothing. Not from inside one of its callbacks. */
void hclient_free(hclient *c);

/* Starts "GET <path> HTTP/1.1" to t, with a Host header, then headers (zero or more complete
 * "Name: value\r\n" lines, copied). The response body is read and discarded. A request sent
 * on a reused connection that the server closed before any byte of the answer came back is
 * sent once more on a new connection (GET is idempotent). Returns 0 and the request in *out
 * (borrowed until its callback runs or it is cancelled); the callback then runs exactly once.
 * Never fails for now; a nonzero return would mean the callback never runs. */
int hclient_get(hclient *c, const hclient_target *t, const char *headers, hclient_done_cb cb,
                void *arg, hclient_req **out);

/* Cancels a request in flight: its callback never runs, its connection is closed (its answer
 * may still be coming). */
void hclient_cancel(hclient_req *r);

/* Counters for tests and diagnostics. */
typedef struct hclient_stats {
    uint64_t connects;   /* connections opened */
    uint64_t reuses;     /* requests sent on an idle connection */
    uint64_t retries;    /* requests sent again after a reused connection failed */
    size_t idle, busy;   /* connections now */
} hclient_stats;
void hclient_get_stats(const hclient *c, hclient_stats *s);

#endif
