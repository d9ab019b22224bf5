/*
 * price.c - credits charged per SMS part, by destination country.
 *
 * OVH sells SMS in credits: one part to a French number costs 1 credit, other destinations
 * cost more. smsgate has no price list from anybody, so the table below holds DEFAULTS chosen
 * to be plausible, not anyone's real tariff: the operator is expected to override them with
 * the configuration key that feeds price_set_overrides() ("fr=1,de=2.5,*=3"). The defaults
 * come in tiers, relative to France, roughly following what A2P termination costs:
 *
 *   PRICE_FR      1.0  France.
 *   PRICE_DOM     1.5  French overseas departments (gf gp mq re yt): French operators,
 *                      dearer termination.
 *   PRICE_EU      2.0  EU and EEA members, the United Kingdom and Switzerland.
 *   PRICE_NEAR    3.0  The rest of Europe, the Maghreb and eastern Mediterranean, the US and
 *                      Canada.
 *   PRICE_WORLD   4.5  Everywhere else in sms.CountryEnum.
 *   PRICE_REMOTE  6.0  Small islands and territories known for costly or unreliable
 *                      termination (including French Polynesia and New Caledonia).
 *   PRICE_UNKNOWN 6.0  A destination outside the table (a non-geographic +800 number has
 *                      no region at all): charged like the dearest tier, so an unknown
 *                      destination is never sold below cost. "*=x" replaces it too.
 *
 * Design: one array, sorted by country code, with one entry for every code of sms.CountryEnum
 * except "all" (207 codes, spec section 4); lookups are a bsearch over it (8 comparisons).
 * price_set_overrides() parses the whole specification into a copy of the rates and only
 * copies it back when every item was valid, so an error leaves the table exactly as it was.
 *
 * Override syntax: items separated by ',', blanks allowed around items, '=' and ','.
 *   item   = key "=" rate
 *   key    = two lower-case letters of sms.CountryEnum | "*"
 *   rate   = digits [ "." digits ]      (no sign, no exponent, no "inf"/"nan"; <= 1000)
 * "*" sets every country the same specification does not name, and the unknown-country rate.
 * A key given twice is an error. An empty (or blank) specification changes nothing. Rates are
 * read with strtod(), which is locale-dependent: smsgate never calls setlocale(), so the
 * decimal point is always '.'.
 *
 * Beside the rates, the file holds the other fixed facts of pricing, which the store's price
 * tables (store/sqlite_credits.c) and the API build on: each country's English name (for
 * sms.DestinationRates), the sms.PackQuantityEnum pack sizes and the automatic top-up amounts,
 * the billing countries of sms.BillingCountryEnum with their currency and language, and the
 * text form of an amount of money (order.Price.text). The rates here are the FALLBACK of the
 * store's per-destination table: a country the operator never priced with `smsctl price set`
 * costs what this table (with the `rates` overrides) says.
 *
 * Money: amounts of currency are int64 micro-units (1 EUR = 1000000), so sums and
 * comparisons are exact; OVH's priceInUcents is micro-units * 100.
 *
 * Invariants:
 *   1. price_table is sorted by cc, holds PRICE_COUNTRY_COUNT distinct codes, and every rate
 *      in it, like unknown_rate, is finite and in [0, PRICE_MAX_RATE].
 *   2. The table is only written by price_set_overrides() at start-up, before other threads
 *      read it; afterwards every access is a read, so no lock is needed.
 */
#include "core/price.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define PRICE_FR 1.0
#define PRICE_DOM 1.5
#define PRICE_EU 2.0
#define PRICE_NEAR 3.0
#define PRICE_WORLD 4.5
#define PRICE_REMOTE 6.0
#define PRICE_UNKNOWN 6.0

#define PRICE_COUNTRY_COUNT 207  /* sms.CountryEnum without "all" */
#define PRICE_MAX_RATE 1000.0    /* higher is surely a typo in the configuration */
#define PRICE_RATE_MAX_LEN 32    /* longest rate text accepted */

