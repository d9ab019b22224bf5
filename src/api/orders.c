/*
 * orders.c - prices and purchase orders of the OVH API (spec 5.9; docs/credits.md):
 *   GET  /sms/rates/destinations?country=&billingCountry=      sms.DestinationRates (no auth)
 *   GET  /sms/rates/packs?country=&billingCountry=             sms.PackDetails[]    (no auth)
 *   GET  /sms/{sn}/seeOffers?countryDestination=&countryCurrencyPrice=&quantity=
 *                                                              sms.PackOffer[]
 *   GET  /order/sms/{sn}/credits?quantity=                     order.Order, a quote
 *   POST /order/sms/{sn}/credits {"quantity"}                  order.Order, a new order
 *   GET  /order/sms/{sn}/credits/{orderId}                     the order (smsgate extension;
 *                                                              the default order.url)
 *
 * Design. Every price comes from the store's price tables (one price_get operation) and is
 * computed here with integers: credits in millicredits, money in micro-units of the billing
 * currency (core/price.h). A pack of N credits costs its price in price_packs; one credit's
 * list price is the smallest pack's price divided by its size; one SMS to a destination costs
 * that destination's credits per part times the list price. With the default (flat) packs the
 * three ways to price 1,000 SMS to France read the same amount: 1000 x the per-SMS price of
 * /sms/rates/destinations, the 1000-credit offer of seeOffers, and the quote of
 * /order/sms/{sn}/credits?quantity=1000. A quote is computed here from the same rows the store
 * reads when it creates the order (in its own transaction, so a created order's price is
 * exactly the pack price at that moment).
 *
 * /order/sms/... paths carry the service in segment 2, so these routes load it themselves
 * (service_get with the caller's account: another account's service is a 404). The billing
 * country of orders is the `billing-country` setting; the currency follows from it.
 *
 * Bad input is a 400 naming the parameter: a country outside sms.CountryEnum, a billing
 * country outside sms.BillingCountryEnum, a quantity outside sms.PackQuantityEnum.
 */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/price.h"
#include "util/util.h"

/* ---- money ---- */

/* round(a * b / d) for non-negative operands, without overflow. */
static int64_t muldiv(int64_t a, int64_t b, int64_t d) {
    if (d <= 0) return 0;
    __int128 p = (__int128)a * b;
    return (int64_t)((p + d / 2) / d);
}

/* order.Price: {currencyCode, value, text, priceInUcents}. */
static json_t *price_json(int64_t micro, const char *currency) {
    char text[64];
    price_format(micro, currency, text, sizeof text);
    json_t *o = json_object();
    json_object_set_new(o, "currencyCode", json_string(currency));
    json_object_set_new(o, "value", json_real((double)micro / 1e6));
    json_object_set_new(o, "text", json_string(text));
    json_object_set_new(o, "priceInUcents", json_integer(micro * 100));
    return o;
}

static json_t *vat_json(int64_t bp) { return json_real((double)bp / 100.0); }

/* ---- query parameters ---- */

/* A required query parameter; -1 after replying 400. */
static int param(api_call *c, const char *name, const char **out) {
    *out = http_req_param(c->req, name);
    if (!*out || !**out) {
        api_reply_error(c, 400, NULL, "Missing parameter '%s'", name);
        return -1;
    }
    return 0;
}

/* A destination of sms.CountryEnum ("all" included). */
static int country_param(api_call *c, const char *name, const char **out) {
    if (param(c, name, out) < 0) return -1;
    if (strcmp(*out, "all") != 0 && !price_country_known(*out)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': '%.16s' is not a country "
                                      "of sms.CountryEnum (lower-case ISO 3166 code, or 'all')",
                        name, *out);
        return -1;
    }
    return 0;
}

/* A billing country; absent: the billing-country setting. */
static int billing_param(api_call *c, const char *name, int required, const char **out) {
    const char *v = http_req_param(c->req, name);
    if (!v || !*v) {
        if (required) return param(c, name, out);
        *out = c->api->cfg->billing_country;
        return 0;
    }
    if (!price_billing_known(v)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': '%.16s' has no price list "
                                      "here; one of %s is expected", name, v,
                        price_billing_list());
        return -1;
    }
    *out = v;
    return 0;
}

