/*
 * store_core_sql.c - the operations of the core tables (store.h's STORE_OPS up to recover):
 * accounts, applications and consumer keys, the authentication lookup, services, credit
 * adjustments and the ledger's listing, senders and their history, sends, reads, cancels and
 * deletions of messages, the outgoing list, claims of due messages, status changes, the
 * simulated operator's acceptance and the requeue after a restart (the sim's receipts and
 * replies are sqlite_sim.c's: a reply is an incoming message, a layer above this file).
 *
 * Design. Written only against the SQL driver (sqldrv.h) and the shared texts of sql_core.h
 * and sql_msg.h, so that each operation is one function for every backend with a driver:
 * SQLite's table (sqlite.c) names them today, PostgreSQL's is to name the same ones. The
 * rules that are not SQL are core/'s (msgstate: which status change applies, when a message
 * expires; sim_model: the sim's steps). Where the dialects differ, the text is chosen with
 * sqldrv_dialect() and marked "dialect:": only the two reads that pick rows to work on (the
 * claim of due messages and the sim's due steps), which on PostgreSQL lock the rows they
 * return and skip those another node holds (FOR UPDATE SKIP LOCKED), so that nodes sharing one
 * database never claim the same message.
 *
 * Every function runs on the store thread, inside the batch transaction opened by store.c,
 * each operation in its own savepoint: an operation that returns an error is rolled back
 * alone. No operation goes on after a failed statement (PostgreSQL aborts the transaction
 * until the savepoint is rolled back): a unique key taken is reported as SG_ECONFLICT to the
 * caller (a second account or sender of the same name), never worked around.
 *
 * Layering (store.c has the whole picture): calls sqlite_msg.c (new messages, status
 * changes, refunds), sqlite_credits.c (prices and the automatic top-up of a send),
 * sqlite_util.c (service ids, balance, ledger), the driver and store_records.c; called only
 * through the backend table.
 *
 * Invariants:
 *  1. A send is all or nothing: its debit, its messages and their creation events are written
 *     in the one operation, or nothing is (the balance is checked first, in the same
 *     transaction).
 *  2. A claimed message is leased to the claiming node (state submitting, lease_ms, one more
 *     attempt) in the transaction that read it as due; a due message whose validity ended
 *     fails there instead (refunded by the state machine) and is not returned.
 *  3. A consumer key or sender change that finds no row reports SG_ENOTFOUND and writes
 *     nothing; every change of a sender's status, and every operator decision, leaves one row
 *     in sender_history.
 */
#include "store/store_core_sql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include <jansson.h>

#include "core/gsm.h"
#include "core/msgstate.h"
#include "core/phone.h"
#include "core/price.h"
#include "core/sim_model.h"
#include "store/sql_core.h"
#include "store/sql_msg.h"
#include "store/sqldrv.h"
#include "store/sqlite_credits_int.h"
#include "store/sqlite_blacklist_int.h"
#include "store/sqlite_users_int.h"
#include "util/log.h"
#include "util/util.h"

/* ---- accounts and authentication ---- */

int store_core__account_create(store_conn *c, store_account_create_req *r) {
    int64_t now = sg_now_ms(), account_id, service_id, app_id;
    sqldrv_stmt *st = sqldrv_prep(c, sql_account_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    sqldrv_bind_int(st, 2, now);
    int rc = sqldrv_insert(c, st, "Creating an account", &account_id);
    if (rc) return rc;

    char sn[96];
    snprintf(sn, sizeof sn, "sms-%s-1", r->name);
    st = sqldrv_prep(c, sql_service_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, account_id);
    sqldrv_bind_text(st, 2, sn);
    sqldrv_bind_int(st, 3, now);
    if ((rc = sqldrv_insert(c, st, "Creating a service", &service_id))) return rc;
    if ((rc = sqlite__ledger_add(c, service_id, r->credits, "initial", "account created", NULL)))
        return rc;

    char ak[33], as[65], ck[65];
    sg_random_hex(ak, 8);
    sg_random_hex(as, 16);
    sg_random_hex(ck, 16);
    st = sqldrv_prep(c, sql_application_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, account_id);
    sqldrv_bind_text(st, 2, ak);
    sqldrv_bind_text(st, 3, as);
    sqldrv_bind_text(st, 4, r->name);
    sqldrv_bind_int(st, 5, now);
    if ((rc = sqldrv_insert(c, st, "Creating an application", &app_id))) return rc;
    st = sqldrv_prep(c, sql_credential_insert_validated);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, app_id);
    sqldrv_bind_text(st, 2, ck);
    sqldrv_bind_text(st, 3, r->rules_json);
    sqldrv_bind_int(st, 4, now);
    if ((rc = sqldrv_done(c, st, "Creating a consumer key"))) return rc;
    r->service_name = sg_xstrdup(sn);
    r->app_key = sg_xstrdup(ak);
    r->app_secret = sg_xstrdup(as);
    r->consumer_key = sg_xstrdup(ck);
    return 0;
}

int store_core__account_list(store_conn *c, store_account_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_account_services);
    if (!st) return SG_EIO;
    json_t *arr = json_array();
    int64_t ids[4096];
    size_t n = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        json_t *o = json_object();
        json_object_set_new(o, "account", json_string(sqldrv_col_str(st, 0)));
        json_object_set_new(o, "serviceName", json_string(sqldrv_col_str(st, 1)));
        json_array_append_new(arr, o);
        if (n < 4096) ids[n++] = sqldrv_col_int(st, 2);
    }
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    /* The balances once the list is read: one statement reads at a time. */
    for (size_t i = 0; i < n; i++)
        json_object_set_new(json_array_get(arr, i), "creditsLeft",
                            sqlite__credits_json(sqlite__balance(c, ids[i])));
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

/* dialect: PostgreSQL. sql_auth_application and sql_auth_credential in one statement (one
 * round trip where two were): one row, NULLs for what was not found. */
static const char pg_auth_lookup[] =
    "SELECT p.id, p.account_id, p.app_secret, a.rate_limit, a.rate_burst, c.id, "
    "c.application_id, c.state, c.rules, c.allowed_ips, c.created_ms, c.expires_ms, "
    "c.last_use_ms FROM (SELECT 1 AS one) o "
    "LEFT JOIN (applications p JOIN accounts a ON a.id = p.account_id) ON p.app_key = $1 "
    "LEFT JOIN credentials c ON c.consumer_key = $2";

