/*
 * sqldrv_sqlite.c - the SQL driver (sqldrv.h) for SQLite, and the statement cache under it:
 * the bottom of the SQLite backend. Also the older helpers over raw sqlite3_stmt
 * (sqlite__prep, sqlite__bind_*, sqlite__col_*, sqlite__done, sqlite__exec, sqlite__fail)
 * that the files not yet written against the driver still call (sqlite_int.h).
 *
 * Design. sqldrv_stmt is sqlite3_stmt itself (a cast, no wrapper): every driver call is one
 * SQLite call, so an operation on the driver runs exactly what it ran before. The public
 * sqldrv_* names are defined here for both drivers: each starts with one test, of the
 * connection's dialect or of the statement pointer's tag bit (sqldrv_pg.h), that hands a
 * PostgreSQL connection or statement to sqldrv_pg.c; SQLite's path is the fall-through. The cache is a
 * per-connection array searched by the text's address (invariant 2), as before the driver.
 * A text ending with SQLDRV_RETURNING_ID is prepared without that suffix and its id read
 * with sqlite3_last_insert_rowid() (sqldrv.h, "Dialects": SQLite's RETURNING would fill an
 * ephemeral table on every insert of the send path).
 *
 * Layering (store.c has the whole picture): calls sqldrv_pg.c only (the dispatch); every
 * other file of either backend may call it.
 *
 * Invariants:
 *  1. A statement returned by sqldrv_prep()/sqlite__prep() is reset and has no bindings.
 *  2. Statements are cached per connection, keyed by the SQL string's address (the text must
 *     be a string literal or a constant that lives as long as the program); at most
 *     STMT_CACHE of them (more aborts: raise it).
 *  3. A shared text numbers its placeholders $1..$n in order of first use (checked once, when
 *     the statement is prepared).
 */
#include "store/sqldrv.h"
#include "store/sqlite_int.h"
#include "store/sqldrv_pg.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/log.h"
#include "util/util.h"

#define ST(s) ((sqlite3_stmt *)(s))

sqldrv_dialect_kind sqldrv_dialect(store_conn *c) { return c->dialect; }

int sqlite__fail(store_conn *c, const char *what) {
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__fail(c, what);
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

/* Returns a reset, cached statement for sql (a string literal). The driver's sqldrv_prep()
 * is this very function: no call added on the send path. */
sqldrv_stmt *sqldrv_prep(store_conn *c, const char *sql) {
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__prep(c, sql);
    for (int i = 0; i < c->ncache; i++) {
        if (c->cache[i].sql == sql) {
            sqlite3_reset(c->cache[i].st);
            sqlite3_clear_bindings(c->cache[i].st);
            return (sqldrv_stmt *)c->cache[i].st;
        }
    }
    /* dialect: the id of a new row is read with sqlite3_last_insert_rowid (sqldrv_insert) */
    size_t len = strlen(sql), suffix = sizeof SQLDRV_RETURNING_ID - 1;
    if (len > suffix && memcmp(sql + len - suffix, SQLDRV_RETURNING_ID, suffix) == 0)
        len -= suffix;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, (int)len, &st, NULL) != SQLITE_OK) {
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
    return (sqldrv_stmt *)st;
}

/* The raw statement of the operations not yet on the driver: SQLite's only (on a PostgreSQL
 * connection they fail, logged, instead of handing a PostgreSQL statement to SQLite). */
sqlite3_stmt *sqlite__prep(store_conn *c, const char *sql) {
    if (SQLDRV_CONN_PG(c)) {
        sg_log_error("store", "'%.80s' is SQLite's own (not yet on the SQL driver).", sql);
        return NULL;
    }
    return ST(sqldrv_prep(c, sql));
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
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__exec(c, sql, "A statement");
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
    return sqldrv_done(c, (sqldrv_stmt *)st, what);
}

/* ---- the driver (sqldrv.h) ---- */

