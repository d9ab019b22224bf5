/*
 * prices_admin.c - the operator's side of credits under /admin (docs/admin-api.md,
 * docs/credits.md): the price tables and the purchase orders. smsctl's `price` and `order`
 * commands are its client.
 *
 *   GET  /admin/prices[?billing=B]                    every destination's rate, VAT and packs
 *   PUT  /admin/prices/destinations/{cc}  {"credit"}  credits per part (null: built-in again)
 *   PUT  /admin/prices/packs/{B}/{quantity} {"price"} a pack's price without tax
 *   PUT  /admin/prices/vat/{B}  {"vatRate"}           a billing country's VAT rate, percent
 *   GET  /admin/orders[?service=SN&status=S]          orders, oldest first
 *   GET  /admin/orders/{id}
 *   POST /admin/orders/{id}/pay  {"reference"?}       pays it (once; again: alreadyPaid)
 *   POST /admin/orders/{id}/cancel                    cancels an unpaid order
 *
 * Every route needs the admin token (checked in api.c). Amounts are decimal numbers in the
 * API (credits, currency units, percent) and integers inside (millicredits, micro-units,
 * basis points); each is checked and converted here, a bad one is a 400 naming the field.
 */
#include "api/api_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/price.h"
#include "util/util.h"

#define MAX_CREDIT 1000.0    /* credits per part: like the `rates` setting */
#define MAX_PRICE 1e8        /* currency units per pack (keeps tax arithmetic in int64) */

static json_t *money_json(int64_t micro) {
    return micro % 1000000 == 0 ? json_integer(micro / 1000000) : json_real((double)micro / 1e6);
}

static json_t *text_json(int64_t micro, const char *currency) {
    char text[64];
    price_format(micro, currency, text, sizeof text);
    return json_string(text);
}

static json_t *bp_json(int64_t bp) {
    return bp % 100 == 0 ? json_integer(bp / 100) : json_real((double)bp / 100.0);
}

/* ---- GET /admin/prices ---- */

typedef struct list_ctx {
    store_price_list_req req;
    const char *billing;
} list_ctx;

static void list_free(void *p) {
    list_ctx *h = p;
    store_price_list_fini(&h->req);
    free(h);
}

static json_t *billing_json(const store_price_billing *b) {
    const char *currency = price_billing_currency(b->country);
    json_t *packs = json_array();
    for (size_t k = 0; k < b->npacks; k++)
        json_array_append_new(packs, json_pack("{s:I, s:o, s:o}", "quantity",
                                               (json_int_t)b->pack_quantity[k], "price",
                                               money_json(b->pack_price[k]), "text",
                                               text_json(b->pack_price[k], currency)));
    return json_pack("{s:s, s:s, s:o, s:o}", "country", b->country, "currency",
                     currency ? currency : "", "vatRate", bp_json(b->vat_bp), "packs", packs);
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    list_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "The price list");
        return;
    }
    /* Every destination: the store's rate where the operator set one, else the built-in. */
    json_t *dests = json_array();
    size_t nsizes;
    price_pack_quantities(&nsizes);
    for (char a = 'a'; a <= 'z'; a++) {
        for (char b = 'a'; b <= 'z'; b++) {
            char cc[3] = {a, b, '\0'};
            if (!price_country_known(cc)) continue;
            const store_price_dest *d = NULL;
            for (size_t i = 0; i < h->req.ndests && !d; i++)
                if (!strcmp(h->req.dests[i].country, cc)) d = &h->req.dests[i];
            int64_t milli = d ? d->credits : llround(price_credits_per_part(cc) * 1000.0);
            json_array_append_new(dests, json_pack("{s:s, s:s, s:o, s:s}", "country", cc, "name",
                                                   price_country_name(cc), "credit",
                                                   api_credits_json(milli), "source",
                                                   d ? "store" : "built-in"));
        }
    }
    json_t *billing = json_array();
    for (size_t i = 0; i < h->req.nbilling; i++)
        if (!h->billing || !strcmp(h->billing, h->req.billing[i].country))
            json_array_append_new(billing, billing_json(&h->req.billing[i]));
    json_t *o = json_object();
    json_object_set_new(o, "destinations", dests);
    json_object_set_new(o, "unknownDestination",
                        api_credits_json(llround(price_credits_per_part(NULL) * 1000.0)));
    json_object_set_new(o, "billing", billing);
    api_reply_json(c, o);
}