/* Reads an application's columns (sql_auth_application's, from column k) into r. */
static void auth_read_app(sqldrv_stmt *st, int k, store_auth_lookup_req *r) {
    r->app_found = 1;
    r->app_id = sqldrv_col_int(st, k);
    r->account_id = sqldrv_col_int(st, k + 1);
    r->app_secret = sqldrv_col_text(st, k + 2);
    if (!sqldrv_col_null(st, k + 3)) r->rate_limit = sqldrv_col_int(st, k + 3);
    if (!sqldrv_col_null(st, k + 4)) r->rate_burst = sqldrv_col_int(st, k + 4);
}

/* Reads a credential's columns (sql_auth_credential's, from column k) into r. */
static void auth_read_cred(sqldrv_stmt *st, int k, store_auth_lookup_req *r) {
    r->cred_found = 1;
    r->cred_id = sqldrv_col_int(st, k);
    r->cred_app_matches = r->app_found && sqldrv_col_int(st, k + 1) == r->app_id;
    r->cred_state = sqldrv_col_text(st, k + 2);
    r->rules_json = sqldrv_col_text(st, k + 3);
    r->allowed_ips_json = sqldrv_col_text(st, k + 4);
    r->cred_created_ms = sqldrv_col_int(st, k + 5);
    r->cred_expires_ms = sqldrv_col_int(st, k + 6);
    r->cred_last_use_ms = sqldrv_col_int(st, k + 7);
}

static int auth_lookup_pg(store_conn *c, store_auth_lookup_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, pg_auth_lookup);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->app_key);
    sqldrv_bind_text(st, 2, r->consumer_key);
    r->rate_limit = r->rate_burst = -1;
    int rc = sqldrv_step(c, st);
    if (rc < 0) return rc;
    if (rc == 1 && !sqldrv_col_null(st, 0)) auth_read_app(st, 0, r);
    if (rc == 1 && r->consumer_key && !sqldrv_col_null(st, 5)) auth_read_cred(st, 5, r);
    sqldrv_reset(st);
    return 0;
}

int store_core__auth_lookup(store_conn *c, store_auth_lookup_req *r) {
    if (sqldrv_dialect(c) == SQLDRV_POSTGRES) return auth_lookup_pg(c, r);
    sqldrv_stmt *st = sqldrv_prep(c, sql_auth_application);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->app_key);
    r->rate_limit = r->rate_burst = -1;
    int rc = sqldrv_step(c, st);
    if (rc < 0) return rc;
    if (rc == 1) {
        auth_read_app(st, 0, r);
        sqldrv_reset(st);
    }
    if (!r->consumer_key) return 0;
    st = sqldrv_prep(c, sql_auth_credential);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->consumer_key);
    rc = sqldrv_step(c, st);
    if (rc < 0) return rc;
    if (rc == 1) {
        auth_read_cred(st, 0, r);
        sqldrv_reset(st);
    }
    return 0;
}

int store_core__credential_create(store_conn *c, store_credential_create_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_application_id);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->app_key);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    int64_t app_id = sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    char ck[65];
    sg_random_hex(ck, 16);
    st = sqldrv_prep(c, sql_credential_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, app_id);
    sqldrv_bind_text(st, 2, ck);
    sqldrv_bind_text(st, 3, r->rules_json);
    sqldrv_bind_text(st, 4, r->allowed_ips_json);
    sqldrv_bind_text(st, 5, r->redirection);
    sqldrv_bind_int(st, 6, sg_now_ms());
    sqldrv_bind_int(st, 7, r->expires_ms);
    rc = sqldrv_done(c, st, "Creating a consumer key");
    if (rc == 0) r->consumer_key = sg_xstrdup(ck);
    return rc;
}

int store_core__credential_state(store_conn *c, store_credential_state_req *r) {
    sqldrv_stmt *st;
    int rc;
    if (r->pending_before_ms > 0 && !strcmp(r->state, "validated")) {
        /* A request left unvalidated too long expires instead (store_limits.h). */
        st = sqldrv_prep(c, sql_credential_expire_pending);
        if (!st) return SG_EIO;
        sqldrv_bind_text(st, 1, r->consumer_key);
        sqldrv_bind_int(st, 2, r->pending_before_ms);
        if ((rc = sqldrv_done(c, st, "Expiring a consumer key request"))) return rc;
        if (sqldrv_changes(c)) {
            r->expired = 1;
            return 0;
        }
    }
    st = sqldrv_prep(c, sql_credential_state);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->state);
    sqldrv_bind_text(st, 2, r->consumer_key);
    if ((rc = sqldrv_done(c, st, "Changing a consumer key's state"))) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

/* ---- services ---- */

/* dialect: PostgreSQL. sql_service_get with the balance (sql_ledger_balance) as a last
 * column: one round trip where two were. SQLite keeps its two statements. */
static const char pg_service_get[] =
    "SELECT id, account_id, name, description, status, callback, stop_callback, short_number, "
    "sms_response, templates, recredit_amount, recredit_threshold, (SELECT balance FROM ledger "
    "WHERE service_id = services.id ORDER BY id DESC LIMIT 1) FROM services WHERE name = $1";

int store_core__service_get(store_conn *c, store_service_get_req *r) {
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    sqldrv_stmt *st = sqldrv_prep(c, pg ? pg_service_get : sql_service_get);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    int rc = sqldrv_step(c, st);
    if (rc < 0) return rc;
    if (rc == 0 || (r->account_id && sqldrv_col_int(st, 1) != r->account_id)) {
        sqldrv_reset(st);
        return SG_ENOTFOUND;
    }
    store_service *s = &r->svc;
    s->id = sqldrv_col_int(st, 0);
    s->account_id = sqldrv_col_int(st, 1);
    s->name = sqldrv_col_text(st, 2);
    s->description = sqldrv_col_text(st, 3);
    s->status = sqldrv_col_text(st, 4);
    s->callback = sqldrv_col_text(st, 5);
    s->stop_callback = sqldrv_col_text(st, 6);
    s->short_number = sqldrv_col_text(st, 7);
    s->sms_response = sqldrv_col_text(st, 8);
    s->templates = sqldrv_col_text(st, 9);
    s->recredit_amount = sqldrv_col_int(st, 10);
    s->recredit_threshold = sqldrv_col_int(st, 11);
    if (pg) s->balance = sqldrv_col_int(st, 12);
    sqldrv_reset(st);
    if (!pg) s->balance = sqlite__balance(c, s->id);
    return 0;
}

