/*
 * sqlite.c - the embedded SQLite backend of store.h: the connection (open, pragmas,
 * migrations, close), the operations of the core tables
 * (accounts, credentials, services, senders, sends, reads of messages, claims, the sim's
 * memory), and the backend table that names every operation's implementation.
 *
 * Every function here runs on the store thread, inside the batch transaction opened by
 * store.c, each operation inside its own savepoint. The database is in WAL mode with
 * synchronous=FULL, so a COMMIT returns only once the WAL is fsynced: what the API answered is
 * on disk.
 *
 * Layering (store.c has the whole picture): this is the top of the backend. It calls every
 * other file of it (the areas' operations through the table, sqlite_msg.c for messages,
 * sqlite_util.c for the ledger, sqldrv_sqlite.c for statements and the batch's transaction
 * and savepoints, which the table names directly); none of them calls it. The invariants of the
 * ledger are sqlite_util.c's, those of messages (state machine, refunds) sqlite_msg.c's.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/msgstate.h"
#include "core/sim_model.h"
#include "store/sql_msg.h"
#include "store/sqldrv.h"
#include "store/sqlite_int.h"
#include "store/sqlite_credits_int.h"
#include "store/sqlite_notify_int.h"
#include "store/sqlite_routes_int.h"
#include "store/sqlite_limits_int.h"
#include "store/sqlite_campaigns_int.h"
#include "store/sqlite_idem_int.h"
#include "util/log.h"
#include "util/util.h"

/* ---- lifecycle ---- */

/* Applies the migrations of every schema area not yet applied. Each area (the core, and
 * one per feature: callbacks, credits, routes, campaigns) keeps its own version in
 * schema_versions, so areas evolve independently; within an area, migration N runs once,
 * in its own transaction. Never edit an applied migration: append a new one. */
static int migrate(store_conn *c) {
    if (sqlite__exec(c, "CREATE TABLE IF NOT EXISTS schema_versions ("
                        "area TEXT PRIMARY KEY, version INTEGER NOT NULL)"))
        return SG_EIO;
    for (const sqlite_area *a = sqlite_areas; a->name; a++) {
        sqlite3_stmt *st = sqlite__prep(c, "SELECT version FROM schema_versions WHERE area = ?");
        if (!st) return SG_EIO;
        sqlite__bind_text(st, 1, a->name);
        int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_reset(st);
        for (int v = version; v < a->count; v++) {
            if (sqlite__exec(c, "BEGIN IMMEDIATE") || sqlite__exec(c, a->migrations[v])) {
                sqlite__exec(c, "ROLLBACK");
                return SG_EIO;
            }
            st = sqlite__prep(c, "INSERT OR REPLACE INTO schema_versions(area, version) "
                                 "VALUES (?, ?)");
            if (!st) return SG_EIO;
            sqlite__bind_text(st, 1, a->name);
            sqlite__bind_int(st, 2, v + 1);
            if (sqlite__done(c, st, "Recording a schema version") || sqlite__exec(c, "COMMIT")) {
                sqlite__exec(c, "ROLLBACK");
                return SG_EIO;
            }
            sg_log_info("store.sqlite", "Applied schema migration %s/%d.", a->name, v + 1);
        }
    }
    return 0;
}

/* The database holds application secrets and consumer keys: its files are 0600 whatever the
 * directory's mode and the process umask. SQLite creates the database with mode 0644 (less
 * the umask), but it creates the -wal, -shm and -journal files with the mode of the database
 * file itself (unix VFS, findCreateFileMode() and the shm open): so creating the database file
 * 0600 first covers every file SQLite will ever create next to it, even when the -wal and
 * -shm are removed and created again later. Files left 0644 by an older version are tightened
 * here. Not a process-wide umask(077): the payment hook's child process and the operator's
 * files would inherit it. */
static int private_files(const char *path) {
    if (!*path || !strcmp(path, ":memory:") || !strncmp(path, "file:", 5)) return 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); /* a symlinked database is fine */
    if (fd < 0) {
        sg_log_error("store.sqlite", "Opening database '%s' failed: %s.", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) && fchmod(fd, 0600) != 0)
        sg_log_warn("store.sqlite", "Making '%s' private (mode 0600) failed: %s.", path,
                    strerror(errno));
    close(fd);
    static const char *const sidecars[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof sidecars / sizeof sidecars[0]; i++) {
        char side[4200];
        snprintf(side, sizeof side, "%s%s", path, sidecars[i]);
        if (lstat(side, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) &&
            chmod(side, 0600) != 0)
            sg_log_warn("store.sqlite", "Making '%s' private (mode 0600) failed: %s.", side,
                        strerror(errno));
    }
    return 0;
}

