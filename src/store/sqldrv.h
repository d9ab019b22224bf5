/*
 * sqldrv.h - the SQL driver: the few calls a store operation makes to run SQL, so that an
 * operation written against them is one function for every backend (store.c's essay, "A
 * second backend", step 2). The SQLite driver is sqldrv_sqlite.c, the PostgreSQL driver over
 * libpq sqldrv_pg.c; every call dispatches on its connection or statement (sqldrv_conn.h).
 *
 * Model. A statement is named by its SQL text, a constant that lives as long as the program
 * (a string literal or a sql_<area>.h array): sqldrv_prep() returns the connection's prepared
 * statement for that text, prepared on first use and cached per connection (keyed by the
 * text's address), reset and with no bindings. The caller binds parameters $1..$n by
 * position (1-based), runs it with sqldrv_step() (rows), sqldrv_done() (no rows) or
 * sqldrv_insert() (an INSERT whose text ends with SQLDRV_RETURNING_ID: the new row's id), reads
 * the current row's columns (0-based), and calls sqldrv_reset() when it stops reading before
 * the end (it releases the statement's read state at once; a statement run to its end, and
 * every statement at its next sqldrv_prep(), is reset anyway).
 *
 * Dialects. The texts follow sql_msg.h's rules. The id of a new row is where the dialects
 * differ most: PostgreSQL returns it with RETURNING id, SQLite (since 3.35) accepts the
 * same clause, but at the cost of an ephemeral table filled and read back on every insert, on
 * the send path (two inserts per message). So a text that wants its id ends with
 * SQLDRV_RETURNING_ID; the SQLite driver prepares the text without that suffix and reads
 * sqlite3_last_insert_rowid() (the same program as before the driver existed), a PostgreSQL
 * driver runs it as written and reads the row.
 *
 * Types. Parameters are int64, double, text, blob or NULL: the bind call says which, so that a
 * driver which must declare types (libpq) knows them without casts in the texts.
 *
 * Transactions. store.c opens one transaction per batch and one savepoint per operation inside
 * it; the names are the driver's (one savepoint level is all the store uses).
 *
 * Deferred statements. Inside a batch (sqldrv_begin() to sqldrv_commit() or sqldrv_rollback())
 * a driver may send a statement whose result the caller does not read (sqldrv_done(), the
 * savepoint statements) without waiting for its answer (PostgreSQL: libpq's pipeline mode, so
 * that an operation costs one network round trip per statement it reads, not one per
 * statement). sqldrv_done() then returns 0 and its failure, if any, is returned by the next
 * call that waits for an answer (sqldrv_step(), sqldrv_insert()) or by sqldrv_settle(); after
 * a failure every call of the operation returns that failure without running anything, as the
 * database would refuse it anyway (PostgreSQL's transaction is aborted until the savepoint is
 * rolled back). Outside a batch every call waits, as SQLite's always do.
 *
 * Threads and lifetimes: every call runs on the store thread, on the connection's statements.
 * Text columns read with sqldrv_col_str() are borrowed until the statement is stepped again
 * or reset; sqldrv_col_text() returns a new string. Text bound with sqldrv_bind_text() is
 * copied; with sqldrv_bind_textn() and sqldrv_bind_blob() it is borrowed until the statement
 * has run (the binding is not used again: sqldrv_prep() clears it before the next use).
 */
#ifndef SG_STORE_SQLDRV_H
#define SG_STORE_SQLDRV_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A prepared statement of a connection (the driver's own type behind it). */
typedef struct sqldrv_stmt sqldrv_stmt;

/* The suffix of an INSERT run with sqldrv_insert(); it must end the text exactly. */
#define SQLDRV_RETURNING_ID " RETURNING id"

/* The connection's statement for sql (a constant text: its address is the key), reset with no
 * bindings, borrowed until the connection closes. NULL (logged) if it cannot be prepared. */
sqldrv_stmt *sqldrv_prep(store_conn *c, const char *sql);

void sqldrv_bind_int(sqldrv_stmt *st, int i, int64_t v);
void sqldrv_bind_double(sqldrv_stmt *st, int i, double v);
void sqldrv_bind_text(sqldrv_stmt *st, int i, const char *s); /* copied; NULL binds NULL */
/* n bytes of s, not copied: s must stay valid until the statement has run. */
void sqldrv_bind_textn(sqldrv_stmt *st, int i, const char *s, size_t n);
void sqldrv_bind_null(sqldrv_stmt *st, int i);
/* n bytes of p as a blob (bytea), not copied: as sqldrv_bind_textn(). */
void sqldrv_bind_blob(sqldrv_stmt *st, int i, const void *p, size_t n);

