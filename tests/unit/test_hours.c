/*
 * test_hours.c - unit tests of core/tz (TZif and POSIX zones, the calendar) and core/hours
 * (marketing hours): Europe/Paris's daylight-saving changes in both directions, from the
 * system's tz database and from the POSIX rule (they must agree), SMS due in the missing and
 * in the doubled hour, Sunday to Monday 08:00, Saturday 19:59 against 20:00, French public
 * holidays (Easter computed), windows that open in a gap or end in a doubled hour, the text
 * forms of days and times.
 *
 * Run all tests: build/tests/test_hours; one test: build/tests/test_hours <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unistd.h>

#include "core/hours.h"
#include "core/tz.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60
#define PARIS_POSIX "CET-1CEST,M3.5.0,M10.5.0/3"

/* Seconds since the epoch of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s) {
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static int64_t utc_ms(int y, int mo, int d, int h, int mi) { return utc(y, mo, d, h, mi, 0) * 1000; }

static tz_zone *paris_posix(void) {
    int err = 0;
    tz_zone *z = tz_parse_posix(PARIS_POSIX, &err);
    assert_non_null(z);
    return z;
}

/* The system's Europe/Paris, or NULL when the tz database is not installed. */
static tz_zone *paris_file(void) {
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Paris", "rb");
    if (!f) return NULL;
    static unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int err = 0;
    tz_zone *z = tz_parse_tzif(buf, n, &err);
    assert_non_null(z);
    return z;
}

static hours_rule france(const tz_zone *z) {
    hours_rule r = {.days = 0x3f, .from_min = 8 * 60, .to_min = 20 * 60,
                    .holidays = HOURS_HOLIDAYS_FR, .tz = z};
    return r;
}

/* ---- calendar ---- */

static void test_calendar(void **state) {
    (void)state;
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_weekday(0), 3); /* Thursday */
    assert_int_equal(tz_weekday(tz_days_from_civil(2026, 12, 13)), 6); /* Sunday */
    assert_int_equal(tz_weekday(tz_days_from_civil(2026, 12, 14)), 0); /* Monday */
    assert_int_equal(tz_weekday(tz_days_from_civil(1969, 12, 31)), 2);
    for (int64_t z = -800000; z < 800000; z += 97) {
        int64_t y;
        int m, d;
        tz_civil_from_days(z, &y, &m, &d);
        assert_int_equal(tz_days_from_civil(y, m, d), z);
    }
    assert_int_equal(tz_floor_div(-1, 86400), -1);
    assert_int_equal(tz_floor_div(86399, 86400), 0);
}

static void test_easter(void **state) {
    (void)state;
    static const int want[][3] = {{2000, 4, 23}, {2019, 4, 21}, {2024, 3, 31}, {2025, 4, 20},
                                  {2026, 4, 5},  {2027, 3, 28}, {2038, 4, 25}, {2285, 3, 22},
                                  {2049, 4, 18}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int m, d;
        hours_easter(want[i][0], &m, &d);
        assert_int_equal(m, want[i][1]);
        assert_int_equal(d, want[i][2]);
    }
}

static void test_french_holidays(void **state) {
    (void)state;
    static const int y2026[][2] = {{1, 1}, {4, 6}, {5, 1}, {5, 8}, {5, 14}, {5, 25},
                                   {7, 14}, {8, 15}, {11, 1}, {11, 11}, {12, 25}};
    int count = 0;
    for (int64_t z = tz_days_from_civil(2026, 1, 1); z < tz_days_from_civil(2027, 1, 1); z++) {
        int64_t y;
        int m, d;
        tz_civil_from_days(z, &y, &m, &d);
        int want = 0;
        for (size_t i = 0; i < sizeof y2026 / sizeof y2026[0]; i++)
            if (y2026[i][0] == m && y2026[i][1] == d) want = 1;
        assert_int_equal(hours_is_holiday(HOURS_HOLIDAYS_FR, y, m, d), want);
        assert_int_equal(hours_is_holiday(HOURS_HOLIDAYS_NONE, y, m, d), 0);
        count += want;
    }
    assert_int_equal(count, 11);
    /* 2024: Easter Monday 1 April, Ascension 9 May, Whit Monday 20 May; not Good Friday. */
    assert_true(hours_is_holiday(HOURS_HOLIDAYS_FR, 2024, 4, 1));
    assert_true(hours_is_holiday(HOURS_HOLIDAYS_FR, 2024, 5, 9));
    assert_true(hours_is_holiday(HOURS_HOLIDAYS_FR, 2024, 5, 20));
    assert_false(hours_is_holiday(HOURS_HOLIDAYS_FR, 2024, 3, 29));
    assert_false(hours_is_holiday(HOURS_HOLIDAYS_FR, 2026, 12, 26));
}

