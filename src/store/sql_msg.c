/*
 * sql_msg.c - the shared SQL texts of sql_msg.h (messages, events, the ledger). Data only.
 */
#include "store/sql_msg.h"

#include "store/sqldrv.h"

const char sql_sender_status[] =
    "SELECT status FROM senders WHERE service_id = $1 AND sender = $2";

const char sql_send_insert[] =
    "INSERT INTO sends(service_id, created_ms, credits, count) VALUES ($1, $2, $3, $4)"
    SQLDRV_RETURNING_ID;

const char sql_msg_get[] =
    "SELECT " SQL_MSG_COLS " FROM messages WHERE id = $1 AND service_id = $2 AND deleted = 0 "
    "AND state != 7 AND ($3 = 0 OR state < 3) AND ($4 = 0 OR user_id = $4)";

const char sql_msg_cancel_read[] =
    "SELECT state, credits FROM messages WHERE id = $1 AND service_id = $2 AND deleted = 0 "
    "AND ($3 = 0 OR user_id = $3)";

const char sql_msg_delete_read[] =
    "SELECT state FROM messages WHERE id = $1 AND service_id = $2 AND deleted = 0 "
    "AND state != 7 AND ($3 = 0 OR user_id = $3)";

const char sql_msg_delete[] = "UPDATE messages SET deleted = 1 WHERE id = $1";

#define MSG_DUE(queued)                                                                      \
    "SELECT " SQL_MSG_COLS " FROM messages WHERE " queued "state < 3 AND due_ms <= $1 AND "   \
    "(state < 2 OR lease_ms <= $1) ORDER BY priority, due_ms, id LIMIT $2"

const char sql_msg_due[] = MSG_DUE("");
/* dialect: PostgreSQL only. The rows returned stay locked until the claiming transaction
 * commits (with their lease written), and rows another node's claim holds are skipped rather
 * than waited for: nodes claiming at once never get the same message. SQLite has no row locks
 * (one writer holds the whole database), so it keeps the plain text. messages_due's predicate
 * is the column queued there (schema_pg.c, core/4). */
const char sql_msg_due_skip_locked[] = MSG_DUE("queued AND ") " FOR UPDATE SKIP LOCKED";

const char sql_msg_claim[] =
    "UPDATE messages SET state = 2, lease_ms = $1, lease_owner = $2, "
    "attempts = attempts + 1 WHERE id = $3";

/* dialect: PostgreSQL only. The same for every message of the array $3 (sqlite__pg_ids). */
const char sql_msg_claim_pg[] =
    "UPDATE messages SET state = 2, lease_ms = $1, lease_owner = $2, "
    "attempts = attempts + 1 WHERE id = ANY($3::bigint[])";

const char sql_msg_recover[] =
    "UPDATE messages SET state = 1, lease_ms = NULL, lease_owner = NULL "
    "WHERE state = 2 AND (lease_owner = $1 OR lease_owner IS NULL)";

const char sql_msg_event_insert[] =
    "INSERT INTO events(message_id, service_id, ts_ms, state, dlr, ptt) "
    "VALUES ($1, $2, $3, $4, $5, $6)" SQLDRV_RETURNING_ID;

const char sql_msg_requeue[] =
    "UPDATE messages SET state = 1, route = COALESCE($1, route), "
    "due_ms = CASE WHEN $2 > 0 THEN $2 ELSE due_ms END, retries = retries + $3, "
    "expires_ms = COALESCE(expires_ms, CASE WHEN validity_min > 0 THEN due_ms + "
    "validity_min * 60000 END), lease_ms = NULL, lease_owner = NULL WHERE id = $4";

const char sql_msg_status_read[] =
    "SELECT state, service_id, credits, sent_ms FROM messages WHERE id = $1";

const char sql_msg_status_update[] =
    "UPDATE messages SET state = $1, dlr = $2, ptt = $3, "
    "sent_ms = CASE WHEN $4 <> 0 THEN $5 ELSE sent_ms END, "
    "delivered_ms = CASE WHEN $6 <> 0 THEN $5 ELSE delivered_ms END, "
    "route = COALESCE($7, route), smsc_id = COALESCE($8, smsc_id), "
    "lease_ms = NULL, lease_owner = NULL WHERE id = $9";

const char sql_msg_insert[] =
    "INSERT INTO messages(service_id, send_id, created_ms, due_ms, state, sender, receiver, "
    "message, coding, length, parts, credits, priority, validity_min, differed_min, class, tag, stop_clause, "
    "callback_url, callback_mask, lease_ms, lease_owner, attempts) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, "
    "$21, $22, $23)" SQLDRV_RETURNING_ID;

const char sql_ledger_balance[] =
    "SELECT balance FROM ledger WHERE service_id = $1 ORDER BY id DESC LIMIT 1";

const char sql_ledger_insert[] =
    "INSERT INTO ledger(service_id, ts_ms, amount, balance, kind, ref, note) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";

const char sql_service_id[] = "SELECT id FROM services WHERE name = $1";