int store_core__service_list(store_conn *c, store_service_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_service_names);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->account_id);
    return sqlite__read_texts(c, st, &r->names, &r->count);
}

int store_core__service_update(store_conn *c, store_service_update_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_service_update);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->description);
    sqldrv_bind_int(st, 2, r->set_callback);
    sqldrv_bind_text(st, 3, r->callback);
    sqldrv_bind_int(st, 4, r->set_stop_callback);
    sqldrv_bind_text(st, 5, r->stop_callback);
    sqldrv_bind_int(st, 6, r->set_recredit);
    sqldrv_bind_int(st, 7, r->recredit_amount);
    sqldrv_bind_int(st, 8, r->set_threshold);
    sqldrv_bind_int(st, 9, r->recredit_threshold);
    sqldrv_bind_text(st, 10, r->sms_response);
    sqldrv_bind_text(st, 11, r->templates);
    sqldrv_bind_int(st, 12, r->service_id);
    int rc = sqldrv_done(c, st, "Updating a service");
    if (rc) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

int store_core__credit_adjust(store_conn *c, store_credit_adjust_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    int64_t before;
    int rc = sqlite__balance_for_write(c, sid, &before); /* locked on PostgreSQL */
    if (rc) return rc;
    if (before + r->amount < 0) return SG_ENOCREDIT;
    return sqlite__ledger_append(c, sid, before, r->amount, r->kind, r->ref, NULL, &r->balance);
}

int store_core__ledger(store_conn *c, store_ledger_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_ledger_rows);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        char when[SG_TIME_ISO_LEN];
        sg_time_iso(sqldrv_col_int(st, 1), when);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqldrv_col_int(st, 0)));
        json_object_set_new(o, "datetime", json_string(when));
        json_object_set_new(o, "amount", sqlite__credits_json(sqldrv_col_int(st, 2)));
        json_object_set_new(o, "kind", json_string(sqldrv_col_str(st, 3)));
        const char *ref = sqldrv_col_str(st, 4);
        json_object_set_new(o, "ref", ref ? json_string(ref) : json_null());
        json_object_set_new(o, "balance", sqlite__credits_json(sqldrv_col_int(st, 5)));
        const char *note = sqldrv_col_str(st, 6);
        if (note) json_object_set_new(o, "note", json_string(note));
        json_array_append_new(arr, o);
    }
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

/* ---- senders ---- */

static int64_t sender_service(store_conn *c, store_sender_req *r) {
    return r->service_id ? r->service_id : sqlite__service_id(c, r->service_name);
}

/* One row of a sender's history (see store_sender_history_req). */
static int sender_event(store_conn *c, int64_t sid, const char *sender, const char *status,
                        const char *comment, const char *reason) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_history_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, sender);
    sqldrv_bind_int(st, 3, sg_now_ms());
    sqldrv_bind_text(st, 4, status);
    sqldrv_bind_text(st, 5, comment);
    sqldrv_bind_text(st, 6, reason);
    return sqldrv_done(c, st, "Recording the history of a sender");
}

int store_core__sender_create(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->sender);
    sqldrv_bind_text(st, 3, r->description ? r->description : "");
    sqldrv_bind_text(st, 4, r->reason);
    sqldrv_bind_text(st, 5, r->type);
    sqldrv_bind_int(st, 6, sg_now_ms());
    int rc = sqldrv_done(c, st, "Declaring a sender");
    if (rc) return rc;
    return sender_event(c, sid, r->sender, "waitingValidation", NULL, r->reason);
}

int store_core__sender_get(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->sender);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    store_sender *s = &r->out;
    s->sender = sqldrv_col_text(st, 0);
    s->description = sqldrv_col_text(st, 1);
    s->status = sqldrv_col_text(st, 2);
    s->comment = sqldrv_col_text(st, 3);
    s->referer = sqldrv_col_text(st, 4);
    s->type = sqldrv_col_text(st, 5);
    s->reason = sqldrv_col_text(st, 6);
    s->created_ms = sqldrv_col_int(st, 7);
    sqldrv_reset(st);
    return 0;
}

int store_core__sender_update(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_status);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->sender);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    char cur[32];
    snprintf(cur, sizeof cur, "%s", sqldrv_col_str(st, 0));
    sqldrv_reset(st);
    if (r->status && !r->admin && strcmp(r->status, cur) != 0) {
        /* A customer may only switch a validated sender between enable and disable. */
        int ok = (!strcmp(cur, "enable") && !strcmp(r->status, "disable")) ||
                 (!strcmp(cur, "disable") && !strcmp(r->status, "enable"));
        if (!ok) return SG_EPERM;
    }
    st = sqldrv_prep(c, sql_sender_update);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->status);
    sqldrv_bind_text(st, 2, r->description);
    sqldrv_bind_text(st, 3, r->comment);
    sqldrv_bind_int(st, 4, sid);
    sqldrv_bind_text(st, 5, r->sender);
    rc = sqldrv_done(c, st, "Updating a sender");
    if (rc || !r->status || (!r->admin && !strcmp(r->status, cur))) return rc;
    /* A change of status, and every decision of the operator (with its comment). */
    return sender_event(c, sid, r->sender, r->status, r->comment, NULL);
}

int store_core__sender_delete(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->sender);
    int rc = sqldrv_done(c, st, "Deleting a sender");
    if (rc) return rc;
    if (!sqldrv_changes(c)) return SG_ENOTFOUND;
    return sender_event(c, sid, r->sender, "deleted", NULL, NULL);
}

static json_t *text_or_null(sqldrv_stmt *st, int col) {
    const char *t = sqldrv_col_str(st, col);
    return t ? json_string(t) : json_null();
}

/* The history of one sender (sql_sender_history_rows) into o's "history" and
 * "refusedBefore". */
