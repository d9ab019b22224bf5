/*
 * sqlite_limits_int.h - what the SQLite backend's core files need from the limits area
 * (sqlite_limits.c): its migrations (schema_sqlite.c) and the implementations of the
 * STORE_LIMITS_OPS operations (sqlite.c's backend table). Store thread only.
 */
#ifndef SG_STORE_SQLITE_LIMITS_INT_H
#define SG_STORE_SQLITE_LIMITS_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "limits" schema area, in order. */
#define SQLITE_LIMITS_MIGRATIONS 1
extern const char *const sqlite_limits_migrations[SQLITE_LIMITS_MIGRATIONS];

int sqlite__account_limit(store_conn *c, store_account_limit_req *r);
int sqlite__credential_expire(store_conn *c, store_credential_expire_req *r);

#define be_account_limit sqlite__account_limit
#define be_credential_expire sqlite__credential_expire

#endif