static void prices_get(api_call *c) {
    list_ctx *h = api_call_state(c, sizeof *h, list_free);
    h->billing = http_req_param(c->req, "billing");
    if (h->billing && !price_billing_known(h->billing)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'billing': one of %s is "
                                      "expected", price_billing_list());
        return;
    }
    store_price_list(c->api->st, &h->req, on_list, c);
}

/* ---- PUT /admin/prices/... ---- */

typedef struct set_ctx {
    store_price_set_req req;
    double shown;   /* the value as given, for the answer */
} set_ctx;

static void on_set(int rc, void *arg) {
    api_call *c = arg;
    set_ctx *h = c->h;
    store_price_set_req *r = &h->req;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No such price: billing country '%s'%s", r->country,
                        r->what == STORE_PRICE_PACK ? " or pack size" : "");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This price");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "country", json_string(r->country));
    switch (r->what) {
    case STORE_PRICE_DEST:
        json_object_set_new(o, "credit",
                            api_credits_json(r->reset ? llround(price_credits_per_part(r->country)
                                                                * 1000.0)
                                                      : r->value));
        json_object_set_new(o, "source", json_string(r->reset ? "built-in" : "store"));
        break;
    case STORE_PRICE_PACK:
        json_object_set_new(o, "quantity", json_integer(r->quantity));
        json_object_set_new(o, "price", money_json(r->value));
        json_object_set_new(o, "text",
                            text_json(r->value, price_billing_currency(r->country)));
        break;
    default:
        json_object_set_new(o, "vatRate", bp_json(r->value));
    }
    api_reply_json(c, o);
}

static set_ctx *set_start(api_call *c, int what) {
    set_ctx *h = api_call_state(c, sizeof *h, free);
    h->req.what = what;
    return h;
}

/* A number field in [0, max]; -1 after replying 400. */
static int amount(api_call *c, const char *name, double max, double *out) {
    if (api_field_number(c, name, 1, out) < 0) return -1;
    if (!(*out >= 0 && *out <= max)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': a number from 0 to %g "
                                      "is expected", name, max);
        return -1;
    }
    return 0;
}

static int billing_seg(api_call *c, int seg) {
    if (!price_billing_known(c->req->segs[seg])) {
        api_reply_error(c, 404, NULL, "No price list for billing country '%.16s'; one of %s",
                        c->req->segs[seg], price_billing_list());
        return -1;
    }
    return 0;
}

static void price_dest(api_call *c) {
    set_ctx *h = set_start(c, STORE_PRICE_DEST);
    const char *cc = c->req->segs[3];
    if (!price_country_known(cc)) {
        api_reply_error(c, 404, NULL, "'%.16s' is not a country of sms.CountryEnum", cc);
        return;
    }
    h->req.country = cc;
    json_t *v = json_object_get(c->body, "credit");
    if (v && json_is_null(v)) {
        h->req.reset = 1;
    } else {
        double credit;
        if (amount(c, "credit", MAX_CREDIT, &credit) < 0) return;
        h->req.value = llround(credit * 1000.0);
    }
    store_price_set(c->api->st, &h->req, on_set, c);
}