static int be_open(const char *path, store_handoff *handoff, store_conn **out) {
    /* SQLite's memory statistics take a global mutex around every allocation, and nothing
     * reads them; off, before SQLite initialises. Once it has (the first open did it), the
     * call only returns SQLITE_MISUSE: a setting of the library, not state of ours. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (private_files(path) != 0) return SG_EIO;
    store_conn *c = sg_xcalloc(1, sizeof *c);
    c->dialect = SQLDRV_SQLITE;
    c->handoff = handoff;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sg_log_error("store.sqlite", "Opening database '%s' failed: %s.", path,
                     c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return SG_EIO;
    }
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite__exec(c, "PRAGMA journal_mode=WAL") || sqlite__exec(c, "PRAGMA synchronous=FULL") ||
        sqlite__exec(c, "PRAGMA foreign_keys=ON") || sqlite__exec(c, "PRAGMA temp_store=MEMORY") ||
        sqlite__exec(c, "PRAGMA cache_size=-32000") || migrate(c)) {
        sqlite3_close(c->db);
        free(c);
        return SG_EIO;
    }
    *out = c;
    return 0;
}

static void be_close(store_conn *c) {
    if (getenv("SMSGATE_SQL_STATS")) /* profiling aid: how often each statement ran, its cost */
        for (int i = 0; i < c->ncache; i++) {
            char *x = sqlite3_mprintf("EXPLAIN %s", c->cache[i].sql);
            sqlite3_stmt *e = NULL;
            int eph = 0;
            if (x && sqlite3_prepare_v2(c->db, x, -1, &e, NULL) == SQLITE_OK)
                while (sqlite3_step(e) == SQLITE_ROW) {
                    const char *op = (const char *)sqlite3_column_text(e, 1);
                    eph += op && (!strcmp(op, "OpenEphemeral") || !strcmp(op, "SorterOpen") ||
                                  !strcmp(op, "OpenAutoindex"));
                }
            sqlite3_finalize(e);
            sqlite3_free(x);
            fprintf(stderr, "sqlstat %8d runs %10d steps %d eph  %.100s\n",
                    sqlite3_stmt_status(c->cache[i].st, SQLITE_STMTSTATUS_RUN, 0),
                    sqlite3_stmt_status(c->cache[i].st, SQLITE_STMTSTATUS_VM_STEP, 0), eph,
                    c->cache[i].sql);
        }
    sqlite__notify_close(c);
    for (int i = 0; i < c->ncache; i++) sqlite3_finalize(c->cache[i].st);
    sqlite3_close(c->db);
    free(c);
}

/* ---- accounts and authentication ---- */

