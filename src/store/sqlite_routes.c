/*
 * sqlite_routes.c - the routes area of the SQLite backend (store_routes.h): the route table,
 * and the memory of the SMPP routes.
 *
 * Tables:
 *   routes        one row per route; `version` moves on every change so that the dispatcher
 *                 rebuilds exactly the routes that changed. The first migration seeds the
 *                 `sim` route (catch-all, priority 1000): a fresh install sends through it.
 *   smpp_ids      operator message id -> (message, part, parts). Each id is stored once,
 *                 under the first key of opid_keys() (core/opid.h); a receipt is looked up
 *                 under each of its keys, so one that spells the id differently (hex/decimal,
 *                 case, leading zeros) still finds it. (Rows written by versions before
 *                 2026-11-28 also have "n:" keys: never looked up, pruned with the rest.)
 *   smpp_parts    the latest receipt of each part of a message sent through SMPP.
 *   smpp_orphans  receipts whose id was not known yet (the receipt overtook the commit of the
 *                 submit_sm_resp, or came from another route): applied by the accept that
 *                 stores the id.
 *   smpp_mo       mobile-originated messages, until the incoming area (sqlite_incoming.c) took
 *                 them over: no longer written, its rows moved into `incoming`.
 *
 * Aggregation of a multi-part message's receipts (applied through sqlite__apply_status, so the
 * message's state still only moves forward and final states stay final): one part's state is
 * the message's state; several parts add up by msgstate_parts_result() (core/msgstate.h:
 * enroute until all are final, then delivered or failed), so a multi-part message is reported
 * final exactly once, when its last part is final.
 *
 * Invariants:
 *  1. smpp_accept writes the ids and the `submitted` state in the same transaction.
 *  2. A receipt is either applied to its message or kept in smpp_orphans, never dropped.
 *  3. A part's recorded state only moves forward (final part states are sticky).
 *
 * Its statements run through the SQL driver only (sqldrv.h) and their texts are accepted by
 * both dialects; the migrations are SQLite's (PostgreSQL's: schema_pg.c).
 *
 * Several nodes (PostgreSQL). The receipts of one message may arrive on binds held by
 * different nodes at once: apply_part locks the message's row first (dialect: FOR NO KEY
 * UPDATE, PostgreSQL only; SQLite has one writer), so that the parts of a message are read
 * and aggregated by one transaction at a time and its last part is seen final by exactly one.
 * orphans_possible() remembers "no orphans" only for SQLite: on PostgreSQL another node may
 * have kept one.
 */
#include "store/sqlite_routes_int.h"

#include "store/sqldrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/msgstate.h"
#include "core/opid.h"
#include "util/log.h"
#include "util/util.h"

#define DAY_MS (24LL * 3600 * 1000)
#define IDS_KEEP_MS (7 * DAY_MS)     /* ids older than this are pruned */
#define ORPHANS_KEEP_MS (2 * DAY_MS) /* unmatched receipts older than this are pruned */
#define PRUNE_EVERY 5000             /* accepted messages between two prunes */
#define PRUNE_CHUNK 5000             /* oldest ids looked at per round of a prune */
#define PRUNE_ROUNDS 8               /* rounds per prune at most (multi-part messages write
                                        several ids per accept) */

const char *const sqlite_routes_migrations[SQLITE_ROUTES_MIGRATIONS] = {
    /* 1: routes and the SMPP routes' memory */
    "CREATE TABLE routes ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    "  host TEXT NOT NULL DEFAULT '', port INTEGER NOT NULL DEFAULT 0,"
    "  system_id TEXT NOT NULL DEFAULT '', password TEXT NOT NULL DEFAULT '',"
    "  system_type TEXT NOT NULL DEFAULT '', binds INTEGER NOT NULL DEFAULT 1,"
    "  bind_mode INTEGER NOT NULL DEFAULT 0, win INTEGER NOT NULL DEFAULT 10,"
    "  tps INTEGER NOT NULL DEFAULT 0, tls INTEGER NOT NULL DEFAULT 0,"
    "  tls_verify INTEGER NOT NULL DEFAULT 1, tls_ca TEXT NOT NULL DEFAULT '',"
    "  prefixes TEXT NOT NULL DEFAULT '', priority INTEGER NOT NULL DEFAULT 100,"
    "  weight INTEGER NOT NULL DEFAULT 1, enabled INTEGER NOT NULL DEFAULT 1,"
    "  concat INTEGER NOT NULL DEFAULT 0, pack7 INTEGER NOT NULL DEFAULT 0,"
    "  registered_delivery INTEGER NOT NULL DEFAULT 1, version INTEGER NOT NULL DEFAULT 1,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "INSERT INTO routes(name, kind, priority, created_ms, updated_ms)"
    "  VALUES ('sim', 'sim', 1000, 0, 0);"
    "CREATE TABLE smpp_ids ("
    "  id INTEGER PRIMARY KEY, route TEXT NOT NULL, idkey TEXT NOT NULL,"
    "  message_id INTEGER NOT NULL, part INTEGER NOT NULL, nparts INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX smpp_ids_route_key ON smpp_ids(route, idkey);"
    "CREATE INDEX smpp_ids_key ON smpp_ids(idkey);"
    "CREATE TABLE smpp_parts ("
    "  message_id INTEGER NOT NULL, part INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  dlr INTEGER NOT NULL, ptt INTEGER NOT NULL, PRIMARY KEY(message_id, part));"
    "CREATE TABLE smpp_orphans ("
    "  id INTEGER PRIMARY KEY, rid INTEGER NOT NULL, route TEXT NOT NULL,"
    "  idkey TEXT NOT NULL, smsc_id TEXT NOT NULL, state INTEGER NOT NULL,"
    "  dlr INTEGER NOT NULL, ptt INTEGER NOT NULL, ts_ms INTEGER NOT NULL,"
    "  received_ms INTEGER NOT NULL);"
    "CREATE INDEX smpp_orphans_key ON smpp_orphans(route, idkey);"
    "CREATE TABLE smpp_mo ("
    "  id INTEGER PRIMARY KEY, route TEXT NOT NULL, source TEXT NOT NULL,"
    "  destination TEXT NOT NULL, message TEXT NOT NULL, data_coding INTEGER NOT NULL,"
    "  received_ms INTEGER NOT NULL);",
    /* 2: one index of operator ids: a lookup on the route reads the rows of its key (almost
     * always one) through smpp_ids_key and checks the route, so (route, idkey) only cost a
     * b-tree insert per id */
    "DROP INDEX smpp_ids_route_key;",
};

