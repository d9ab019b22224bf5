/*
 * tz.h - time zones without the C library's TZ: a zone parsed from the bytes of a TZif file
 * (the system's tz database, /usr/share/zoneinfo, read by the caller) or from a POSIX TZ
 * string ("CET-1CEST,M3.5.0,M10.5.0/3"), and the calendar arithmetic that goes with it.
 *
 * Why not localtime_r: it takes its zone from the process-wide TZ variable (setenv is not
 * thread-safe and one process serves every country), and it costs a lock and a stat of
 * /etc/localtime per call in glibc. A zone here is an immutable object: pure functions of it,
 * callable from any thread, no I/O (docs/replies.md, "Marketing hours", has the measurements).
 *
 * Instants are seconds since the epoch (UTC); offsets are seconds east of UTC (Paris: 3600 in
 * winter, 7200 in summer). Days are counted from 1970-01-01 (day 0, a Thursday).
 */
#ifndef SG_CORE_TZ_H
#define SG_CORE_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz_zone tz_zone;

/* Parses a TZif file (versions 1 to 4; RFC 8536): its transitions, and the POSIX TZ string of
 * its footer for instants after the last one. Returns a new zone (tz_free), or NULL with
 * *err = SG_EINVAL when the bytes are not a TZif file this parser can read. */
tz_zone *tz_parse_tzif(const void *buf, size_t len, int *err);

/* Parses a POSIX TZ string: "UTC0", "CET-1CEST,M3.5.0,M10.5.0/3", "<-03>3", with rules
 * Mm.w.d, Jn or n and transition times from -167 to 167 hours (RFC 8536's extension).
 * Returns a new zone, or NULL with *err = SG_EINVAL. */
tz_zone *tz_parse_posix(const char *spec, int *err);

void tz_free(tz_zone *z); /* NULL does nothing */

/* The offset from UTC in force at instant t. */
int32_t tz_offset(const tz_zone *z, int64_t t);

/* The first instant after t at which the offset changes; INT64_MAX when it never does. */
int64_t tz_next_change(const tz_zone *z, int64_t t);

/* The instants whose local time is local (seconds since the epoch, read on the local clock):
 * fills out[] in increasing order and returns how many there are: 1 usually, 2 in an hour
 * that happens twice (the clocks went back), 0 in one that never happens (they went forward);
 * then *gap_end is the instant the gap ends (the first instant after it). */
int tz_local_to_utc(const tz_zone *z, int64_t local, int64_t out[2], int64_t *gap_end);

/* ---- the proleptic Gregorian calendar ---- */

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
/* The date of day z (days since 1970-01-01). */
void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
/* 0 Monday .. 6 Sunday. */
int tz_weekday(int64_t z);
/* floor(a / b) for b > 0. */
int64_t tz_floor_div(int64_t a, int64_t b);

#endif