static int be_account_create(store_conn *c, store_account_create_req *r) {
    int64_t now = sg_now_ms();
    sqlite3_stmt *st = sqlite__prep(c, "INSERT INTO accounts(name, created_ms) VALUES (?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->name);
    sqlite__bind_int(st, 2, now);
    int rc = sqlite__done(c, st, "Creating an account");
    if (rc) return rc;
    int64_t account_id = sqlite3_last_insert_rowid(c->db);

    char sn[96];
    snprintf(sn, sizeof sn, "sms-%s-1", r->name);
    st = sqlite__prep(c, "INSERT INTO services(account_id, name, short_number, created_ms) "
              "VALUES (?, ?, '36184', ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, account_id);
    sqlite__bind_text(st, 2, sn);
    sqlite__bind_int(st, 3, now);
    if ((rc = sqlite__done(c, st, "Creating a service"))) return rc;
    int64_t service_id = sqlite3_last_insert_rowid(c->db);
    if ((rc = sqlite__ledger_add(c, service_id, r->credits, "initial", "account created", NULL)))
        return rc;

    char ak[33], as[65], ck[65];
    sg_random_hex(ak, 8);
    sg_random_hex(as, 16);
    sg_random_hex(ck, 16);
    st = sqlite__prep(c, "INSERT INTO applications(account_id, app_key, app_secret, name, created_ms) "
              "VALUES (?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, account_id);
    sqlite__bind_text(st, 2, ak);
    sqlite__bind_text(st, 3, as);
    sqlite__bind_text(st, 4, r->name);
    sqlite__bind_int(st, 5, now);
    if ((rc = sqlite__done(c, st, "Creating an application"))) return rc;
    int64_t app_id = sqlite3_last_insert_rowid(c->db);
    st = sqlite__prep(c, "INSERT INTO credentials(application_id, consumer_key, state, rules, created_ms) "
              "VALUES (?, ?, 'validated', ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, app_id);
    sqlite__bind_text(st, 2, ck);
    sqlite__bind_text(st, 3, r->rules_json);
    sqlite__bind_int(st, 4, now);
    if ((rc = sqlite__done(c, st, "Creating a consumer key"))) return rc;
    r->service_name = sg_xstrdup(sn);
    r->app_key = sg_xstrdup(ak);
    r->app_secret = sg_xstrdup(as);
    r->consumer_key = sg_xstrdup(ck);
    return 0;
}

static int be_account_list(store_conn *c, store_account_list_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT a.name, s.name, s.id FROM accounts a "
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
        if (n < 4096) ids[n++] = sqlite__col_int(st, 2);
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++)
        json_object_set_new(json_array_get(arr, i), "creditsLeft",
                            sqlite__credits_json(sqlite__balance(c, ids[i])));
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

static int be_auth_lookup(store_conn *c, store_auth_lookup_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT p.id, p.account_id, p.app_secret, a.rate_limit, "
                            "a.rate_burst FROM applications p JOIN accounts a ON a.id = "
                            "p.account_id WHERE p.app_key = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->app_key);
    r->rate_limit = r->rate_burst = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        r->app_found = 1;
        r->app_id = sqlite__col_int(st, 0);
        r->account_id = sqlite__col_int(st, 1);
        r->app_secret = sqlite__col_text(st, 2);
        if (sqlite3_column_type(st, 3) != SQLITE_NULL) r->rate_limit = sqlite__col_int(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) r->rate_burst = sqlite__col_int(st, 4);
    }
    sqlite3_reset(st);
    if (!r->consumer_key) return 0;
    st = sqlite__prep(c, "SELECT id, application_id, state, rules, allowed_ips, created_ms, expires_ms, "
              "last_use_ms FROM credentials WHERE consumer_key = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->consumer_key);
    if (sqlite3_step(st) == SQLITE_ROW) {
        r->cred_found = 1;
        r->cred_id = sqlite__col_int(st, 0);
        r->cred_app_matches = r->app_found && sqlite__col_int(st, 1) == r->app_id;
        r->cred_state = sqlite__col_text(st, 2);
        r->rules_json = sqlite__col_text(st, 3);
        r->allowed_ips_json = sqlite__col_text(st, 4);
        r->cred_created_ms = sqlite__col_int(st, 5);
        r->cred_expires_ms = sqlite__col_int(st, 6);
        r->cred_last_use_ms = sqlite__col_int(st, 7);
    }
    sqlite3_reset(st);
    return 0;
}

static int be_credential_create(store_conn *c, store_credential_create_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT id FROM applications WHERE app_key = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->app_key);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    int64_t app_id = sqlite__col_int(st, 0);
    sqlite3_reset(st);
    char ck[65];
    sg_random_hex(ck, 16);
    st = sqlite__prep(c, "INSERT INTO credentials(application_id, consumer_key, state, rules, allowed_ips, "
              "redirection, created_ms, expires_ms) VALUES (?, ?, 'pendingValidation', ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, app_id);
    sqlite__bind_text(st, 2, ck);
    sqlite__bind_text(st, 3, r->rules_json);
    sqlite__bind_text(st, 4, r->allowed_ips_json);
    sqlite__bind_text(st, 5, r->redirection);
    sqlite__bind_int(st, 6, sg_now_ms());
    sqlite__bind_int(st, 7, r->expires_ms);
    int rc = sqlite__done(c, st, "Creating a consumer key");
    if (rc == 0) r->consumer_key = sg_xstrdup(ck);
    return rc;
}

static int be_credential_state(store_conn *c, store_credential_state_req *r) {
    sqlite3_stmt *st;
    if (r->pending_before_ms > 0 && !strcmp(r->state, "validated")) {
        /* A request left unvalidated too long expires instead (store_limits.h). */
        st = sqlite__prep(c, "UPDATE credentials SET state = 'expired' WHERE consumer_key = ? "
                             "AND state IN ('pendingValidation', 'expired') AND created_ms < ?");
        if (!st) return SG_EIO;
        sqlite__bind_text(st, 1, r->consumer_key);
        sqlite__bind_int(st, 2, r->pending_before_ms);
        int rc = sqlite__done(c, st, "Expiring a consumer key request");
        if (rc) return rc;
        if (sqlite3_changes(c->db)) {
            r->expired = 1;
            return 0;
        }
    }
    st = sqlite__prep(c, "UPDATE credentials SET state = ? WHERE consumer_key = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->state);
    sqlite__bind_text(st, 2, r->consumer_key);
    int rc = sqlite__done(c, st, "Changing a consumer key's state");
    if (rc) return rc;
    return sqlite3_changes(c->db) ? 0 : SG_ENOTFOUND;
}

/* ---- services ---- */

static int be_service_get(store_conn *c, store_service_get_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT id, account_id, name, description, status, callback, "
                            "stop_callback, short_number, sms_response, templates, "
                            "recredit_amount, recredit_threshold FROM services WHERE name = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->name);
    if (sqlite3_step(st) != SQLITE_ROW || (r->account_id && sqlite__col_int(st, 1) != r->account_id)) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    store_service *s = &r->svc;
    s->id = sqlite__col_int(st, 0);
    s->account_id = sqlite__col_int(st, 1);
    s->name = sqlite__col_text(st, 2);
    s->description = sqlite__col_text(st, 3);
    s->status = sqlite__col_text(st, 4);
    s->callback = sqlite__col_text(st, 5);
    s->stop_callback = sqlite__col_text(st, 6);
    s->short_number = sqlite__col_text(st, 7);
    s->sms_response = sqlite__col_text(st, 8);
    s->templates = sqlite__col_text(st, 9);
    s->recredit_amount = sqlite__col_int(st, 10);
    s->recredit_threshold = sqlite__col_int(st, 11);
    sqlite3_reset(st);
    s->balance = sqlite__balance(c, s->id);
    return 0;
}

static int collect_names(sqlite3_stmt *st, char ***names, size_t *count) {
    size_t cap = 8, n = 0;
    char **v = sg_xmalloc(cap * sizeof *v);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) v = sg_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = sqlite__col_text(st, 0);
    }
    sqlite3_reset(st);
    *names = v;
    *count = n;
    return 0;
}

static int be_service_list(store_conn *c, store_service_list_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT name FROM services WHERE account_id = ? ORDER BY id");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->account_id);
    return collect_names(st, &r->names, &r->count);
}

static int be_service_update(store_conn *c, store_service_update_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "UPDATE services SET "
                            "description = COALESCE(?, description), "
                            "callback = CASE WHEN ? THEN ? ELSE callback END, "
                            "stop_callback = CASE WHEN ? THEN ? ELSE stop_callback END, "
                            "recredit_amount = CASE WHEN ? THEN ? ELSE recredit_amount END, "
                            "recredit_threshold = CASE WHEN ? THEN ? ELSE recredit_threshold END, "
                            "sms_response = COALESCE(?, sms_response), "
                            "templates = COALESCE(?, templates) WHERE id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->description);
    sqlite__bind_int(st, 2, r->set_callback);
    sqlite__bind_text(st, 3, r->callback);
    sqlite__bind_int(st, 4, r->set_stop_callback);
    sqlite__bind_text(st, 5, r->stop_callback);
    sqlite__bind_int(st, 6, r->set_recredit);
    sqlite__bind_int(st, 7, r->recredit_amount);
    sqlite__bind_int(st, 8, r->set_threshold);
    sqlite__bind_int(st, 9, r->recredit_threshold);
    sqlite__bind_text(st, 10, r->sms_response);
    sqlite__bind_text(st, 11, r->templates);
    sqlite__bind_int(st, 12, r->service_id);
    int rc = sqlite__done(c, st, "Updating a service");
    if (rc) return rc;
    return sqlite3_changes(c->db) ? 0 : SG_ENOTFOUND;
}

static int be_credit_adjust(store_conn *c, store_credit_adjust_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    if (sqlite__balance(c, sid) + r->amount < 0) return SG_ENOCREDIT;
    return sqlite__ledger_add(c, sid, r->amount, r->kind, r->ref, &r->balance);
}

static int be_ledger(store_conn *c, store_ledger_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT id, ts_ms, amount, kind, ref, balance, note FROM ledger "
                            "WHERE service_id = ? ORDER BY id");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, sid);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        char when[SG_TIME_ISO_LEN];
        sg_time_iso(sqlite__col_int(st, 1), when);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqlite__col_int(st, 0)));
        json_object_set_new(o, "datetime", json_string(when));
        json_object_set_new(o, "amount", sqlite__credits_json(sqlite__col_int(st, 2)));
        json_object_set_new(o, "kind", json_string((const char *)sqlite3_column_text(st, 3)));
        const unsigned char *ref = sqlite3_column_text(st, 4);
        json_object_set_new(o, "ref", ref ? json_string((const char *)ref) : json_null());
        json_object_set_new(o, "balance", sqlite__credits_json(sqlite__col_int(st, 5)));
        const unsigned char *note = sqlite3_column_text(st, 6);
        if (note) json_object_set_new(o, "note", json_string((const char *)note));
        json_array_append_new(arr, o);
    }
    sqlite3_reset(st);
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
    sqlite3_stmt *st = sqlite__prep(c, "INSERT INTO sender_history(service_id, sender, ts_ms, "
                                       "status, comment, reason) VALUES (?, ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, sid);
    sqlite__bind_text(st, 2, sender);
    sqlite__bind_int(st, 3, sg_now_ms());
    sqlite__bind_text(st, 4, status);
    sqlite__bind_text(st, 5, comment);
    sqlite__bind_text(st, 6, reason);
    return sqlite__done(c, st, "Recording the history of a sender");
}