typedef struct price_entry {
    char cc[3];
    double rate;
    const char *name; /* English short name, for sms.DestinationRates.country */
} price_entry;

static price_entry price_table[] = {
    {"ad", PRICE_NEAR, "Andorra"}, {"ae", PRICE_WORLD, "United Arab Emirates"},
    {"af", PRICE_WORLD, "Afghanistan"}, {"ag", PRICE_WORLD, "Antigua and Barbuda"},
    {"ai", PRICE_WORLD, "Anguilla"}, {"al", PRICE_NEAR, "Albania"}, {"am", PRICE_NEAR, "Armenia"},
    {"an", PRICE_WORLD, "Netherlands Antilles"}, {"ao", PRICE_WORLD, "Angola"},
    {"ar", PRICE_WORLD, "Argentina"}, {"at", PRICE_EU, "Austria"},
    {"au", PRICE_WORLD, "Australia"}, {"aw", PRICE_WORLD, "Aruba"},
    {"az", PRICE_NEAR, "Azerbaijan"}, {"ba", PRICE_NEAR, "Bosnia and Herzegovina"},
    {"bb", PRICE_WORLD, "Barbados"}, {"bd", PRICE_WORLD, "Bangladesh"},
    {"be", PRICE_EU, "Belgium"}, {"bf", PRICE_WORLD, "Burkina Faso"}, {"bg", PRICE_EU, "Bulgaria"},
    {"bh", PRICE_WORLD, "Bahrain"}, {"bi", PRICE_WORLD, "Burundi"}, {"bj", PRICE_WORLD, "Benin"},
    {"bm", PRICE_WORLD, "Bermuda"}, {"bn", PRICE_WORLD, "Brunei Darussalam"},
    {"bo", PRICE_WORLD, "Bolivia"}, {"br", PRICE_WORLD, "Brazil"}, {"bs", PRICE_WORLD, "Bahamas"},
    {"bt", PRICE_WORLD, "Bhutan"}, {"bw", PRICE_WORLD, "Botswana"}, {"by", PRICE_NEAR, "Belarus"},
    {"bz", PRICE_WORLD, "Belize"}, {"ca", PRICE_NEAR, "Canada"},
    {"cd", PRICE_WORLD, "Democratic Republic of the Congo"},
    {"cf", PRICE_WORLD, "Central African Republic"}, {"cg", PRICE_WORLD, "Congo"},
    {"ch", PRICE_EU, "Switzerland"}, {"ci", PRICE_WORLD, "Côte d'Ivoire"},
    {"ck", PRICE_REMOTE, "Cook Islands"}, {"cl", PRICE_WORLD, "Chile"},
    {"cm", PRICE_WORLD, "Cameroon"}, {"cn", PRICE_WORLD, "China"}, {"co", PRICE_WORLD, "Colombia"},
    {"cr", PRICE_WORLD, "Costa Rica"}, {"cu", PRICE_REMOTE, "Cuba"},
    {"cv", PRICE_WORLD, "Cabo Verde"}, {"cy", PRICE_EU, "Cyprus"}, {"cz", PRICE_EU, "Czechia"},
    {"de", PRICE_EU, "Germany"}, {"dk", PRICE_EU, "Denmark"}, {"dm", PRICE_WORLD, "Dominica"},
    {"dz", PRICE_NEAR, "Algeria"}, {"ec", PRICE_WORLD, "Ecuador"}, {"ee", PRICE_EU, "Estonia"},
    {"eg", PRICE_NEAR, "Egypt"}, {"es", PRICE_EU, "Spain"}, {"et", PRICE_WORLD, "Ethiopia"},
    {"fi", PRICE_EU, "Finland"}, {"fj", PRICE_WORLD, "Fiji"},
    {"fk", PRICE_REMOTE, "Falkland Islands"}, {"fo", PRICE_NEAR, "Faroe Islands"},
    {"fr", PRICE_FR, "France"}, {"ga", PRICE_WORLD, "Gabon"}, {"gb", PRICE_EU, "United Kingdom"},
    {"gd", PRICE_WORLD, "Grenada"}, {"ge", PRICE_NEAR, "Georgia"},
    {"gf", PRICE_DOM, "French Guiana"}, {"gh", PRICE_WORLD, "Ghana"},
    {"gi", PRICE_NEAR, "Gibraltar"}, {"gl", PRICE_NEAR, "Greenland"},
    {"gm", PRICE_WORLD, "Gambia"}, {"gn", PRICE_WORLD, "Guinea"}, {"gp", PRICE_DOM, "Guadeloupe"},
    {"gq", PRICE_WORLD, "Equatorial Guinea"}, {"gr", PRICE_EU, "Greece"},
    {"gt", PRICE_WORLD, "Guatemala"}, {"gu", PRICE_WORLD, "Guam"},
    {"gw", PRICE_WORLD, "Guinea-Bissau"}, {"gy", PRICE_WORLD, "Guyana"},
    {"hk", PRICE_WORLD, "Hong Kong"}, {"hn", PRICE_WORLD, "Honduras"}, {"hr", PRICE_EU, "Croatia"},
    {"ht", PRICE_WORLD, "Haiti"}, {"hu", PRICE_EU, "Hungary"}, {"id", PRICE_WORLD, "Indonesia"},
    {"ie", PRICE_EU, "Ireland"}, {"il", PRICE_NEAR, "Israel"}, {"in", PRICE_WORLD, "India"},
    {"io", PRICE_REMOTE, "British Indian Ocean Territory"}, {"iq", PRICE_WORLD, "Iraq"},
    {"ir", PRICE_WORLD, "Iran"}, {"is", PRICE_EU, "Iceland"}, {"it", PRICE_EU, "Italy"},
    {"jm", PRICE_WORLD, "Jamaica"}, {"jo", PRICE_NEAR, "Jordan"}, {"jp", PRICE_WORLD, "Japan"},
    {"ke", PRICE_WORLD, "Kenya"}, {"kg", PRICE_WORLD, "Kyrgyzstan"},
    {"kh", PRICE_WORLD, "Cambodia"}, {"km", PRICE_REMOTE, "Comoros"},
    {"kn", PRICE_WORLD, "Saint Kitts and Nevis"}, {"kr", PRICE_WORLD, "South Korea"},
    {"kw", PRICE_WORLD, "Kuwait"}, {"ky", PRICE_WORLD, "Cayman Islands"},
    {"kz", PRICE_WORLD, "Kazakhstan"}, {"la", PRICE_WORLD, "Laos"}, {"lb", PRICE_NEAR, "Lebanon"},
    {"lc", PRICE_WORLD, "Saint Lucia"}, {"li", PRICE_EU, "Liechtenstein"},
    {"lk", PRICE_WORLD, "Sri Lanka"}, {"lr", PRICE_WORLD, "Liberia"},
    {"ls", PRICE_WORLD, "Lesotho"}, {"lt", PRICE_EU, "Lithuania"}, {"lu", PRICE_EU, "Luxembourg"},
    {"lv", PRICE_EU, "Latvia"}, {"ly", PRICE_NEAR, "Libya"}, {"ma", PRICE_NEAR, "Morocco"},
    {"md", PRICE_NEAR, "Moldova"}, {"me", PRICE_NEAR, "Montenegro"},
    {"mg", PRICE_WORLD, "Madagascar"}, {"mk", PRICE_NEAR, "North Macedonia"},
    {"ml", PRICE_WORLD, "Mali"}, {"mn", PRICE_WORLD, "Mongolia"}, {"mo", PRICE_WORLD, "Macao"},
    {"mq", PRICE_DOM, "Martinique"}, {"mr", PRICE_WORLD, "Mauritania"},
    {"ms", PRICE_WORLD, "Montserrat"}, {"mt", PRICE_EU, "Malta"}, {"mu", PRICE_WORLD, "Mauritius"},
    {"mv", PRICE_WORLD, "Maldives"}, {"mw", PRICE_WORLD, "Malawi"}, {"mx", PRICE_WORLD, "Mexico"},
    {"my", PRICE_WORLD, "Malaysia"}, {"mz", PRICE_WORLD, "Mozambique"},
    {"na", PRICE_WORLD, "Namibia"}, {"nc", PRICE_REMOTE, "New Caledonia"},
    {"ne", PRICE_WORLD, "Niger"}, {"ng", PRICE_WORLD, "Nigeria"}, {"ni", PRICE_WORLD, "Nicaragua"},
    {"nl", PRICE_EU, "Netherlands"}, {"no", PRICE_EU, "Norway"}, {"np", PRICE_WORLD, "Nepal"},
    {"nz", PRICE_WORLD, "New Zealand"}, {"om", PRICE_WORLD, "Oman"}, {"pa", PRICE_WORLD, "Panama"},
    {"pe", PRICE_WORLD, "Peru"}, {"pf", PRICE_REMOTE, "French Polynesia"},
    {"pg", PRICE_REMOTE, "Papua New Guinea"}, {"ph", PRICE_WORLD, "Philippines"},
    {"pk", PRICE_WORLD, "Pakistan"}, {"pl", PRICE_EU, "Poland"}, {"ps", PRICE_NEAR, "Palestine"},
    {"pt", PRICE_EU, "Portugal"}, {"py", PRICE_WORLD, "Paraguay"}, {"qa", PRICE_WORLD, "Qatar"},
    {"re", PRICE_DOM, "Réunion"}, {"ro", PRICE_EU, "Romania"}, {"rs", PRICE_NEAR, "Serbia"},
    {"ru", PRICE_NEAR, "Russian Federation"}, {"rw", PRICE_WORLD, "Rwanda"},
    {"sa", PRICE_WORLD, "Saudi Arabia"}, {"sb", PRICE_REMOTE, "Solomon Islands"},
    {"sc", PRICE_WORLD, "Seychelles"}, {"sd", PRICE_WORLD, "Sudan"}, {"se", PRICE_EU, "Sweden"},
    {"sg", PRICE_WORLD, "Singapore"}, {"si", PRICE_EU, "Slovenia"}, {"sk", PRICE_EU, "Slovakia"},
    {"sl", PRICE_WORLD, "Sierra Leone"}, {"sm", PRICE_NEAR, "San Marino"},
    {"sn", PRICE_WORLD, "Senegal"}, {"so", PRICE_REMOTE, "Somalia"},
    {"sr", PRICE_WORLD, "Suriname"}, {"st", PRICE_REMOTE, "Sao Tome and Principe"},
    {"sv", PRICE_WORLD, "El Salvador"}, {"sy", PRICE_WORLD, "Syria"},
    {"sz", PRICE_WORLD, "Eswatini"}, {"tc", PRICE_WORLD, "Turks and Caicos Islands"},
    {"td", PRICE_WORLD, "Chad"}, {"tg", PRICE_WORLD, "Togo"}, {"th", PRICE_WORLD, "Thailand"},
    {"tj", PRICE_WORLD, "Tajikistan"}, {"tl", PRICE_REMOTE, "Timor-Leste"},
    {"tm", PRICE_WORLD, "Turkmenistan"}, {"tn", PRICE_NEAR, "Tunisia"},
    {"to", PRICE_REMOTE, "Tonga"}, {"tr", PRICE_NEAR, "Türkiye"},
    {"tt", PRICE_WORLD, "Trinidad and Tobago"}, {"tw", PRICE_WORLD, "Taiwan"},
    {"tz", PRICE_WORLD, "Tanzania"}, {"ua", PRICE_NEAR, "Ukraine"}, {"ug", PRICE_WORLD, "Uganda"},
    {"us", PRICE_NEAR, "United States"}, {"uy", PRICE_WORLD, "Uruguay"},
    {"uz", PRICE_WORLD, "Uzbekistan"}, {"vc", PRICE_WORLD, "Saint Vincent and the Grenadines"},
    {"ve", PRICE_WORLD, "Venezuela"}, {"vg", PRICE_WORLD, "British Virgin Islands"},
    {"vi", PRICE_WORLD, "U.S. Virgin Islands"}, {"vn", PRICE_WORLD, "Vietnam"},
    {"vu", PRICE_REMOTE, "Vanuatu"}, {"ws", PRICE_REMOTE, "Samoa"}, {"ye", PRICE_WORLD, "Yemen"},
    {"yt", PRICE_DOM, "Mayotte"}, {"za", PRICE_WORLD, "South Africa"},
    {"zm", PRICE_WORLD, "Zambia"}, {"zw", PRICE_WORLD, "Zimbabwe"},
};