static void price_pack(api_call *c) {
    set_ctx *h = set_start(c, STORE_PRICE_PACK);
    if (billing_seg(c, 3) < 0) return;
    h->req.country = c->req->segs[3];
    char *end;
    errno = 0;
    long long q = strtoll(c->req->segs[4], &end, 10);
    if (*end || errno || !price_pack_quantity_valid(q)) {
        api_reply_error(c, 404, NULL, "'%.24s' is not a pack size of sms.PackQuantityEnum",
                        c->req->segs[4]);
        return;
    }
    h->req.quantity = q;
    double price;
    if (amount(c, "price", MAX_PRICE, &price) < 0) return;
    h->req.value = llround(price * 1e6);
    store_price_set(c->api->st, &h->req, on_set, c);
}

static void price_vat(api_call *c) {
    set_ctx *h = set_start(c, STORE_PRICE_VAT);
    if (billing_seg(c, 3) < 0) return;
    h->req.country = c->req->segs[3];
    double rate;
    if (amount(c, "vatRate", 100.0, &rate) < 0) return;
    h->req.value = llround(rate * 100.0);
    store_price_set(c->api->st, &h->req, on_set, c);
}

/* ---- orders ---- */

static const char *status_name(store_order_status s) {
    return s == STORE_ORDER_PAID ? "paid" : s == STORE_ORDER_CANCELLED ? "cancelled" : "unpaid";
}

static const char *hook_name(store_hook_state s) {
    return s == STORE_HOOK_PENDING ? "pending" : s == STORE_HOOK_DONE ? "done" : "none";
}

static json_t *order_json(const store_order *o) {
    json_t *j = json_object();
    json_object_set_new(j, "orderId", json_integer(o->id));
    json_object_set_new(j, "serviceName", json_string(o->service_name));
    json_object_set_new(j, "date", api_time_json(o->created_ms));
    json_object_set_new(j, "quantity", json_integer(o->quantity));
    json_object_set_new(j, "automatic", json_boolean(o->automatic));
    json_object_set_new(j, "status", json_string(status_name(o->status)));
    json_object_set_new(j, "billingCountry", json_string(o->billing));
    json_object_set_new(j, "currency", json_string(o->currency));
    json_object_set_new(j, "priceWithoutTax", money_json(o->price));
    json_object_set_new(j, "tax", money_json(o->tax));
    json_object_set_new(j, "priceWithTax", money_json(o->price + o->tax));
    json_object_set_new(j, "text", text_json(o->price + o->tax, o->currency));
    json_object_set_new(j, "vatRate", bp_json(o->vat_bp));
    json_object_set_new(j, "paidAt", api_time_json(o->paid_ms));
    json_object_set_new(j, "paymentMeans", o->means ? json_string(o->means) : json_null());
    json_object_set_new(j, "paymentReference",
                        o->reference ? json_string(o->reference) : json_null());
    json_object_set_new(j, "hook", json_string(hook_name(o->hook_state)));
    json_object_set_new(j, "hookAttempts", json_integer(o->hook_attempts));
    return j;
}

typedef struct order_ctx {
    store_order_list_req list;
    store_order_get_req get;
    store_order_pay_req pay;
    store_order_cancel_req cancel;
} order_ctx;

static void order_free(void *p) {
    order_ctx *h = p;
    store_order_list_fini(&h->list);
    store_order_fini(&h->get.order);
    store_order_fini(&h->pay.order);
    store_order_fini(&h->cancel.order);
    free(h);
}

static order_ctx *order_start(api_call *c) {
    order_ctx *h = api_call_state(c, sizeof *h, order_free);
    return h;
}

/* Replies for a failed order operation; returns -1 when it did. conflict says why an
 * SG_ECONFLICT happened ("is cancelled"). */
static int order_failed(api_call *c, int rc, int64_t id, const char *conflict) {
    if (rc == 0) return 0;
    if (rc == SG_ENOTFOUND)
        api_reply_error(c, 404, NULL, "The requested object (orderId = %lld) does not exist",
                        (long long)id);
    else if (rc == SG_ECONFLICT)
        api_reply_error(c, 409, NULL, "Order %lld %s: this change is not allowed",
                        (long long)id, conflict);
    else
        api_reply_store_error(c, rc, "This order");
    return -1;
}

