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
 * Invariants:
 *   1. price_table is sorted by cc, holds PRICE_COUNTRY_COUNT distinct codes, and every rate
 *      in it, like unknown_rate, is finite and in [0, PRICE_MAX_RATE].
 *   2. The table is only written by price_set_overrides() at start-up, before other threads
 *      read it; afterwards every access is a read, so no lock is needed.
 */
#include "core/price.h"

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
} price_entry;

static price_entry price_table[] = {
    {"ad", PRICE_NEAR}, {"ae", PRICE_WORLD}, {"af", PRICE_WORLD}, {"ag", PRICE_WORLD},
    {"ai", PRICE_WORLD}, {"al", PRICE_NEAR}, {"am", PRICE_NEAR}, {"an", PRICE_WORLD},
    {"ao", PRICE_WORLD}, {"ar", PRICE_WORLD}, {"at", PRICE_EU}, {"au", PRICE_WORLD},
    {"aw", PRICE_WORLD}, {"az", PRICE_NEAR}, {"ba", PRICE_NEAR}, {"bb", PRICE_WORLD},
    {"bd", PRICE_WORLD}, {"be", PRICE_EU}, {"bf", PRICE_WORLD}, {"bg", PRICE_EU},
    {"bh", PRICE_WORLD}, {"bi", PRICE_WORLD}, {"bj", PRICE_WORLD}, {"bm", PRICE_WORLD},
    {"bn", PRICE_WORLD}, {"bo", PRICE_WORLD}, {"br", PRICE_WORLD}, {"bs", PRICE_WORLD},
    {"bt", PRICE_WORLD}, {"bw", PRICE_WORLD}, {"by", PRICE_NEAR}, {"bz", PRICE_WORLD},
    {"ca", PRICE_NEAR}, {"cd", PRICE_WORLD}, {"cf", PRICE_WORLD}, {"cg", PRICE_WORLD},
    {"ch", PRICE_EU}, {"ci", PRICE_WORLD}, {"ck", PRICE_REMOTE}, {"cl", PRICE_WORLD},
    {"cm", PRICE_WORLD}, {"cn", PRICE_WORLD}, {"co", PRICE_WORLD}, {"cr", PRICE_WORLD},
    {"cu", PRICE_REMOTE}, {"cv", PRICE_WORLD}, {"cy", PRICE_EU}, {"cz", PRICE_EU},
    {"de", PRICE_EU}, {"dk", PRICE_EU}, {"dm", PRICE_WORLD}, {"dz", PRICE_NEAR},
    {"ec", PRICE_WORLD}, {"ee", PRICE_EU}, {"eg", PRICE_NEAR}, {"es", PRICE_EU},
    {"et", PRICE_WORLD}, {"fi", PRICE_EU}, {"fj", PRICE_WORLD}, {"fk", PRICE_REMOTE},
    {"fo", PRICE_NEAR}, {"fr", PRICE_FR}, {"ga", PRICE_WORLD}, {"gb", PRICE_EU},
    {"gd", PRICE_WORLD}, {"ge", PRICE_NEAR}, {"gf", PRICE_DOM}, {"gh", PRICE_WORLD},
    {"gi", PRICE_NEAR}, {"gl", PRICE_NEAR}, {"gm", PRICE_WORLD}, {"gn", PRICE_WORLD},
    {"gp", PRICE_DOM}, {"gq", PRICE_WORLD}, {"gr", PRICE_EU}, {"gt", PRICE_WORLD},
    {"gu", PRICE_WORLD}, {"gw", PRICE_WORLD}, {"gy", PRICE_WORLD}, {"hk", PRICE_WORLD},
    {"hn", PRICE_WORLD}, {"hr", PRICE_EU}, {"ht", PRICE_WORLD}, {"hu", PRICE_EU},
    {"id", PRICE_WORLD}, {"ie", PRICE_EU}, {"il", PRICE_NEAR}, {"in", PRICE_WORLD},
    {"io", PRICE_REMOTE}, {"iq", PRICE_WORLD}, {"ir", PRICE_WORLD}, {"is", PRICE_EU},
    {"it", PRICE_EU}, {"jm", PRICE_WORLD}, {"jo", PRICE_NEAR}, {"jp", PRICE_WORLD},
    {"ke", PRICE_WORLD}, {"kg", PRICE_WORLD}, {"kh", PRICE_WORLD}, {"km", PRICE_REMOTE},
    {"kn", PRICE_WORLD}, {"kr", PRICE_WORLD}, {"kw", PRICE_WORLD}, {"ky", PRICE_WORLD},
    {"kz", PRICE_WORLD}, {"la", PRICE_WORLD}, {"lb", PRICE_NEAR}, {"lc", PRICE_WORLD},
    {"li", PRICE_EU}, {"lk", PRICE_WORLD}, {"lr", PRICE_WORLD}, {"ls", PRICE_WORLD},
    {"lt", PRICE_EU}, {"lu", PRICE_EU}, {"lv", PRICE_EU}, {"ly", PRICE_NEAR},
    {"ma", PRICE_NEAR}, {"md", PRICE_NEAR}, {"me", PRICE_NEAR}, {"mg", PRICE_WORLD},
    {"mk", PRICE_NEAR}, {"ml", PRICE_WORLD}, {"mn", PRICE_WORLD}, {"mo", PRICE_WORLD},
    {"mq", PRICE_DOM}, {"mr", PRICE_WORLD}, {"ms", PRICE_WORLD}, {"mt", PRICE_EU},
    {"mu", PRICE_WORLD}, {"mv", PRICE_WORLD}, {"mw", PRICE_WORLD}, {"mx", PRICE_WORLD},
    {"my", PRICE_WORLD}, {"mz", PRICE_WORLD}, {"na", PRICE_WORLD}, {"nc", PRICE_REMOTE},
    {"ne", PRICE_WORLD}, {"ng", PRICE_WORLD}, {"ni", PRICE_WORLD}, {"nl", PRICE_EU},
    {"no", PRICE_EU}, {"np", PRICE_WORLD}, {"nz", PRICE_WORLD}, {"om", PRICE_WORLD},
    {"pa", PRICE_WORLD}, {"pe", PRICE_WORLD}, {"pf", PRICE_REMOTE}, {"pg", PRICE_REMOTE},
    {"ph", PRICE_WORLD}, {"pk", PRICE_WORLD}, {"pl", PRICE_EU}, {"ps", PRICE_NEAR},
    {"pt", PRICE_EU}, {"py", PRICE_WORLD}, {"qa", PRICE_WORLD}, {"re", PRICE_DOM},
    {"ro", PRICE_EU}, {"rs", PRICE_NEAR}, {"ru", PRICE_NEAR}, {"rw", PRICE_WORLD},
    {"sa", PRICE_WORLD}, {"sb", PRICE_REMOTE}, {"sc", PRICE_WORLD}, {"sd", PRICE_WORLD},
    {"se", PRICE_EU}, {"sg", PRICE_WORLD}, {"si", PRICE_EU}, {"sk", PRICE_EU},
    {"sl", PRICE_WORLD}, {"sm", PRICE_NEAR}, {"sn", PRICE_WORLD}, {"so", PRICE_REMOTE},
    {"sr", PRICE_WORLD}, {"st", PRICE_REMOTE}, {"sv", PRICE_WORLD}, {"sy", PRICE_WORLD},
    {"sz", PRICE_WORLD}, {"tc", PRICE_WORLD}, {"td", PRICE_WORLD}, {"tg", PRICE_WORLD},
    {"th", PRICE_WORLD}, {"tj", PRICE_WORLD}, {"tl", PRICE_REMOTE}, {"tm", PRICE_WORLD},
    {"tn", PRICE_NEAR}, {"to", PRICE_REMOTE}, {"tr", PRICE_NEAR}, {"tt", PRICE_WORLD},
    {"tw", PRICE_WORLD}, {"tz", PRICE_WORLD}, {"ua", PRICE_NEAR}, {"ug", PRICE_WORLD},
    {"us", PRICE_NEAR}, {"uy", PRICE_WORLD}, {"uz", PRICE_WORLD}, {"vc", PRICE_WORLD},
    {"ve", PRICE_WORLD}, {"vg", PRICE_WORLD}, {"vi", PRICE_WORLD}, {"vn", PRICE_WORLD},
    {"vu", PRICE_REMOTE}, {"ws", PRICE_REMOTE}, {"ye", PRICE_WORLD}, {"yt", PRICE_DOM},
    {"za", PRICE_WORLD}, {"zm", PRICE_WORLD}, {"zw", PRICE_WORLD},
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
