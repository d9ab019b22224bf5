/*
 * test_credits.c - credits against a real SQLite file (store_credits.h, sqlite_credits.c):
 * sends priced from the store's table, orders paid exactly once, automatic top-ups (one order
 * per crossing, with and without a payment hook), and a property test that runs random
 * sequences of sends, cancels, claims, acceptances, failures, deliveries, orders, payments,
 * cancellations, adjustments and price changes against a model of the balance, checking after
 * every step that the balance equals the model and the ledger's sum, and that nothing was
 * charged or refunded twice.
 *
 * Each test opens a fresh database in a temporary directory, queues operations and runs the
 * event loop until their callbacks ran (results are only delivered on the loop thread).
 * Checks read the database file through a second, read-only connection between operations.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "core/price.h"
#include "store/store.h"
#include "util/util.h"

#include "store_fixture.h"

/* One integer from a query on the read-only connection. */
static int64_t q1(store_fixture *f, const char *fmt, ...) {
    char sql[512], v[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    assert_int_equal(store_fixture_query_text(f, sql, v, sizeof v), 0);
    return atoll(v);
}

static int64_t balance(store_fixture *f, int64_t sid) {
    char name[64], sql[96];
    snprintf(sql, sizeof sql, "SELECT name FROM services WHERE id = %lld", (long long)sid);
    assert_int_equal(store_fixture_query_text(f, sql, name, sizeof name), 0);
    store_service_get_req g = {.name = name};
    assert_int_equal(STORE_RUN(f, service_get, &g), 0);
    int64_t b = g.svc.balance;
    store_service_fini(&g.svc);
    return b;
}

static void set_topup(store_fixture *f, int64_t sid, int64_t amount, int64_t threshold) {
    store_service_update_req u = {.service_id = sid, .set_recredit = 1, .recredit_amount = amount,
                                  .set_threshold = 1, .recredit_threshold = threshold};
    assert_int_equal(STORE_RUN(f, service_update, &u), 0);
}

/* The ledger invariants of a service: its balance is the sum of its rows, each row's balance
 * is the previous one plus its amount, no message refunded twice, no order credited twice,
 * and each send's debit equals the credits of its messages. */
static void check_ledger(store_fixture *f, int64_t sid, int64_t expect) {
    int64_t b = balance(f, sid);
    assert_int_equal(b, expect);
    assert_int_equal(q1(f, "SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE service_id = %lld",
                        (long long)sid), expect);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM (SELECT id, balance, amount, LAG(balance, 1, 0) "
                           "OVER (ORDER BY id) AS prev FROM ledger WHERE service_id = %lld) AS l "
                           "WHERE balance != prev + amount", (long long)sid), 0);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM (SELECT ref FROM ledger WHERE kind = 'refund' "
                           "GROUP BY ref HAVING COUNT(*) > 1) AS r"), 0);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM (SELECT ref FROM ledger WHERE kind IN "
                           "('purchase', 'topup') GROUP BY ref HAVING COUNT(*) > 1) AS r"), 0);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM sends s WHERE s.service_id = %lld AND "
                           "(SELECT COALESCE(-SUM(amount), 0) FROM ledger l WHERE l.kind = 'debit' "
                           "AND l.ref = 'send:' || s.id) != (SELECT SUM(credits) FROM messages m "
                           "WHERE m.send_id = s.id)", (long long)sid), 0);
    /* Refunds only ever for messages that were cancelled or failed, each at most its price. */
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM ledger l JOIN messages m ON l.ref = 'message:' "
                           "|| m.id WHERE l.kind = 'refund' AND (m.state NOT IN (6, 7) OR "
                           "l.amount != m.credits)"), 0);
    /* Every paid order has its one ledger row, no other order has one. */
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders o WHERE (o.status = 1) != EXISTS (SELECT 1 "
                           "FROM ledger l WHERE l.ref = 'order:' || o.id AND l.amount = "
                           "o.quantity * 1000)"), 0);
}

/* One send of count messages to region, parts each; returns rc, the first id in *id0. */
static int send_to(store_fixture *f, int64_t sid, const char *region, int count, int parts,
                   int64_t due_in_ms, int64_t *id0, int64_t *total) {
    store_submit_msg m[8];
    memset(m, 0, sizeof m);
    for (int i = 0; i < count; i++) {
        m[i].receiver = "+33612345678";
        m[i].message = "hello";
        m[i].length = 5;
        m[i].parts = parts;
        m[i].region = region;
    }
    store_submit_req r = {.service_id = sid, .sender = "36184", .msgs = m, .count = (size_t)count,
                          .validity_min = 2880, .now_ms = sg_now_ms()};
    r.due_ms = r.now_ms + due_in_ms;
    int rc = STORE_RUN(f, submit, &r);
    if (id0) *id0 = m[0].id;
    if (total) *total = r.total_credits;
    return rc;
}

