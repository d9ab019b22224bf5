/*
 * sqlite_hours_int.h - what the backends' core files need from the marketing hours area
 * (sqlite_hours.c): its migrations (schema_sqlite.c, schema_pg.c), the implementations of the
 * STORE_HOURS_OPS operations (sqlite.c's backend table) and the hold of one message
 * (sqlite_msg.c's status changes). Store thread only.
 */
#ifndef SG_STORE_SQLITE_HOURS_INT_H
#define SG_STORE_SQLITE_HOURS_INT_H

#include "store/store.h"

typedef struct store_conn store_conn;

/* The migrations of the "hours" schema area, in order, for each dialect. The area comes after
 * "cluster": its trigger raises the configuration epoch that cluster/1 creates. */
#define SQLITE_HOURS_MIGRATIONS 1
extern const char *const sqlite_hours_migrations[SQLITE_HOURS_MIGRATIONS];
#define PG_HOURS_MIGRATIONS 1
extern const char *const pg_hours_migrations[PG_HOURS_MIGRATIONS];

int sqlite__hours_list(store_conn *c, store_hours_list_req *r);
int sqlite__hours_set(store_conn *c, store_hours_set_req *r);

/* A claimed marketing SMS outside its destination's hours (u->hold_until_ms > 0): back to
 * scheduled, due at hold_until_ms, its lease dropped; the end of its validity (when already
 * fixed by a retry) moves by as much, so that time held never counts against it. No event:
 * nothing a customer sees changed but the time it leaves. Returns 1 when the message was
 * still claimed (changed), 0 when not (stale), or an SG_E* code. */
int sqlite__hours_hold(store_conn *c, const store_status_update *u);

#define be_hours_list sqlite__hours_list
#define be_hours_set sqlite__hours_set

#endif