static int be_sender_create(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = sqlite__prep(c, "INSERT INTO senders(service_id, sender, description, reason, status, "
                            "type, created_ms) VALUES (?, ?, ?, ?, 'waitingValidation', ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, sid);
    sqlite__bind_text(st, 2, r->sender);
    sqlite__bind_text(st, 3, r->description ? r->description : "");
    sqlite__bind_text(st, 4, r->reason);
    sqlite__bind_text(st, 5, r->type);
    sqlite__bind_int(st, 6, sg_now_ms());
    int rc = sqlite__done(c, st, "Declaring a sender");
    if (rc) return rc;
    return sender_event(c, sid, r->sender, "waitingValidation", NULL, r->reason);
}

static int be_sender_get(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT sender, description, status, comment, referer, type, reason, "
                            "created_ms FROM senders WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, sid);
    sqlite__bind_text(st, 2, r->sender);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    store_sender *s = &r->out;
    s->sender = sqlite__col_text(st, 0);
    s->description = sqlite__col_text(st, 1);
    s->status = sqlite__col_text(st, 2);
    s->comment = sqlite__col_text(st, 3);
    s->referer = sqlite__col_text(st, 4);
    s->type = sqlite__col_text(st, 5);
    s->reason = sqlite__col_text(st, 6);
    s->created_ms = sqlite__col_int(st, 7);
    sqlite3_reset(st);
    return 0;
}

static int be_sender_update(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT status FROM senders WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, sid);
    sqlite__bind_text(st, 2, r->sender);
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
    st = sqlite__prep(c, "UPDATE senders SET status = COALESCE(?, status), "
              "description = COALESCE(?, description), comment = COALESCE(?, comment) "
              "WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->status);
    sqlite__bind_text(st, 2, r->description);
    sqlite__bind_text(st, 3, r->comment);
    sqlite__bind_int(st, 4, sid);
    sqlite__bind_text(st, 5, r->sender);
    int rc = sqlite__done(c, st, "Updating a sender");
    if (rc || !r->status || (!r->admin && !strcmp(r->status, cur))) return rc;
    /* A change of status, and every decision of the operator (with its comment). */
    return sender_event(c, sid, r->sender, r->status, r->comment, NULL);
}

static int be_sender_delete(store_conn *c, store_sender_req *r) {
    int64_t sid = sender_service(c, r);
    if (!sid) return SG_ENOTFOUND;
    sqlite3_stmt *st = sqlite__prep(c, "DELETE FROM senders WHERE service_id = ? AND sender = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, sid);
    sqlite__bind_text(st, 2, r->sender);
    int rc = sqlite__done(c, st, "Deleting a sender");
    if (rc) return rc;
    if (!sqlite3_changes(c->db)) return SG_ENOTFOUND;
    return sender_event(c, sid, r->sender, "deleted", NULL, NULL);
}

static json_t *text_or_null(sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? json_string((const char *)t) : json_null();
}

static int be_sender_history(store_conn *c, store_sender_history_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    /* Every name, current or gone, with its current row when there is one. */
    sqlite3_stmt *st = sqlite__prep(c,
        "SELECT n.sender, s.status, s.description, s.reason, s.comment, s.created_ms "
        "FROM (SELECT sender FROM senders WHERE service_id = ?1 UNION "
        "      SELECT sender FROM sender_history WHERE service_id = ?1) n "
        "LEFT JOIN senders s ON s.service_id = ?1 AND s.sender = n.sender ORDER BY n.sender");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, sid);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        int exists = sqlite3_column_type(st, 1) != SQLITE_NULL;
        json_object_set_new(o, "sender", text_or_null(st, 0));
        json_object_set_new(o, "status", exists ? text_or_null(st, 1) : json_string("deleted"));
        json_object_set_new(o, "description", text_or_null(st, 2));
        json_object_set_new(o, "reason", text_or_null(st, 3));
        json_object_set_new(o, "comment", text_or_null(st, 4));
        if (exists) {
            char when[SG_TIME_ISO_LEN];
            sg_time_iso(sqlite__col_int(st, 5), when);
            json_object_set_new(o, "createdAt", json_string(when));
        } else {
            json_object_set_new(o, "createdAt", json_null());
        }
        json_array_append_new(arr, o);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return sqlite__fail(c, "Listing senders");
    }
    st = sqlite__prep(c, "SELECT ts_ms, status, comment, reason FROM sender_history "
                         "WHERE service_id = ? AND sender = ? ORDER BY id");
    if (!st) {
        json_decref(arr);
        return SG_EIO;
    }
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        sqlite__bind_int(st, 1, sid);
        sqlite__bind_text(st, 2, json_string_value(json_object_get(o, "sender")));
        json_t *hist = json_array(), *before = json_array();
        json_t *last_refusal = NULL;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            char when[SG_TIME_ISO_LEN];
            sg_time_iso(sqlite__col_int(st, 0), when);
            const char *status = (const char *)sqlite3_column_text(st, 1);
            json_t *h = json_pack("{s:s, s:s, s:o, s:o}", "datetime", when, "status",
                                  status ? status : "", "comment", text_or_null(st, 2),
                                  "reason", text_or_null(st, 3));
            if (status && !strcmp(status, "refused")) last_refusal = h;
            /* A refusal followed by a deletion: the sender as declared now was refused
             * before, whatever became of it since. */
            if (status && !strcmp(status, "deleted") && last_refusal) {
                json_array_append(before, last_refusal);
                last_refusal = NULL;
            }
            json_array_append_new(hist, h);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            json_decref(hist);
            json_decref(before);
            json_decref(arr);
            return sqlite__fail(c, "Reading the history of a sender");
        }
        json_object_set_new(o, "history", hist);
        json_object_set_new(o, "refusedBefore", before);
    }
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

