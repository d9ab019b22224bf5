/*
 * sqlite_credits_int.h - what the SQLite backend's core files need from the credits area
 * (sqlite_credits.c): its migrations (schema_sqlite.c), the two functions the submit
 * (store_core_sql.c) calls in its transaction (the price of a destination, the automatic
 * top-up after a debit), and the implementations of the STORE_CREDITS_OPS operations
 * (sqlite.c's backend table). Included only by files of the SQLite backend; store thread only.
 */
#ifndef SG_STORE_SQLITE_CREDITS_INT_H
#define SG_STORE_SQLITE_CREDITS_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "credits" schema area, in order. */
#define SQLITE_CREDITS_MIGRATIONS 1
extern const char *const sqlite_credits_migrations[SQLITE_CREDITS_MIGRATIONS];

/* The price of one SMS part to region (a lower-case sms.CountryEnum code; "" or NULL for a
 * number without one) in millicredits: the store's price_rates row, else the built-in rate of
 * core/price.h. *from_store (may be NULL) tells which. Returns 0 or SG_EIO. */
int sqlite__credits_rate(store_conn *c, const char *region, int64_t *milli, int *from_store);

/* Called by the submit right after its debit took service_id's balance from before to
 * *balance: when that crossed the service's top-up threshold, creates the automatic order and,
 * without a payment hook, pays it at once (then *balance includes the credits). Returns 0
 * (also when nothing was due) or an SG_E* code that fails the send. */
int sqlite__credits_after_debit(store_conn *c, int64_t service_id, int64_t before,
                                int64_t *balance);
/* The same, with the service's name and top-up settings (sql_credits_topup_of: amount,
 * threshold) already read in this transaction by the caller (a send on PostgreSQL reads them
 * with its balance: one round trip less). */
int sqlite__credits_after_debit_known(store_conn *c, int64_t service_id, const char *name,
                                      int64_t amount, int64_t threshold, int64_t before,
                                      int64_t *balance);

int sqlite__price_get(store_conn *c, store_price_get_req *r);
int sqlite__price_list(store_conn *c, store_price_list_req *r);
int sqlite__price_set(store_conn *c, store_price_set_req *r);
int sqlite__order_create(store_conn *c, store_order_create_req *r);
int sqlite__order_get(store_conn *c, store_order_get_req *r);
int sqlite__order_list(store_conn *c, store_order_list_req *r);
int sqlite__order_pay(store_conn *c, store_order_pay_req *r);
int sqlite__order_cancel(store_conn *c, store_order_cancel_req *r);
int sqlite__order_hook_claim(store_conn *c, store_order_hook_claim_req *r);
int sqlite__order_hook_result(store_conn *c, store_order_hook_result_req *r);
int sqlite__credits_configure(store_conn *c, store_credits_configure_req *r);

/* sqlite.c's backend table names the implementation of each operation be_<op>. */
#define be_price_get sqlite__price_get
#define be_price_list sqlite__price_list
#define be_price_set sqlite__price_set
#define be_order_create sqlite__order_create
#define be_order_get sqlite__order_get
#define be_order_list sqlite__order_list
#define be_order_pay sqlite__order_pay
#define be_order_cancel sqlite__order_cancel
#define be_order_hook_claim sqlite__order_hook_claim
#define be_order_hook_result sqlite__order_hook_result
#define be_credits_configure sqlite__credits_configure

#endif