static int quantity_value(api_call *c, const char *name, const char *text, int64_t *out) {
    char *end;
    errno = 0;
    long long q = text ? strtoll(text, &end, 10) : 0;
    if (!text || !*text || *end || errno || !price_pack_quantity_valid(q)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': '%.24s' is not a pack "
                                      "size; one of 100, 200, 250, 500, 1000, 2500, 5000, "
                                      "10000, 25000, 50000, 100000, 1000000 is expected",
                        name, text ? text : "");
        return -1;
    }
    *out = q;
    return 0;
}

static int quantity_param(api_call *c, const char *name, int64_t *out) {
    const char *v;
    if (param(c, name, &v) < 0) return -1;
    return quantity_value(c, name, v, out);
}

/* ---- the price data of one request ---- */

typedef struct price_ctx {
    store_price_get_req req;
    const char *country;   /* destination as asked ("all" included) */
    int64_t quantity;      /* seeOffers, quotes */
    store_order_get_req get;
    store_order_create_req create;
} price_ctx;

static void price_free(void *p) {
    price_ctx *h = p;
    store_order_fini(&h->get.order);
    store_order_fini(&h->create.order);
    free(h);
}

static price_ctx *price_start(api_call *c) {
    price_ctx *h = api_call_state(c, sizeof *h, price_free);
    return h;
}

/* The price of one credit at the list price (the smallest pack), times n millicredits. */
static int64_t list_price(const store_price_get_req *p, int64_t milli) {
    if (p->npacks == 0) return 0;
    return muldiv(milli, p->pack_price[0], p->pack_quantity[0] * 1000);
}

static int pack_index(const store_price_get_req *p, int64_t quantity) {
    for (size_t i = 0; i < p->npacks; i++)
        if (p->pack_quantity[i] == quantity) return (int)i;
    return -1;
}

static int price_failed(api_call *c, int rc) {
    if (rc == 0) return 0;
    if (rc == SG_ENOTFOUND)
        api_reply_error(c, 400, NULL, "No price list for this billing country");
    else
        api_reply_store_error(c, rc, "This price list");
    return -1;
}

/* ---- GET /sms/rates/destinations ---- */

static void on_destination(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (price_failed(c, rc)) return;
    const store_price_get_req *p = &h->req;
    const char *currency = price_billing_currency(p->billing);
    const char *name = price_country_name(h->country);
    json_t *o = json_object();
    json_object_set_new(o, "country", json_string(name ? name : "All countries"));
    json_object_set_new(o, "countryCode", json_string(h->country));
    json_object_set_new(o, "credit", api_credits_json(p->credits));
    json_object_set_new(o, "price", price_json(list_price(p, p->credits), currency));
    json_object_set_new(o, "vatRate", vat_json(p->vat_bp));
    api_reply_json(c, o);
}

static void rates_destinations(api_call *c) {
    price_ctx *h = price_start(c);
    if (country_param(c, "country", &h->country) < 0 ||
        billing_param(c, "billingCountry", 0, &h->req.billing) < 0)
        return;
    h->req.country = h->country;
    store_price_get(c->api->st, &h->req, on_destination, c);
}

/* ---- GET /sms/rates/packs ---- */

static void on_packs(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (price_failed(c, rc)) return;
    const store_price_get_req *p = &h->req;
    const char *currency = price_billing_currency(p->billing);
    int64_t credit = p->credits; /* millicredits per SMS */
    int64_t list_unit = list_price(p, 1000);
    json_t *arr = json_array();
    for (size_t i = 0; i < p->npacks; i++) {
        int64_t qmin = p->pack_quantity[i];
        int64_t qmax = i + 1 < p->npacks ? p->pack_quantity[i + 1] - 1 : 0;
        int64_t unit = muldiv(p->pack_price[i], 1, qmin);
        int discount = unit < list_unit;
        json_t *o = json_object();
        json_object_set_new(o, "countryCode", json_string(h->country));
        json_object_set_new(o, "credit", api_credits_json(credit));
        json_object_set_new(o, "creditPrice", price_json(list_unit, currency));
        json_object_set_new(o, "creditQuantityMin", json_integer(qmin));
        json_object_set_new(o, "creditQuantityMax", qmax ? json_integer(qmax) : json_null());
        json_object_set_new(o, "smsPrice", price_json(muldiv(credit, list_unit, 1000), currency));
        /* SMS a pack buys: credits / credits per SMS (a free destination: as many as credits). */
        int64_t per = credit > 0 ? credit : 1000;
        json_object_set_new(o, "smsQuantityMin", json_integer(qmin * 1000 / per));
        json_object_set_new(o, "smsQuantityMax", qmax ? json_integer(qmax * 1000 / per)
                                                      : json_null());
        json_object_set_new(o, "discountCreditPrice",
                            discount ? price_json(unit, currency) : json_null());
        json_object_set_new(o, "discountSmsPrice",
                            discount ? price_json(muldiv(credit, unit, 1000), currency)
                                     : json_null());
        json_object_set_new(o, "discountPercentage",
                            discount ? json_real((double)(10000 - muldiv(unit, 10000, list_unit))
                                                 / 100.0)
                                     : json_null());
        json_object_set_new(o, "vatRate", vat_json(p->vat_bp));
        json_array_append_new(arr, o);
    }
    api_reply_json(c, arr);
}

