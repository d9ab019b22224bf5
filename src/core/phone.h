/*
 * phone.h - receiver numbers: validation and normalisation to E.164, through libphonenumber
 * (a small C++ shim, phone_shim.cc, behind this C header).
 *
 * libphonenumber costs about 10 us per parse+validate (about 4 us for input already in strict
 * E.164 form, "+33612345678", which the shim reads without Parse()), so results (valid and
 * invalid) are kept in a bounded cache keyed by (input, default region). Thread-safe: the
 * cache is protected by a mutex; phone_init() must be called once before any thread uses the
 * module (it is idempotent).
 */
#ifndef SG_CORE_PHONE_H
#define SG_CORE_PHONE_H

#include <stddef.h>
#include <stdint.h>

#define PHONE_E164_MAX 20 /* '+' + up to 15 digits + NUL, with room */

typedef struct phone_info {
    char e164[PHONE_E164_MAX]; /* "+33612345678" */
    char region[3];            /* ISO 3166 alpha-2, lower case: "fr"; "" if unknown */
    int country_code;          /* 33 */
    int is_mobile;             /* 1 for MOBILE or FIXED_LINE_OR_MOBILE */
} phone_info;

/* Allocates the cache and loads libphonenumber's metadata. Idempotent (pthread_once), and
 * phone_normalize() calls it too; calling it at start-up keeps that cost off the first request. */
void phone_init(void);

/* Normalises a receiver as customers write it: "+33612345678", "0033612345678",
 * "+33 6 12 34 56 78", or a national number ("0612345678") read in default_region
 * ("FR"/"fr"; NULL or "" means international forms only). "00" is read as the international
 * prefix. Returns 0 and fills *out when the number is a valid number (libphonenumber
 * IsValidNumber), SG_EINVAL otherwise, with *out zeroed. Input rejected before libphonenumber:
 * NULL, empty, longer than 64 bytes, any character but digits, a leading '+' and the separators
 * " \t-.()/" (so letters and vanity numbers are refused); a default_region that is not two
 * letters. out must not be NULL. May block briefly on the cache mutex, never on I/O. */
int phone_normalize(const char *input, const char *default_region, phone_info *out);

/* A set of normalised numbers, to send one SMS per distinct receiver of a request however
 * each was written ("+33612345678", "0612345678", "0033 6 12 34 56 78" are one number).
 * An E.164 number (at most 15 digits) is kept as an integer in an open-addressing table, so
 * adding costs one hash and a probe or two. Not thread-safe; one per request. */
typedef struct phone_set {
    uint64_t *slots; /* 0 = empty; a number never is 0 */
    size_t cap, count;
} phone_set;

/* Prepares a set for about `expected` numbers (it grows when needed). */
void phone_set_init(phone_set *s, size_t expected);
void phone_set_fini(phone_set *s);

/* Adds the E.164 number e164 ("+33612345678", as phone_normalize() writes it). Returns 1 when
 * it was not in the set yet, 0 when it was. */
int phone_set_add(phone_set *s, const char *e164);

/* What libphonenumber's offline data says about a valid number, for HLR lookups (core/hlr.h).
 * Debian 12's libphonenumber 8.12 ships the geocoder (libgeocoding: a region or city per
 * number prefix, compiled into the library) but no carrier mapper, so there is no operator
 * name here. */
typedef struct phone_details {
    char country[64]; /* English name of the number's region ("France"), "" if none */
    char area[128];   /* the geocoder's description in English: a city or area when its data
                       * knows one ("Marseille", "San Francisco, CA"), else the region's name
                       * ("France" for a French mobile); "" if none */
    int mobile;       /* 1 for MOBILE or FIXED_LINE_OR_MOBILE */
} phone_details;

/* Fills *out for a valid number in strict E.164 form (as phone_normalize() writes it).
 * Returns 0, or SG_EINVAL (with *out zeroed) when the number does not parse or is not valid.
 * Costs a few tens of microseconds (no cache: HLR lookups are rare); the geocoder loads its
 * data on first use. Thread-safe. */
int phone_describe(const char *e164, phone_details *out);

/* Number of cache hits and misses since start (for tests and benchmarks). Inputs refused by the
 * syntax checks above never reach the cache and count as neither. Either pointer may be NULL. */
void phone_cache_stats(unsigned long *hits, unsigned long *misses);

#endif
