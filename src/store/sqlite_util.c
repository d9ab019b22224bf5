/*
 * sqlite_util.c - the three primitives of the core tables that every area needs: a service's
 * id by name, its balance, and appending to the ledger; and credits as JSON. Written only
 * against the SQL driver (sqldrv.h) and the shared texts of sql_msg.h, so they are the same
 * for every backend.
 *
 * Layering (store.c has the whole picture): calls only the driver (sqldrv_sqlite.c), so every
 * other file of the backend may call it.
 *
 * Invariants:
 *  1. The balance of a service is the `balance` column of its newest ledger row, and that
 *     column is always the previous balance plus `amount` (sqlite__ledger_append is the only
 *     writer of the ledger).
 */
#include "store/sqlite_int.h"

#include <jansson.h>

#include "store/sql_msg.h"
#include "store/sqldrv.h"
#include "util/util.h"

/* ---- ledger ---- */

json_t *sqlite__credits_json(int64_t milli) {
    return milli % 1000 == 0 ? json_integer(milli / 1000) : json_real((double)milli / 1000.0);
}

int64_t sqlite__balance(store_conn *c, int64_t service_id) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_ledger_balance);
    if (!st) return 0;
    sqldrv_bind_int(st, 1, service_id);
    int64_t b = sqldrv_step(c, st) == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return b;
}

int sqlite__ledger_append(store_conn *c, int64_t service_id, int64_t before, int64_t amount,
                         const char *kind, const char *ref, const char *note, int64_t *balance) {
    int64_t b = before + amount;
    sqldrv_stmt *st = sqldrv_prep(c, sql_ledger_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_int(st, 2, sg_now_ms());
    sqldrv_bind_int(st, 3, amount);
    sqldrv_bind_int(st, 4, b);
    sqldrv_bind_text(st, 5, kind);
    sqldrv_bind_text(st, 6, ref);
    sqldrv_bind_text(st, 7, note);
    int rc = sqldrv_done(c, st, "Appending to the ledger");
    if (rc == 0 && balance) *balance = b;
    return rc;
}

/* Appends a ledger row; returns 0 and the new balance in *balance. */
int sqlite__ledger_add(store_conn *c, int64_t service_id, int64_t amount, const char *kind,
                      const char *ref, int64_t *balance) {
    return sqlite__ledger_append(c, service_id, sqlite__balance(c, service_id), amount, kind, ref, NULL,
                         balance);
}

int64_t sqlite__service_id(store_conn *c, const char *name) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_service_id);
    if (!st) return 0;
    sqldrv_bind_text(st, 1, name);
    int64_t id = sqldrv_step(c, st) == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return id;
}
