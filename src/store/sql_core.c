/*
 * sql_core.c - the shared SQL texts of sql_core.h (the core tables' operations). Data only.
 */
#include "store/sql_core.h"
#include "store/sql_msg.h"

#include "store/sqldrv.h"

/* ---- accounts, applications, consumer keys ---- */

const char sql_account_insert[] =
    "INSERT INTO accounts(name, created_ms) VALUES ($1, $2)" SQLDRV_RETURNING_ID;

const char sql_service_insert[] =
    "INSERT INTO services(account_id, name, short_number, created_ms) "
    "VALUES ($1, $2, '36184', $3)" SQLDRV_RETURNING_ID;

const char sql_application_insert[] =
    "INSERT INTO applications(account_id, app_key, app_secret, name, created_ms) "
    "VALUES ($1, $2, $3, $4, $5)" SQLDRV_RETURNING_ID;

const char sql_credential_insert_validated[] =
    "INSERT INTO credentials(application_id, consumer_key, state, rules, created_ms) "
    "VALUES ($1, $2, 'validated', $3, $4)";

const char sql_account_services[] =
    "SELECT a.name, s.name, s.id FROM accounts a JOIN services s ON s.account_id = a.id "
    "ORDER BY a.id, s.id";

const char sql_auth_application[] =
    "SELECT p.id, p.account_id, p.app_secret, a.rate_limit, a.rate_burst "
    "FROM applications p JOIN accounts a ON a.id = p.account_id WHERE p.app_key = $1";

const char sql_auth_credential[] =
    "SELECT id, application_id, state, rules, allowed_ips, created_ms, expires_ms, "
    "last_use_ms FROM credentials WHERE consumer_key = $1";

const char sql_application_id[] = "SELECT id FROM applications WHERE app_key = $1";

const char sql_credential_insert[] =
    "INSERT INTO credentials(application_id, consumer_key, state, rules, allowed_ips, "
    "redirection, created_ms, expires_ms) "
    "VALUES ($1, $2, 'pendingValidation', $3, $4, $5, $6, $7)";

const char sql_credential_expire_pending[] =
    "UPDATE credentials SET state = 'expired' WHERE consumer_key = $1 "
    "AND state IN ('pendingValidation', 'expired') AND created_ms < $2";

const char sql_credential_state[] = "UPDATE credentials SET state = $1 WHERE consumer_key = $2";

/* ---- services and the ledger ---- */

const char sql_service_get[] =
    "SELECT id, account_id, name, description, status, callback, stop_callback, short_number, "
    "sms_response, templates, recredit_amount, recredit_threshold FROM services WHERE name = $1";

const char sql_service_names[] = "SELECT name FROM services WHERE account_id = $1 ORDER BY id";

const char sql_service_update[] =
    "UPDATE services SET description = COALESCE($1, description), "
    "callback = CASE WHEN $2 <> 0 THEN $3 ELSE callback END, "
    "stop_callback = CASE WHEN $4 <> 0 THEN $5 ELSE stop_callback END, "
    "recredit_amount = CASE WHEN $6 <> 0 THEN $7 ELSE recredit_amount END, "
    "recredit_threshold = CASE WHEN $8 <> 0 THEN $9 ELSE recredit_threshold END, "
    "sms_response = COALESCE($10, sms_response), templates = COALESCE($11, templates) "
    "WHERE id = $12";

const char sql_ledger_rows[] =
    "SELECT id, ts_ms, amount, kind, ref, balance, note FROM ledger WHERE service_id = $1 "
    "ORDER BY id";

/* ---- senders ---- */

const char sql_sender_history_insert[] =
    "INSERT INTO sender_history(service_id, sender, ts_ms, status, comment, reason) "
    "VALUES ($1, $2, $3, $4, $5, $6)";

const char sql_sender_insert[] =
    "INSERT INTO senders(service_id, sender, description, reason, status, type, created_ms) "
    "VALUES ($1, $2, $3, $4, 'waitingValidation', $5, $6)";

const char sql_sender_get[] =
    "SELECT sender, description, status, comment, referer, type, reason, created_ms "
    "FROM senders WHERE service_id = $1 AND sender = $2";

