/*
 * tz.c - time zones from TZif bytes or POSIX TZ strings, and the calendar (see tz.h).
 *
 * Design. A zone is what a TZif file says, reduced to what the offset needs: the transition
 * instants (64-bit, sorted) with the offset in force from each, the offset before the first,
 * and the footer's POSIX rule for everything after the last. Debian's tzdata is built "fat"
 * (Europe/Paris lists its transitions up to 2037, then the footer
 * "CET-1CEST,M3.5.0,M10.5.0/3"); "slim" files stop at the last change of rules and rely on
 * the footer. Both read the same here. Leap seconds ("right/" zones) are ignored: instants are
 * POSIX time, as everywhere in smsgate.
 *
 * A POSIX rule gives, for a year, the instant DST starts and the instant it ends (each written
 * as a local time of the clock in force before the change): tz_offset computes both for the
 * year of t and compares. Southern zones, whose DST spans the new year, have start after end.
 *
 * Local time to UTC (tz_local_to_utc). With the offsets in force a day before and a day after,
 * local - offset gives at most two candidates; a candidate is real when the offset at it is the
 * one used. Two real ones: the hour that happens twice; none: the gap, which ends at the
 * change that follows local - (offset after).
 *
 * Invariants:
 *   1. A zone never changes after it is parsed: every function here is pure.
 *   2. times[] is strictly increasing; offs[i] is in force from times[i] (inclusive) until
 *      times[i + 1]; before times[0], off0.
 *   3. From times[n - 1] on (or always when n == 0), the footer rule decides when there is
 *      one, else offs[n - 1] (off0 when n == 0).
 */
#include "core/tz.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define MAX_TRANSITIONS 100000
#define DAY 86400

typedef struct tz_rule {
    char kind; /* 'M', 'J' or 'D' (day of year counting Feb 29) */
    int m, w, d, n;
    int32_t time; /* seconds after local midnight, on the clock before the change */
} tz_rule;

typedef struct tz_posix {
    int32_t std_off, dst_off; /* east of UTC */
    int has_dst;
    tz_rule start, end;
} tz_posix;

struct tz_zone {
    size_t n;
    int64_t *times;
    int32_t *offs;
    int32_t off0;
    int has_footer;
    tz_posix footer;
};

/* ---- calendar ---- */

int64_t tz_floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0); }

static int64_t floor_mod(int64_t a, int64_t b) { return a - tz_floor_div(a, b) * b; }

int64_t tz_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = tz_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = tz_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int tz_weekday(int64_t z) { return (int)floor_mod(z + 3, 7); }

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* ---- POSIX TZ strings ---- */

static const char *parse_name(const char *p) {
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e && e - p >= 4 ? e + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p)) p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]h[h[h]][:mm[:ss]] into seconds; hours up to max_h. */
static const char *parse_time(const char *p, int max_h, int32_t *out) {
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p)) return NULL;
    int h = 0, mm = 0, ss = 0, nd = 0;
    while (isdigit((unsigned char)*p) && nd < 3) h = h * 10 + (*p++ - '0'), nd++;
    if (h > max_h) return NULL;
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return NULL;
        mm = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':') {
            p++;
            if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return NULL;
            ss = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
    }
    if (mm > 59 || ss > 59) return NULL;
    *out = sign * (h * 3600 + mm * 60 + ss);
    return p;
}

static const char *parse_num(const char *p, int lo, int hi, int *out) {
    if (!isdigit((unsigned char)*p)) return NULL;
    int v = 0;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        if (v > hi) return NULL;
    }
    if (v < lo) return NULL;
    *out = v;
    return p;
}

static const char *parse_rule(const char *p, tz_rule *r) {
    memset(r, 0, sizeof *r);
    if (*p == 'M') {
        r->kind = 'M';
        if (!(p = parse_num(p + 1, 1, 12, &r->m)) || *p++ != '.' ||
            !(p = parse_num(p, 1, 5, &r->w)) || *p++ != '.' || !(p = parse_num(p, 0, 6, &r->d)))
            return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        if (!(p = parse_num(p + 1, 1, 365, &r->n))) return NULL;
    } else {
        r->kind = 'D';
        if (!(p = parse_num(p, 0, 365, &r->n))) return NULL;
    }
    r->time = 7200;
    if (*p == '/' && !(p = parse_time(p + 1, 167, &r->time))) return NULL;
    return p;
}