static int sender_history_of(store_conn *c, int64_t sid, json_t *o) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_history_rows);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, json_string_value(json_object_get(o, "sender")));
    json_t *hist = json_array(), *before = json_array();
    json_t *last_refusal = NULL;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        char when[SG_TIME_ISO_LEN];
        sg_time_iso(sqldrv_col_int(st, 0), when);
        const char *status = sqldrv_col_str(st, 1);
        json_t *h = json_pack("{s:s, s:s, s:o, s:o}", "datetime", when, "status",
                              status ? status : "", "comment", text_or_null(st, 2), "reason",
                              text_or_null(st, 3));
        if (status && !strcmp(status, "refused")) last_refusal = h;
        /* A refusal followed by a deletion: the sender as declared now was refused
         * before, whatever became of it since. */
        if (status && !strcmp(status, "deleted") && last_refusal) {
            json_array_append(before, last_refusal);
            last_refusal = NULL;
        }
        json_array_append_new(hist, h);
    }
    if (rc < 0) {
        json_decref(hist);
        json_decref(before);
        return rc;
    }
    json_object_set_new(o, "history", hist);
    json_object_set_new(o, "refusedBefore", before);
    return 0;
}

int store_core__sender_history(store_conn *c, store_sender_history_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    /* Every name, current or gone, with its current row when there is one. */
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_names_ever);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        json_t *o = json_object();
        int exists = !sqldrv_col_null(st, 1);
        json_object_set_new(o, "sender", text_or_null(st, 0));
        json_object_set_new(o, "status", exists ? text_or_null(st, 1) : json_string("deleted"));
        json_object_set_new(o, "description", text_or_null(st, 2));
        json_object_set_new(o, "reason", text_or_null(st, 3));
        json_object_set_new(o, "comment", text_or_null(st, 4));
        if (exists) {
            char when[SG_TIME_ISO_LEN];
            sg_time_iso(sqldrv_col_int(st, 5), when);
            json_object_set_new(o, "createdAt", json_string(when));
        } else {
            json_object_set_new(o, "createdAt", json_null());
        }
        json_array_append_new(arr, o);
    }
    /* Then each name's history, once the names are read: one statement reads at a time. */
    size_t i;
    json_t *o;
    if (rc == 0)
        json_array_foreach(arr, i, o) {
            if ((rc = sender_history_of(c, sid, o)) < 0) break;
        }
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

int store_core__sender_list(store_conn *c, store_sender_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_names);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    return sqlite__read_texts(c, st, &r->names, &r->count);
}

/* ---- sending ---- */

/* dialect: PostgreSQL only. What a send reads before it writes, in one statement after the
 * service's lock (sqlite__pg_service_lock, sent just before without waiting: this read starts
 * once the lock is held and sees the previous writer's ledger row): the balance, the top-up
 * settings (sql_credits_topup_of), the rate of region $2 (sql_price_rate; NULL: none stored)
 * and the id of the new send, taken from its sequence, so that the send's row and its debit
 * are written without waiting for an answer. One round trip where these took five. The
 * sequence is named, not looked up (pg_get_serial_sequence reads the catalog at every call):
 * an identity column's sequence is <table>_<column>_seq. The messages' ids ($3 of them) are
 * taken from theirs too, so that the messages go without waiting either: a send of one
 * message then waits once (docs/benchmarks.md, PostgreSQL). */
#define PG_SUBMIT_READ(send_ids, msg_ids)                                                  \
    "SELECT (SELECT balance FROM ledger WHERE service_id = $1 ORDER BY id DESC LIMIT 1), "  \
    "recredit_amount, recredit_threshold, name, "                                           \
    "(SELECT credits FROM price_rates WHERE country = $2), " send_ids ", " msg_ids          \
    " FROM services WHERE id = $1"
#define PG_IDS(seq, n) \
    "(SELECT string_agg(nextval('" seq "')::text, ',') FROM generate_series(1, " n "))"
#define PG_SUBMIT_READ_K(n) PG_SUBMIT_READ(PG_IDS("sends_id_seq", n), PG_IDS("messages_id_seq", n))
/* A send of one message takes its id and the send's, and when it follows other sends of its
 * service in the batch, ids for the next ones (submit_read_pg: 1, then 2, 4, ... 32 at a
 * time); a send of more, its $3 ids. One text per count: generate_series($3) is planned for
 * 1,000 rows while $3 is unknown, so the session's cached plan never looked cheaper than a
 * new one, and each send was planned afresh (88 us). */
static const char *const pg_submit_read_k[] = {
    PG_SUBMIT_READ("nextval('sends_id_seq')::text", "nextval('messages_id_seq')::text"),
    PG_SUBMIT_READ_K("2"), PG_SUBMIT_READ_K("4"), PG_SUBMIT_READ_K("8"), PG_SUBMIT_READ_K("16"),
    PG_SUBMIT_READ_K("32")};
static const char pg_submit_read_n[] =
    PG_SUBMIT_READ("nextval('sends_id_seq')::text", PG_IDS("messages_id_seq", "$3"));
/* dialect: PostgreSQL only: a send with the id pg_submit_read took. */
static const char pg_send_insert[] =
    "INSERT INTO sends(id, service_id, created_ms, credits, count) VALUES ($1, $2, $3, $4, $5)";

/* What a send knows before it writes (read by submit_read()). */
typedef struct submit_pre {
    int64_t balance;
    int64_t send_id;                       /* 0: taken at insert (SQLite) */
    int topup_known;                       /* the top-up settings below were read */
    int64_t topup_amount, topup_threshold;
    char name[96];
    const char *region;                    /* the rate read with them (PostgreSQL), or NULL */
    int64_t region_rate;                   /* -1: no stored rate for it */
    int64_t *msg_ids;                      /* PostgreSQL: one per message, from its sequence */
} submit_pre;

/* The rate of a message's region: the one read already, or sqlite__credits_rate(). */
static int submit_rate(store_conn *c, const submit_pre *p, const char *region, int64_t *rate) {
    if (p->region && !strcmp(p->region, region)) {
        *rate = p->region_rate >= 0 ? p->region_rate
                                    : llround(price_credits_per_part(region) * 1000.0);
        return 0;
    }
    return sqlite__credits_rate(c, region, rate, NULL);
}

/* Reads up to max ids of a comma-separated text into out: how many. */
static int read_ids(const char *s, int64_t *out, int max) {
    int n = 0;
    while (s && *s && n < max) {
        char *end;
        out[n++] = strtoll(s, &end, 10);
        s = *end == ',' ? end + 1 : NULL;
    }
    return n;
}

