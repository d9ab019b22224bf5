/*
 * sqlite_ops.c - the "ops" area (store_ops.h), written once against the SQL driver (sqldrv.h)
 * for both dialects; only the migrations differ (two arrays below).
 *
 * Tables (migration ops/1):
 *   service_renew      a service's renewal settings (services.Service.renew), one row once
 *                      the customer changed them; without a row, the defaults (automatic).
 *   tasks              one row per asynchronous task of a service (sms.Task): today the
 *                      receivers cleans, which run at once and are stored done, with what
 *                      they removed (removed_invalid, removed_blacklisted) for the operator.
 *   templates_control  US templates (sms.TemplateControl) per (service, name), moderated by
 *                      the operator like senders: waitingValidation -> enable | refused.
 *   sender_documents   the documents of a sender's declaration: each names a /me/document of
 *                      the account (documents, campaigns area) created with it and never
 *                      expiring, which holds the content uploaded to its putUrl.
 *   sender_codes       the validation code the operator issued for a sender, with the wrong
 *                      tries it took (at most STORE_SENDER_CODE_TRIES).
 *   campaigns_send     an index of the campaigns area's table by send: GET .../outgoing/{id}
 *                      reads the batch of the SMS (sms.Outgoing.batchID) through it, and
 *                      /outgoing?batchID= the send of a batch.
 *
 * Invariants:
 *  1. A transfer writes both ledger rows or none: the two appends run in the operation's
 *     savepoint, which store.c rolls back on any error. On PostgreSQL both services' rows are
 *     locked before either balance is read, lower id first, so that two transfers in opposite
 *     directions wait for each other instead of deadlocking, and each reads the balance the
 *     previous writer left (sqlite_util.c invariant 2).
 *  2. A clean changes the rows and the counts of its list together: records = valid + invalid
 *     holds after it (sqlite_campaigns.c invariant 1). On PostgreSQL it locks the list's row
 *     (FOR UPDATE), so it waits for a fan-out reading the list (FOR SHARE) to end.
 *  3. A template's or a sender's status is changed by the operator, or by the customer only
 *     between enable and disable once approved; any new message puts a template back to
 *     waitingValidation.
 */
#include "store/sqlite_ops_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqldrv.h"
#include "store/sqlite_campaigns_int.h"
#include "store/sqlite_credits_int.h"
#include "store/sqlite_int.h"
#include "util/util.h"

#define OPS_TABLES(INT, ID)                                                                  \
    "CREATE TABLE service_renew ("                                                            \
    "  service_id " INT " PRIMARY KEY, automatic " INT " NOT NULL,"                           \
    "  delete_at_expiration " INT " NOT NULL, forced " INT " NOT NULL,"                       \
    "  manual_payment " INT ", period " INT ", updated_ms " INT " NOT NULL);"                  \
    "CREATE TABLE tasks ("                                                                    \
    "  id " ID ", service_id " INT " NOT NULL, function TEXT NOT NULL,"                       \
    "  status TEXT NOT NULL, step TEXT NOT NULL, slot " INT ","                               \
    "  removed_invalid " INT " NOT NULL DEFAULT 0,"                                           \
    "  removed_blacklisted " INT " NOT NULL DEFAULT 0,"                                       \
    "  created_ms " INT " NOT NULL, done_ms " INT ");"                                        \
    "CREATE INDEX tasks_service ON tasks(service_id, id);"                                    \
    "CREATE TABLE templates_control ("                                                        \
    "  service_id " INT " NOT NULL, name TEXT NOT NULL, activity TEXT NOT NULL,"              \
    "  description TEXT NOT NULL DEFAULT '', message TEXT NOT NULL, reason TEXT,"             \
    "  status TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '',"                               \
    "  created_ms " INT " NOT NULL, updated_ms " INT " NOT NULL,"                             \
    "  PRIMARY KEY (service_id, name));"                                                      \
    "CREATE TABLE sender_documents ("                                                         \
    "  id TEXT PRIMARY KEY, service_id " INT " NOT NULL, sender TEXT NOT NULL,"               \
    "  name TEXT NOT NULL, description TEXT, created_ms " INT " NOT NULL);"                   \
    "CREATE INDEX sender_documents_sender ON sender_documents(service_id, sender);"           \
    "CREATE TABLE sender_codes ("                                                             \
    "  service_id " INT " NOT NULL, sender TEXT NOT NULL, code TEXT NOT NULL,"                \
    "  tries " INT " NOT NULL DEFAULT 0, created_ms " INT " NOT NULL,"                        \
    "  PRIMARY KEY (service_id, sender));"                                                    \
    "CREATE INDEX campaigns_send ON campaigns(send_id);"

