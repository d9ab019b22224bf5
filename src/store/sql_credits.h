/*
 * sql_credits.h - the SQL texts of the credits area (prices, orders, automatic top-ups),
 * written once for every backend under the rules of sql_msg.h ($1..$n in order of first use,
 * no boolean-typed integers, no casts; what differs is marked "dialect:" in the backend).
 * Driven today by sqlite_credits.c.
 *
 * The texts ending in _pg are PostgreSQL's variants of the one before them (dialect: chosen
 * with sqldrv_dialect()): the same rows, locked, because several nodes write at once there
 * (sqlite_credits.c, "Several nodes"). SQLite has one writer and runs the plain ones.
 */
#ifndef SG_STORE_SQL_CREDITS_H
#define SG_STORE_SQL_CREDITS_H

/* The price of one part to country $1 (a lower-case region code, "" for none). */
extern const char sql_price_rate[];
/* The VAT of billing country $1, in basis points. */
extern const char sql_price_vat[];
/* The packs of billing country $1: quantity, price, by quantity. */
extern const char sql_price_packs[];
/* The price of the pack of billing country $1 and quantity $2. */
extern const char sql_price_pack[];
/* Every destination price: country, credits, updated_ms. */
extern const char sql_price_rates_all[];
/* Every billing country: billing, vat_bp. */
extern const char sql_price_vat_all[];
/* Back to the built-in price of country $1. */
extern const char sql_price_rate_delete[];
/* Sets the price of country $1 to $2 credits at $3 (an upsert both dialects accept). */
extern const char sql_price_rate_put[];
/* Sets the price $1 of the pack of billing country $2 and quantity $3. */
extern const char sql_price_pack_set[];
/* Sets the VAT $1 of billing country $2. */
extern const char sql_price_vat_set[];
/* Order $1, of service $2 unless that is 0 (columns of read_order in sqlite_credits.c). */
extern const char sql_order_get[];
/* A new order: service_id, created_ms, quantity, billing, currency, price, tax, vat_bp,
 * automatic, hook_state, hook_due_ms. Ends with SQLDRV_RETURNING_ID: run it with
 * sqldrv_insert(). */
extern const char sql_order_insert[];
/* What paying order $1 reads: status, service_id, quantity, automatic. */
extern const char sql_order_for_pay[];
extern const char sql_order_for_pay_pg[]; /* dialect: the order's row locked */
/* Order $4 paid at $1 by means $2 with reference $3; out of the payment hook's hands. */
extern const char sql_order_paid[];
/* The status of order $1 (before it changes). */
extern const char sql_order_status[];
extern const char sql_order_status_pg[]; /* dialect: the order's row locked */
/* Order $1 cancelled; out of the payment hook's hands. */
extern const char sql_order_cancelled[];
/* The orders of service name $1 (NULL: all) in status $2 (< 0: any), oldest first. */
extern const char sql_order_list[];
/* Orders due for the payment hook at $1 and not leased, at most $2. */
extern const char sql_order_hook_due[];
/* dialect: the same, locked, skipping the orders another node's claim holds */
extern const char sql_order_hook_due_pg[];
/* Leases an order to the payment hook until $1: order $2. */
extern const char sql_order_hook_lease[];
/* The payment hook answered about order $3: again at $2 when $1 (retry) is not 0, else done. */
extern const char sql_order_hook_answered[];
/* The credits settings: payment_hook (0/1), billing country (an upsert both dialects accept). */
extern const char sql_credit_settings_put[];
/* The automatic top-up of service $1: recredit_amount, recredit_threshold, name. */
extern const char sql_credits_topup_of[];
/* An unpaid automatic order of service $1, if any. */
extern const char sql_order_auto_waiting[];
/* The credits settings: payment_hook, billing. */
extern const char sql_credit_settings_get[];

#endif
