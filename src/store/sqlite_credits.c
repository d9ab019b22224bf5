/*
 * sqlite_credits.c - the credits area of the SQLite backend: price tables, purchase orders,
 * automatic top-ups and the payment hook's queue (store_credits.h; docs/credits.md).
 *
 * Design. Prices are data, changed by the operator at run time (`smsctl price`):
 *   price_rates   credits per SMS part for the destinations the operator priced; every other
 *                 destination costs the built-in rate of core/price.c (with the `rates`
 *                 setting), so the table starts empty and still covers sms.CountryEnum;
 *   price_vat     one row per billing country (sms.BillingCountryEnum) with its VAT rate;
 *   price_packs   the price of each sms.PackQuantityEnum pack in the billing country's
 *                 currency, without tax. Seeded flat (the same price per credit for every
 *                 size), so the price of N credits is the same read from any route.
 * Sending reads price_rates inside a submit's transaction (sqlite__credits_rate), so a
 * price change is atomic with sends: a send is priced entirely before or after it.
 *
 * An order is a purchase of `quantity` credits at a price fixed when it is created. It adds
 * credits only when paid, through sqlite__ledger_add (the ledger's only writer), with kind
 * "purchase" (ordered by the customer) or "topup" (automatic) and ref "order:<id>".
 *
 * States of an order and the function performing each transition:
 *
 *     insert_order()             pay()
 *   ----------------> UNPAID ----------------> PAID
 *                       |    cancel_order(), or the hook answered "refused"
 *                       +----------------------> CANCELLED
 *
 * and, beside it, its state towards the payment hook: NONE (no hook involved), PENDING (due to
 * be handed to the hook at hook_due_ms; claimed with a lease by sqlite__order_hook_claim), DONE
 * (the hook answered, or the order was settled by other means).
 *
 * Automatic top-up: a submit calls sqlite__credits_after_debit() right after the debit, in the
 * same transaction. When that debit took the balance from at least the service's threshold to
 * below it, one automatic order for recredit_amount is created; without a payment hook it is
 * paid at once by the built-in "account" means (so the credits are there when the send's
 * transaction commits), with one it is queued for the hook. The store runs every operation on
 * one thread, one after another, so however many sends race, each debit sees the balance the
 * previous one left: one crossing makes exactly one order.
 *
 * Invariants:
 *  1. Paying is the only way an order changes the ledger, and it does so once: pay() appends
 *     the row and marks the order paid in the same savepoint; a paid order is never paid
 *     again, and the unique index ledger_order_once refuses a second "order:<id>" row even if
 *     code ever tried.
 *  2. An order's status only moves UNPAID -> PAID or UNPAID -> CANCELLED.
 *  3. A service has at most one unpaid automatic order: while one waits for its payment, a
 *     further crossing creates none (no storm of orders while the hook is slow).
 *  4. An order's price, tax and currency never change after insert_order().
 *
 * The statements are sql_credits.h's, written once for both SQL dialects; this file drives
 * them through the SQL driver only (sqldrv.h), so its operations are the same for every
 * backend (its migrations above are SQLite's, dialect: they are to move to schema_sqlite.c;
 * PostgreSQL's are in schema_pg.c).
 *
 * Several nodes (PostgreSQL). Invariants 1-3 and "one crossing makes exactly one order" rest
 * on each writer seeing what the previous one left. SQLite's one store thread gives that; on
 * PostgreSQL, where several nodes write at once, the rows are locked first (dialect: the
 * _pg texts of sql_credits.h, chosen with sqldrv_dialect()):
 *   - paying and cancelling read the order's status with its row locked (sql_order_for_pay_pg,
 *     sql_order_status_pg), so a pay and a cancel, or two pays, of one order follow each
 *     other and the second sees the first's outcome (already paid, or refused);
 *   - every ledger row is appended to a balance read with sqlite__balance_for_write(), which
 *     locks the service's row (sqlite_util.c): a debit's top-up check (the unpaid automatic
 *     order, sqlite__credits_after_debit) then runs while this transaction holds the service,
 *     provided the debit read its balance that way (be_submit, campaign_send);
 *   - the payment hook's claim skips the orders another node's claim holds
 *     (sql_order_hook_due_pg, FOR UPDATE SKIP LOCKED).
 */