const char *const sqlite_ops_migrations[SQLITE_OPS_MIGRATIONS] = {
    /* 1: renewal settings, tasks, US templates, sender documents and codes */
    OPS_TABLES("INTEGER", "INTEGER PRIMARY KEY"),
};

/* dialect: the same tables in PostgreSQL's types. */
const char *const pg_ops_migrations[PG_OPS_MIGRATIONS] = {
    /* 1: as SQLite's ops/1 */
    OPS_TABLES("BIGINT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
};

/* ---- services ---- */

static const char sql_account_id[] = "SELECT id FROM accounts WHERE name = $1";

static const char sql_service_name_taken[] = "SELECT id FROM services WHERE name = $1";

static const char sql_service_add[] =
    "INSERT INTO services(account_id, name, short_number, created_ms) "
    "VALUES ($1, $2, '36184', $3)" SQLDRV_RETURNING_ID;

int sqlite__service_add(store_conn *c, store_service_add_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_account_id);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->account);
    int rc = sqldrv_step(c, st);
    int64_t account_id = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    if (rc < 0) return rc;
    if (!account_id) return SG_ENOTFOUND;
    for (int n = 2;; n++) {
        if (n > 10000) return SG_ECONFLICT;
        snprintf(r->service_name, sizeof r->service_name, "sms-%s-%d", r->account, n);
        if (!(st = sqldrv_prep(c, sql_service_name_taken))) return SG_EIO;
        sqldrv_bind_text(st, 1, r->service_name);
        rc = sqldrv_step(c, st);
        sqldrv_reset(st);
        if (rc < 0) return rc;
        if (rc == 0) break;
    }
    if (!(st = sqldrv_prep(c, sql_service_add))) return SG_EIO;
    sqldrv_bind_int(st, 1, account_id);
    sqldrv_bind_text(st, 2, r->service_name);
    sqldrv_bind_int(st, 3, sg_now_ms());
    int64_t service_id;
    if ((rc = sqldrv_insert(c, st, "Creating a service", &service_id))) return rc;
    return sqlite__ledger_add(c, service_id, r->credits, "initial", "service added", NULL);
}

/* ---- transfers ---- */

static const char sql_target_service[] =
    "SELECT id FROM services WHERE name = $1 AND account_id = $2";

int sqlite__credits_transfer(store_conn *c, store_credits_transfer_req *r) {
    if (r->amount <= 0) return SG_EINVAL;
    sqldrv_stmt *st = sqldrv_prep(c, sql_target_service);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->to);
    sqldrv_bind_int(st, 2, r->account_id);
    int rc = sqldrv_step(c, st);
    int64_t to_id = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    if (rc < 0) return rc;
    if (!to_id) return SG_ENOTFOUND;
    if (to_id == r->service_id) return SG_EINVAL;
    /* Invariant 1: both rows locked (PostgreSQL), lower id first, before either append. */
    int64_t from_before, to_before;
    if (r->service_id < to_id) {
        if ((rc = sqlite__balance_for_write(c, r->service_id, &from_before)) ||
            (rc = sqlite__balance_for_write(c, to_id, &to_before)))
            return rc;
    } else {
        if ((rc = sqlite__balance_for_write(c, to_id, &to_before)) ||
            (rc = sqlite__balance_for_write(c, r->service_id, &from_before)))
            return rc;
    }
    if (from_before < r->amount) return SG_ENOCREDIT;
    char *ref_out = sg_xasprintf("transfer:%s", r->to);
    char *ref_in = sg_xasprintf("transfer:%s", r->from_name ? r->from_name : "");
    rc = sqlite__ledger_append(c, r->service_id, from_before, -r->amount, "transfer", ref_out,
                               NULL, &r->from_balance);
    if (!rc)
        rc = sqlite__ledger_append(c, to_id, to_before, r->amount, "transfer", ref_in, NULL,
                                   &r->to_balance);
    free(ref_out);
    free(ref_in);
    /* The source may have crossed its automatic top-up threshold, as with a send. */
    if (!rc) rc = sqlite__credits_after_debit(c, r->service_id, from_before, &r->from_balance);
    return rc;
}

