/*
 * hours_table.c - this node's copy of the marketing hours (see hours_table.h).
 *
 * Design. A reload reads every row (store_hours_list) and builds a new array of rules for the
 * rows that are enabled, each pointing at its zone; the array replaces the old one when the
 * read completes, on the loop thread, so a caller never sees half a table. Zones are parsed
 * once per name and kept until the table is freed (a handful of names), so rules never point
 * at a freed zone. The destination's country is the region libphonenumber gives the receiver
 * (core/phone.h, cached): +33 numbers are "fr"; French overseas departments have their own
 * regions (re, gp, mq ...) and their own rows.
 *
 * Cost when unused: the dispatcher asks only for marketing SMS (stop_clause), and only when
 * some country has hours (nrules > 0); a transactional SMS never reaches this file.
 *
 * Why the system's tz database: Debian's tzdata is Priority: required (it is in every
 * installation, even a minimal debootstrap), so any zone name works and follows its updates;
 * reading the TZif file ourselves (core/tz.c) avoids localtime_r's process-wide TZ. Europe/Paris
 * (France's default) and UTC are built in as POSIX rules for systems without it.
 *
 * Invariants:
 *   1. rules[] only holds enabled rows whose zone could be loaded; a row whose zone cannot be
 *      loaded is logged (ERROR, once per reload) and holds nothing.
 *   2. At most one store_hours_list is in flight; waiters that asked during it are served by
 *      the next one, which starts when it ends.
 */
#include "dispatch/hours_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "hours"
#define MAX_ZONE_FILE (1 << 20)

typedef struct rule_entry {
    char country[3];
    hours_rule rule;
} rule_entry;

typedef struct zone_entry {
    char *name;
    tz_zone *z;
} zone_entry;

typedef struct waiter {
    void (*done)(int rc, void *arg);
    void *arg;
} waiter;

typedef struct load_ctx {
    hours_table *t;
    store_hours_list_req req;
    waiter *w;
    size_t nw;
} load_ctx;

struct hours_table {
    store *st;
    rule_entry *rules;
    size_t nrules;
    zone_entry *zones;
    size_t nzones;
    int ready;
    int disabled; /* the marketing-hours setting is false */
    load_ctx *inflight;
    waiter *next; /* waiters for the reload after the one in flight */
    size_t nnext;
    int again;
};

hours_table *hours_table_new(store *st) {
    hours_table *t = sg_xcalloc(1, sizeof *t);
    t->st = st;
    return t;
}

void hours_table_free(hours_table *t) {
    if (!t) return;
    free(t->rules);
    for (size_t i = 0; i < t->nzones; i++) {
        free(t->zones[i].name);
        tz_free(t->zones[i].z);
    }
    free(t->zones);
    free(t->next);
    free(t);
}

int hours_table_ready(const hours_table *t) { return t->ready; }
void hours_table_set_enabled(hours_table *t, int enabled) { t->disabled = !enabled; }
int hours_table_loading(const hours_table *t) { return t->inflight != NULL; }

/* ---- zones ---- */

static int name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '/' || s[0] == '.' || strstr(s, "..")) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return 0;
    return 1;
}

static tz_zone *read_zone(const char *name) {
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (f) {
        unsigned char *buf = sg_xmalloc(MAX_ZONE_FILE);
        size_t n = fread(buf, 1, MAX_ZONE_FILE, f);
        fclose(f);
        int err = 0;
        tz_zone *z = tz_parse_tzif(buf, n, &err);
        free(buf);
        if (z) return z;
        sg_log_warn(LOG, "'%s' is not a time zone file this server can read.", path);
    }
    /* Built in, for systems without the tz database. */
    int err;
    if (!strcmp(name, "Europe/Paris")) return tz_parse_posix("CET-1CEST,M3.5.0,M10.5.0/3", &err);
    if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) return tz_parse_posix("UTC0", &err);
    return NULL;
}

const tz_zone *hours_table_zone(hours_table *t, const char *name) {
    if (!name || !name_ok(name)) return NULL;
    for (size_t i = 0; i < t->nzones; i++)
        if (!strcmp(t->zones[i].name, name)) return t->zones[i].z;
    tz_zone *z = read_zone(name);
    if (!z) return NULL;
    t->zones = sg_xrealloc(t->zones, (t->nzones + 1) * sizeof *t->zones);
    t->zones[t->nzones].name = sg_xstrdup(name);
    t->zones[t->nzones].z = z;
    t->nzones++;
    return z;
}