#include "store/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/price.h"
#include "store/sql_credits.h"
#include "store/sqldrv.h"
#include "store/sqlite_credits_int.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "store.credits"

const char *const sqlite_credits_migrations[] = {
    /* 1: price tables (seeded), orders, settings */
    "CREATE TABLE price_rates ("
    "  country TEXT PRIMARY KEY, credits INTEGER NOT NULL CHECK (credits >= 0),"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE TABLE price_vat ("
    "  billing TEXT PRIMARY KEY, vat_bp INTEGER NOT NULL CHECK (vat_bp BETWEEN 0 AND 10000));"
    "CREATE TABLE price_packs ("
    "  billing TEXT NOT NULL REFERENCES price_vat(billing), quantity INTEGER NOT NULL,"
    "  price INTEGER NOT NULL CHECK (price >= 0), PRIMARY KEY (billing, quantity));"
    "INSERT INTO price_vat VALUES ('es', 2100), ('fr', 2000), ('gb', 2000), ('ie', 2300),"
    "  ('it', 2200), ('pl', 2300);"
    /* Default price per credit: 0.07 EUR, 0.06 GBP, 0.30 PLN (micro-units), flat. */
    "WITH unit(billing, micro) AS (VALUES ('es', 70000), ('fr', 70000), ('gb', 60000),"
    "    ('ie', 70000), ('it', 70000), ('pl', 300000)),"
    "  sizes(n) AS (VALUES (100), (200), (250), (500), (1000), (2500), (5000), (10000),"
    "    (25000), (50000), (100000), (1000000))"
    "INSERT INTO price_packs(billing, quantity, price)"
    "  SELECT unit.billing, sizes.n, sizes.n * unit.micro FROM unit, sizes;"
    "CREATE TABLE orders ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id),"
    "  created_ms INTEGER NOT NULL, quantity INTEGER NOT NULL CHECK (quantity > 0),"
    "  billing TEXT NOT NULL, currency TEXT NOT NULL, price INTEGER NOT NULL,"
    "  tax INTEGER NOT NULL, vat_bp INTEGER NOT NULL, automatic INTEGER NOT NULL DEFAULT 0,"
    "  status INTEGER NOT NULL DEFAULT 0, paid_ms INTEGER, means TEXT, reference TEXT,"
    "  hook_state INTEGER NOT NULL DEFAULT 0, hook_attempts INTEGER NOT NULL DEFAULT 0,"
    "  hook_due_ms INTEGER, hook_lease_ms INTEGER);"
    "CREATE INDEX orders_service ON orders(service_id, id);"
    "CREATE INDEX orders_hook ON orders(hook_due_ms) WHERE hook_state = 1;"
    "CREATE UNIQUE INDEX ledger_order_once ON ledger(ref) WHERE kind IN ('purchase', 'topup');"
    "CREATE TABLE credit_settings ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), payment_hook INTEGER NOT NULL,"
    "  billing TEXT NOT NULL);",
};

/* ---- prices ---- */

int sqlite__credits_rate(store_conn *c, const char *region, int64_t *milli, int *from_store) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_price_rate);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, region ? region : "");
    int rc = sqldrv_step(c, st);
    if (rc == 1) {
        *milli = sqldrv_col_int(st, 0);
        sqldrv_reset(st);
        if (from_store) *from_store = 1;
        return 0;
    }
    sqldrv_reset(st);
    if (rc < 0) return rc; /* logged by the driver */
    *milli = llround(price_credits_per_part(region) * 1000.0);
    if (from_store) *from_store = 0;
    return 0;
}

static int vat_of(store_conn *c, const char *billing, int64_t *vat_bp) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_price_vat);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, billing);
    int found = sqldrv_step(c, st) == 1;
    if (found) *vat_bp = sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    return found ? 0 : SG_ENOTFOUND;
}

static int packs_of(store_conn *c, const char *billing, size_t *n, int64_t *qty, int64_t *price) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_price_packs);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, billing);
    *n = 0;
    while (*n < STORE_PACKS_MAX && sqldrv_step(c, st) == 1) {
        qty[*n] = sqldrv_col_int(st, 0);
        price[*n] = sqldrv_col_int(st, 1);
        (*n)++;
    }
    sqldrv_reset(st);
    return 0;
}