/* ---- the route table ---- */

#define ROUTE_COLS                                                                         \
    "name, kind, host, port, system_id, password, system_type, binds, bind_mode, win, tps, " \
    "tls, tls_verify, tls_ca, prefixes, priority, weight, enabled, concat, pack7, "        \
    "registered_delivery, version, created_ms, updated_ms"

static void read_route(sqldrv_stmt *st, store_route *r) {
    int i = 0;
    r->name = sqldrv_col_text(st, i++);
    r->kind = sqldrv_col_text(st, i++);
    r->host = sqldrv_col_text(st, i++);
    r->port = (int)sqldrv_col_int(st, i++);
    r->system_id = sqldrv_col_text(st, i++);
    r->password = sqldrv_col_text(st, i++);
    r->system_type = sqldrv_col_text(st, i++);
    r->binds = (int)sqldrv_col_int(st, i++);
    r->bind_mode = (int)sqldrv_col_int(st, i++);
    r->window = (int)sqldrv_col_int(st, i++);
    r->tps = (int)sqldrv_col_int(st, i++);
    r->tls = (int)sqldrv_col_int(st, i++);
    r->tls_verify = (int)sqldrv_col_int(st, i++);
    r->tls_ca = sqldrv_col_text(st, i++);
    r->prefixes = sqldrv_col_text(st, i++);
    r->priority = (int)sqldrv_col_int(st, i++);
    r->weight = (int)sqldrv_col_int(st, i++);
    r->enabled = (int)sqldrv_col_int(st, i++);
    r->concat = (int)sqldrv_col_int(st, i++);
    r->pack7 = (int)sqldrv_col_int(st, i++);
    r->registered_delivery = (int)sqldrv_col_int(st, i++);
    r->version = sqldrv_col_int(st, i++);
    r->created_ms = sqldrv_col_int(st, i++);
    r->updated_ms = sqldrv_col_int(st, i++);
}

/* Binds the 21 configurable columns (name .. registered_delivery) from index first. */
static void bind_route(sqldrv_stmt *st, int first, const store_route *r) {
    int i = first;
    sqldrv_bind_text(st, i++, r->name);
    sqldrv_bind_text(st, i++, r->kind ? r->kind : "smpp");
    sqldrv_bind_text(st, i++, r->host ? r->host : "");
    sqldrv_bind_int(st, i++, r->port);
    sqldrv_bind_text(st, i++, r->system_id ? r->system_id : "");
    sqldrv_bind_text(st, i++, r->password ? r->password : "");
    sqldrv_bind_text(st, i++, r->system_type ? r->system_type : "");
    sqldrv_bind_int(st, i++, r->binds);
    sqldrv_bind_int(st, i++, r->bind_mode);
    sqldrv_bind_int(st, i++, r->window);
    sqldrv_bind_int(st, i++, r->tps);
    sqldrv_bind_int(st, i++, r->tls);
    sqldrv_bind_int(st, i++, r->tls_verify);
    sqldrv_bind_text(st, i++, r->tls_ca ? r->tls_ca : "");
    sqldrv_bind_text(st, i++, r->prefixes ? r->prefixes : "");
    sqldrv_bind_int(st, i++, r->priority);
    sqldrv_bind_int(st, i++, r->weight);
    sqldrv_bind_int(st, i++, r->enabled);
    sqldrv_bind_int(st, i++, r->concat);
    sqldrv_bind_int(st, i++, r->pack7);
    sqldrv_bind_int(st, i++, r->registered_delivery);
}

int sqlite__route_list(store_conn *c, store_route_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT " ROUTE_COLS " FROM routes ORDER BY priority, name");
    if (!st) return SG_EIO;
    size_t cap = 8;
    r->routes = sg_xcalloc(cap, sizeof *r->routes);
    r->count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) {
            r->routes = sg_xrealloc(r->routes, (cap *= 2) * sizeof *r->routes);
            memset(r->routes + r->count, 0, (cap - r->count) * sizeof *r->routes);
        }
        read_route(st, &r->routes[r->count++]);
    }
    sqldrv_reset(st);
    if (rc < 0) {
        store_route_list_fini(r);
        return sqldrv_fail(c, "Listing routes");
    }
    return 0;
}

