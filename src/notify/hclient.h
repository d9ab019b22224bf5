/*
 * hclient.h - a small keep-alive HTTP/1.1 client for GET requests to plain http:// URLs whose
 * host is a literal IP address or a DNS name: the fast path of status callbacks (notify.c).
 * Everything else (https, user info, unusual hosts or paths) is for libcurl;
 * hclient_target_parse() says which.
 *
 * Owns: a pool of TCP connections per destination (address, port and Host header), each a
 * bufferevent on the caller's event_base; every request started until its callback ran or it
 * was cancelled; when names are resolved (hclient_options.resolve), an evdns resolver on the
 * same event_base and a bounded cache of its answers. It does not queue: every request gets a
 * connection at once (an idle one of its destination, or a new one) or waits for the one
 * lookup of its name; the caller bounds how many run at once per destination.
 *
 * Thread: the loop thread of the event_base only. The process must ignore SIGPIPE (libevent
 * writes with writev(), see http/http.h).
 *
 * Life: hclient_new() -> hclient_get() ... -> hclient_free() (cancels what is in flight
 * without calling back, closes every connection, cancels the lookups in flight). evdns reports
 * a cancelled lookup from the loop, so the resolver's last memory is released on the next pass
 * of the loop after hclient_free(); a process that never runs its loop again leaks it at exit.
 */
#ifndef SG_NOTIFY_HCLIENT_H
#define SG_NOTIFY_HCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <sys/socket.h>

typedef struct hclient hclient;
typedef struct hclient_req hclient_req;

/* The destination rule of the caller: nonzero when sa (port 0) must not be connected to. */
typedef int (*hclient_refuse_cb)(const struct sockaddr *sa);

/* A field left 0 takes the default in brackets. */
typedef struct hclient_options {
    int64_t timeout_ms;         /* one request, connecting and a retry included [10000] */
    int64_t connect_timeout_ms; /* establishing one connection [min(timeout_ms, 10000)] */
    int idle_per_dest;          /* idle connections kept per destination [8] */
    int idle_max;               /* idle connections kept in all [256] */
    int64_t idle_ms;            /* how long an idle connection is kept [30000] */
    size_t max_head;            /* largest status line + headers accepted [16384] */
    /* Names. With resolve 0, hclient_get() takes IP literals only. With 1, it resolves names
     * with evdns (name servers, search list and options of resolv_conf, then the hosts_file);
     * when resolv_conf cannot be read or lists no name server, names are not taken either (a
     * message at INFO says so) and the caller uses libcurl, as before. */
    int resolve;
    const char *resolv_conf;    /* [/etc/resolv.conf]; read by hclient_new() only */
    const char *hosts_file;     /* [/etc/hosts]; read by hclient_new() only */
    int64_t dns_ttl_ms;         /* how long an answer is used [30000] */
    int64_t dns_fail_ms;        /* how long a failed lookup is remembered [5000] */
    int dns_max;                /* answers kept [1024] */
    /* Resolved addresses for which refuse() returns nonzero are never connected to (the
     * destination rule of the caller). NULL refuses none. Literal addresses are the caller's
     * to check before hclient_get(). */
    hclient_refuse_cb refuse;
} hclient_options;

/* Where a request goes: parsed from a URL by hclient_target_parse(). The strings point into
 * that URL and are borrowed until it is freed. */
typedef struct hclient_target {
    struct sockaddr_storage addr; /* the literal address and port of the URL; unset (addrlen
                                     0) when the host is a name */
    socklen_t addrlen;
    const char *name;             /* the host name ("cb.example.com"), NULL for a literal */
    size_t name_len;
    int port;                     /* the port of the URL (80 when it has none) */
    const char *host;             /* the Host header value: "10.1.2.3:8080", "[2001:db8::1]",
                                     "cb.example.com:8080", the port left out when it is 80 */
    size_t host_len;
    const char *path;             /* path and query as they are in the URL; empty means "/" */
    size_t path_len;
} hclient_target;

