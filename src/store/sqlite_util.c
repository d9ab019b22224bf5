/*
 * sqlite_util.c - the three primitives of the core tables that every area needs: a service's
 * id by name, its balance (to show, or to append to), and appending to the ledger; and
 * credits as JSON; the reading of a list of ids or of texts (sqlite__read_ids, _read_texts);
 * and the binding of a list of ids or texts as one PostgreSQL array (sqlite__pg_ids,
 * _pg_texts). Written only
 * against the SQL driver (sqldrv.h) and the shared texts of sql_msg.h, so they are the same
 * for every backend.
 *
 * Layering (store.c has the whole picture): calls only the driver (sqldrv_sqlite.c), so every
 * other file of the backend may call it.
 *
 * Invariants:
 *  1. The balance of a service is the `balance` column of its newest ledger row, and that
 *     column is always the previous balance plus `amount` (sqlite__ledger_append is the only
 *     writer of the ledger).
 *  2. Writers of one service's ledger follow each other: on SQLite the store thread runs one
 *     operation at a time on the only writing connection; on PostgreSQL, where several nodes
 *     write at once, each reads the balance it appends to with sqlite__balance_for_write(),
 *     which first locks the service's row until its transaction ends (dialect: a statement
 *     PostgreSQL runs and SQLite does not). The next writer's read waits for that commit and
 *     then sees its row (READ COMMITTED: each statement reads what is committed when it
 *     starts). The lock is sent without waiting for its answer (sqldrv_done: pipelined in a
 *     batch) and the read right behind it: the server runs them in order, so the read still
 *     starts once the lock is held, and both cost one round trip. Never the lock in the
 *     read itself (FOR UPDATE on a query that reads the ledger): a read that waited for the
 *     lock would see the ledger as it was when it started. FOR NO KEY UPDATE, not FOR UPDATE: a send's own rows that reference the
 *     service (sends, ledger) take FOR KEY SHARE on it, which NO KEY UPDATE does not wait
 *     for, so two sends that inserted such a row before locking do not deadlock.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/sql_msg.h"
#include "store/sqldrv.h"
#include "util/util.h"

/* ---- ledger ---- */

json_t *sqlite__credits_json(int64_t milli) {
    return milli % 1000 == 0 ? json_integer(milli / 1000) : json_real((double)milli / 1000.0);
}

int64_t sqlite__balance(store_conn *c, int64_t service_id) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_ledger_balance);
    if (!st) return 0;
    sqldrv_bind_int(st, 1, service_id);
    int64_t b = sqldrv_step(c, st) == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return b;
}

/* dialect: PostgreSQL only (invariant 2). */
const char sqlite__pg_service_lock[] = "SELECT id FROM services WHERE id = $1 FOR NO KEY UPDATE";

int sqlite__balance_for_write(store_conn *c, int64_t service_id, int64_t *balance) {
    sqldrv_stmt *st;
    int rc;
    if (sqldrv_dialect(c) == SQLDRV_POSTGRES) {
        /* Run without waiting for its answer (sqldrv_done: deferred in a batch); the read
         * below starts once the lock is held, so it sees the previous writer's row, and both
         * cost one round trip. A failure is the read's (or the settle's) to report. */
        if (!(st = sqldrv_prep(c, sqlite__pg_service_lock))) return SG_EIO;
        sqldrv_bind_int(st, 1, service_id);
        if ((rc = sqldrv_done(c, st, "Locking a service"))) return rc;
    }
    if (!(st = sqldrv_prep(c, sql_ledger_balance))) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    rc = sqldrv_step(c, st);
    *balance = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}

