/*
 * sql_credits.c - the shared SQL texts of sql_credits.h (prices, orders, top-ups). Data only.
 */
#include "store/sql_credits.h"

#include "store/sqldrv.h"

#define ORDER_COLS                                                                          \
    "o.id, o.service_id, o.created_ms, o.quantity, s.name, o.billing, o.currency, o.price, " \
    "o.tax, o.vat_bp, o.automatic, o.status, o.paid_ms, o.means, o.reference, o.hook_state, " \
    "o.hook_attempts FROM orders o JOIN services s ON s.id = o.service_id "

const char sql_price_rate[] =
    "SELECT credits FROM price_rates WHERE country = $1";

const char sql_price_vat[] =
    "SELECT vat_bp FROM price_vat WHERE billing = $1";

const char sql_price_packs[] =
    "SELECT quantity, price FROM price_packs WHERE billing = $1 ORDER BY quantity";

const char sql_price_pack[] =
    "SELECT price FROM price_packs WHERE billing = $1 AND quantity = $2";

const char sql_price_rates_all[] =
    "SELECT country, credits, updated_ms FROM price_rates ORDER BY country";

const char sql_price_vat_all[] =
    "SELECT billing, vat_bp FROM price_vat ORDER BY billing";

const char sql_price_rate_delete[] =
    "DELETE FROM price_rates WHERE country = $1";

const char sql_price_rate_put[] =
    "INSERT INTO price_rates(country, credits, updated_ms) VALUES ($1, $2, $3) ON "
    "CONFLICT(country) DO UPDATE SET credits = excluded.credits, updated_ms = "
    "excluded.updated_ms";

const char sql_price_pack_set[] =
    "UPDATE price_packs SET price = $1 WHERE billing = $2 AND quantity = $3";

const char sql_price_vat_set[] =
    "UPDATE price_vat SET vat_bp = $1 WHERE billing = $2";

const char sql_order_get[] =
    "SELECT " ORDER_COLS "WHERE o.id = $1 AND ($2 = 0 OR o.service_id = $2)";

const char sql_order_insert[] =
    "INSERT INTO orders(service_id, created_ms, quantity, billing, currency, price, tax, "
    "vat_bp, automatic, hook_state, hook_due_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    "$10, $11)" SQLDRV_RETURNING_ID;

const char sql_order_for_pay[] =
    "SELECT status, service_id, quantity, automatic FROM orders WHERE id = $1";

const char sql_order_for_pay_pg[] =
    "SELECT status, service_id, quantity, automatic FROM orders WHERE id = $1 "
    "FOR NO KEY UPDATE";

const char sql_order_paid[] =
    "UPDATE orders SET status = 1, paid_ms = $1, means = $2, reference = $3, hook_state = "
    "CASE WHEN hook_state = 1 THEN 2 ELSE hook_state END, hook_lease_ms = NULL WHERE id = $4";

const char sql_order_status[] =
    "SELECT status FROM orders WHERE id = $1";

const char sql_order_status_pg[] =
    "SELECT status FROM orders WHERE id = $1 FOR NO KEY UPDATE";

const char sql_order_cancelled[] =
    "UPDATE orders SET status = 2, hook_lease_ms = NULL, hook_state = CASE WHEN hook_state = "
    "1 THEN 2 ELSE hook_state END WHERE id = $1";

const char sql_order_list[] =
    "SELECT " ORDER_COLS "WHERE (s.name = $1 OR $1 IS NULL) AND ($2 < 0 OR o.status = $2) "
    "ORDER BY o.id";

const char sql_order_hook_due[] =
    "SELECT id FROM orders WHERE hook_state = 1 AND status = 0 AND hook_due_ms <= $1 AND "
    "(hook_lease_ms IS NULL OR hook_lease_ms <= $1) ORDER BY hook_due_ms, id LIMIT $2";

const char sql_order_hook_due_pg[] =
    "SELECT id FROM orders WHERE hook_state = 1 AND status = 0 AND hook_due_ms <= $1 AND "
    "(hook_lease_ms IS NULL OR hook_lease_ms <= $1) ORDER BY hook_due_ms, id LIMIT $2 "
    "FOR UPDATE SKIP LOCKED";

const char sql_order_hook_lease[] =
    "UPDATE orders SET hook_lease_ms = $1, hook_attempts = hook_attempts + 1 WHERE id = $2";

const char sql_order_hook_answered[] =
    "UPDATE orders SET hook_lease_ms = NULL, hook_state = CASE WHEN $1 <> 0 THEN 1 ELSE 2 "
    "END, hook_due_ms = CASE WHEN $1 <> 0 THEN $2 ELSE hook_due_ms END WHERE id = $3";

const char sql_credit_settings_put[] =
    "INSERT INTO credit_settings(id, payment_hook, billing) VALUES (1, $1, $2) ON "
    "CONFLICT(id) DO UPDATE SET payment_hook = excluded.payment_hook, billing = "
    "excluded.billing";

const char sql_credits_topup_of[] =
    "SELECT recredit_amount, recredit_threshold, name FROM services WHERE id = $1";

const char sql_order_auto_waiting[] =
    "SELECT id FROM orders WHERE service_id = $1 AND automatic = 1 AND status = 0 LIMIT 1";

const char sql_credit_settings_get[] =
    "SELECT payment_hook, billing FROM credit_settings WHERE id = 1";
