/*
 * sqlite_hlr_int.h - what the store's other files need from the HLR area (sqlite_hlr.c): its
 * migrations for each dialect (schema_sqlite.c, schema_pg.c) and the implementations of the
 * STORE_HLR_OPS operations (sqlite.c's backend table). Store thread only.
 */
#ifndef SG_STORE_SQLITE_HLR_INT_H
#define SG_STORE_SQLITE_HLR_INT_H

#include "store/sqlite_int.h"

#define SQLITE_HLR_MIGRATIONS 1
extern const char *const sqlite_hlr_migrations[SQLITE_HLR_MIGRATIONS];
#define PG_HLR_MIGRATIONS 1
extern const char *const pg_hlr_migrations[PG_HLR_MIGRATIONS];

int sqlite__hlr_create(store_conn *c, store_hlr_req *r);
int sqlite__hlr_list(store_conn *c, store_hlr_req *r);
int sqlite__hlr_get(store_conn *c, store_hlr_req *r);
int sqlite__hlr_receivers(store_conn *c, store_hlr_receivers_req *r);

#define be_hlr_create sqlite__hlr_create
#define be_hlr_list sqlite__hlr_list
#define be_hlr_get sqlite__hlr_get
#define be_hlr_receivers sqlite__hlr_receivers

#endif
