/*
 * hours.c - marketing hours (see hours.h).
 *
 * Design. Whether an instant is allowed depends only on the local wall-clock time there: its
 * date (the weekday and the holidays) and its minute of the day. hours_allowed converts once
 * (tz_offset) and looks. hours_next, for an instant that is not allowed, looks at the
 * instants where "allowed" can become true, in order:
 *   - the start of the window of each qualifying local day (its weekday allowed, not a
 *     holiday), converted back to UTC (tz_local_to_utc): in the hour that happens twice, its
 *     first occurrence, or the second one when the first is already past; in a gap, the end
 *     of the gap (a window opening at 02:30 on the night the clocks go from 02:00 to 03:00
 *     opens at 03:00);
 *   - each change of offset (tz_next_change), where the wall clock jumps and may land inside
 *     a window (only with windows that end in an hour that happens twice);
 * and returns the first one that is allowed. Days are walked one by one from the local day
 * of t; a rule allows at least one weekday, and holidays are a few days a year, so the walk
 * is short (at most about ten days); it gives up after two years.
 *
 * Holidays (HOURS_HOLIDAYS_FR) are the eleven public holidays of metropolitan France (Code du
 * travail L3133-1); Easter Monday, Ascension (Easter + 39) and Whit Monday (Easter + 50)
 * follow Easter Sunday, from the anonymous Gregorian computus (Meeus/Jones/Butcher). The two
 * extra days of Alsace-Moselle (Good Friday, 26 December) are not in the set.
 *
 * Invariants:
 *   1. hours_next(r, t) >= t, hours_allowed(r, hours_next(r, t)) when it is not -1, and no
 *      instant in between is allowed at the resolution of window starts and offset changes.
 *   2. Nothing here reads the clock, the environment or a file.
 */
#include "core/hours.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

#define DAY_S 86400
#define MAX_DAYS 732 /* two years */

void hours_easter(int64_t y, int *m, int *d) {
    int64_t a = y % 19, b = y / 100, c = y % 100, dd = b / 4, e = b % 4;
    int64_t f = (b + 8) / 25, g = (b - f + 1) / 3;
    int64_t h = (19 * a + b - dd - g + 15) % 30;
    int64_t i = c / 4, k = c % 4;
    int64_t l = (32 + 2 * e + 2 * i - h - k) % 7;
    int64_t mm = (a + 11 * h + 22 * l) / 451;
    int64_t month = (h + l - 7 * mm + 114) / 31;
    int64_t day = (h + l - 7 * mm + 114) % 31 + 1;
    *m = (int)month;
    *d = (int)day;
}

int hours_is_holiday(int holidays, int64_t y, int m, int d) {
    if (holidays != HOURS_HOLIDAYS_FR) return 0;
    static const int fixed[][2] = {{1, 1}, {5, 1}, {5, 8}, {7, 14}, {8, 15},
                                   {11, 1}, {11, 11}, {12, 25}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i][0] == m && fixed[i][1] == d) return 1;
    if (m < 3 || m > 6) return 0;
    int em, ed;
    hours_easter(y, &em, &ed);
    int64_t delta = tz_days_from_civil(y, m, d) - tz_days_from_civil(y, em, ed);
    return delta == 1 || delta == 39 || delta == 50;
}

/* The local day allowed at all: its weekday, and not a holiday. */
static int day_ok(const hours_rule *r, int64_t day) {
    if (!(r->days & (1u << tz_weekday(day)))) return 0;
    if (r->holidays == HOURS_HOLIDAYS_NONE) return 1;
    int64_t y;
    int m, d;
    tz_civil_from_days(day, &y, &m, &d);
    return !hours_is_holiday(r->holidays, y, m, d);
}

static int allowed_s(const hours_rule *r, int64_t t) {
    int64_t local = t + tz_offset(r->tz, t);
    int64_t day = tz_floor_div(local, DAY_S);
    int64_t min = (local - day * DAY_S) / 60;
    return min >= r->from_min && min < r->to_min && day_ok(r, day);
}

int hours_allowed(const hours_rule *r, int64_t t_ms) {
    return allowed_s(r, tz_floor_div(t_ms, 1000));
}