/* ---- serviceInfos ---- */

static const char sql_service_info[] =
    "SELECT s.created_ms, a.name, r.automatic, r.delete_at_expiration, r.forced, "
    "r.manual_payment, r.period FROM services s JOIN accounts a ON a.id = s.account_id "
    "LEFT JOIN service_renew r ON r.service_id = s.id WHERE s.id = $1";

static const char sql_renew_set[] =
    "INSERT INTO service_renew(service_id, automatic, delete_at_expiration, forced, "
    "manual_payment, period, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (service_id) DO UPDATE SET automatic = excluded.automatic, "
    "delete_at_expiration = excluded.delete_at_expiration, forced = excluded.forced, "
    "manual_payment = excluded.manual_payment, period = excluded.period, "
    "updated_ms = excluded.updated_ms";

int sqlite__service_info(store_conn *c, store_service_info_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_service_info);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    r->created_ms = sqldrv_col_int(st, 0);
    r->account_name = sqldrv_col_text(st, 1);
    int has = !sqldrv_col_null(st, 2);
    /* Without a row: renewed automatically every month, the default of an SMS account. */
    r->r_automatic = has ? (int)sqldrv_col_int(st, 2) : 1;
    r->r_delete = has ? (int)sqldrv_col_int(st, 3) : 0;
    r->r_forced = has ? (int)sqldrv_col_int(st, 4) : 0;
    r->r_manual = has ? (sqldrv_col_null(st, 5) ? -1 : (int)sqldrv_col_int(st, 5)) : 0;
    r->r_period = has ? (sqldrv_col_null(st, 6) ? 0 : sqldrv_col_int(st, 6)) : 0;
    sqldrv_reset(st);
    if (!r->set) return 0;
    /* The given fields over the current ones (store_ops.h). */
    if (r->automatic >= 0) r->r_automatic = r->automatic;
    if (r->delete_at_expiration >= 0) r->r_delete = r->delete_at_expiration;
    if (r->forced >= 0) r->r_forced = r->forced;
    if (r->manual_payment > -2) r->r_manual = r->manual_payment;
    if (r->period >= 0) r->r_period = r->period;
    if (!(st = sqldrv_prep(c, sql_renew_set))) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_int(st, 2, r->r_automatic);
    sqldrv_bind_int(st, 3, r->r_delete);
    sqldrv_bind_int(st, 4, r->r_forced);
    if (r->r_manual < 0) sqldrv_bind_null(st, 5);
    else sqldrv_bind_int(st, 5, r->r_manual);
    if (r->r_period <= 0) sqldrv_bind_null(st, 6);
    else sqldrv_bind_int(st, 6, r->r_period);
    sqldrv_bind_int(st, 7, sg_now_ms());
    return sqldrv_done(c, st, "Storing a service's renewal settings");
}

/* ---- tasks ---- */

static const char sql_task_get[] =
    "SELECT id, function, status, step, created_ms FROM tasks WHERE id = $1 AND service_id = $2";

static const char sql_task_ids[] =
    "SELECT id FROM tasks WHERE service_id = $1 AND (status = $2 OR $2 IS NULL) ORDER BY id";

int sqlite__task_get(store_conn *c, store_task_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_task_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    r->out.id = sqldrv_col_int(st, 0);
    r->out.function = sqldrv_col_text(st, 1);
    r->out.status = sqldrv_col_text(st, 2);
    r->out.step = sqldrv_col_text(st, 3);
    r->out.created_ms = sqldrv_col_int(st, 4);
    sqldrv_reset(st);
    return 0;
}

int sqlite__task_list(store_conn *c, store_task_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_task_ids);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->status);
    return sqlite__read_ids(c, st, &r->ids, &r->count);
}

/* ---- receivers cleans ---- */

static const char sql_clean_slot[] =
    "SELECT list_id FROM receiver_slots WHERE service_id = $1 AND slot = $2";

/* dialect: PostgreSQL, the list's row locked until the operation commits (invariant 2). */
static const char sql_clean_lock_pg[] = "SELECT id FROM receiver_lists WHERE id = $1 FOR UPDATE";

static const char sql_clean_count_invalid[] =
    "SELECT COUNT(*) FROM receiver_rows WHERE list_id = $1 AND receiver IS NULL";

static const char sql_clean_count_black[] =
    "SELECT COUNT(*) FROM receiver_rows WHERE list_id = $1 AND receiver IN "
    "(SELECT number FROM blacklists WHERE service_id = $2)";

