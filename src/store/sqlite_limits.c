/*
 * sqlite_limits.c - the limits area of the SQLite backend (store_limits.h).
 *
 * Columns (migration limits/1):
 *   accounts.rate_limit, accounts.rate_burst   the operator's request rate per application key
 *                 of the account, and its burst; NULL = the server's settings. auth_lookup
 *                 (store_core_sql.c) reads them with every credential, so they reach the API
 *                 through the same cache as the credential itself.
 *   credentials_pending   an index of the keys still waiting for validation, by request
 *                 time, for credential_expire.
 *
 * Invariants:
 *  1. credential_expire only deletes keys that were never validated (pendingValidation, or
 *     expired, the state credential_state gives a pending key validated too late); a
 *     validated, refused or account key is never touched.
 *  2. It deletes at most limit rows per call, so one batch of the store thread stays short
 *     whatever the backlog (a flood of requests before an upgrade).
 *
 * Its statements run through the SQL driver only (sqldrv.h) and their texts are accepted by
 * both dialects; the migration is SQLite's (PostgreSQL's: schema_pg.c).
 */
#include "store/sqlite_limits_int.h"

#include "store/sqldrv.h"

#include "util/util.h"

const char *const sqlite_limits_migrations[SQLITE_LIMITS_MIGRATIONS] = {
    /* 1: per-account rate limits; the index of pending consumer keys */
    "ALTER TABLE accounts ADD COLUMN rate_limit INTEGER;"
    "ALTER TABLE accounts ADD COLUMN rate_burst INTEGER;"
    "CREATE INDEX credentials_pending ON credentials(created_ms)"
    "  WHERE state IN ('pendingValidation', 'expired');",
};

static int64_t col_or_default(sqldrv_stmt *st, int i) {
    return sqldrv_col_null(st, i) ? -1 : sqldrv_col_int(st, i);
}

static void bind_or_null(sqldrv_stmt *st, int i, int64_t v) {
    if (v < 0) sqldrv_bind_null(st, i);
    else sqldrv_bind_int(st, i, v);
}

int sqlite__account_limit(store_conn *c, store_account_limit_req *r) {
    sqldrv_stmt *st;
    if (r->set) {
        st = sqldrv_prep(c, "UPDATE accounts SET rate_limit = $1, rate_burst = $2 WHERE name = $3");
        if (!st) return SG_EIO;
        bind_or_null(st, 1, r->rate);
        bind_or_null(st, 2, r->burst);
        sqldrv_bind_text(st, 3, r->name);
        int rc = sqldrv_done(c, st, "Setting an account's rate limit");
        if (rc) return rc;
        if (!sqldrv_changes(c)) return SG_ENOTFOUND;
    }
    st = sqldrv_prep(c, "SELECT rate_limit, rate_burst FROM accounts WHERE name = $1");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    int found = sqldrv_step(c, st) == 1;
    if (found) {
        r->rate = col_or_default(st, 0);
        r->burst = col_or_default(st, 1);
    }
    sqldrv_reset(st);
    return found ? 0 : SG_ENOTFOUND;
}

int sqlite__credential_expire(store_conn *c, store_credential_expire_req *r) {
    sqldrv_stmt *st = sqldrv_prep(
        c, "DELETE FROM credentials WHERE id IN (SELECT id FROM credentials "
           "WHERE state IN ('pendingValidation', 'expired') AND created_ms < $1 "
           "ORDER BY created_ms LIMIT $2)");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->before_ms);
    sqldrv_bind_int(st, 2, r->limit > 0 ? r->limit : 1);
    int rc = sqldrv_done(c, st, "Deleting expired consumer key requests");
    if (rc) return rc;
    r->deleted = sqldrv_changes(c);
    r->more = r->deleted >= (r->limit > 0 ? r->limit : 1);
    return 0;
}
