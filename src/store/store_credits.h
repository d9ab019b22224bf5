/*
 * store_credits.h - the store operations of credits: prices per destination and per pack,
 * purchase orders, and the payment hook's queue (issue #5; docs/credits.md). Included by
 * store.h, which defines the threads, the async contract and ownership rules that apply here.
 *
 * Money: credits are millicredits (1 credit = 1000), amounts of currency are micro-units
 * (1 EUR = 1000000), VAT rates are basis points (20 % = 2000). All int64.
 *
 * Orders move unpaid -> paid or unpaid -> cancelled, nothing else (sqlite_credits.c,
 * invariant 2). Paying is the only way an order adds credits, through the ledger, once: paying
 * a paid order again reports `already` and changes nothing.
 */
#ifndef SG_STORE_CREDITS_H
#define SG_STORE_CREDITS_H

#include <stddef.h>
#include <stdint.h>

#define STORE_PACKS_MAX 16 /* pack sizes per billing country (sms.PackQuantityEnum has 12) */

/* ---- prices ---- */

/* What it costs to send to one destination and to buy credits from one billing country. */
typedef struct store_price_get_req {
    const char *country;  /* destination (sms.CountryEnum code), or NULL for none */
    const char *billing;  /* billing country (sms.BillingCountryEnum code) */
    /* out */
    int64_t credits;      /* millicredits per SMS part to country: the store's, else built in */
    int credits_from_store;
    int64_t vat_bp;       /* VAT rate of the billing country */
    size_t npacks;        /* packs, by ascending quantity */
    int64_t pack_quantity[STORE_PACKS_MAX];
    int64_t pack_price[STORE_PACKS_MAX]; /* micro-units of the billing currency, without tax */
} store_price_get_req;

typedef struct store_price_dest {
    char country[3];
    int64_t credits; /* millicredits per part */
    int64_t updated_ms;
} store_price_dest;

typedef struct store_price_billing {
    char country[3];
    int64_t vat_bp;
    size_t npacks;
    int64_t pack_quantity[STORE_PACKS_MAX];
    int64_t pack_price[STORE_PACKS_MAX];
} store_price_billing;

/* The whole price data: the destinations the operator priced (the others cost the built-in
 * rate of core/price.h) and every billing country's VAT and packs. */
typedef struct store_price_list_req {
    store_price_dest *dests;       /* out (new): by country */
    size_t ndests;
    store_price_billing *billing;  /* out (new): by country */
    size_t nbilling;
} store_price_list_req;
void store_price_list_fini(store_price_list_req *r);

enum { STORE_PRICE_DEST = 1, STORE_PRICE_PACK = 2, STORE_PRICE_VAT = 3 };

/* Changes one price. SG_ENOTFOUND: no such billing country or pack size. */
typedef struct store_price_set_req {
    int what;             /* STORE_PRICE_* */
    const char *country;  /* DEST: the destination; PACK, VAT: the billing country */
    int64_t quantity;     /* PACK: the pack size */
    int64_t value;        /* DEST millicredits per part; PACK micro-units; VAT basis points */
    int reset;            /* DEST: forget the store's rate (back to the built-in one) */
} store_price_set_req;

/* ---- orders ---- */

typedef enum {
    STORE_ORDER_UNPAID = 0,
    STORE_ORDER_PAID = 1,
    STORE_ORDER_CANCELLED = 2
} store_order_status;

/* Where an order stands with the payment hook. */
typedef enum {
    STORE_HOOK_NONE = 0,    /* never handed to a hook */
    STORE_HOOK_PENDING = 1, /* to be handed to the hook (again, after a failed attempt) */
    STORE_HOOK_DONE = 2     /* the hook answered, or the order was settled otherwise */
} store_hook_state;

/* Outcomes of one call of the payment hook. */
typedef enum {
    STORE_HOOK_PAID = 0,    /* payment collected: the order is paid now */
    STORE_HOOK_WAITING = 1, /* accepted; the payment system will pay it later (admin API) */
    STORE_HOOK_REFUSED = 2, /* payment refused: the order is cancelled */
    STORE_HOOK_RETRY = 3    /* no usable answer: ask again at retry_at_ms */
} store_hook_outcome;