/* ---- the pure helpers of core/price.h ---- */

static void test_price_facts(void **state) {
    (void)state;
    char buf[64];
    price_format(70000000, "EUR", buf, sizeof buf);
    assert_string_equal(buf, "70.00 €");
    price_format(105000, "EUR", buf, sizeof buf);
    assert_string_equal(buf, "0.105 €");
    price_format(60000, "GBP", buf, sizeof buf);
    assert_string_equal(buf, "£0.06");
    price_format(300000000, "PLN", buf, sizeof buf);
    assert_string_equal(buf, "300.00 zł");
    price_format(1234567, NULL, buf, sizeof buf);
    assert_string_equal(buf, "1.234567");
    price_format(0, "XYZ", buf, sizeof buf);
    assert_string_equal(buf, "0.00 XYZ");
    price_format(70000000, "EUR", buf, 4); /* truncated, still terminated */
    assert_string_equal(buf, "70.");
    /* VAT rounded half up to the cent. */
    assert_int_equal(price_tax(70000000, 2000), 14000000);
    assert_int_equal(price_tax(25000, 2000), 10000);   /* 0.005 -> 0.01 */
    assert_int_equal(price_tax(24999, 2000), 0);       /* 0.0049998 -> 0.00 */
    assert_int_equal(price_tax(100000000000000LL, 10000), 100000000000000LL); /* 10^8, 100 % */
    assert_int_equal(price_tax(123456789, 0), 0);
    /* Country names, packs, billing countries. */
    assert_string_equal(price_country_name("fr"), "France");
    assert_string_equal(price_country_name("de"), "Germany");
    assert_string_equal(price_country_name("an"), "Netherlands Antilles");
    assert_null(price_country_name("zz"));
    assert_null(price_country_name("all"));
    assert_null(price_country_name(NULL));
    size_t n;
    const int64_t *q = price_pack_quantities(&n);
    assert_int_equal(n, 12);
    assert_int_equal(q[0], 100);
    assert_int_equal(q[11], 1000000);
    for (size_t i = 0; i < n; i++) assert_true(price_pack_quantity_valid(q[i]));
    assert_false(price_pack_quantity_valid(150));
    assert_false(price_pack_quantity_valid(0));
    assert_true(price_recredit_amount_valid(10000));
    assert_false(price_recredit_amount_valid(2500)); /* a pack, not an automatic amount */
    assert_string_equal(price_billing_currency("fr"), "EUR");
    assert_string_equal(price_billing_currency("gb"), "GBP");
    assert_string_equal(price_billing_currency("pl"), "PLN");
    assert_string_equal(price_billing_language("ie"), "en");
    assert_null(price_billing_currency("us"));
    assert_false(price_billing_known("de"));
    assert_false(price_billing_known(NULL));
}

/* ---- pricing ---- */

