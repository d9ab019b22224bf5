/*
 * sqlite_numbers_int.h - what the SQLite backend's core files need from the numbers area
 * (sqlite_numbers.c): its migrations (schema_sqlite.c) and the implementations of the STORE_NUMBERS_OPS operations (sqlite.c's
 * backend table). Store thread only.
 */
#ifndef SG_STORE_SQLITE_NUMBERS_INT_H
#define SG_STORE_SQLITE_NUMBERS_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "numbers" schema area, in order (SQLite's dialect; PostgreSQL's are
 * declared in store_numbers.h for schema_pg.c). */
#define SQLITE_NUMBERS_MIGRATIONS 1
extern const char *const sqlite_numbers_migrations[SQLITE_NUMBERS_MIGRATIONS];

/* The id of the service that has number as a virtual number, 0 if none, or an SG_E* code
 * (for the attribution of incoming messages and the like; same transaction). */
int64_t sqlite__vnum_service(store_conn *c, const char *number);

int sqlite__vnum_add(store_conn *c, store_vnum_req *r);
int sqlite__vnum_get(store_conn *c, store_vnum_req *r);
int sqlite__vnum_remove(store_conn *c, store_vnum_req *r);
int sqlite__vnum_response(store_conn *c, store_vnum_req *r);
int sqlite__vnum_list(store_conn *c, store_vnum_list_req *r);

#define be_vnum_add sqlite__vnum_add
#define be_vnum_get sqlite__vnum_get
#define be_vnum_remove sqlite__vnum_remove
#define be_vnum_response sqlite__vnum_response
#define be_vnum_list sqlite__vnum_list

#endif
