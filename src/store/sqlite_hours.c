/*
 * sqlite_hours.c - the marketing hours area (store_hours.h), written once against the SQL
 * driver (sqldrv.h) for both dialects; only the migrations differ (two arrays below).
 *
 * Table (migration hours/1):
 *   marketing_hours   one row per destination country with hours: enabled (0 = "off"), the
 *                 days of the week allowed (bits, Monday first), the local window [from_min,
 *                 to_min), the time zone's name and the public holidays that are off. Seeded
 *                 with France's default: Monday to Saturday, 08:00-20:00 Europe/Paris, French
 *                 public holidays off. A country without a row has no hours.
 *
 * The table is configuration: a trigger raises config_epoch (cluster area) on every change,
 * so that every node reloads its copy (dispatch/hours_table.c) within the epoch's poll.
 *
 * The hold (sqlite__hours_hold) is a status change of the dispatcher's batch: a claimed
 * marketing SMS whose destination is outside its hours goes back to `scheduled`, due at the
 * next allowed minute. Later claims skip it with the same query and index as any deferred
 * message (messages_due, due_ms > now): a backlog of held SMS costs nothing until it is due.
 *
 * A change of hours releases the SMS held before it (sql_hours_release): a held SMS is the only
 * kind that is scheduled later than it was asked for (created_ms + differed_min; a retry
 * requeues as queued, a differed job is due when asked), so each is made due again at the end
 * of the epoch's propagation (HOURS_RELEASE_MS from now, never before it was asked for); when
 * it is claimed, the dispatcher holds it again under the new hours, or sends it. Turning a
 * country off thus sends what it held, and narrowing or widening the hours moves it. Cost: one
 * more claim per held SMS per change, for an operator's action.
 *
 * Invariants:
 *  1. A row's from_min < to_min, days != 0 and tz non-empty: the API checks them before
 *     hours_set (core/hours.c parses), and hours_set only writes what it was given.
 *  2. The hold touches a message only while it is claimed (state submitting): a message
 *     cancelled or taken over meanwhile is left alone.
 */
#include "store/sqlite_hours_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqldrv.h"
#include "util/util.h"

#define HOURS_TABLE                                                                          \
    "  country TEXT PRIMARY KEY, enabled INTEGER NOT NULL, days INTEGER NOT NULL,"           \
    "  from_min INTEGER NOT NULL, to_min INTEGER NOT NULL, tz TEXT NOT NULL,"                \
    "  holidays INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL DEFAULT 0);"
/* France: Monday-Saturday (0x3f), 08:00-20:00, French public holidays (1) off. */
#define HOURS_SEED                                                                           \
    "INSERT INTO marketing_hours(country, enabled, days, from_min, to_min, tz, holidays,"    \
    "  updated_ms) VALUES ('fr', 1, 63, 480, 1200, 'Europe/Paris', 1, 0);"

const char *const sqlite_hours_migrations[SQLITE_HOURS_MIGRATIONS] = {
    /* 1: marketing hours per destination country, France's default, the epoch's triggers */
    "CREATE TABLE marketing_hours (" HOURS_TABLE HOURS_SEED
    "CREATE TRIGGER config_marketing_hours_i AFTER INSERT ON marketing_hours"
    " BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER config_marketing_hours_u AFTER UPDATE ON marketing_hours"
    " BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER config_marketing_hours_d AFTER DELETE ON marketing_hours"
    " BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; END;",
};

/* dialect: the same table in PostgreSQL's types; one statement trigger with the cluster
 * area's function. */
const char *const pg_hours_migrations[PG_HOURS_MIGRATIONS] = {
    /* 1: as SQLite's hours/1 */
    "CREATE TABLE marketing_hours ("
    "  country TEXT PRIMARY KEY, enabled BIGINT NOT NULL, days BIGINT NOT NULL,"
    "  from_min BIGINT NOT NULL, to_min BIGINT NOT NULL, tz TEXT NOT NULL,"
    "  holidays BIGINT NOT NULL DEFAULT 0, updated_ms BIGINT NOT NULL DEFAULT 0);" HOURS_SEED
    "CREATE TRIGGER config_marketing_hours AFTER INSERT OR UPDATE OR DELETE ON marketing_hours"
    " FOR EACH STATEMENT EXECUTE FUNCTION smsgate_config_bump();",
};

static const char sql_hours_all[] =
    "SELECT country, enabled, days, from_min, to_min, tz, holidays, updated_ms "
    "FROM marketing_hours ORDER BY country";

static const char sql_hours_one[] =
    "SELECT country, enabled, days, from_min, to_min, tz, holidays, updated_ms "
    "FROM marketing_hours WHERE country = $1";

static const char sql_hours_upsert[] =
    "INSERT INTO marketing_hours(country, enabled, days, from_min, to_min, tz, holidays, "
    "updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (country) DO UPDATE SET "
    "enabled = excluded.enabled, days = excluded.days, from_min = excluded.from_min, "
    "to_min = excluded.to_min, tz = excluded.tz, holidays = excluded.holidays, "
    "updated_ms = excluded.updated_ms";