static void test_sends_priced_from_store(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 100000);
    int64_t id, total;
    assert_int_equal(send_to(f, sid, "fr", 1, 1, 0, &id, &total), 0);
    assert_int_equal(total, 1000);
    assert_int_equal(q1(f, "SELECT credits FROM messages WHERE id = %lld", (long long)id), 1000);
    /* Built-in Germany, then the store's price. */
    assert_int_equal(send_to(f, sid, "de", 1, 2, 0, NULL, &total), 0);
    assert_int_equal(total, 2 * llround(price_credits_per_part("de") * 1000.0));
    store_price_set_req ps = {.what = STORE_PRICE_DEST, .country = "de", .value = 2500};
    assert_int_equal(STORE_RUN(f, price_set, &ps), 0);
    assert_int_equal(send_to(f, sid, "de", 3, 2, 0, &id, &total), 0);
    assert_int_equal(total, 3 * 2 * 2500);
    assert_int_equal(q1(f, "SELECT credits FROM messages WHERE id = %lld", (long long)id), 5000);
    store_price_get_req pg = {.country = "de", .billing = "fr"};
    assert_int_equal(STORE_RUN(f, price_get, &pg), 0);
    assert_int_equal(pg.credits, 2500);
    assert_int_equal(pg.credits_from_store, 1);
    assert_int_equal(pg.vat_bp, 2000);
    assert_int_equal(pg.npacks, 12);
    assert_int_equal(pg.pack_quantity[4], 1000);
    assert_int_equal(pg.pack_price[4], 70000000); /* 70.00 EUR */
    /* Back to the built-in rate. */
    ps.reset = 1;
    assert_int_equal(STORE_RUN(f, price_set, &ps), 0);
    store_price_get_req pg2 = {.country = "de"};
    assert_int_equal(STORE_RUN(f, price_get, &pg2), 0);
    assert_int_equal(pg2.credits_from_store, 0);
    /* A number without a country costs the unknown-destination rate. */
    assert_int_equal(send_to(f, sid, "", 1, 1, 0, NULL, &total), 0);
    assert_int_equal(total, llround(price_credits_per_part(NULL) * 1000.0));
    /* Not enough credit for the store's price: refused, nothing written. */
    int64_t before = balance(f, sid);
    ps = (store_price_set_req){.what = STORE_PRICE_DEST, .country = "fr", .value = 999000};
    assert_int_equal(STORE_RUN(f, price_set, &ps), 0);
    assert_int_equal(send_to(f, sid, "fr", 1, 1, 0, NULL, &total), SG_ENOCREDIT);
    assert_int_equal(total, 999000);
    check_ledger(f, sid, before);
    /* Pack and VAT prices; unknown ones are SG_ENOTFOUND. */
    store_price_set_req pp = {.what = STORE_PRICE_PACK, .country = "gb", .quantity = 500,
                              .value = 25500000};
    assert_int_equal(STORE_RUN(f, price_set, &pp), 0);
    pp.quantity = 123;
    assert_int_equal(STORE_RUN(f, price_set, &pp), SG_ENOTFOUND);
    store_price_set_req pv = {.what = STORE_PRICE_VAT, .country = "us", .value = 1000};
    assert_int_equal(STORE_RUN(f, price_set, &pv), SG_ENOTFOUND);
    store_price_list_req pl = {0};
    assert_int_equal(STORE_RUN(f, price_list, &pl), 0);
    assert_int_equal(pl.ndests, 1); /* fr */
    assert_string_equal(pl.dests[0].country, "fr");
    assert_int_equal(pl.nbilling, 6);
    assert_string_equal(pl.billing[2].country, "gb");
    assert_int_equal(pl.billing[2].pack_price[3], 25500000);
    store_price_list_fini(&pl);
}

/* ---- orders ---- */

