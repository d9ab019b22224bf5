/*
 * sql_campaigns.h - the SQL texts of the campaigns area (documents, receiver lists and slots,
 * the fan-out of a templated message, campaign statistics), written once for every backend
 * under the rules of sql_msg.h ($1..$n in order of first use, no boolean-typed integers, no
 * casts). Driven by sqlite_campaigns.c.
 *
 * Most texts are shared. The few the dialects do not share end in _pg (PostgreSQL) beside the
 * text SQLite runs; sqlite_campaigns.c chooses with sqldrv_dialect(), marked "dialect:". They
 * are the places where several nodes on one PostgreSQL database could take the same work or
 * change the same rows between a read and a write, which SQLite's single writer rules out: a
 * row lock (FOR UPDATE / FOR SHARE, which SQLite does not parse) or a claim that skips what
 * another node holds (FOR UPDATE SKIP LOCKED).
 */
#ifndef SG_STORE_SQL_CAMPAIGNS_H
#define SG_STORE_SQL_CAMPAIGNS_H

/* The columns of a document, in the order read_doc() reads them. */
#define SQL_DOC_COLS "id, account_id, name, tags, token, size, uploaded, created_ms, expires_ms"

/* The columns of a campaign, in the order read_campaign() reads them. */
#define SQL_CAMPAIGN_COLS                                                                   \
    "id, service_id, kind, name, message, sender, sender_for_response, tag, slot, receivers, " \
    "errors, records, count, invalid, credits, first_msg, last_msg, due_ms, created_ms, "    \
    "updated_ms, cancelled_ms, COALESCE(send_id, 0), stoplisted"

/* ---- documents ---- */

/* Document $1 (SQL_DOC_COLS) of account $2 (0: any) not expired at $3. */
extern const char sql_doc_get[];
/* A document: id, account_id, name, tags, token, created_ms, expires_ms. */
extern const char sql_doc_insert[];
/* The content of document $1 goes. */
extern const char sql_doc_chunks_delete[];
/* One slice of a document: document_id, seq, data (a blob). */
extern const char sql_doc_chunk_insert[];
/* Document $2 uploaded, $1 bytes. */
extern const char sql_doc_uploaded[];
/* The slices of document $1 from seq $2 on: seq, data. */
extern const char sql_doc_chunks_read[];
/* Document $1 goes (its slices first: sql_doc_chunks_delete). */
extern const char sql_doc_delete[];
/* The ids of account $1's documents not expired at $2, oldest first. */
extern const char sql_doc_list[];
/* The slices of the documents expired at $1, then those documents.
 * dialect: the _pg texts take only the documents no other node's purge holds (SKIP LOCKED). */
extern const char sql_doc_expired_chunks_purge[];
extern const char sql_doc_expired_chunks_purge_pg[];
extern const char sql_doc_expired_purge[];
extern const char sql_doc_expired_purge_pg[];

/* ---- receiver lists ---- */

/* A LOADING list: service_id, source, created_ms. Ends with SQLDRV_RETURNING_ID: run it
 * with sqldrv_insert(). */
extern const char sql_list_insert[];
/* A row: list_id, line, receiver (NULL: refused), region, raw, fields (a blob), reason. A row
 * whose line, or whose receiver, the list has already is not stored (sqldrv_changes() 0). */
extern const char sql_list_row_insert[];
/* The line of receiver $2 in list $1. */
extern const char sql_list_row_line_of[];
/* $1 valid and $2 refused rows more in LOADING list $3. */
extern const char sql_list_count_rows[];
/* List $2 to state $1. */
extern const char sql_list_set_state[];
/* LOADING list $5 READY: columns, number_col, separator, header. */
extern const char sql_list_ready[];
/* The counts of list $1: records, valid, invalid, created_ms. */
extern const char sql_list_counts[];
/* Every LOADING list DROPPED (lists left by an earlier run). */
extern const char sql_list_recover[];
extern const char sql_list_recover_stale[];
/* A DROPPED list to purge: its id.
 * dialect: the _pg text claims one that no other node is purging (FOR UPDATE SKIP LOCKED). */