_Static_assert(sizeof price_table / sizeof price_table[0] == PRICE_COUNTRY_COUNT,
               "price_table must hold every code of sms.CountryEnum except 'all'");

static double unknown_rate = PRICE_UNKNOWN;

static int is_cc(const char *s) {
    return s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
}

static int cmp_entry(const void *key, const void *elem) {
    return memcmp(key, ((const price_entry *)elem)->cc, 2);
}

/* Index of the two-letter code at cc (not necessarily NUL-terminated), or -1. */
static int find(const char *cc) {
    if (!is_cc(cc)) return -1;
    const price_entry *e =
        bsearch(cc, price_table, PRICE_COUNTRY_COUNT, sizeof price_table[0], cmp_entry);
    return e ? (int)(e - price_table) : -1;
}

/* Index of a NUL-terminated country code, or -1 (NULL, wrong length, unknown). */
static int find_str(const char *cc) {
    if (!cc || !cc[0] || !cc[1] || cc[2]) return -1;
    return find(cc);
}

int price_country_known(const char *cc) {
    return find_str(cc) >= 0;
}

double price_credits_per_part(const char *region) {
    int i = find_str(region);
    return i >= 0 ? price_table[i].rate : unknown_rate;
}

static const char *skip_blanks(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Reads a rate at *pp (grammar in the file comment) and advances *pp past it. */
static int parse_rate(const char **pp, double *out) {
    const char *p = *pp, *start = p;
    while (*p >= '0' && *p <= '9') p++;
    if (p == start) return SG_EINVAL;
    if (*p == '.') {
        const char *frac = ++p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == frac) return SG_EINVAL;
    }
    size_t n = (size_t)(p - start);
    if (n > PRICE_RATE_MAX_LEN) return SG_EINVAL;
    char buf[PRICE_RATE_MAX_LEN + 1];
    memcpy(buf, start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    /* Only digits and one '.' got here, so v is finite and >= 0; the bound is what matters. */
    if (!(v >= 0.0 && v <= PRICE_MAX_RATE)) return SG_EINVAL;
    *out = v;
    *pp = p;
    return 0;
}

int price_set_overrides(const char *spec) {
    if (!spec) return SG_EINVAL;

    double rates[PRICE_COUNTRY_COUNT];
    unsigned char named[PRICE_COUNTRY_COUNT] = {0};
    double star = 0.0;
    int have_star = 0;
    for (int i = 0; i < PRICE_COUNTRY_COUNT; i++) rates[i] = price_table[i].rate;

    const char *p = skip_blanks(spec);
    if (*p == '\0') return 0;
    for (;;) {
        int idx = -1;
        p = skip_blanks(p);
        if (*p == '*') {
            if (have_star) return SG_EINVAL;
            have_star = 1;
            p++;
        } else {
            idx = find(p); /* reads p[1] only if p[0] is a letter, so never past the NUL */
            if (idx < 0 || named[idx]) return SG_EINVAL;
            named[idx] = 1;
            p += 2;
        }
        p = skip_blanks(p);
        if (*p++ != '=') return SG_EINVAL;
        p = skip_blanks(p);
        double v;
        if (parse_rate(&p, &v) != 0) return SG_EINVAL;
        if (idx >= 0) rates[idx] = v;
        else star = v;
        p = skip_blanks(p);
        if (*p == '\0') break;
        if (*p++ != ',') return SG_EINVAL;
    }

    for (int i = 0; i < PRICE_COUNTRY_COUNT; i++)
        price_table[i].rate = (have_star && !named[i]) ? star : rates[i];
    if (have_star) unknown_rate = star;
    return 0;
}

const char *price_country_name(const char *cc) {
    int i = find_str(cc);
    return i >= 0 ? price_table[i].name : NULL;
}

/* ---- packs, billing countries, money ---- */

static const int64_t pack_sizes[] = {100,  200,   250,   500,    1000,   2500,
                                     5000, 10000, 25000, 50000, 100000, 1000000};
static const int64_t recredit_sizes[] = {100, 200, 250, 500, 1000, 5000, 10000};

const int64_t *price_pack_quantities(size_t *n) {
    *n = sizeof pack_sizes / sizeof pack_sizes[0];
    return pack_sizes;
}

static int in_list(const int64_t *v, size_t n, int64_t q) {
    for (size_t i = 0; i < n; i++)
        if (v[i] == q) return 1;
    return 0;
}

int price_pack_quantity_valid(int64_t q) {
    return in_list(pack_sizes, sizeof pack_sizes / sizeof pack_sizes[0], q);
}

int price_recredit_amount_valid(int64_t q) {
    return in_list(recredit_sizes, sizeof recredit_sizes / sizeof recredit_sizes[0], q);
}

typedef struct billing_entry {
    char cc[3];
    char currency[4];
    const char *language;
} billing_entry;

static const billing_entry billing_table[] = {
    {"es", "EUR", "es"}, {"fr", "EUR", "fr"}, {"gb", "GBP", "en"},
    {"ie", "EUR", "en"}, {"it", "EUR", "it"}, {"pl", "PLN", "pl"},
};

static const billing_entry *billing(const char *cc) {
    if (!cc) return NULL;
    for (size_t i = 0; i < sizeof billing_table / sizeof billing_table[0]; i++)
        if (!strcmp(billing_table[i].cc, cc)) return &billing_table[i];
    return NULL;
}

int price_billing_known(const char *cc) { return billing(cc) != NULL; }

const char *price_billing_currency(const char *cc) {
    const billing_entry *b = billing(cc);
    return b ? b->currency : NULL;
}

const char *price_billing_language(const char *cc) {
    const billing_entry *b = billing(cc);
    return b ? b->language : NULL;
}

const char *price_billing_list(void) { return "es, fr, gb, ie, it, pl"; }

int64_t price_tax(int64_t micro, int64_t vat_bp) {
    /* micro * vat_bp stays below 2^63 for any price up to 10^8 currency units (the API bound). */
    int64_t raw = micro * vat_bp;                 /* micro-units * 10000 */
    int64_t cents = (raw + 50000000) / 100000000; /* 1 cent = 10000 micro = 10^8 raw */
    return cents * 10000;
}

void price_format(int64_t micro, const char *currency, char *buf, size_t n) {
    /* Two decimals, more only when the amount has them (a unit price such as 0.105). */
    int neg = micro < 0;
    uint64_t a = neg ? (uint64_t)0 - (uint64_t)micro : (uint64_t)micro;
    uint64_t whole = a / 1000000, frac = a % 1000000;
    char digits[8];
    snprintf(digits, sizeof digits, "%06" PRIu64, frac);
    int keep = 6;
    while (keep > 2 && digits[keep - 1] == '0') keep--;
    digits[keep] = '\0';
    const char *sym = !currency                  ? ""
                      : !strcmp(currency, "EUR") ? "\xe2\x82\xac"
                      : !strcmp(currency, "GBP") ? "\xc2\xa3"
                      : !strcmp(currency, "PLN") ? "z\xc5\x82"
                                                 : currency;
    if (currency && !strcmp(currency, "GBP"))
        snprintf(buf, n, "%s%s%" PRIu64 ".%s", neg ? "-" : "", sym, whole, digits);
    else
        snprintf(buf, n, "%s%" PRIu64 ".%s%s%s", neg ? "-" : "", whole, digits, *sym ? " " : "",
                 sym);
}