static void test_order_paid_exactly_once(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 5000);
    store_order_create_req oc = {.service_id = sid, .quantity = 100, .billing = "fr"};
    assert_int_equal(STORE_RUN(f, order_create, &oc), 0);
    int64_t id = oc.order.id;
    assert_true(id > 0);
    assert_int_equal(oc.order.status, STORE_ORDER_UNPAID);
    assert_int_equal(oc.order.price, 7000000);
    assert_int_equal(oc.order.tax, 1400000);
    assert_string_equal(oc.order.currency, "EUR");
    assert_string_equal(oc.order.service_name, "sms-acme-1");
    store_order_fini(&oc.order);
    check_ledger(f, sid, 5000); /* unpaid: nothing added */

    /* Paid twice in one batch, then once more: one ledger row. */
    store_order_pay_req p1 = {.id = id, .means = "smsctl", .reference = "inv-1"};
    store_order_pay_req p2 = {.id = id, .means = "smsctl"};
    store_done d1 = {0}, d2 = {0};
    STORE_QUEUE(f, order_pay, &p1, &d1);
    STORE_QUEUE(f, order_pay, &p2, &d2);
    store_fixture_wait(f);
    assert_int_equal(d1.rc, 0);
    assert_int_equal(d2.rc, 0);
    assert_int_equal(p1.already, 0);
    assert_int_equal(p2.already, 1);
    assert_int_equal(p1.balance, 105000);
    assert_int_equal(p2.balance, 105000);
    assert_string_equal(p2.order.reference, "inv-1");
    store_order_fini(&p1.order);
    store_order_fini(&p2.order);
    store_order_pay_req p3 = {.id = id, .means = "hook"};
    assert_int_equal(STORE_RUN(f, order_pay, &p3), 0);
    assert_int_equal(p3.already, 1);
    store_order_fini(&p3.order);
    check_ledger(f, sid, 105000);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'purchase'"), 1);

    /* A paid order cannot be cancelled; a cancelled one cannot be paid. */
    store_order_cancel_req cc = {.id = id};
    assert_int_equal(STORE_RUN(f, order_cancel, &cc), SG_ECONFLICT);
    store_order_create_req oc2 = {.service_id = sid, .quantity = 250, .billing = "gb"};
    assert_int_equal(STORE_RUN(f, order_create, &oc2), 0);
    assert_string_equal(oc2.order.currency, "GBP");
    store_order_cancel_req cc2 = {.id = oc2.order.id};
    assert_int_equal(STORE_RUN(f, order_cancel, &cc2), 0);
    assert_int_equal(cc2.already, 0);
    store_order_fini(&cc2.order);
    assert_int_equal(STORE_RUN(f, order_cancel, &cc2), 0);
    assert_int_equal(cc2.already, 1);
    store_order_fini(&cc2.order);
    store_order_pay_req p4 = {.id = oc2.order.id, .means = "smsctl"};
    assert_int_equal(STORE_RUN(f, order_pay, &p4), SG_ECONFLICT);
    store_order_fini(&oc2.order);
    store_order_pay_req p5 = {.id = 9999, .means = "smsctl"};
    assert_int_equal(STORE_RUN(f, order_pay, &p5), SG_ENOTFOUND);
    /* A pack size that is not sold. */
    store_order_create_req oc3 = {.service_id = sid, .quantity = 123, .billing = "fr"};
    assert_int_equal(STORE_RUN(f, order_create, &oc3), SG_ENOTFOUND);
    check_ledger(f, sid, 105000);

    store_order_list_req ol = {.status = -1};
    assert_int_equal(STORE_RUN(f, order_list, &ol), 0);
    assert_int_equal(ol.count, 2);
    assert_int_equal(ol.orders[0].status, STORE_ORDER_PAID);
    assert_int_equal(ol.orders[1].status, STORE_ORDER_CANCELLED);
    store_order_list_fini(&ol);
    store_order_list_req ol2 = {.service_name = "sms-nobody-1", .status = -1};
    assert_int_equal(STORE_RUN(f, order_list, &ol2), SG_ENOTFOUND);
    store_order_list_fini(&ol2);
    /* Another service cannot read it. */
    int64_t other = store_fixture_account(f, "other", 0);
    store_order_get_req og = {.service_id = other, .id = id};
    assert_int_equal(STORE_RUN(f, order_get, &og), SG_ENOTFOUND);
    store_order_fini(&og.order);
}

/* ---- automatic top-up ---- */

/* Number of crossings of threshold by n debits of one credit each from start, each crossing
 * adding amount at once (the store serialises the debits, so this is exact). */
static int expected_crossings(int64_t start, int64_t threshold, int64_t amount, int n,
                              int64_t *final) {
    int64_t b = start;
    int k = 0;
    for (int i = 0; i < n; i++) {
        int64_t before = b;
        b -= 1000;
        if (before >= threshold && b < threshold) {
            b += amount;
            k++;
        }
    }
    *final = b;
    return k;
}

static void test_topup_one_order_per_crossing(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 150000);
    set_topup(f, sid, 100, 100000); /* 100 credits below 100 */
    /* 400 sends queued at once: they share batches, and still one order per crossing. */
    enum { N = 400 };
    static store_submit_msg m[N];
    static store_submit_req r[N];
    static store_done d[N];
    for (int i = 0; i < N; i++) {
        m[i] = (store_submit_msg){.receiver = "+33612345678", .message = "x", .length = 1,
                                  .parts = 1, .region = "fr"};
        r[i] = (store_submit_req){.service_id = sid, .sender = "36184", .msgs = &m[i], .count = 1,
                                  .validity_min = 2880, .now_ms = sg_now_ms()};
        r[i].due_ms = r[i].now_ms;
        d[i] = (store_done){0};
        STORE_QUEUE(f, submit, &r[i], &d[i]);
    }
    store_fixture_wait(f);
    for (int i = 0; i < N; i++) assert_int_equal(d[i].rc, 0);
    int64_t final;
    int k = expected_crossings(150000, 100000, 100000, N, &final);
    assert_int_equal(k, 4);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders WHERE automatic = 1"), k);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders WHERE automatic = 1 AND status = 1 AND "
                           "means = 'account'"), k);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'topup'"), k);
    check_ledger(f, sid, final);
    /* Each reported balance is the one right after that send (and its top-up, if any). */
    for (int i = 1; i < N; i++) assert_true(r[i].balance >= 0);
}