extern const char sql_list_dropped[];
extern const char sql_list_dropped_pg[];
/* The line of list $1's row after the first $2 (where a slice of the purge ends). */
extern const char sql_list_rows_cut[];
/* List $1's rows before line $3, or all of them when $2 is 0. */
extern const char sql_list_rows_purge[];
/* List $1 goes (its rows first). */
extern const char sql_list_delete[];
/* 1 if some list is DROPPED. */
extern const char sql_list_dropped_any[];
/* Refused rows of list $1, by line, at most $2: line, raw, reason. */
extern const char sql_list_invalid_sample[];
/* The columns, separator and header of list $1. */
extern const char sql_list_format[];
/* The fields of every row of list $1, by line. */
extern const char sql_list_fields[];

/* ---- receivers slots ---- */

/* The list that slot $2 of service $1 names.
 * dialect: the _pg text locks the slot's row, so that the list it named is the one replaced
 * (two nodes repointing one slot each drop the list they replaced, none is left behind). */
extern const char sql_slot_list_id[];
extern const char sql_slot_list_id_pg[];
/* Slot $4 of service $3 names list $1 from $2 on. */
extern const char sql_slot_repoint[];
/* A slot: service_id, slot, description, auto_update, csv_url, document_id, list_id,
 * created_ms, updated_ms. */
extern const char sql_slot_insert[];
/* Slot $2 of service $1 and its list's counts: slot, description, auto_update, csv_url,
 * document_id, created_ms, updated_ms, list_id, records, valid, invalid, columns. */
extern const char sql_slot_get[];
/* The slots of service $1, in order. */
extern const char sql_slot_all[];
/* The csvUrl of slot $2 of service $1 (NULL: none). */
extern const char sql_slot_csv_url[];
/* Slot $6 of service $5: description $1 (NULL keeps it), auto_update $3 when $2 is not 0,
 * updated at $4. */
extern const char sql_slot_update[];
/* Slot $2 of service $1 goes; returns the list it named (one statement: the list read is the
 * one the deleted row named, whatever another node did meanwhile). */
extern const char sql_slot_delete[];

/* ---- the fan-out ---- */

/* The columns of READY list $1 of service $2.
 * dialect: the _pg text holds the list's row (FOR SHARE) until the send commits, so that no
 * other node drops and purges its rows while they are read (the purge's claim skips it). */
extern const char sql_list_columns[];
extern const char sql_list_columns_pg[];
/* The rows of list $1 by line: receiver, region, raw, fields, reason. */
extern const char sql_list_rows_all[];
/* The totals of send $3: credits $1, count $2. */
extern const char sql_send_totals[];
/* A campaign: id, service_id, kind, name, message, sender, sender_for_response, tag, slot,
 * receivers, errors, records, count, invalid, credits, send_id, first_msg, last_msg, due_ms,
 * created_ms, updated_ms. */
extern const char sql_campaign_insert[];

/* ---- campaigns ---- */

/* Campaign $1 of service $2 (SQL_CAMPAIGN_COLS), not removed, of kind $3 (NULL: any). */
extern const char sql_campaign_get[];
/* The campaigns of service $1 (SQL_CAMPAIGN_COLS), not removed, of kind $2 (NULL: any). */
extern const char sql_campaign_list[];
/* Per state, the messages of ids $1..$2 of service $3 and send $4 (0: any): state, count,
 * credits billed, first and last sent_ms. */
extern const char sql_campaign_stats[];
/* Campaign $3 renamed $1 at $2. */
extern const char sql_campaign_rename[];
/* The messages of ids $1..$2 of service $3 and send $4 (0: any) still scheduled or queued:
 * id, credits, by id.
 * dialect: the _pg text locks them (FOR UPDATE) until the cancel commits: a dispatcher's
 * claim (SKIP LOCKED) then passes them by, and a message another node claimed meanwhile is
 * read in its new state (submitting), so it is neither sent nor refunded twice. */
extern const char sql_campaign_pending[];
extern const char sql_campaign_pending_pg[];
/* Campaign $3 cancelled at $1, removed when $2 is 1. */
extern const char sql_campaign_cancelled[];
/* Per state, service $1's messages with tag $2: state, count, credits billed, first and last
 * created_ms. */
extern const char sql_tag_stats[];

#endif