static void rates_packs(api_call *c) {
    price_ctx *h = price_start(c);
    if (country_param(c, "country", &h->country) < 0 ||
        billing_param(c, "billingCountry", 0, &h->req.billing) < 0)
        return;
    h->req.country = h->country;
    store_price_get(c->api->st, &h->req, on_packs, c);
}

/* ---- GET /sms/{sn}/seeOffers ---- */

static void on_offers(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (price_failed(c, rc)) return;
    const store_price_get_req *p = &h->req;
    int i = pack_index(p, h->quantity);
    if (i < 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'quantity': no pack of %lld "
                                      "credits is sold", (long long)h->quantity);
        return;
    }
    int64_t price = p->pack_price[i];
    json_t *o = json_object();
    json_object_set_new(o, "countryDestination", json_string(h->country));
    json_object_set_new(o, "language", json_string(price_billing_language(p->billing)));
    json_object_set_new(o, "quantity", json_integer(h->quantity));
    json_object_set_new(o, "smsQuantity",
                        json_real(p->credits > 0 ? (double)h->quantity * 1000.0 /
                                                       (double)p->credits
                                                 : (double)h->quantity));
    json_object_set_new(o, "price", json_real((double)price / 1e6));
    json_object_set_new(o, "totalPrice",
                        json_real((double)(price + price_tax(price, p->vat_bp)) / 1e6));
    json_object_set_new(o, "giftPrice", json_null());
    json_object_set_new(o, "giftQuantity", json_null());
    /* smsgate extra: the currency the amounts are in. */
    json_object_set_new(o, "currencyCode", json_string(price_billing_currency(p->billing)));
    json_t *arr = json_array();
    json_array_append_new(arr, o);
    api_reply_json(c, arr);
}

static void see_offers(api_call *c) {
    price_ctx *h = price_start(c);
    if (country_param(c, "countryDestination", &h->country) < 0) return;
    const char *cur;
    if (param(c, "countryCurrencyPrice", &cur) < 0) return;
    static const char *const reference[] = {"all", "ca", "cz", "de", "en", "es", "fi", "fr",
                                            "gb", "ie", "it", "lt", "ma", "nl", "pl", "pp",
                                            "pt", "qc", "ru", "sk", "sn", "tn", "we", NULL};
    int known = 0;
    for (int i = 0; reference[i]; i++) known |= !strcmp(reference[i], cur);
    if (!known || !price_billing_known(cur)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'countryCurrencyPrice': "
                                      "'%.16s' %s; one of %s is expected", cur,
                        known ? "has no price list here" : "is not in reference.CountryEnum",
                        price_billing_list());
        return;
    }
    if (quantity_param(c, "quantity", &h->quantity) < 0) return;
    h->req.country = h->country;
    h->req.billing = cur;
    store_price_get(c->api->st, &h->req, on_offers, c);
}

/* ---- order.Order ---- */

