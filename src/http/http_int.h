/*
 * http_int.h - declarations shared inside src/http/ only.
 *
 * server.c owns listeners, requests and replies; tls.c owns everything that touches OpenSSL
 * (server contexts, the per-connection bufferevent factory, the self-signed certificate).
 * The request-target parser is declared here so that tests/unit/test_http.c can check it
 * without a socket. Loop thread only, like the rest of the module.
 */
#ifndef SG_HTTP_INT_H
#define SG_HTTP_INT_H

#include <openssl/ssl.h>

#include "http/http.h"

struct bufferevent;

/* Creates a server SSL_CTX (TLS 1.2 and later) from a PEM certificate chain and a PEM key.
 * Returns a new context (caller frees with SSL_CTX_free) or NULL with *err set to SG_EIO (a
 * file cannot be read) or SG_EINVAL (not PEM, or the key does not match); logged. */
SSL_CTX *http__tls_ctx_new(const char *cert_file, const char *key_file, int *err);

/* evhttp_set_bevcb() callback: a new server-side OpenSSL bufferevent (no fd yet, accepting
 * state, closes its socket when freed) for one connection; arg is the listener's SSL_CTX.
 * Never returns NULL: evhttp would then fall back to plain text on the TLS port, so an
 * allocation failure aborts instead, like sg_xmalloc. */
struct bufferevent *http__tls_bev_new(struct event_base *base, void *ssl_ctx);

/* Fills r->path, r->segs, r->nsegs, r->has_base, r->params and r->nparams from r->target
 * (origin form "/1.0/sms?x=1" or absolute form "http://host/1.0/sms?x=1"; a '#fragment' is
 * ignored). Path segments are percent-decoded ('+' stays '+', an invalid %-sequence stays
 * literal); the query is decoded as application/x-www-form-urlencoded.
 * Returns 0, or SG_EINVAL with *why set to a static sentence for the 400 message; the fields
 * filled so far are left for http__req_fields_free(). */
int http__parse_target(http_req *r, const char **why);

/* Checks a complete request head p[0..n) (request line, header lines, the empty line; n
 * includes the final LF) against RFC 9112's framing rules, stricter than evhttp's parser:
 * every line ends with CRLF (no bare LF, no CR elsewhere), no control character (NUL, other
 * bytes below 0x20 except HTAB, DEL) in the request line, a header name or value, header names
 * made of token characters and followed directly by ':', no obs-fold (a line starting with SP
 * or HTAB), at most one Content-Length made of digits only, and a Transfer-Encoding only alone
 * (no Content-Length), once, exactly "chunked", and not in an HTTP/1.0 request.
 * Returns 0, with *chunked set to 1 when the body is chunked (else 0) and *length to the
 * Content-Length (0 when there is none); or 400 with *why set to a static sentence for the
 * error message. Pure. */
int http__head_check(const char *p, size_t n, int *chunked, uint64_t *length, const char **why);

/* A chunked body (RFC 9112 7.1) checked as it arrives, stricter than evhttp: chunk sizes of 1 to
 * 15 hex digits directly followed by CRLF (no chunk extensions, no whitespace, no sign or "0x"),
 * chunk data followed by CRLF, no trailer fields, and at most max_body bytes of data in all.
 * Zero-initialise, then feed the bytes in order. */
typedef struct http__chunked {
    int state;
    int digits;
    uint64_t size;  /* chunk size being read, then the data left in the chunk */
    uint64_t total; /* data bytes so far */
} http__chunked;

/* Feeds p[0..n). Returns 0 when all was consumed and more is needed; 1 when the body ended,
 * with *used set to the bytes consumed up to and including its last CRLF; 400 (malformed) or
 * 413 (over max_body) with *why set to a static sentence. Pure. */
int http__chunked_feed(http__chunked *k, const unsigned char *p, size_t n, uint64_t max_body,
                       size_t *used, const char **why);

/* Frees target, path, segs, params and body of r and sets them to NULL (not r itself). */
void http__req_fields_free(http_req *r);

/* Test hook: makes evhttp read the connection of r while r waits for its reply, so that a
 * client close is seen at once and evhttp takes its EOF path (unlink the request, free the
 * connection, run the close callback), which is what other libevent versions do on their own.
 * The server never calls it: data (not EOF) arriving in that state makes libevent 2.1.12 exit
 * ("illegal connection state"). */
void http__req_watch_close(http_req *r);

#endif
