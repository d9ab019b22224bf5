/*
 * sqlite_int.h - declarations shared by the files of the SQLite backend only: the schema
 * areas, then the functions of its three lower files, each section saying which file defines it
 * (sqldrv_sqlite.c: the statement cache under the SQL driver, sqldrv.h, and the older raw
 * helpers; sqlite_util.c: service ids, the ledger; sqlite_msg.c: messages and their state
 * machine). One sqlite_<area>.c per feature area has its own tables and operations
 * (sqlite_<area>_int.h); store_core_sql.c has the core tables' operations
 * (store_core_sql_int.h); sqlite.c, the top, holds the connection, the migrations' run and the
 * backend table. Calls between the files go one way only (store.c's essay has the diagram).
 *
 * Everything here runs on the store thread, inside the batch transaction.
 */
#ifndef SG_STORE_SQLITE_INT_H
#define SG_STORE_SQLITE_INT_H

#include <jansson.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/store_int.h"
#include "store/sqldrv.h"
#include "store/sqldrv_conn.h" /* struct store_conn, the same for every driver */
#include "store/store_cluster_int.h" /* the cluster area: driver-only, for the table */

/* One schema area: its name and its migrations in order (see migrate() in sqlite.c). */
typedef struct sqlite_area {
    const char *name;
    const char *const *migrations;
    int count;
} sqlite_area;
/* The areas, NULL-terminated (schema_sqlite.c). */
extern const sqlite_area sqlite_areas[];

/* ---- sqldrv_sqlite.c: calls no other file of the backend ----
 * The SQL driver (sqldrv.h) and, for the files not yet written against it, the same cache and
 * steps on raw SQLite statements (sqlite__prep(c, sql) is sqldrv_prep's statement). */

/* A reset, cached statement for sql. sql must be a string literal: its address is the key. */
sqlite3_stmt *sqlite__prep(store_conn *c, const char *sql);
/* Runs SQL without results. Returns 0 or SG_EIO (logged). */
int sqlite__exec(store_conn *c, const char *sql);
/* Steps a statement that returns no rows: 0, SG_ECONFLICT on a constraint, SG_EIO. */
int sqlite__done(store_conn *c, sqlite3_stmt *st, const char *what);
/* Logs the connection's last error with what was being done; returns SG_EIO. */
int sqlite__fail(store_conn *c, const char *what);

void sqlite__bind_text(sqlite3_stmt *st, int i, const char *s); /* NULL binds NULL */
void sqlite__bind_int(sqlite3_stmt *st, int i, int64_t v);
char *sqlite__col_text(sqlite3_stmt *st, int i);                /* new string or NULL */
int64_t sqlite__col_int(sqlite3_stmt *st, int i);

/* ---- sqlite_util.c: calls only the driver ---- */

/* Millicredits as a JSON number (an integer when whole). */
json_t *sqlite__credits_json(int64_t milli);

/* The balance of a service: its newest ledger row's balance (0 without rows). */
int64_t sqlite__balance(store_conn *c, int64_t service_id);
/* The balance of a service that is about to be written to the ledger, in *balance: 0 or an
 * SG_E* code. On PostgreSQL the service's row is locked first, until the transaction ends,
 * so that two nodes never append to the same old balance (sqlite_util.c, invariant 2);
 * on SQLite it is sqlite__balance(). Every read of a balance that decides a ledger row
 * (a debit's check, ledger_append's `before`) is this one. */
int sqlite__balance_for_write(store_conn *c, int64_t service_id, int64_t *balance);
/* dialect: PostgreSQL only: locks service $1's row until the transaction ends (the lock
 * sqlite__balance_for_write takes; a send's read takes it itself, store_core_sql.c). */
extern const char sqlite__pg_service_lock[];
/* Appends to the ledger (the only writer of it); the new balance goes to *balance if not NULL. */
int sqlite__ledger_add(store_conn *c, int64_t service_id, int64_t amount, const char *kind,
                       const char *ref, int64_t *balance);
