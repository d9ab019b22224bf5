/*
 * store_cluster_sql.c - the cluster area (store_cluster.h): nodes, heartbeats, bind slots and
 * the configuration epoch, written once against the SQL driver (sqldrv.h) for both dialects;
 * only the migrations differ (two arrays below).
 *
 * Nodes. A node's row is keyed by its name (config `node`, default the host name) and owned
 * by one instance, a random id drawn at each process start. node_register takes the row with
 * one conditional upsert (INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE the old owner is
 * this instance, stopped, dead, silent for the takeover timeout, or the previous instance of
 * this node's data directory, which cluster.c knows ended): rows changed 0 means another live
 * instance holds the name, and the start is refused. Two nodes starting at once
 * under one name cannot both win: the second upsert sees the first's fresh row.
 *
 *      (none) --register--> running --node_stop--> stopped --register--> running
 *                              |  ^
 *   another node's heartbeat,  |  +--register (this name, after the timeout or by the same
 *   heartbeat older than the   |     instance)
 *   timeout (reap())           v
 *                            dead --register--> running
 *
 * Takeover (reap()). Each heartbeat looks for running nodes whose heartbeat is older than the
 * timeout; the one heartbeat that marks such a node dead (a conditional UPDATE, so only one
 * node wins it) puts its submitting messages back in the queue and releases its callback
 * leases. Its bind slots need nothing: their leases end by themselves. A node declared dead
 * finds its heartbeat refused (the UPDATE matches only a running row of its instance): it has
 * stopped dispatching long before (cluster/cluster.c fences at half the timeout) and must
 * restart, its work having been handed to the others.
 *
 * Bind slots. A route's binds N are N rows (route, slot). A node takes a slot with a
 * conditional UPDATE (free, expired or already its own) and checks the rows changed, which is
 * safe under concurrency in both dialects without locking anything else; it renews the slots
 * it holds with each heartbeat (lease: the takeover timeout) and gives up those it was asked
 * to release. Spread: a node holds at most ceil(N / live nodes), counted at each heartbeat;
 * surplus slots are not released here but reported (share), so that the node closes their
 * binds first and releases them in a later heartbeat: two nodes never hold one bind's slot
 * at once, and the operator never sees more than N binds.
 *
 * Invariants:
 *  1. A slot has at most one holder whose lease has not ended; a node opens a bind only for a
 *     slot it holds, and closes it before the lease ends when it cannot renew (cluster.c).
 *  2. A node's work (messages being submitted, callbacks being made) is taken over once, by
 *     the heartbeat that marks it dead, and never while it is running with a fresh heartbeat.
 *  3. No trigger watches a table written on the send path (messages, events, ledger, sends,
 *     notify_calls): raising the epoch costs only configuration changes.
 */
#include "store/store_cluster_int.h"
#include "store/sqlite_routes_int.h" /* the receipts' sweep (written against the driver) */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/sqldrv.h"
#include "util/util.h"

/* dialect: triggers. SQLite has row triggers only, one per table and kind of statement; the
 * counter is the one row of config_epoch. Credentials count only when a column the API
 * caches changes (and on delete); new keys, senders and services are never cached before
 * they exist, so their INSERTs need no bump. */
#define BUMP " BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; END;"
#define SQLITE_WATCH_IUD(t)                                                       \
    "CREATE TRIGGER config_" t "_i AFTER INSERT ON " t BUMP                        \
    "CREATE TRIGGER config_" t "_u AFTER UPDATE ON " t BUMP                        \
    "CREATE TRIGGER config_" t "_d AFTER DELETE ON " t BUMP
#define SQLITE_WATCH_UD(t)                                                        \
    "CREATE TRIGGER config_" t "_u AFTER UPDATE ON " t BUMP                        \
    "CREATE TRIGGER config_" t "_d AFTER DELETE ON " t BUMP