/* Fills t and returns 0 when url is one this client sends exactly as libcurl would: scheme
 * http (any case), no user info, host a literal IPv4 address or bracketed IPv6 address in its
 * canonical text form (no zone) or a DNS name in canonical form (lower-case letters, digits and
 * hyphens in dot-separated labels of 1 to 63 characters, no hyphen at either end of a label, at
 * most 253 characters, no trailing dot, and a last label starting with a letter, so that no
 * number libcurl would read as an IPv4 address passes as a name), an optional canonical port,
 * and a path and query of printable ASCII without dot segments. Returns SG_EINVAL for anything
 * else (use libcurl). Pure. */
int hclient_target_parse(const char *url, hclient_target *t);

/* The outcome of one request, borrowed for the duration of the callback. */
typedef struct hclient_result {
    int rc;            /* 0: an HTTP response came (status); else SG_ETEMP (connection,
                          timeout, or the name could not be resolved), SG_EIO (the server
                          broke the protocol) or SG_EPERM (refuse() refused every address of
                          the name: nothing was connected to) */
    int status;        /* the HTTP status when rc is 0; 3xx are reported as they are */
    const char *error; /* rc != 0: what went wrong, one sentence for an operator */
    const char *location; /* a 3xx answer's Location header as sent, else NULL */
    const char *refused;  /* rc SG_EPERM: the last address refused, as text ("127.0.0.1") */
} hclient_result;

/* Runs exactly once per started request, from the loop, never from inside hclient_get(). The
 * request is already freed; the callback may start new requests and cancel others, but must
 * not free the client. */
typedef void (*hclient_done_cb)(void *arg, const hclient_result *res);

/* Creates a client on base (borrowed, must outlive it). */
hclient *hclient_new(struct event_base *base, const hclient_options *opt);

/* Frees the client: cancels every request in flight (their callbacks never run), closes
 * every connection, drops the cache and cancels the lookups in flight (see Life above). NULL
 * does nothing. Not from inside one of its callbacks. */
void hclient_free(hclient *c);

/* Starts "GET <path> HTTP/1.1" to t, with a Host header, then headers (zero or more complete
 * "Name: value\r\n" lines, copied). The response body is read and discarded. A request sent
 * on a reused connection that the server closed before any byte of the answer came back is
 * sent once more on a new connection (GET is idempotent).
 *
 * A name is resolved first: from the cache while its answer is fresh, else by one evdns
 * lookup that every request for the name made meanwhile waits for. The first address refuse()
 * accepts is used, IPv4 before IPv6 (no happy eyeballs); when a connection to it cannot be
 * opened, the request fails and the name's next address is used from then on.
 * Resolving counts against the connect timeout, and the whole against the request timeout,
 * as in libcurl.
 *
 * Returns 0 and the request in *out (borrowed until its callback runs or it is cancelled); the
 * callback then runs exactly once. Returns SG_EINVAL, and the callback never runs, when t has
 * a name and this client resolves none (use libcurl). */
int hclient_get(hclient *c, const hclient_target *t, const char *headers, hclient_done_cb cb,
                void *arg, hclient_req **out);

/* Cancels a request in flight: its callback never runs, its connection is closed (its answer
 * may still be coming). A request still waiting for its name only leaves the lookup, which
 * goes on and fills the cache. */
void hclient_cancel(hclient_req *r);

/* Counters for tests and diagnostics. */
typedef struct hclient_stats {
    uint64_t connects;   /* connections opened */
    uint64_t reuses;     /* requests sent on an idle connection */
    uint64_t retries;    /* requests sent again after a reused connection failed */
    uint64_t lookups;    /* name lookups started (evdns) */
    uint64_t cached;     /* requests to a name answered from the cache, without waiting */
    size_t idle, busy;   /* connections now */
    size_t names;        /* names in the cache now, resolved or being resolved */
    int resolves;        /* 1 when names are taken (hclient_get() does not refuse them) */
} hclient_stats;
void hclient_get_stats(const hclient *c, hclient_stats *s);

#endif
