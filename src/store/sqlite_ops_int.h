/*
 * sqlite_ops_int.h - what the backends' core files need from the "ops" area (sqlite_ops.c):
 * its migrations (schema_sqlite.c, schema_pg.c) and the implementations of the STORE_OPS_OPS
 * operations (sqlite.c's backend table). Store thread only.
 */
#ifndef SG_STORE_SQLITE_OPS_INT_H
#define SG_STORE_SQLITE_OPS_INT_H

#include "store/store.h"

typedef struct store_conn store_conn;

/* The migrations of the "ops" schema area, in order, for each dialect. */
#define SQLITE_OPS_MIGRATIONS 1
extern const char *const sqlite_ops_migrations[SQLITE_OPS_MIGRATIONS];
#define PG_OPS_MIGRATIONS 1
extern const char *const pg_ops_migrations[PG_OPS_MIGRATIONS];

#define OPS_DECL(name, type) int sqlite__##name(store_conn *c, type *r);
STORE_OPS_OPS(OPS_DECL)
#undef OPS_DECL

/* sqlite.c's backend table names the implementation of each operation be_<op>. */
#define be_service_add sqlite__service_add
#define be_credits_transfer sqlite__credits_transfer
#define be_service_info sqlite__service_info
#define be_task_get sqlite__task_get
#define be_task_list sqlite__task_list
#define be_receivers_clean sqlite__receivers_clean
#define be_template_create sqlite__template_create
#define be_template_get sqlite__template_get
#define be_template_list sqlite__template_list
#define be_template_update sqlite__template_update
#define be_template_delete sqlite__template_delete
#define be_sender_doc_create sqlite__sender_doc_create
#define be_sender_doc_get sqlite__sender_doc_get
#define be_sender_doc_list sqlite__sender_doc_list
#define be_sender_doc_update sqlite__sender_doc_update
#define be_sender_code sqlite__sender_code
#define be_sender_validate sqlite__sender_validate

#endif