const char *const sqlite_cluster_migrations[SQLITE_CLUSTER_MIGRATIONS] = {
    /* 1: nodes, bind slots, the configuration epoch and its triggers */
    "CREATE TABLE nodes ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, instance TEXT NOT NULL,"
    "  address TEXT NOT NULL DEFAULT '', version TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL, started_ms INTEGER NOT NULL, heartbeat_ms INTEGER NOT NULL,"
    "  stopped_ms INTEGER);"
    "CREATE TABLE bind_slots ("
    "  route TEXT NOT NULL, slot INTEGER NOT NULL, holder TEXT,"
    "  until_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (route, slot));"
    "CREATE TABLE config_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);"
    "INSERT INTO config_epoch(id, n) VALUES (1, 0);"
    SQLITE_WATCH_IUD("routes")
    SQLITE_WATCH_IUD("price_rates")
    SQLITE_WATCH_IUD("price_vat")
    SQLITE_WATCH_IUD("price_packs")
    SQLITE_WATCH_UD("senders")
    SQLITE_WATCH_UD("services")
    SQLITE_WATCH_UD("accounts")
    SQLITE_WATCH_UD("applications")
    "CREATE TRIGGER config_credentials_u AFTER UPDATE OF application_id, state, rules,"
    "  allowed_ips, expires_ms ON credentials" BUMP
    "CREATE TRIGGER config_credentials_d AFTER DELETE ON credentials"
    "  WHEN old.state NOT IN ('pendingValidation', 'expired')" BUMP,
};

/* dialect: the same schema for PostgreSQL: one trigger function, statement triggers, except
 * on credentials: the housekeeping of requested keys (credential_expire, every minute on every
 * node) deletes keys that were never cached, most often none at all, and a statement trigger
 * would fire for it anyway; a row trigger with the same WHEN as SQLite's fires only for a key
 * that may be cached. The function body is dollar-quoted: the migration must be run whole
 * (PQexec), not cut at semicolons. */
#define PG_WATCH(t, what)                                                         \
    "CREATE TRIGGER config_" t " AFTER " what " ON " t                             \
    " FOR EACH STATEMENT EXECUTE FUNCTION smsgate_config_bump();"

const char *const pg_cluster_migrations[PG_CLUSTER_MIGRATIONS] = {
    /* 1: nodes, bind slots, the configuration epoch and its triggers */
    "CREATE TABLE nodes ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  instance TEXT NOT NULL, address TEXT NOT NULL DEFAULT '',"
    "  version TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, started_ms BIGINT NOT NULL,"
    "  heartbeat_ms BIGINT NOT NULL, stopped_ms BIGINT);"
    "CREATE TABLE bind_slots ("
    "  route TEXT NOT NULL, slot BIGINT NOT NULL, holder TEXT,"
    "  until_ms BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (route, slot));"
    "CREATE TABLE config_epoch (id BIGINT PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL);"
    "INSERT INTO config_epoch(id, n) VALUES (1, 0);"
    "CREATE FUNCTION smsgate_config_bump() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN UPDATE config_epoch SET n = n + 1 WHERE id = 1; RETURN NULL; END $$;"
    PG_WATCH("routes", "INSERT OR UPDATE OR DELETE")
    PG_WATCH("price_rates", "INSERT OR UPDATE OR DELETE")
    PG_WATCH("price_vat", "INSERT OR UPDATE OR DELETE")
    PG_WATCH("price_packs", "INSERT OR UPDATE OR DELETE")
    PG_WATCH("senders", "UPDATE OR DELETE")
    PG_WATCH("services", "UPDATE OR DELETE")
    PG_WATCH("accounts", "UPDATE OR DELETE")
    PG_WATCH("applications", "UPDATE OR DELETE")
    "CREATE TRIGGER config_credentials_u AFTER UPDATE OF application_id, state, rules,"
    "  allowed_ips, expires_ms ON credentials FOR EACH ROW"
    "  EXECUTE FUNCTION smsgate_config_bump();"
    "CREATE TRIGGER config_credentials_d AFTER DELETE ON credentials FOR EACH ROW"
    "  WHEN (OLD.state NOT IN ('pendingValidation', 'expired'))"
    "  EXECUTE FUNCTION smsgate_config_bump();",
};

/* ---- statements (both dialects) ---- */

static const char sql_node_take[] =
    "INSERT INTO nodes(name, instance, address, version, state, started_ms, heartbeat_ms, "
    "stopped_ms) VALUES ($1, $2, $3, $4, 'running', $5, $5, NULL) "
    "ON CONFLICT (name) DO UPDATE SET instance = excluded.instance, "
    "address = excluded.address, version = excluded.version, state = 'running', "
    "started_ms = excluded.started_ms, heartbeat_ms = excluded.heartbeat_ms, stopped_ms = NULL "
    "WHERE nodes.instance = excluded.instance OR nodes.state <> 'running' "
    "OR nodes.heartbeat_ms < $6 OR nodes.instance = $7";

static const char sql_node_read[] =
    "SELECT heartbeat_ms, address FROM nodes WHERE name = $1";