static int pack_price(store_conn *c, const char *billing, int64_t quantity, int64_t *price) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_price_pack);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, billing);
    sqldrv_bind_int(st, 2, quantity);
    int found = sqldrv_step(c, st) == 1;
    if (found) *price = sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    return found ? 0 : SG_ENOTFOUND;
}

int sqlite__price_get(store_conn *c, store_price_get_req *r) {
    int rc;
    if (r->country &&
        (rc = sqlite__credits_rate(c, r->country, &r->credits, &r->credits_from_store)))
        return rc;
    if (!r->billing) return 0;
    if ((rc = vat_of(c, r->billing, &r->vat_bp))) return rc;
    return packs_of(c, r->billing, &r->npacks, r->pack_quantity, r->pack_price);
}

int sqlite__price_list(store_conn *c, store_price_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_price_rates_all);
    if (!st) return SG_EIO;
    size_t cap = 16;
    r->dests = sg_xcalloc(cap, sizeof *r->dests);
    r->ndests = 0;
    while (sqldrv_step(c, st) == 1) {
        if (r->ndests == cap) r->dests = sg_xrealloc(r->dests, (cap *= 2) * sizeof *r->dests);
        store_price_dest *d = &r->dests[r->ndests++];
        snprintf(d->country, sizeof d->country, "%s", sqldrv_col_str(st, 0));
        d->credits = sqldrv_col_int(st, 1);
        d->updated_ms = sqldrv_col_int(st, 2);
    }
    sqldrv_reset(st);
    st = sqldrv_prep(c, sql_price_vat_all);
    if (!st) return SG_EIO;
    cap = 8;
    r->billing = sg_xcalloc(cap, sizeof *r->billing);
    r->nbilling = 0;
    while (sqldrv_step(c, st) == 1) {
        if (r->nbilling == cap)
            r->billing = sg_xrealloc(r->billing, (cap *= 2) * sizeof *r->billing);
        store_price_billing *b = &r->billing[r->nbilling++];
        memset(b, 0, sizeof *b);
        snprintf(b->country, sizeof b->country, "%s", sqldrv_col_str(st, 0));
        b->vat_bp = sqldrv_col_int(st, 1);
    }
    sqldrv_reset(st);
    for (size_t i = 0; i < r->nbilling; i++) {
        store_price_billing *b = &r->billing[i];
        int rc = packs_of(c, b->country, &b->npacks, b->pack_quantity, b->pack_price);
        if (rc) return rc;
    }
    return 0;
}

int sqlite__price_set(store_conn *c, store_price_set_req *r) {
    sqldrv_stmt *st;
    int rc;
    switch (r->what) {
    case STORE_PRICE_DEST:
        if (r->reset) {
            st = sqldrv_prep(c, sql_price_rate_delete);
            if (!st) return SG_EIO;
            sqldrv_bind_text(st, 1, r->country);
            return sqldrv_done(c, st, "Resetting a destination's price");
        }
        st = sqldrv_prep(c, sql_price_rate_put);
        if (!st) return SG_EIO;
        sqldrv_bind_text(st, 1, r->country);
        sqldrv_bind_int(st, 2, r->value);
        sqldrv_bind_int(st, 3, sg_now_ms());
        return sqldrv_done(c, st, "Setting a destination's price");
    case STORE_PRICE_PACK:
        st = sqldrv_prep(c, sql_price_pack_set);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, r->value);
        sqldrv_bind_text(st, 2, r->country);
        sqldrv_bind_int(st, 3, r->quantity);
        if ((rc = sqldrv_done(c, st, "Setting a pack's price"))) return rc;
        return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
    case STORE_PRICE_VAT:
        st = sqldrv_prep(c, sql_price_vat_set);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, r->value);
        sqldrv_bind_text(st, 2, r->country);
        if ((rc = sqldrv_done(c, st, "Setting a VAT rate"))) return rc;
        return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
    default:
        return SG_EINVAL;
    }
}

/* ---- orders ---- */