static int be_sender_list(store_conn *c, store_sender_list_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT sender FROM senders WHERE service_id = ? ORDER BY sender");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    return collect_names(st, &r->names, &r->count);
}

/* ---- sending ---- */

static int be_submit(store_conn *c, store_submit_req *r) {
    if (r->sender_check) {
        sqlite3_stmt *st = sqlite__prep(c, sql_sender_status);
        if (!st) return SG_EIO;
        sqlite__bind_int(st, 1, r->service_id);
        sqlite__bind_text(st, 2, r->sender);
        int row = sqlite3_step(st) == SQLITE_ROW;
        int enabled = row && !strcmp((const char *)sqlite3_column_text(st, 0), "enable");
        sqlite3_reset(st);
        if (!enabled) {
            r->sender_status_bad = row ? 2 : 1;
            return SG_EPERM;
        }
    }
    /* Price each message that names its destination from the store's price table, here in
     * the send's transaction, so a price change is atomic with sends (sqlite_credits.c). */
    int priced = 0;
    int64_t total = 0;
    for (size_t i = 0; i < r->count; i++) {
        store_submit_msg *m = &r->msgs[i];
        if (m->region) {
            int64_t rate;
            int rc = sqlite__credits_rate(c, m->region, &rate, NULL);
            if (rc) return rc;
            m->credits = rate * m->parts;
            priced = 1;
        }
        total += m->credits;
    }
    if (priced) r->total_credits = total;
    int64_t balance = sqlite__balance(c, r->service_id);
    r->balance = balance;
    if (balance < r->total_credits) return SG_ENOCREDIT;

    sqlite3_stmt *st = sqlite__prep(c, sql_send_insert);
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_int(st, 2, r->now_ms);
    sqlite__bind_int(st, 3, r->total_credits);
    sqlite__bind_int(st, 4, (int64_t)r->count);
    int rc = sqlite__done(c, st, "Recording a send");
    if (rc) return rc;
    r->send_id = sqlite3_last_insert_rowid(c->db); /* dialect: the new id */
    if (r->total_credits > 0) {
        char ref[48];
        snprintf(ref, sizeof ref, "send:%lld", (long long)r->send_id);
        if ((rc = sqlite__ledger_append(c, r->service_id, balance, -r->total_credits, "debit", ref, NULL,
                                &r->balance)))
            return rc;
        /* An automatic top-up when this debit crossed the threshold (sqlite_credits.c). */
        if ((rc = sqlite__credits_after_debit(c, r->service_id, balance, &r->balance))) return rc;
    }
    int state = r->due_ms > r->now_ms ? MSG_SCHEDULED : MSG_QUEUED;
    for (size_t i = 0; i < r->count; i++) {
        store_submit_msg *m = &r->msgs[i];
        sqlite_new_msg nm = {.service_id = r->service_id, .send_id = r->send_id,
                             .now_ms = r->now_ms, .due_ms = r->due_ms, .state = state,
                             .sender = r->sender, .receiver = m->receiver, .tag = r->tag,
                             .message = m->message, .message_len = strlen(m->message),
                             .coding = m->coding, .priority = r->priority,
                             .sms_class = r->sms_class, .length = m->length, .parts = m->parts,
                             .credits = m->credits, .validity_min = r->validity_min,
                             .differed_min = r->differed_min};
        if ((rc = sqlite__insert_message(c, &nm, &m->id))) return rc;
    }
    return 0;
}