static const char sql_legacy_messages[] =
    "UPDATE messages SET state = 1, lease_ms = NULL, lease_owner = NULL "
    "WHERE state = 2 AND lease_owner IS NOT NULL "
    "AND lease_owner NOT IN (SELECT name FROM nodes)";

static const char sql_legacy_calls[] =
    "UPDATE notify_calls SET lease_ms = NULL, lease_owner = NULL "
    "WHERE state = 0 AND lease_owner IS NOT NULL "
    "AND lease_owner NOT IN (SELECT name FROM nodes)";

static const char sql_node_beat[] =
    "UPDATE nodes SET heartbeat_ms = $1 WHERE name = $2 AND instance = $3 "
    "AND state = 'running'";

static const char sql_nodes_live[] =
    "SELECT COUNT(*) FROM nodes WHERE state = 'running' AND heartbeat_ms >= $1";

static const char sql_nodes_silent[] =
    "SELECT name FROM nodes WHERE state = 'running' AND heartbeat_ms < $1 AND name <> $2 "
    "ORDER BY name";

static const char sql_node_declare_dead[] =
    "UPDATE nodes SET state = 'dead', stopped_ms = $1 WHERE name = $2 "
    "AND state = 'running' AND heartbeat_ms < $3";

static const char sql_requeue_owner[] =
    "UPDATE messages SET state = 1, lease_ms = NULL, lease_owner = NULL "
    "WHERE state = 2 AND lease_owner = $1";

static const char sql_calls_owner[] =
    "UPDATE notify_calls SET lease_ms = NULL, lease_owner = NULL "
    "WHERE state = 0 AND lease_owner = $1";

static const char sql_slots_read[] =
    "SELECT slot, holder, until_ms FROM bind_slots WHERE route = $1 ORDER BY slot";

static const char sql_slot_add[] =
    "INSERT INTO bind_slots(route, slot, holder, until_ms) VALUES ($1, $2, NULL, 0) "
    "ON CONFLICT (route, slot) DO NOTHING";

static const char sql_slots_trim[] = "DELETE FROM bind_slots WHERE route = $1 AND slot >= $2";

static const char sql_slot_release[] =
    "UPDATE bind_slots SET holder = NULL, until_ms = 0 "
    "WHERE route = $1 AND slot = $2 AND holder = $3";

static const char sql_slot_renew[] =
    "UPDATE bind_slots SET until_ms = $1 WHERE route = $2 AND slot = $3 AND holder = $4";

static const char sql_slot_take[] =
    "UPDATE bind_slots SET holder = $1, until_ms = $2 WHERE route = $3 AND slot = $4 "
    "AND (holder IS NULL OR until_ms < $5 OR holder = $1)";

static const char sql_slots_orphaned[] =
    "DELETE FROM bind_slots WHERE route NOT IN (SELECT name FROM routes)";

static const char sql_slots_release_all[] =
    "UPDATE bind_slots SET holder = NULL, until_ms = 0 WHERE holder = $1";

static const char sql_node_stopped[] =
    "UPDATE nodes SET state = 'stopped', stopped_ms = $1 WHERE name = $2 AND instance = $3";

static const char sql_epoch[] = "SELECT n FROM config_epoch WHERE id = 1";

static const char sql_status_nodes[] =
    "SELECT name, instance, address, version, state, started_ms, heartbeat_ms FROM nodes "
    "ORDER BY name";

static const char sql_status_leased[] =
    "SELECT lease_owner, COUNT(*) FROM messages WHERE state = 2 AND lease_owner IS NOT NULL "
    "GROUP BY lease_owner";

static const char sql_status_calls[] =
    "SELECT lease_owner, COUNT(*) FROM notify_calls WHERE state = 0 AND lease_owner IS NOT NULL "
    "AND lease_ms > $1 GROUP BY lease_owner";

static const char sql_status_slots[] =
    "SELECT route, slot, holder, until_ms FROM bind_slots ORDER BY route, slot";

#define ORPHAN_SWEEP_MS 60000 /* how long a kept receipt is looked at again by heartbeats */
#define ORPHAN_SWEEP_ROWS 512 /* kept receipts looked at per heartbeat */

/* ---- nodes ---- */

