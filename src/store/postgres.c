/*
 * postgres.c - the PostgreSQL backend of store.h: the connection (open: connect, migrations;
 * close) and the backend table, which runs the same operation functions as the SQLite
 * backend (store.c's essay, "A second backend").
 *
 * Design. An operation written against the SQL driver (sqldrv.h) runs on either driver, so
 * this backend has no operations of its own: its table is SQLite's (store_sqlite_backend,
 * every operation by the same function) with its own open and close; the transaction and
 * savepoint entries are the driver's calls, which dispatch on the connection. Every
 * operation is written against the driver (scripts/check-store-layers checks it), so the
 * table needs nothing else.
 *
 * Migrations. The areas of schema_pg.h (pg_areas, the same areas as SQLite's), each with its
 * version in schema_versions, all applied in one transaction that first takes a
 * transaction-scoped advisory lock: nodes starting at the same instant on an empty database
 * wait for each other, and the ones after the first find every version up to date, so each
 * migration runs once. A migration that fails rolls every one of them back and the node does
 * not start.
 *
 * Layering (store.c has the whole picture): called by store.c (store__postgres_backend);
 * calls the driver (sqldrv_pg.c for the session, sqldrv.h for statements), the schema
 * (schema_pg.c), and reads sqlite.c's table and sqlite_notify.c's close of its cache.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema_pg.h"
#include "store/sqldrv.h"
#include "store/sqldrv_conn.h"
#include "store/sqldrv_pg.h"
#include "store/sqlite_notify_int.h"
#include "store/store_int.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "store.pg"
/* The advisory lock of migrations: any number, the same for every node ("smsg"). */
#define MIGRATION_LOCK "1936552807"

/* ---- migrations ---- */

static const char sql_version[] = "SELECT version FROM schema_versions WHERE area = $1";
static const char sql_set_version[] =
    "INSERT INTO schema_versions(area, version) VALUES ($1, $2) "
    "ON CONFLICT (area) DO UPDATE SET version = excluded.version";

/* Applies, in one transaction under the advisory lock, every migration not yet applied. */
static int migrate(store_conn *c) {
    int rc = sqldrv_begin(c);
    if (rc) return rc;
    if ((rc = sqldrv_pg__exec(c, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")",
                              "Taking the migrations' lock")) ||
        (rc = sqldrv_pg__exec(c, "CREATE TABLE IF NOT EXISTS schema_versions ("
                                 "area TEXT PRIMARY KEY, version BIGINT NOT NULL)",
                              "Creating schema_versions")))
        goto fail;
    for (const pg_area *a = pg_areas; a->name; a++) {
        sqldrv_stmt *st = sqldrv_prep(c, sql_version);
        sqldrv_bind_text(st, 1, a->name);
        rc = sqldrv_step(c, st);
        if (rc < 0) goto fail;
        int version = rc == 1 ? (int)sqldrv_col_int(st, 0) : 0;
        sqldrv_reset(st);
        for (int v = version; v < a->count; v++) {
            char what[96];
            snprintf(what, sizeof what, "Schema migration %s/%d", a->name, v + 1);
            if ((rc = sqldrv_pg__exec(c, a->migrations[v], what))) goto fail;
            st = sqldrv_prep(c, sql_set_version);
            sqldrv_bind_text(st, 1, a->name);
            sqldrv_bind_int(st, 2, v + 1);
            if ((rc = sqldrv_done(c, st, "Recording a schema version"))) goto fail;
            sg_log_info(LOG, "Applied schema migration %s/%d.", a->name, v + 1);
        }
    }
    if ((rc = sqldrv_commit(c)) == 0) return 0;
fail:
    sqldrv_rollback(c);
    return rc == SG_EUNAVAIL ? rc : SG_EIO;
}

/* ---- lifecycle ---- */

static int pg_open(const char *conninfo, store_handoff *handoff, store_conn **out) {
    store_conn *c = sg_xcalloc(1, sizeof *c);
    c->dialect = SQLDRV_POSTGRES;
    c->handoff = handoff;
    int rc = sqldrv_pg__connect(c, conninfo);
    if (rc == 0 && (rc = migrate(c)) != 0) sqldrv_pg__close(c);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void pg_close(store_conn *c) {
    sqlite__notify_close(c);
    sqldrv_pg__close(c);
    free(c);
}

/* NOTIFY at the batch's commit (store.h, wake_others; received by store/pg_listen.c). */
static int pg_wake_others(store_conn *c, const char *instance) {
    static const char sql[] = "SELECT pg_notify('" STORE_WAKE_CHANNEL "', $1)";
    sqldrv_stmt *st = sqldrv_prep(c, sql);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, instance);
    int rc = sqldrv_step(c, st);
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}

void store__postgres_backend(store_backend *be) {
    *be = store_sqlite_backend; /* the operations: the same functions (above) */
    be->name = "postgres";
    be->open = pg_open;
    be->close = pg_close;
    be->wake_others = pg_wake_others;
}