/* The order's URL: the payment-url template, or this order's own address on this server. */
static json_t *order_url(api_call *c, const store_order *o) {
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)o->id);
    const char *tpl = c->api->cfg->payment_url;
    if (tpl && *tpl) {
        /* Each placeholder is replaced by at most 100 bytes, so this bounds the result. */
        size_t cap = strlen(tpl) / 9 * 100 + strlen(tpl) + 1, n = 0;
        char *out = sg_xmalloc(cap);
        for (const char *p = tpl; *p;) {
            const char *val = NULL;
            size_t skip = 0;
            if (!strncmp(p, "{orderId}", 9)) val = id, skip = 9;
            else if (!strncmp(p, "{serviceName}", 13)) val = o->service_name, skip = 13;
            if (val) {
                n += (size_t)snprintf(out + n, cap - n, "%.100s", val);
                p += skip;
            } else {
                out[n++] = *p++;
            }
        }
        out[n] = '\0';
        json_t *j = json_string(out);
        free(out);
        return j ? j : json_null();
    }
    char *base = api_base_url(c);
    char *url = sg_xasprintf("%s/1.0/order/sms/%s/credits/%s", base, o->service_name, id);
    json_t *j = json_string(url);
    free(url);
    free(base);
    return j ? j : json_null();
}

static const char *status_name(store_order_status s) {
    return s == STORE_ORDER_PAID ? "paid" : s == STORE_ORDER_CANCELLED ? "cancelled" : "unpaid";
}

/* order.Order for quantity credits at price (+ tax) in currency; o is the stored order, or
 * NULL for a quote. */
static json_t *order_json(api_call *c, const char *sn, int64_t quantity, int64_t price,
                          int64_t tax, const char *currency, const store_order *o) {
    json_t *prices = json_object();
    json_object_set_new(prices, "withoutTax", price_json(price, currency));
    json_object_set_new(prices, "withTax", price_json(price + tax, currency));
    json_object_set_new(prices, "tax", price_json(tax, currency));
    json_object_set_new(prices, "originalWithoutTax", price_json(price, currency));
    json_object_set_new(prices, "reduction", price_json(0, currency));

    char desc[160];
    snprintf(desc, sizeof desc, "SMS credits: %lld for %s", (long long)quantity, sn);
    json_t *d = json_object();
    json_object_set_new(d, "description", json_string(desc));
    json_object_set_new(d, "detailType", json_null());
    json_object_set_new(d, "domain", json_string(sn));
    json_object_set_new(d, "quantity", json_integer(quantity));
    json_object_set_new(d, "unitPrice", price_json(muldiv(price, 1, quantity), currency));
    json_object_set_new(d, "totalPrice", price_json(price, currency));
    json_object_set_new(d, "originalTotalPrice", price_json(price, currency));
    json_object_set_new(d, "reductionTotalPrice", price_json(0, currency));
    json_object_set_new(d, "reductions", json_array());
    json_object_set_new(d, "cartItemID", json_null());
    json_t *details = json_array();
    json_array_append_new(details, d);

    json_t *j = json_object();
    json_object_set_new(j, "orderId", o ? json_integer(o->id) : json_null());
    json_object_set_new(j, "url", o ? order_url(c, o) : json_null());
    json_object_set_new(j, "prices", prices);
    json_object_set_new(j, "details", details);
    json_object_set_new(j, "contracts", json_array());
    if (o) {
        /* smsgate extras: where the order stands. */
        json_object_set_new(j, "status", json_string(status_name(o->status)));
        json_object_set_new(j, "date", api_time_json(o->created_ms));
        json_object_set_new(j, "quantity", json_integer(o->quantity));
        json_object_set_new(j, "automatic", json_boolean(o->automatic));
        json_object_set_new(j, "paidAt", api_time_json(o->paid_ms));
        json_object_set_new(j, "paymentMeans", o->means ? json_string(o->means) : json_null());
    }
    return j;
}

static json_t *stored_order_json(api_call *c, const store_order *o) {
    return order_json(c, o->service_name, o->quantity, o->price, o->tax, o->currency, o);
}

/* ---- /order/sms/{sn}/credits ---- */

/* Loads the service of segment 2 for the caller's account, then runs next. */
static void with_service(api_call *c, store_cb next) {
    c->svc.account_id = c->account_id;
    c->svc.name = c->req->segs[2];
    store_service_get(c->api->st, &c->svc, next, c);
}

static int service_failed(api_call *c, int rc) {
    if (rc == 0) return 0;
    if (rc == SG_ENOTFOUND) api_reply_error(c, 404, NULL, "This service does not exist");
    else api_reply_store_error(c, rc, "This service");
    return -1;
}