int store__node_register(store_conn *c, store_node_register_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_node_take);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    sqldrv_bind_text(st, 2, r->instance);
    sqldrv_bind_text(st, 3, r->address ? r->address : "");
    sqldrv_bind_text(st, 4, r->version ? r->version : "");
    sqldrv_bind_int(st, 5, r->now_ms);
    sqldrv_bind_int(st, 6, r->now_ms - r->timeout_ms);
    sqldrv_bind_text(st, 7, r->previous ? r->previous : "");
    int rc = sqldrv_done(c, st, "Registering this node");
    if (rc) return rc;
    if (sqldrv_changes(c) == 0) {
        r->refused = 1;
        st = sqldrv_prep(c, sql_node_read);
        if (!st) return SG_EIO;
        sqldrv_bind_text(st, 1, r->name);
        if (sqldrv_step(c, st) == 1) {
            r->other_age_ms = r->now_ms - sqldrv_col_int(st, 0);
            free(r->other_address);
            r->other_address = sqldrv_col_text(st, 1);
        }
        sqldrv_reset(st);
        return SG_ECONFLICT;
    }
    /* Leases of owners that never registered: this version's first start on an older data
     * directory (the node was "local"). Registered nodes' leases are theirs to recover. */
    if (!(st = sqldrv_prep(c, sql_legacy_messages))) return SG_EIO;
    if ((rc = sqldrv_done(c, st, "Requeueing messages leased by an unregistered node")))
        return rc;
    r->legacy_requeued = (size_t)sqldrv_changes(c);
    if (!(st = sqldrv_prep(c, sql_legacy_calls))) return SG_EIO;
    return sqldrv_done(c, st, "Releasing callbacks leased by an unregistered node");
}

void store_node_register_fini(store_node_register_req *r) {
    free(r->other_address);
    r->other_address = NULL;
}

/* Takes over the running nodes silent for the timeout (see the file comment). */
static int reap(store_conn *c, store_node_heartbeat_req *r) {
    int64_t dead_before = r->now_ms - r->timeout_ms;
    sqldrv_stmt *st = sqldrv_prep(c, sql_nodes_silent);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, dead_before);
    sqldrv_bind_text(st, 2, r->name);
    char *names[16];
    size_t n = 0;
    while (n < 16 && sqldrv_step(c, st) == 1) names[n++] = sqldrv_col_text(st, 0);
    sqldrv_reset(st);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!(st = sqldrv_prep(c, sql_node_declare_dead))) { rc = SG_EIO; break; }
        sqldrv_bind_int(st, 1, r->now_ms);
        sqldrv_bind_text(st, 2, names[i]);
        sqldrv_bind_int(st, 3, dead_before);
        if ((rc = sqldrv_done(c, st, "Declaring a silent node dead"))) break;
        if (sqldrv_changes(c) == 0) continue; /* another node won it, or it came back */
        r->reaped++;
        if (!(st = sqldrv_prep(c, sql_requeue_owner))) { rc = SG_EIO; break; }
        sqldrv_bind_text(st, 1, names[i]);
        if ((rc = sqldrv_done(c, st, "Requeueing the messages of a dead node"))) break;
        r->requeued += (size_t)sqldrv_changes(c);
        if (!(st = sqldrv_prep(c, sql_calls_owner))) { rc = SG_EIO; break; }
        sqldrv_bind_text(st, 1, names[i]);
        rc = sqldrv_done(c, st, "Releasing the callbacks of a dead node");
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    return rc;
}

