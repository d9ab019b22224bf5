/*
 * store_core_sql_int.h - the operations of the core tables (store_core_sql.c), written once
 * against the SQL driver for every backend, as a backend's table names them. Included only by
 * the files of the store's backends; store thread only, inside the batch transaction (each
 * operation in its own savepoint). The request types and their ownership are store.h's.
 */
#ifndef SG_STORE_CORE_SQL_INT_H
#define SG_STORE_CORE_SQL_INT_H

#include "store/sqlite_int.h"

int store_core__account_create(store_conn *c, store_account_create_req *r);
int store_core__account_list(store_conn *c, store_account_list_req *r);
int store_core__auth_lookup(store_conn *c, store_auth_lookup_req *r);
int store_core__credential_create(store_conn *c, store_credential_create_req *r);
int store_core__credential_state(store_conn *c, store_credential_state_req *r);
int store_core__service_get(store_conn *c, store_service_get_req *r);
int store_core__service_list(store_conn *c, store_service_list_req *r);
int store_core__service_update(store_conn *c, store_service_update_req *r);
int store_core__credit_adjust(store_conn *c, store_credit_adjust_req *r);
int store_core__ledger(store_conn *c, store_ledger_req *r);
int store_core__sender_create(store_conn *c, store_sender_req *r);
int store_core__sender_get(store_conn *c, store_sender_req *r);
int store_core__sender_update(store_conn *c, store_sender_req *r);
int store_core__sender_delete(store_conn *c, store_sender_req *r);
int store_core__sender_list(store_conn *c, store_sender_list_req *r);
int store_core__sender_history(store_conn *c, store_sender_history_req *r);
int store_core__submit(store_conn *c, store_submit_req *r);
int store_core__msg_get(store_conn *c, store_msg_req *r);
int store_core__msg_cancel(store_conn *c, store_msg_req *r);
int store_core__msg_delete(store_conn *c, store_msg_req *r);
int store_core__outgoing_list(store_conn *c, store_outgoing_filter *r);
int store_core__claim(store_conn *c, store_claim_req *r);
int store_core__status(store_conn *c, store_status_req *r);
int store_core__sim_accept(store_conn *c, store_sim_accept_req *r);
int store_core__recover(store_conn *c, store_recover_req *r);

/* A backend's table names the implementation of each operation be_<op>. */
#define be_account_create store_core__account_create
#define be_account_list store_core__account_list
#define be_auth_lookup store_core__auth_lookup
#define be_credential_create store_core__credential_create
#define be_credential_state store_core__credential_state
#define be_service_get store_core__service_get
#define be_service_list store_core__service_list
#define be_service_update store_core__service_update
#define be_credit_adjust store_core__credit_adjust
#define be_ledger store_core__ledger
#define be_sender_create store_core__sender_create
#define be_sender_get store_core__sender_get
#define be_sender_update store_core__sender_update
#define be_sender_delete store_core__sender_delete
#define be_sender_list store_core__sender_list
#define be_sender_history store_core__sender_history
#define be_submit store_core__submit
#define be_msg_get store_core__msg_get
#define be_msg_cancel store_core__msg_cancel
#define be_msg_delete store_core__msg_delete
#define be_outgoing_list store_core__outgoing_list
#define be_claim store_core__claim
#define be_status store_core__status
#define be_sim_accept store_core__sim_accept
#define be_recover store_core__recover

#endif