/* PostgreSQL: locks the service and reads pg_submit_read_k (one round trip), or takes what
 * the send before it read (the connection's memo, sqldrv_conn.h: no round trip).
 *
 * The memo. Within a batch of sends of one service, the first one's lock holds the service's
 * row until COMMIT: nobody else can append to its ledger meanwhile (sqlite_util.c,
 * invariant 2), so the balance after a send is the next one's, if nothing between them wrote
 * the ledger. A send that is the very next operation of the transaction after a send of its
 * service (no other operation, no rollback: c->ops), with the ledger untouched since
 * (c->ledger_rows), takes that balance, the top-up settings, the name and the region's rate
 * from the memo, and its ids from those the read took ahead; its writes then go without
 * waiting, and with the batch settled once (store.c) a send costs no round trip of its own.
 * Anything else reads afresh. The ids taken ahead double from one read to the next within a
 * run (1, 2, 4 ... 32), so a lone send takes none it does not use. */
static int submit_read_pg(store_conn *c, store_submit_req *r, submit_pre *p) {
    for (size_t i = 0; i < r->count && !p->region; i++) p->region = r->msgs[i].region;
    struct store_send_memo *k = &c->memo;
    int run = k->service_id == r->service_id && k->op + 1 == c->ops && k->ledger == c->ledger_rows;
    if (run && r->count == 1 && k->next < k->n && (!p->region || !strcmp(p->region, k->region))) {
        p->balance = k->balance;
        p->topup_known = 1;
        p->topup_amount = k->topup_amount;
        p->topup_threshold = k->topup_threshold;
        snprintf(p->name, sizeof p->name, "%s", k->name);
        p->region = k->region[0] ? k->region : NULL;
        p->region_rate = k->region_rate;
        p->send_id = k->ids[0][k->next];
        p->msg_ids = sg_xcalloc(1, sizeof *p->msg_ids);
        p->msg_ids[0] = k->ids[1][k->next++];
        return 0;
    }
    int level = 0; /* pg_submit_read_k[level]: 1 << level ids of each */
    if (run && r->count == 1)
        while (level < 5 && (1 << level) <= k->n) level++;
    k->service_id = 0; /* kept again when this send succeeds (store_core__submit) */
    k->next = k->n = 0;
    sqldrv_stmt *st = sqldrv_prep(c, sqlite__pg_service_lock);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    int rc = sqldrv_done(c, st, "Locking a service");
    if (rc) return rc;
    if (!(st = sqldrv_prep(c, r->count == 1 ? pg_submit_read_k[level] : pg_submit_read_n)))
        return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, p->region ? p->region : "");
    if (r->count != 1) sqldrv_bind_int(st, 3, (int64_t)r->count);
    if ((rc = sqldrv_step(c, st)) != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    p->balance = sqldrv_col_int(st, 0);
    p->topup_known = 1;
    p->topup_amount = sqldrv_col_int(st, 1);
    p->topup_threshold = sqldrv_col_int(st, 2);
    snprintf(p->name, sizeof p->name, "%s", sqldrv_col_str(st, 3) ? sqldrv_col_str(st, 3) : "");
    p->region_rate = sqldrv_col_null(st, 4) ? -1 : sqldrv_col_int(st, 4);
    int nsend = read_ids(sqldrv_col_str(st, 5), k->ids[0], 32);
    p->send_id = nsend ? k->ids[0][0] : 0;
    p->msg_ids = sg_xcalloc(r->count, sizeof *p->msg_ids);
    if (r->count == 1) {
        int nmsg = read_ids(sqldrv_col_str(st, 6), k->ids[1], 32);
        p->msg_ids[0] = nmsg ? k->ids[1][0] : 0;
        k->n = nsend < nmsg ? nsend : nmsg;
        k->next = 1;
    } else {
        read_ids(sqldrv_col_str(st, 6), p->msg_ids, (int)r->count);
    }
    sqldrv_reset(st);
    if (!p->send_id) return SG_EIO;
    k->topup_amount = p->topup_amount;
    k->topup_threshold = p->topup_threshold;
    snprintf(k->name, sizeof k->name, "%s", p->name);
    snprintf(k->region, sizeof k->region, "%s", p->region ? p->region : "");
    k->region_rate = p->region_rate;
    return 0;
}

static int submit_rest(store_conn *c, store_submit_req *r, submit_pre *p, int64_t balance,
                       size_t refused);
static int user_after(store_conn *c, store_submit_req *r, sqlite_user_quota *q);

static int submit_checked(store_conn *c, store_submit_req *r, submit_pre *pre, size_t refused);

int store_core__submit(store_conn *c, store_submit_req *r) {
    int rc;
    r->handed = 0; /* (an operation may run twice: store.c, run_again) */
    if (r->sender_check) {
        sqldrv_stmt *st = sqldrv_prep(c, sql_sender_status);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, r->service_id);
        sqldrv_bind_text(st, 2, r->sender);
        if ((rc = sqldrv_step(c, st)) < 0) return rc;
        int enabled = rc == 1 && !strcmp(sqldrv_col_str(st, 0), "enable");
        sqldrv_reset(st);
        if (!enabled) {
            r->sender_status_bad = rc == 1 ? 2 : 1;
            return SG_EPERM;
        }
    }
    /* A marketing SMS is refused for each receiver blacklisted by the service: first one probe
     * for any blacklisted number of the service, then, only if there is one, a lookup per
     * receiver (sqlite_blacklist.c); a send to one receiver makes its lookup at once. */
    size_t refused = 0;
    if (r->stop_clause &&
        (r->count == 1 || (rc = sqlite__blacklist_any(c, r->service_id)) != 0)) {
        if (r->count > 1 && rc < 0) return rc;
        for (size_t i = 0; i < r->count; i++) {
            store_submit_msg *m = &r->msgs[i];
            if ((rc = sqlite__blacklisted(c, r->service_id, m->receiver)) < 0) return rc;
            m->stoplisted = rc;
            refused += (size_t)rc;
        }
    }
    submit_pre pre = {.region_rate = -1};
    rc = submit_checked(c, r, &pre, refused);
    free(pre.msg_ids);
    struct store_send_memo *k = &c->memo;
    if (rc == 0 && pre.topup_known && !r->user_id) { /* PostgreSQL: for the next send */
        k->service_id = r->service_id;
        k->op = c->ops;
        k->ledger = c->ledger_rows;
        k->balance = r->balance;
    } else {
        k->service_id = 0; /* (a user's quota alert is a send of its own: not kept) */
    }
    return rc;
}

