/*
 * sqlite.c - the embedded SQLite backend of store.h, its SQLite-specific top: the connection
 * (open, pragmas, migrations, close) and the backend table that names every operation's
 * implementation. The operations themselves are written against the SQL driver (sqldrv.h)
 * and shared by every backend: the core tables' in store_core_sql.c, the areas' in their
 * sqlite_<area>.c.
 *
 * Every operation runs on the store thread, inside the batch transaction opened by store.c,
 * each inside its own savepoint. The database is in WAL mode with synchronous=FULL, so a
 * COMMIT returns only once the WAL is fsynced: what the API answered is on disk.
 *
 * Layering (store.c has the whole picture): this is the top of the backend. It reaches every
 * operation through the table it fills (store_core_sql.c for the core tables, the areas'
 * files for theirs), runs schema_sqlite.c's migrations, and names sqldrv_sqlite.c's batch
 * transaction and savepoints directly; none of them calls it.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqldrv.h"
#include "store/sqlite_int.h"
#include "store/store_core_sql_int.h"
#include "store/sqlite_credits_int.h"
#include "store/sqlite_notify_int.h"
#include "store/sqlite_routes_int.h"
#include "store/sqlite_limits_int.h"
#include "store/sqlite_campaigns_int.h"
#include "store/sqlite_idem_int.h"
#include "store/sqlite_numbers_int.h"
#include "store/sqlite_incoming_int.h"
#include "store/sqlite_sim_int.h"
#include "store/sqlite_blacklist_int.h"
#include "store/sqlite_hours_int.h"
#include "store/store_metrics_int.h"
#include "store/sqlite_users_int.h"
#include "store/sqlite_hlr_int.h"
#include "store/sqlite_phonebooks_int.h"
#include "store/sqlite_export_int.h"
#include "store/sqlite_ops_int.h"
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

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = be_open,
    .close = be_close,
    .begin = sqldrv_begin,
    .commit = sqldrv_commit,
    .rollback = sqldrv_rollback,
    .savepoint = sqldrv_savepoint,
    .unsaved = sqldrv_unsaved,
    .release = sqldrv_release,
#define BE_FIELD(name, type) .name = be_##name,
    STORE_OPS(BE_FIELD)
#undef BE_FIELD
    .idem_put = sqlite__idem_put,
};
