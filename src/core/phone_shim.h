/*
 * phone_shim.h - the C face of phone_shim.cc, the only file of smsgate written in C++.
 *
 * libphonenumber only has a C++ API; this header hides it behind two plain C functions so
 * that phone.c (and nothing else) can use it. It owns no state of its own: libphonenumber's
 * PhoneNumberUtil is a process-wide singleton that is documented as thread-safe, so both
 * functions may be called from any thread, concurrently, without a lock. No C++ exception
 * crosses this boundary: the shim catches everything and reports it as SG_EINVAL.
 *
 * Callers: phone.c only. Everyone else goes through phone.h, which adds input checks, the
 * "00" prefix rule and the cache.
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
 * Does no pre-processing: phone.c has already checked characters, length and "00". */
int phone_shim_parse(const char *text, const char *region, phone_info *out);

#ifdef __cplusplus
}
#endif

#endif
