/*
 * vnum.c - parsing virtual numbers (vnum.h).
 *
 * Why a country list: the API's countryCode of a virtual number is an enum of six countries
 * in OVH's schema (the countries where OVH sells them), with the United Kingdom written "uk"
 * where ISO 3166 (and libphonenumber) says "gb". A number of another country could not be
 * described to a client that checks the enum, so it is refused when it is assigned, rather
 * than shown with a country the client does not know.
 */
#include "core/vnum.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

const char vnum_countries[] = "be, ch, de, es, fr, uk";

static const struct {
    const char *region, *country;
} countries[] = {
    {"be", "be"}, {"ch", "ch"}, {"de", "de"}, {"es", "es"}, {"fr", "fr"}, {"gb", "uk"},
};

int vnum_parse(const char *s, const char *default_region, vnum_info *out) {
    memset(out, 0, sizeof *out);
    if (!s || !*s || strlen(s) > 32) return SG_EINVAL;
    phone_info pi;
    int rc = SG_EINVAL;
    size_t n = strspn(s, "0123456789");
    if (n == strlen(s) && s[0] != '0') {
        char plus[40];
        snprintf(plus, sizeof plus, "+%s", s);
        rc = phone_normalize(plus, NULL, &pi);
    }
    if (rc != 0) rc = phone_normalize(s, default_region, &pi);
    if (rc != 0) return SG_EINVAL;
    memcpy(out->e164, pi.e164, sizeof out->e164);
    memcpy(out->digits, pi.e164 + 1, sizeof out->digits - 1); /* e164 ends with its '\0' */
    for (size_t i = 0; i < sizeof countries / sizeof countries[0]; i++)
        if (!strcmp(pi.region, countries[i].region)) {
            snprintf(out->country, sizeof out->country, "%s", countries[i].country);
            return 0;
        }
    return SG_EPERM;
}