/* Appends a ledger row to before, a balance the caller read in this transaction with
 * sqlite__balance_for_write(); note may be NULL. The new balance goes to *balance if not NULL. */
int sqlite__ledger_append(store_conn *c, int64_t service_id, int64_t before, int64_t amount,
                          const char *kind, const char *ref, const char *note, int64_t *balance);
/* The id of a service by name, 0 if none. */
int64_t sqlite__service_id(store_conn *c, const char *name);
/* Runs st (bound) to its end, reading its first column as ids into *ids (new, even when
 * empty) and *count. Returns 0 or the step's error; *ids then holds the rows read so far, and
 * the caller frees it either way. */
int sqlite__read_ids(store_conn *c, sqldrv_stmt *st, int64_t **ids, size_t *count);
/* Runs st (bound) to its end, reading its first column as new strings into *texts (new, each
 * and the array, even when empty) and *count. Returns 0, or the step's error with *texts and
 * *count untouched (what was read is freed). */
int sqlite__read_texts(store_conn *c, sqldrv_stmt *st, char ***texts, size_t *count);
/* dialect: PostgreSQL. Binds v[0..n) at parameter i as one array literal ("{1,2,3}", read by
 * a "$i::bigint[]" of the statement): a statement over many rows (WHERE id = ANY($i), FROM
 * unnest($i::bigint[], ...)) where SQLite runs one per row. One statement for a batch of
 * leases or outcomes, where each row's took 20-30 us of the server (docs/benchmarks.md). */
void sqlite__pg_ids(sqldrv_stmt *st, int i, const int64_t *v, size_t n);

/* ---- sqlite_msg.c: calls sqlite_util.c and sqlite_notify.c ---- */

/* Applies one status change if the state machine allows it (core/msgstate.h):
 * 1 applied, 0 stale, or an SG_E* code. Records the event and any refund. */
int sqlite__apply_status(store_conn *c, const store_status_update *u);
/* dialect: PostgreSQL. What a status change read with its message, once it held the
 * message's row (sqlite_msg.c; sqlite__notify_event_pg, sqlite_notify.c): the service's callBack (NULL or empty: none), the message's
 * sender, receiver and tag (borrowed), whether a PENDING call of the message exists (behind)
 * and the id its call is to take (call_id, from the sequence; 0 without a callBack). */
typedef struct sqlite_notify_known {
    const char *callback, *sender, *receiver, *tag;
    int behind;
    /* PostgreSQL: the last PENDING call of the message (when behind) and the node that holds
     * its lease ("" when none) */
    int64_t behind_id;
    char behind_owner[128];
    int64_t call_id;
    /* the message's own callback (sqlite_gateways.c): callback_mask > 0 makes callback a
     * Kannel dlr-url, expanded from the fields below (text is read only then) */
    int mask, was_sent, coding, mclass;
    const char *route, *smsc_id, *text;
} sqlite_notify_known;
/* The row a status change decides from: the message's state, service, credits, whether it
 * was sent, and on PostgreSQL what its callback needs (sqlite_notify_int.h; new strings). */
typedef struct sqlite_status_row {
    int state, was_sent, pg;
    int64_t sent_ms; /* an operator's first acceptance, 0 when none */
    int64_t service_id, credits;
    sqlite_notify_known known;
} sqlite_status_row;
/* Reads row from the current row of st, from column col on: the columns of sql_msg_status_read
 * (state, service_id, credits, sent_ms), on PostgreSQL followed by those of its
 * pg_msg_status_read (sqlite_msg.c: callback, sender, receiver, tag, behind, call id, then
 * the message's own callback's mask, route, smsc_id, text, coding and class). */
void sqlite__status_row_read(store_conn *c, sqldrv_stmt *st, int col, sqlite_status_row *row);
void sqlite__status_row_fini(sqlite_status_row *row);
/* sqlite__apply_status with the message's row read already in this transaction (locked first
 * on PostgreSQL). */
