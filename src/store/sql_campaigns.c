/*
 * sql_campaigns.c - the shared SQL texts of sql_campaigns.h (documents, receiver lists and
 * slots, the fan-out, campaigns), and the few PostgreSQL ones (_pg) that differ. Data only.
 */
#include "store/sql_campaigns.h"

#include "store/sqldrv.h"

/* The credits a message costs now: nothing once refunded (cancelled, failed before any
 * operator took it, or failed "not billed"), as sqlite__apply_status refunds them. */
#define BILLED_SQL \
    "SUM(CASE WHEN state = 7 OR (state = 6 AND (dlr = 16 OR sent_ms IS NULL)) THEN 0 " \
    "ELSE credits END)"

/* ---- documents ---- */

const char sql_doc_get[] =
    "SELECT " SQL_DOC_COLS " FROM documents WHERE id = $1 AND ($2 = 0 OR account_id = $2) "
    "AND expires_ms > $3";

const char sql_doc_insert[] =
    "INSERT INTO documents(id, account_id, name, tags, token, created_ms, expires_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";

const char sql_doc_chunks_delete[] = "DELETE FROM document_chunks WHERE document_id = $1";

const char sql_doc_chunk_insert[] =
    "INSERT INTO document_chunks(document_id, seq, data) VALUES ($1, $2, $3)";

const char sql_doc_uploaded[] = "UPDATE documents SET size = $1, uploaded = 1 WHERE id = $2";

/* LIMIT: PostgreSQL's driver reads an answer whole, so a read asks only for the slices it
 * may use (a document can be a history export of hundreds of megabytes). */
const char sql_doc_chunks_read[] = "SELECT seq, data FROM document_chunks WHERE document_id = $1 "
                                   "AND seq >= $2 ORDER BY seq LIMIT $3";

const char sql_doc_delete[] = "DELETE FROM documents WHERE id = $1";

const char sql_doc_list[] =
    "SELECT id FROM documents WHERE account_id = $1 AND expires_ms > $2 "
    "ORDER BY created_ms, id";

const char sql_doc_expired_chunks_purge[] =
    "DELETE FROM document_chunks WHERE document_id IN "
    "(SELECT id FROM documents WHERE expires_ms <= $1)";

/* dialect: PostgreSQL, several nodes purge at once */
const char sql_doc_expired_chunks_purge_pg[] =
    "DELETE FROM document_chunks WHERE document_id IN "
    "(SELECT id FROM documents WHERE expires_ms <= $1 FOR UPDATE SKIP LOCKED)";

const char sql_doc_expired_purge[] = "DELETE FROM documents WHERE expires_ms <= $1";

/* dialect: PostgreSQL, several nodes purge at once (the rows this node locked above are its
 * own: SKIP LOCKED passes over other transactions' locks only) */
const char sql_doc_expired_purge_pg[] =
    "DELETE FROM documents WHERE id IN "
    "(SELECT id FROM documents WHERE expires_ms <= $1 FOR UPDATE SKIP LOCKED)";

/* ---- receiver lists ---- */

const char sql_list_insert[] =
    "INSERT INTO receiver_lists(service_id, state, source, created_ms) VALUES ($1, 0, $2, $3)"
    SQLDRV_RETURNING_ID;

/* No conflict target: both the primary key (list_id, line) and the unique index on
 * (list_id, receiver) leave the row out, as INSERT OR IGNORE did. */
const char sql_list_row_insert[] =
    "INSERT INTO receiver_rows(list_id, line, receiver, region, raw, fields, reason) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";

const char sql_list_row_line_of[] =
    "SELECT line FROM receiver_rows WHERE list_id = $1 AND receiver = $2";

const char sql_list_count_rows[] =
    "UPDATE receiver_lists SET records = records + $1 + $2, valid = valid + $1, "
    "invalid = invalid + $2 WHERE id = $3 AND state = 0";

const char sql_list_set_state[] = "UPDATE receiver_lists SET state = $1 WHERE id = $2";

const char sql_list_ready[] =
    "UPDATE receiver_lists SET state = 1, columns = $1, number_col = $2, separator = $3, "
    "header = $4 WHERE id = $5 AND state = 0";

const char sql_list_counts[] =
    "SELECT records, valid, invalid, created_ms FROM receiver_lists WHERE id = $1";

const char sql_list_recover[] = "UPDATE receiver_lists SET state = 2 WHERE state = 0";
const char sql_list_recover_stale[] =
    "UPDATE receiver_lists SET state = 2 WHERE state = 0 AND created_ms < $1";

const char sql_list_dropped[] = "SELECT id FROM receiver_lists WHERE state = 2 LIMIT 1";

/* dialect: PostgreSQL, the claim of a dropped list by one node's purge */
const char sql_list_dropped_pg[] =
    "SELECT id FROM receiver_lists WHERE state = 2 LIMIT 1 FOR UPDATE SKIP LOCKED";

const char sql_list_rows_cut[] =
    "SELECT line FROM receiver_rows WHERE list_id = $1 ORDER BY line LIMIT 1 OFFSET $2";

const char sql_list_rows_purge[] =
    "DELETE FROM receiver_rows WHERE list_id = $1 AND ($2 = 0 OR line < $3)";

const char sql_list_delete[] = "DELETE FROM receiver_lists WHERE id = $1";

