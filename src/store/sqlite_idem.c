/*
 * sqlite_idem.c - the SQLite side of idempotency records (store_idem.h; the design is in
 * api/idem.c).
 *
 * One table, `idempotency`: one row per (scope, key), with the request's fingerprint, the
 * answer's status and its exact bytes, and when it was made. A row is live while
 * created_ms > now - ttl; an older row is ignored by idem_get, replaced by idem_put, and
 * deleted by idem_prune (oldest first, a bounded number per call).
 *
 * Invariants:
 *  1. sqlite__idem_put runs in the savepoint of the operation whose answer it keeps (store.c
 *     run_batch), so the row commits with that operation or not at all.
 *  2. At most one row per (scope, key) (primary key); a live row is never overwritten: a put
 *     that meets one reports it (SG_ECONFLICT) and the operation is rolled back.
 *
 * Its statements run through the SQL driver only (sqldrv.h) and their texts are accepted by
 * both dialects; the migration is SQLite's (PostgreSQL's: schema_pg.c).
 *
 * Several nodes (PostgreSQL). Two nodes may record the same key at once: each reads no live
 * row, and both write. The write replaces only a row that is no longer live (the upsert's
 * WHERE), so the second writer, which waits for the first one's commit, changes nothing and
 * reports the first one's record as found (invariant 2). With SQLite's one writer the read
 * already said so and the WHERE always holds.
 */
#include "store/sqlite_idem_int.h"

#include "store/sqldrv.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

const char *const sqlite_idem_migrations[SQLITE_IDEM_MIGRATIONS] = {
    /* 1: answers kept for Idempotency-Key retries */
    "CREATE TABLE idempotency ("
    "  scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL,"
    "  PRIMARY KEY (scope, key)) WITHOUT ROWID;"
    "CREATE INDEX idempotency_age ON idempotency(created_ms);",
};

/* Reads the live row of r's scope and key into r (found, mismatch, status, body). */
static int get_live(store_conn *c, store_idem *r) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT fingerprint, status, body FROM idempotency "
                                       "WHERE scope = $1 AND key = $2 AND created_ms > $3");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->scope);
    sqldrv_bind_text(st, 2, r->key);
    sqldrv_bind_int(st, 3, r->now_ms - r->ttl_ms);
    int rc = sqldrv_step(c, st);
    r->found = r->mismatch = 0;
    if (rc == 1) {
        const char *fp = sqldrv_col_str(st, 0);
        r->found = 1;
        r->mismatch = !fp || strcmp(fp, r->fingerprint) != 0;
        r->status = (int)sqldrv_col_int(st, 1);
        size_t n;
        const void *b = sqldrv_col_blob(st, 2, &n);
        free(r->body);
        r->body = sg_xmalloc(n + 1);
        if (n) memcpy(r->body, b, n);
        r->body[n] = '\0';
        rc = 0;
    }
    sqldrv_reset(st);
    return rc; /* an error is logged by the driver */
}

int sqlite__idem_get(store_conn *c, store_idem *r) { return get_live(c, r); }

int sqlite__idem_put(store_conn *c, store_idem *r) {
    int rc = get_live(c, r);
    if (rc) return rc;
    if (r->found) {
        r->recorded = 0;
        return SG_ECONFLICT;
    }
    /* An expired row of the same key may still be there (not pruned yet): replaced. A live
     * one written meanwhile by another node is not (the essay, "Several nodes"). */
    sqldrv_stmt *st = sqldrv_prep(c, "INSERT INTO idempotency(scope, key, fingerprint, "
                                       "created_ms, status, body) VALUES ($1, $2, $3, $4, $5, $6) "
                                       "ON CONFLICT (scope, key) DO UPDATE SET "
                                       "fingerprint = excluded.fingerprint, "
                                       "created_ms = excluded.created_ms, "
                                       "status = excluded.status, body = excluded.body "
                                       "WHERE idempotency.created_ms <= $7");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->scope);
    sqldrv_bind_text(st, 2, r->key);
    sqldrv_bind_text(st, 3, r->fingerprint);
    sqldrv_bind_int(st, 4, r->now_ms);
    sqldrv_bind_int(st, 5, r->status);
    sqldrv_bind_blob(st, 6, r->body, strlen(r->body)); /* the caller's: sqldrv.h */
    sqldrv_bind_int(st, 7, r->now_ms - r->ttl_ms);
    rc = sqldrv_done(c, st, "Recording an idempotency record");
    if (rc) return rc == SG_ECONFLICT ? SG_EIO : rc;
    if (sqldrv_changes(c) == 0) { /* a live record of another node won the race */
        if ((rc = get_live(c, r))) return rc;
        r->recorded = 0;
        return r->found ? SG_ECONFLICT : SG_EIO;
    }
    return 0;
}

int sqlite__idem_prune(store_conn *c, store_idem_prune_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, "DELETE FROM idempotency WHERE (scope, key) IN ("
                                       "SELECT scope, key FROM idempotency WHERE created_ms < $1 "
                                       "ORDER BY created_ms LIMIT $2)");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->before_ms);
    sqldrv_bind_int(st, 2, (int64_t)r->limit);
    int rc = sqldrv_done(c, st, "Pruning idempotency records");
    if (rc) return rc;
    r->deleted = (size_t)sqldrv_changes(c);
    return 0;
}