static void test_topup_with_payment_hook(void **state) {
    store_fixture *f = *state;
    store_credits_configure_req cf = {.payment_hook = 1, .billing = "gb"};
    assert_int_equal(STORE_RUN(f, credits_configure, &cf), 0);
    int64_t sid = store_fixture_account(f, "acme", 12000);
    set_topup(f, sid, 200, 10000);
    assert_int_equal(send_to(f, sid, "fr", 1, 1, 0, NULL, NULL), 0); /* 12 -> 11 */
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders"), 0);
    assert_int_equal(send_to(f, sid, "fr", 2, 1, 0, NULL, NULL), 0); /* 11 -> 9: crossed */
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders WHERE automatic = 1 AND status = 0 AND "
                           "hook_state = 1 AND currency = 'GBP' AND quantity = 200"), 1);
    check_ledger(f, sid, 9000); /* waits for the hook: no credits yet */
    /* Refunded above the threshold and crossing again: still one unpaid automatic order. */
    store_credit_adjust_req adj = {.service_name = "sms-acme-1", .amount = 5000,
                                   .kind = "adjustment", .ref = "test"};
    assert_int_equal(STORE_RUN(f, credit_adjust, &adj), 0);
    assert_int_equal(send_to(f, sid, "fr", 5, 1, 0, NULL, NULL), 0); /* 14 -> 9 */
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders"), 1);

    /* The hook claims it (leased: a second claim gets nothing), then pays it twice. */
    store_order_hook_claim_req cl = {.now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, order_hook_claim, &cl), 0);
    assert_int_equal(cl.count, 1);
    assert_int_equal(cl.orders[0].hook_attempts, 1);
    int64_t oid = cl.orders[0].id;
    store_order_hook_claim_fini(&cl);
    store_order_hook_claim_req cl2 = {.now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, order_hook_claim, &cl2), 0);
    assert_int_equal(cl2.count, 0);
    store_order_hook_claim_fini(&cl2);
    /* A failed attempt: due again at retry_at, claimable once that is past. */
    store_hook_answer retry = {.id = oid, .outcome = STORE_HOOK_RETRY,
                               .retry_at_ms = sg_now_ms() - 1};
    store_order_hook_result_req rr = {.answers = &retry, .count = 1};
    assert_int_equal(STORE_RUN(f, order_hook_result, &rr), 0);
    store_order_hook_claim_req cl3 = {.now_ms = sg_now_ms(), .lease_ms = 60000, .limit = 10};
    assert_int_equal(STORE_RUN(f, order_hook_claim, &cl3), 0);
    assert_int_equal(cl3.count, 1);
    assert_int_equal(cl3.orders[0].hook_attempts, 2);
    store_order_hook_claim_fini(&cl3);
    store_hook_answer paid[2] = {{.id = oid, .outcome = STORE_HOOK_PAID, .reference = "tx-9"},
                                 {.id = oid, .outcome = STORE_HOOK_PAID, .reference = "tx-9"}};
    store_order_hook_result_req pr = {.answers = paid, .count = 2};
    assert_int_equal(STORE_RUN(f, order_hook_result, &pr), 0);
    assert_int_equal(pr.paid, 1);
    check_ledger(f, sid, 209000);
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders WHERE status = 1 AND means = 'hook' AND "
                           "reference = 'tx-9' AND hook_state = 2"), 1);
    /* A refused order is cancelled; a waiting one stays unpaid and is not asked again. */
    store_order_create_req a = {.service_id = sid, .quantity = 100, .billing = "fr", .hook = 1};
    store_order_create_req b = {.service_id = sid, .quantity = 100, .billing = "fr", .hook = 1};
    assert_int_equal(STORE_RUN(f, order_create, &a), 0);
    assert_int_equal(STORE_RUN(f, order_create, &b), 0);
    store_hook_answer ans[2] = {{.id = a.order.id, .outcome = STORE_HOOK_REFUSED},
                                {.id = b.order.id, .outcome = STORE_HOOK_WAITING}};
    store_order_hook_result_req ar = {.answers = ans, .count = 2};
    assert_int_equal(STORE_RUN(f, order_hook_result, &ar), 0);
    assert_int_equal(q1(f, "SELECT status FROM orders WHERE id = %lld", (long long)a.order.id),
                     STORE_ORDER_CANCELLED);
    assert_int_equal(q1(f, "SELECT status FROM orders WHERE id = %lld", (long long)b.order.id),
                     STORE_ORDER_UNPAID);
    store_order_hook_claim_req cl4 = {.now_ms = sg_now_ms() + 3600000, .lease_ms = 1, .limit = 10};
    assert_int_equal(STORE_RUN(f, order_hook_claim, &cl4), 0);
    assert_int_equal(cl4.count, 0);
    store_order_hook_claim_fini(&cl4);
    store_order_fini(&a.order);
    store_order_fini(&b.order);
    check_ledger(f, sid, 209000);
}

