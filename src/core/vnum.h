/*
 * vnum.h - a virtual number as it is written: parsing what an operator or a customer types
 * ("+33700000001", "0033700000001", "33700000001", "07 00 00 00 01") into the one form stored
 * (E.164 with '+'), the form the API shows (OVH's: the international number without '+',
 * "33700000001") and the country OVH's schema allows for it (sms.VirtualNumberIsoCountryCodeEnum:
 * be, ch, de, es, fr, uk).
 *
 * Pure, no state: callable from any thread (core/phone.h underneath, with its cache).
 */
#ifndef SG_CORE_VNUM_H
#define SG_CORE_VNUM_H

#include "core/phone.h"

typedef struct vnum_info {
    char e164[PHONE_E164_MAX];   /* "+33700000001": virtual_numbers.number, messages.sender */
    char digits[PHONE_E164_MAX]; /* "33700000001": the API's form */
    char country[3];             /* "fr", ... "uk" (not "gb"): the API's countryCode */
} vnum_info;

/* Parses s. A string of digits that does not start with 0 is read as an international number
 * without its '+' first (the API's own form, so a listed number can be put back in a path);
 * otherwise as phone_normalize() reads it, national numbers in default_region. Returns 0;
 * SG_EINVAL when s is not a valid phone number; SG_EPERM when it is one, but of a country
 * where there are no virtual numbers (out->e164 is then filled, for the message). */
int vnum_parse(const char *s, const char *default_region, vnum_info *out);

/* The countries of virtual numbers, as the API writes them, for messages: "be, ch, de, es,
 * fr, uk". */
extern const char vnum_countries[];

#endif