int sqlite__route_get(store_conn *c, store_route_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT " ROUTE_COLS " FROM routes WHERE name = $1");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    if (sqldrv_step(c, st) != 1) {
        sqldrv_reset(st);
        return SG_ENOTFOUND;
    }
    read_route(st, &r->route);
    sqldrv_reset(st);
    return 0;
}

int sqlite__route_put(store_conn *c, store_route_req *r) {
    int64_t now = sg_now_ms();
    sqldrv_stmt *st;
    if (r->create) {
        st = sqldrv_prep(c, "INSERT INTO routes(name, kind, host, port, system_id, password, "
                             "system_type, binds, bind_mode, win, tps, tls, tls_verify, tls_ca, "
                             "prefixes, priority, weight, enabled, concat, pack7, "
                             "registered_delivery, created_ms, updated_ms) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                             "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23)");
        if (!st) return SG_EIO;
        bind_route(st, 1, &r->route);
        sqldrv_bind_int(st, 22, now);
        sqldrv_bind_int(st, 23, now);
        return sqldrv_done(c, st, "Adding a route");
    }
    st = sqldrv_prep(c, "UPDATE routes SET name = $1, kind = $2, host = $3, port = $4, "
                         "system_id = $5, password = $6, system_type = $7, binds = $8, "
                         "bind_mode = $9, win = $10, tps = $11, tls = $12, tls_verify = $13, "
                         "tls_ca = $14, prefixes = $15, priority = $16, weight = $17, "
                         "enabled = $18, concat = $19, pack7 = $20, registered_delivery = $21, "
                         "version = version + 1, updated_ms = $22 WHERE name = $1");
    if (!st) return SG_EIO;
    bind_route(st, 1, &r->route);
    sqldrv_bind_int(st, 22, now);
    int rc = sqldrv_done(c, st, "Changing a route");
    if (rc) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

int sqlite__route_remove(store_conn *c, store_route_req *r) {
    if (!strcmp(r->name, "sim")) return SG_EPERM;
    sqldrv_stmt *st = sqldrv_prep(c, "DELETE FROM routes WHERE name = $1");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    int rc = sqldrv_done(c, st, "Removing a route");
    if (rc) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

/* ---- receipts and their aggregation ---- */

/* dialect: PostgreSQL only, several nodes: the message's row locked until the transaction
 * ends, before its parts are read (the essay, "Several nodes"). */
static const char pg_msg_lock[] = "SELECT id FROM messages WHERE id = $1 FOR NO KEY UPDATE";

/* Records a part's receipt and moves the message to the aggregate state. A message of one
 * part has no smpp_parts row: its own state is the part's, and sqlite__apply_status already
 * moves it only forward. */
static int apply_part(store_conn *c, int64_t msg_id, int part, int nparts, int state, int dlr,
                      int ptt, int64_t ts) {
    if (nparts <= 1) {
        store_status_update one = {.msg_id = msg_id, .state = (msg_state)state, .dlr = dlr,
                                   .ptt = ptt, .ts_ms = ts};
        int rc = sqlite__apply_status(c, &one);
        return rc < 0 ? rc : 0;
    }
    sqldrv_stmt *st;
    if (sqldrv_dialect(c) == SQLDRV_POSTGRES) {
        if (!(st = sqldrv_prep(c, pg_msg_lock))) return SG_EIO;
        sqldrv_bind_int(st, 1, msg_id);
        int rc = sqldrv_step(c, st);
        sqldrv_reset(st);
        if (rc < 0) return rc; /* logged by the driver; no row: the message is gone */
    }
    st = sqldrv_prep(c, "SELECT state FROM smpp_parts WHERE message_id = $1 AND part = $2");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, msg_id);
    sqldrv_bind_int(st, 2, part);
    int old = sqldrv_step(c, st) == 1 ? (int)sqldrv_col_int(st, 0) : -1;
    sqldrv_reset(st);
    if (!msgstate_part_newer(old, state)) return 0; /* stale or repeated */
    st = sqldrv_prep(c, "INSERT INTO smpp_parts(message_id, part, state, dlr, ptt) "
                         "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id, part) DO UPDATE "
                         "SET state = excluded.state, dlr = excluded.dlr, ptt = excluded.ptt");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, msg_id);
    sqldrv_bind_int(st, 2, part);
    sqldrv_bind_int(st, 3, state);
    sqldrv_bind_int(st, 4, dlr);
    sqldrv_bind_int(st, 5, ptt);
    int rc = sqldrv_done(c, st, "Recording a part's receipt");
    if (rc) return rc;

    store_status_update u = {.msg_id = msg_id, .state = (msg_state)state, .dlr = dlr,
                             .ptt = ptt, .ts_ms = ts};
    if (nparts > 1) {
        st = sqldrv_prep(c, "SELECT state, dlr, ptt FROM smpp_parts WHERE message_id = $1 "
                             "ORDER BY part");
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, msg_id);
        msgstate_parts parts;
        msgstate_parts_init(&parts, nparts);
        while (sqldrv_step(c, st) == 1)
            msgstate_parts_add(&parts, (int)sqldrv_col_int(st, 0), (int)sqldrv_col_int(st, 1),
                               (int)sqldrv_col_int(st, 2));
        sqldrv_reset(st);
        msgstate_parts_result(&parts, &u.state, &u.dlr, &u.ptt);
    }
    rc = sqlite__apply_status(c, &u);
    return rc < 0 ? rc : 0;
}

