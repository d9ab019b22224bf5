/*
 * sqldrv_pg.h - the PostgreSQL driver (sqldrv_pg.c), inside store/ only: the connection's
 * life (connect, close, reconnection) for the PostgreSQL backend (postgres.c), and the
 * driver calls (sqldrv.h) that sqldrv_sqlite.c hands over when a connection or statement is
 * PostgreSQL's.
 *
 * Statements. A PostgreSQL statement (struct sqldrv_pg_stmt, private to sqldrv_pg.c) is
 * handed out as a sqldrv_stmt pointer with its lowest bit set: SQLite's statements are
 * sqlite3_stmt pointers themselves (aligned, so that bit is clear), and the calls that take
 * only a statement (binds, columns, reset) tell the drivers apart with that one bit, without
 * reading memory and without a wrapper around SQLite's statement.
 *
 * Threads: the store thread of the connection only.
 */
#ifndef SG_STORE_SQLDRV_PG_H
#define SG_STORE_SQLDRV_PG_H

#include <stddef.h>
#include <stdint.h>

#include "store/sqldrv.h"

/* 1 when st is a PostgreSQL statement (its pointer is tagged, above). */
#define SQLDRV_IS_PG(st) (__builtin_expect(((uintptr_t)(st) & 1u) != 0, 0))
/* 1 when c is a PostgreSQL connection. */
#define SQLDRV_CONN_PG(c) (__builtin_expect((c)->dialect == SQLDRV_POSTGRES, 0))

/* ---- the connection (postgres.c) ---- */

/* Connects c (zeroed but for the operation files' fields) to the database named by conninfo
 * (a libpq connection string or URI, kept for reconnection) and sets it up for the store
 * (synchronous_commit on). 0, or SG_EUNAVAIL (logged) when the server cannot be reached or
 * refuses; c->pg is then freed. */
int sqldrv_pg__connect(store_conn *c, const char *conninfo);
/* libpq's message m (several lines, a final newline) as one log line in buf (n bytes):
 * newlines and tabs become one space, no trailing dot; "unknown error" when empty. */
const char *sqldrv_pg__message(const char *m, char *buf, size_t n);
/* Closes the session and frees every statement; c itself stays the caller's. */
void sqldrv_pg__close(store_conn *c);
/* Runs sql (one or several statements, no parameters) with the simple protocol: 0, SG_EIO or
 * SG_EUNAVAIL (logged with what). For migrations and session settings. */
int sqldrv_pg__exec(store_conn *c, const char *sql, const char *what);
/* Reconnection: the delays between attempts, doubling from the first to the last (ms). */
#define SQLDRV_PG_RETRY_MIN_MS 100
#define SQLDRV_PG_RETRY_MAX_MS 5000

/* ---- the driver calls (sqldrv.h), reached through sqldrv_sqlite.c ---- */

sqldrv_stmt *sqldrv_pg__prep(store_conn *c, const char *sql);
void sqldrv_pg__bind_int(sqldrv_stmt *st, int i, int64_t v);
void sqldrv_pg__bind_double(sqldrv_stmt *st, int i, double v);
void sqldrv_pg__bind_text(sqldrv_stmt *st, int i, const char *s);
void sqldrv_pg__bind_textn(sqldrv_stmt *st, int i, const char *s, size_t n);
void sqldrv_pg__bind_null(sqldrv_stmt *st, int i);
void sqldrv_pg__bind_blob(sqldrv_stmt *st, int i, const void *p, size_t n);
int sqldrv_pg__step(store_conn *c, sqldrv_stmt *st);
int sqldrv_pg__done(store_conn *c, sqldrv_stmt *st, const char *what);
int sqldrv_pg__insert(store_conn *c, sqldrv_stmt *st, const char *what, int64_t *id);
void sqldrv_pg__reset(sqldrv_stmt *st);
int64_t sqldrv_pg__changes(store_conn *c);
int sqldrv_pg__settle(store_conn *c);
void sqldrv_pg__counters(store_conn *c, uint64_t *trips, uint64_t *stmts);
int64_t sqldrv_pg__col_int(sqldrv_stmt *st, int i);
double sqldrv_pg__col_double(sqldrv_stmt *st, int i);
int sqldrv_pg__col_null(sqldrv_stmt *st, int i);
const char *sqldrv_pg__col_str(sqldrv_stmt *st, int i);
const void *sqldrv_pg__col_blob(sqldrv_stmt *st, int i, size_t *n);
int sqldrv_pg__begin(store_conn *c);
int sqldrv_pg__commit(store_conn *c);
void sqldrv_pg__rollback(store_conn *c);
int sqldrv_pg__savepoint(store_conn *c);
void sqldrv_pg__release(store_conn *c, int rollback_first);
int sqldrv_pg__fail(store_conn *c, const char *what);

#endif