const char sql_list_dropped_any[] = "SELECT 1 FROM receiver_lists WHERE state = 2 LIMIT 1";

const char sql_list_invalid_sample[] =
    "SELECT line, raw, reason FROM receiver_rows WHERE list_id = $1 AND receiver IS NULL "
    "ORDER BY line LIMIT $2";

const char sql_list_format[] =
    "SELECT columns, separator, header FROM receiver_lists WHERE id = $1";

const char sql_list_fields[] =
    "SELECT fields FROM receiver_rows WHERE list_id = $1 ORDER BY line";

/* ---- receivers slots ---- */

const char sql_slot_list_id[] =
    "SELECT list_id FROM receiver_slots WHERE service_id = $1 AND slot = $2";

/* dialect: PostgreSQL, the slot's row locked until the operation commits */
const char sql_slot_list_id_pg[] =
    "SELECT list_id FROM receiver_slots WHERE service_id = $1 AND slot = $2 FOR UPDATE";

const char sql_slot_repoint[] =
    "UPDATE receiver_slots SET list_id = $1, updated_ms = $2 WHERE service_id = $3 AND slot = $4";

const char sql_slot_insert[] =
    "INSERT INTO receiver_slots(service_id, slot, description, auto_update, csv_url, "
    "document_id, list_id, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const char sql_slot_get[] =
    "SELECT s.slot, s.description, s.auto_update, s.csv_url, s.document_id, s.created_ms, "
    "s.updated_ms, s.list_id, l.records, l.valid, l.invalid, l.columns "
    "FROM receiver_slots s JOIN receiver_lists l ON l.id = s.list_id "
    "WHERE s.service_id = $1 AND s.slot = $2";

const char sql_slot_all[] = "SELECT slot FROM receiver_slots WHERE service_id = $1 ORDER BY slot";

const char sql_slot_csv_url[] =
    "SELECT csv_url FROM receiver_slots WHERE service_id = $1 AND slot = $2";

const char sql_slot_update[] =
    "UPDATE receiver_slots SET description = COALESCE($1, description), "
    "auto_update = CASE WHEN $2 <> 0 THEN $3 ELSE auto_update END, updated_ms = $4 "
    "WHERE service_id = $5 AND slot = $6";

const char sql_slot_delete[] =
    "DELETE FROM receiver_slots WHERE service_id = $1 AND slot = $2 RETURNING list_id";

/* ---- the fan-out ---- */

const char sql_list_columns[] =
    "SELECT columns FROM receiver_lists WHERE id = $1 AND service_id = $2 AND state = 1";

/* dialect: PostgreSQL, the list held while its rows are read and sent */
const char sql_list_columns_pg[] =
    "SELECT columns FROM receiver_lists WHERE id = $1 AND service_id = $2 AND state = 1 "
    "FOR SHARE";

const char sql_list_rows_all[] =
    "SELECT receiver, region, raw, fields, reason FROM receiver_rows WHERE list_id = $1 "
    "ORDER BY line";

const char sql_send_totals[] = "UPDATE sends SET credits = $1, count = $2 WHERE id = $3";

const char sql_campaign_insert[] =
    "INSERT INTO campaigns(id, service_id, kind, name, message, sender, sender_for_response, "
    "tag, slot, receivers, errors, records, count, invalid, credits, send_id, first_msg, "
    "last_msg, due_ms, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";

/* ---- campaigns ---- */

const char sql_campaign_get[] =
    "SELECT " SQL_CAMPAIGN_COLS " FROM campaigns WHERE id = $1 AND service_id = $2 "
    "AND removed = 0 AND (kind = $3 OR $3 IS NULL)";

const char sql_campaign_list[] =
    "SELECT " SQL_CAMPAIGN_COLS " FROM campaigns WHERE service_id = $1 AND removed = 0 "
    "AND (kind = $2 OR $2 IS NULL) ORDER BY created_ms, id";

const char sql_campaign_stats[] =
    "SELECT state, COUNT(*), " BILLED_SQL ", MIN(sent_ms), MAX(sent_ms) FROM messages "
    "WHERE id BETWEEN $1 AND $2 AND service_id = $3 AND ($4 = 0 OR send_id = $4) "
    "GROUP BY state";

const char sql_campaign_rename[] = "UPDATE campaigns SET name = $1, updated_ms = $2 WHERE id = $3";

const char sql_campaign_pending[] =
    "SELECT id, credits FROM messages WHERE id BETWEEN $1 AND $2 AND service_id = $3 "
    "AND ($4 = 0 OR send_id = $4) AND state IN (0, 1) ORDER BY id";

/* dialect: PostgreSQL, the messages locked against other nodes' dispatchers */
const char sql_campaign_pending_pg[] =
    "SELECT id, credits FROM messages WHERE id BETWEEN $1 AND $2 AND service_id = $3 "
    "AND ($4 = 0 OR send_id = $4) AND state IN (0, 1) ORDER BY id FOR UPDATE";

const char sql_campaign_cancelled[] =
    "UPDATE campaigns SET cancelled_ms = $1, updated_ms = $1, removed = $2 WHERE id = $3";

const char sql_tag_stats[] =
    "SELECT state, COUNT(*), " BILLED_SQL ", MIN(created_ms), MAX(created_ms) FROM messages "
    "WHERE service_id = $1 AND tag = $2 GROUP BY state";
