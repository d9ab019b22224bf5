/*
 * call.c - the pure rules of one status callback (see call.h).
 *
 * Design. A status callback is an HTTP GET whose whole content is its URL, built once when
 * the event is stored (core/callurl.c, called by the store), so every retry sends exactly the
 * same request and the signature (an HMAC of the query string, callurl_query()) can be
 * recomputed at each attempt from the URL alone.
 *
 * Invariants:
 *  1. notify_call_addr_class() errs on the side of refusing: anything it does not recognise
 *     as a public IPv4 or IPv6 unicast address is private. notify_call_addr_refused() is the
 *     one decision for every URL fetched on a customer's behalf (callbacks, redirects, CSV
 *     downloads): link-local and metadata addresses are refused whatever allow_private says.
 */
#include "notify/call.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/receipt.h"
#include "util/digest.h"
#include "util/util.h"

void notify_call_sign(const char *secret, const char *data, size_t len,
                      char out[NOTIFY_CALL_SIG_LEN]) {
    unsigned char mac[32];
    sg_hmac_sha256(secret, strlen(secret), data, len, mac);
    memcpy(out, "sha256=", 7);
    sg_hex(mac, sizeof mac, out + 7);
}

/* ---- peer addresses ---- */

/* Each classifier returns a notify_addr_class. Link-local ranges and the cloud metadata
 * services are NOTIFY_ADDR_FORBIDDEN: never a legitimate destination for a customer's URL, on a
 * test bench or anywhere else, so callback-allow-private does not lift them. */
static int v4_class(uint32_t a) {
    static const struct {
        uint32_t net, mask;
        int cls;
    } ranges[] = {
        {0xa9fe0000, 0xffff0000, NOTIFY_ADDR_FORBIDDEN}, /* 169.254.0.0/16 link-local, which
                                                            holds 169.254.169.254 (metadata) */
        {0x646464c8, 0xffffffff, NOTIFY_ADDR_FORBIDDEN}, /* 100.100.100.200 metadata (Alibaba) */
        {0xc00000c0, 0xffffffff, NOTIFY_ADDR_FORBIDDEN}, /* 192.0.0.192 metadata (Oracle) */
        {0x00000000, 0xff000000, NOTIFY_ADDR_PRIVATE}, /* 0.0.0.0/8 "this network" */
        {0x0a000000, 0xff000000, NOTIFY_ADDR_PRIVATE}, /* 10.0.0.0/8 private */
        {0x64400000, 0xffc00000, NOTIFY_ADDR_PRIVATE}, /* 100.64.0.0/10 carrier-grade NAT */
        {0x7f000000, 0xff000000, NOTIFY_ADDR_PRIVATE}, /* 127.0.0.0/8 loopback */
        {0xac100000, 0xfff00000, NOTIFY_ADDR_PRIVATE}, /* 172.16.0.0/12 private */
        {0xc0000000, 0xffffff00, NOTIFY_ADDR_PRIVATE}, /* 192.0.0.0/24 protocol assignments */
        {0xc0000200, 0xffffff00, NOTIFY_ADDR_PRIVATE}, /* 192.0.2.0/24 documentation */
        {0xc0a80000, 0xffff0000, NOTIFY_ADDR_PRIVATE}, /* 192.168.0.0/16 private */
        {0xc6120000, 0xfffe0000, NOTIFY_ADDR_PRIVATE}, /* 198.18.0.0/15 benchmarking */
        {0xc6336400, 0xffffff00, NOTIFY_ADDR_PRIVATE}, /* 198.51.100.0/24 documentation */
        {0xcb007100, 0xffffff00, NOTIFY_ADDR_PRIVATE}, /* 203.0.113.0/24 documentation */
        {0xe0000000, 0xf0000000, NOTIFY_ADDR_PRIVATE}, /* 224.0.0.0/4 multicast */
        {0xf0000000, 0xf0000000, NOTIFY_ADDR_PRIVATE}, /* 240.0.0.0/4 reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if ((a & ranges[i].mask) == ranges[i].net) return ranges[i].cls;
    return NOTIFY_ADDR_PUBLIC;
}

static uint32_t v4_at(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int v6_class(const unsigned char *b) {
    static const unsigned char zero[12] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    /* fd00:ec2::254, the metadata service of AWS over IPv6 (inside fc00::/7). */
    static const unsigned char ec2[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0,
                                          0,    0, 0,    0,    0, 0, 0x02, 0x54};
    if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) return v4_class(v4_at(b + 12));
    if (!memcmp(b, zero, 12)) {                             /* ::, ::1, IPv4-compatible */
        int c = v4_class(v4_at(b + 12));
        return c == NOTIFY_ADDR_FORBIDDEN ? c : NOTIFY_ADDR_PRIVATE;
    }
    if (b[0] == 0x20 && b[1] == 0x02) return v4_class(v4_at(b + 2)); /* 2002::/16 6to4 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return NOTIFY_ADDR_FORBIDDEN; /* fe80::/10 */
    if (!memcmp(b, ec2, 16)) return NOTIFY_ADDR_FORBIDDEN;
    /* 64:ff9b:1::/48, local-use NAT64 (RFC 8215): the IPv4 address may sit anywhere in it
     * (RFC 6052 formats), the metadata address included, so none of it is ever called. */
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1)
        return NOTIFY_ADDR_FORBIDDEN;
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) /* other NAT64 */
        return NOTIFY_ADDR_PRIVATE;
    if (b[0] == 0x01 && b[1] == 0x00 && !memcmp(b + 2, zero, 6)) /* 100::/64 discard */
        return NOTIFY_ADDR_PRIVATE;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* 2001:db8::/32 */
        return NOTIFY_ADDR_PRIVATE;
    if ((b[0] & 0xfe) == 0xfc) return NOTIFY_ADDR_PRIVATE;             /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return NOTIFY_ADDR_PRIVATE; /* fec0::/10 */
    if (b[0] == 0xff) return NOTIFY_ADDR_PRIVATE;                      /* ff00::/8 multicast */
    return NOTIFY_ADDR_PUBLIC;
}

int notify_call_addr_class(const struct sockaddr *sa) {
    if (!sa) return NOTIFY_ADDR_PRIVATE;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_class(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_class(in6->sin6_addr.s6_addr);
    }
    return NOTIFY_ADDR_PRIVATE;
}

int notify_call_addr_refused(const struct sockaddr *sa, int allow_private) {
    int c = notify_call_addr_class(sa);
    return c == NOTIFY_ADDR_FORBIDDEN || (c == NOTIFY_ADDR_PRIVATE && !allow_private);
}

int notify_call_addr_private(const struct sockaddr *sa) { return notify_call_addr_refused(sa, 0); }

int notify_call_addr_forbidden(const struct sockaddr *sa) { return notify_call_addr_refused(sa, 1); }

int notify_call_addr_text_class(const char *addr) {
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, addr, &in.sin_addr) == 1)
        return notify_call_addr_class((const struct sockaddr *)&in);
    if (inet_pton(AF_INET6, addr, &in6.sin6_addr) == 1)
        return notify_call_addr_class((const struct sockaddr *)&in6);
    return NOTIFY_ADDR_PRIVATE;
}

int64_t notify_call_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, uint32_t rnd) {
    if (base_ms < 1) base_ms = 1;
    if (max_ms < base_ms) max_ms = base_ms;
    int64_t d = base_ms;
    for (int i = 1; i < attempts && d < max_ms; i++) d *= 2;
    if (d > max_ms) d = max_ms;
    int64_t half = d / 2;
    return d - half + (int64_t)(rnd % (uint64_t)(half + 1));
}