static int popcount64(uint64_t v) {
    int n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

/* One route's slots in a heartbeat (store_slot_claim). */
static int slots(store_conn *c, store_node_heartbeat_req *r, store_slot_claim *k) {
    int n = k->nslots < 1 ? 1 : k->nslots > STORE_CLUSTER_MAX_SLOTS ? STORE_CLUSTER_MAX_SLOTS
                                                                    : k->nslots;
    int64_t until = r->now_ms + r->timeout_ms;
    uint64_t exists = 0, mine = 0, free_ = 0;
    int beyond = 0;
    k->elsewhere = 0;
    sqldrv_stmt *st = sqldrv_prep(c, sql_slots_read);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, k->route);
    while (sqldrv_step(c, st) == 1) {
        int64_t s = sqldrv_col_int(st, 0);
        if (s < 0 || s >= n) {
            beyond = 1;
            continue;
        }
        const char *holder = sqldrv_col_str(st, 1);
        exists |= UINT64_C(1) << s;
        if (holder && !strcmp(holder, r->name)) mine |= UINT64_C(1) << s;
        else if (!holder || sqldrv_col_int(st, 2) < r->now_ms) free_ |= UINT64_C(1) << s;
        else k->elsewhere++;
    }
    int rc;
    if (beyond) { /* the route has fewer binds than before */
        if (!(st = sqldrv_prep(c, sql_slots_trim))) return SG_EIO;
        sqldrv_bind_text(st, 1, k->route);
        sqldrv_bind_int(st, 2, n);
        if ((rc = sqldrv_done(c, st, "Removing the bind slots of a route's former binds")))
            return rc;
    }
    for (int s = 0; s < n; s++) {
        if (exists & (UINT64_C(1) << s)) continue;
        if (!(st = sqldrv_prep(c, sql_slot_add))) return SG_EIO;
        sqldrv_bind_text(st, 1, k->route);
        sqldrv_bind_int(st, 2, s);
        if ((rc = sqldrv_done(c, st, "Adding a bind slot"))) return rc;
        free_ |= UINT64_C(1) << s;
    }
    k->held = 0;
    for (int s = 0; s < n; s++) {
        uint64_t bit = UINT64_C(1) << s;
        if (!(mine & bit)) continue;
        int release = (k->release & bit) != 0;
        if (!(st = sqldrv_prep(c, release ? sql_slot_release : sql_slot_renew))) return SG_EIO;
        if (release) {
            sqldrv_bind_text(st, 1, k->route);
            sqldrv_bind_int(st, 2, s);
            sqldrv_bind_text(st, 3, r->name);
        } else {
            sqldrv_bind_int(st, 1, until);
            sqldrv_bind_text(st, 2, k->route);
            sqldrv_bind_int(st, 3, s);
            sqldrv_bind_text(st, 4, r->name);
        }
        if ((rc = sqldrv_done(c, st, "Renewing a bind slot"))) return rc;
        if (!release && sqldrv_changes(c) > 0) k->held |= bit;
    }
    int live = r->live > 0 ? r->live : 1;
    k->share = (n + live - 1) / live;
    /* A slot released now is not taken back in the same heartbeat. */
    free_ &= ~k->release;
    for (int s = 0; s < n && popcount64(k->held) < k->share; s++) {
        uint64_t bit = UINT64_C(1) << s;
        if (!(free_ & bit)) continue;
        if (!(st = sqldrv_prep(c, sql_slot_take))) return SG_EIO;
        sqldrv_bind_text(st, 1, r->name);
        sqldrv_bind_int(st, 2, until);
        sqldrv_bind_text(st, 3, k->route);
        sqldrv_bind_int(st, 4, s);
        sqldrv_bind_int(st, 5, r->now_ms);
        if ((rc = sqldrv_done(c, st, "Taking a bind slot"))) return rc;
        if (sqldrv_changes(c) > 0) k->held |= bit;
    }
    return 0;
}

int store__node_heartbeat(store_conn *c, store_node_heartbeat_req *r) {
    r->lost = 0;
    r->live = 0;
    r->reaped = r->requeued = 0;
    for (size_t i = 0; i < r->count; i++) r->routes[i].held = 0, r->routes[i].share = 0;
    sqldrv_stmt *st = sqldrv_prep(c, sql_node_beat);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    sqldrv_bind_text(st, 2, r->name);
    sqldrv_bind_text(st, 3, r->instance);
    int rc = sqldrv_done(c, st, "Renewing this node's heartbeat");
    if (rc) return rc;
    if (sqldrv_changes(c) == 0) {
        r->lost = 1;
        return 0;
    }
    if (r->reap && (rc = reap(c, r))) return rc;
    if (!(st = sqldrv_prep(c, sql_slots_orphaned))) return SG_EIO; /* routes removed */
    if ((rc = sqldrv_done(c, st, "Removing the bind slots of removed routes"))) return rc;
    if (!(st = sqldrv_prep(c, sql_nodes_live))) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms - r->timeout_ms);
    r->live = sqldrv_step(c, st) == 1 ? (int)sqldrv_col_int(st, 0) : 1;
    sqldrv_reset(st);
    for (size_t i = 0; i < r->count; i++)
        if ((rc = slots(c, r, &r->routes[i]))) return rc;
    /* Receipts kept on one node while their acceptance was stored on another (see
     * sqlite__smpp_orphans_sweep): looked at again for a minute. */
    return r->count ? sqlite__smpp_orphans_sweep(c, r->now_ms - ORPHAN_SWEEP_MS,
                                                 ORPHAN_SWEEP_ROWS, &r->orphan_cursor,
                                                 &r->receipts_matched)
                    : 0;
}

int store__node_stop(store_conn *c, store_node_stop_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_slots_release_all);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->name);
    int rc = sqldrv_done(c, st, "Releasing this node's bind slots");
    if (rc) return rc;
    if (!(st = sqldrv_prep(c, sql_node_stopped))) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    sqldrv_bind_text(st, 2, r->name);
    sqldrv_bind_text(st, 3, r->instance);
    return sqldrv_done(c, st, "Recording this node's stop");
}