/* The columns of sql_order_get and sql_order_list, in order. */
static void read_order(sqldrv_stmt *st, store_order *o) {
    o->id = sqldrv_col_int(st, 0);
    o->service_id = sqldrv_col_int(st, 1);
    o->created_ms = sqldrv_col_int(st, 2);
    o->quantity = sqldrv_col_int(st, 3);
    o->service_name = sqldrv_col_text(st, 4);
    snprintf(o->billing, sizeof o->billing, "%s", sqldrv_col_str(st, 5));
    snprintf(o->currency, sizeof o->currency, "%s", sqldrv_col_str(st, 6));
    o->price = sqldrv_col_int(st, 7);
    o->tax = sqldrv_col_int(st, 8);
    o->vat_bp = sqldrv_col_int(st, 9);
    o->automatic = (int)sqldrv_col_int(st, 10);
    o->status = (store_order_status)sqldrv_col_int(st, 11);
    o->paid_ms = sqldrv_col_int(st, 12);
    o->means = sqldrv_col_text(st, 13);
    o->reference = sqldrv_col_text(st, 14);
    o->hook_state = (store_hook_state)sqldrv_col_int(st, 15);
    o->hook_attempts = (int)sqldrv_col_int(st, 16);
}

/* Reads order id (of service_id, unless 0) into *o (fini'd first). */
static int load_order(store_conn *c, int64_t id, int64_t service_id, store_order *o) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_order_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, id);
    sqldrv_bind_int(st, 2, service_id);
    store_order_fini(o);
    int found = sqldrv_step(c, st) == 1;
    if (found) read_order(st, o);
    sqldrv_reset(st);
    return found ? 0 : SG_ENOTFOUND;
}

/* UNPAID: a new order priced from the pack table now. */
static int insert_order(store_conn *c, int64_t service_id, int64_t quantity, const char *billing,
                        int automatic, int hook, int64_t *id) {
    const char *currency = price_billing_currency(billing);
    int64_t price, vat;
    int rc;
    if (!currency) return SG_ENOTFOUND;
    if ((rc = pack_price(c, billing, quantity, &price)) || (rc = vat_of(c, billing, &vat)))
        return rc;
    int64_t now = sg_now_ms();
    sqldrv_stmt *st = sqldrv_prep(c, sql_order_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_int(st, 2, now);
    sqldrv_bind_int(st, 3, quantity);
    sqldrv_bind_text(st, 4, billing);
    sqldrv_bind_text(st, 5, currency);
    sqldrv_bind_int(st, 6, price);
    sqldrv_bind_int(st, 7, price_tax(price, vat));
    sqldrv_bind_int(st, 8, vat);
    sqldrv_bind_int(st, 9, automatic);
    sqldrv_bind_int(st, 10, hook ? STORE_HOOK_PENDING : STORE_HOOK_NONE);
    if (hook) sqldrv_bind_int(st, 11, now);
    else sqldrv_bind_null(st, 11);
    rc = sqldrv_insert(c, st, "Creating an order", id);
    if (rc == 0) store__count(c->handoff, STORE_COUNT_ORDER_CREATED, 1);
    return rc;
}

/* The text that reads an order's status before changing it. dialect: PostgreSQL locks the
 * order's row (the essay, "Several nodes"). */
static const char *order_status(store_conn *c) {
    return sqldrv_dialect(c) == SQLDRV_POSTGRES ? sql_order_status_pg : sql_order_status;
}

/* UNPAID -> PAID: the credits go to the ledger, once (invariant 1). */
static int pay(store_conn *c, int64_t id, const char *means, const char *reference, int *already,
               int64_t *balance) {
    /* dialect: PostgreSQL locks the order's row (the essay, "Several nodes") */
    sqldrv_stmt *st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES ? sql_order_for_pay_pg
                                                                         : sql_order_for_pay);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, id);
    if (sqldrv_step(c, st) != 1) {
        sqldrv_reset(st);
        return SG_ENOTFOUND;
    }
    int status = (int)sqldrv_col_int(st, 0);
    int64_t service_id = sqldrv_col_int(st, 1), quantity = sqldrv_col_int(st, 2);
    int automatic = (int)sqldrv_col_int(st, 3);
    sqldrv_reset(st);
    *already = 0;
    if (status == STORE_ORDER_PAID) {
        *already = 1;
        *balance = sqlite__balance(c, service_id);
        return 0;
    }
    if (status != STORE_ORDER_UNPAID) return SG_ECONFLICT;
    char ref[48];
    snprintf(ref, sizeof ref, "order:%lld", (long long)id);
    int rc = sqlite__ledger_add(c, service_id, quantity * 1000, automatic ? "topup" : "purchase",
                                ref, balance);
    if (rc) return rc;
    st = sqldrv_prep(c, sql_order_paid);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sg_now_ms());
    sqldrv_bind_text(st, 2, means);
    sqldrv_bind_text(st, 3, reference);
    sqldrv_bind_int(st, 4, id);
    rc = sqldrv_done(c, st, "Marking an order paid");
    if (rc == 0) store__count(c->handoff, STORE_COUNT_ORDER_PAID, 1);
    return rc;
}

