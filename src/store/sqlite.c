/*
 * sqlite.c - the embedded SQLite backend of store.h.
 *
 * Every function here runs on the store thread, inside the batch transaction opened by
 * store.c, each operation inside its own savepoint. The database is in WAL mode with
 * synchronous=FULL, so a COMMIT returns only once the WAL is fsynced: what the API answered is
 * on disk.
 *
 * Invariants:
 *  1. The balance of a service is the `balance` column of its newest ledger row, and that
 *     column is always the previous balance plus `amount` (ledger_add is the only writer).
 *  2. A message's state only moves forward (apply_status is the only writer after insert):
 *     scheduled/queued -> submitting -> submitted -> enroute -> delivered|failed; cancelled
 *     only from scheduled/queued; a submitting message may go back to queued (retry). Final
 *     states never change. Each change inserts one row in `events`.
 *  3. A message is refunded at most once: when it is cancelled, when it fails before any
 *     operator accepted it, or when it fails with deliveryReceipt 16 ("not billed").
 *     A refund is a ledger row with ref "message:<id>".
 *
 * Prepared statements are cached per SQL string (the string's address is the key).
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "sim/sim_model.h"
#include "store/schema_sqlite.h"
#include "util/log.h"
#include "util/util.h"

#define STMT_CACHE 96

struct store_conn {
    sqlite3 *db;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
    int ncache;
};

static int fail(store_conn *c, const char *what) {
    sg_log_error("store.sqlite", "%s failed: %s.", what, sqlite3_errmsg(c->db));
    return SG_EIO;
}

/* Returns a reset, cached statement for sql (a string literal). */
static sqlite3_stmt *P(store_conn *c, const char *sql) {
    for (int i = 0; i < c->ncache; i++) {
        if (c->cache[i].sql == sql) {
            sqlite3_reset(c->cache[i].st);
            sqlite3_clear_bindings(c->cache[i].st);
            return c->cache[i].st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sg_log_error("store.sqlite", "Preparing '%s' failed: %s.", sql, sqlite3_errmsg(c->db));
        return NULL;
    }
    if (c->ncache < STMT_CACHE) {
        c->cache[c->ncache].sql = sql;
        c->cache[c->ncache].st = st;
        c->ncache++;
    } else {
        sg_log_error("store.sqlite", "Statement cache full; raise STMT_CACHE.");
        abort();
    }
    return st;
}

static void bt(sqlite3_stmt *st, int i, const char *s) {
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}
static void bi(sqlite3_stmt *st, int i, int64_t v) { sqlite3_bind_int64(st, i, v); }
static char *ct(sqlite3_stmt *st, int i) {
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? sg_xstrdup((const char *)s) : NULL;
}
static int64_t ci(sqlite3_stmt *st, int i) { return sqlite3_column_int64(st, i); }

static int exec(store_conn *c, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        sg_log_error("store.sqlite", "'%.80s' failed: %s.", sql, err ? err : "?");
        sqlite3_free(err);
        return SG_EIO;
    }
    return 0;
}

/* Runs a statement expected to finish without rows. */
static int step_done(store_conn *c, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) return SG_ECONFLICT;
    if (rc != SQLITE_DONE) return fail(c, what);
    return 0;
}

/* ---- lifecycle and transactions ---- */

static int migrate(store_conn *c) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return fail(c, "Reading the schema version");
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    int n = (int)(sizeof sqlite_migrations / sizeof sqlite_migrations[0]);
    for (int v = version; v < n; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec(c, "BEGIN IMMEDIATE") || exec(c, sqlite_migrations[v]) || exec(c, pragma) ||
            exec(c, "COMMIT")) {
            exec(c, "ROLLBACK");
            return SG_EIO;
        }
        sg_log_info("store.sqlite", "Applied schema migration %d.", v + 1);
    }
    return 0;
}

static int be_open(const char *path, store_conn **out) {
    store_conn *c = sg_xcalloc(1, sizeof *c);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sg_log_error("store.sqlite", "Opening database '%s' failed: %s.", path,
                     c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return SG_EIO;
    }
    sqlite3_busy_timeout(c->db, 5000);
    if (exec(c, "PRAGMA journal_mode=WAL") || exec(c, "PRAGMA synchronous=FULL") ||
        exec(c, "PRAGMA foreign_keys=ON") || exec(c, "PRAGMA temp_store=MEMORY") ||
        exec(c, "PRAGMA cache_size=-32000") || migrate(c)) {
        sqlite3_close(c->db);
        free(c);
        return SG_EIO;
    }
    *out = c;
    return 0;
}

static void be_close(store_conn *c) {
    for (int i = 0; i < c->ncache; i++) sqlite3_finalize(c->cache[i].st);
    sqlite3_close(c->db);
    free(c);
}

static int be_begin(store_conn *c) { return exec(c, "BEGIN IMMEDIATE"); }
static int be_commit(store_conn *c) { return exec(c, "COMMIT"); }
static void be_rollback(store_conn *c) {
    if (!sqlite3_get_autocommit(c->db)) exec(c, "ROLLBACK");
}
static int be_savepoint(store_conn *c) { return exec(c, "SAVEPOINT op"); }
static void be_release(store_conn *c, int rollback_first) {
    if (rollback_first) exec(c, "ROLLBACK TO op");
    exec(c, "RELEASE op");
}

