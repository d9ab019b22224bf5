/*
 * sqlite_phonebooks_int.h - what the store's other files need from the phonebooks area
 * (sqlite_phonebooks.c): its migrations for each dialect (schema_sqlite.c, schema_pg.c) and
 * the implementations of the STORE_PHONEBOOKS_OPS operations (sqlite.c's backend table).
 * Store thread only.
 */
#ifndef SG_STORE_SQLITE_PHONEBOOKS_INT_H
#define SG_STORE_SQLITE_PHONEBOOKS_INT_H

#include "store/sqlite_int.h"

#define SQLITE_PHONEBOOKS_MIGRATIONS 1
extern const char *const sqlite_phonebooks_migrations[SQLITE_PHONEBOOKS_MIGRATIONS];
#define PG_PHONEBOOKS_MIGRATIONS 1
extern const char *const pg_phonebooks_migrations[PG_PHONEBOOKS_MIGRATIONS];

int sqlite__phonebook_list(store_conn *c, store_phonebook_req *r);
int sqlite__phonebook_create(store_conn *c, store_phonebook_req *r);
int sqlite__phonebook_get(store_conn *c, store_phonebook_req *r);
int sqlite__phonebook_update(store_conn *c, store_phonebook_req *r);
int sqlite__phonebook_delete(store_conn *c, store_phonebook_req *r);
int sqlite__contact_list(store_conn *c, store_phonebook_req *r);
int sqlite__contact_create(store_conn *c, store_phonebook_req *r);
int sqlite__contact_get(store_conn *c, store_phonebook_req *r);
int sqlite__contact_update(store_conn *c, store_phonebook_req *r);
int sqlite__contact_delete(store_conn *c, store_phonebook_req *r);
int sqlite__phonebook_import(store_conn *c, store_phonebook_req *r);
int sqlite__phonebook_export(store_conn *c, store_phonebook_req *r);

#define be_phonebook_list sqlite__phonebook_list
#define be_phonebook_create sqlite__phonebook_create
#define be_phonebook_get sqlite__phonebook_get
#define be_phonebook_update sqlite__phonebook_update
#define be_phonebook_delete sqlite__phonebook_delete
#define be_contact_list sqlite__contact_list
#define be_contact_create sqlite__contact_create
#define be_contact_get sqlite__contact_get
#define be_contact_update sqlite__contact_update
#define be_contact_delete sqlite__contact_delete
#define be_phonebook_import sqlite__phonebook_import
#define be_phonebook_export sqlite__phonebook_export

#endif
