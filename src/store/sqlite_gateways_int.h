/*
 * sqlite_gateways_int.h - the schema of the "gateways" area (sqlite_gateways.c): the columns
 * a message carries for the ways in that bring their own callback (http2sms and Kannel's
 * sendsms, docs/migrating-from-kannel.md). Read by schema_sqlite.c and schema_pg.c only.
 */
#ifndef SG_STORE_SQLITE_GATEWAYS_INT_H
#define SG_STORE_SQLITE_GATEWAYS_INT_H

/* The migrations of the "gateways" schema area, in order, for each dialect. */
#define SQLITE_GATEWAYS_MIGRATIONS 1
extern const char *const sqlite_gateways_migrations[SQLITE_GATEWAYS_MIGRATIONS];
#define PG_GATEWAYS_MIGRATIONS 1
extern const char *const pg_gateways_migrations[PG_GATEWAYS_MIGRATIONS];

#endif
