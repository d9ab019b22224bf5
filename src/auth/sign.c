/*
 * sign.c - OVH request signatures, access rules and IP restrictions (spec section 2).
 *
 * A signed OVH request carries "$1$" + hex(SHA1(AS+CK+METHOD+URL+BODY+TIMESTAMP)), the six
 * fields joined with '+'. Everything but URL is known to the server exactly; URL is the absolute
 * URL the client composed, and the server only sees the request-target. Which scheme, host and
 * port the client wrote depends on the SDK (spec 1 and 2.3): php and python sign what they were
 * configured with, "http://127.0.0.1:8080"; node always signs "https://" + host with no port.
 * auth_verify() therefore rebuilds a short list of candidate prefixes, glues each in front of the
 * raw request-target and accepts if any candidate reproduces the received signature. No request
 * is parsed or decoded here: the bytes hashed are the bytes received. Using the Host header to
 * verify is safe (a client that lies in Host only changes which URL it must have signed, with
 * its own secret); it is never used to build a URL the API hands out (api_base_url()).
 *
 * The rest of the file is the two authorisation checks made after a signature verifies: access
 * rules ({method, path pattern} with '*' wildcards, spec 2.6) and allowed client IPs (CIDR
 * blocks, spec 2.5). Both read the JSON arrays exactly as the credential request stored them;
 * the _validate functions are what keeps a client from storing something these cannot read.
 *
 * Invariants:
 *   1. Nothing here keeps state or allocates beyond one call; every function is thread-safe.
 *   2. A signature is only ever compared with auth_signature_equal(), whose running time
 *      depends on the length of its inputs and never on where they differ.
 *   3. auth_verify() rejects a malformed signature before hashing anything, and tries each
 *      distinct candidate prefix at most once, in spec 2.3 order, until one matches.
 *   4. A public URL is used without its trailing slashes, because the request-target always
 *      starts with '/': "https://sms.example.com/" signs as "https://sms.example.com/1.0/...".
 *   5. Fail closed: a NULL or malformed rules array grants nothing; a malformed allowedIPs
 *      value (anything but NULL, JSON null or an array) admits nobody. Only the explicit
 *      "no restriction" forms - NULL, JSON null, [] - admit every address.
 *   6. IPv4 and IPv6 are separate families. An IPv4-mapped IPv6 address ("::ffff:192.0.2.1"),
 *      as peer or as rule, is treated as the IPv4 address it carries; "::/0" matches only IPv6.
 */
#include "auth/sign.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/digest.h"
#include "util/util.h"

#define SIG_PREFIX "$1$"
#define SIG_PREFIX_LEN 3
#define SIG_HEX_LEN 40

/* ---------------------------------------------------------------------------------------------
 * Signatures
 */

static void digest_update(EVP_MD_CTX *ctx, const void *p, size_t n) {
    if (n > 0 && EVP_DigestUpdate(ctx, p, n) != 1) {
        fprintf(stderr, "fatal: OpenSSL EVP_DigestUpdate(SHA-1) failed\n");
        abort();
    }
}

static void digest_str(EVP_MD_CTX *ctx, const char *s) {
    if (s) digest_update(ctx, s, strlen(s));
}

/* Signs with the URL given as two parts (url_a + url_b) so that auth_verify() can hash
 * prefix + target without building the concatenation. NULL strings hash as empty strings. */
static void sign_parts(const char *as, const char *ck, const char *method, const char *url_a,
                       const char *url_b, const unsigned char *body, size_t body_len,
                       const char *timestamp, char out[AUTH_SIG_LEN]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = sg_digest_begin(sg_md_sha1()); /* SHA-1 fetched once (util/digest.h) */
    digest_str(ctx, as);
    digest_update(ctx, "+", 1);
    digest_str(ctx, ck);
    digest_update(ctx, "+", 1);
    digest_str(ctx, method);
    digest_update(ctx, "+", 1);
    digest_str(ctx, url_a);
    digest_str(ctx, url_b);
    digest_update(ctx, "+", 1);
    if (body) digest_update(ctx, body, body_len);
    digest_update(ctx, "+", 1);
    digest_str(ctx, timestamp);
    if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != SIG_HEX_LEN / 2) {
        fprintf(stderr, "fatal: OpenSSL EVP_DigestFinal_ex(SHA-1) failed\n");
        abort();
    }
    EVP_MD_CTX_free(ctx);

    memcpy(out, SIG_PREFIX, SIG_PREFIX_LEN);
    sg_hex(md, md_len, out + SIG_PREFIX_LEN);
}