const char sql_sender_update[] =
    "UPDATE senders SET status = COALESCE($1, status), description = COALESCE($2, description), "
    "comment = COALESCE($3, comment) WHERE service_id = $4 AND sender = $5";

const char sql_sender_delete[] = "DELETE FROM senders WHERE service_id = $1 AND sender = $2";

const char sql_sender_names[] =
    "SELECT sender FROM senders WHERE service_id = $1 ORDER BY sender";

const char sql_sender_names_ever[] =
    "SELECT n.sender, s.status, s.description, s.reason, s.comment, s.created_ms "
    "FROM (SELECT sender FROM senders WHERE service_id = $1 UNION "
    "SELECT sender FROM sender_history WHERE service_id = $1) n "
    "LEFT JOIN senders s ON s.service_id = $1 AND s.sender = n.sender ORDER BY n.sender";

const char sql_sender_history_rows[] =
    "SELECT ts_ms, status, comment, reason FROM sender_history "
    "WHERE service_id = $1 AND sender = $2 ORDER BY id";

/* ---- the outgoing list ---- */

/* Each filter names its column first ("receiver = $4 OR $4 IS NULL"), so that PostgreSQL
 * infers the parameter's type from the column even when it is bound NULL. */
#define OUTGOING_IDS                                                                         \
    "SELECT id FROM messages WHERE service_id = $1 AND deleted = 0 "                          \
    "AND state >= $2 AND state <= $3 AND (receiver = $4 OR $4 IS NULL) "                      \
    "AND (sender = $5 OR $5 IS NULL) AND (ptt = $6 OR $6 < 0) AND (dlr = $7 OR $7 < 0) "      \
    "AND (differed_min = $8 OR $8 < 0) AND (created_ms >= $9 OR $9 = 0) "                     \
    "AND (created_ms <= $10 OR $10 = 0) AND ($11 = 0 OR user_id = $11) "                     \
    "AND (id = $12 OR $12 = 0) "                                                              \
    "AND (send_id = (SELECT b.send_id FROM campaigns b WHERE b.id = $13 AND b.service_id = $1 "\
    "AND b.kind = 'batch') OR $13 IS NULL)"

const char sql_outgoing_ids[] = OUTGOING_IDS " ORDER BY id";
const char sql_outgoing_ids_tag[] = OUTGOING_IDS " AND tag = $14 ORDER BY id";

const char sql_msg_get_batch[] =
    "SELECT " SQL_MSG_COLS ", (SELECT b.id FROM campaigns b WHERE b.send_id = m.send_id "
    "AND b.service_id = m.service_id AND b.kind = 'batch' LIMIT 1) FROM messages m "
    "WHERE id = $1 AND service_id = $2 AND deleted = 0 AND state != 7 AND ($3 = 0 OR state < 3) "
    "AND ($4 = 0 OR user_id = $4)";

/* ---- the simulated operator ---- */

const char sql_sim_smsc_id[] = "SELECT smsc_id FROM sim_messages WHERE message_id = $1";

const char sql_sim_resubmit[] =
    "UPDATE sim_messages SET submits = submits + 1 WHERE message_id = $1";

const char sql_sim_insert[] =
    "INSERT INTO sim_messages(message_id, smsc_id, outcome, due_ms) VALUES ($1, $2, $3, $4)";

#define SIM_DUE                                                                              \
    "SELECT message_id, outcome, step FROM sim_messages WHERE done = 0 AND due_ms <= $1 "      \
    "ORDER BY due_ms LIMIT $2"

const char sql_sim_due[] = SIM_DUE;
/* dialect: PostgreSQL only (SQLite has no row locks: its one writer is the whole database) */
const char sql_sim_due_skip_locked[] = SIM_DUE " FOR UPDATE SKIP LOCKED";

const char sql_sim_step[] =
    "UPDATE sim_messages SET step = step + 1, done = $1, due_ms = $2, "
    "deliveries = deliveries + $3 WHERE message_id = $4";

const char sql_sim_next_due[] = "SELECT MIN(due_ms) FROM sim_messages WHERE done = 0";
