/*
 * sign.h - OVH request signatures, access rules and IP restrictions (spec section 2).
 *
 * Pure functions apart from OpenSSL's SHA-1: callable from any thread.
 *   signature = "$1$" + hex(SHA1(AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TIMESTAMP))
 * The server does not know which URL form the client signed, so auth_verify() tries every form
 * the official SDKs produce (spec 2.3) and accepts if any matches.
 */
#ifndef SG_AUTH_SIGN_H
#define SG_AUTH_SIGN_H

#include <stddef.h>
#include <jansson.h>

#define AUTH_SIG_LEN 44 /* "$1$" + 40 hex + NUL */

/* Computes the signature of one request into out ("$1$" + 40 lower-case hex + NUL). body may
 * be NULL when body_len is 0; a NULL string is signed as an empty one. */
void auth_signature(const char *app_secret, const char *consumer_key, const char *method,
                    const char *url, const unsigned char *body, size_t body_len,
                    const char *timestamp, char out[AUTH_SIG_LEN]);

/* Compares two signature strings in constant time (for equal lengths), ignoring case of hex
 * digits. Returns 1 when equal. */
int auth_signature_equal(const char *a, const char *b);

typedef struct auth_verify_in {
    const char *app_secret;
    const char *consumer_key;
    const char *method;         /* as received, e.g. "POST" */
    const char *target;         /* raw request-target as received: "/1.0/sms/x/jobs?tag=a%20b" */
    const char *host;           /* Host header, may include ":port"; may be NULL */
    int tls;                    /* request came over TLS */
    const char *const *public_urls; /* configured public base URLs ("https://sms.example.com"),
                                       NULL-terminated; may be NULL */
    const unsigned char *body;
    size_t body_len;
    const char *timestamp;      /* X-Ovh-Timestamp as received */
    const char *signature;      /* X-Ovh-Signature as received */
} auth_verify_in;

/* Returns 0 if the signature matches one of the candidate URL prefixes, each followed by target:
 * each public URL; {scheme}://{Host}; {scheme}://{Host without port}; https://{Host without port}
 * (scheme = https when tls, else http; "[::1]:8443" without port is "[::1]"). Trailing '/' on a
 * public URL are dropped. Returns SG_EPERM otherwise, including for a missing signature or one
 * that is not "$1$" + 40 hex digits (either case). The timestamp window is the caller's job. */
int auth_verify(const auth_verify_in *in);

/* Matches an access-rule path pattern against a request path (base path already stripped,
 * no query). '*' matches any run of characters including '/'; every other byte is literal.
 * One trailing '/' is ignored on the pattern and on the path ("/" itself stays "/"), so the
 * pattern "/sms/STAR/jobs/" matches the path "/sms/x/jobs" (STAR standing for '*', which
 * cannot follow a '/' inside a C comment). Returns 1 on match. */
int auth_pattern_match(const char *pattern, const char *path);

/* rules: JSON array of {"method": "GET", "path": "/sms"} (path as for auth_pattern_match).
 * Returns 1 when some rule has the same method (case-sensitive upper case) and a matching
 * path. NULL or a non-array grants nothing; malformed entries are skipped. */
int auth_rules_allow(const json_t *rules, const char *method, const char *path);

/* Validates a rules array from a client (each entry an object with method in
 * GET/POST/PUT/DELETE, upper case, and a path starting with '/'; no control characters or NUL
 * in either). An empty array is valid (and grants nothing). Returns 0 or SG_EINVAL with a
 * message naming the entry, e.g. "accessRules[1].method must be ...", in err (size errlen;
 * err may be NULL). */
int auth_rules_validate(const json_t *rules, char *err, size_t errlen);

/* allowed: JSON array of CIDR strings ("192.0.2.0/24", "2001:db8::/32", or a bare address),
 * or NULL / JSON null / empty array meaning "any"; any other non-array admits nobody. Returns 1
 * if ip (textual IPv4 or IPv6, "%zone" ignored) is allowed. An IPv4-mapped IPv6 address
 * ("::ffff:127.0.0.1"), as ip or in a rule, counts as IPv4; "::/0" admits IPv6 peers only. */
int auth_ip_allowed(const json_t *allowed, const char *ip);

/* Validates a CIDR list from a client (NULL and JSON null are valid). Returns 0 or SG_EINVAL
 * with a message in err (size errlen; err may be NULL). */
int auth_cidrs_validate(const json_t *allowed, char *err, size_t errlen);

#endif