void auth_signature(const char *app_secret, const char *consumer_key, const char *method,
                    const char *url, const unsigned char *body, size_t body_len,
                    const char *timestamp, char out[AUTH_SIG_LEN]) {
    sign_parts(app_secret, consumer_key, method, url, NULL, body, body_len, timestamp, out);
}

/* Lower-cases 'A'..'F' without a data-dependent branch; every other byte is returned as is. */
static unsigned char hex_fold(unsigned char c) {
    unsigned char is_upper_hex = (unsigned char)((unsigned)(c - 'A') < 6u);
    return (unsigned char)(c | (unsigned char)(0x20 & -is_upper_hex));
}

int auth_signature_equal(const char *a, const char *b) {
    if (!a || !b) return 0;
    size_t n = strlen(a);
    if (strlen(b) != n) return 0; /* lengths are public: every valid signature has 43 chars */
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= hex_fold((unsigned char)a[i]) ^ hex_fold((unsigned char)b[i]);
    return diff == 0;
}

static int is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Returns 1 when s is "$1$" followed by exactly 40 hex digits of either case. */
static int signature_well_formed(const char *s) {
    if (!s || strncmp(s, SIG_PREFIX, SIG_PREFIX_LEN) != 0) return 0;
    for (size_t i = 0; i < SIG_HEX_LEN; i++)
        if (!is_hex(s[SIG_PREFIX_LEN + i])) return 0; /* also stops at the NUL */
    return s[SIG_PREFIX_LEN + SIG_HEX_LEN] == '\0';
}

/* Returns the length of host without its ":port": "a.example:8080" -> 9, "[::1]:8443" -> 5,
 * "[::1]" -> 5. A bare IPv6 address (several colons, no brackets; not valid in a Host header)
 * and anything whose "port" is not all digits are returned whole. */
static size_t host_name_len(const char *host) {
    size_t n = strlen(host);
    const char *port;

    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close) return n;
        port = close + 1;
        if (*port == '\0') return n;
        if (*port != ':') return n;
    } else {
        port = strrchr(host, ':');
        if (!port || strchr(host, ':') != port) return n;
    }
    for (const char *p = port + 1; *p; p++)
        if (*p < '0' || *p > '9') return n;
    return (size_t)(port - host);
}

typedef struct cand_list {
    char **v;
    size_t n, cap;
} cand_list;

/* Adds a candidate prefix (takes ownership of s) unless an equal one is already listed. */
static void cand_add(cand_list *l, char *s) {
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            free(s);
            return;
        }
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = sg_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = s;
}

/* Builds the candidate prefixes of spec 2.3 in order: public URLs, {scheme}://{Host},
 * {scheme}://{Host without port}, https://{Host without port}. */
static void cand_build(const auth_verify_in *in, cand_list *l) {
    if (in->public_urls) {
        for (const char *const *u = in->public_urls; *u; u++) {
            size_t n = strlen(*u);
            while (n > 0 && (*u)[n - 1] == '/') n--; /* invariant 4 */
            if (n > 0) cand_add(l, sg_xstrndup(*u, n));
        }
    }
    if (in->host && in->host[0]) {
        const char *scheme = in->tls ? "https" : "http";
        int name_len = (int)host_name_len(in->host);
        cand_add(l, sg_xasprintf("%s://%s", scheme, in->host));
        cand_add(l, sg_xasprintf("%s://%.*s", scheme, name_len, in->host));
        cand_add(l, sg_xasprintf("https://%.*s", name_len, in->host));
    }
}