/* The first window start after u (seconds), or INT64_MAX within MAX_DAYS. */
static int64_t next_start(const hours_rule *r, int64_t u) {
    int64_t day = tz_floor_div(u + tz_offset(r->tz, u), DAY_S) - 1;
    for (int k = 0; k < MAX_DAYS; k++, day++) {
        if (!day_ok(r, day)) continue;
        int64_t at[2], gap_end = 0;
        int n = tz_local_to_utc(r->tz, day * DAY_S + r->from_min * 60, at, &gap_end);
        if (n == 0) {
            at[0] = gap_end;
            n = 1;
        }
        for (int i = 0; i < n; i++)
            if (at[i] > u) return at[i];
    }
    return INT64_MAX;
}

int64_t hours_next(const hours_rule *r, int64_t t_ms) {
    int64_t t = tz_floor_div(t_ms, 1000);
    if (allowed_s(r, t)) return t_ms;
    if (!(r->days & HOURS_ALL_DAYS) || r->from_min >= r->to_min) return -1;
    int64_t u = t, limit = t + (int64_t)MAX_DAYS * DAY_S;
    while (u < limit) {
        int64_t c = next_start(r, u), change = tz_next_change(r->tz, u);
        if (change < c) {
            if (allowed_s(r, change)) return change * 1000;
            u = change;
            continue;
        }
        if (c == INT64_MAX) return -1;
        if (allowed_s(r, c)) return c * 1000;
        u = c;
    }
    return -1;
}

/* ---- text forms ---- */

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int day_index(const char *s, size_t n) {
    if (n != 3) return -1;
    for (int i = 0; i < 7; i++)
        if (!strncasecmp(s, day_names[i], 3)) return i;
    return -1;
}

int hours_days_parse(const char *s, unsigned *out) {
    if (!s) return SG_EINVAL;
    if (!strcasecmp(s, "all")) {
        *out = HOURS_ALL_DAYS;
        return 0;
    }
    unsigned days = 0;
    const char *p = s;
    for (;;) {
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *dash = memchr(p, '-', (size_t)(e - p));
        int a, b;
        if (dash) {
            a = day_index(p, (size_t)(dash - p));
            b = day_index(dash + 1, (size_t)(e - dash - 1));
        } else {
            a = b = day_index(p, (size_t)(e - p));
        }
        if (a < 0 || b < 0) return SG_EINVAL;
        for (int i = a;; i = (i + 1) % 7) {
            days |= 1u << i;
            if (i == b) break;
        }
        if (!*e) break;
        p = e + 1;
    }
    *out = days;
    return 0;
}

void hours_days_format(unsigned days, char out[HOURS_DAYS_LEN]) {
    days &= HOURS_ALL_DAYS;
    size_t len = 0;
    out[0] = '\0';
    if (days == HOURS_ALL_DAYS) {
        snprintf(out, HOURS_DAYS_LEN, "mon-sun");
        return;
    }
    for (int i = 0; i < 7;) {
        if (!(days & (1u << i))) {
            i++;
            continue;
        }
        int j = i;
        while (j + 1 < 7 && (days & (1u << (j + 1)))) j++;
        len += (size_t)snprintf(out + len, HOURS_DAYS_LEN - len, "%s%s", len ? "," : "",
                                day_names[i]);
        if (j == i + 1)
            len += (size_t)snprintf(out + len, HOURS_DAYS_LEN - len, ",%s", day_names[j]);
        else if (j > i)
            len += (size_t)snprintf(out + len, HOURS_DAYS_LEN - len, "-%s", day_names[j]);
        i = j + 1;
    }
}

int hours_hhmm_parse(const char *s, int *out) {
    if (!s || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]) || s[5])
        return SG_EINVAL;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m)) return SG_EINVAL;
    *out = h * 60 + m;
    return 0;
}

void hours_hhmm_format(int min, char out[6]) {
    if (min < 0 || min > 1440) min = 0;
    snprintf(out, 6, "%02d:%02d", min / 60, min % 60);
}

int hours_holidays_parse(const char *s, int *out) {
    if (s && !strcasecmp(s, "none")) *out = HOURS_HOLIDAYS_NONE;
    else if (s && !strcasecmp(s, "fr")) *out = HOURS_HOLIDAYS_FR;
    else return SG_EINVAL;
    return 0;
}

const char *hours_holidays_name(int holidays) {
    return holidays == HOURS_HOLIDAYS_FR ? "fr" : "none";
}