/* The rest of a send, once its sender and receivers were checked: its reads (pre), prices,
 * quota, debit and writes. */
static int submit_checked(store_conn *c, store_submit_req *r, submit_pre *pre, size_t refused) {
    int rc;
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    if (pg && (rc = submit_read_pg(c, r, pre))) return rc; /* pre->msg_ids: the caller frees */
    /* Price each message that names its destination from the store's price table, here in
     * the send's transaction, so a price change is atomic with sends (sqlite_credits.c). */
    int priced = 0;
    int64_t total = 0;
    for (size_t i = 0; i < r->count; i++) {
        store_submit_msg *m = &r->msgs[i];
        if (m->stoplisted) {
            if (!m->region) r->total_credits -= m->credits; /* priced by the caller */
            m->credits = 0;
            continue;
        }
        if (m->region) {
            int64_t rate;
            if ((rc = submit_rate(c, pre, m->region, &rate))) return rc;
            m->credits = rate * m->parts;
            priced = 1;
        }
        total += m->credits;
    }
    if (priced) r->total_credits = total;
    /* An SMS user's send: its quota is taken here, before the debit, in the same transaction
     * (sqlite_users.c, invariant 1); an error below rolls it back with the rest. */
    sqlite_user_quota uq = {0};
    if (r->user_id) {
        rc = sqlite__user_quota_take(c, r->user_id, r->service_id, r->total_credits, &uq);
        r->quota_active = uq.active;
        r->quota_left = uq.quota_left;
        if (rc == SG_ENOCREDIT) r->quota_refused = 1;
        if (rc) {
            sqlite__user_quota_fini(&uq);
            return rc;
        }
    }
    /* read for the debit below: on PostgreSQL the service's row is locked first, so that sends
     * of one service on several nodes debit one after another (sqlite_util.c); done above */
    if (!pg && (rc = sqlite__balance_for_write(c, r->service_id, &pre->balance))) return rc;
    int64_t balance = pre->balance;
    r->balance = balance;
    if (balance < r->total_credits) {
        sqlite__user_quota_fini(&uq);
        return SG_ENOCREDIT;
    }
    if (r->user_id) {
        rc = submit_rest(c, r, pre, balance, refused);
        if (!rc) rc = user_after(c, r, &uq);
        sqlite__user_quota_fini(&uq);
        return rc;
    }
    return submit_rest(c, r, pre, balance, refused);
}

/* The writes of a send once every check passed: the send's row, the debit (and a top-up),
 * the messages. */
static int submit_rest(store_conn *c, store_submit_req *r, submit_pre *p, int64_t balance,
                       size_t refused) {
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    int rc;
    sqldrv_stmt *st = sqldrv_prep(c, pg ? pg_send_insert : sql_send_insert);
    if (!st) return SG_EIO;
    int k = 1;
    if (pg) sqldrv_bind_int(st, k++, p->send_id);
    sqldrv_bind_int(st, k++, r->service_id);
    sqldrv_bind_int(st, k++, r->now_ms);
    sqldrv_bind_int(st, k++, r->total_credits);
    sqldrv_bind_int(st, k++, (int64_t)(r->count - refused));
    if (pg) {
        if ((rc = sqldrv_done(c, st, "Recording a send"))) return rc;
        r->send_id = p->send_id;
    } else if ((rc = sqldrv_insert(c, st, "Recording a send", &r->send_id))) {
        return rc;
    }
    if (r->total_credits > 0) {
        char ref[48];
        snprintf(ref, sizeof ref, "send:%lld", (long long)r->send_id);
        if ((rc = sqlite__ledger_append(c, r->service_id, balance, -r->total_credits, "debit",
                                        ref, NULL, &r->balance)))
            return rc;
        /* An automatic top-up when this debit crossed the threshold (sqlite_credits.c). */
        rc = p->topup_known
                 ? sqlite__credits_after_debit_known(c, r->service_id, p->name,
                                                     p->topup_amount, p->topup_threshold,
                                                     balance, &r->balance)
                 : sqlite__credits_after_debit(c, r->service_id, balance, &r->balance);
        if (rc) return rc;
    }
    int state = r->due_ms > r->now_ms ? MSG_SCHEDULED : MSG_QUEUED;
    for (size_t i = 0; i < r->count; i++) {
        store_submit_msg *m = &r->msgs[i];
        if (m->stoplisted) continue;
        sqlite_new_msg nm = {.service_id = r->service_id, .send_id = r->send_id,
                             .now_ms = r->now_ms, .due_ms = r->due_ms, .state = state,
                             .sender = r->sender, .receiver = m->receiver, .tag = r->tag,
                             .message = m->message, .message_len = strlen(m->message),
                             .coding = m->coding, .priority = r->priority,
                             .sms_class = r->sms_class, .length = m->length, .parts = m->parts,
                             .credits = m->credits, .validity_min = r->validity_min,
                             .differed_min = r->differed_min, .stop_clause = r->stop_clause,
                             .callback_url = r->callback_url,
                             .callback_mask = r->callback_mask,
                             .id = p->msg_ids ? p->msg_ids[i] : 0};
        int handed;
        if ((rc = sqlite__insert_message(c, &nm, &m->id, &handed))) return rc;
        r->handed += (size_t)handed;
    }
    return 0;
}

/* A quota alert by SMS (user_after). */
typedef struct store_user_alert_sms {
    int64_t service_id;
    const char *number, *text;
    int64_t now_ms;
    int64_t message_id; /* out: 0 when it could not be sent (logged) */
} store_user_alert_sms;

static const char sql_short_number[] = "SELECT short_number FROM services WHERE id = $1";

/* Sends a quota alert as an SMS of the service, from its short number, priced and debited
 * like any send in the current transaction. A number that cannot be reached or a balance too
 * low is logged and is not an error: the user's send goes on. */