int auth_verify(const auth_verify_in *in) {
    if (!in || !signature_well_formed(in->signature)) return SG_EPERM;
    if (!in->app_secret || !in->method || !in->target || !in->timestamp) return SG_EPERM;
    if (!in->body && in->body_len > 0) return SG_EPERM;

    cand_list l = {0};
    cand_build(in, &l);

    /* Candidates are tried in order until one matches. Stopping early tells a caller which
     * URL form matched only when its signature was valid, i.e. to someone who holds the
     * secret; a wrong signature always costs every candidate. (Trying all of them cost two
     * needless SHA-1s over the body per request in bench/compare.mjs.) */
    int ok = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (!ok) {
            char sig[AUTH_SIG_LEN];
            sign_parts(in->app_secret, in->consumer_key, in->method, l.v[i], in->target,
                       in->body, in->body_len, in->timestamp, sig);
            ok = auth_signature_equal(sig, in->signature);
        }
        free(l.v[i]);
    }
    free(l.v);
    return ok ? 0 : SG_EPERM;
}

/* ---------------------------------------------------------------------------------------------
 * Access rules
 */

/* Length of s once one trailing '/' is dropped; "/" itself keeps its slash. */
static size_t strip_slash_len(const char *s) {
    size_t n = strlen(s);
    return (n > 1 && s[n - 1] == '/') ? n - 1 : n;
}

/* Glob match of p[0..pn) against s[0..sn) where '*' matches any run (also empty, also '/') and
 * every other byte matches itself. Greedy with one backtrack point: when a later '*' is met the
 * earlier one never needs to grow again, so the worst case is O(pn * sn), with no recursion. */