int store__config_epoch(store_conn *c, store_config_epoch_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_epoch);
    if (!st) return SG_EIO;
    int row = sqldrv_step(c, st);
    r->epoch = row == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return row < 0 ? row : 0;
}

/* ---- the operator's view ---- */

static json_t *iso_or_null(int64_t ms) {
    if (ms <= 0) return json_null();
    char when[SG_TIME_ISO_LEN];
    sg_time_iso(ms, when);
    return json_string(when);
}

/* Sets key to the count of rows of a "owner, count" statement for each node of arr. */
static int add_counts(store_conn *c, sqldrv_stmt *st, json_t *arr, const char *key) {
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) json_object_set_new(o, key, json_integer(0));
    int row;
    while ((row = sqldrv_step(c, st)) == 1) {
        const char *owner = sqldrv_col_str(st, 0);
        json_array_foreach(arr, i, o) {
            if (owner && !strcmp(json_string_value(json_object_get(o, "name")), owner))
                json_object_set_new(o, key, json_integer(sqldrv_col_int(st, 1)));
        }
    }
    return row < 0 ? row : 0;
}

int store__cluster_status(store_conn *c, store_cluster_status_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_status_nodes);
    if (!st) return SG_EIO;
    json_t *nodes = json_array(), *slots_arr = json_array();
    int row, rc = 0;
    while ((row = sqldrv_step(c, st)) == 1) {
        const char *state = sqldrv_col_str(st, 4);
        int64_t beat = sqldrv_col_int(st, 6);
        const char *shown = strcmp(state, "running") != 0 ? state
                            : beat >= r->now_ms - r->timeout_ms ? "alive" : "dead";
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", sqldrv_col_str(st, 0),
                              "instance", sqldrv_col_str(st, 1), "address",
                              sqldrv_col_str(st, 2), "version", sqldrv_col_str(st, 3),
                              "state", shown);
        json_object_set_new(o, "started", iso_or_null(sqldrv_col_int(st, 5)));
        json_object_set_new(o, "heartbeat", iso_or_null(beat));
        json_object_set_new(o, "heartbeatAgeMs", json_integer(r->now_ms - beat));
        json_object_set_new(o, "slots", json_array());
        json_array_append_new(nodes, o);
    }
    if (row < 0) rc = row;
    if (!rc && !(st = sqldrv_prep(c, sql_status_leased))) rc = SG_EIO;
    if (!rc) rc = add_counts(c, st, nodes, "messagesLeased");
    if (!rc && !(st = sqldrv_prep(c, sql_status_calls))) rc = SG_EIO;
    if (!rc) {
        sqldrv_bind_int(st, 1, r->now_ms);
        rc = add_counts(c, st, nodes, "callbacksLeased");
    }
    if (!rc && !(st = sqldrv_prep(c, sql_status_slots))) rc = SG_EIO;
    while (!rc && (row = sqldrv_step(c, st)) == 1) {
        const char *route = sqldrv_col_str(st, 0), *holder = sqldrv_col_str(st, 2);
        int64_t slot = sqldrv_col_int(st, 1), until = sqldrv_col_int(st, 3);
        int held = holder && until >= r->now_ms;
        json_t *o = json_pack("{s:s, s:I}", "route", route, "slot", (json_int_t)slot);
        json_object_set_new(o, "holder", held ? json_string(holder) : json_null());
        json_object_set_new(o, "until", held ? iso_or_null(until) : json_null());
        json_array_append_new(slots_arr, o);
        size_t i;
        json_t *n;
        json_array_foreach(nodes, i, n) {
            if (held && !strcmp(json_string_value(json_object_get(n, "name")), holder))
                json_array_append_new(json_object_get(n, "slots"),
                                      json_pack("{s:s, s:I}", "route", route, "slot",
                                                (json_int_t)slot));
        }
    }
    if (!rc && row < 0) rc = row;
    if (!rc) {
        r->nodes_json = json_dumps(nodes, JSON_COMPACT);
        r->slots_json = json_dumps(slots_arr, JSON_COMPACT);
    }
    json_decref(nodes);
    json_decref(slots_arr);
    return rc;
}

void store_cluster_status_fini(store_cluster_status_req *r) {
    free(r->nodes_json);
    free(r->slots_json);
    r->nodes_json = r->slots_json = NULL;
}