static int store_core__alert_sms(store_conn *c, store_user_alert_sms *a) {
    phone_info pi;
    gsm_info gi;
    if (phone_normalize(a->number, NULL, &pi) != 0 ||
        gsm_analyze(a->text, strlen(a->text), &gi) != 0 || gi.parts == 0) {
        sg_log_warn("store.users", "Quota alert to '%s' not sent: not a valid number.",
                    a->number);
        return 0;
    }
    sqldrv_stmt *st = sqldrv_prep(c, sql_short_number);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, a->service_id);
    int rc = sqldrv_step(c, st);
    char from[64] = "";
    const char *sn = rc == 1 ? sqldrv_col_str(st, 0) : NULL;
    snprintf(from, sizeof from, "%s", sn ? sn : "");
    sqldrv_reset(st);
    if (rc < 0) return rc;
    char region[3];
    memcpy(region, pi.region, sizeof region);
    region[2] = '\0';
    store_submit_msg msg = {.receiver = pi.e164, .message = a->text, .coding = gi.coding,
                            .length = (int64_t)gi.chars, .parts = (int64_t)gi.parts,
                            .region = region};
    store_submit_req r = {.service_id = a->service_id, .sender = from, .priority = 0,
                          .sms_class = 1, .validity_min = 2880, .msgs = &msg, .count = 1,
                          .now_ms = a->now_ms, .due_ms = a->now_ms};
    rc = store_core__submit(c, &r);
    if (rc == SG_ENOCREDIT) {
        sg_log_warn("store.users", "Quota alert to %s not sent: the service has not enough "
                                   "credits.", pi.e164);
        return 0;
    }
    if (rc) return rc;
    a->message_id = msg.id;
    return 0;
}

/* After an SMS user's send was written: its messages are marked as the user's, and when the
 * send took the user's quota below its alert threshold, the alert goes (once: the quota step
 * marked it sent) as an SMS from the service to alertNumber, written here like any send of the
 * service, and/or as a mail, which smsgated has no transport for: it is recorded and logged
 * for the operator (docs/users.md, "Quota alerts"). */
static int user_after(store_conn *c, store_submit_req *r, sqlite_user_quota *q) {
    int64_t first = 0, last = 0;
    for (size_t i = 0; i < r->count; i++) {
        int64_t id = r->msgs[i].id;
        if (!id) continue;
        if (!first || id < first) first = id;
        if (id > last) last = id;
    }
    int rc;
    if (first && (rc = sqlite__user_mark_messages(c, r->user_id, q->callback, r->send_id, first,
                                                     last)))
        return rc;
    if (!q->alert) return 0;
    char text[256];
    snprintf(text, sizeof text, "SMS user %s: %.3f credits left, under the alert threshold of "
                                "%lld credits.", q->login ? q->login : "?",
             (double)q->quota_left / 1000.0, (long long)q->alert_threshold);
    int by_sms = strcmp(q->support, "mail") != 0 && q->alert_number && *q->alert_number;
    int by_mail = strcmp(q->support, "sms") != 0 && q->alert_email && *q->alert_email;
    int64_t msg_id = 0;
    if (by_sms) {
        store_user_alert_sms a = {.service_id = r->service_id, .number = q->alert_number,
                                  .text = text, .now_ms = r->now_ms};
        if ((rc = store_core__alert_sms(c, &a))) return rc;
        msg_id = a.message_id;
        if ((rc = sqlite__user_alert_record(c, r->user_id, r->service_id, r->now_ms, "sms",
                                            q->alert_number, q->quota_left, msg_id)))
            return rc;
    }
    if (by_mail) {
        sg_log_info("store.users", "Quota alert for %s: %s (a mail alert: smsgated sends no "
                                   "mail, recorded in sms_user_alerts)", q->alert_email, text);
        if ((rc = sqlite__user_alert_record(c, r->user_id, r->service_id, r->now_ms, "mail",
                                            q->alert_email, q->quota_left, 0)))
            return rc;
    }
    return 0;
}

/* The number of columns of SQL_MSG_COLS: the batch column of sql_msg_get_batch follows them. */
static int msg_cols(void) {
    int n = 1;
    for (const char *p = SQL_MSG_COLS; *p; p++) n += *p == ',';
    return n;
}

int store_core__msg_get(store_conn *c, store_msg_req *r) {
    /* GET .../outgoing/{id} also wants the batch (sms.Outgoing.batchID): in the same read. */
    sqldrv_stmt *st = sqldrv_prep(c, r->with_batch ? sql_msg_get_batch : sql_msg_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_int(st, 3, r->pending_only);
    sqldrv_bind_int(st, 4, r->user_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    sqlite__read_msg(st, &r->msg);
    r->batch_id[0] = 0;
    const char *batch = r->with_batch ? sqldrv_col_str(st, msg_cols()) : NULL;
    if (batch) snprintf(r->batch_id, sizeof r->batch_id, "%s", batch);
    sqldrv_reset(st);
    return 0;
}

int store_core__msg_cancel(store_conn *c, store_msg_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_msg_cancel_read);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_int(st, 3, r->user_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    int state = (int)sqldrv_col_int(st, 0);
    int64_t credits = sqldrv_col_int(st, 1);
    sqldrv_reset(st);
    if (state == MSG_SUBMITTING) return SG_ECONFLICT;
    if (state != MSG_SCHEDULED && state != MSG_QUEUED) return SG_ENOTFOUND;
    store_status_update u = {.msg_id = r->id, .state = MSG_CANCELLED, .dlr = DLR_ERROR,
                             .ptt = 0, .ts_ms = sg_now_ms()};
    rc = sqlite__apply_status(c, &u);
    if (rc < 0) return rc;
    /* 0: the change was stale: on PostgreSQL another node claimed the message between the
     * read above and apply_status's locked read; it is being sent, not cancelled */
    if (rc == 0) return SG_ECONFLICT;
    return sqlite__refund_message(c, r->id, r->service_id, credits,
                                  "cancelled before it was sent", &r->refunded);
}

int store_core__msg_delete(store_conn *c, store_msg_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_msg_delete_read);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_int(st, 3, r->user_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    int state = (int)sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    if (msgstate_pending((msg_state)state)) return SG_ECONFLICT;
    st = sqldrv_prep(c, sql_msg_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->id);
    return sqldrv_done(c, st, "Deleting a message from history");
}

int store_core__outgoing_list(store_conn *c, store_outgoing_filter *f) {
    /* Two texts, with and without a tag (sql_core.h); every other filter is a parameter that
     * says when it is not set. */
    sqldrv_stmt *st = sqldrv_prep(c, f->tag ? sql_outgoing_ids_tag : sql_outgoing_ids);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, f->service_id);
    /* /jobs: scheduled, queued or submitting; /outgoing: with an operator, or final (not
     * cancelled). */
    sqldrv_bind_int(st, 2, f->pending ? MSG_SCHEDULED : MSG_SUBMITTED);
    sqldrv_bind_int(st, 3, f->pending ? MSG_SUBMITTING : MSG_FAILED);
    sqldrv_bind_text(st, 4, f->receiver);
    sqldrv_bind_text(st, 5, f->sender);
    sqldrv_bind_int(st, 6, f->ptt);
    sqldrv_bind_int(st, 7, f->dlr);
    sqldrv_bind_int(st, 8, f->differed);
    sqldrv_bind_int(st, 9, f->from_ms);
    sqldrv_bind_int(st, 10, f->to_ms);
    sqldrv_bind_int(st, 11, f->user_id);
    sqldrv_bind_int(st, 12, f->id);
    sqldrv_bind_text(st, 13, f->batch_id);
    if (f->tag) sqldrv_bind_text(st, 14, f->tag);
    size_t cap = 64, k = 0;
    int64_t *ids = sg_xmalloc(cap * sizeof *ids);
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (k == cap) ids = sg_xrealloc(ids, (cap *= 2) * sizeof *ids);
        ids[k++] = sqldrv_col_int(st, 0);
    }
    if (rc < 0) {
        free(ids);
        return rc;
    }
    f->ids = ids;
    f->count = k;
    return 0;
}