/* ---- zones ---- */

static void check_paris_offsets(const tz_zone *z) {
    /* 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC. */
    assert_int_equal(tz_offset(z, utc(2026, 1, 15, 12, 0, 0)), 3600);
    assert_int_equal(tz_offset(z, utc(2026, 3, 29, 0, 59, 59)), 3600);
    assert_int_equal(tz_offset(z, utc(2026, 3, 29, 1, 0, 0)), 7200);
    assert_int_equal(tz_offset(z, utc(2026, 7, 1, 0, 0, 0)), 7200);
    assert_int_equal(tz_offset(z, utc(2026, 10, 25, 0, 59, 59)), 7200);
    assert_int_equal(tz_offset(z, utc(2026, 10, 25, 1, 0, 0)), 3600);
    /* 2027: 28 March and 31 October. */
    assert_int_equal(tz_offset(z, utc(2027, 3, 28, 0, 59, 59)), 3600);
    assert_int_equal(tz_offset(z, utc(2027, 3, 28, 1, 0, 0)), 7200);
    assert_int_equal(tz_offset(z, utc(2027, 10, 31, 1, 0, 0)), 3600);
    assert_int_equal(tz_next_change(z, utc(2026, 12, 13, 0, 0, 0)), utc(2027, 3, 28, 1, 0, 0));
    assert_int_equal(tz_next_change(z, utc(2026, 3, 29, 1, 0, 0)), utc(2026, 10, 25, 1, 0, 0));

    int64_t at[2], gap_end = 0;
    /* 29 March 2026, 02:30 never happens in Paris: the gap ends at 03:00 CEST (01:00 UTC). */
    int64_t local = utc(2026, 3, 29, 2, 30, 0);
    assert_int_equal(tz_local_to_utc(z, local, at, &gap_end), 0);
    assert_int_equal(gap_end, utc(2026, 3, 29, 1, 0, 0));
    /* 25 October 2026, 02:30 happens twice: 00:30 UTC (CEST), then 01:30 UTC (CET). */
    local = utc(2026, 10, 25, 2, 30, 0);
    assert_int_equal(tz_local_to_utc(z, local, at, &gap_end), 2);
    assert_int_equal(at[0], utc(2026, 10, 25, 0, 30, 0));
    assert_int_equal(at[1], utc(2026, 10, 25, 1, 30, 0));
    /* An ordinary time. */
    local = utc(2026, 12, 14, 8, 0, 0);
    assert_int_equal(tz_local_to_utc(z, local, at, &gap_end), 1);
    assert_int_equal(at[0], utc(2026, 12, 14, 7, 0, 0));
}

static void test_paris_posix(void **state) {
    (void)state;
    tz_zone *z = paris_posix();
    check_paris_offsets(z);
    tz_free(z);
}

static void test_paris_tzif(void **state) {
    (void)state;
    tz_zone *f = paris_file();
    if (!f) {
        print_message("no /usr/share/zoneinfo/Europe/Paris: skipped\n");
        return;
    }
    check_paris_offsets(f);
    /* The file's table (to 2037) and the footer after it agree with the rule, 1996-2060. */
    tz_zone *p = paris_posix();
    for (int64_t t = utc(1996, 1, 1, 0, 0, 0); t < utc(2060, 1, 1, 0, 0, 0); t += 3 * 3600 + 7)
        assert_int_equal(tz_offset(f, t), tz_offset(p, t));
    /* Before 1996 the file knows history the rule does not: 1976 had no summer time before
     * 28 March, and Paris kept the same rule as today's only from 1996. */
    assert_int_equal(tz_offset(f, utc(1970, 7, 1, 0, 0, 0)), 3600);
    tz_free(p);
    tz_free(f);
}