static int be_msg_get(store_conn *c, store_msg_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, sql_msg_get);
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->id);
    sqlite__bind_int(st, 2, r->service_id);
    sqlite__bind_int(st, 3, r->pending_only);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    sqlite__read_msg((sqldrv_stmt *)st, &r->msg);
    sqlite3_reset(st);
    return 0;
}

static int be_msg_cancel(store_conn *c, store_msg_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, sql_msg_cancel_read);
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->id);
    sqlite__bind_int(st, 2, r->service_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    int state = (int)sqlite__col_int(st, 0);
    int64_t credits = sqlite__col_int(st, 1);
    sqlite3_reset(st);
    if (state == MSG_SUBMITTING) return SG_ECONFLICT;
    if (state != MSG_SCHEDULED && state != MSG_QUEUED) return SG_ENOTFOUND;
    store_status_update u = {.msg_id = r->id, .state = MSG_CANCELLED, .dlr = DLR_ERROR,
                             .ptt = 0, .ts_ms = sg_now_ms()};
    int rc = sqlite__apply_status(c, &u);
    if (rc < 0) return rc;
    return sqlite__refund_message(c, r->id, r->service_id, credits, "cancelled before it was sent",
                          &r->refunded);
}

static int be_msg_delete(store_conn *c, store_msg_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, sql_msg_delete_read);
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->id);
    sqlite__bind_int(st, 2, r->service_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    int state = (int)sqlite__col_int(st, 0);
    sqlite3_reset(st);
    if (msgstate_pending((msg_state)state)) return SG_ECONFLICT;
    st = sqlite__prep(c, sql_msg_delete);
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->id);
    return sqlite__done(c, st, "Deleting a message from history");
}