/* Finds the message part of an operator id: on the route first, then on any route. Returns 1
 * and fills the outputs, 0 when unknown, or an SG_E* code. */
static int find_id(store_conn *c, const char *route, const char *smsc_id, int64_t *msg_id,
                   int *part, int *nparts) {
    char keys[OPID_KEYS][OPID_KEY_LEN];
    int nk = opid_keys(smsc_id, keys);
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < nk; k++) {
            /* The id as written (k = 0) names its message whatever its state (a repeated
             * receipt is then ignored as stale). Another spelling (k > 0: the id read in the
             * other base) names only a message still waiting for its receipt: decimal ids
             * from 4097 on are also the hexadecimal spellings of earlier ids ("4097" = 0x1001),
             * and a receipt that overtook its own id's commit took the receipt of that earlier,
             * long delivered message instead, and was lost (two nodes on PostgreSQL: 5 % of
             * the final callbacks of bench/compare.mjs); now it is kept until its id comes. */
            static const char *const texts[2][2] = {
                {"SELECT message_id, part, nparts FROM smpp_ids "
                 "WHERE idkey = $1 AND route = $2 ORDER BY id DESC LIMIT 1",
                 "SELECT message_id, part, nparts FROM smpp_ids "
                 "WHERE idkey = $1 AND route != $2 ORDER BY id DESC LIMIT 1"},
                {"SELECT i.message_id, i.part, i.nparts FROM smpp_ids i "
                 "JOIN messages m ON m.id = i.message_id WHERE i.idkey = $1 AND i.route = $2 "
                 "AND m.state < $3 ORDER BY i.id DESC LIMIT 1",
                 "SELECT i.message_id, i.part, i.nparts FROM smpp_ids i "
                 "JOIN messages m ON m.id = i.message_id WHERE i.idkey = $1 AND i.route != $2 "
                 "AND m.state < $3 ORDER BY i.id DESC LIMIT 1"}};
            sqldrv_stmt *st = sqldrv_prep(c, texts[k > 0][pass]);
            if (!st) return SG_EIO;
            sqldrv_bind_text(st, 1, keys[k]);
            sqldrv_bind_text(st, 2, route);
            if (k > 0) sqldrv_bind_int(st, 3, MSG_DELIVERED);
            if (sqldrv_step(c, st) == 1) {
                *msg_id = sqldrv_col_int(st, 0);
                *part = (int)sqldrv_col_int(st, 1);
                *nparts = (int)sqldrv_col_int(st, 2);
                sqldrv_reset(st);
                return 1;
            }
            sqldrv_reset(st);
        }
    }
    return 0;
}

/* Keeps a receipt whose id is not known yet, under the id's stored key (smpp_id_keys): the
 * accept that stores a matching id looks for it under each of that id's keys. */
static int keep_orphan(store_conn *c, const store_smpp_receipt_item *r) {
    char keys[OPID_KEYS][OPID_KEY_LEN];
    if (opid_keys(r->smsc_id, keys) == 0) return 0;
    sqldrv_stmt *st = sqldrv_prep(c, "INSERT INTO smpp_orphans(rid, route, idkey, smsc_id, "
                                       "state, dlr, ptt, ts_ms, received_ms) "
                                       "VALUES (0, $1, $2, $3, $4, $5, $6, $7, $8)"
                                       SQLDRV_RETURNING_ID);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->route);
    sqldrv_bind_text(st, 2, keys[0]);
    sqldrv_bind_text(st, 3, r->smsc_id);
    sqldrv_bind_int(st, 4, r->state);
    sqldrv_bind_int(st, 5, r->dlr);
    sqldrv_bind_int(st, 6, r->ptt);
    sqldrv_bind_int(st, 7, r->ts_ms);
    sqldrv_bind_int(st, 8, sg_now_ms());
    int64_t rid;
    int rc = sqldrv_insert(c, st, "Keeping an unmatched receipt", &rid);
    if (rc) return rc;
    /* rid names the receipt (rows of earlier versions: one per key, sharing it) */
    st = sqldrv_prep(c, "UPDATE smpp_orphans SET rid = id WHERE id = $1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, rid);
    return sqldrv_done(c, st, "Keeping an unmatched receipt");
}

/* dialect: PostgreSQL. The receipt of a message of one part, matched by its id's first key on
 * its route (find_id's first try) and applied with one round trip: the message is locked
 * first (sent without waiting), then one read finds it and reads its status row
 * (sqlite__apply_status_row). The read locks it too: should a newer id of that key have come
 * between the two (another node's accept), the message it names is the one locked. */
static const char pg_receipt_lock[] =
    "SELECT id FROM messages WHERE id = (SELECT message_id FROM smpp_ids WHERE idkey = $1 AND "
    "route = $2 ORDER BY id DESC LIMIT 1) FOR NO KEY UPDATE";
static const char pg_receipt_read[] =
    "SELECT i.message_id, i.part, i.nparts, " SQLITE_PG_STATUS_COLS
    "FROM smpp_ids i JOIN messages m ON m.id = i.message_id "
    "LEFT JOIN services s ON s.id = m.service_id WHERE i.idkey = $1 AND i.route = $2 "
    "ORDER BY i.id DESC LIMIT 1 FOR NO KEY UPDATE OF m";

