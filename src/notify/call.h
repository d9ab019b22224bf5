/*
 * call.h - the pure rules of one status callback that the notifier needs: its signature,
 * which peer addresses it must not reach, and when a failed call is tried again. (The URL it
 * calls and its origin are built by the store with core/callurl.h.)
 *
 * No I/O and no state: every function is safe on any thread.
 */
#ifndef SG_NOTIFY_CALL_H
#define SG_NOTIFY_CALL_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* The signature header value: "sha256=" + lower-case hex of HMAC-SHA256(secret, data). */
#define NOTIFY_CALL_SIG_LEN (7 + 64 + 1)
void notify_call_sign(const char *secret, const char *data, size_t len,
                      char out[NOTIFY_CALL_SIG_LEN]);

/* What a peer address is, as a destination for a URL a customer gave us.
 * NOTIFY_ADDR_FORBIDDEN: link-local (169.254.0.0/16, fe80::/10) and the cloud metadata services
 * (169.254.169.254, fd00:ec2::254, 100.100.100.200, 192.0.0.192), also when mapped,
 * translated or embedded into IPv6: never a destination, even on a test bench.
 * NOTIFY_ADDR_PRIVATE: any other address that is not a public unicast address: unspecified,
 * loopback, private (RFC 1918, unique local fc00::/7), carrier-grade NAT, multicast, reserved
 * or documentation ranges, and IPv4 addresses mapped or translated into IPv6 that are one of
 * those; address families other than IPv4 and IPv6.
 * NOTIFY_ADDR_PUBLIC: the rest. */
enum { NOTIFY_ADDR_PUBLIC = 0, NOTIFY_ADDR_PRIVATE = 1, NOTIFY_ADDR_FORBIDDEN = 2 };
int notify_call_addr_class(const struct sockaddr *sa);

/* The one destination rule: 1 when sa must not be connected to. FORBIDDEN addresses always
 * are; PRIVATE ones unless allow_private (callback-allow-private). */
int notify_call_addr_refused(const struct sockaddr *sa, int allow_private);

/* notify_call_addr_refused() with allow_private 0 and 1, as hclient_refuse_cb hooks. */
int notify_call_addr_private(const struct sockaddr *sa);
int notify_call_addr_forbidden(const struct sockaddr *sa);

/* notify_call_addr_class() of an address written as text ("169.254.169.254", "::1");
 * NOTIFY_ADDR_PRIVATE when addr is not an IPv4 or IPv6 address. */
int notify_call_addr_text_class(const char *addr);

/* The delay before the next attempt after `attempts` failed ones (>= 1): base_ms doubled for
 * each further failure, capped at max_ms, then spread over [d/2, d] with rnd (any 32-bit
 * random value), so calls that failed together do not all come back at the same moment. */
int64_t notify_call_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms, uint32_t rnd);

#endif
