/*
 * sqlite_numbers.c - the numbers area of the store (store_numbers.h): virtual numbers,
 * written once against the SQL driver (sqldrv.h) for both dialects; only the migrations
 * differ (two arrays below).
 *
 * Table (migration numbers/1):
 *   virtual_numbers   one row per virtual number: number (E.164 with '+', the primary key,
 *                 so a number belongs to at most one service), service_id, created_ms, and
 *                 sms_response (JSON text of sms.Response for the replies sent to this
 *                 number, NULL = the service's). Written by smsctl number add|remove (the
 *                 admin API), read by the API (/sms/virtualNumbers..., /sms/{sn}/
 *                 virtualNumbers...) and by the attribution of incoming messages
 *                 (sqlite__vnum_service).
 *
 * Invariants:
 *  1. A number is one service's or nobody's: vnum_add never moves a number from a service to
 *     another (SG_ECONFLICT; remove it first), and looks before it inserts (ON CONFLICT DO
 *     NOTHING), so no failed statement aborts a PostgreSQL transaction.
 *  2. Every change of the table raises the configuration epoch (triggers of numbers/1, the
 *     cluster area's function), so a node that caches virtual numbers forgets them within a
 *     heartbeat of a change made on another node (docs/cluster.md). smsgated itself reads
 *     them from the store on each request; the trigger costs only these rare changes.
 *  3. Reads restricted to an account or a service (the customer's API) see the numbers of
 *     that account or service only: another customer's number is "not found", the same
 *     answer as a number that does not exist.
 */
#include "store/sqlite_numbers_int.h"

#include <stdlib.h>
#include <string.h>

#include "store/sqldrv.h"
#include "util/util.h"

const char *const sqlite_numbers_migrations[SQLITE_NUMBERS_MIGRATIONS] = {
    /* 1: virtual numbers, watched by the configuration epoch */
    "CREATE TABLE virtual_numbers ("
    "  number TEXT PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id),"
    "  created_ms INTEGER NOT NULL, sms_response TEXT);"
    "CREATE INDEX virtual_numbers_service ON virtual_numbers(service_id, number);"
    "CREATE TRIGGER config_virtual_numbers_i AFTER INSERT ON virtual_numbers"
    "  BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER config_virtual_numbers_u AFTER UPDATE ON virtual_numbers"
    "  BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER config_virtual_numbers_d AFTER DELETE ON virtual_numbers"
    "  BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; END;",
};

/* dialect: the same table in PostgreSQL's types, with a statement trigger calling the
 * cluster area's smsgate_config_bump(). */
const char *const pg_numbers_migrations[PG_NUMBERS_MIGRATIONS] = {
    /* 1: virtual numbers, watched by the configuration epoch */
    "CREATE TABLE virtual_numbers ("
    "  number TEXT PRIMARY KEY, service_id BIGINT NOT NULL REFERENCES services(id),"
    "  created_ms BIGINT NOT NULL, sms_response TEXT);"
    "CREATE INDEX virtual_numbers_service ON virtual_numbers(service_id, number);"
    "CREATE TRIGGER config_virtual_numbers AFTER INSERT OR UPDATE OR DELETE"
    "  ON virtual_numbers FOR EACH STATEMENT EXECUTE FUNCTION smsgate_config_bump();",
};

/* ---- statements (both dialects) ---- */

#define VNUM_COLS                                                                       \
    "SELECT v.number, v.service_id, s.account_id, s.name, v.created_ms, v.sms_response, "    \
    "a.name FROM virtual_numbers v JOIN services s ON s.id = v.service_id "                  \
    "JOIN accounts a ON a.id = s.account_id "

static const char sql_vnum_get[] =
    VNUM_COLS "WHERE v.number = $1 AND ($2 = 0 OR s.account_id = $2) "
    "AND ($3 = 0 OR v.service_id = $3)";
static const char sql_vnum_insert[] =
    "INSERT INTO virtual_numbers(number, service_id, created_ms, sms_response) "
    "VALUES ($1, $2, $3, NULL) ON CONFLICT (number) DO NOTHING";
static const char sql_vnum_delete[] = "DELETE FROM virtual_numbers WHERE number = $1";
static const char sql_vnum_response[] =
    "UPDATE virtual_numbers SET sms_response = $1 WHERE number = $2";
static const char sql_vnum_service[] =
    "SELECT service_id FROM virtual_numbers WHERE number = $1";