/* UNPAID -> CANCELLED. */
static int cancel_order(store_conn *c, int64_t id, int *already) {
    sqldrv_stmt *st = sqldrv_prep(c, order_status(c));
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, id);
    if (sqldrv_step(c, st) != 1) {
        sqldrv_reset(st);
        return SG_ENOTFOUND;
    }
    int status = (int)sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    *already = status == STORE_ORDER_CANCELLED;
    if (*already) return 0;
    if (status != STORE_ORDER_UNPAID) return SG_ECONFLICT;
    st = sqldrv_prep(c, sql_order_cancelled);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, id);
    int rc = sqldrv_done(c, st, "Cancelling an order");
    if (rc == 0) store__count(c->handoff, STORE_COUNT_ORDER_CANCELLED, 1);
    return rc;
}

int sqlite__order_create(store_conn *c, store_order_create_req *r) {
    int64_t id;
    int rc = insert_order(c, r->service_id, r->quantity, r->billing, 0, r->hook, &id);
    if (rc) return rc;
    return load_order(c, id, 0, &r->order);
}

int sqlite__order_get(store_conn *c, store_order_get_req *r) {
    return load_order(c, r->id, r->service_id, &r->order);
}

int sqlite__order_list(store_conn *c, store_order_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_order_list);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->service_name);
    sqldrv_bind_int(st, 2, r->status);
    size_t cap = 16;
    r->orders = sg_xcalloc(cap, sizeof *r->orders);
    r->count = 0;
    while (sqldrv_step(c, st) == 1) {
        if (r->count == cap) {
            r->orders = sg_xrealloc(r->orders, 2 * cap * sizeof *r->orders);
            memset(r->orders + cap, 0, cap * sizeof *r->orders);
            cap *= 2;
        }
        read_order(st, &r->orders[r->count++]);
    }
    sqldrv_reset(st);
    if (r->service_name && r->count == 0 && !sqlite__service_id(c, r->service_name))
        return SG_ENOTFOUND;
    return 0;
}

int sqlite__order_pay(store_conn *c, store_order_pay_req *r) {
    int rc = pay(c, r->id, r->means, r->reference, &r->already, &r->balance);
    if (rc) return rc;
    return load_order(c, r->id, 0, &r->order);
}

int sqlite__order_cancel(store_conn *c, store_order_cancel_req *r) {
    int rc = cancel_order(c, r->id, &r->already);
    if (rc) return rc;
    return load_order(c, r->id, 0, &r->order);
}

int sqlite__order_hook_claim(store_conn *c, store_order_hook_claim_req *r) {
    /* dialect: PostgreSQL skips what another node's claim holds (the essay, "Several nodes") */
    sqldrv_stmt *st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES ? sql_order_hook_due_pg
                                                                         : sql_order_hook_due);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    sqldrv_bind_int(st, 2, (int64_t)r->limit);
    size_t limit = r->limit ? r->limit : 1;
    int64_t *ids = sg_xcalloc(limit, sizeof *ids);
    size_t n = 0;
    while (n < r->limit && sqldrv_step(c, st) == 1) ids[n++] = sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    r->orders = sg_xcalloc(limit, sizeof *r->orders);
    r->count = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        st = sqldrv_prep(c, sql_order_hook_lease);
        if (!st) {
            rc = SG_EIO;
            break;
        }
        sqldrv_bind_int(st, 1, r->now_ms + r->lease_ms);
        sqldrv_bind_int(st, 2, ids[i]);
        if ((rc = sqldrv_done(c, st, "Leasing an order to the payment hook"))) break;
        rc = load_order(c, ids[i], 0, &r->orders[r->count++]);
    }
    free(ids);
    return rc;
}