int sqlite__apply_status_row(store_conn *c, const store_status_update *u,
                             const sqlite_status_row *row);
/* dialect: PostgreSQL. The status rows of several messages, locked and read in one round
 * trip (sqlite__status_batch_read), for an operation that changes many (an SMPP route's
 * accepts and receipts, sqlite_routes.c): one wait per operation where each message's read
 * was one. */
typedef struct sqlite_status_one {
    int64_t msg_id;
    char *key;      /* the operator id's key it was found by (receipts), else NULL */
    int part, nparts;
    int used;       /* changed in this operation already: a second change reads afresh */
    sqlite_status_row row;
} sqlite_status_one;
typedef struct sqlite_status_batch {
    sqlite_status_one *v;
    size_t n;
} sqlite_status_batch;
/* Runs read (bound), whose columns are the message's id, the key (or NULL), its part, its
 * number of parts and SQLITE_PG_STATUS_COLS, keeping each row in b (new). read ends with
 * "ORDER BY m.id FOR NO KEY UPDATE OF m": PostgreSQL locks each row as the sort hands it out,
 * so every operation that locks several messages locks them in id order (no deadlock between
 * two of them), in the statement that reads them. 0 or the driver's error; b is freed by
 * sqlite__status_batch_fini either way. */
int sqlite__status_batch_read(store_conn *c, sqldrv_stmt *read, sqlite_status_batch *b);
/* The row of msg_id (key NULL) or of key, NULL when the read found none. */
sqlite_status_one *sqlite__status_batch_find(sqlite_status_batch *b, int64_t msg_id,
                                             const char *key);
void sqlite__status_batch_fini(sqlite_status_batch *b);
/* dialect: PostgreSQL. Binds texts[0..n) at parameter i as one array literal, each element
 * quoted (read by a "$i::text[]" of the statement), a NULL pointer as NULL, as sqlite__pg_ids
 * does ids. */
void sqlite__pg_texts(sqldrv_stmt *st, int i, char *const *texts, size_t n);
/* dialect: PostgreSQL. The status changes of one operation over many messages (an SMPP
 * route's accepts and receipts, sqlite_routes.c) written by one statement at the operation's
 * end instead of two per message (sqlite_msg.c, "Deferred status writes"): between
 * sqlite__status_defer_begin() and sqlite__status_defer_end(), sqlite__apply_status_row keeps
 * each change's UPDATE, event and callback, and sqlite__defer_smpp_id each operator id's row,
 * in d. The caller runs sqlite__status_flush() before any statement that reads or writes a
 * message it changed (a change that does not come from the batch read, an orphan's
 * adoption); a second change of a message already in d, a requeue and a marketing-hours hold
 * flush by themselves. On SQLite both calls do nothing (nothing is deferred: its statements
 * cost no round trip). */
typedef struct sqlite_deferred_status {
    int64_t id, state, dlr, ptt, sent, ts, delivered, service_id;
    int64_t call_id, now, lease_ms; /* the callback (0: none): its id, created, lease end */
    char *route, *smsc_id, *url, *origin, *owner; /* new strings or NULL */
} sqlite_deferred_status;
typedef struct sqlite_deferred_id {
    char *route, *key;
    int64_t msg_id, part, nparts, ts;
} sqlite_deferred_id;
typedef struct sqlite_status_defer {
    sqlite_deferred_status *v;
    size_t n, cap;
    sqlite_deferred_id *ids;
    size_t nids, capids;
} sqlite_status_defer;
void sqlite__status_defer_begin(store_conn *c, sqlite_status_defer *d);
/* Writes what d holds: 0 or an SG_E* code (the operation fails with it). */
int sqlite__status_flush(store_conn *c);
/* Flushes, frees d and stops deferring; rc is the operation's code so far: a failure is
 * kept, and the flush runs only when rc is not one. Returns the operation's code. */