/* ---- ledger ---- */

static json_t *credits_json(int64_t milli) {
    return milli % 1000 == 0 ? json_integer(milli / 1000) : json_real((double)milli / 1000.0);
}

static int64_t balance_of(store_conn *c, int64_t service_id) {
    sqlite3_stmt *st = P(c, "SELECT balance FROM ledger WHERE service_id = ? "
                            "ORDER BY id DESC LIMIT 1");
    if (!st) return 0;
    bi(st, 1, service_id);
    int64_t b = sqlite3_step(st) == SQLITE_ROW ? ci(st, 0) : 0;
    sqlite3_reset(st);
    return b;
}

/* Appends a ledger row; returns 0 and the new balance in *balance. */
static int ledger_add(store_conn *c, int64_t service_id, int64_t amount, const char *kind,
                      const char *ref, int64_t *balance) {
    int64_t b = balance_of(c, service_id) + amount;
    sqlite3_stmt *st = P(c, "INSERT INTO ledger(service_id, ts_ms, amount, balance, kind, ref) "
                            "VALUES (?, ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    bi(st, 1, service_id);
    bi(st, 2, sg_now_ms());
    bi(st, 3, amount);
    bi(st, 4, b);
    bt(st, 5, kind);
    bt(st, 6, ref);
    int rc = step_done(c, st, "Appending to the ledger");
    if (rc == 0 && balance) *balance = b;
    return rc;
}

static int64_t service_id_by_name(store_conn *c, const char *name) {
    sqlite3_stmt *st = P(c, "SELECT id FROM services WHERE name = ?");
    if (!st) return 0;
    bt(st, 1, name);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? ci(st, 0) : 0;
    sqlite3_reset(st);
    return id;
}

/* ---- message state machine ---- */

static int state_rank(int s) {
    switch (s) {
    case MSG_SCHEDULED: return 0;
    case MSG_QUEUED: return 1;
    case MSG_SUBMITTING: return 2;
    case MSG_SUBMITTED: return 3;
    case MSG_ENROUTE: return 4;
    default: return 5;
    }
}

static int insert_event(store_conn *c, int64_t msg_id, int64_t service_id, int64_t ts, int state,
                        int dlr, int ptt) {
    sqlite3_stmt *st = P(c, "INSERT INTO events(message_id, service_id, ts_ms, state, dlr, ptt) "
                            "VALUES (?, ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    bi(st, 1, msg_id);
    bi(st, 2, service_id);
    bi(st, 3, ts);
    bi(st, 4, state);
    bi(st, 5, dlr);
    bi(st, 6, ptt);
    return step_done(c, st, "Recording a status event");
}

static int refund_message(store_conn *c, int64_t msg_id, int64_t service_id, int64_t credits,
                          int64_t *refunded) {
    if (credits <= 0) return 0;
    char ref[48];
    snprintf(ref, sizeof ref, "message:%lld", (long long)msg_id);
    int rc = ledger_add(c, service_id, credits, "refund", ref, NULL);
    if (rc == 0 && refunded) *refunded += credits;
    return rc;
}

/* Applies one status change if the state machine allows it. Returns 1 if applied, 0 if
 * stale (ignored), or an SG_E* code. */
static int apply_status(store_conn *c, const store_status_update *u) {
    sqlite3_stmt *st = P(c, "SELECT state, service_id, credits, sent_ms FROM messages "
                            "WHERE id = ?");
    if (!st) return SG_EIO;
    bi(st, 1, u->msg_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;
    }
    int cur = (int)ci(st, 0);
    int64_t service_id = ci(st, 1), credits = ci(st, 2);
    int was_sent = sqlite3_column_type(st, 3) != SQLITE_NULL;
    sqlite3_reset(st);

    int next = (int)u->state;
    if (state_rank(cur) == 5) return 0; /* final states are sticky */
    if (next == MSG_QUEUED) {
        if (cur != MSG_SUBMITTING) return 0;
    } else if (next == MSG_CANCELLED) {
        if (cur != MSG_SCHEDULED && cur != MSG_QUEUED) return 0;
    } else if (state_rank(next) <= state_rank(cur)) {
        return 0;
    }
    int64_t ts = u->ts_ms ? u->ts_ms : sg_now_ms();
    int sent_now = !was_sent && (next == MSG_SUBMITTED || next == MSG_ENROUTE ||
                                 next == MSG_DELIVERED || (next == MSG_FAILED && u->smsc_id));
    st = P(c, "UPDATE messages SET state = ?, dlr = ?, ptt = ?, "
              "sent_ms = CASE WHEN ? THEN ? ELSE sent_ms END, "
              "delivered_ms = CASE WHEN ? THEN ? ELSE delivered_ms END, "
              "route = COALESCE(?, route), smsc_id = COALESCE(?, smsc_id), "
              "due_ms = CASE WHEN ? > 0 THEN ? ELSE due_ms END, "
              "lease_ms = NULL, lease_owner = NULL WHERE id = ?");
    if (!st) return SG_EIO;
    bi(st, 1, next);
    bi(st, 2, u->dlr);
    bi(st, 3, u->ptt);
    bi(st, 4, sent_now);
    bi(st, 5, ts);
    bi(st, 6, next == MSG_DELIVERED);
    bi(st, 7, ts);
    bt(st, 8, u->route);
    bt(st, 9, u->smsc_id);
    bi(st, 10, next == MSG_QUEUED ? u->retry_at_ms : 0);
    bi(st, 11, u->retry_at_ms);
    bi(st, 12, u->msg_id);
    int rc = step_done(c, st, "Updating a message's status");
    if (rc) return rc;
    if (next != MSG_QUEUED) {
        rc = insert_event(c, u->msg_id, service_id, ts, next, u->dlr, u->ptt);
        if (rc) return rc;
    }
    /* Refund rule (invariant 3). Cancelled messages are refunded by msg_cancel. */
    if (next == MSG_FAILED && (u->dlr == DLR_ERROR || !(was_sent || sent_now))) {
        rc = refund_message(c, u->msg_id, service_id, credits, NULL);
        if (rc) return rc;
    }
    return 1;
}

/* ---- accounts and authentication ---- */

static int be_account_create(store_conn *c, store_account_create_req *r) {
    int64_t now = sg_now_ms();
    sqlite3_stmt *st = P(c, "INSERT INTO accounts(name, created_ms) VALUES (?, ?)");
    if (!st) return SG_EIO;
    bt(st, 1, r->name);
    bi(st, 2, now);
    int rc = step_done(c, st, "Creating an account");
    if (rc) return rc;
    int64_t account_id = sqlite3_last_insert_rowid(c->db);

    char sn[96];
    snprintf(sn, sizeof sn, "sms-%s-1", r->name);
    st = P(c, "INSERT INTO services(account_id, name, short_number, created_ms) "
              "VALUES (?, ?, '36184', ?)");
    if (!st) return SG_EIO;
    bi(st, 1, account_id);
    bt(st, 2, sn);
    bi(st, 3, now);
    if ((rc = step_done(c, st, "Creating a service"))) return rc;
    int64_t service_id = sqlite3_last_insert_rowid(c->db);
    if ((rc = ledger_add(c, service_id, r->credits, "initial", "account created", NULL)))
        return rc;

    char ak[33], as[65], ck[65];
    sg_random_hex(ak, 8);
    sg_random_hex(as, 16);
    sg_random_hex(ck, 16);
    st = P(c, "INSERT INTO applications(account_id, app_key, app_secret, name, created_ms) "
              "VALUES (?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    bi(st, 1, account_id);
    bt(st, 2, ak);
    bt(st, 3, as);
    bt(st, 4, r->name);
    bi(st, 5, now);
    if ((rc = step_done(c, st, "Creating an application"))) return rc;
    int64_t app_id = sqlite3_last_insert_rowid(c->db);
    st = P(c, "INSERT INTO credentials(application_id, consumer_key, state, rules, created_ms) "
              "VALUES (?, ?, 'validated', ?, ?)");
    if (!st) return SG_EIO;
    bi(st, 1, app_id);
    bt(st, 2, ck);
    bt(st, 3, r->rules_json);
    bi(st, 4, now);
    if ((rc = step_done(c, st, "Creating a consumer key"))) return rc;
    r->service_name = sg_xstrdup(sn);
    r->app_key = sg_xstrdup(ak);
    r->app_secret = sg_xstrdup(as);
    r->consumer_key = sg_xstrdup(ck);
    return 0;
}

static int be_account_list(store_conn *c, store_account_list_req *r) {
    sqlite3_stmt *st = P(c, "SELECT a.name, s.name, s.id FROM accounts a "
                            "JOIN services s ON s.account_id = a.id ORDER BY a.id, s.id");
    if (!st) return SG_EIO;
    json_t *arr = json_array();
    int64_t ids[4096];
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "account", json_string((const char *)sqlite3_column_text(st, 0)));
        json_object_set_new(o, "serviceName",
                            json_string((const char *)sqlite3_column_text(st, 1)));
        json_array_append_new(arr, o);
        if (n < 4096) ids[n++] = ci(st, 2);
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++)
        json_object_set_new(json_array_get(arr, i), "creditsLeft",
                            credits_json(balance_of(c, ids[i])));
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

static int be_auth_lookup(store_conn *c, store_auth_lookup_req *r) {
    sqlite3_stmt *st = P(c, "SELECT id, account_id, app_secret FROM applications "
                            "WHERE app_key = ?");
    if (!st) return SG_EIO;
    bt(st, 1, r->app_key);
    if (sqlite3_step(st) == SQLITE_ROW) {
        r->app_found = 1;
        r->app_id = ci(st, 0);
        r->account_id = ci(st, 1);
        r->app_secret = ct(st, 2);
    }
    sqlite3_reset(st);
    if (!r->consumer_key) return 0;
    st = P(c, "SELECT id, application_id, state, rules, allowed_ips, created_ms, expires_ms, "
              "last_use_ms FROM credentials WHERE consumer_key = ?");
    if (!st) return SG_EIO;
    bt(st, 1, r->consumer_key);
    if (sqlite3_step(st) == SQLITE_ROW) {
        r->cred_found = 1;
        r->cred_id = ci(st, 0);
        r->cred_app_matches = r->app_found && ci(st, 1) == r->app_id;
        r->cred_state = ct(st, 2);
        r->rules_json = ct(st, 3);
        r->allowed_ips_json = ct(st, 4);
        r->cred_created_ms = ci(st, 5);
        r->cred_expires_ms = ci(st, 6);
        r->cred_last_use_ms = ci(st, 7);
    }
    sqlite3_reset(st);
    return 0;
}

static int be_credential_create(store_conn *c, store_credential_create_req *r) {
    sqlite3_stmt *st = P(c, "SELECT id FROM applications WHERE app_key = ?");
    if (!st) return SG_EIO;
    bt(st, 1, r->app_key);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    int64_t app_id = ci(st, 0);
    sqlite3_reset(st);
    char ck[65];
    sg_random_hex(ck, 16);
    st = P(c, "INSERT INTO credentials(application_id, consumer_key, state, rules, allowed_ips, "
              "redirection, created_ms, expires_ms) VALUES (?, ?, 'pendingValidation', ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    bi(st, 1, app_id);
    bt(st, 2, ck);
    bt(st, 3, r->rules_json);
    bt(st, 4, r->allowed_ips_json);
    bt(st, 5, r->redirection);
    bi(st, 6, sg_now_ms());
    bi(st, 7, r->expires_ms);
    int rc = step_done(c, st, "Creating a consumer key");
    if (rc == 0) r->consumer_key = sg_xstrdup(ck);
    return rc;
}

static int be_credential_state(store_conn *c, store_credential_state_req *r) {
    sqlite3_stmt *st = P(c, "UPDATE credentials SET state = ? WHERE consumer_key = ?");
    if (!st) return SG_EIO;
    bt(st, 1, r->state);
    bt(st, 2, r->consumer_key);
    int rc = step_done(c, st, "Changing a consumer key's state");
    if (rc) return rc;
    return sqlite3_changes(c->db) ? 0 : SG_ENOTFOUND;
}

/* ---- services ---- */

static int be_service_get(store_conn *c, store_service_get_req *r) {
    sqlite3_stmt *st = P(c, "SELECT id, account_id, name, description, status, callback, "
                            "stop_callback, short_number, sms_response, templates, "
                            "recredit_amount, recredit_threshold FROM services WHERE name = ?");
    if (!st) return SG_EIO;
    bt(st, 1, r->name);
    if (sqlite3_step(st) != SQLITE_ROW || (r->account_id && ci(st, 1) != r->account_id)) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    store_service *s = &r->svc;
    s->id = ci(st, 0);
    s->account_id = ci(st, 1);
    s->name = ct(st, 2);
    s->description = ct(st, 3);
    s->status = ct(st, 4);
    s->callback = ct(st, 5);
    s->stop_callback = ct(st, 6);
    s->short_number = ct(st, 7);
    s->sms_response = ct(st, 8);
    s->templates = ct(st, 9);
    s->recredit_amount = ci(st, 10);
    s->recredit_threshold = ci(st, 11);
    sqlite3_reset(st);
    s->balance = balance_of(c, s->id);
    return 0;
}

static int collect_names(sqlite3_stmt *st, char ***names, size_t *count) {
    size_t cap = 8, n = 0;
    char **v = sg_xmalloc(cap * sizeof *v);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) v = sg_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = ct(st, 0);
    }
    sqlite3_reset(st);
    *names = v;
    *count = n;
    return 0;
}

static int be_service_list(store_conn *c, store_service_list_req *r) {
    sqlite3_stmt *st = P(c, "SELECT name FROM services WHERE account_id = ? ORDER BY id");
    if (!st) return SG_EIO;
    bi(st, 1, r->account_id);
    return collect_names(st, &r->names, &r->count);
}

static int be_service_update(store_conn *c, store_service_update_req *r) {
    sqlite3_stmt *st = P(c, "UPDATE services SET "
                            "description = COALESCE(?, description), "
                            "callback = CASE WHEN ? THEN ? ELSE callback END, "
                            "stop_callback = CASE WHEN ? THEN ? ELSE stop_callback END, "
                            "recredit_amount = CASE WHEN ? THEN ? ELSE recredit_amount END, "
                            "recredit_threshold = CASE WHEN ? THEN ? ELSE recredit_threshold END, "
                            "sms_response = COALESCE(?, sms_response), "
                            "templates = COALESCE(?, templates) WHERE id = ?");
    if (!st) return SG_EIO;
    bt(st, 1, r->description);
    bi(st, 2, r->set_callback);
    bt(st, 3, r->callback);
    bi(st, 4, r->set_stop_callback);
    bt(st, 5, r->stop_callback);
    bi(st, 6, r->set_recredit);
    bi(st, 7, r->recredit_amount);
    bi(st, 8, r->set_threshold);
    bi(st, 9, r->recredit_threshold);
    bt(st, 10, r->sms_response);
    bt(st, 11, r->templates);
    bi(st, 12, r->service_id);
    int rc = step_done(c, st, "Updating a service");
    if (rc) return rc;
    return sqlite3_changes(c->db) ? 0 : SG_ENOTFOUND;
}

static int be_credit_adjust(store_conn *c, store_credit_adjust_req *r) {
    int64_t sid = service_id_by_name(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    if (balance_of(c, sid) + r->amount < 0) return SG_ENOCREDIT;
    return ledger_add(c, sid, r->amount, r->kind, r->ref, &r->balance);
}

static int be_ledger(store_conn *c, store_ledger_req *r) {
    int64_t sid = service_id_by_name(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = P(c, "SELECT id, ts_ms, amount, kind, ref, balance FROM ledger "
                            "WHERE service_id = ? ORDER BY id");
    if (!st) return SG_EIO;
    bi(st, 1, sid);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        char when[SG_TIME_ISO_LEN];
        sg_time_iso(ci(st, 1), when);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(ci(st, 0)));
        json_object_set_new(o, "datetime", json_string(when));
        json_object_set_new(o, "amount", credits_json(ci(st, 2)));
        json_object_set_new(o, "kind", json_string((const char *)sqlite3_column_text(st, 3)));
        const unsigned char *ref = sqlite3_column_text(st, 4);
        json_object_set_new(o, "ref", ref ? json_string((const char *)ref) : json_null());
        json_object_set_new(o, "balance", credits_json(ci(st, 5)));
        json_array_append_new(arr, o);
    }
    sqlite3_reset(st);
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

/* ---- senders ---- */

static int64_t sender_service(store_conn *c, store_sender_req *r) {
    return r->service_id ? r->service_id : service_id_by_name(c, r->service_name);
}

static int be_sender_create(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = P(c, "INSERT INTO senders(service_id, sender, description, reason, status, "
                            "type, created_ms) VALUES (?, ?, ?, ?, 'waitingValidation', ?, ?)");
    if (!st) return SG_EIO;
    bi(st, 1, sid);
    bt(st, 2, r->sender);
    bt(st, 3, r->description ? r->description : "");
    bt(st, 4, r->reason);
    bt(st, 5, r->type);
    bi(st, 6, sg_now_ms());
    return step_done(c, st, "Declaring a sender");
}

static int be_sender_get(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = P(c, "SELECT sender, description, status, comment, referer, type, reason, "
                            "created_ms FROM senders WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    bi(st, 1, sid);
    bt(st, 2, r->sender);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    store_sender *s = &r->out;
    s->sender = ct(st, 0);
    s->description = ct(st, 1);
    s->status = ct(st, 2);
    s->comment = ct(st, 3);
    s->referer = ct(st, 4);
    s->type = ct(st, 5);
    s->reason = ct(st, 6);
    s->created_ms = ci(st, 7);
    sqlite3_reset(st);
    return 0;
}

static int be_sender_update(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = P(c, "SELECT status FROM senders WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    bi(st, 1, sid);
    bt(st, 2, r->sender);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    char cur[32];
    snprintf(cur, sizeof cur, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (r->status && !r->admin && strcmp(r->status, cur) != 0) {
        /* A customer may only switch a validated sender between enable and disable. */
        int ok = (!strcmp(cur, "enable") && !strcmp(r->status, "disable")) ||
                 (!strcmp(cur, "disable") && !strcmp(r->status, "enable"));
        if (!ok) return SG_EPERM;
    }
    st = P(c, "UPDATE senders SET status = COALESCE(?, status), "
              "description = COALESCE(?, description), comment = COALESCE(?, comment) "
              "WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    bt(st, 1, r->status);
    bt(st, 2, r->description);
    bt(st, 3, r->comment);
    bi(st, 4, sid);
    bt(st, 5, r->sender);
    return step_done(c, st, "Updating a sender");
}

static int be_sender_delete(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = P(c, "DELETE FROM senders WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    bi(st, 1, sid);
    bt(st, 2, r->sender);
    int rc = step_done(c, st, "Deleting a sender");
    if (rc) return rc;
    return sqlite3_changes(c->db) ? 0 : SG_ENOTFOUND;
}

static int be_sender_list(store_conn *c, store_sender_list_req *r) {
    sqlite3_stmt *st = P(c, "SELECT sender FROM senders WHERE service_id = ? ORDER BY sender");
    if (!st) return SG_EIO;
    bi(st, 1, r->service_id);
    return collect_names(st, &r->names, &r->count);
}

/* ---- sending ---- */

static int be_submit(store_conn *c, store_submit_req *r) {
    if (r->sender_check) {
        sqlite3_stmt *st = P(c, "SELECT status FROM senders WHERE service_id = ? AND sender = ?");
        if (!st) return SG_EIO;
        bi(st, 1, r->service_id);
        bt(st, 2, r->sender);
        int row = sqlite3_step(st) == SQLITE_ROW;
        int enabled = row && !strcmp((const char *)sqlite3_column_text(st, 0), "enable");
        sqlite3_reset(st);
        if (!enabled) {
            r->sender_status_bad = row ? 2 : 1;
            return SG_EPERM;
        }
    }
    int64_t balance = balance_of(c, r->service_id);
    r->balance = balance;
    if (balance < r->total_credits) return SG_ENOCREDIT;

    sqlite3_stmt *st = P(c, "INSERT INTO sends(service_id, created_ms, credits, count) "
                            "VALUES (?, ?, ?, ?)");
    if (!st) return SG_EIO;
    bi(st, 1, r->service_id);
    bi(st, 2, r->now_ms);
    bi(st, 3, r->total_credits);
    bi(st, 4, (int64_t)r->count);
    int rc = step_done(c, st, "Recording a send");
    if (rc) return rc;
    r->send_id = sqlite3_last_insert_rowid(c->db);
    if (r->total_credits > 0) {
        char ref[48];
        snprintf(ref, sizeof ref, "send:%lld", (long long)r->send_id);
        if ((rc = ledger_add(c, r->service_id, -r->total_credits, "debit", ref, &r->balance)))
            return rc;
    }
    int state = r->due_ms > r->now_ms ? MSG_SCHEDULED : MSG_QUEUED;
    for (size_t i = 0; i < r->count; i++) {
        store_submit_msg *m = &r->msgs[i];
        st = P(c, "INSERT INTO messages(service_id, send_id, created_ms, due_ms, state, sender, "
                  "receiver, message, coding, length, parts, credits, priority, validity_min, "
                  "differed_min, class, tag) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        if (!st) return SG_EIO;
        bi(st, 1, r->service_id);
        bi(st, 2, r->send_id);
        bi(st, 3, r->now_ms);
        bi(st, 4, r->due_ms);
        bi(st, 5, state);
        bt(st, 6, r->sender);
        bt(st, 7, m->receiver);
        bt(st, 8, m->message);
        bi(st, 9, m->coding);
        bi(st, 10, m->length);
        bi(st, 11, m->parts);
        bi(st, 12, m->credits);
        bi(st, 13, r->priority);
        bi(st, 14, r->validity_min);
        bi(st, 15, r->differed_min);
        bi(st, 16, r->sms_class);
        bt(st, 17, r->tag);
        if ((rc = step_done(c, st, "Storing a message"))) return rc;
        m->id = sqlite3_last_insert_rowid(c->db);
        if ((rc = insert_event(c, m->id, r->service_id, r->now_ms, state, 0, 0))) return rc;
    }
    return 0;
}

#define MSG_COLS                                                                           \
    "id, service_id, send_id, created_ms, due_ms, state, dlr, ptt, sender, receiver, "    \
    "message, coding, length, parts, credits, priority, validity_min, differed_min, class, " \
    "tag, sent_ms, delivered_ms, route, smsc_id, attempts"

static void read_msg(sqlite3_stmt *st, store_msg *m) {
    m->id = ci(st, 0);
    m->service_id = ci(st, 1);
    m->send_id = ci(st, 2);
    m->created_ms = ci(st, 3);
    m->due_ms = ci(st, 4);
    m->state = (msg_state)ci(st, 5);
    m->dlr = (int)ci(st, 6);
    m->ptt = (int)ci(st, 7);
    m->sender = ct(st, 8);
    m->receiver = ct(st, 9);
    m->message = ct(st, 10);
    m->coding = (int)ci(st, 11);
    m->length = ci(st, 12);
    m->parts = ci(st, 13);
    m->credits = ci(st, 14);
    m->priority = (int)ci(st, 15);
    m->validity_min = ci(st, 16);
    m->differed_min = ci(st, 17);
    m->sms_class = (int)ci(st, 18);
    m->tag = ct(st, 19);
    m->sent_ms = ci(st, 20);
    m->delivered_ms = ci(st, 21);
    m->route = ct(st, 22);
    m->smsc_id = ct(st, 23);
    m->attempts = (int)ci(st, 24);
}

static int be_msg_get(store_conn *c, store_msg_req *r) {
    sqlite3_stmt *st = P(c, "SELECT " MSG_COLS " FROM messages WHERE id = ? AND service_id = ? "
                            "AND deleted = 0 AND state != 7 AND (? = 0 OR state IN (0,1,2))");
    if (!st) return SG_EIO;
    bi(st, 1, r->id);
    bi(st, 2, r->service_id);
    bi(st, 3, r->pending_only);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    read_msg(st, &r->msg);
    sqlite3_reset(st);
    return 0;
}

static int be_msg_cancel(store_conn *c, store_msg_req *r) {
    sqlite3_stmt *st = P(c, "SELECT state, credits FROM messages WHERE id = ? AND service_id = ? "
                            "AND deleted = 0");
    if (!st) return SG_EIO;
    bi(st, 1, r->id);
    bi(st, 2, r->service_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    int state = (int)ci(st, 0);
    int64_t credits = ci(st, 1);
    sqlite3_reset(st);
    if (state == MSG_SUBMITTING) return SG_ECONFLICT;
    if (state != MSG_SCHEDULED && state != MSG_QUEUED) return SG_ENOTFOUND;
    store_status_update u = {.msg_id = r->id, .state = MSG_CANCELLED, .dlr = DLR_ERROR,
                             .ptt = 0, .ts_ms = sg_now_ms()};
    int rc = apply_status(c, &u);
    if (rc < 0) return rc;
    return refund_message(c, r->id, r->service_id, credits, &r->refunded);
}

static int be_msg_delete(store_conn *c, store_msg_req *r) {
    sqlite3_stmt *st = P(c, "SELECT state FROM messages WHERE id = ? AND service_id = ? "
                            "AND deleted = 0 AND state != 7");
    if (!st) return SG_EIO;
    bi(st, 1, r->id);
    bi(st, 2, r->service_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    int state = (int)ci(st, 0);
    sqlite3_reset(st);
    if (state_rank(state) < 3) return SG_ECONFLICT;
    st = P(c, "UPDATE messages SET deleted = 1 WHERE id = ?");
    if (!st) return SG_EIO;
    bi(st, 1, r->id);
    return step_done(c, st, "Deleting a message from history");
}

static int be_outgoing_list(store_conn *c, store_outgoing_filter *f) {
    char sql[1024];
    int n = snprintf(sql, sizeof sql, "SELECT id FROM messages WHERE service_id = ?1 AND "
                                      "deleted = 0 AND %s",
                     f->pending ? "state IN (0,1,2)" : "state IN (3,4,5,6)");
    if (f->tag) n += snprintf(sql + n, sizeof sql - n, " AND tag = ?2");
    if (f->receiver) n += snprintf(sql + n, sizeof sql - n, " AND receiver = ?3");
    if (f->sender) n += snprintf(sql + n, sizeof sql - n, " AND sender = ?4");
    if (f->ptt >= 0) n += snprintf(sql + n, sizeof sql - n, " AND ptt = ?5");
    if (f->dlr >= 0) n += snprintf(sql + n, sizeof sql - n, " AND dlr = ?6");
    if (f->differed >= 0) n += snprintf(sql + n, sizeof sql - n, " AND differed_min = ?7");
    if (f->from_ms) n += snprintf(sql + n, sizeof sql - n, " AND created_ms >= ?8");
    if (f->to_ms) n += snprintf(sql + n, sizeof sql - n, " AND created_ms <= ?9");
    snprintf(sql + n, sizeof sql - n, " ORDER BY id");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(c, "Preparing the outgoing list");
    bi(st, 1, f->service_id);
    if (f->tag) bt(st, 2, f->tag);
    if (f->receiver) bt(st, 3, f->receiver);
    if (f->sender) bt(st, 4, f->sender);
    if (f->ptt >= 0) bi(st, 5, f->ptt);
    if (f->dlr >= 0) bi(st, 6, f->dlr);
    if (f->differed >= 0) bi(st, 7, f->differed);
    if (f->from_ms) bi(st, 8, f->from_ms);
    if (f->to_ms) bi(st, 9, f->to_ms);
    size_t cap = 64, k = 0;
    int64_t *ids = sg_xmalloc(cap * sizeof *ids);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) ids = sg_xrealloc(ids, (cap *= 2) * sizeof *ids);
        ids[k++] = ci(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(ids);
        return fail(c, "Listing messages");
    }
    f->ids = ids;
    f->count = k;
    return 0;
}

/* ---- dispatch ---- */

static int be_claim(store_conn *c, store_claim_req *r) {
    sqlite3_stmt *st = P(c, "SELECT " MSG_COLS " FROM messages WHERE state IN (0,1,2) AND "
                            "due_ms <= ?1 AND (state < 2 OR lease_ms <= ?1) "
                            "ORDER BY priority, due_ms, id LIMIT ?2");
    if (!st) return SG_EIO;
    bi(st, 1, r->now_ms);
    bi(st, 2, (int64_t)r->limit);
    r->msgs = sg_xcalloc(r->limit ? r->limit : 1, sizeof *r->msgs);
    r->count = 0;
    while (r->count < r->limit && sqlite3_step(st) == SQLITE_ROW)
        read_msg(st, &r->msgs[r->count++]);
    sqlite3_reset(st);
    size_t kept = 0;
    for (size_t i = 0; i < r->count; i++) {
        store_msg *m = &r->msgs[i];
        int rc;
        if (m->validity_min > 0 && m->due_ms + m->validity_min * 60000 < r->now_ms) {
            /* Its validity period ran out before it could be sent: it expires here. */
            store_status_update u = {.msg_id = m->id, .state = MSG_FAILED, .dlr = DLR_FAILED,
                                     .ptt = 8, .ts_ms = r->now_ms};
            rc = apply_status(c, &u);
            store_msg_fini(m);
            if (rc < 0) return rc;
            continue;
        }
        st = P(c, "UPDATE messages SET state = 2, lease_ms = ?, lease_owner = ?, "
                  "attempts = attempts + 1 WHERE id = ?");
        if (!st) return SG_EIO;
        bi(st, 1, r->now_ms + r->lease_ms);
        bt(st, 2, r->node);
        bi(st, 3, m->id);
        if ((rc = step_done(c, st, "Claiming a message"))) return rc;
        m->state = MSG_SUBMITTING;
        m->attempts++;
        if (kept != i) {
            r->msgs[kept] = *m;
            memset(m, 0, sizeof *m);
        }
        kept++;
    }
    r->count = kept;
    return 0;
}

static int be_status(store_conn *c, store_status_req *r) {
    r->applied = 0;
    for (size_t i = 0; i < r->count; i++) {
        int rc = apply_status(c, &r->ups[i]);
        if (rc < 0) return rc;
        r->applied += (size_t)rc;
    }
    return 0;
}

static int be_recover(store_conn *c, store_recover_req *r) {
    sqlite3_stmt *st = P(c, "UPDATE messages SET state = 1, lease_ms = NULL, lease_owner = NULL "
                            "WHERE state = 2 AND (lease_owner = ? OR lease_owner IS NULL)");
    if (!st) return SG_EIO;
    bt(st, 1, r->node);
    int rc = step_done(c, st, "Requeueing claimed messages");
    if (rc == 0) r->requeued = (size_t)sqlite3_changes(c->db);
    return rc;
}

/* ---- the simulated operator ---- */

static int be_sim_accept(store_conn *c, store_sim_accept_req *r) {
    sqlite3_stmt *st = P(c, "SELECT smsc_id FROM sim_messages WHERE message_id = ?");
    if (!st) return SG_EIO;
    bi(st, 1, r->msg_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(r->smsc_id, sizeof r->smsc_id, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        r->duplicate = 1;
        st = P(c, "UPDATE sim_messages SET submits = submits + 1 WHERE message_id = ?");
        if (!st) return SG_EIO;
        bi(st, 1, r->msg_id);
        return step_done(c, st, "Counting a duplicate submit in the sim");
    }
    sqlite3_reset(st);
    unsigned char rnd[8];
    sg_random(rnd, sizeof rnd);
    sg_hex(rnd, sizeof rnd, r->smsc_id);
    st = P(c, "INSERT INTO sim_messages(message_id, smsc_id, outcome, due_ms) VALUES (?,?,?,?)");
    if (!st) return SG_EIO;
    bi(st, 1, r->msg_id);
    bt(st, 2, r->smsc_id);
    bi(st, 3, r->outcome);
    bi(st, 4, r->due_ms);
    int rc = step_done(c, st, "Accepting a message in the sim");
    if (rc) return rc;
    store_status_update u = {.msg_id = r->msg_id, .state = MSG_SUBMITTED, .dlr = DLR_SUBMITTED,
                             .ptt = 3, .ts_ms = sg_now_ms(), .route = "sim",
                             .smsc_id = r->smsc_id};
    rc = apply_status(c, &u);
    return rc < 0 ? rc : 0;
}

static int be_sim_advance(store_conn *c, store_sim_advance_req *r) {
    sqlite3_stmt *st = P(c, "SELECT message_id, outcome, step FROM sim_messages "
                            "WHERE done = 0 AND due_ms <= ? ORDER BY due_ms LIMIT ?");
    if (!st) return SG_EIO;
    bi(st, 1, r->now_ms);
    bi(st, 2, (int64_t)r->limit);
    store_sim_step *steps = sg_xcalloc(r->limit ? r->limit : 1, sizeof *steps);
    size_t n = 0;
    while (n < r->limit && sqlite3_step(st) == SQLITE_ROW) {
        steps[n].msg_id = ci(st, 0);
        steps[n].outcome = (int)ci(st, 1);
        steps[n].step = (int)ci(st, 2);
        n++;
    }
    sqlite3_reset(st);
    int rc = 0;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        sim_transition t;
        sim_transition_for(steps[i].outcome, steps[i].step, &t);
        store_status_update u = {.msg_id = steps[i].msg_id, .state = t.state, .dlr = t.dlr,
                                 .ptt = t.ptt, .ts_ms = r->now_ms};
        rc = apply_status(c, &u);
        if (rc < 0) break;
        st = P(c, "UPDATE sim_messages SET step = step + 1, done = ?, due_ms = ?, "
                  "deliveries = deliveries + ? WHERE message_id = ?");
        if (!st) { rc = SG_EIO; break; }
        bi(st, 1, t.final);
        bi(st, 2, r->now_ms + t.delay_factor * r->delay_ms);
        bi(st, 3, t.state == MSG_DELIVERED);
        bi(st, 4, steps[i].msg_id);
        rc = step_done(c, st, "Advancing the sim");
    }
    free(steps);
    if (rc < 0) return rc;
    r->done = n;
    st = P(c, "SELECT MIN(due_ms) FROM sim_messages WHERE done = 0");
    if (!st) return SG_EIO;
    r->next_due_ms = sqlite3_step(st) == SQLITE_ROW ? ci(st, 0) : 0;
    sqlite3_reset(st);
    return 0;
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = be_open,
    .close = be_close,
    .begin = be_begin,
    .commit = be_commit,
    .rollback = be_rollback,
    .savepoint = be_savepoint,
    .release = be_release,
#define BE_FIELD(name, type) .name = be_##name,
    STORE_OPS(BE_FIELD)
#undef BE_FIELD
};