/* The one-round-trip receipt above: 1 applied (matched), 0 when it does not apply (no such id
 * under the first key on the route, or a message of several parts: the caller goes the
 * general way), or an SG_E* code. */
static int receipt_pg(store_conn *c, store_smpp_receipt_item *x) {
    char keys[OPID_KEYS][OPID_KEY_LEN];
    if (opid_keys(x->smsc_id, keys) == 0) return 0;
    sqldrv_stmt *st = sqldrv_prep(c, pg_receipt_lock);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, keys[0]);
    sqldrv_bind_text(st, 2, x->route);
    int rc = sqldrv_done(c, st, "Locking a message");
    if (rc) return rc;
    if (!(st = sqldrv_prep(c, pg_receipt_read))) return SG_EIO;
    sqldrv_bind_text(st, 1, keys[0]);
    sqldrv_bind_text(st, 2, x->route);
    if ((rc = sqldrv_step(c, st)) != 1) return rc;
    if (sqldrv_col_int(st, 2) > 1) {
        sqldrv_reset(st);
        return 0;
    }
    store_status_update u = {.msg_id = sqldrv_col_int(st, 0), .state = (msg_state)x->state,
                             .dlr = x->dlr, .ptt = x->ptt, .ts_ms = x->ts_ms};
    sqlite_status_row row = {0};
    sqlite__status_row_read(c, st, 3, &row);
    sqldrv_reset(st);
    rc = sqlite__apply_status_row(c, &u, &row);
    sqlite__status_row_fini(&row);
    return rc < 0 ? rc : 1;
}

/* dialect: PostgreSQL. The receipts of an operation at once (receipts_read_pg): every
 * message named by the first key of a receipt's id on the first receipt's route, read with
 * its status row as pg_receipt_read does one, locked in id order (the rows are locked as the
 * sort hands them out: sqlite__status_batch_read). */
static const char pg_receipts_read[] =
    "SELECT i.message_id, i.idkey, i.part, i.nparts, " SQLITE_PG_STATUS_COLS
    "FROM (SELECT DISTINCT ON (idkey) idkey, message_id, part, nparts FROM smpp_ids "
    "WHERE route = $1 AND idkey = ANY($2::text[]) ORDER BY idkey, id DESC) i "
    "JOIN messages m ON m.id = i.message_id LEFT JOIN services s ON s.id = m.service_id "
    "ORDER BY m.id FOR NO KEY UPDATE OF m";

/* dialect: PostgreSQL. Statement sql prepared with route $1 and the array of keys $2 bound;
 * NULL when it could not be prepared. */
static sqldrv_stmt *prep_route_keys(store_conn *c, const char *sql, const char *route,
                                    char *const *keys, size_t n) {
    sqldrv_stmt *st = sqldrv_prep(c, sql);
    if (st) {
        sqldrv_bind_text(st, 1, route);
        sqlite__pg_texts(st, 2, keys, n);
    }
    return st;
}

/* Reads into b the messages of r's receipts whose route is the first one's (see above). */
static int receipts_read_pg(store_conn *c, store_smpp_receipt_req *r, sqlite_status_batch *b) {
    char **keys = sg_xcalloc(r->count, sizeof *keys);
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++) {
        char k[OPID_KEYS][OPID_KEY_LEN];
        if (strcmp(r->items[i].route, r->items[0].route) || opid_keys(r->items[i].smsc_id, k) == 0)
            continue;
        keys[n++] = sg_xstrdup(k[0]);
    }
    int rc = 0;
    if (n) {
        const char *route = r->items[0].route;
        sqldrv_stmt *read = prep_route_keys(c, pg_receipts_read, route, keys, n);
        rc = read ? sqlite__status_batch_read(c, read, b) : SG_EIO;
    }
    while (n) free(keys[--n]);
    free(keys);
    return rc;
}

/* A receipt of a message of one part read by receipts_read_pg, applied: 1, 0 when b has none
 * for it (or it has several parts, or was changed already in this operation: the caller goes
 * one of the other ways), or an SG_E* code. */
static int receipt_from_batch(store_conn *c, sqlite_status_batch *b, store_smpp_receipt_item *x) {
    char keys[OPID_KEYS][OPID_KEY_LEN];
    if (!b->n || opid_keys(x->smsc_id, keys) == 0) return 0;
    sqlite_status_one *o = sqlite__status_batch_find(b, 0, keys[0]);
    if (!o || o->used || o->nparts > 1) return 0;
    o->used = 1;
    store_status_update u = {.msg_id = o->msg_id, .state = (msg_state)x->state, .dlr = x->dlr,
                             .ptt = x->ptt, .ts_ms = x->ts_ms};
    int rc = sqlite__apply_status_row(c, &u, &o->row);
    return rc < 0 ? rc : 1;
}

