/*
 * price.h - credit cost of one SMS part per destination country.
 *
 * The built-in table gives France 1 credit per part (OVH's unit) and a rate for every other
 * country of sms.CountryEnum; configuration may override entries ("fr=1,de=2.5,*=3").
 * The built-in rates are defaults for the operator to override (see price.c). The table is
 * only written by price_set_overrides() during start-up, before other threads exist, and is
 * read-only after, so lookups are safe from any thread without a lock.
 *
 * It also holds the fixed facts of selling credits (country names, pack sizes, billing
 * countries and their currencies, the text of an amount): pure, callable from any thread.
 * The prices themselves live in the store (store_credits.h); these rates are their fallback.
 */
#ifndef SG_CORE_PRICE_H
#define SG_CORE_PRICE_H

#include <stddef.h>
#include <stdint.h>

/* Applies overrides "cc=credits,cc=credits,*=default". Codes are lower case; '*' sets every
 * country the same specification does not name, and the rate of unknown countries. Returns 0,
 * or SG_EINVAL (bad syntax, unknown or repeated country code, negative, non-finite or
 * over-1000 rate) and then leaves the table unchanged. "" changes nothing. Not thread-safe:
 * start-up only. */
int price_set_overrides(const char *spec);

/* Credits per part for a lower-case ISO alpha-2 country ("fr"); unknown countries (and NULL,
 * "", upper-case codes) get the default rate: 6 built in, or the last '*' override. */
double price_credits_per_part(const char *region);

/* Returns 1 if cc (lower case) is in sms.CountryEnum (without "all"), else 0. */
int price_country_known(const char *cc);

/* The English short name of a country of sms.CountryEnum ("fr" -> "France"), static; NULL for
 * anything else. */
const char *price_country_name(const char *cc);

/* The sms.PackQuantityEnum sizes in credits, ascending (static array; *n gets its length). */
const int64_t *price_pack_quantities(size_t *n);
/* 1 if q is one of the sms.PackQuantityEnum sizes. */
int price_pack_quantity_valid(int64_t q);
/* 1 if q is one of the sms.PackQuantityAutomaticRecreditEnum amounts (100 ... 10000). */
int price_recredit_amount_valid(int64_t q);

/* 1 if cc is an sms.BillingCountryEnum value: es, fr, gb, ie, it or pl. */
int price_billing_known(const char *cc);
/* The currency of a billing country ("fr" -> "EUR", "gb" -> "GBP", "pl" -> "PLN"), its
 * language ("gb" -> "en"), static; NULL for an unknown billing country. */
const char *price_billing_currency(const char *cc);
const char *price_billing_language(const char *cc);
/* "es, fr, gb, ie, it, pl", for error messages. */
const char *price_billing_list(void);

/* The VAT on an amount of micro-units at vat_bp basis points (2000 = 20 %), rounded half up to
 * the cent (10000 micro-units), as invoices show it. Both arguments >= 0. */
int64_t price_tax(int64_t micro, int64_t vat_bp);

/* Writes the text of an amount of micro-units of currency (1 EUR = 1000000) as order.Price
 * shows it: "70.00 €", "£70.00", "0.105 €" (two decimals, more only when the
 * amount has them). Always NUL-terminates buf (n > 0). */
void price_format(int64_t micro, const char *currency, char *buf, size_t n);

#endif