static int be_outgoing_list(store_conn *c, store_outgoing_filter *f) {
    char sql[1024];
    /* dialect: ?N placeholders, some numbers absent (SQLite); the driver will renumber */
    int n = snprintf(sql, sizeof sql, "SELECT id FROM messages WHERE service_id = ?1 AND "
                                      "deleted = 0 AND %s",
                     f->pending ? "state < 3" : "state BETWEEN 3 AND 6");
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
        return sqlite__fail(c, "Preparing the outgoing list");
    sqlite__bind_int(st, 1, f->service_id);
    if (f->tag) sqlite__bind_text(st, 2, f->tag);
    if (f->receiver) sqlite__bind_text(st, 3, f->receiver);
    if (f->sender) sqlite__bind_text(st, 4, f->sender);
    if (f->ptt >= 0) sqlite__bind_int(st, 5, f->ptt);
    if (f->dlr >= 0) sqlite__bind_int(st, 6, f->dlr);
    if (f->differed >= 0) sqlite__bind_int(st, 7, f->differed);
    if (f->from_ms) sqlite__bind_int(st, 8, f->from_ms);
    if (f->to_ms) sqlite__bind_int(st, 9, f->to_ms);
    size_t cap = 64, k = 0;
    int64_t *ids = sg_xmalloc(cap * sizeof *ids);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) ids = sg_xrealloc(ids, (cap *= 2) * sizeof *ids);
        ids[k++] = sqlite__col_int(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(ids);
        return sqlite__fail(c, "Listing messages");
    }
    f->ids = ids;
    f->count = k;
    return 0;
}

/* ---- dispatch ---- */

static int be_claim(store_conn *c, store_claim_req *r) {
    /* dialect: PostgreSQL appends FOR UPDATE SKIP LOCKED (several nodes claim at once) */
    sqlite3_stmt *st = sqlite__prep(c, sql_msg_due);
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->now_ms);
    sqlite__bind_int(st, 2, (int64_t)r->limit);
    r->msgs = sg_xcalloc(r->limit ? r->limit : 1, sizeof *r->msgs);
    r->count = 0;
    while (r->count < r->limit && sqlite3_step(st) == SQLITE_ROW)
        sqlite__read_msg((sqldrv_stmt *)st, &r->msgs[r->count++]);
    sqlite3_reset(st);
    size_t kept = 0;
    for (size_t i = 0; i < r->count; i++) {
        store_msg *m = &r->msgs[i];
        int rc;
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
        st = sqlite__prep(c, sql_msg_claim);
        if (!st) return SG_EIO;
        sqlite__bind_int(st, 1, r->now_ms + r->lease_ms);
        sqlite__bind_text(st, 2, r->node);
        sqlite__bind_int(st, 3, m->id);
        if ((rc = sqlite__done(c, st, "Claiming a message"))) return rc;
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
        int rc = sqlite__apply_status(c, &r->ups[i]);
        if (rc < 0) return rc;
        r->applied += (size_t)rc;
    }
    return 0;
}

