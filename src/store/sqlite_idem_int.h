/*
 * sqlite_idem_int.h - what the SQLite backend's core files need from the idempotency area
 * (sqlite_idem.c): its migrations (schema_sqlite.c), the implementations of the
 * STORE_IDEM_OPS operations and of the backend's idem_put (sqlite.c's backend table).
 * Included only by files of the SQLite backend; store thread only.
 */
#ifndef SG_STORE_SQLITE_IDEM_INT_H
#define SG_STORE_SQLITE_IDEM_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "idempotency" schema area, in order. */
#define SQLITE_IDEM_MIGRATIONS 1
extern const char *const sqlite_idem_migrations[SQLITE_IDEM_MIGRATIONS];

int sqlite__idem_get(store_conn *c, store_idem *r);
int sqlite__idem_prune(store_conn *c, store_idem_prune_req *r);
int sqlite__idem_put(store_conn *c, store_idem *r);

/* sqlite.c's backend table names the implementation of each operation be_<op>. */
#define be_idem_get sqlite__idem_get
#define be_idem_prune sqlite__idem_prune

#endif