int sqlite__ledger_append(store_conn *c, int64_t service_id, int64_t before, int64_t amount,
                         const char *kind, const char *ref, const char *note, int64_t *balance) {
    int64_t b = before + amount;
    sqldrv_stmt *st = sqldrv_prep(c, sql_ledger_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_int(st, 2, sg_now_ms());
    sqldrv_bind_int(st, 3, amount);
    sqldrv_bind_int(st, 4, b);
    sqldrv_bind_text(st, 5, kind);
    sqldrv_bind_text(st, 6, ref);
    sqldrv_bind_text(st, 7, note);
    int rc = sqldrv_done(c, st, "Appending to the ledger");
    c->ledger_rows++; /* a send's memo of the balance is stale (store_core_sql.c) */
    if (rc == 0 && amount < 0 && !strcmp(kind, "debit")) /* /metrics: credits debited */
        store__count(c->handoff, STORE_COUNT_DEBITED_MILLI, (uint64_t)-amount);
    if (rc == 0 && balance) *balance = b;
    return rc;
}

/* Appends a ledger row; returns 0 and the new balance in *balance. */
int sqlite__ledger_add(store_conn *c, int64_t service_id, int64_t amount, const char *kind,
                      const char *ref, int64_t *balance) {
    int64_t before;
    int rc = sqlite__balance_for_write(c, service_id, &before);
    if (rc) return rc;
    return sqlite__ledger_append(c, service_id, before, amount, kind, ref, NULL, balance);
}

int64_t sqlite__service_id(store_conn *c, const char *name) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_service_id);
    if (!st) return 0;
    sqldrv_bind_text(st, 1, name);
    int64_t id = sqldrv_step(c, st) == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return id;
}

int sqlite__read_ids(store_conn *c, sqldrv_stmt *st, int64_t **ids, size_t *count) {
    size_t cap = 16;
    *ids = sg_xmalloc(cap * sizeof **ids);
    *count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (*count == cap) *ids = sg_xrealloc(*ids, (cap *= 2) * sizeof **ids);
        (*ids)[(*count)++] = sqldrv_col_int(st, 0);
    }
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}

int sqlite__read_texts(store_conn *c, sqldrv_stmt *st, char ***texts, size_t *count) {
    size_t cap = 8, n = 0;
    char **v = sg_xmalloc(cap * sizeof *v);
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (n == cap) v = sg_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = sqldrv_col_text(st, 0);
    }
    sqldrv_reset(st);
    if (rc < 0) {
        while (n) free(v[--n]);
        free(v);
        return rc;
    }
    *texts = v;
    *count = n;
    return 0;
}

void sqlite__event_params(sqldrv_stmt *st, int64_t msg_id, int64_t service_id, int64_t ts,
                          int state, int dlr, int ptt) {
    sqldrv_bind_int(st, 1, msg_id);
    sqldrv_bind_int(st, 2, service_id);
    sqldrv_bind_int(st, 3, ts);
    sqldrv_bind_int(st, 4, state);
    sqldrv_bind_int(st, 5, dlr);
    sqldrv_bind_int(st, 6, ptt);
}

void sqlite__pg_ids(sqldrv_stmt *st, int i, const int64_t *v, size_t n) {
    sg_buf b = {0};
    sg_buf_add(&b, "{", 1);
    for (size_t k = 0; k < n; k++) {
        char num[24];
        int len = snprintf(num, sizeof num, k ? ",%lld" : "%lld", (long long)v[k]);
        sg_buf_add(&b, num, (size_t)len);
    }
    sg_buf_add(&b, "}", 1);
    sqldrv_bind_text(st, i, b.p); /* copied */
    free(b.p);
}

void sqlite__pg_texts(sqldrv_stmt *st, int i, char *const *texts, size_t n) {
    sg_buf b = {0};
    sg_buf_add(&b, "{", 1);
    for (size_t k = 0; k < n; k++) {
        if (k) sg_buf_add(&b, ",", 1);
        if (!texts[k]) {
            sg_buf_add(&b, "NULL", 4);
            continue;
        }
        sg_buf_add(&b, "\"", 1);
        for (const char *q = texts[k]; *q; q++) {
            if (*q == '"' || *q == '\\') sg_buf_add(&b, "\\", 1);
            sg_buf_add(&b, q, 1);
        }
        sg_buf_add(&b, "\"", 1);
    }
    sg_buf_add(&b, "}", 1);
    sqldrv_bind_text(st, i, b.p); /* copied */
    free(b.p);
}