int sqlite__smpp_receipt(store_conn *c, store_smpp_receipt_req *r) {
    sqlite_status_batch b = {0};
    sqlite_status_defer d;
    if (sqldrv_dialect(c) == SQLDRV_POSTGRES && r->count > 1) {
        int rc = receipts_read_pg(c, r, &b);
        if (rc) {
            sqlite__status_batch_fini(&b);
            return rc;
        }
        sqlite__status_defer_begin(c, &d); /* the batch's changes in one statement */
    }
    int rc = 0;
    for (size_t i = 0; i < r->count; i++) {
        store_smpp_receipt_item *x = &r->items[i];
        int64_t msg_id;
        int part, nparts;
        c->applied_sent_ms = x->sent_ms = 0;
        if (!strcmp(x->route, r->items[0].route) && (rc = receipt_from_batch(c, &b, x)) != 0) {
            if (rc < 0) break;
            x->matched = 1;
            x->sent_ms = c->applied_sent_ms;
            continue;
        }
        /* the ways below read messages afresh: they see the changes kept so far */
        if ((rc = sqlite__status_flush(c))) break;
        if (sqldrv_dialect(c) == SQLDRV_POSTGRES && (rc = receipt_pg(c, x)) != 0) {
            if (rc < 0) break;
            x->matched = 1;
            x->sent_ms = c->applied_sent_ms;
            continue;
        }
        rc = find_id(c, x->route, x->smsc_id, &msg_id, &part, &nparts);
        if (rc < 0) break;
        x->matched = rc;
        rc = rc ? apply_part(c, msg_id, part, nparts, x->state, x->dlr, x->ptt, x->ts_ms)
                : keep_orphan(c, x);
        if (rc) break;
        x->sent_ms = c->applied_sent_ms;
    }
    rc = sqlite__status_defer_end(c, rc);
    sqlite__status_batch_fini(&b);
    return rc < 0 ? rc : 0;
}

/* Applies and forgets the receipts that were waiting for key on route. */
static int adopt_orphans(store_conn *c, const char *route, const char *key, int64_t msg_id,
                         int part, int nparts, size_t *applied) {
    for (;;) {
        sqldrv_stmt *st = sqldrv_prep(c, "SELECT rid, state, dlr, ptt, ts_ms FROM smpp_orphans "
                                           "WHERE route = $1 AND idkey = $2 ORDER BY id LIMIT 1");
        if (!st) return SG_EIO;
        sqldrv_bind_text(st, 1, route);
        sqldrv_bind_text(st, 2, key);
        if (sqldrv_step(c, st) != 1) {
            sqldrv_reset(st);
            return 0;
        }
        int64_t rid = sqldrv_col_int(st, 0);
        int state = (int)sqldrv_col_int(st, 1), dlr = (int)sqldrv_col_int(st, 2);
        int ptt = (int)sqldrv_col_int(st, 3);
        int64_t ts = sqldrv_col_int(st, 4);
        sqldrv_reset(st);
        int rc = apply_part(c, msg_id, part, nparts, state, dlr, ptt, ts);
        if (rc) return rc;
        st = sqldrv_prep(c, "DELETE FROM smpp_orphans WHERE rid = $1");
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, rid);
        if ((rc = sqldrv_done(c, st, "Forgetting an applied receipt"))) return rc;
        (*applied)++;
    }
}

/* One page of the sweep: up to 64 kept receipts after *cursor, applied when their id is known
 * by now. *cursor moves past the page, or back to 0 after the last page. */
static int sweep_page(store_conn *c, int64_t since_ms, int64_t *cursor, int *seen,
                      size_t *applied) {
    typedef struct kept {
        int64_t id, rid, ts;
        int state, dlr, ptt;
        char *route, *smsc_id;
    } kept;
    kept k[64];
    int n = 0, rc = 0;
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT id, rid, route, smsc_id, state, dlr, ptt, ts_ms "
                                       "FROM smpp_orphans WHERE received_ms >= $1 AND id > $2 "
                                       "ORDER BY id LIMIT 64");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, since_ms);
    sqldrv_bind_int(st, 2, *cursor);
    while (n < 64 && sqldrv_step(c, st) == 1) {
        k[n] = (kept){.id = sqldrv_col_int(st, 0), .rid = sqldrv_col_int(st, 1),
                      .route = sqldrv_col_text(st, 2), .smsc_id = sqldrv_col_text(st, 3),
                      .state = (int)sqldrv_col_int(st, 4), .dlr = (int)sqldrv_col_int(st, 5),
                      .ptt = (int)sqldrv_col_int(st, 6), .ts = sqldrv_col_int(st, 7)};
        n++;
    }
    sqldrv_reset(st);
    *seen = n;
    *cursor = n < 64 ? 0 : k[n - 1].id;
    for (int i = 0; i < n && rc == 0; i++) {
        int64_t msg_id;
        int part, nparts;
        rc = find_id(c, k[i].route ? k[i].route : "", k[i].smsc_id ? k[i].smsc_id : "",
                     &msg_id, &part, &nparts);
        if (rc <= 0) continue; /* still unknown (or an error, returned below) */
        if ((rc = apply_part(c, msg_id, part, nparts, k[i].state, k[i].dlr, k[i].ptt, k[i].ts)))
            break;
        if (!(st = sqldrv_prep(c, "DELETE FROM smpp_orphans WHERE rid = $1"))) {
            rc = SG_EIO;
            break;
        }
        sqldrv_bind_int(st, 1, k[i].rid);
        if ((rc = sqldrv_done(c, st, "Forgetting an applied receipt"))) break;
        (*applied)++;
    }
    for (int i = 0; i < n; i++) {
        free(k[i].route);
        free(k[i].smsc_id);
    }
    return rc < 0 ? rc : 0;
}

/* Pages through the kept receipts from *cursor on, so that receipts whose message is still
 * unknown (a receipt for another system, or whose acceptance is not committed yet) do not hide
 * the ones behind them: a sweep that always read the 64 oldest left every later receipt kept
 * until it aged out once more than 64 were waiting (two nodes at 2,000 messages/s). */