static void test_other_zones(void **state) {
    (void)state;
    int err = 0;
    tz_zone *z = tz_parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", &err); /* Sydney: south */
    assert_non_null(z);
    assert_int_equal(tz_offset(z, utc(2026, 1, 10, 0, 0, 0)), 11 * 3600);
    assert_int_equal(tz_offset(z, utc(2026, 7, 10, 0, 0, 0)), 10 * 3600);
    assert_int_equal(tz_offset(z, utc(2026, 12, 31, 23, 0, 0)), 11 * 3600);
    tz_free(z);
    z = tz_parse_posix("<-03>3", &err);
    assert_non_null(z);
    assert_int_equal(tz_offset(z, utc(2026, 1, 10, 0, 0, 0)), -3 * 3600);
    assert_int_equal(tz_next_change(z, 0), INT64_MAX);
    tz_free(z);
    z = tz_parse_posix("UTC0", &err);
    assert_non_null(z);
    assert_int_equal(tz_offset(z, 12345), 0);
    tz_free(z);
    static const char *const bad[] = {"", "CET", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
                                      "CET-1CEST,M3.5.0,M10.5.0/3x", "X-1", "CET-25"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = 0;
        assert_null(tz_parse_posix(bad[i], &err));
        assert_int_equal(err, SG_EINVAL);
    }
    static const unsigned char junk[] = "TZif2 but not really a file";
    err = 0;
    assert_null(tz_parse_tzif(junk, sizeof junk, &err));
    assert_int_equal(err, SG_EINVAL);
    assert_null(tz_parse_tzif("hello", 5, &err));
}

/* A truncated copy of a real file is refused, never read past its end. */
static void test_tzif_truncated(void **state) {
    (void)state;
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Paris", "rb");
    if (!f) return;
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t cut = 0; cut + 40 < n; cut += 37) {
        unsigned char *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        int err = 0;
        tz_zone *z = tz_parse_tzif(copy, cut, &err);
        tz_free(z); /* a cut inside the footer may still read; the point is no overread */
        free(copy);
    }
}

/* ---- marketing hours ---- */

static void test_sunday_to_monday(void **state) {
    (void)state;
    tz_zone *z = paris_posix();
    hours_rule r = france(z);
    /* Sunday 13 December 2026, 16:00 in Paris: held until Monday 08:00 CET (07:00 UTC). */
    int64_t t = utc_ms(2026, 12, 13, 15, 0);
    assert_false(hours_allowed(&r, t));
    assert_int_equal(hours_next(&r, t), utc_ms(2026, 12, 14, 7, 0));
    /* Monday 07:59:59 is still early; 08:00:00 is allowed and is its own next. */
    assert_false(hours_allowed(&r, utc_ms(2026, 12, 14, 6, 59) + 59999));
    assert_int_equal(hours_next(&r, utc_ms(2026, 12, 14, 6, 59) + 59999),
                     utc_ms(2026, 12, 14, 7, 0));
    assert_true(hours_allowed(&r, utc_ms(2026, 12, 14, 7, 0)));
    assert_int_equal(hours_next(&r, utc_ms(2026, 12, 14, 7, 0) + 1),
                     utc_ms(2026, 12, 14, 7, 0) + 1);
    /* A weekday evening: the next morning. */
    assert_int_equal(hours_next(&r, utc_ms(2026, 12, 15, 21, 30)), utc_ms(2026, 12, 16, 7, 0));
    tz_free(z);
}

static void test_saturday_evening(void **state) {
    (void)state;
    tz_zone *z = paris_posix();
    hours_rule r = france(z);
    /* Saturday 12 December 2026 (CET): 19:59:59 allowed, 20:00:00 not, until Monday. */
    int64_t eight_pm = utc_ms(2026, 12, 12, 19, 0);
    assert_true(hours_allowed(&r, utc_ms(2026, 12, 12, 18, 59)));
    assert_true(hours_allowed(&r, eight_pm - 1));
    assert_false(hours_allowed(&r, eight_pm));
    assert_int_equal(hours_next(&r, eight_pm), utc_ms(2026, 12, 14, 7, 0));
    /* In summer (CEST) the same wall clock is an hour earlier in UTC. */
    assert_true(hours_allowed(&r, utc_ms(2026, 7, 18, 17, 59)));
    assert_false(hours_allowed(&r, utc_ms(2026, 7, 18, 18, 0)));
    assert_int_equal(hours_next(&r, utc_ms(2026, 7, 18, 18, 0)), utc_ms(2026, 7, 20, 6, 0));
    tz_free(z);
}