/* ---- the property test ---- */

typedef struct model_msg {
    int64_t id, credits;
    int state;  /* msg_state as the model expects it */
    int sent;   /* an operator accepted it */
} model_msg;

typedef struct model_order {
    int64_t id, quantity;
    int status;
    int automatic;
} model_order;

typedef struct model {
    int64_t balance;
    int64_t de_rate;   /* the store's price for de, 0 = built in */
    int64_t amount, threshold;
    model_msg msgs[4096];
    int nmsgs;
    model_order orders[512];
    int norders;
    uint64_t rng;
} model;

static uint32_t rnd(model *m) {
    m->rng = m->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(m->rng >> 33);
}

static int64_t rate_of(const model *m, const char *region) {
    if (!strcmp(region, "de") && m->de_rate) return m->de_rate;
    return llround(price_credits_per_part(region) * 1000.0);
}

/* Applies the model's automatic top-up after a debit from before. */
static void model_topup(model *m, int64_t before) {
    if (m->amount <= 0 || !(before >= m->threshold && m->balance < m->threshold)) return;
    for (int i = 0; i < m->norders; i++)
        if (m->orders[i].automatic && m->orders[i].status == STORE_ORDER_UNPAID) return;
    m->balance += m->amount * 1000;
    m->orders[m->norders++] = (model_order){0, m->amount, STORE_ORDER_PAID, 1};
}

static model_msg *pick_msg(model *m) {
    return m->nmsgs ? &m->msgs[rnd(m) % (unsigned)m->nmsgs] : NULL;
}

static void status_update(store_fixture *f, model *m, model_msg *mm, int state, int dlr, int accepted) {
    store_status_update u = {.msg_id = mm->id, .state = state, .dlr = dlr, .ptt = 3,
                             .ts_ms = sg_now_ms(), .smsc_id = accepted ? "smsc" : NULL};
    store_status_req r = {.ups = &u, .count = 1};
    assert_int_equal(STORE_RUN(f, status, &r), 0);
    /* The model of sqlite__apply_status (invariants 2 and 3 of sqlite.c). */
    int cur = mm->state, applied = 0;
    int final = cur == MSG_DELIVERED || cur == MSG_FAILED || cur == MSG_CANCELLED;
    if (!final) {
        static const int rank[] = {0, 1, 2, 3, 4, 5, 5, 5};
        if (state == MSG_QUEUED) applied = cur == MSG_SUBMITTING;
        else applied = rank[state] > rank[cur];
    }
    assert_int_equal(r.applied, (size_t)applied);
    if (!applied) return;
    int sent_now = !mm->sent && (state == MSG_SUBMITTED || state == MSG_ENROUTE ||
                                 state == MSG_DELIVERED || (state == MSG_FAILED && accepted));
    if (state == MSG_FAILED && (dlr == 16 || !(mm->sent || sent_now))) m->balance += mm->credits;
    mm->sent |= sent_now;
    mm->state = state;
}

/* What one run exercised, to be sure the random walk covers every rule. */
typedef struct coverage {
    int sends, refused, cancels, refunds, claims, paid, repaid, topups;
} coverage;

