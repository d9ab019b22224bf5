/*
 * sql_core.h - the SQL texts of the core tables' operations (accounts, applications and
 * consumer keys, services, the ledger's listing, senders and their history, the outgoing
 * list, the sim's memory), written once for every backend under the rules of sql_msg.h
 * ($1..$n in order of first use, no boolean-typed integers, no casts; an INSERT whose id is
 * wanted ends with SQLDRV_RETURNING_ID). Driven by store_core_sql.c; the texts of sends,
 * messages, claims and the ledger's rows are sql_msg.h's.
 *
 * Where the dialects differ, both texts are here, named for what they do, and the caller
 * chooses with sqldrv_dialect() ("dialect:" there). The constants are arrays with one address
 * each: the driver caches statements by address.
 */
#ifndef SG_STORE_SQL_CORE_H
#define SG_STORE_SQL_CORE_H

/* ---- accounts, applications, consumer keys ---- */

/* An account: name, created_ms. Ends with SQLDRV_RETURNING_ID: run it with sqldrv_insert(). */
extern const char sql_account_insert[];
/* An account's first service (short number 36184): account_id, name, created_ms. Ends with
 * SQLDRV_RETURNING_ID. */
extern const char sql_service_insert[];
/* An application: account_id, app_key, app_secret, name, created_ms. Ends with
 * SQLDRV_RETURNING_ID. */
extern const char sql_application_insert[];
/* A consumer key validated at once (an account's own): application_id, consumer_key, rules,
 * created_ms. */
extern const char sql_credential_insert_validated[];
/* Every service of every account: account name, service name, service id; by account, then
 * service. */
extern const char sql_account_services[];
/* The application with key $1 and its account's limits: id, account_id, app_secret,
 * rate_limit, rate_burst (NULL: the default). */
extern const char sql_auth_application[];
/* The consumer key $1: id, application_id, state, rules, allowed_ips, created_ms, expires_ms,
 * last_use_ms. */
extern const char sql_auth_credential[];
/* The id of the application with key $1. */
extern const char sql_application_id[];
/* A consumer key waiting for validation: application_id, consumer_key, rules, allowed_ips,
 * redirection, created_ms, expires_ms. */
extern const char sql_credential_insert[];
/* Consumer key $1 expires instead of being validated: still pending (or expired already)
 * and created before $2. */
extern const char sql_credential_expire_pending[];
/* Consumer key $2 takes state $1. */
extern const char sql_credential_state[];

/* ---- services and the ledger ---- */

/* The service named $1: id, account_id, name, description, status, callback, stop_callback,
 * short_number, sms_response, templates, recredit_amount, recredit_threshold. */
extern const char sql_service_get[];
/* The names of account $1's services, by id. */
extern const char sql_service_names[];
/* Service $12 changes: description $1 (NULL keeps it); callback $3 when $2 <> 0;
 * stop_callback $5 when $4 <> 0; recredit_amount $7 when $6 <> 0; recredit_threshold $9
 * when $8 <> 0; sms_response $10, templates $11 (NULL keeps them). */
extern const char sql_service_update[];
/* The ledger of service $1, oldest first: id, ts_ms, amount, kind, ref, balance, note. */
extern const char sql_ledger_rows[];

/* ---- senders ---- (the status of one sender is sql_msg.h's sql_sender_status) */

/* A row of a sender's history: service_id, sender, ts_ms, status, comment, reason. */
extern const char sql_sender_history_insert[];
/* A sender declared, waiting for validation: service_id, sender, description, reason, type,
 * created_ms. A second declaration of the same name fails on its unique key (SG_ECONFLICT). */
extern const char sql_sender_insert[];
/* Sender $2 of service $1: sender, description, status, comment, referer, type, reason,
 * created_ms. */
extern const char sql_sender_get[];
/* Sender $5 of service $4 changes: status $1, description $2, comment $3 (NULL keeps each). */
extern const char sql_sender_update[];
/* Sender $2 of service $1 is deleted. */
extern const char sql_sender_delete[];
/* The names of service $1's senders, by name. */
extern const char sql_sender_names[];
/* Every sender name service $1 has or had, by name, with its current row when there is
 * one: sender, status, description, reason, comment, created_ms (NULL from status on: gone). */
extern const char sql_sender_names_ever[];
/* The history of sender $2 of service $1, oldest first: ts_ms, status, comment, reason. */
extern const char sql_sender_history_rows[];

/* ---- the outgoing list ---- */

/* The ids of service $1's messages not deleted, by id, with state between $2 and $3, and each
 * filter that is set: receiver $4, sender $5 (NULL: any), ptt $6, dlr $7, differed_min $8
 * (< 0: any), created_ms from $9 and up to $10 (0: no bound), SMS user $11 (0: any: the
 * service sees its users' messages too). The _tag text adds tag $12; two
 * texts so that SQLite's plan for a tag uses the index on (service_id, tag). */
extern const char sql_outgoing_ids[];
extern const char sql_outgoing_ids_tag[];
/* sql_msg_get (sql_msg.h) with one more column after SQL_MSG_COLS: the id of the batch
 * (campaigns of kind "batch") the message belongs to, or NULL. */
extern const char sql_msg_get_batch[];

/* ---- the simulated operator ---- */

/* The smsc id the sim gave message $1, if it accepted it before. */
extern const char sql_sim_smsc_id[];
/* Message $1 was submitted to the sim once more. */
extern const char sql_sim_resubmit[];
/* The sim accepts a message: message_id, smsc_id, outcome, due_ms. */
extern const char sql_sim_insert[];
/* The sim's messages due at $1, at most $2, by due time: message_id, outcome, step.
 * dialect: the _skip_locked text (PostgreSQL) locks the rows it returns and skips those
 * another node's transaction holds, so that two nodes never advance the same message. */
extern const char sql_sim_due[];
extern const char sql_sim_due_skip_locked[];
/* The sim's message $4 moved one step: done $1, next due $2, $3 more deliveries. */
extern const char sql_sim_step[];
/* When the sim's next message is due (NULL: none). */
extern const char sql_sim_next_due[];

#endif
