/*
 * sqlite_campaigns_int.h - what the SQLite backend's core files need from the campaigns area
 * (sqlite_campaigns.c): its migrations (schema_sqlite.c) and the implementations of the
 * STORE_CAMPAIGNS_OPS operations (sqlite.c's backend table). Included only by files of the
 * SQLite backend; store thread only.
 */
#ifndef SG_STORE_SQLITE_CAMPAIGNS_INT_H
#define SG_STORE_SQLITE_CAMPAIGNS_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "campaigns" schema area, in order. */
#define SQLITE_CAMPAIGNS_MIGRATIONS 1
extern const char *const sqlite_campaigns_migrations[SQLITE_CAMPAIGNS_MIGRATIONS];

int sqlite__document_create(store_conn *c, store_document_req *r);
int sqlite__document_get(store_conn *c, store_document_req *r);
int sqlite__document_put(store_conn *c, store_document_req *r);
int sqlite__document_read(store_conn *c, store_document_req *r);
int sqlite__document_delete(store_conn *c, store_document_req *r);
int sqlite__document_list(store_conn *c, store_document_list_req *r);
int sqlite__list_begin(store_conn *c, store_list_req *r);
int sqlite__list_rows(store_conn *c, store_list_req *r);
int sqlite__list_finish(store_conn *c, store_list_req *r);
int sqlite__list_drop(store_conn *c, store_list_req *r);
int sqlite__list_purge(store_conn *c, store_list_purge_req *r);
int sqlite__slot_get(store_conn *c, store_slot_req *r);
int sqlite__slot_list(store_conn *c, store_slot_req *r);
int sqlite__slot_update(store_conn *c, store_slot_req *r);
int sqlite__slot_delete(store_conn *c, store_slot_req *r);
int sqlite__slot_csv(store_conn *c, store_slot_req *r);
int sqlite__campaign_send(store_conn *c, store_campaign_send_req *r);
int sqlite__campaign_get(store_conn *c, store_campaign_req *r);
int sqlite__campaign_rename(store_conn *c, store_campaign_req *r);
int sqlite__campaign_cancel(store_conn *c, store_campaign_req *r);
int sqlite__campaign_list(store_conn *c, store_campaign_list_req *r);
int sqlite__tag_stats(store_conn *c, store_tag_stats_req *r);

/* sqlite.c's backend table names the implementation of each operation be_<op>. */
#define be_document_create sqlite__document_create
#define be_document_get sqlite__document_get
#define be_document_put sqlite__document_put
#define be_document_read sqlite__document_read
#define be_document_delete sqlite__document_delete
#define be_document_list sqlite__document_list
#define be_list_begin sqlite__list_begin
#define be_list_rows sqlite__list_rows
#define be_list_finish sqlite__list_finish
#define be_list_drop sqlite__list_drop
#define be_list_purge sqlite__list_purge
#define be_slot_get sqlite__slot_get
#define be_slot_list sqlite__slot_list
#define be_slot_update sqlite__slot_update
#define be_slot_delete sqlite__slot_delete
#define be_slot_csv sqlite__slot_csv
#define be_campaign_send sqlite__campaign_send
#define be_campaign_get sqlite__campaign_get
#define be_campaign_rename sqlite__campaign_rename
#define be_campaign_cancel sqlite__campaign_cancel
#define be_campaign_list sqlite__campaign_list
#define be_tag_stats sqlite__tag_stats

#endif