static void test_dst_weekends(void **state) {
    (void)state;
    tz_zone *z = paris_posix();
    hours_rule r = france(z);
    /* Spring forward on Sunday 29 March 2026: Saturday 22:00 CET is held until Monday 08:00,
     * which is CEST by then (06:00 UTC, not 07:00). */
    assert_int_equal(hours_next(&r, utc_ms(2026, 3, 28, 21, 0)), utc_ms(2026, 3, 30, 6, 0));
    /* An SMS due at 01:15 UTC that Sunday, just after the missing hour (03:15 CEST). */
    assert_int_equal(hours_next(&r, utc_ms(2026, 3, 29, 1, 15)), utc_ms(2026, 3, 30, 6, 0));
    /* Fall back on Sunday 25 October 2026: Saturday 20:00 CEST is held until Monday 08:00
     * CET (07:00 UTC). */
    assert_false(hours_allowed(&r, utc_ms(2026, 10, 24, 18, 0)));
    assert_true(hours_allowed(&r, utc_ms(2026, 10, 24, 17, 59)));
    assert_int_equal(hours_next(&r, utc_ms(2026, 10, 24, 18, 0)), utc_ms(2026, 10, 26, 7, 0));
    /* Due in the doubled hour (02:30 CEST, then 02:30 CET): both held to Monday 07:00 UTC. */
    assert_int_equal(hours_next(&r, utc_ms(2026, 10, 25, 0, 30)), utc_ms(2026, 10, 26, 7, 0));
    assert_int_equal(hours_next(&r, utc_ms(2026, 10, 25, 1, 30)), utc_ms(2026, 10, 26, 7, 0));
    tz_free(z);
}

/* Windows that touch the changes themselves (every day, no holidays). */
static void test_windows_at_the_changes(void **state) {
    (void)state;
    tz_zone *z = paris_posix();
    /* 02:30-04:00: on 29 March 2026 02:30 does not exist; the window opens when the gap ends,
     * at 03:00 CEST (01:00 UTC). */
    hours_rule r = {.days = HOURS_ALL_DAYS, .from_min = 150, .to_min = 240, .tz = z};
    assert_int_equal(hours_next(&r, utc_ms(2026, 3, 29, 0, 0)), utc_ms(2026, 3, 29, 1, 0));
    /* The day before, an ordinary night: 02:30 CET = 01:30 UTC. */
    assert_int_equal(hours_next(&r, utc_ms(2026, 3, 28, 0, 0)), utc_ms(2026, 3, 28, 1, 30));
    /* 25 October: 02:30 happens twice. At 02:10 CET (01:10 UTC), after the first 02:30 CEST
     * (00:30 UTC) went by, the window opens again at the second 02:30 (01:30 UTC). */
    assert_true(hours_allowed(&r, utc_ms(2026, 10, 25, 0, 45)));
    assert_false(hours_allowed(&r, utc_ms(2026, 10, 25, 1, 10)));
    assert_int_equal(hours_next(&r, utc_ms(2026, 10, 25, 1, 10)), utc_ms(2026, 10, 25, 1, 30));
    /* 01:00-02:30: at 02:45 CEST (00:45 UTC) it is over, but at 03:00 CEST the clocks go back
     * to 02:00 CET (01:00 UTC), inside the window again. */
    hours_rule w = {.days = HOURS_ALL_DAYS, .from_min = 60, .to_min = 150, .tz = z};
    assert_false(hours_allowed(&w, utc_ms(2026, 10, 25, 0, 45)));
    assert_int_equal(hours_next(&w, utc_ms(2026, 10, 25, 0, 45)), utc_ms(2026, 10, 25, 1, 0));
    tz_free(z);
}

static void test_holidays_held(void **state) {
    (void)state;
    tz_zone *z = paris_posix();
    hours_rule r = france(z);
    /* Friday 1 May 2026, 10:00 CEST: held until Saturday 2 May 08:00 CEST. */
    assert_false(hours_allowed(&r, utc_ms(2026, 5, 1, 8, 0)));
    assert_int_equal(hours_next(&r, utc_ms(2026, 5, 1, 8, 0)), utc_ms(2026, 5, 2, 6, 0));
    /* Saturday 23 May 2026 after 20:00: Sunday, then Whit Monday: Tuesday 26 May 08:00. */
    assert_int_equal(hours_next(&r, utc_ms(2026, 5, 23, 18, 30)), utc_ms(2026, 5, 26, 6, 0));
    /* Christmas on a Friday (2026): Saturday 26 December 08:00 CET. */
    assert_int_equal(hours_next(&r, utc_ms(2026, 12, 25, 9, 0)), utc_ms(2026, 12, 26, 7, 0));
    /* Easter Monday 6 April 2026 follows Easter Sunday: Tuesday 7 April. */
    assert_int_equal(hours_next(&r, utc_ms(2026, 4, 5, 10, 0)), utc_ms(2026, 4, 7, 6, 0));
    /* Without holidays, 1 May is an ordinary Friday. */
    r.holidays = HOURS_HOLIDAYS_NONE;
    assert_true(hours_allowed(&r, utc_ms(2026, 5, 1, 8, 0)));
    /* New Year's Day on a Friday (2027): Saturday 2 January. */
    r.holidays = HOURS_HOLIDAYS_FR;
    assert_int_equal(hours_next(&r, utc_ms(2026, 12, 31, 20, 0)), utc_ms(2027, 1, 2, 7, 0));
    tz_free(z);
}

