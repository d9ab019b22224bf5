/*
 * store_idem.h - idempotency records: the first answer to a request that carried an
 * Idempotency-Key, kept so that a retry gets it again instead of creating (sending, charging)
 * a second time. Part of store.h; the API side is api/idem.c, the design is there.
 *
 * A record is written by the store thread in the same savepoint as the operation that created
 * something, right after that operation succeeded and before the batch commits: the operation
 * is queued with store_<op>_idem() and a store_idem that says how to render the answer. Either
 * both the creation and its answer are durable, or neither is: a crash between the commit and
 * the reply leaves an answer a retry can be given.
 *
 * Thread: the struct belongs to the caller (loop thread), like every request struct, until the
 * operation's callback; render() runs on the store thread while the caller waits.
 */
#ifndef SG_STORE_IDEM_H
#define SG_STORE_IDEM_H

#include <stddef.h>
#include <stdint.h>

#define STORE_IDEM_FP_LEN 64 /* hex SHA-256 */

typedef struct store_idem {
    /* in */
    const char *scope;      /* who: "c<credential id>" or "admin"; keys of two scopes never meet */
    const char *key;        /* the Idempotency-Key, unquoted */
    char fingerprint[STORE_IDEM_FP_LEN + 1]; /* hex SHA-256 of method, path and body */
    int64_t now_ms;
    int64_t ttl_ms;         /* a record older than this is forgotten (and may be replaced) */
    /* Called on the store thread when the operation succeeded, inside its savepoint: returns
     * the answer's body (new, NUL-terminated) and sets *status. Must touch nothing but what the
     * operation's caller keeps for it. NULL fails the operation with SG_EIO. */
    char *(*render)(void *arg, int *status);
    void *render_arg;
    /* Optional: one more operation of this store, run after the operation succeeded and before
     * render(), in the same savepoint, to read back what it created (a batch's row as GET
     * shows it). Set with store_idem_then_<op>() (store.h); its failure fails the operation. */
    int then_kind;
    void *then_req;
    /* out: idem_get, or the operation's record. When the operation's key turned out to be
     * taken at commit time (a duplicate that raced it past the API's checks), the operation
     * was rolled back, its callback gets SG_ECONFLICT with found = 1, and found, mismatch,
     * status and body describe the record that was there. */
    int found;              /* a live record exists for scope + key */
    int mismatch;           /* ... and its fingerprint differs from this one */
    int recorded;           /* the operation's answer was rendered and stored */
    int status;
    char *body;             /* new (store_idem_fini) */
} store_idem;
void store_idem_fini(store_idem *r);

/* Deletes up to limit records created before before_ms (oldest first). */
typedef struct store_idem_prune_req {
    int64_t before_ms;
    size_t limit;
    size_t deleted; /* out */
} store_idem_prune_req;

/* The operations of this file, appended to STORE_OPS in store.h:
 *   idem_get    scope, key, fingerprint, now_ms, ttl_ms -> found, mismatch, status, body
 *   idem_prune  see above */
#define STORE_IDEM_OPS(X)                                     \
    X(idem_get, store_idem)                                   \
    X(idem_prune, store_idem_prune_req)

#endif