static const char sql_vnum_list[] =
    VNUM_COLS "WHERE ($1 = 0 OR s.account_id = $1) AND ($2 = 0 OR v.service_id = $2) "
    "ORDER BY v.number";
static const char sql_service_of_account[] =
    "SELECT id FROM services WHERE name = $1 AND ($2 = 0 OR account_id = $2)";

static void read_row(sqldrv_stmt *st, store_vnum *v) {
    v->number = sqldrv_col_text(st, 0);
    v->service_id = sqldrv_col_int(st, 1);
    v->account_id = sqldrv_col_int(st, 2);
    v->service = sqldrv_col_text(st, 3);
    v->created_ms = sqldrv_col_int(st, 4);
    v->sms_response = sqldrv_col_text(st, 5);
    v->account = sqldrv_col_text(st, 6);
}

/* The row of number into *v (new), restricted to account_id and service_id (0 = any):
 * 0, SG_ENOTFOUND or SG_EIO. */
static int get_row(store_conn *c, const char *number, int64_t account_id, int64_t service_id,
                   store_vnum *v) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_vnum_get);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, number);
    sqldrv_bind_int(st, 2, account_id);
    sqldrv_bind_int(st, 3, service_id);
    int row = sqldrv_step(c, st);
    if (row == 1) read_row(st, v);
    sqldrv_reset(st);
    return row == 1 ? 0 : row == 0 ? SG_ENOTFOUND : row;
}

/* The id of the service named name visible to account_id (0 = any), 0 if none, or an SG_E* code. */
static int64_t service_of(store_conn *c, const char *name, int64_t account_id) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_service_of_account);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, name);
    sqldrv_bind_int(st, 2, account_id);
    int row = sqldrv_step(c, st);
    int64_t id = row == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return row < 0 ? row : id;
}

int64_t sqlite__vnum_service(store_conn *c, const char *number) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_vnum_service);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, number);
    int row = sqldrv_step(c, st);
    int64_t id = row == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return row < 0 ? row : id;
}

int sqlite__vnum_add(store_conn *c, store_vnum_req *r) {
    r->created = 0;
    int64_t sid = service_of(c, r->service, r->account_id);
    if (sid < 0) return (int)sid;
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, sql_vnum_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->number);
    sqldrv_bind_int(st, 2, sid);
    sqldrv_bind_int(st, 3, r->now_ms);
    int rc = sqldrv_done(c, st, "Adding a virtual number");
    if (rc) return rc;
    r->created = sqldrv_changes(c) > 0;
    rc = get_row(c, r->number, 0, 0, &r->vnum);
    if (rc) return rc == SG_ENOTFOUND ? SG_EIO : rc;
    return r->vnum.service_id == sid ? 0 : SG_ECONFLICT;
}

int sqlite__vnum_get(store_conn *c, store_vnum_req *r) {
    return get_row(c, r->number, r->account_id, r->service_id, &r->vnum);
}

int sqlite__vnum_remove(store_conn *c, store_vnum_req *r) {
    int rc = get_row(c, r->number, r->account_id, r->service_id, &r->vnum);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_vnum_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->number);
    return sqldrv_done(c, st, "Removing a virtual number");
}

int sqlite__vnum_response(store_conn *c, store_vnum_req *r) {
    store_vnum old = {0};
    int rc = get_row(c, r->number, r->account_id, r->service_id, &old);
    store_vnum_fini(&old);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_vnum_response);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->sms_response);
    sqldrv_bind_text(st, 2, r->number);
    rc = sqldrv_done(c, st, "Setting a virtual number's smsResponse");
    if (rc) return rc;
    return get_row(c, r->number, 0, 0, &r->vnum);
}

int sqlite__vnum_list(store_conn *c, store_vnum_list_req *r) {
    int64_t sid = 0;
    if (r->service) {
        sid = service_of(c, r->service, r->account_id);
        if (sid < 0) return (int)sid;
        if (!sid) return SG_ENOTFOUND;
    }
    sqldrv_stmt *st = sqldrv_prep(c, sql_vnum_list);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->account_id);
    sqldrv_bind_int(st, 2, sid);
    size_t cap = 0;
    int row;
    while ((row = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) {
            cap = cap ? cap * 2 : 8;
            r->items = sg_xrealloc(r->items, cap * sizeof *r->items);
        }
        memset(&r->items[r->count], 0, sizeof r->items[0]);
        read_row(st, &r->items[r->count++]);
    }
    sqldrv_reset(st);
    if (row < 0) {
        store_vnum_list_fini(r);
        return row;
    }
    return 0;
}