void sqldrv_bind_int(sqldrv_stmt *st, int i, int64_t v) {
    if (SQLDRV_IS_PG(st)) sqldrv_pg__bind_int(st, i, v);
    else sqlite3_bind_int64(ST(st), i, v);
}
void sqldrv_bind_double(sqldrv_stmt *st, int i, double v) {
    if (SQLDRV_IS_PG(st)) sqldrv_pg__bind_double(st, i, v);
    else sqlite3_bind_double(ST(st), i, v);
}
void sqldrv_bind_text(sqldrv_stmt *st, int i, const char *s) {
    if (SQLDRV_IS_PG(st)) sqldrv_pg__bind_text(st, i, s);
    else if (s) sqlite3_bind_text(ST(st), i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(ST(st), i);
}
void sqldrv_bind_textn(sqldrv_stmt *st, int i, const char *s, size_t n) {
    if (SQLDRV_IS_PG(st)) sqldrv_pg__bind_textn(st, i, s, n);
    else sqlite3_bind_text(ST(st), i, s, (int)n, SQLITE_STATIC);
}
void sqldrv_bind_null(sqldrv_stmt *st, int i) {
    if (SQLDRV_IS_PG(st)) sqldrv_pg__bind_null(st, i);
    else sqlite3_bind_null(ST(st), i);
}
void sqldrv_bind_blob(sqldrv_stmt *st, int i, const void *p, size_t n) {
    if (SQLDRV_IS_PG(st)) sqldrv_pg__bind_blob(st, i, p, n);
    else sqlite3_bind_blob(ST(st), i, p, (int)n, SQLITE_STATIC);
}

int sqldrv_step(store_conn *c, sqldrv_stmt *st) {
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__step(c, st);
    int rc = sqlite3_step(ST(st));
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    if (rc == SQLITE_CONSTRAINT) return SG_ECONFLICT;
    sg_log_error("store.sqlite", "'%.80s' failed: %s.", sqlite3_sql(ST(st)),
                 sqlite3_errmsg(c->db));
    return SG_EIO;
}

int sqldrv_done(store_conn *c, sqldrv_stmt *st, const char *what) {
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__done(c, st, what);
    int rc = sqlite3_step(ST(st));
    if (rc == SQLITE_CONSTRAINT) return SG_ECONFLICT;
    if (rc != SQLITE_DONE) return sqlite__fail(c, what);
    return 0;
}

int sqldrv_insert(store_conn *c, sqldrv_stmt *st, const char *what, int64_t *id) {
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__insert(c, st, what, id);
    int rc = sqldrv_done(c, st, what);
    if (rc == 0) *id = sqlite3_last_insert_rowid(c->db); /* dialect: the new id */
    return rc;
}

void sqldrv_reset(sqldrv_stmt *st) {
    if (SQLDRV_IS_PG(st)) sqldrv_pg__reset(st);
    else sqlite3_reset(ST(st));
}
int64_t sqldrv_changes(store_conn *c) {
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__changes(c);
    return sqlite3_changes(c->db);
}
/* SQLite runs every statement when it is called: nothing is ever left to settle. */
int sqldrv_settle(store_conn *c) {
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__settle(c);
    return 0;
}

/* SQLite has no server to wait for: nothing is counted. */
void sqldrv_counters(store_conn *c, uint64_t *trips, uint64_t *stmts) {
    if (SQLDRV_CONN_PG(c)) {
        sqldrv_pg__counters(c, trips, stmts);
        return;
    }
    *trips = *stmts = 0;
}

int64_t sqldrv_col_int(sqldrv_stmt *st, int i) {
    if (SQLDRV_IS_PG(st)) return sqldrv_pg__col_int(st, i);
    return sqlite3_column_int64(ST(st), i);
}
double sqldrv_col_double(sqldrv_stmt *st, int i) {
    if (SQLDRV_IS_PG(st)) return sqldrv_pg__col_double(st, i);
    return sqlite3_column_double(ST(st), i);
}
int sqldrv_col_null(sqldrv_stmt *st, int i) {
    if (SQLDRV_IS_PG(st)) return sqldrv_pg__col_null(st, i);
    return sqlite3_column_type(ST(st), i) == SQLITE_NULL;
}
const char *sqldrv_col_str(sqldrv_stmt *st, int i) {
    if (SQLDRV_IS_PG(st)) return sqldrv_pg__col_str(st, i);
    return (const char *)sqlite3_column_text(ST(st), i);
}
char *sqldrv_col_text(sqldrv_stmt *st, int i) {
    if (SQLDRV_IS_PG(st)) {
        const char *s = sqldrv_pg__col_str(st, i);
        return s ? sg_xstrdup(s) : NULL;
    }
    return sqlite__col_text(ST(st), i);
}
const void *sqldrv_col_blob(sqldrv_stmt *st, int i, size_t *n) {
    if (SQLDRV_IS_PG(st)) return sqldrv_pg__col_blob(st, i, n);
    const void *b = sqlite3_column_blob(ST(st), i); /* then the size, as SQLite asks */
    *n = (size_t)sqlite3_column_bytes(ST(st), i);
    return b;
}

int sqldrv_fail(store_conn *c, const char *what) { return sqlite__fail(c, what); }

/* BEGIN, COMMIT and the savepoint statements run through the statement cache: they run for
 * every operation (a savepoint each) and every batch, so they are not compiled again each
 * time. */
static int run_cached(store_conn *c, const char *sql) {
    sqlite3_stmt *st = sqlite__prep(c, sql);
    if (!st) return SG_EIO;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        sg_log_error("store.sqlite", "'%s' failed: %s.", sql, sqlite3_errmsg(c->db));
        return SG_EIO;
    }
    return 0;
}

/* c->ops counts the operations begun, and jumps by 2 at each transaction's boundary and each
 * rolled-back operation: "the previous operation of this transaction, not rolled back" is
 * then ops - 1 (sqldrv_conn.h; store_core_sql.c's send memo). */
int sqldrv_begin(store_conn *c) {
    c->ops += 2;
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__begin(c);
    return run_cached(c, "BEGIN IMMEDIATE");
}
int sqldrv_commit(store_conn *c) {
    c->ops += 2;
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__commit(c);
    return run_cached(c, "COMMIT");
}
void sqldrv_rollback(store_conn *c) {
    c->ops += 2;
    if (SQLDRV_CONN_PG(c)) sqldrv_pg__rollback(c);
    else if (!sqlite3_get_autocommit(c->db)) sqlite__exec(c, "ROLLBACK");
}
int sqldrv_savepoint(store_conn *c) {
    c->ops++;
    if (SQLDRV_CONN_PG(c)) return sqldrv_pg__savepoint(c);
    return run_cached(c, "SAVEPOINT op");
}
void sqldrv_unsaved(store_conn *c) {
    c->ops++;
}
void sqldrv_release(store_conn *c, int rollback_first) {
    if (rollback_first) c->ops += 2;
    if (SQLDRV_CONN_PG(c)) {
        sqldrv_pg__release(c, rollback_first);
        return;
    }
    if (rollback_first) run_cached(c, "ROLLBACK TO op");
    run_cached(c, "RELEASE op");
}
