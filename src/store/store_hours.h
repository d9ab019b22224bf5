/*
 * store_hours.h - the marketing hours area of the store (docs/replies.md, "Marketing hours"):
 * one row per destination country whose marketing SMS (messages.stop_clause = 1) may only
 * leave at certain hours, and the hold that moves such an SMS to the next allowed minute.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback; strings
 * in answers are new and freed by the _fini functions.
 *
 * The rules themselves (what a row means for an instant) are core/hours.c's; the rows are read
 * by dispatch/hours_table.c, which every node reloads when the configuration epoch moves (a
 * trigger on the table raises it).
 */
#ifndef SG_STORE_HOURS_H
#define SG_STORE_HOURS_H

#include <stddef.h>
#include <stdint.h>

typedef struct store_hours_row {
    char country[3];      /* ISO 3166 alpha-2, lower case */
    int enabled;          /* 0: "off", marketing SMS to the country are never held */
    unsigned days;        /* core/hours.h: bit 0 Monday .. bit 6 Sunday */
    int from_min, to_min; /* local minutes, [from, to) */
    char *tz;             /* time zone name ("Europe/Paris"); new */
    int holidays;         /* HOURS_HOLIDAYS_* */
    int64_t updated_ms;
} store_hours_row;
void store_hours_row_fini(store_hours_row *r);

/* hours_list: every row, by country. */
typedef struct store_hours_list_req {
    store_hours_row *rows; /* out (new) */
    size_t count;
} store_hours_list_req;
void store_hours_list_fini(store_hours_list_req *r);

/* hours_set: changes the given fields of a country's row, creating it when missing (then tz is
 * required, the other fields default to mon-sat, 08:00-20:00, no holidays, enabled), and
 * releases every SMS held by marketing hours (any country): due again in 2 s, when every node
 * has the new hours, to be held again by them or sent (released counts them).
 * SG_EINVAL: no row and no tz (nothing changed). Turning off a country without a row stores
 * nothing (absent = 1). Out: the row as it is now. */
typedef struct store_hours_set_req {
    const char *country;
    int set_enabled, enabled;
    int set_days;
    unsigned days;
    int set_window;
    int from_min, to_min;
    const char *tz;      /* NULL: unchanged */
    int set_holidays, holidays;
    int64_t now_ms;
    store_hours_row row; /* out */
    int created, absent; /* out */
    int64_t released;    /* out */
} store_hours_set_req;
void store_hours_set_fini(store_hours_set_req *r);

#define STORE_HOURS_OPS(X)                                    \
    X(hours_list, store_hours_list_req)                       \
    X(hours_set, store_hours_set_req)

#endif
