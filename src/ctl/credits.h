/*
 * credits.h - smsctl's commands for prices and purchase orders, over the admin API
 * (docs/admin-api.md, docs/credits.md): `price list|set|set-pack|set-vat` and
 * `order list|show|pay|cancel`. (`service credit` and `ledger` are in admin.h.)
 *
 * Same contract as admin.h: each function makes one call with the admin token, prints the
 * answer (the raw JSON with o->json, else a short human form) and returns 0, or an SG_E* code
 * after printing why on stderr. Strings are borrowed for the call. Each call blocks up to the
 * --timeout.
 */
#ifndef SG_CTL_CREDITS_H
#define SG_CTL_CREDITS_H

#include <stdint.h>

#include "ctl/ctl.h"

/* GET /admin/prices[?billing=B]: every destination's credits per part, then the packs and VAT
 * of each billing country (only B's when billing is not NULL). */
int ctl_credits_price_list(const ctl_opts *o, const char *billing);

/* PUT /admin/prices/destinations/{country} {"credit": *credits}, or {"credit": null} when
 * credits is NULL (back to the built-in rate). */
int ctl_credits_price_set(const ctl_opts *o, const char *country, const double *credits);

/* PUT /admin/prices/packs/{billing}/{quantity} {"price": price}. */
int ctl_credits_pack_set(const ctl_opts *o, const char *billing, long long quantity,
                         double price);

/* PUT /admin/prices/vat/{billing} {"vatRate": rate}. */
int ctl_credits_vat_set(const ctl_opts *o, const char *billing, double rate);

/* GET /admin/orders[?service=S&status=STATE]; service and state may be NULL. */
int ctl_credits_order_list(const ctl_opts *o, const char *service, const char *state);

/* GET /admin/orders/{id}. */
int ctl_credits_order_show(const ctl_opts *o, int64_t id);

/* POST /admin/orders/{id}/pay {"reference"?}; reference may be NULL. Paying a paid order
 * succeeds and says so: nothing changes. */
int ctl_credits_order_pay(const ctl_opts *o, int64_t id, const char *reference);

/* POST /admin/orders/{id}/cancel. */
int ctl_credits_order_cancel(const ctl_opts *o, int64_t id);

#endif
