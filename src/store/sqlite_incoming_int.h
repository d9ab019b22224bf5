/*
 * sqlite_incoming_int.h - what the SQLite backend's core files need from the incoming area
 * (sqlite_incoming.c): its migrations (schema_sqlite.c) and the implementations of the
 * STORE_INCOMING_OPS operations and of the routes area's smpp_mo (sqlite.c's backend table).
 * Included only by files of the SQLite backend; store thread only.
 */
#ifndef SG_STORE_SQLITE_INCOMING_INT_H
#define SG_STORE_SQLITE_INCOMING_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "incoming" schema area, in order. */
#define SQLITE_INCOMING_MIGRATIONS 1
extern const char *const sqlite_incoming_migrations[SQLITE_INCOMING_MIGRATIONS];

/* smpp_mo (store_routes.h): a batch of messages and parts from SMPP binds. */
int sqlite__incoming_smpp(store_conn *c, store_smpp_mo_req *r);
int sqlite__incoming_add(store_conn *c, store_incoming_add_req *r);
int sqlite__incoming_list(store_conn *c, store_incoming_list_req *r);
int sqlite__incoming_get(store_conn *c, store_incoming_req *r);
int sqlite__incoming_delete(store_conn *c, store_incoming_req *r);
int sqlite__incoming_partial(store_conn *c, store_incoming_partial_req *r);

/* sqlite.c's backend table names the implementation of each operation be_<op>. */
#define be_incoming_add sqlite__incoming_add
#define be_incoming_list sqlite__incoming_list
#define be_incoming_get sqlite__incoming_get
#define be_incoming_delete sqlite__incoming_delete
#define be_incoming_partial sqlite__incoming_partial

#endif
