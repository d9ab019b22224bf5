/*
 * store_metrics_sql.c - the gauges of /metrics that only the database knows, and the
 * readiness probe's question "does the database answer" (store_metrics.h).
 *
 * Written once against the SQL driver (sqldrv.h) for both backends. Each statement is one
 * aggregate over rows a partial index already selects (messages_due: state < 3, on
 * PostgreSQL queued; notify_open: state != 1), so a scrape costs what the queues hold, not
 * what the history holds. SUM() of nothing is NULL, hence the COALESCE; PostgreSQL's SUM is
 * numeric, which the driver reads as an integer.
 *
 * Layering: calls only the driver.
 */
#include "store/store_metrics_int.h"

#include "store/sqldrv.h"
#include "util/util.h"

/* $1: now. Due: scheduled or queued and due; held: scheduled or queued for later (deferred,
 * held by marketing hours, waiting for a retry); in flight: claimed (submitting). */
#define SQL_QUEUE(queued)                                                                    \
    "SELECT COALESCE(SUM(CASE WHEN state < 2 AND due_ms <= $1 THEN 1 ELSE 0 END), 0) AS due, " \
    "COALESCE(SUM(CASE WHEN state < 2 AND due_ms > $1 THEN 1 ELSE 0 END), 0) AS held, "       \
    "COALESCE(SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END), 0) AS in_flight "                  \
    "FROM messages WHERE " queued "state < 3"
static const char sql_queue[] = SQL_QUEUE("");
/* dialect: messages_due's predicate is the column queued on PostgreSQL (schema_pg.c, core/4) */
static const char sql_queue_pg[] = SQL_QUEUE("queued AND ");

/* notify_calls: state 0 PENDING, 2 DEAD (sqlite_notify.c) */
static const char sql_callbacks[] =
    "SELECT COALESCE(SUM(CASE WHEN state = 0 THEN 1 ELSE 0 END), 0) AS pending, "
    "COALESCE(SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END), 0) AS dead "
    "FROM notify_calls WHERE state != 1";

static const char sql_ping[] = "SELECT 1";

int store_metrics__read(store_conn *c, store_metrics_read_req *r) {
    sqldrv_stmt *st;
    int rc;
    if (!r->gauges) {
        if (!(st = sqldrv_prep(c, sql_ping))) return SG_EIO;
        rc = sqldrv_step(c, st);
        sqldrv_reset(st);
        return rc == 1 ? 0 : rc < 0 ? rc : SG_EIO;
    }
    if (!(st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES ? sql_queue_pg : sql_queue)))
        return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    if ((rc = sqldrv_step(c, st)) == 1) {
        r->due = sqldrv_col_int(st, 0);
        r->held = sqldrv_col_int(st, 1);
        r->in_flight = sqldrv_col_int(st, 2);
    }
    sqldrv_reset(st);
    if (rc != 1) return rc < 0 ? rc : SG_EIO;
    if (!(st = sqldrv_prep(c, sql_callbacks))) return SG_EIO;
    if ((rc = sqldrv_step(c, st)) == 1) {
        r->callbacks_pending = sqldrv_col_int(st, 0);
        r->callbacks_dead = sqldrv_col_int(st, 1);
    }
    sqldrv_reset(st);
    return rc == 1 ? 0 : rc < 0 ? rc : SG_EIO;
}
