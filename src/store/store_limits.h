/*
 * store_limits.h - the limits area of the store: an operator's rate limit per account (read
 * back with every credential by auth_lookup) and the expiry of consumer keys that were
 * requested but never validated.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback.
 */
#ifndef SG_STORE_LIMITS_H
#define SG_STORE_LIMITS_H

#include <stdint.h>

/* account_limit: sets (set = 1) or only reads (set = 0) the request rate limit of the account
 * named name, per application key of that account. rate and burst: requests per second and at
 * once; -1 = the server's setting (rate-limit-per-key), 0 = no limit (rate) or one second's
 * worth (burst). Out: the values now stored (-1 for the server's). SG_ENOTFOUND without such
 * an account. */
typedef struct store_account_limit_req {
    const char *name;
    int set;
    int64_t rate, burst; /* in (set) and out */
} store_account_limit_req;

/* credential_expire: the housekeeping of requested consumer keys. Deletes up to limit keys
 * still pendingValidation (or marked expired) that were requested before before_ms. Out: how
 * many went, and whether more are left. */
typedef struct store_credential_expire_req {
    int64_t before_ms;
    int limit;
    int deleted, more; /* out */
} store_credential_expire_req;

#define STORE_LIMITS_OPS(X)                                   \
    X(account_limit, store_account_limit_req)                 \
    X(credential_expire, store_credential_expire_req)

#endif
