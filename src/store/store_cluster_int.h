/*
 * store_cluster_int.h - what a backend needs from the cluster area (store_cluster_sql.c): its
 * SQLite migrations (schema_sqlite.c) and the implementations of the STORE_CLUSTER_OPS
 * operations, written against the SQL driver only, so that every backend's table names the
 * same functions. Store thread only.
 */
#ifndef SG_STORE_CLUSTER_INT_H
#define SG_STORE_CLUSTER_INT_H

#include "store/store.h"

/* The migrations of the "cluster" schema area, in order (SQLite's dialect). */
#define SQLITE_CLUSTER_MIGRATIONS 1
extern const char *const sqlite_cluster_migrations[SQLITE_CLUSTER_MIGRATIONS];

int store__node_register(store_conn *c, store_node_register_req *r);
int store__node_heartbeat(store_conn *c, store_node_heartbeat_req *r);
int store__node_stop(store_conn *c, store_node_stop_req *r);
int store__config_epoch(store_conn *c, store_config_epoch_req *r);
int store__cluster_status(store_conn *c, store_cluster_status_req *r);

#define be_node_register store__node_register
#define be_node_heartbeat store__node_heartbeat
#define be_node_stop store__node_stop
#define be_config_epoch store__config_epoch
#define be_cluster_status store__cluster_status

#endif
