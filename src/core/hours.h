/*
 * hours.h - marketing hours: when an SMS carrying the STOP clause may be handed to an
 * operator for a destination country (docs/replies.md, "Marketing hours").
 *
 * A rule is the days of the week allowed, a window of local wall-clock time [from, to) in a
 * time zone (core/tz.h), and optionally a country's public holidays off. France's default:
 * Monday to Saturday, 08:00-20:00 Europe/Paris, not on French public holidays.
 *
 * Pure, no I/O, no state: callable from any thread. The zone is borrowed: the caller keeps it
 * alive as long as the rule.
 */
#ifndef SG_CORE_HOURS_H
#define SG_CORE_HOURS_H

#include <stddef.h>
#include <stdint.h>

#include "core/tz.h"

enum { HOURS_HOLIDAYS_NONE = 0, HOURS_HOLIDAYS_FR = 1 };

#define HOURS_ALL_DAYS 0x7f  /* bit 0 Monday .. bit 6 Sunday */
#define HOURS_DAYS_LEN 32    /* longest hours_days_format text, NUL included */

typedef struct hours_rule {
    unsigned days;         /* bit 0 Monday .. bit 6 Sunday; never 0 */
    int from_min, to_min;  /* local minutes after midnight, 0 <= from < to <= 1440 */
    int holidays;          /* HOURS_HOLIDAYS_* */
    const tz_zone *tz;     /* borrowed */
} hours_rule;

/* 1 when an SMS may leave at instant t_ms (ms since the epoch). */
int hours_allowed(const hours_rule *r, int64_t t_ms);

/* The first instant at or after t_ms when an SMS may leave: t_ms itself when allowed, else the
 * start of the next window (a whole local minute; in a daylight-saving gap, the end of the
 * gap). -1 when none comes within two years (a rule that allows nothing). */
int64_t hours_next(const hours_rule *r, int64_t t_ms);

/* 1 when y-m-d is a public holiday of the set (HOURS_HOLIDAYS_FR: 1 January, Easter Monday,
 * 1 and 8 May, Ascension, Whit Monday, 14 July, 15 August, 1 and 11 November, 25 December). */
int hours_is_holiday(int holidays, int64_t y, int m, int d);

/* Easter Sunday of year y (Gregorian computus). */
void hours_easter(int64_t y, int *m, int *d);

/* "mon-sat", "mon,wed,fri", "sat-mon" (wrapping), "all"; case ignored. Returns 0 and the day
 * bits, or SG_EINVAL. */
int hours_days_parse(const char *s, unsigned *out);
/* The shortest text hours_days_parse reads back as days ("mon-sat", "mon,wed-fri"). */
void hours_days_format(unsigned days, char out[HOURS_DAYS_LEN]);

/* "08:00" into minutes (0..1440; "24:00" is the end of the day). Returns 0, or SG_EINVAL. */
int hours_hhmm_parse(const char *s, int *out);
/* "HH:MM". */
void hours_hhmm_format(int min, char out[6]);

/* The names of the holiday sets: "none", "fr". Returns 0 and the set, or SG_EINVAL. */
int hours_holidays_parse(const char *s, int *out);
const char *hours_holidays_name(int holidays);

#endif
