/*
 * sqlite_util.c - the bottom of the SQLite backend: the statement cache and the small helpers
 * every file of the backend uses (bind, read a column, step, log a failure), and the three
 * primitives of the core tables that the feature areas need: a service's id by name, its
 * balance, and appending to the ledger.
 *
 * Layering (store.c has the whole picture): this file calls no other file of the backend (it
 * only reads the shared SQL texts of sql_msg.c), so every other file may call it.
 *
 * Invariants:
 *  1. The balance of a service is the `balance` column of its newest ledger row, and that
 *     column is always the previous balance plus `amount` (sqlite__ledger_append is the only
 *     writer of the ledger).
 *  2. Prepared statements are cached per connection, keyed by the SQL string's address (the
 *     text must be a string literal or a constant that lives as long as the program), and
 *     returned reset with no bindings.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/sql_msg.h"
#include "util/log.h"
#include "util/util.h"

int sqlite__fail(store_conn *c, const char *what) {
    sg_log_error("store.sqlite", "%s failed: %s.", what, sqlite3_errmsg(c->db));
    return SG_EIO;
}

/* A shared text (sql_<area>.h) numbers its placeholders $1..$n in order of first use, which
 * SQLite numbers by first appearance: checked once per statement, when it is prepared. */
static void check_params(sqlite3_stmt *st, const char *sql) {
    for (int i = 1, n = sqlite3_bind_parameter_count(st); i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (name && name[0] == '$' && atoi(name + 1) != i) {
            sg_log_error("store.sqlite", "Parameter %d of '%s' is '%s': number $1..$n in order "
                                         "of first use.", i, sql, name);
            abort();
        }
    }
}

/* Returns a reset, cached statement for sql (a string literal). */
sqlite3_stmt *sqlite__prep(store_conn *c, const char *sql) {
    for (int i = 0; i < c->ncache; i++) {
        if (c->cache[i].sql == sql) {
            sqlite3_reset(c->cache[i].st);
            sqlite3_clear_bindings(c->cache[i].st);
            return c->cache[i].st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sg_log_error("store.sqlite", "Preparing '%s' failed: %s.", sql, sqlite3_errmsg(c->db));
        return NULL;
    }
    check_params(st, sql);
    if (c->ncache < STMT_CACHE) {
        c->cache[c->ncache].sql = sql;
        c->cache[c->ncache].st = st;
        c->ncache++;
    } else {
        sg_log_error("store.sqlite", "Statement cache full; raise STMT_CACHE.");
        abort();
    }
    return st;
}

void sqlite__bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}
void sqlite__bind_int(sqlite3_stmt *st, int i, int64_t v) { sqlite3_bind_int64(st, i, v); }
char *sqlite__col_text(sqlite3_stmt *st, int i) {
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? sg_xstrdup((const char *)s) : NULL;
}
int64_t sqlite__col_int(sqlite3_stmt *st, int i) { return sqlite3_column_int64(st, i); }

int sqlite__exec(store_conn *c, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        sg_log_error("store.sqlite", "'%.80s' failed: %s.", sql, err ? err : "?");
        sqlite3_free(err);
        return SG_EIO;
    }
    return 0;
}

/* Runs a statement expected to finish without rows. */
int sqlite__done(store_conn *c, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) return SG_ECONFLICT;
    if (rc != SQLITE_DONE) return sqlite__fail(c, what);
    return 0;
}

/* ---- ledger ---- */

json_t *sqlite__credits_json(int64_t milli) {
    return milli % 1000 == 0 ? json_integer(milli / 1000) : json_real((double)milli / 1000.0);
}

int64_t sqlite__balance(store_conn *c, int64_t service_id) {
    sqlite3_stmt *st = sqlite__prep(c, sql_ledger_balance);
    if (!st) return 0;
    sqlite__bind_int(st, 1, service_id);
    int64_t b = sqlite3_step(st) == SQLITE_ROW ? sqlite__col_int(st, 0) : 0;
    sqlite3_reset(st);
    return b;
}

int sqlite__ledger_append(store_conn *c, int64_t service_id, int64_t before, int64_t amount,
                         const char *kind, const char *ref, const char *note, int64_t *balance) {
    int64_t b = before + amount;
    sqlite3_stmt *st = sqlite__prep(c, sql_ledger_insert);
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, service_id);
    sqlite__bind_int(st, 2, sg_now_ms());
    sqlite__bind_int(st, 3, amount);
    sqlite__bind_int(st, 4, b);
    sqlite__bind_text(st, 5, kind);
    sqlite__bind_text(st, 6, ref);
    sqlite__bind_text(st, 7, note);
    int rc = sqlite__done(c, st, "Appending to the ledger");
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
    sqlite3_stmt *st = sqlite__prep(c, sql_service_id);
    if (!st) return 0;
    sqlite__bind_text(st, 1, name);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite__col_int(st, 0) : 0;
    sqlite3_reset(st);
    return id;
}
