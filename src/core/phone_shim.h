/*
 * phone_shim.h - the C face of phone_shim.cc, the only file of smsgate written in C++.
 *
 * libphonenumber only has a C++ API; this header hides it behind plain C functions so that
 * phone.c (and nothing else) can use it. It owns no mutable state of its own:
 * libphonenumber's PhoneNumberUtil is a process-wide singleton that is documented as
 * thread-safe, and the shim's own table (for the strict E.164 fast path) is built once and
 * read-only afterwards, so every function may be called from any thread, concurrently,
 * without a lock. No C++ exception crosses this boundary: the shim catches everything and
 * reports it as SG_EINVAL.
 *
 * Callers: phone.c only, plus tests/unit/test_phone.c for the functions marked "for tests".
 * Everyone else goes through phone.h, which adds input checks, the "00" prefix rule and the
 * cache.
 */
#ifndef SG_CORE_PHONE_SHIM_H
#define SG_CORE_PHONE_SHIM_H

#include "core/phone.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads libphonenumber's metadata (the first GetInstance() parses ~1 MB of tables) so that
 * the first request does not pay for it. Safe to call more than once. */
void phone_shim_init(void);

/* Parses text with libphonenumber, reading a number without '+' in region (upper-case ISO
 * alpha-2 such as "FR", or "ZZ" for "no default region"). Returns 0 and fills *out when
 * the number parses and IsValidNumber() accepts it; SG_EINVAL otherwise, with *out zeroed.
 * Does no pre-processing: phone.c has already checked characters, length and "00".
 * Text in strict E.164 form ("+33612345678": '+' then digits only) usually takes a fast path
 * that skips Parse() and gives the same result (phone_shim.cc explains why it is the same). */
int phone_shim_parse(const char *text, const char *region, phone_info *out);

/* phone_describe() (phone.h) without its input check. */
int phone_shim_describe(const char *e164, phone_details *out);

/* ---- For tests: the two halves of phone_shim_parse(), and what a corpus needs ---- */

/* phone_shim_parse_fast() returns this when the fast path does not apply to the text. */
#define PHONE_SHIM_DECLINED 1

/* The fast path alone: 0 or SG_EINVAL with *out as phone_shim_parse() would fill it, or
 * PHONE_SHIM_DECLINED (with *out zeroed) when phone_shim_parse() would use Parse() instead. */
int phone_shim_parse_fast(const char *text, phone_info *out);

/* The full path alone: Parse(text, region) then the same checks as phone_shim_parse(). */
int phone_shim_parse_full(const char *text, const char *region, phone_info *out);

/* Compares the PhoneNumber objects themselves, every field and presence bit: returns 1 when
 * the fast path builds exactly what Parse(text, region) builds, 0 when the fast path declines,
 * -1 when they differ or Parse() fails where the fast path built a number (both are bugs). */
int phone_shim_fast_same_number(const char *text, const char *region);

/* 1 if the fast path is switched on (its metadata was read and cross-checked), else 0. */
int phone_shim_fast_usable(void);

/* Writes the calling codes libphonenumber knows, ascending, into out[0..max); returns how many
 * there are, which may be more than max. */
size_t phone_shim_calling_codes(int *out, size_t max);

/* Writes into out[size] the national (trunk) prefix, digits only, of the main region of
 * country_code ("0" for 33, "1" for 1, "" for 39 or 800). Returns 0, or SG_EINVAL if it does
 * not fit. */
int phone_shim_ndd_prefix(int country_code, char *out, size_t size);

/* Writes libphonenumber's example numbers, as E.164, into out[0..max): one per supported region
 * and number type that has one, and one per non-geographic calling code. Returns how many
 * there are, which may be more than max. */
size_t phone_shim_examples(char (*out)[PHONE_E164_MAX], size_t max);

#ifdef __cplusplus
}
#endif

#endif