static const char sql_clean_delete_invalid[] =
    "DELETE FROM receiver_rows WHERE list_id = $1 AND receiver IS NULL";

static const char sql_clean_delete_black[] =
    "DELETE FROM receiver_rows WHERE list_id = $1 AND receiver IN "
    "(SELECT number FROM blacklists WHERE service_id = $2)";

static const char sql_clean_counts[] =
    "UPDATE receiver_lists SET records = records - $1 - $2, invalid = invalid - $1, "
    "valid = valid - $2 WHERE id = $3";

static const char sql_task_insert[] =
    "INSERT INTO tasks(service_id, function, status, step, slot, removed_invalid, "
    "removed_blacklisted, created_ms, done_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
    SQLDRV_RETURNING_ID;

static int count_rows(store_conn *c, const char *sql, int64_t list_id, int64_t service_id,
                      int64_t *n) {
    sqldrv_stmt *st = sqldrv_prep(c, sql);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, list_id);
    if (service_id) sqldrv_bind_int(st, 2, service_id);
    int rc = sqldrv_step(c, st);
    *n = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}

static int delete_rows(store_conn *c, const char *sql, int64_t list_id, int64_t service_id) {
    sqldrv_stmt *st = sqldrv_prep(c, sql);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, list_id);
    if (service_id) sqldrv_bind_int(st, 2, service_id);
    return sqldrv_done(c, st, "Cleaning a receivers list");
}

int sqlite__receivers_clean(store_conn *c, store_receivers_clean_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_clean_slot);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->slot_owner ? r->slot_owner : r->service_id);
    sqldrv_bind_int(st, 2, r->slot);
    int rc = sqldrv_step(c, st);
    int64_t list_id = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    if (rc < 0) return rc;
    if (!list_id) return SG_ENOTFOUND;
    if (sqldrv_dialect(c) == SQLDRV_POSTGRES) {
        if (!(st = sqldrv_prep(c, sql_clean_lock_pg))) return SG_EIO;
        sqldrv_bind_int(st, 1, list_id);
        rc = sqldrv_step(c, st);
        sqldrv_reset(st);
        if (rc < 0) return rc;
    }
    r->invalid = r->blacklisted = 0;
    if ((rc = count_rows(c, sql_clean_count_invalid, list_id, 0, &r->invalid))) return rc;
    if (!r->freemium &&
        (rc = count_rows(c, sql_clean_count_black, list_id, r->service_id, &r->blacklisted)))
        return rc;
    r->task_id = 0;
    if (r->price_only) return 0;
    if (r->invalid && (rc = delete_rows(c, sql_clean_delete_invalid, list_id, 0))) return rc;
    if (r->blacklisted &&
        (rc = delete_rows(c, sql_clean_delete_black, list_id, r->service_id)))
        return rc;
    if (r->invalid || r->blacklisted) {
        if (!(st = sqldrv_prep(c, sql_clean_counts))) return SG_EIO;
        sqldrv_bind_int(st, 1, r->invalid);
        sqldrv_bind_int(st, 2, r->blacklisted);
        sqldrv_bind_int(st, 3, list_id);
        if ((rc = sqldrv_done(c, st, "Counting a cleaned receivers list"))) return rc;
    }
    if (!(st = sqldrv_prep(c, sql_task_insert))) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, "cleanSmsReceivers");
    sqldrv_bind_text(st, 3, "done");
    sqldrv_bind_text(st, 4, "finishing");
    sqldrv_bind_int(st, 5, r->slot);
    sqldrv_bind_int(st, 6, r->invalid);
    sqldrv_bind_int(st, 7, r->blacklisted);
    sqldrv_bind_int(st, 8, sg_now_ms());
    return sqldrv_insert(c, st, "Recording a task", &r->task_id);
}

/* ---- US templates ---- */

static const char sql_tmpl_insert[] =
    "INSERT INTO templates_control(service_id, name, activity, description, message, reason, "
    "status, comment, created_ms, updated_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, 'waitingValidation', '', $7, $7) "
    "ON CONFLICT (service_id, name) DO NOTHING";

static const char sql_tmpl_get[] =
    "SELECT name, activity, description, message, status, comment, created_ms "
    "FROM templates_control WHERE service_id = $1 AND name = $2";

static const char sql_tmpl_names[] =
    "SELECT name, activity, description, message, status, comment, created_ms "
    "FROM templates_control WHERE service_id = $1 ORDER BY name";