/* Runs the statement to its next row: 1 a row is there to read, 0 no (more) rows, SG_ECONFLICT
 * on a constraint, SG_EIO on any other failure (logged). Every call that runs SQL may also
 * return SG_EUNAVAIL: the database is unreachable (PostgreSQL; logged once per outage). */
int sqldrv_step(store_conn *c, sqldrv_stmt *st);
/* Runs a statement that returns no rows: 0, SG_ECONFLICT on a constraint, SG_EIO (logged with
 * what was being done). Inside a batch it may be deferred (above): 0 then only says it was
 * sent. */
int sqldrv_done(store_conn *c, sqldrv_stmt *st, const char *what);
/* Runs an INSERT whose text ends with SQLDRV_RETURNING_ID, as sqldrv_done(); on success the
 * new row's id goes to *id. */
int sqldrv_insert(store_conn *c, sqldrv_stmt *st, const char *what, int64_t *id);
/* Ends the reading of a statement's rows early. */
void sqldrv_reset(sqldrv_stmt *st);
/* The number of rows the last INSERT, UPDATE or DELETE of the connection changed (settling
 * first what was deferred, below; 0 when that failed: the next call reports it). */
int64_t sqldrv_changes(store_conn *c);
/* The first failure of the statements deferred since the last settle (below), once every one
 * of them has been answered: 0, SG_ECONFLICT, SG_EUNAVAIL or SG_EIO (logged), as they would
 * have returned. store.c calls it after each operation, before the operation's outcome is
 * decided; SQLite's driver defers nothing and returns 0. */
int sqldrv_settle(store_conn *c);
/* Counters since the connection opened, for measuring (store_trips): *trips the times the
 * store thread waited for the server's answers (a network round trip each: a pipelined
 * flush read back, or a statement run outside a batch), *stmts the statements run (not
 * counting BEGIN, COMMIT and savepoints). SQLite's driver waits for no server: both 0. */
void sqldrv_counters(store_conn *c, uint64_t *trips, uint64_t *stmts);

/* Columns of the current row, 0-based. A NULL reads as 0 (or NULL for text). */
int64_t sqldrv_col_int(sqldrv_stmt *st, int i);
double sqldrv_col_double(sqldrv_stmt *st, int i);
int sqldrv_col_null(sqldrv_stmt *st, int i);              /* 1 if the column is NULL */
const char *sqldrv_col_str(sqldrv_stmt *st, int i);       /* borrowed (above), or NULL */
char *sqldrv_col_text(sqldrv_stmt *st, int i);            /* new string, or NULL */
/* A blob column and its size in *n, borrowed as sqldrv_col_str(); NULL when empty or NULL. */
const void *sqldrv_col_blob(sqldrv_stmt *st, int i, size_t *n);

/* The batch's transaction and each operation's savepoint (store.c). 0, SG_EIO (logged) or
 * SG_EUNAVAIL. Only sqldrv_begin() reopens a lost PostgreSQL session, never inside a batch. */
int sqldrv_begin(store_conn *c);
int sqldrv_commit(store_conn *c);
void sqldrv_rollback(store_conn *c); /* the open transaction, if any */
int sqldrv_savepoint(store_conn *c);
/* An operation begins without a savepoint of its own (a batch settled late, store.c: a failing
 * operation there rolls back the whole batch, which runs again with savepoints). */
void sqldrv_unsaved(store_conn *c);
/* Ends the operation's savepoint, undoing its changes first when rollback_first. */
void sqldrv_release(store_conn *c, int rollback_first);

/* Logs the connection's last error with what was being done; returns SG_EIO. */
int sqldrv_fail(store_conn *c, const char *what);

/* The connection's SQL dialect, for the few statements the dialects do not share (marked
 * "dialect:" where they are chosen). */
typedef enum { SQLDRV_SQLITE, SQLDRV_POSTGRES } sqldrv_dialect_kind;
sqldrv_dialect_kind sqldrv_dialect(store_conn *c);

#endif