int sqlite__status_defer_end(store_conn *c, int rc);
/* The row of smpp_ids of an operator id key, deferred when deferring, else inserted now. */
int sqlite__defer_smpp_id(store_conn *c, const char *route, const char *key, int64_t msg_id,
                          int64_t part, int64_t nparts, int64_t ts);
/* dialect: PostgreSQL. The columns that follow sql_msg_status_read's in the row above, from
 * messages m joined with services s (a text that reads them elsewhere, sqlite_routes.c).
 * "An earlier call of this SMS is PENDING" is a subquery with LIMIT 1, one index seek per
 * message (notify_seq): written as EXISTS the planner may hash the whole of the pending
 * calls instead, at each read of a batch (docs/benchmarks.md, "Statistics of a queue"). */
#define SQLITE_PG_STATUS_COLS                                                              \
    "m.state, m.service_id, m.credits, m.sent_ms, COALESCE(m.callback_url, s.callback), "   \
    "m.sender, m.receiver, "                                                                \
    "m.tag, (SELECT p.id || ' ' || COALESCE(p.lease_owner, '') FROM notify_calls p "        \
    "WHERE p.seq_key = m.id AND p.state = 0 ORDER BY p.id DESC LIMIT 1), "                   \
    "CASE WHEN COALESCE(m.callback_url, s.callback) IS NOT "                                \
    "NULL AND COALESCE(m.callback_url, s.callback) != '' "                                  \
    "THEN nextval('notify_calls_id_seq') ELSE 0 END, "                                      \
    "m.callback_mask, m.route, m.smsc_id, CASE WHEN m.callback_mask > 0 THEN m.message END, " \
    "m.coding, m.class "
/* Binds $1..$6 of an insert of a status event (message, service, time, state, dlr, ptt:
 * sql_msg_event_insert's order). */
void sqlite__event_params(sqldrv_stmt *st, int64_t msg_id, int64_t service_id, int64_t ts,
                          int state, int dlr, int ptt);
/* Records one status event of a message. */
int sqlite__insert_event(store_conn *c, int64_t msg_id, int64_t service_id, int64_t ts, int state,
                         int dlr, int ptt);
/* Refunds a message's credits (nothing when credits <= 0): a ledger row "message:<id>" with
 * note (may be NULL) saying why; adds them to *refunded if not NULL. */
int sqlite__refund_message(store_conn *c, int64_t msg_id, int64_t service_id, int64_t credits,
                           const char *note, int64_t *refunded);

/* A new message: its row and its creation event are written by sqlite__insert_message, the
 * one writer of new messages (single sends in store_core_sql.c, campaigns in
 * sqlite_campaigns.c). */
typedef struct sqlite_new_msg {
    int64_t service_id, send_id, now_ms, due_ms;
    int state; /* MSG_SCHEDULED or MSG_QUEUED */
    const char *sender, *receiver, *tag;
    const char *message; /* borrowed until the call returns */
    size_t message_len;
    int coding, priority, sms_class;
    int stop_clause; /* 1: the text ends with the STOP mention (a marketing SMS) */
    int64_t length, parts, credits, validity_min, differed_min;
    const char *callback_url; /* NULL: the service's callBack (sqlite_gateways.c) */
    int callback_mask;        /* > 0: callback_url is a Kannel dlr-url for these events */
    int64_t id; /* PostgreSQL: the id taken from its sequence already (0: given at insert) */
} sqlite_new_msg;
/* Inserts the message and its creation event; its id goes to *id. With m->id (PostgreSQL)
 * nothing is read back: the insert goes without waiting (sqldrv_done). A message due now is
 * written claimed and handed to the dispatcher when its hand-off is open (store.h,
 * store_dispatch_set_direct): then *handed (if not NULL) is 1. */
int sqlite__insert_message(store_conn *c, const sqlite_new_msg *m, int64_t *id, int *handed);

/* Reads a row of SQL_MSG_COLS (sql_msg.h) into m. */
void sqlite__read_msg(sqldrv_stmt *st, store_msg *m);

#endif