static int parse_posix(const char *s, tz_posix *out) {
    memset(out, 0, sizeof *out);
    const char *p = parse_name(s);
    int32_t west;
    if (!p || !(p = parse_time(p, 24, &west))) return SG_EINVAL;
    out->std_off = out->dst_off = -west;
    if (!*p) return 0;
    if (!(p = parse_name(p))) return SG_EINVAL;
    out->has_dst = 1;
    out->dst_off = out->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_time(p, 24, &west))) return SG_EINVAL;
        out->dst_off = -west;
    }
    if (!*p) { /* POSIX's default rules (the United States' since 2007) */
        out->start = (tz_rule){'M', 3, 2, 0, 0, 7200};
        out->end = (tz_rule){'M', 11, 1, 0, 0, 7200};
        return 0;
    }
    if (*p++ != ',' || !(p = parse_rule(p, &out->start)) || *p++ != ',' ||
        !(p = parse_rule(p, &out->end)) || *p)
        return SG_EINVAL;
    return 0;
}

/* The local day (days since 1970-01-01) on which rule r falls in year y. */
static int64_t rule_day(const tz_rule *r, int64_t y) {
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    if (r->kind == 'J') return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
    if (r->kind == 'D') return jan1 + r->n;
    int64_t first = tz_days_from_civil(y, r->m, 1);
    int64_t next = r->m == 12 ? tz_days_from_civil(y + 1, 1, 1)
                              : tz_days_from_civil(y, r->m + 1, 1);
    int wd = (int)floor_mod(first + 4, 7); /* 0 Sunday */
    int64_t day = first + floor_mod(r->d - wd, 7) + 7 * (r->w - 1);
    while (day >= next) day -= 7;
    return day;
}

/* The instants DST starts and ends in year y. */
static void year_changes(const tz_posix *z, int64_t y, int64_t *start, int64_t *end) {
    *start = rule_day(&z->start, y) * DAY + z->start.time - z->std_off;
    *end = rule_day(&z->end, y) * DAY + z->end.time - z->dst_off;
}

static int32_t posix_offset(const tz_posix *z, int64_t t) {
    if (!z->has_dst) return z->std_off;
    int64_t y;
    int m, d;
    tz_civil_from_days(tz_floor_div(t + z->std_off, DAY), &y, &m, &d);
    int64_t s, e;
    year_changes(z, y, &s, &e);
    int dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? z->dst_off : z->std_off;
}

static int64_t posix_next_change(const tz_posix *z, int64_t t) {
    if (!z->has_dst || z->std_off == z->dst_off) return INT64_MAX;
    int64_t y;
    int m, d;
    tz_civil_from_days(tz_floor_div(t + z->std_off, DAY), &y, &m, &d);
    int64_t best = INT64_MAX;
    int32_t now = posix_offset(z, t);
    for (int64_t k = y - 1; k <= y + 1; k++) {
        int64_t c[2];
        year_changes(z, k, &c[0], &c[1]);
        for (int i = 0; i < 2; i++)
            if (c[i] > t && c[i] < best && posix_offset(z, c[i]) != now) best = c[i];
    }
    return best;
}

tz_zone *tz_parse_posix(const char *spec, int *err) {
    tz_posix p;
    if (!spec || parse_posix(spec, &p) != 0) {
        if (err) *err = SG_EINVAL;
        return NULL;
    }
    tz_zone *z = sg_xcalloc(1, sizeof *z);
    z->has_footer = 1;
    z->footer = p;
    z->off0 = p.std_off;
    return z;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_head {
    int version;
    uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
} tzif_head;

static int read_head(const unsigned char *p, size_t len, tzif_head *h) {
    if (len < 44 || memcmp(p, "TZif", 4) != 0) return SG_EINVAL;
    h->version = p[4] ? p[4] - '0' : 1;
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > MAX_TRANSITIONS ||
        h->leap > MAX_TRANSITIONS || h->charcnt > 65536 ||
        (h->isut && h->isut != h->typecnt) || (h->isstd && h->isstd != h->typecnt))
        return SG_EINVAL;
    return 0;
}

