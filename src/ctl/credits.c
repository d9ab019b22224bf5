/*
 * credits.c - smsctl price list|set|set-pack|set-vat and smsctl order list|show|pay|cancel
 * (see credits.h; the manual is docs/smsctl.md, the model docs/credits.md).
 *
 * Design: the same shape as admin.c, one admin API call per command. admin.c keeps its call
 * helper to itself, so this file has its own small one (credits_call) with the same rules: the
 * token is SMSGATE_ADMIN_TOKEN, else the first line of DATA/admin.token, and only ever goes
 * into the Authorization header; names taken from the command line are percent-encoded into
 * the path.
 *
 * Invariants:
 *   1. The human forms print only documented fields and fall back to the JSON itself for an
 *      answer of an unexpected shape, so nothing is silently dropped.
 *   2. `order pay` on a paid order exits 0 and says "already paid": paying is idempotent on
 *      the server, and the command reports what the server did.
 */
#include "ctl/credits.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/admin.h"
#include "ctl/http.h"
#include "util/util.h"

#define CELL 96




/* Prints rows of objects as a table of the given keys under the given heads. */
static void print_rows(const json_t *rows, size_t nc, const char *const *heads,
                       const char *const *keys) {
    size_t nrows = json_array_size(rows) + 1;
    const char **cells = sg_xcalloc(nrows * nc, sizeof *cells);
    char (*bufs)[CELL] = sg_xcalloc(nrows * nc, CELL);
    for (size_t c = 0; c < nc; c++) cells[c] = heads[c];
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < nc; c++) {
            size_t k = (i + 1) * nc + c;
            cells[k] = ctl_fmt(json_object_get(row, keys[c]), bufs[k], CELL);
        }
    }
    ctl_table_print(stdout, cells, nrows, nc);
    free(bufs);
    free(cells);
}

/* ---- prices ---- */

int ctl_credits_price_list(const ctl_opts *o, const char *billing) {
    char *b = billing ? ctl_segment(billing) : NULL;
    char *path = b ? sg_xasprintf("/admin/prices?billing=%s", b) : sg_xstrdup("/admin/prices");
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", path, NULL, &ans);
    free(path);
    free(b);
    if (rc || !ans) return rc;
    json_t *dests = json_object_get(ans, "destinations");
    json_t *bill = json_object_get(ans, "billing");
    if (!json_is_array(dests) || !json_is_array(bill)) {
        ctl_print_json(ans);
        json_decref(ans);
        return 0;
    }
    static const char *const dheads[] = {"COUNTRY", "CREDITS", "SOURCE", "NAME"};
    static const char *const dkeys[] = {"country", "credit", "source", "name"};
    print_rows(dests, 4, dheads, dkeys);
    char buf[CELL];
    printf("other destinations: %s credits per SMS part\n",
           ctl_fmt(json_object_get(ans, "unknownDestination"), buf, sizeof buf));

    /* Packs: one row per billing country and size. */
    json_t *rows = json_array();
    size_t i, k;
    json_t *b1, *pk;
    json_array_foreach(bill, i, b1) {
        json_array_foreach(json_object_get(b1, "packs"), k, pk) {
            json_t *r = json_object();
            json_object_set(r, "billing", json_object_get(b1, "country"));
            json_object_set(r, "currency", json_object_get(b1, "currency"));
            json_object_set(r, "vatRate", json_object_get(b1, "vatRate"));
            json_object_set(r, "quantity", json_object_get(pk, "quantity"));
            json_object_set(r, "text", json_object_get(pk, "text"));
            json_array_append_new(rows, r);
        }
    }
    static const char *const pheads[] = {"BILLING", "CURRENCY", "VAT%", "QUANTITY",
                                         "PRICE WITHOUT TAX"};
    static const char *const pkeys[] = {"billing", "currency", "vatRate", "quantity", "text"};
    printf("\n");
    print_rows(rows, 5, pheads, pkeys);
    json_decref(rows);
    json_decref(ans);
    return 0;
}