static void on_quote_prices(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (price_failed(c, rc)) return;
    int i = pack_index(&h->req, h->quantity);
    if (i < 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'quantity': no pack of %lld "
                                      "credits is sold", (long long)h->quantity);
        return;
    }
    int64_t price = h->req.pack_price[i];
    api_reply_json(c, order_json(c, c->svc.svc.name, h->quantity, price,
                                 price_tax(price, h->req.vat_bp),
                                 price_billing_currency(h->req.billing), NULL));
}

static void on_quote_service(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (service_failed(c, rc)) return;
    h->req.billing = c->api->cfg->billing_country;
    store_price_get(c->api->st, &h->req, on_quote_prices, c);
}

static void order_quote(api_call *c) {
    price_ctx *h = price_start(c);
    if (quantity_param(c, "quantity", &h->quantity) < 0) return;
    with_service(c, on_quote_service);
}

/* The answer to an order created (api_render_fn: also runs on the store thread). */
static json_t *created_render(api_call *c) {
    price_ctx *h = c->h;
    return stored_order_json(c, &h->create.order);
}

static void on_created(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'quantity': no pack of %lld "
                                      "credits is sold in billing country '%s'",
                        (long long)h->create.quantity, h->create.billing);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This order");
        return;
    }
    api_reply_rendered(c, created_render);
}

static void on_create_service(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (service_failed(c, rc)) return;
    h->create.service_id = c->svc.svc.id;
    h->create.billing = c->api->cfg->billing_country;
    h->create.hook = c->api->cfg->payment_hook[0] != '\0';
    store_order_create_idem(c->api->st, &h->create, api_idem_for(c, created_render), on_created,
                            c);
}

static void order_post(api_call *c) {
    price_ctx *h = price_start(c);
    if (c->body && !json_is_object(c->body)) {
        api_reply_error(c, 400, NULL, "The request body must be a JSON object");
        return;
    }
    json_t *v = c->body ? json_object_get(c->body, "quantity") : NULL;
    if (!v || json_is_null(v)) {
        api_reply_error(c, 400, NULL, "Missing parameter 'quantity'");
        return;
    }
    if (!json_is_integer(v) && !json_is_real(v) && !json_is_string(v)) {
        /* true, an object, an array: say which type is wrong, not "'' is not a pack size". */
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'quantity': an integer is "
                                      "expected (a pack size: one of 100, 200, 250, 500, 1000, "
                                      "2500, 5000, 10000, 25000, 50000, 100000, 1000000), not %s",
                        json_is_boolean(v) ? "a boolean" : json_is_array(v) ? "an array"
                                                                            : "an object");
        return;
    }
    char text[32] = "";
    if (json_is_integer(v))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(text, sizeof text, "%s", json_string_value(v));
    else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e12)
        snprintf(text, sizeof text, json_real_value(v) == (double)(long long)json_real_value(v)
                                        ? "%.0f" : "%.3f", json_real_value(v));
    if (quantity_value(c, "quantity", text, &h->create.quantity) < 0) return;
    with_service(c, on_create_service);
}

static void on_order_got(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "The requested object (orderId = %lld) does not exist",
                        (long long)h->get.id);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This order");
        return;
    }
    api_reply_json(c, stored_order_json(c, &h->get.order));
}

static void on_get_service(int rc, void *arg) {
    api_call *c = arg;
    price_ctx *h = c->h;
    if (service_failed(c, rc)) return;
    h->get.service_id = c->svc.svc.id;
    store_order_get(c->api->st, &h->get, on_order_got, c);
}

static void order_get(api_call *c) {
    price_ctx *h = price_start(c);
    if (api_path_id(c, 4, &h->get.id) < 0) return;
    with_service(c, on_get_service);
}

const api_route api_order_routes[] = {
    {"GET", "/sms/rates/destinations", API_NOAUTH, rates_destinations},
    {"GET", "/sms/rates/packs", API_NOAUTH, rates_packs},
    {"GET", "/sms/{}/seeOffers", API_SERVICE, see_offers},
    {"GET", "/order/sms/{}/credits", 0, order_quote},
    {"POST", "/order/sms/{}/credits", API_IDEM, order_post},
    {"GET", "/order/sms/{}/credits/{}", 0, order_get},
    {NULL, NULL, 0, NULL},
};
