/*
 * store_cluster.h - the cluster area of the store: the nodes that share one database, their
 * heartbeats, the operators' bind slots leased to them, and the configuration epoch
 * (docs/cluster.md).
 *
 * Tables (store_cluster_sql.c has the migrations of both dialects):
 *   nodes         one row per node name: the running instance (random per process start),
 *                 its HTTP address, version, start, last heartbeat and state (running,
 *                 stopped at a clean exit, dead once another node took its work over).
 *   bind_slots    (route, slot 0..binds-1) -> holder node and lease end: a node opens the
 *                 bind of a slot only while it holds it, so a route's binds are a total for
 *                 the cluster.
 *   config_epoch  one counter, raised by triggers on the configuration tables (routes,
 *                 prices, senders, accounts, applications, credentials, services): a node
 *                 that sees it move drops its caches and reloads its routes.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback; outputs
 * marked new are the caller's (store_cluster_status_fini, store_node_register_fini).
 */
#ifndef SG_STORE_CLUSTER_H
#define SG_STORE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define STORE_CLUSTER_MAX_SLOTS 64 /* a route's binds at most (routes_admin.c checks it) */

/* node_register: at start. Takes the name for this instance unless another instance holds it
 * and is alive (running, heartbeat newer than timeout_ms) and is not previous, the instance
 * this node's data directory knows ended (its lock was free: a restart after a crash): then
 * SG_ECONFLICT, with refused set and the other's heartbeat age and address. Also puts back in the queue the messages and
 * callbacks leased by owners that are no registered node (leases written before nodes
 * registered, e.g. by the node "local" of older versions). */
typedef struct store_node_register_req {
    const char *name, *instance, *address, *version;
    const char *previous; /* may be NULL */
    int64_t now_ms, timeout_ms;
    /* out */
    int refused;
    int64_t other_age_ms;
    char *other_address;  /* new */
    size_t legacy_requeued; /* messages of unregistered owners put back in the queue */
} store_node_register_req;
void store_node_register_fini(store_node_register_req *r);

/* One route's bind slots in a heartbeat. The node gives up the slots in release (their binds
 * are closed), renews the others it holds, and takes free or expired ones until it holds its
 * share, ceil(nslots / live nodes). held and share say the outcome. */
typedef struct store_slot_claim {
    const char *route;
    int nslots;       /* the route's binds, 1..STORE_CLUSTER_MAX_SLOTS */
    uint64_t release; /* bit s: give slot s up */
    uint64_t held;    /* out: bit s: this node holds slot s until now_ms + timeout_ms */
    int share;        /* out: the most slots this node should hold now */
    int elsewhere;    /* out: slots other nodes hold (leases not ended) */
} store_slot_claim;

/* node_heartbeat: renews this instance's heartbeat and its slots (above); takes over nodes
 * that stopped heartbeating for timeout_ms (their messages back to the queue, their callback
 * leases released, their state dead). lost: the row is not this instance's any more (another
 * instance took the name, or the others declared it dead): nothing else was done. */
typedef struct store_node_heartbeat_req {
    const char *name, *instance;
    int64_t now_ms, timeout_ms;
    /* 0: take no other node over in this call (this node was itself silent lately: two nodes
     * back from a stall must not declare each other dead, which on PostgreSQL would also lock
     * each other's rows in opposite orders). */
    int reap;
    store_slot_claim *routes;
    size_t count;
    /* in/out: where the sweep of kept receipts goes on (an id of smpp_orphans; 0 = from the
     * oldest). The caller keeps it from one heartbeat to the next, so that receipts still
     * unknown never hide the ones behind them. */
    int64_t orphan_cursor;
    /* out */
    int lost;
    int live;            /* live nodes, this one included */
    size_t reaped;       /* dead nodes taken over by this call */
    size_t requeued;     /* their messages put back in the queue */
    size_t receipts_matched; /* kept receipts whose message is known by now, applied */
} store_node_heartbeat_req;

/* node_stop: a clean exit. The node's slots are released and its row says stopped, so that
 * the others take its share at once. */
typedef struct store_node_stop_req {
    const char *name, *instance;
    int64_t now_ms;
} store_node_stop_req;

/* config_epoch: reads the configuration counter (one row). */
typedef struct store_config_epoch_req {
    int64_t epoch; /* out */
} store_config_epoch_req;

/* cluster_status: for the admin API. nodes_json: [{name, instance, address, version,
 * started, heartbeat, heartbeatAgeMs, state ("alive", "dead", "stopped"), slots:
 * [{route, slot}], messagesLeased, callbacksLeased}]; slots_json: [{route, slot, holder,
 * until}] (holder null when free or expired). */
typedef struct store_cluster_status_req {
    int64_t now_ms, timeout_ms;
    char *nodes_json, *slots_json; /* out, new */
} store_cluster_status_req;
void store_cluster_status_fini(store_cluster_status_req *r);

#define STORE_CLUSTER_OPS(X)                                  \
    X(node_register, store_node_register_req)                 \
    X(node_heartbeat, store_node_heartbeat_req)               \
    X(node_stop, store_node_stop_req)                         \
    X(config_epoch, store_config_epoch_req)                   \
    X(cluster_status, store_cluster_status_req)

/* The PostgreSQL migrations of the "cluster" area (store_cluster_sql.c), for pg_areas: it
 * must come after the areas whose tables its triggers watch (core, routes, credits, limits). */
#define PG_CLUSTER_MIGRATIONS 1
extern const char *const pg_cluster_migrations[PG_CLUSTER_MIGRATIONS];

#endif
