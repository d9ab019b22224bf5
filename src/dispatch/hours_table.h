/*
 * hours_table.h - this node's copy of the marketing hours (store_hours.h rows turned into
 * core/hours.h rules with their time zones), for the dispatcher, which holds marketing SMS
 * outside their destination's hours, and for the API, which shows when a held SMS leaves
 * (docs/replies.md, "Marketing hours").
 *
 * Loop thread only. Owned by the dispatcher (dispatch_hours()), which reloads it with its
 * route table: at start, after a change through this node's admin API, and when the
 * configuration epoch moves (a change made through another node: within the epoch's poll).
 * Rules returned are borrowed until the next reload completes.
 */
#ifndef SG_DISPATCH_HOURS_TABLE_H
#define SG_DISPATCH_HOURS_TABLE_H

#include <stdint.h>

#include "core/hours.h"
#include "store/store.h"

typedef struct hours_table hours_table;

hours_table *hours_table_new(store *st);
void hours_table_free(hours_table *t); /* NULL does nothing; no reload may be in flight */

/* Reads the rows again; done(rc, arg), when not NULL, runs once they are in use (or the read
 * failed: the previous rules stay). A reload asked while one is in flight runs after it. */
void hours_table_reload(hours_table *t, void (*done)(int rc, void *arg), void *arg);
/* enabled 0: the marketing-hours setting is false: nothing is ever held (hours_table_hold and
 * hours_table_held_until say 0); the rows are still loaded and changed. Default 1. */
void hours_table_set_enabled(hours_table *t, int enabled);
/* 1 once a first reload succeeded: before that nothing may be dispatched. */
int hours_table_ready(const hours_table *t);
/* 1 when a reload is in flight. */
int hours_table_loading(const hours_table *t);

/* The rule of the destination of an E.164 receiver, or NULL when its country has no hours
 * (none set, turned off, or the number is not valid). */
const hours_rule *hours_table_rule(hours_table *t, const char *receiver);

/* For the dispatcher: 0 when the marketing SMS to receiver may leave at now_ms, else the
 * instant it may (> now_ms). */
int64_t hours_table_hold(hours_table *t, const char *receiver, int64_t now_ms);

/* For the API: when a pending SMS (scheduled or queued) will leave because of marketing
 * hours, or 0 when they do not hold it (not marketing, no hours for its country, or its time
 * is allowed anyway). Covers an SMS not yet claimed (due at a time outside the hours) and one
 * the dispatcher already held (due at the opening of a window, later than asked). */
int64_t hours_table_held_until(hours_table *t, const store_msg *m, int64_t now_ms);

/* The zone named name ("Europe/Paris", "UTC"), read once from the tz database ($TZDIR, else
 * /usr/share/zoneinfo) and kept; Europe/Paris and UTC are built in when the database is
 * missing. NULL when the name is not a zone. Reads a small local file the first time a name
 * is asked for (on the loop thread: a few kilobytes, normally in the page cache). */
const tz_zone *hours_table_zone(hours_table *t, const char *name);

#endif