int ctl_credits_price_set(const ctl_opts *o, const char *country, const double *credits) {
    json_t *body = json_object();
    json_object_set_new(body, "credit", credits ? ctl_json_num(*credits) : json_null());
    char *cc = ctl_segment(country);
    char *path = sg_xasprintf("/admin/prices/destinations/%s", cc);
    json_t *ans;
    int rc = ctl_admin_call(o, "PUT", path, body, &ans);
    free(path);
    free(cc);
    json_decref(body);
    if (rc || !ans) return rc;
    char b1[CELL], b2[CELL];
    if (json_is_object(ans))
        printf("%s: %s credits per SMS part (%s)\n", country,
               ctl_fmt(json_object_get(ans, "credit"), b1, sizeof b1),
               ctl_fmt(json_object_get(ans, "source"), b2, sizeof b2));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_credits_pack_set(const ctl_opts *o, const char *billing, long long quantity,
                         double price) {
    json_t *body = json_object();
    json_object_set_new(body, "price", ctl_json_num(price));
    char *b = ctl_segment(billing);
    char *path = sg_xasprintf("/admin/prices/packs/%s/%lld", b, quantity);
    json_t *ans;
    int rc = ctl_admin_call(o, "PUT", path, body, &ans);
    free(path);
    free(b);
    json_decref(body);
    if (rc || !ans) return rc;
    char b1[CELL];
    if (json_is_object(ans))
        printf("%s: a pack of %lld credits costs %s without tax\n", billing, quantity,
               ctl_fmt(json_object_get(ans, "text"), b1, sizeof b1));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_credits_vat_set(const ctl_opts *o, const char *billing, double rate) {
    json_t *body = json_object();
    json_object_set_new(body, "vatRate", ctl_json_num(rate));
    char *b = ctl_segment(billing);
    char *path = sg_xasprintf("/admin/prices/vat/%s", b);
    json_t *ans;
    int rc = ctl_admin_call(o, "PUT", path, body, &ans);
    free(path);
    free(b);
    json_decref(body);
    if (rc || !ans) return rc;
    char b1[CELL];
    if (json_is_object(ans))
        printf("%s: VAT %s %%\n", billing, ctl_fmt(json_object_get(ans, "vatRate"), b1, sizeof b1));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

/* ---- orders ---- */

int ctl_credits_order_list(const ctl_opts *o, const char *service, const char *state) {
    char *sn = service ? ctl_segment(service) : NULL;
    char *path = sn && state ? sg_xasprintf("/admin/orders?service=%s&status=%s", sn, state)
                 : sn        ? sg_xasprintf("/admin/orders?service=%s", sn)
                 : state     ? sg_xasprintf("/admin/orders?status=%s", state)
                             : sg_xstrdup("/admin/orders");
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", path, NULL, &ans);
    free(path);
    free(sn);
    if (rc || !ans) return rc;
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
    } else if (json_array_size(ans) == 0) {
        printf("no orders\n");
    } else {
        static const char *const heads[] = {"ID",     "SERVICE", "DATE",  "CREDITS",
                                            "STATUS", "AUTO",    "MEANS", "PRICE WITH TAX"};
        static const char *const keys[] = {"orderId", "serviceName", "date",         "quantity",
                                           "status",  "automatic",   "paymentMeans", "text"};
        print_rows(ans, 8, heads, keys);
    }
    json_decref(ans);
    return 0;
}

static void print_order(const json_t *ans) {
    static const char *const keys[] = {"orderId",  "serviceName",  "date",     "quantity",
                                       "automatic", "status",      "currency", "priceWithoutTax",
                                       "tax",      "priceWithTax", "paidAt",   "paymentMeans",
                                       "paymentReference", "hook"};
    char buf[CELL];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        printf("%s: %s\n", keys[i], ctl_fmt(json_object_get(ans, keys[i]), buf, sizeof buf));
}

int ctl_credits_order_show(const ctl_opts *o, int64_t id) {
    char *path = sg_xasprintf("/admin/orders/%lld", (long long)id);
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", path, NULL, &ans);
    free(path);
    if (rc || !ans) return rc;
    if (json_is_object(ans)) print_order(ans);
    else ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_credits_order_pay(const ctl_opts *o, int64_t id, const char *reference) {
    json_t *body = json_object();
    if (ctl_json_set_text(body, "reference", reference, "reference")) {
        json_decref(body);
        return SG_EINVAL;
    }
    char *path = sg_xasprintf("/admin/orders/%lld/pay", (long long)id);
    json_t *ans;
    int rc = ctl_admin_call(o, "POST", path, body, &ans);
    free(path);
    json_decref(body);
    if (rc || !ans) return rc;
    char b1[CELL], b2[CELL], b3[CELL];
    if (json_is_object(ans)) {
        if (json_is_true(json_object_get(ans, "alreadyPaid")))
            printf("order %lld: already paid on %s; nothing changed\n", (long long)id,
                   ctl_fmt(json_object_get(ans, "paidAt"), b1, sizeof b1));
        else
            printf("order %lld: paid, %s credits added to %s\n", (long long)id,
                   ctl_fmt(json_object_get(ans, "quantity"), b1, sizeof b1),
                   ctl_fmt(json_object_get(ans, "serviceName"), b2, sizeof b2));
        printf("creditsLeft: %s\n", ctl_fmt(json_object_get(ans, "creditsLeft"), b3, sizeof b3));
    } else {
        ctl_print_json(ans);
    }
    json_decref(ans);
    return 0;
}

int ctl_credits_order_cancel(const ctl_opts *o, int64_t id) {
    char *path = sg_xasprintf("/admin/orders/%lld/cancel", (long long)id);
    json_t *ans;
    int rc = ctl_admin_call(o, "POST", path, NULL, &ans);
    free(path);
    if (rc || !ans) return rc;
    if (json_is_object(ans))
        printf("order %lld: %s\n", (long long)id,
               json_is_true(json_object_get(ans, "alreadyCancelled")) ? "already cancelled"
                                                                       : "cancelled");
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}