int sqlite__order_hook_result(store_conn *c, store_order_hook_result_req *r) {
    r->paid = 0;
    for (size_t i = 0; i < r->count; i++) {
        const store_hook_answer *h = &r->answers[i];
        sqldrv_stmt *st = sqldrv_prep(c, order_status(c));
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, h->id);
        int found = sqldrv_step(c, st) == 1;
        int status = found ? (int)sqldrv_col_int(st, 0) : -1;
        sqldrv_reset(st);
        if (!found) continue;
        int rc = 0, already = 0;
        int64_t balance;
        if (status == STORE_ORDER_UNPAID && h->outcome == STORE_HOOK_PAID) {
            rc = pay(c, h->id, "hook", h->reference, &already, &balance);
            if (rc == 0 && !already) r->paid++;
        } else if (status == STORE_ORDER_UNPAID && h->outcome == STORE_HOOK_REFUSED) {
            rc = cancel_order(c, h->id, &already);
        }
        if (rc) return rc;
        int retry = status == STORE_ORDER_UNPAID && h->outcome == STORE_HOOK_RETRY;
        st = sqldrv_prep(c, sql_order_hook_answered);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, retry);
        sqldrv_bind_int(st, 2, h->retry_at_ms);
        sqldrv_bind_int(st, 3, h->id);
        if ((rc = sqldrv_done(c, st, "Recording the payment hook's answer"))) return rc;
    }
    return 0;
}

int sqlite__credits_configure(store_conn *c, store_credits_configure_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_credit_settings_put);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->payment_hook);
    sqldrv_bind_text(st, 2, r->billing ? r->billing : "fr");
    return sqldrv_done(c, st, "Storing the credits settings");
}

/* ---- automatic top-up ---- */

int sqlite__credits_after_debit(store_conn *c, int64_t service_id, int64_t before,
                                int64_t *balance) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_credits_topup_of);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    if (sqldrv_step(c, st) != 1) {
        sqldrv_reset(st);
        return 0;
    }
    int64_t amount = sqldrv_col_int(st, 0), threshold = sqldrv_col_int(st, 1);
    char name[96];
    snprintf(name, sizeof name, "%s", sqldrv_col_str(st, 2));
    sqldrv_reset(st);
    return sqlite__credits_after_debit_known(c, service_id, name, amount, threshold, before,
                                             balance);
}

int sqlite__credits_after_debit_known(store_conn *c, int64_t service_id, const char *name,
                                      int64_t amount, int64_t threshold, int64_t before,
                                      int64_t *balance) {
    sqldrv_stmt *st;
    if (amount <= 0 || !(before >= threshold && *balance < threshold)) return 0;

    /* Invariant 3: one unpaid automatic order at a time. */
    st = sqldrv_prep(c, sql_order_auto_waiting);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    int waiting = sqldrv_step(c, st) == 1;
    sqldrv_reset(st);
    if (waiting) {
        sg_log_debug(LOG, "Service '%s' crossed its top-up threshold while an automatic order "
                          "still waits for its payment; no new order.", name);
        return 0;
    }

    int hook = 0;
    char billing[8] = "fr";
    st = sqldrv_prep(c, sql_credit_settings_get);
    if (!st) return SG_EIO;
    if (sqldrv_step(c, st) == 1) {
        hook = (int)sqldrv_col_int(st, 0);
        snprintf(billing, sizeof billing, "%s", sqldrv_col_str(st, 1));
    }
    sqldrv_reset(st);

    int64_t id;
    int rc = insert_order(c, service_id, amount, billing, 1, hook, &id);
    if (rc == SG_ENOTFOUND) {
        /* No pack of that size in the billing country: the send goes on without a top-up. */
        sg_log_error(LOG, "Automatic top-up of service '%s' skipped: no price for a pack of "
                          "%lld credits in billing country '%s'.", name, (long long)amount,
                     billing);
        return 0;
    }
    if (rc) return rc;
    if (!hook) {
        int already;
        if ((rc = pay(c, id, "account", NULL, &already, balance))) return rc;
    }
    sg_log_info(LOG, "Automatic top-up: order %lld of %lld credits for service '%s' (balance "
                     "fell below %g)%s.", (long long)id, (long long)amount, name,
                (double)threshold / 1000.0,
                hook ? ", handed to the payment hook" : ", paid by the account");
    return 0;
}