static const char sql_tmpl_update[] =
    "UPDATE templates_control SET activity = COALESCE($1, activity), "
    "description = COALESCE($2, description), message = COALESCE($3, message), "
    "status = COALESCE($4, status), comment = COALESCE($5, comment), updated_ms = $6 "
    "WHERE service_id = $7 AND name = $8";

static const char sql_tmpl_delete[] =
    "DELETE FROM templates_control WHERE service_id = $1 AND name = $2";

/* The service the request names: service_id, or (the operator's calls) service_name. */
static int64_t tmpl_service(store_conn *c, const store_template_req *r) {
    return r->service_id ? r->service_id : sqlite__service_id(c, r->service_name);
}

int sqlite__template_create(store_conn *c, store_template_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_tmpl_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->name);
    sqldrv_bind_text(st, 3, r->activity);
    sqldrv_bind_text(st, 4, r->description ? r->description : "");
    sqldrv_bind_text(st, 5, r->message);
    sqldrv_bind_text(st, 6, r->reason);
    sqldrv_bind_int(st, 7, r->now_ms);
    int rc = sqldrv_done(c, st, "Declaring a template");
    if (rc) return rc;
    if ((rc = sqldrv_settle(c))) return rc;
    return sqldrv_changes(c) ? 0 : SG_ECONFLICT;
}

/* One row of sql_tmpl_get / sql_tmpl_names into t. */
static void read_template(sqldrv_stmt *st, store_template *t) {
    t->name = sqldrv_col_text(st, 0);
    t->activity = sqldrv_col_text(st, 1);
    t->description = sqldrv_col_text(st, 2);
    t->message = sqldrv_col_text(st, 3);
    t->status = sqldrv_col_text(st, 4);
    t->comment = sqldrv_col_text(st, 5);
    t->created_ms = sqldrv_col_int(st, 6);
}

int sqlite__template_get(store_conn *c, store_template_req *r) {
    int64_t sid = tmpl_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_tmpl_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->name);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    read_template(st, &r->out);
    sqldrv_reset(st);
    return 0;
}

int sqlite__template_list(store_conn *c, store_template_req *r) {
    int64_t sid = tmpl_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_tmpl_names);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    size_t cap = 16;
    r->names = sg_xcalloc(cap, sizeof *r->names);
    if (r->admin) r->rows = sg_xcalloc(cap, sizeof *r->rows);
    r->count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) {
            cap *= 2;
            r->names = sg_xrealloc(r->names, cap * sizeof *r->names);
            if (r->rows) r->rows = sg_xrealloc(r->rows, cap * sizeof *r->rows);
        }
        r->names[r->count] = sqldrv_col_text(st, 0);
        if (r->rows) read_template(st, &r->rows[r->count]);
        r->count++;
    }
    return rc < 0 ? rc : 0;
}

int sqlite__template_update(store_conn *c, store_template_req *r) {
    int rc = sqlite__template_get(c, r); /* the current row, in r->out */
    if (rc) return rc;
    int64_t sid = tmpl_service(c, r);
    const char *cur = r->out.status;
    const char *status = NULL, *comment = NULL;
    if (r->admin) {
        /* The operator decides (invariant 3): enable or refused, with a comment. */
        status = r->status;
        comment = r->comment ? r->comment : "";
    } else {
        int new_message = r->message && strcmp(r->message, r->out.message) != 0;
        if (r->status && strcmp(r->status, cur) != 0) {
            int ok = (!strcmp(cur, "enable") && !strcmp(r->status, "disable")) ||
                     (!strcmp(cur, "disable") && !strcmp(r->status, "enable"));
            if (!ok) return SG_EPERM;
            status = r->status;
        }
        if (new_message || r->relaunch) {
            status = "waitingValidation";
            comment = "";
        }
    }
    sqldrv_stmt *st = sqldrv_prep(c, sql_tmpl_update);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->admin ? NULL : r->activity);
    sqldrv_bind_text(st, 2, r->admin ? NULL : r->description);
    sqldrv_bind_text(st, 3, r->admin ? NULL : r->message);
    sqldrv_bind_text(st, 4, status);
    sqldrv_bind_text(st, 5, comment);
    sqldrv_bind_int(st, 6, r->now_ms ? r->now_ms : sg_now_ms());
    sqldrv_bind_int(st, 7, sid);
    sqldrv_bind_text(st, 8, r->name);
    return sqldrv_done(c, st, "Updating a template");
}