/* ---- dispatch ---- */

/* Leases ids[0..n) to r->node (sql_msg_claim; on PostgreSQL all n in one statement,
 * sql_msg_claim_pg, where SQLite is given one at a time). */
static int lease_msgs(store_conn *c, store_claim_req *r, const int64_t *ids, size_t n) {
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    sqldrv_stmt *st = sqldrv_prep(c, pg ? sql_msg_claim_pg : sql_msg_claim);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms + r->lease_ms);
    sqldrv_bind_text(st, 2, r->node);
    if (pg) sqlite__pg_ids(st, 3, ids, n);
    else sqldrv_bind_int(st, 3, ids[0]);
    return sqldrv_done(c, st, "Claiming a message");
}

int store_core__claim(store_conn *c, store_claim_req *r) {
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    /* dialect: PostgreSQL locks the due rows until this transaction commits and skips those
     * another node's claim holds (several nodes claim at once); SQLite's one writer holds the
     * whole database, and its text stays as it was. */
    sqldrv_stmt *st = sqldrv_prep(c, pg ? sql_msg_due_skip_locked : sql_msg_due);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    sqldrv_bind_int(st, 2, (int64_t)r->limit);
    r->msgs = sg_xcalloc(r->limit ? r->limit : 1, sizeof *r->msgs);
    r->count = 0;
    int rc = 0;
    while (r->count < r->limit && (rc = sqldrv_step(c, st)) == 1)
        sqlite__read_msg(st, &r->msgs[r->count++]);
    if (rc < 0) return rc; /* what was read is freed by store_claim_fini */
    sqldrv_reset(st);
    size_t kept = 0;
    for (size_t i = 0; i < r->count; i++) {
        store_msg *m = &r->msgs[i];
        if (msgstate_expired(m->expires_ms, m->due_ms, m->validity_min, r->now_ms)) {
            /* Its validity period ran out before it could be sent: it expires here. */
            store_status_update u = {.msg_id = m->id, .state = MSG_FAILED, .dlr = DLR_FAILED,
                                     .ptt = 8, .ts_ms = r->now_ms,
                                     .why = "its validity period ended before it was sent"};
            rc = sqlite__apply_status(c, &u);
            store_msg_fini(m);
            if (rc < 0) return rc;
            continue;
        }
        if (!pg && (rc = lease_msgs(c, r, &m->id, 1))) return rc;
        m->state = MSG_SUBMITTING;
        m->attempts++;
        if (kept != i) {
            r->msgs[kept] = *m;
            memset(m, 0, sizeof *m);
        }
        kept++;
    }
    r->count = kept;
    if (pg && kept) { /* one statement for all of them */
        int64_t *ids = sg_xmalloc(kept * sizeof *ids);
        for (size_t i = 0; i < kept; i++) ids[i] = r->msgs[i].id;
        rc = lease_msgs(c, r, ids, kept);
        free(ids);
        if (rc) return rc;
    }
    return 0;
}

int store_core__status(store_conn *c, store_status_req *r) {
    r->applied = 0;
    for (size_t i = 0; i < r->count; i++) {
        int rc = sqlite__apply_status(c, &r->ups[i]);
        if (rc < 0) return rc;
        r->applied += (size_t)rc;
    }
    return 0;
}

int store_core__recover(store_conn *c, store_recover_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_msg_recover);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->node);
    int rc = sqldrv_done(c, st, "Requeueing claimed messages");
    if (rc == 0) r->requeued = (size_t)sqldrv_changes(c);
    return rc;
}

/* ---- the simulated operator ---- */

int store_core__sim_accept(store_conn *c, store_sim_accept_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sim_smsc_id);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->msg_id);
    int rc = sqldrv_step(c, st);
    if (rc < 0) return rc;
    if (rc == 1) {
        /* Submitted again (a retry after a lost answer): the same smsc id, counted. */
        snprintf(r->smsc_id, sizeof r->smsc_id, "%s", sqldrv_col_str(st, 0));
        sqldrv_reset(st);
        r->duplicate = 1;
        st = sqldrv_prep(c, sql_sim_resubmit);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, r->msg_id);
        return sqldrv_done(c, st, "Counting a duplicate submit in the sim");
    }
    unsigned char rnd[8];
    sg_random(rnd, sizeof rnd);
    sg_hex(rnd, sizeof rnd, r->smsc_id);
    st = sqldrv_prep(c, sql_sim_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->msg_id);
    sqldrv_bind_text(st, 2, r->smsc_id);
    sqldrv_bind_int(st, 3, r->outcome);
    sqldrv_bind_int(st, 4, r->due_ms);
    if ((rc = sqldrv_done(c, st, "Accepting a message in the sim"))) return rc;
    store_status_update u = {.msg_id = r->msg_id, .state = MSG_SUBMITTED, .dlr = DLR_SUBMITTED,
                             .ptt = 3, .ts_ms = sg_now_ms(), .route = "sim",
                             .smsc_id = r->smsc_id};
    rc = sqlite__apply_status(c, &u);
    return rc < 0 ? rc : 0;
}