static int glob_match(const char *p, size_t pn, const char *s, size_t sn) {
    size_t pi = 0, si = 0;
    size_t star_p = (size_t)-1, star_s = 0;

    while (si < sn) {
        if (pi < pn && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
        } else if (pi < pn && p[pi] == s[si]) {
            pi++;
            si++;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '*') pi++;
    return pi == pn;
}

int auth_pattern_match(const char *pattern, const char *path) {
    if (!pattern || !path || !pattern[0] || !path[0]) return 0;
    return glob_match(pattern, strip_slash_len(pattern), path, strip_slash_len(path));
}

int auth_rules_allow(const json_t *rules, const char *method, const char *path) {
    if (!json_is_array(rules) || !method || !path) return 0;
    size_t i;
    const json_t *rule;
    json_array_foreach(rules, i, rule) {
        const char *m = json_string_value(json_object_get(rule, "method"));
        const char *p = json_string_value(json_object_get(rule, "path"));
        if (m && p && strcmp(m, method) == 0 && auth_pattern_match(p, path)) return 1;
    }
    return 0;
}

/* Writes a message into err when the caller gave room for one; returns SG_EINVAL. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return SG_EINVAL;
}

/* Returns 1 when v is a JSON string with no NUL or other control byte inside. */
static int is_clean_string(const json_t *v) {
    if (!json_is_string(v)) return 0;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

int auth_rules_validate(const json_t *rules, char *err, size_t errlen) {
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    if (!json_is_array(rules)) return fail(err, errlen, "accessRules must be an array");

    size_t i;
    const json_t *rule;
    json_array_foreach(rules, i, rule) {
        if (!json_is_object(rule))
            return fail(err, errlen, "accessRules[%zu] must be an object", i);

        const json_t *m = json_object_get(rule, "method");
        int known = 0;
        if (is_clean_string(m)) {
            for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
                if (strcmp(json_string_value(m), methods[k]) == 0) known = 1;
        }
        if (!known)
            return fail(err, errlen,
                        "accessRules[%zu].method must be one of GET, POST, PUT, DELETE", i);

        const json_t *p = json_object_get(rule, "path");
        if (!is_clean_string(p) || json_string_value(p)[0] != '/')
            return fail(err, errlen, "accessRules[%zu].path must be a string starting with '/'",
                        i);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * IP restrictions
 */

typedef struct ip_block {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix; /* bits that must match: 0..32 or 0..128 */
} ip_block;

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parses a bare address into b with a full-length prefix. A zone ("fe80::1%eth0") is ignored.
 * An IPv4-mapped IPv6 address becomes the IPv4 address it carries (invariant 6). */
static int parse_addr(const char *s, size_t n, ip_block *b) {
    char buf[INET6_ADDRSTRLEN + 1];
    const char *zone = memchr(s, '%', n);
    if (zone) n = (size_t)(zone - s);
    if (n == 0 || n >= sizeof buf) return SG_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';

    if (zone && strchr(buf, ':') == NULL) return SG_EINVAL; /* a zone only follows IPv6 */

    memset(b, 0, sizeof *b);
    if (inet_pton(AF_INET, buf, b->addr) == 1) {
        b->family = AF_INET;
        b->prefix = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, b->addr) != 1) return SG_EINVAL;
    if (memcmp(b->addr, v4_mapped, sizeof v4_mapped) == 0) {
        memmove(b->addr, b->addr + 12, 4);
        memset(b->addr + 4, 0, 12);
        b->family = AF_INET;
        b->prefix = 32;
        return 0;
    }
    b->family = AF_INET6;
    b->prefix = 128;
    return 0;
}

/* Parses "addr" or "addr/len". Bits past the prefix are cleared ("192.0.2.1/24" is accepted as
 * 192.0.2.0/24). A mapped IPv6 block with len >= 96 becomes the IPv4 block it covers; a shorter
 * one is kept as IPv6 and, per invariant 6, can never match an IPv4 peer. */
static int parse_block(const char *s, ip_block *b) {
    const char *slash = strchr(s, '/');
    size_t addr_len = slash ? (size_t)(slash - s) : strlen(s);
    int was_v6 = memchr(s, ':', addr_len) != NULL;

    if (parse_addr(s, addr_len, b) != 0) return SG_EINVAL;
    if (!slash) return 0;

    const char *d = slash + 1;
    size_t nd = strlen(d);
    if (nd == 0 || nd > 3) return SG_EINVAL;
    unsigned len = 0;
    for (size_t i = 0; i < nd; i++) {
        if (d[i] < '0' || d[i] > '9') return SG_EINVAL;
        len = len * 10 + (unsigned)(d[i] - '0');
    }
    if (was_v6) {
        if (len > 128) return SG_EINVAL;
        if (b->family == AF_INET) {
            if (len >= 96) {
                len -= 96;
            } else {
                /* Undo the mapping: keep it as the IPv6 block the client wrote. */
                memmove(b->addr + 12, b->addr, 4);
                memcpy(b->addr, v4_mapped, sizeof v4_mapped);
                b->family = AF_INET6;
            }
        }
    } else if (len > 32) {
        return SG_EINVAL;
    }
    b->prefix = len;

    unsigned bytes = b->family == AF_INET ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bit0 = i * 8;
        if (bit0 >= len) {
            b->addr[i] = 0;
        } else if (len - bit0 < 8) {
            b->addr[i] &= (unsigned char)(0xff << (8 - (len - bit0)));
        }
    }
    return 0;
}

/* Returns 1 when address a (full length) lies inside block b. */
static int block_contains(const ip_block *b, const ip_block *a) {
    if (a->family != b->family) return 0;
    unsigned whole = b->prefix / 8, rest = b->prefix % 8;
    if (memcmp(a->addr, b->addr, whole) != 0) return 0;
    if (rest == 0) return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a->addr[whole] & mask) == b->addr[whole];
}

int auth_ip_allowed(const json_t *allowed, const char *ip) {
    if (!allowed || json_is_null(allowed)) return 1;
    if (!json_is_array(allowed)) return 0; /* invariant 5 */
    if (json_array_size(allowed) == 0) return 1;

    ip_block peer;
    if (!ip || parse_addr(ip, strlen(ip), &peer) != 0) return 0;

    size_t i;
    const json_t *v;
    json_array_foreach(allowed, i, v) {
        ip_block b;
        if (is_clean_string(v) && parse_block(json_string_value(v), &b) == 0 &&
            block_contains(&b, &peer))
            return 1;
    }
    return 0;
}

int auth_cidrs_validate(const json_t *allowed, char *err, size_t errlen) {
    if (!allowed || json_is_null(allowed)) return 0;
    if (!json_is_array(allowed)) return fail(err, errlen, "allowedIPs must be an array or null");

    size_t i;
    const json_t *v;
    json_array_foreach(allowed, i, v) {
        ip_block b;
        if (!is_clean_string(v))
            return fail(err, errlen, "allowedIPs[%zu] must be a string", i);
        if (parse_block(json_string_value(v), &b) != 0)
            return fail(err, errlen, "allowedIPs[%zu] '%s' is not an IP address or CIDR block",
                        i, json_string_value(v));
    }
    return 0;
}