static int be_recover(store_conn *c, store_recover_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, sql_msg_recover);
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->node);
    int rc = sqlite__done(c, st, "Requeueing claimed messages");
    if (rc == 0) r->requeued = (size_t)sqlite3_changes(c->db);
    return rc;
}

/* ---- the simulated operator ---- */

static int be_sim_accept(store_conn *c, store_sim_accept_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT smsc_id FROM sim_messages WHERE message_id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->msg_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(r->smsc_id, sizeof r->smsc_id, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        r->duplicate = 1;
        st = sqlite__prep(c, "UPDATE sim_messages SET submits = submits + 1 WHERE message_id = ?");
        if (!st) return SG_EIO;
        sqlite__bind_int(st, 1, r->msg_id);
        return sqlite__done(c, st, "Counting a duplicate submit in the sim");
    }
    sqlite3_reset(st);
    unsigned char rnd[8];
    sg_random(rnd, sizeof rnd);
    sg_hex(rnd, sizeof rnd, r->smsc_id);
    st = sqlite__prep(c, "INSERT INTO sim_messages(message_id, smsc_id, outcome, due_ms) VALUES (?,?,?,?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->msg_id);
    sqlite__bind_text(st, 2, r->smsc_id);
    sqlite__bind_int(st, 3, r->outcome);
    sqlite__bind_int(st, 4, r->due_ms);
    int rc = sqlite__done(c, st, "Accepting a message in the sim");
    if (rc) return rc;
    store_status_update u = {.msg_id = r->msg_id, .state = MSG_SUBMITTED, .dlr = DLR_SUBMITTED,
                             .ptt = 3, .ts_ms = sg_now_ms(), .route = "sim",
                             .smsc_id = r->smsc_id};
    rc = sqlite__apply_status(c, &u);
    return rc < 0 ? rc : 0;
}

static int be_sim_advance(store_conn *c, store_sim_advance_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT message_id, outcome, step FROM sim_messages "
                            "WHERE done = 0 AND due_ms <= ? ORDER BY due_ms LIMIT ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->now_ms);
    sqlite__bind_int(st, 2, (int64_t)r->limit);
    store_sim_step *steps = sg_xcalloc(r->limit ? r->limit : 1, sizeof *steps);
    size_t n = 0;
    while (n < r->limit && sqlite3_step(st) == SQLITE_ROW) {
        steps[n].msg_id = sqlite__col_int(st, 0);
        steps[n].outcome = (int)sqlite__col_int(st, 1);
        steps[n].step = (int)sqlite__col_int(st, 2);
        n++;
    }
    sqlite3_reset(st);
    int rc = 0;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        sim_transition t;
        sim_transition_for(steps[i].outcome, steps[i].step, &t);
        store_status_update u = {.msg_id = steps[i].msg_id, .state = t.state, .dlr = t.dlr,
                                 .ptt = t.ptt, .ts_ms = r->now_ms};
        rc = sqlite__apply_status(c, &u);
        if (rc < 0) break;
        st = sqlite__prep(c, "UPDATE sim_messages SET step = step + 1, done = ?, due_ms = ?, "
                  "deliveries = deliveries + ? WHERE message_id = ?");
        if (!st) { rc = SG_EIO; break; }
        sqlite__bind_int(st, 1, t.final);
        sqlite__bind_int(st, 2, r->now_ms + t.delay_factor * r->delay_ms);
        sqlite__bind_int(st, 3, t.state == MSG_DELIVERED);
        sqlite__bind_int(st, 4, steps[i].msg_id);
        rc = sqlite__done(c, st, "Advancing the sim");
    }
    free(steps);
    if (rc < 0) return rc;
    r->done = n;
    st = sqlite__prep(c, "SELECT MIN(due_ms) FROM sim_messages WHERE done = 0");
    if (!st) return SG_EIO;
    r->next_due_ms = sqlite3_step(st) == SQLITE_ROW ? sqlite__col_int(st, 0) : 0;
    sqlite3_reset(st);
    return 0;
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = be_open,
    .close = be_close,
    .begin = sqldrv_begin,
    .commit = sqldrv_commit,
    .rollback = sqldrv_rollback,
    .savepoint = sqldrv_savepoint,
    .release = sqldrv_release,
#define BE_FIELD(name, type) .name = be_##name,
    STORE_OPS(BE_FIELD)
#undef BE_FIELD
    .idem_put = sqlite__idem_put,
};
