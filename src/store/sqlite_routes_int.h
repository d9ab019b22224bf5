/*
 * sqlite_routes_int.h - what the SQLite backend's core files need from the routes area
 * (sqlite_routes.c): its migrations (schema_sqlite.c) and the implementations of the
 * STORE_OPS_ROUTES operations (sqlite.c's backend table). Included only by files of the
 * SQLite backend; store thread only.
 */
#ifndef SG_STORE_SQLITE_ROUTES_INT_H
#define SG_STORE_SQLITE_ROUTES_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "routes" schema area, in order. */
#define SQLITE_ROUTES_MIGRATIONS 2
extern const char *const sqlite_routes_migrations[SQLITE_ROUTES_MIGRATIONS];

int sqlite__route_list(store_conn *c, store_route_list_req *r);
int sqlite__route_get(store_conn *c, store_route_req *r);
int sqlite__route_put(store_conn *c, store_route_req *r);
int sqlite__route_remove(store_conn *c, store_route_req *r);
int sqlite__smpp_accept(store_conn *c, store_smpp_accept_req *r);
int sqlite__smpp_receipt(store_conn *c, store_smpp_receipt_req *r);
int sqlite__retry_waiting(store_conn *c, store_retry_waiting_req *r);
/* Applies the receipts kept since since_ms whose operator id is known by now, at most limit:
 * with several nodes, a receipt kept on one node and the acceptance of its message stored on
 * another in concurrent transactions (PostgreSQL, READ COMMITTED) each miss the other
 * (docs/cluster.md). The count applied goes to *applied. Called with each heartbeat. */
int sqlite__smpp_orphans_sweep(store_conn *c, int64_t since_ms, int limit, int64_t *cursor,
                               size_t *applied);

/* sqlite.c's backend table names the implementation of each operation be_<op>. */
#define be_route_list sqlite__route_list
#define be_route_get sqlite__route_get
#define be_route_put sqlite__route_put
#define be_route_remove sqlite__route_remove
#define be_smpp_accept sqlite__smpp_accept
#define be_smpp_receipt sqlite__smpp_receipt
#define be_smpp_mo sqlite__incoming_smpp /* the incoming area's (sqlite_incoming_int.h) */
#define be_retry_waiting sqlite__retry_waiting

#endif