static const char sql_hours_hold[] =
    "UPDATE messages SET state = 0, due_ms = $1, "
    "expires_ms = CASE WHEN expires_ms IS NULL THEN NULL ELSE expires_ms + ($1 - due_ms) END, "
    "lease_ms = NULL, lease_owner = NULL WHERE id = $2 AND state = 2";

/* Held SMS are released this long after a change: by then every node has reloaded the hours
 * (the epoch is polled every 500 ms), so none holds them again by the old ones. */
#define HOURS_RELEASE_MS 2000

static const char sql_hours_release[] =
    "UPDATE messages SET due_ms = CASE WHEN created_ms + differed_min * 60000 > $1 "
    "THEN created_ms + differed_min * 60000 ELSE $1 END "
    "WHERE state = 0 AND stop_clause = 1 AND due_ms > $1 "
    "AND due_ms > created_ms + differed_min * 60000";

static void read_row(sqldrv_stmt *st, store_hours_row *r) {
    memset(r, 0, sizeof *r);
    const char *cc = sqldrv_col_str(st, 0);
    snprintf(r->country, sizeof r->country, "%s", cc ? cc : "");
    r->enabled = sqldrv_col_int(st, 1) != 0;
    r->days = (unsigned)sqldrv_col_int(st, 2);
    r->from_min = (int)sqldrv_col_int(st, 3);
    r->to_min = (int)sqldrv_col_int(st, 4);
    r->tz = sqldrv_col_text(st, 5);
    if (!r->tz) r->tz = sg_xstrdup("");
    r->holidays = (int)sqldrv_col_int(st, 6);
    r->updated_ms = sqldrv_col_int(st, 7);
}

int sqlite__hours_list(store_conn *c, store_hours_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_hours_all);
    if (!st) return SG_EIO;
    size_t cap = 8;
    r->rows = sg_xcalloc(cap, sizeof *r->rows);
    r->count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) r->rows = sg_xrealloc(r->rows, (cap *= 2) * sizeof *r->rows);
        read_row(st, &r->rows[r->count++]);
    }
    if (rc < 0) return rc; /* what was read is freed by store_hours_list_fini */
    return 0;
}

int sqlite__hours_set(store_conn *c, store_hours_set_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_hours_one);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->country);
    int rc = sqldrv_step(c, st);
    if (rc < 0) return rc;
    store_hours_row row;
    if (rc == 1) {
        read_row(st, &row);
        sqldrv_reset(st);
    } else {
        if (r->set_enabled && !r->enabled && !r->set_days && !r->set_window && !r->tz &&
            !r->set_holidays) {
            /* "off" for a country without hours: nothing to store */
            memset(&r->row, 0, sizeof r->row);
            snprintf(r->row.country, sizeof r->row.country, "%s", r->country);
            r->row.tz = sg_xstrdup("");
            r->absent = 1;
            return 0;
        }
        if (!r->tz) return SG_EINVAL;
        memset(&row, 0, sizeof row);
        snprintf(row.country, sizeof row.country, "%s", r->country);
        row.enabled = 1;
        row.days = 0x3f;
        row.from_min = 8 * 60;
        row.to_min = 20 * 60;
        row.tz = sg_xstrdup(r->tz);
        r->created = 1;
    }
    if (r->set_enabled) row.enabled = r->enabled != 0;
    if (r->set_days) row.days = r->days;
    if (r->set_window) {
        row.from_min = r->from_min;
        row.to_min = r->to_min;
    }
    if (r->tz) {
        free(row.tz);
        row.tz = sg_xstrdup(r->tz);
    }
    if (r->set_holidays) row.holidays = r->holidays;
    row.updated_ms = r->now_ms;
    st = sqldrv_prep(c, sql_hours_upsert);
    if (!st) {
        store_hours_row_fini(&row);
        return SG_EIO;
    }
    sqldrv_bind_text(st, 1, row.country);
    sqldrv_bind_int(st, 2, row.enabled);
    sqldrv_bind_int(st, 3, row.days);
    sqldrv_bind_int(st, 4, row.from_min);
    sqldrv_bind_int(st, 5, row.to_min);
    sqldrv_bind_text(st, 6, row.tz);
    sqldrv_bind_int(st, 7, row.holidays);
    sqldrv_bind_int(st, 8, row.updated_ms);
    rc = sqldrv_done(c, st, "Setting a country's marketing hours");
    if (rc) {
        store_hours_row_fini(&row);
        return rc;
    }
    r->row = row;
    st = sqldrv_prep(c, sql_hours_release);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms + HOURS_RELEASE_MS);
    if ((rc = sqldrv_done(c, st, "Releasing the SMS held by the previous marketing hours")))
        return rc;
    r->released = sqldrv_changes(c);
    return 0;
}

int sqlite__hours_hold(store_conn *c, const store_status_update *u) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_hours_hold);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, u->hold_until_ms);
    sqldrv_bind_int(st, 2, u->msg_id);
    int rc = sqldrv_done(c, st, "Holding a marketing SMS until its destination's hours");
    if (rc) return rc;
    return sqldrv_changes(c) > 0 ? 1 : 0;
}