/* Every answer of hours_next is allowed and nothing before it is, minute by minute. */
static void test_next_is_first(void **state) {
    (void)state;
    tz_zone *z = paris_posix();
    hours_rule r = france(z);
    for (int64_t t = utc_ms(2026, 3, 20, 0, 0); t < utc_ms(2026, 4, 10, 0, 0); t += 37 * 60000) {
        int64_t n = hours_next(&r, t);
        assert_true(n >= t);
        assert_true(hours_allowed(&r, n));
        for (int64_t u = t; u < n; u += 60000) assert_false(hours_allowed(&r, u));
    }
    hours_rule none = {.days = 0, .from_min = 0, .to_min = 1440, .tz = z};
    assert_int_equal(hours_next(&none, utc_ms(2026, 3, 20, 0, 0)), -1);
    tz_free(z);
}

static void test_text_forms(void **state) {
    (void)state;
    unsigned d;
    char buf[HOURS_DAYS_LEN];
    assert_int_equal(hours_days_parse("mon-sat", &d), 0);
    assert_int_equal(d, 0x3f);
    hours_days_format(d, buf);
    assert_string_equal(buf, "mon-sat");
    assert_int_equal(hours_days_parse("Mon,WED-fri", &d), 0);
    assert_int_equal(d, 0x1d);
    hours_days_format(d, buf);
    assert_string_equal(buf, "mon,wed-fri");
    assert_int_equal(hours_days_parse("sat-mon", &d), 0);
    assert_int_equal(d, 0x61);
    assert_int_equal(hours_days_parse("all", &d), 0);
    hours_days_format(d, buf);
    assert_string_equal(buf, "mon-sun");
    hours_days_format(0x03, buf);
    assert_string_equal(buf, "mon,tue");
    static const char *const bad[] = {"", "monday", "mon-", ",mon", "mon,,tue", "xyz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hours_days_parse(bad[i], &d), SG_EINVAL);
    for (unsigned m = 1; m < 128; m++) {
        hours_days_format(m, buf);
        assert_int_equal(hours_days_parse(buf, &d), 0);
        assert_int_equal(d, m);
    }
    int min;
    assert_int_equal(hours_hhmm_parse("08:00", &min), 0);
    assert_int_equal(min, 480);
    assert_int_equal(hours_hhmm_parse("24:00", &min), 0);
    assert_int_equal(min, 1440);
    static const char *const badt[] = {"8:00", "24:01", "12:60", "12:00x", "", "ab:cd"};
    for (size_t i = 0; i < sizeof badt / sizeof badt[0]; i++)
        assert_int_equal(hours_hhmm_parse(badt[i], &min), SG_EINVAL);
    char hm[6];
    hours_hhmm_format(1199, hm);
    assert_string_equal(hm, "19:59");
    int h;
    assert_int_equal(hours_holidays_parse("FR", &h), 0);
    assert_int_equal(h, HOURS_HOLIDAYS_FR);
    assert_string_equal(hours_holidays_name(h), "fr");
    assert_int_equal(hours_holidays_parse("de", &h), SG_EINVAL);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_easter),
        cmocka_unit_test(test_french_holidays),
        cmocka_unit_test(test_paris_posix),
        cmocka_unit_test(test_paris_tzif),
        cmocka_unit_test(test_other_zones),
        cmocka_unit_test(test_tzif_truncated),
        cmocka_unit_test(test_sunday_to_monday),
        cmocka_unit_test(test_saturday_evening),
        cmocka_unit_test(test_dst_weekends),
        cmocka_unit_test(test_windows_at_the_changes),
        cmocka_unit_test(test_holidays_held),
        cmocka_unit_test(test_next_is_first),
        cmocka_unit_test(test_text_forms),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("hours", tests, NULL, NULL);
}