int sqlite__smpp_orphans_sweep(store_conn *c, int64_t since_ms, int limit, int64_t *cursor,
                               size_t *applied) {
    *applied = 0;
    for (int done = 0; done < limit;) {
        int seen = 0;
        int rc = sweep_page(c, since_ms, cursor, &seen, applied);
        if (rc) return rc;
        done += seen;
        if (*cursor == 0) break; /* the last page: the next sweep starts from the oldest */
    }
    return 0;
}

/* Forgets operator ids older than IDS_KEEP_MS. Ids are written in time order, so the old ones
 * are the first rows: each round looks at the PRUNE_CHUNK oldest rows only (a filter on
 * created_ms alone scanned the whole table, millions of rows, every PRUNE_EVERY accepts). An
 * id written out of order (the clock stepped back) only waits for a later prune. */
static int prune(store_conn *c) {
    int64_t now = sg_now_ms();
    sqldrv_stmt *st;
    int rc;
    for (int round = 0; round < PRUNE_ROUNDS; round++) {
        st = sqldrv_prep(c, "DELETE FROM smpp_ids WHERE id IN (SELECT id FROM (SELECT id, "
                             "created_ms FROM smpp_ids ORDER BY id LIMIT $1) AS oldest "
                             "WHERE created_ms < $2)");
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, PRUNE_CHUNK);
        sqldrv_bind_int(st, 2, now - IDS_KEEP_MS);
        if ((rc = sqldrv_done(c, st, "Pruning old operator ids"))) return rc;
        if (sqldrv_changes(c) < PRUNE_CHUNK) break;
    }
    st = sqldrv_prep(c, "DELETE FROM smpp_orphans WHERE received_ms < $1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, now - ORPHANS_KEEP_MS);
    return sqldrv_done(c, st, "Pruning unmatched receipts");
}

/* Whether smpp_orphans may hold rows. Looking for orphans costs one query per id key of every
 * accepted message, and the table is almost always empty: one look per acceptance batch says
 * whether to. Not remembered on the connection: another node (or another process on the same
 * database) keeps the receipts that reach its binds before the acceptance this node stores
 * (docs/cluster.md), and an acceptance that trusted "none since my last look" would leave
 * them unmatched. */
static int orphans_possible(store_conn *c) {
    /* EXISTS is a boolean in PostgreSQL: read as an integer in both */
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT CASE WHEN EXISTS (SELECT 1 FROM smpp_orphans) "
                                       "THEN 1 ELSE 0 END");
    if (!st) return 1;
    int any = sqldrv_step(c, st) != 1 || sqldrv_col_int(st, 0) != 0;
    sqldrv_reset(st);
    return any;
}

/* dialect: PostgreSQL. The messages of an operation's accepts, read with their status rows
 * and locked in id order (sqlite__status_batch_read): one wait for all of them. */
static const char pg_accepts_read[] =
    "SELECT m.id, NULL, 0, 0, " SQLITE_PG_STATUS_COLS
    "FROM messages m LEFT JOIN services s ON s.id = m.service_id "
    "WHERE m.id = ANY($1::bigint[]) ORDER BY m.id FOR NO KEY UPDATE OF m";

static int accepts_read_pg(store_conn *c, const store_smpp_accept_req *r,
                           sqlite_status_batch *b) {
    int64_t *ids = sg_xmalloc(r->count * sizeof *ids);
    for (size_t i = 0; i < r->count; i++) ids[i] = r->items[i].msg_id;
    sqldrv_stmt *read = sqldrv_prep(c, pg_accepts_read);
    int rc = SG_EIO;
    if (read) {
        sqlite__pg_ids(read, 1, ids, r->count);
        rc = sqlite__status_batch_read(c, read, b);
    }
    free(ids);
    return rc;
}

/* The accept's status change u: from the row read with the others (PostgreSQL, when it was
 * read and not changed yet in this operation), else read now. 1 applied, 0 stale or no such
 * message, or an SG_E* code. */
static int accept_status(store_conn *c, sqlite_status_batch *b, int batched,
                         const store_status_update *u) {
    if (!batched) return sqlite__apply_status(c, u);
    sqlite_status_one *o = sqlite__status_batch_find(b, u->msg_id, NULL);
    if (!o) return 0; /* as status_read: no such message (deleted) */
    if (o->used) return sqlite__apply_status(c, u);
    o->used = 1;
    return sqlite__apply_status_row(c, u, &o->row);
}

/* dialect: PostgreSQL. Which of the keys $2 have receipts waiting on route $1: one query for
 * an operation's accepts, where looking for each key of each accepted id was one each (two
 * nodes: receipts that reach one node before the other's accept commits leave orphans, and
 * while any is left every accept looked: 50 round trips per operation, docs/benchmarks.md). */
static const char pg_orphan_keys[] =
    "SELECT DISTINCT idkey FROM smpp_orphans WHERE route = $1 AND idkey = ANY($2::text[])";

/* The keys of r's accepts on the first one's route that have orphans (new in *found, *nfound):
 * the others need no look. 0 or an SG_E* code. */