/* ---- reloads ---- */

static void start_load(hours_table *t);

static void on_listed(int rc, void *arg) {
    load_ctx *lc = arg;
    hours_table *t = lc->t;
    if (rc == 0) {
        rule_entry *rules = sg_xcalloc(lc->req.count ? lc->req.count : 1, sizeof *rules);
        size_t n = 0;
        for (size_t i = 0; i < lc->req.count; i++) {
            const store_hours_row *row = &lc->req.rows[i];
            if (!row->enabled) continue;
            const tz_zone *z = hours_table_zone(t, row->tz);
            if (!z) {
                sg_log_error(LOG, "Marketing hours of '%s': time zone '%s' cannot be loaded; "
                                  "marketing SMS to that country are not held.",
                             row->country, row->tz);
                continue;
            }
            if (!row->days || row->from_min >= row->to_min) continue;
            memcpy(rules[n].country, row->country, sizeof rules[n].country);
            rules[n].rule = (hours_rule){.days = row->days, .from_min = row->from_min,
                                         .to_min = row->to_min, .holidays = row->holidays,
                                         .tz = z};
            n++;
        }
        free(t->rules);
        t->rules = rules;
        t->nrules = n;
        if (!t->ready) sg_log_debug(LOG, "Marketing hours loaded: %zu countries.", n);
        t->ready = 1;
    } else {
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG,
                     "Reading the marketing hours failed (%s); the previous ones stay.",
                     sg_strerror(rc));
    }
    store_hours_list_fini(&lc->req);
    t->inflight = NULL;
    if (t->again) {
        t->again = 0;
        start_load(t);
    }
    for (size_t i = 0; i < lc->nw; i++) lc->w[i].done(rc, lc->w[i].arg);
    free(lc->w);
    free(lc);
}

static void start_load(hours_table *t) {
    load_ctx *lc = sg_xcalloc(1, sizeof *lc);
    lc->t = t;
    lc->w = t->next;
    lc->nw = t->nnext;
    t->next = NULL;
    t->nnext = 0;
    t->inflight = lc;
    store_hours_list(t->st, &lc->req, on_listed, lc);
}

void hours_table_reload(hours_table *t, void (*done)(int rc, void *arg), void *arg) {
    if (done) {
        t->next = sg_xrealloc(t->next, (t->nnext + 1) * sizeof *t->next);
        t->next[t->nnext++] = (waiter){done, arg};
    }
    if (t->inflight) {
        t->again = 1;
        return;
    }
    start_load(t);
}

/* ---- questions ---- */

const hours_rule *hours_table_rule(hours_table *t, const char *receiver) {
    if (!t->nrules || !receiver || t->disabled) return NULL;
    phone_info pi;
    if (phone_normalize(receiver, NULL, &pi) != 0 || !pi.region[0]) return NULL;
    for (size_t i = 0; i < t->nrules; i++)
        if (!strcmp(t->rules[i].country, pi.region)) return &t->rules[i].rule;
    return NULL;
}

int64_t hours_table_hold(hours_table *t, const char *receiver, int64_t now_ms) {
    const hours_rule *r = hours_table_rule(t, receiver);
    if (!r || hours_allowed(r, now_ms)) return 0;
    int64_t next = hours_next(r, now_ms);
    return next > now_ms ? next : 0;
}

int64_t hours_table_held_until(hours_table *t, const store_msg *m, int64_t now_ms) {
    if (!m->stop_clause || (m->state != MSG_SCHEDULED && m->state != MSG_QUEUED)) return 0;
    const hours_rule *r = hours_table_rule(t, m->receiver);
    if (!r) return 0;
    int64_t base = m->due_ms > now_ms ? m->due_ms : now_ms;
    int64_t next = hours_next(r, base);
    if (next > base) return next;
    /* Allowed when due: held already when it is due at the opening of a window, later than
     * the time it was asked for. */
    int64_t asked = m->created_ms + m->differed_min * 60000;
    if (m->due_ms > now_ms && m->due_ms > asked && !hours_allowed(r, m->due_ms - 1))
        return m->due_ms;
    return 0;
}