static void property_run(store_fixture *f, uint64_t seed, int steps, coverage *cov) {
    static model mdl;
    model *m = &mdl;
    memset(m, 0, sizeof *m);
    m->rng = seed;
    m->balance = 50000;
    char name[32];
    snprintf(name, sizeof name, "p%llu", (unsigned long long)seed);
    int64_t sid = store_fixture_account(f, name, m->balance);
    char sn[64];
    snprintf(sn, sizeof sn, "sms-%s-1", name);
    m->amount = 100;
    m->threshold = 20000;
    set_topup(f, sid, m->amount, m->threshold);
    store_price_set_req reset = {.what = STORE_PRICE_DEST, .country = "de", .reset = 1};
    assert_int_equal(STORE_RUN(f, price_set, &reset), 0); /* an earlier seed may have set one */
    static const char *const regions[] = {"fr", "fr", "de", "gb", ""};
    for (int step = 0; step < steps; step++) {
        unsigned op = rnd(m) % 100;
        if (op < 30 && m->nmsgs < 4000) { /* send */
            const char *region = regions[rnd(m) % 5];
            int count = 1 + (int)(rnd(m) % 3), parts = 1 + (int)(rnd(m) % 3);
            int64_t due = rnd(m) % 4 == 0 ? 3600000 : 0;
            int64_t id0, total, expect = (int64_t)count * parts * rate_of(m, region);
            int rc = send_to(f, sid, region, count, parts, due, &id0, &total);
            if (total != expect)
                fail_msg("step %d: %d x %d parts to '%s' cost %lld, the model says %lld", step,
                         count, parts, region, (long long)total, (long long)expect);
            if (expect > m->balance) {
                assert_int_equal(rc, SG_ENOCREDIT);
                cov->refused++;
            } else {
                assert_int_equal(rc, 0);
                cov->sends++;
                int64_t before = m->balance;
                int norders = m->norders;
                m->balance -= expect;
                if (expect > 0) model_topup(m, before);
                cov->topups += m->norders - norders;
                for (int i = 0; i < count; i++)
                    m->msgs[m->nmsgs++] = (model_msg){id0 + i, parts * rate_of(m, region),
                                                      due ? MSG_SCHEDULED : MSG_QUEUED, 0};
            }
        } else if (op < 40) { /* cancel (DELETE /jobs/{id}) */
            model_msg *mm = pick_msg(m);
            if (!mm) continue;
            store_msg_req r = {.service_id = sid, .id = mm->id};
            int rc = STORE_RUN(f, msg_cancel, &r);
            if (mm->state == MSG_SCHEDULED || mm->state == MSG_QUEUED) {
                assert_int_equal(rc, 0);
                assert_int_equal(r.refunded, mm->credits);
                cov->cancels++;
                m->balance += mm->credits;
                mm->state = MSG_CANCELLED;
            } else {
                assert_int_equal(rc, mm->state == MSG_SUBMITTING ? SG_ECONFLICT : SG_ENOTFOUND);
            }
        } else if (op < 48) { /* the dispatcher claims due messages */
            store_claim_req cl = {.node = "n", .now_ms = sg_now_ms(), .lease_ms = 3600000,
                                  .limit = 1 + rnd(m) % 5};
            assert_int_equal(STORE_RUN(f, claim, &cl), 0);
            for (size_t i = 0; i < cl.count; i++) {
                if (cl.msgs[i].service_id != sid) continue; /* an earlier seed's service */
                model_msg *mm = NULL;
                for (int k = 0; k < m->nmsgs && !mm; k++)
                    if (m->msgs[k].id == cl.msgs[i].id) mm = &m->msgs[k];
                if (!mm) fail_msg("step %d: claimed message %lld unknown to the model", step,
                                  (long long)cl.msgs[i].id);
                assert_int_equal(mm->state, MSG_QUEUED);
                mm->state = MSG_SUBMITTING;
                cov->claims++;
            }
            store_claim_fini(&cl);
        } else if (op < 66) { /* an operator's answer or receipt, possibly stale */
            model_msg *mm = pick_msg(m);
            if (!mm) continue;
            switch (rnd(m) % 6) {
            case 0: status_update(f, m, mm, MSG_SUBMITTED, 8, 1); break;     /* accepted */
            /* (refunds counted by status_update through the model's balance) */
            case 1: status_update(f, m, mm, MSG_FAILED, 2, 0); break;        /* refused */
            case 2: status_update(f, m, mm, MSG_FAILED, 2, 1); break;        /* rejected */
            case 3: status_update(f, m, mm, MSG_FAILED, 16, 1); break;       /* undeliverable */
            case 4: status_update(f, m, mm, MSG_DELIVERED, 1, 1); break;
            default: status_update(f, m, mm, MSG_QUEUED, 0, 0); break;       /* retry */
            }
        } else if (op < 74) { /* a customer orders credits */
            static const int64_t q[] = {100, 200, 250, 500, 1000};
            store_order_create_req oc = {.service_id = sid, .quantity = q[rnd(m) % 5],
                                         .billing = "fr"};
            assert_int_equal(STORE_RUN(f, order_create, &oc), 0);
            m->orders[m->norders++] = (model_order){oc.order.id, oc.quantity, STORE_ORDER_UNPAID,
                                                    0};
            store_order_fini(&oc.order);
        } else if (op < 84) { /* smsctl order pay, maybe of a paid one */
            if (!m->norders) continue;
            model_order *o = &m->orders[rnd(m) % (unsigned)m->norders];
            if (!o->id) continue; /* automatic: id unknown to the model, already paid */
            store_order_pay_req p = {.id = o->id, .means = "smsctl"};
            int rc = STORE_RUN(f, order_pay, &p);
            store_order_fini(&p.order);
            if (o->status == STORE_ORDER_CANCELLED) {
                assert_int_equal(rc, SG_ECONFLICT);
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(p.already, o->status == STORE_ORDER_PAID);
                if (o->status == STORE_ORDER_UNPAID) m->balance += o->quantity * 1000;
                if (o->status == STORE_ORDER_UNPAID) cov->paid++;
                else cov->repaid++;
                o->status = STORE_ORDER_PAID;
            }
        } else if (op < 88) { /* smsctl order cancel */
            if (!m->norders) continue;
            model_order *o = &m->orders[rnd(m) % (unsigned)m->norders];
            if (!o->id) continue;
            store_order_cancel_req cr = {.id = o->id};
            int rc = STORE_RUN(f, order_cancel, &cr);
            store_order_fini(&cr.order);
            assert_int_equal(rc, o->status == STORE_ORDER_PAID ? SG_ECONFLICT : 0);
            if (o->status == STORE_ORDER_UNPAID) o->status = STORE_ORDER_CANCELLED;
        } else if (op < 93) { /* smsctl service credit */
            int64_t amount = ((int64_t)(rnd(m) % 20001) - 10000);
            /* Half the time, take the balance down to just above the top-up threshold (or to
             * almost nothing), so crossings and refusals happen often despite the purchases. */
            if (rnd(m) % 2) amount = (rnd(m) % 3 ? m->threshold : 0) + rnd(m) % 4000 - m->balance;
            if (amount == 0) continue;
            store_credit_adjust_req a = {.service_name = sn, .amount = amount,
                                         .kind = "adjustment", .ref = "prop"};
            int rc = STORE_RUN(f, credit_adjust, &a);
            if (m->balance + amount < 0) {
                assert_int_equal(rc, SG_ENOCREDIT);
            } else {
                assert_int_equal(rc, 0);
                m->balance += amount;
            }
        } else if (op < 97) { /* smsctl price set de */
            m->de_rate = rnd(m) % 3 == 0 ? 0 : 500 * (int64_t)(1 + rnd(m) % 8);
            store_price_set_req ps = {.what = STORE_PRICE_DEST, .country = "de",
                                      .value = m->de_rate, .reset = m->de_rate == 0};
            assert_int_equal(STORE_RUN(f, price_set, &ps), 0);
        } else { /* PUT /sms/{sn} changes the top-up */
            static const int64_t amounts[] = {0, 100, 200, 500};
            m->amount = amounts[rnd(m) % 4];
            m->threshold = 1000 * (int64_t)(rnd(m) % 40);
            set_topup(f, sid, m->amount, m->threshold);
        }
        check_ledger(f, sid, m->balance);
    }
    int autos = 0;
    for (int i = 0; i < m->norders; i++) autos += m->orders[i].automatic;
    assert_int_equal(q1(f, "SELECT COUNT(*) FROM orders WHERE service_id = %lld AND automatic = 1",
                        (long long)sid), autos);
}

static void test_property_random_sequences(void **state) {
    store_fixture *f = *state;
    static const uint64_t seeds[] = {1, 42, 20240510, 7777};
    coverage cov = {0};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        property_run(f, seeds[i], 300, &cov);
    cov.refunds = (int)q1(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'refund'");
    printf("property: %d sends (%d refused for credit), %d cancels, %d claims, %d refunds, "
           "%d orders paid, %d paid again, %d automatic top-ups\n", cov.sends, cov.refused,
           cov.cancels, cov.claims, cov.refunds, cov.paid, cov.repaid, cov.topups);
    assert_true(cov.sends > 100 && cov.refused > 0 && cov.cancels > 10 && cov.claims > 10);
    assert_true(cov.refunds > cov.cancels && cov.paid > 10 && cov.repaid > 5 && cov.topups > 0);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, store_fixture_setup, store_fixture_teardown)

int main(int argc, char **argv) {
    evthread_use_pthreads();
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_price_facts),
        TEST(test_sends_priced_from_store),
        TEST(test_order_paid_exactly_once),
        TEST(test_topup_one_order_per_crossing),
        TEST(test_topup_with_payment_hook),
        TEST(test_property_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