int sqlite__template_delete(store_conn *c, store_template_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_tmpl_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->name);
    int rc = sqldrv_done(c, st, "Deleting a template");
    if (rc || (rc = sqldrv_settle(c))) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

/* ---- sender documents ---- */

/* A sender's documents live as long as the sender's declaration: 100 years. */
#define SENDER_DOC_TTL_MS (100LL * 365 * 24 * 3600 * 1000)

static const char sql_sender_exists[] =
    "SELECT id FROM senders WHERE service_id = $1 AND sender = $2";

static const char sql_sdoc_insert[] =
    "INSERT INTO sender_documents(id, service_id, sender, name, description, created_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6)";

static const char sql_sdoc_get[] =
    "SELECT d.id, d.name, d.description, d.created_ms, m.token, m.size, m.uploaded "
    "FROM sender_documents d JOIN documents m ON m.id = d.id "
    "WHERE d.id = $1 AND d.service_id = $2 AND d.sender = $3";

static const char sql_sdoc_ids[] =
    "SELECT d.id FROM sender_documents d JOIN documents m ON m.id = d.id "
    "WHERE d.service_id = $1 AND d.sender = $2 ORDER BY d.created_ms, d.id";

static const char sql_sdoc_update[] =
    "UPDATE sender_documents SET name = COALESCE($1, name), "
    "description = CASE WHEN $2 = 1 THEN $3 ELSE description END "
    "WHERE id = $4 AND service_id = $5 AND sender = $6";

static int sender_exists(store_conn *c, int64_t service_id, const char *sender) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_exists);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_text(st, 2, sender);
    int rc = sqldrv_step(c, st);
    sqldrv_reset(st);
    return rc < 0 ? rc : rc == 1 ? 0 : SG_ENOTFOUND;
}

int sqlite__sender_doc_get(store_conn *c, store_sender_doc_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sdoc_get);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_text(st, 3, r->sender);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_ENOTFOUND;
    store_sender_doc *d = &r->out;
    snprintf(d->id, sizeof d->id, "%s", sqldrv_col_str(st, 0));
    d->name = sqldrv_col_text(st, 1);
    d->description = sqldrv_col_text(st, 2);
    d->created_ms = sqldrv_col_int(st, 3);
    d->token = sqldrv_col_text(st, 4);
    d->size = sqldrv_col_int(st, 5);
    d->uploaded = sqldrv_col_int(st, 6) != 0;
    sqldrv_reset(st);
    return 0;
}

int sqlite__sender_doc_create(store_conn *c, store_sender_doc_req *r) {
    int rc = sender_exists(c, r->service_id, r->sender);
    if (rc) return rc;
    store_document_req doc = {.account_id = r->account_id, .name = r->name,
                              .tags_json = "[]", .ttl_ms = SENDER_DOC_TTL_MS};
    rc = sqlite__document_create(c, &doc);
    char id[sizeof doc.doc.id];
    snprintf(id, sizeof id, "%s", doc.doc.id);
    store_document_fini(&doc.doc);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_sdoc_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_text(st, 3, r->sender);
    sqldrv_bind_text(st, 4, r->name);
    sqldrv_bind_text(st, 5, r->description);
    sqldrv_bind_int(st, 6, sg_now_ms());
    if ((rc = sqldrv_done(c, st, "Adding a sender's document"))) return rc;
    r->id = NULL;
    store_sender_doc_req get = *r;
    get.id = id;
    rc = sqlite__sender_doc_get(c, &get);
    r->out = get.out;
    return rc;
}

int sqlite__sender_doc_list(store_conn *c, store_sender_doc_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sdoc_ids);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->sender);
    size_t cap = 8;
    r->ids = sg_xmalloc(cap * sizeof *r->ids);
    r->count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) r->ids = sg_xrealloc(r->ids, (cap *= 2) * sizeof *r->ids);
        snprintf(r->ids[r->count++], sizeof *r->ids, "%s", sqldrv_col_str(st, 0));
    }
    return rc < 0 ? rc : 0;
}

int sqlite__sender_doc_update(store_conn *c, store_sender_doc_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_sdoc_update);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    sqldrv_bind_int(st, 2, r->set_description);
    sqldrv_bind_text(st, 3, r->description);
    sqldrv_bind_text(st, 4, r->id);
    sqldrv_bind_int(st, 5, r->service_id);
    sqldrv_bind_text(st, 6, r->sender);
    int rc = sqldrv_done(c, st, "Updating a sender's document");
    if (rc || (rc = sqldrv_settle(c))) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

