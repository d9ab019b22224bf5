/*
 * sql_msg.h - the SQL texts of messages, their events and the ledger, written once for every
 * backend (the plan in store.c's essay, "A second backend"). Each constant is one statement
 * that SQLite and PostgreSQL both accept, with the parameters it takes in order.
 *
 * Rules for a shared text:
 *  - placeholders are $1..$n, each number first used in increasing order: SQLite reads "$N" as
 *    a named parameter numbered by first appearance (the SQLite driver asserts the numbers match),
 *    PostgreSQL as positional parameter N;
 *  - no boolean-typed integers: "CASE WHEN $4 <> 0", never "CASE WHEN $4";
 *  - PostgreSQL infers a parameter's type from its first use ($2 > 0 alone would make it a
 *    4-byte integer): its driver is to pass each parameter's type (int8 or text, from the
 *    bind calls) with the statement, so the texts carry no casts;
 *  - an INSERT whose new id is wanted ends with SQLDRV_RETURNING_ID and is run with
 *    sqldrv_insert() (sqldrv.h: PostgreSQL runs it as written, SQLite without the suffix);
 *  - what the dialects spell differently otherwise stays in the backend and is marked
 *    "dialect:" there.
 * The constants are arrays with one address each: the driver caches statements by address.
 */
#ifndef SG_STORE_SQL_MSG_H
#define SG_STORE_SQL_MSG_H

/* The columns of a whole message (store_msg), in the order sqlite__read_msg reads them. */
#define SQL_MSG_COLS                                                                       \
    "id, service_id, send_id, created_ms, due_ms, state, dlr, ptt, sender, receiver, "    \
    "message, coding, length, parts, credits, priority, validity_min, differed_min, class, " \
    "tag, sent_ms, delivered_ms, route, smsc_id, attempts, retries, expires_ms, stop_clause"

/* The status of sender $2 of service $1. */
extern const char sql_sender_status[];
/* A send: service_id, created_ms, credits, count. Ends with SQLDRV_RETURNING_ID: run it
 * with sqldrv_insert(). */
extern const char sql_send_insert[];
/* Message $1 of service $2 (SQL_MSG_COLS), not deleted nor cancelled; only while it is
 * pending (not yet with an operator) when $3 is not 0; only SMS user $4's when not 0. */
extern const char sql_msg_get[];
/* What a cancel reads: state, credits of message $1 of service $2, not deleted (of SMS
 * user $3 when not 0). */
extern const char sql_msg_cancel_read[];
/* What a delete reads: state of message $1 of service $2, not deleted nor cancelled (of SMS
 * user $3 when not 0). */
extern const char sql_msg_delete_read[];
/* Message $1 leaves the history. */
extern const char sql_msg_delete[];
/* Messages due at $1 (SQL_MSG_COLS): scheduled or queued, or submitting with an expired
 * lease; by priority, due time and id, at most $2.
 * dialect: the _skip_locked text (PostgreSQL) is the same with FOR UPDATE SKIP LOCKED: it
 * locks the rows it returns until the claim commits and skips those another node's claim
 * holds, so that several nodes claiming at once never get the same message. */
extern const char sql_msg_due[];
extern const char sql_msg_due_skip_locked[];
/* Claims message $3: submitting, leased until $1 to node $2, one more attempt. */
extern const char sql_msg_claim[];
/* dialect: PostgreSQL only. The same for every message of the array $3. */
extern const char sql_msg_claim_pg[];
/* Every message submitting under node $1's lease (or none) back to the queue (a restart). */
extern const char sql_msg_recover[];

/* A status event: message_id, service_id, ts_ms, state, dlr, ptt. Ends with
 * SQLDRV_RETURNING_ID: run it with sqldrv_insert(). */
extern const char sql_msg_event_insert[];
/* Back to the queue: route (NULL keeps it), retry_at_ms (0 keeps due_ms), retries to add,
 * message id. The validity end is kept in expires_ms before due_ms moves. */
extern const char sql_msg_requeue[];
/* What a status change reads first: state, service_id, credits, sent_ms of message $1. */
extern const char sql_msg_status_read[];
/* A status change: state, dlr, ptt, sent now (0/1), ts_ms (sent_ms and delivered_ms),
 * delivered (0/1), route, smsc_id (NULL keeps them), message id. Releases the lease. */
extern const char sql_msg_status_update[];
/* A new message: service_id, send_id, created_ms, due_ms, state, sender, receiver, message,
 * coding, length, parts, credits, priority, validity_min, differed_min, class, tag,
 * stop_clause, callback_url, callback_mask, lease_ms, lease_owner, attempts (a message handed
 * to the dispatcher at insert is written claimed: sqlite__insert_message).
 * Ends with SQLDRV_RETURNING_ID: run it with sqldrv_insert(). */
extern const char sql_msg_insert[];

/* The balance of service $1: its newest ledger row's. */
extern const char sql_ledger_balance[];
/* A ledger row: service_id, ts_ms, amount, balance, kind, ref, note. */
extern const char sql_ledger_insert[];
/* The id of the service named $1. */
extern const char sql_service_id[];

#endif