static size_t block_len(const tzif_head *h, int tsize) {
    return (size_t)h->timecnt * (size_t)(tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leap * (size_t)(tsize + 4) + h->isstd + h->isut;
}

tz_zone *tz_parse_tzif(const void *buf, size_t len, int *err) {
    const unsigned char *p = buf;
    tzif_head h;
    if (err) *err = SG_EINVAL;
    if (!p || read_head(p, len, &h) != 0) return NULL;
    size_t off = 44;
    int tsize = 4;
    if (h.version >= 2) { /* skip the 32-bit block: the 64-bit one follows */
        size_t skip = block_len(&h, 4);
        if (len - off < skip) return NULL;
        off += skip;
        if (read_head(p + off, len - off, &h) != 0) return NULL;
        off += 44;
        tsize = 8;
    }
    size_t need = block_len(&h, tsize);
    if (len - off < need) return NULL;
    const unsigned char *times = p + off, *idx = times + (size_t)h.timecnt * tsize,
                        *types = idx + h.timecnt;
    tz_zone *z = sg_xcalloc(1, sizeof *z);
    z->times = sg_xcalloc(h.timecnt ? h.timecnt : 1, sizeof *z->times);
    z->offs = sg_xcalloc(h.timecnt ? h.timecnt : 1, sizeof *z->offs);
    z->off0 = (int32_t)be32(types); /* type 0 rules before the first transition (RFC 8536) */
    for (uint32_t i = 0; i < h.timecnt; i++) {
        int64_t t = tsize == 8 ? be64(times + (size_t)i * 8) : (int32_t)be32(times + (size_t)i * 4);
        if (idx[i] >= h.typecnt || (z->n && t <= z->times[z->n - 1])) {
            tz_free(z);
            return NULL;
        }
        z->times[z->n] = t;
        z->offs[z->n] = (int32_t)be32(types + (size_t)idx[i] * 6);
        z->n++;
    }
    off += need;
    if (h.version >= 2 && off < len && p[off] == '\n') { /* the footer: "\nTZ\n" */
        const unsigned char *s = p + off + 1, *e = memchr(s, '\n', len - off - 1);
        if (e && e > s) {
            char spec[256];
            size_t n = (size_t)(e - s);
            if (n >= sizeof spec) {
                tz_free(z);
                return NULL;
            }
            memcpy(spec, s, n);
            spec[n] = '\0';
            if (parse_posix(spec, &z->footer) != 0) {
                tz_free(z);
                return NULL;
            }
            z->has_footer = 1;
        }
    }
    if (err) *err = 0;
    return z;
}

void tz_free(tz_zone *z) {
    if (!z) return;
    free(z->times);
    free(z->offs);
    free(z);
}

/* ---- offsets ---- */

/* The index of the last transition at or before t, or -1. */
static int64_t find(const tz_zone *z, int64_t t) {
    int64_t lo = 0, hi = (int64_t)z->n - 1, ans = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= t) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

int32_t tz_offset(const tz_zone *z, int64_t t) {
    int64_t i = find(z, t);
    if (i == (int64_t)z->n - 1 && z->has_footer) return posix_offset(&z->footer, t);
    return i < 0 ? z->off0 : z->offs[i];
}

int64_t tz_next_change(const tz_zone *z, int64_t t) {
    int32_t now = tz_offset(z, t);
    for (size_t i = (size_t)(find(z, t) + 1); i < z->n; i++)
        if (z->offs[i] != now) return z->times[i];
    if (!z->has_footer) return INT64_MAX;
    /* Past the table: the footer's changes, from the last transition on. */
    int64_t from = z->n && z->times[z->n - 1] > t ? z->times[z->n - 1] : t;
    int64_t c = posix_next_change(&z->footer, from);
    return c;
}

int tz_local_to_utc(const tz_zone *z, int64_t local, int64_t out[2], int64_t *gap_end) {
    int32_t before = tz_offset(z, local - DAY), after = tz_offset(z, local + DAY);
    int32_t offs[2] = {before, after};
    if (before < after) { /* the larger offset gives the earlier instant */
        offs[0] = after;
        offs[1] = before;
    }
    int n = 0;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && offs[1] == offs[0]) break;
        int64_t u = local - offs[i];
        if (tz_offset(z, u) == offs[i]) out[n++] = u;
    }
    if (n == 0 && gap_end) *gap_end = tz_next_change(z, local - after - 1);
    return n;
}