static int orphan_keys_pg(store_conn *c, const store_smpp_accept_req *r, char ***found,
                          size_t *nfound) {
    size_t cap = 16, n = 0;
    char **keys = sg_xmalloc(cap * sizeof *keys);
    for (size_t i = 0; i < r->count; i++) {
        const store_smpp_accept_item *a = &r->items[i];
        if (strcmp(a->route, r->items[0].route)) continue;
        for (size_t p = 0; p < a->nparts; p++) {
            char k[OPID_KEYS][OPID_KEY_LEN];
            int nk = opid_keys(a->smsc_ids[p], k);
            for (int j = 0; j < nk; j++) {
                if (n == cap) keys = sg_xrealloc(keys, (cap *= 2) * sizeof *keys);
                keys[n++] = sg_xstrdup(k[j]);
            }
        }
    }
    int rc = 0;
    *found = NULL;
    *nfound = 0;
    if (n) {
        sqldrv_stmt *st = prep_route_keys(c, pg_orphan_keys, r->items[0].route, keys, n);
        rc = st ? sqlite__read_texts(c, st, found, nfound) : SG_EIO;
    }
    while (n) free(keys[--n]);
    free(keys);
    return rc;
}

/* Whether key (of an accept on route) may have orphans: always without the list, else when it
 * is in it (route: the list's). */
static int orphans_of(char **found, size_t nfound, int listed, const char *route,
                      const char *first_route, const char *key) {
    if (!listed || strcmp(route, first_route)) return 1;
    for (size_t i = 0; i < nfound; i++)
        if (!strcmp(found[i], key)) return 1;
    return 0;
}

int sqlite__smpp_accept(store_conn *c, store_smpp_accept_req *r) {
    int rc;
    int orphans = orphans_possible(c);
    char **found = NULL;
    size_t nfound = 0;
    int listed = orphans && sqldrv_dialect(c) == SQLDRV_POSTGRES && r->count > 1;
    if (listed && (rc = orphan_keys_pg(c, r, &found, &nfound)) != 0) return rc;
    sqlite_status_batch b = {0};
    sqlite_status_defer d;
    int batched = sqldrv_dialect(c) == SQLDRV_POSTGRES && r->count > 1;
    if (batched && (rc = accepts_read_pg(c, r, &b)) != 0) goto out;
    if (batched) sqlite__status_defer_begin(c, &d); /* the changes in one statement */
    for (size_t i = 0; i < r->count; i++) {
        const store_smpp_accept_item *a = &r->items[i];
        store_status_update u = {.msg_id = a->msg_id, .state = MSG_SUBMITTED,
                                 .dlr = DLR_SUBMITTED, .ptt = 3, .ts_ms = a->ts_ms,
                                 .route = a->route,
                                 .smsc_id = a->nparts ? a->smsc_ids[0] : NULL};
        if ((rc = accept_status(c, &b, batched, &u)) < 0) goto out;
        for (size_t p = 0; p < a->nparts; p++) {
            char keys[OPID_KEYS][OPID_KEY_LEN];
            int nk = opid_keys(a->smsc_ids[p], keys);
            /* stored under its first key; lookups try every key */
            if (nk > 0 && (rc = sqlite__defer_smpp_id(c, a->route, keys[0], a->msg_id,
                                                      (int64_t)p, (int64_t)a->nparts,
                                                      a->ts_ms)))
                goto out;
            for (int k = 0; orphans && k < nk; k++)
                if (orphans_of(found, nfound, listed, a->route, r->items[0].route, keys[k]) &&
                    ((rc = sqlite__status_flush(c)) ||
                     (rc = adopt_orphans(c, a->route, keys[k], a->msg_id, (int)p,
                                         (int)a->nparts, &r->orphans))))
                    goto out;
        }
    }
    if ((rc = sqlite__status_defer_end(c, 0))) goto out;
    c->since_prune += r->count;
    if (c->since_prune >= PRUNE_EVERY) {
        c->since_prune = 0;
        rc = prune(c);
    }
out:
    rc = sqlite__status_defer_end(c, rc);
    sqlite__status_batch_fini(&b);
    while (nfound) free(found[--nfound]);
    free(found);
    return rc < 0 ? rc : 0;
}

/* The priorities are spelled out so that each is one range of messages_due (due_ms > now):
 * only the rows due in the future are read, never the backlog that is due now. */
int sqlite__retry_waiting(store_conn *c, store_retry_waiting_req *r) {
#define RETRY_WAITING(queued)                                                                \
    "SELECT COALESCE(route, ''), COUNT(*), MIN(due_ms) FROM messages WHERE " queued           \
    "priority IN (0, 1, 2, 3) AND due_ms > $1 AND state < 3 AND state = 1 AND retries > 0 "  \
    "GROUP BY 1 ORDER BY 1"
    /* dialect: messages_due's predicate is the column queued on PostgreSQL (core/4) */
    sqldrv_stmt *st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES
                                         ? RETRY_WAITING("queued AND ")
                                         : RETRY_WAITING(""));
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    size_t cap = 4;
    r->items = sg_xcalloc(cap, sizeof *r->items);
    r->count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) r->items = sg_xrealloc(r->items, (cap *= 2) * sizeof *r->items);
        store_retry_wait *w = &r->items[r->count++];
        w->route = sqldrv_col_text(st, 0);
        w->count = sqldrv_col_int(st, 1);
        w->next_ms = sqldrv_col_int(st, 2);
    }
    sqldrv_reset(st);
    if (rc < 0) {
        store_retry_waiting_fini(r);
        return sqldrv_fail(c, "Counting the messages waiting on a retry");
    }
    return 0;
}