/* ---- sender validation codes ---- */

static const char sql_code_set[] =
    "INSERT INTO sender_codes(service_id, sender, code, tries, created_ms) "
    "VALUES ($1, $2, $3, 0, $4) ON CONFLICT (service_id, sender) DO UPDATE SET "
    "code = excluded.code, tries = 0, created_ms = excluded.created_ms";

static const char sql_code_get[] =
    "SELECT code, tries FROM sender_codes WHERE service_id = $1 AND sender = $2";

static const char sql_code_try[] =
    "UPDATE sender_codes SET tries = tries + 1 WHERE service_id = $1 AND sender = $2";

static const char sql_code_delete[] =
    "DELETE FROM sender_codes WHERE service_id = $1 AND sender = $2";

static const char sql_sender_enable[] =
    "UPDATE senders SET status = 'enable', comment = $1 WHERE service_id = $2 AND sender = $3";

static const char sql_sender_event[] =
    "INSERT INTO sender_history(service_id, sender, ts_ms, status, comment, reason) "
    "VALUES ($1, $2, $3, 'enable', $4, NULL)";

#define VALIDATED_COMMENT "validated with the code sent to the number"

int sqlite__sender_code(store_conn *c, store_sender_code_req *r) {
    int64_t sid = r->service_id ? r->service_id : sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    int rc = sender_exists(c, sid, r->sender);
    if (rc) return rc;
    unsigned char b[4];
    sg_random(b, sizeof b);
    uint32_t v = ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
    snprintf(r->code_out, sizeof r->code_out, "%06u", (unsigned)(v % 1000000u));
    sqldrv_stmt *st = sqldrv_prep(c, sql_code_set);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->sender);
    sqldrv_bind_text(st, 3, r->code_out);
    sqldrv_bind_int(st, 4, r->now_ms ? r->now_ms : sg_now_ms());
    return sqldrv_done(c, st, "Issuing a sender's validation code");
}

/* Equal strings, in a time that depends on their lengths only. */
static int same_code(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    unsigned char d = n != m;
    for (size_t i = 0; i < n && i < m; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int sqlite__sender_validate(store_conn *c, store_sender_code_req *r) {
    int rc = sender_exists(c, r->service_id, r->sender);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_code_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->sender);
    rc = sqldrv_step(c, st);
    if (rc != 1) {
        sqldrv_reset(st);
        return rc < 0 ? rc : SG_EPERM;
    }
    char code[16];
    snprintf(code, sizeof code, "%s", sqldrv_col_str(st, 0));
    int64_t tries = sqldrv_col_int(st, 1);
    sqldrv_reset(st);
    if (tries >= STORE_SENDER_CODE_TRIES) return SG_EPERM;
    if (!same_code(code, r->code ? r->code : "")) {
        /* A wrong try is counted: it must survive the refusal, so the operation succeeds
         * (the caller reads tries_left > 0 or -1 as "wrong"). */
        if (!(st = sqldrv_prep(c, sql_code_try))) return SG_EIO;
        sqldrv_bind_int(st, 1, r->service_id);
        sqldrv_bind_text(st, 2, r->sender);
        if ((rc = sqldrv_done(c, st, "Counting a wrong validation code"))) return rc;
        r->tries_left = (int)(STORE_SENDER_CODE_TRIES - tries - 1);
        return 0;
    }
    r->tries_left = -1; /* validated */
    if (!(st = sqldrv_prep(c, sql_code_delete))) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->sender);
    if ((rc = sqldrv_done(c, st, "Removing a used validation code"))) return rc;
    if (!(st = sqldrv_prep(c, sql_sender_enable))) return SG_EIO;
    sqldrv_bind_text(st, 1, VALIDATED_COMMENT);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_text(st, 3, r->sender);
    if ((rc = sqldrv_done(c, st, "Enabling a validated sender"))) return rc;
    if (!(st = sqldrv_prep(c, sql_sender_event))) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->sender);
    sqldrv_bind_int(st, 3, r->now_ms ? r->now_ms : sg_now_ms());
    sqldrv_bind_text(st, 4, VALIDATED_COMMENT);
    return sqldrv_done(c, st, "Recording a sender's validation");
}
