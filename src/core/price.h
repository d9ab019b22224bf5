/*
 * price.h - credit cost of one SMS part per destination country.
 *
 * The built-in table gives France 1 credit per part (OVH's unit) and a rate for every other
 * country of sms.CountryEnum; configuration may override entries ("fr=1,de=2.5,*=3").
 * The built-in rates are defaults for the operator to override (see price.c). The table is
 * only written by price_set_overrides() during start-up, before other threads exist, and is
 * read-only after, so lookups are safe from any thread without a lock.
 */
#ifndef SG_CORE_PRICE_H
#define SG_CORE_PRICE_H

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

#endif