typedef struct store_order {
    int64_t id, service_id, created_ms;
    int64_t quantity;            /* credits bought */
    char *service_name;          /* new */
    char billing[3], currency[4];
    int64_t price, tax, vat_bp;  /* micro-units: price without tax, and its tax */
    int automatic;               /* 1: an automatic top-up */
    store_order_status status;
    int64_t paid_ms;             /* 0 while unpaid */
    char *means;                 /* new: "smsctl", "account", "hook"; NULL while unpaid */
    char *reference;             /* new: the payment's reference, or NULL */
    store_hook_state hook_state;
    int hook_attempts;
} store_order;
void store_order_fini(store_order *o);

/* Creates an unpaid order for quantity credits (a pack size) priced from the store's pack
 * table in the same transaction. SG_ENOTFOUND: no such service, billing country or pack. */
typedef struct store_order_create_req {
    int64_t service_id;
    int64_t quantity;
    const char *billing;
    int hook;           /* 1: queue it for the payment hook */
    store_order order;  /* out */
} store_order_create_req;

/* One order; service_id 0 means any service (admin). SG_ENOTFOUND otherwise. */
typedef struct store_order_get_req {
    int64_t service_id;
    int64_t id;
    store_order order;  /* out */
} store_order_get_req;

typedef struct store_order_list_req {
    const char *service_name; /* NULL: every service */
    int status;               /* a store_order_status, or -1 for any */
    store_order *orders;      /* out (new; store_order_list_fini) */
    size_t count;
} store_order_list_req;
void store_order_list_fini(store_order_list_req *r);

/* Pays an unpaid order: one ledger row of +quantity credits, ref "order:<id>". Paying a paid
 * order sets already and changes nothing. SG_ENOTFOUND; SG_ECONFLICT for a cancelled order. */
typedef struct store_order_pay_req {
    int64_t id;
    const char *means, *reference; /* reference may be NULL */
    int already;                   /* out */
    int64_t balance;               /* out: the service's balance after */
    store_order order;             /* out: the order after */
} store_order_pay_req;

/* Cancels an unpaid order. Cancelling a cancelled order sets already. SG_ENOTFOUND;
 * SG_ECONFLICT for a paid order. */
typedef struct store_order_cancel_req {
    int64_t id;
    int already;        /* out */
    store_order order;  /* out */
} store_order_cancel_req;

/* Takes up to limit orders due for the payment hook, leasing each until now + lease_ms (a
 * crash before their result is stored hands them to the hook again after the lease). */
typedef struct store_order_hook_claim_req {
    int64_t now_ms, lease_ms;
    size_t limit;
    store_order *orders;  /* out (new; store_order_hook_claim_fini) */
    size_t count;
} store_order_hook_claim_req;
void store_order_hook_claim_fini(store_order_hook_claim_req *r);

typedef struct store_hook_answer {
    int64_t id;
    store_hook_outcome outcome;
    const char *reference;  /* PAID: the payment's reference, may be NULL */
    int64_t retry_at_ms;    /* RETRY */
} store_hook_answer;

/* Records the hook's answers. Each result applies on its own: an order settled meanwhile (paid
 * with smsctl, cancelled) is left as it is. */
typedef struct store_order_hook_result_req {
    store_hook_answer *answers;
    size_t count;
    size_t paid;  /* out: orders this made paid */
} store_order_hook_result_req;

/* Settings of automatic top-ups, written at start-up: whether a payment hook is configured
 * (without one, automatic orders are paid at once by the built-in "account" means) and the
 * billing country orders are priced in. Kept in the database, read on each crossing. */
typedef struct store_credits_configure_req {
    int payment_hook;
    const char *billing;
} store_credits_configure_req;

/* The operations of this file, appended to STORE_OPS in store.h. */
#define STORE_CREDITS_OPS(X)                                  \
    X(price_get, store_price_get_req)                         \
    X(price_list, store_price_list_req)                       \
    X(price_set, store_price_set_req)                         \
    X(order_create, store_order_create_req)                   \
    X(order_get, store_order_get_req)                         \
    X(order_list, store_order_list_req)                       \
    X(order_pay, store_order_pay_req)                         \
    X(order_cancel, store_order_cancel_req)                   \
    X(order_hook_claim, store_order_hook_claim_req)           \
    X(order_hook_result, store_order_hook_result_req)         \
    X(credits_configure, store_credits_configure_req)

#endif