static void on_orders(int rc, void *arg) {
    api_call *c = arg;
    order_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "This service does not exist");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "The order list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < h->list.count; i++)
        json_array_append_new(arr, order_json(&h->list.orders[i]));
    api_reply_json(c, arr);
}

static void orders_list(api_call *c) {
    order_ctx *h = order_start(c);
    h->list.service_name = http_req_param(c->req, "service");
    h->list.status = -1;
    const char *st = http_req_param(c->req, "status");
    if (st) {
        static const char *const names[] = {"unpaid", "paid", "cancelled"};
        for (int i = 0; i < 3; i++)
            if (!strcmp(st, names[i])) h->list.status = i;
        if (h->list.status < 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'status': one of unpaid, "
                                          "paid, cancelled is expected");
            return;
        }
    }
    store_order_list(c->api->st, &h->list, on_orders, c);
}

static void on_order(int rc, void *arg) {
    api_call *c = arg;
    order_ctx *h = c->h;
    if (order_failed(c, rc, h->get.id, "")) return;
    api_reply_json(c, order_json(&h->get.order));
}

static void order_get(api_call *c) {
    order_ctx *h = order_start(c);
    if (api_path_id(c, 2, &h->get.id) < 0) return;
    store_order_get(c->api->st, &h->get, on_order, c);
}

static void on_paid(int rc, void *arg) {
    api_call *c = arg;
    order_ctx *h = c->h;
    if (order_failed(c, rc, h->pay.id, "is cancelled")) return;
    json_t *j = order_json(&h->pay.order);
    json_object_set_new(j, "alreadyPaid", json_boolean(h->pay.already));
    json_object_set_new(j, "creditsLeft", api_credits_json(h->pay.balance));
    api_reply_json(c, j);
}

static void order_pay(api_call *c) {
    order_ctx *h = order_start(c);
    if (api_path_id(c, 2, &h->pay.id) < 0) return;
    const char *ref = NULL;
    if (c->body && !json_is_object(c->body)) {
        api_reply_error(c, 400, NULL, "The request body must be a JSON object");
        return;
    }
    if (api_field_string(c, "reference", 0, &ref) < 0) return;
    if (ref && strlen(ref) > 200) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'reference': at most 200 "
                                      "characters");
        return;
    }
    h->pay.means = "smsctl";
    h->pay.reference = ref && *ref ? ref : NULL;
    store_order_pay(c->api->st, &h->pay, on_paid, c);
}

static void on_cancelled(int rc, void *arg) {
    api_call *c = arg;
    order_ctx *h = c->h;
    if (order_failed(c, rc, h->cancel.id, "is paid")) return;
    json_t *j = order_json(&h->cancel.order);
    json_object_set_new(j, "alreadyCancelled", json_boolean(h->cancel.already));
    api_reply_json(c, j);
}

static void order_cancel(api_call *c) {
    order_ctx *h = order_start(c);
    if (api_path_id(c, 2, &h->cancel.id) < 0) return;
    store_order_cancel(c->api->st, &h->cancel, on_cancelled, c);
}

const api_route api_price_admin_routes[] = {
    {"GET", "/admin/prices", API_ADMIN, prices_get},
    {"PUT", "/admin/prices/destinations/{}", API_ADMIN | API_BODY, price_dest},
    {"PUT", "/admin/prices/packs/{}/{}", API_ADMIN | API_BODY, price_pack},
    {"PUT", "/admin/prices/vat/{}", API_ADMIN | API_BODY, price_vat},
    {"GET", "/admin/orders", API_ADMIN, orders_list},
    {"GET", "/admin/orders/{}", API_ADMIN, order_get},
    {"POST", "/admin/orders/{}/pay", API_ADMIN, order_pay},
    {"POST", "/admin/orders/{}/cancel", API_ADMIN, order_cancel},
    {NULL, NULL, 0, NULL},
};
