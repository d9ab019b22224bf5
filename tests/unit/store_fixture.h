/*
 * store_fixture.h - the store fixture shared by the unit tests that run the store against a
 * real database (test_store, test_credits, test_campaigns, test_smpp_store, test_notify):
 * a fresh database in a temporary directory, the event loop its results come back on, and
 * the helpers that queue an operation and run the loop until its callback ran.
 *
 * Header-only (static inline functions and macros) so that every test stays one file, built
 * by the Makefile's one rule. Include it after <cmocka.h>.
 *
 * Backends. By default the database is SQLite, a file in the directory. When the environment
 * variable SMSGATE_TEST_DATABASE holds a libpq connection string (a throw-away PostgreSQL
 * database: scripts/test provides one, scripts/pg-scratch starts one), the store runs on
 * PostgreSQL instead, each fixture in a fresh schema of that database (created at open,
 * dropped at close; the store's connection string names it in search_path). Checks that read
 * the committed state with their own connection go through store_fixture_query_int(), which
 * works on both; store_fixture_ro() is SQLite's own (a test using it runs on SQLite only:
 * skip it on PostgreSQL with store_fixture_pg()).
 *
 * Results are delivered on the loop thread only, so a test queues operations, then runs the
 * loop (store_fixture_wait) until each callback ran.
 */
#ifndef SG_TESTS_STORE_FIXTURE_H
#define SG_TESTS_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include "store/store.h"
#include "util/util.h"

typedef struct store_fixture {
    char dir[64], path[128];
    char schema[64]; /* PostgreSQL: the fixture's schema ("" on SQLite) */
    char *database;  /* PostgreSQL: the store's connection string (new), naming the schema */
    struct event_base *base;
    store *st;
    int pending; /* operations queued through the fixture whose callback has not run yet */
    int64_t sid; /* the service of store_fixture_account(), when the test made one */
    sqlite3 *ro; /* store_fixture_ro(): a read-only connection kept open for checks */
    PGconn *pg;  /* store_fixture_query_text() on PostgreSQL: the same, kept open */
} store_fixture;

/* Where one queued operation reports. */
typedef struct store_done {
    store_fixture *f;
    int rc, called;
} store_done;

static inline void store_fixture_on_done(int rc, void *arg) {
    store_done *d = arg;
    d->rc = rc;
    d->called++;
    d->f->pending--;
}

/* Runs the loop until every operation queued through the fixture called back. */
static inline void store_fixture_wait(store_fixture *f) {
    while (f->pending > 0) event_base_loop(f->base, EVLOOP_ONCE);
}

/* Queues store_<op>(req); its rc lands in *d (a store_done) once store_fixture_wait()
 * returned. Several may be in flight (they share batches). */
#define STORE_QUEUE(fx, op, req, d)                                                       \
    do {                                                                                  \
        (d)->f = (fx);                                                                    \
        (fx)->pending++;                                                                  \
        assert_int_equal(store_##op((fx)->st, req, store_fixture_on_done, d), 0);         \
    } while (0)

/* Runs store_<op>(req) to completion (its callback ran exactly once); returns its rc. */
#define STORE_RUN(fx, op, req)                                                            \
    ({                                                                                    \
        store_done d_ = {0};                                                              \
        STORE_QUEUE(fx, op, req, &d_);                                                    \
        store_fixture_wait(fx);                                                           \
        assert_int_equal(d_.called, 1);                                                   \
        d_.rc;                                                                            \
    })

/* The PostgreSQL database of the tests (SMSGATE_TEST_DATABASE), or NULL: SQLite. */
static inline const char *store_fixture_pg_base(void) {
    const char *db = getenv("SMSGATE_TEST_DATABASE");
    return db && *db ? db : NULL;
}

/* 1 when the fixtures run on PostgreSQL. */
static inline int store_fixture_pg(void) { return store_fixture_pg_base() != NULL; }

/* base (a connection string or URI) with search_path set to schema: a new key=value string. */
static inline char *store_fixture_pg_conninfo(const char *base, const char *schema) {
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &err);
    if (!opts) fail_msg("SMSGATE_TEST_DATABASE is not a connection string: %s", err);
    size_t cap = 256, len = 0;
    char *out = sg_xmalloc(cap);
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = o->val;
        char opt[160];
        if (!strcmp(o->keyword, "options")) {
            snprintf(opt, sizeof opt, "-c search_path=%s", schema);
            v = opt;
        }
        if (!v) continue;
        while (len + strlen(o->keyword) + 2 * strlen(v) + 8 > cap) out = sg_xrealloc(out, cap *= 2);
        len += (size_t)sprintf(out + len, "%s%s='", len ? " " : "", o->keyword);
        for (const char *p = v; *p; p++) {
            if (*p == '\'' || *p == '\\') out[len++] = '\\';
            out[len++] = *p;
        }
        out[len++] = '\'';
        out[len] = '\0';
    }
    PQconninfoFree(opts);
    return out;
}

/* Runs sql on a connection of its own to the tests' database; fails the test on an error. */
static inline void store_fixture_pg_exec(const char *conninfo, const char *sql) {
    PGconn *db = PQconnectdb(conninfo);
    if (PQstatus(db) != CONNECTION_OK) fail_msg("PostgreSQL: %s", PQerrorMessage(db));
    PQclear(PQexec(db, "SET client_min_messages = warning")); /* no NOTICE on stderr */
    PGresult *r = PQexec(db, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("'%s': %s", sql, PQerrorMessage(db));
    PQclear(r);
    PQfinish(db);
}

/* Opens the store with opt (NULL: the defaults; its path and database are ignored) on the
 * database of f (its directory's file, or its PostgreSQL schema). */
static inline void store_fixture_reopen(store_fixture *f, const store_options *opt) {
    store_options o = opt ? *opt : (store_options){0};
    o.path = f->path;
    o.database = f->database;
    int err = 0;
    f->st = store_open(f->base, &o, &err);
    assert_non_null(f->st);
}

/* A fresh directory /tmp/sg<name>XXXXXX, a loop, and the store on a new database there. */
static inline void store_fixture_open(store_fixture *f, const char *name,
                                      const store_options *opt) {
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sg%sXXXXXX", name);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    const char *pg = store_fixture_pg_base();
    if (pg) {
        static int seq; /* one process runs one test at a time: a counter is enough */
        snprintf(f->schema, sizeof f->schema, "sgt_%s_%d_%d", name, (int)getpid(), ++seq);
        for (char *p = f->schema; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) *p = '_';
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->schema);
        store_fixture_pg_exec(pg, sql);
        f->database = store_fixture_pg_conninfo(pg, f->schema);
    }
    f->base = event_base_new();
    assert_non_null(f->base);
    store_fixture_reopen(f, opt);
}

/* Closes the store (it drains its queue), frees the loop and removes the directory. */
static inline void store_fixture_close(store_fixture *f) {
    sqlite3_close(f->ro);
    f->ro = NULL;
    if (f->pg) PQfinish(f->pg);
    f->pg = NULL;
    store_close(f->st);
    f->st = NULL;
    event_base_free(f->base);
    f->base = NULL;
    if (f->database) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", f->schema);
        store_fixture_pg_exec(store_fixture_pg_base(), sql);
        free(f->database);
        f->database = NULL;
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

/* cmocka setup and teardown for a test whose state is a bare store_fixture. */
static inline int store_fixture_setup(void **state) {
    store_fixture *f = sg_xcalloc(1, sizeof *f);
    store_fixture_open(f, "store", NULL);
    *state = f;
    return 0;
}

static inline int store_fixture_teardown(void **state) {
    store_fixture *f = *state;
    store_fixture_close(f);
    free(f);
    return 0;
}

/* Creates account name with credits (millicredits); its service "sms-<name>-1" becomes
 * f->sid, which is returned. */
static inline int64_t store_fixture_account(store_fixture *f, const char *name,
                                            int64_t credits) {
    store_account_create_req a = {.name = name, .credits = credits, .rules_json = "[]"};
    assert_int_equal(STORE_RUN(f, account_create, &a), 0);
    store_service_get_req g = {.name = a.service_name};
    assert_int_equal(STORE_RUN(f, service_get, &g), 0);
    assert_int_equal(g.svc.balance, credits);
    f->sid = g.svc.id;
    store_service_fini(&g.svc);
    free(a.service_name);
    free(a.app_key);
    free(a.app_secret);
    free(a.consumer_key);
    return f->sid;
}

/* Stores an incoming SMS as received on route: text from sender to receiver at ts_ms.
 * Returns the request, with what the store filled in (id, service, reply link). */
static inline store_incoming_add_req store_fixture_incoming(store_fixture *f, const char *route,
                                                            const char *sender,
                                                            const char *receiver,
                                                            const char *text, int64_t ts_ms) {
    store_incoming_add_req r = {.route = route, .sender = sender, .receiver = receiver,
                                .text = text, .ts_ms = ts_ms};
    assert_int_equal(STORE_RUN(f, incoming_add, &r), 0);
    assert_true(r.id > 0);
    return r;
}

/* The first column of the first row of sql, read with a connection of its own (the store's
 * committed state); -1 when there is no row. */
static inline int64_t store_fixture_query_int(store_fixture *f, const char *sql) {
    if (f->database) {
        PGconn *pg = PQconnectdb(f->database);
        if (PQstatus(pg) != CONNECTION_OK) fail_msg("PostgreSQL: %s", PQerrorMessage(pg));
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("'%s': %s", sql, PQerrorMessage(pg));
        int64_t v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? atoll(PQgetvalue(r, 0, 0))
                    : PQntuples(r) > 0                      ? 0
                                                            : -1;
        PQclear(r);
        PQfinish(pg);
        return v;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The first column of the first row of a query on the database of f (both backends), as text
 * into out (n bytes); returns 0, or -1 when there is no row (a NULL reads as ""). The
 * connection is kept open until store_fixture_close(). */
static inline int store_fixture_query_text(store_fixture *f, const char *sql, char *out, size_t n) {
    out[0] = '\0';
    if (f->database) {
        if (!f->pg) {
            f->pg = PQconnectdb(f->database);
            if (PQstatus(f->pg) != CONNECTION_OK) fail_msg("PostgreSQL: %s", PQerrorMessage(f->pg));
        }
        PGresult *r = PQexec(f->pg, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("'%s': %s", sql, PQerrorMessage(f->pg));
        int found = PQntuples(r) > 0;
        if (found) snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return found ? 0 : -1;
    }
    if (!f->ro) {
        assert_int_equal(sqlite3_open_v2(f->path, &f->ro, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(f->ro, 5000);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(f->ro, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("'%s': %s", sql, sqlite3_errmsg(f->ro));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Runs a statement on the database of f (both backends) on a connection of its own. */
static inline void store_fixture_exec(store_fixture *f, const char *sql) {
    if (f->database) {
        store_fixture_pg_exec(f->database, sql);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A read-only connection to the database, opened on first use and kept until
 * store_fixture_close(): for tests that check the committed state after every step. */
static inline sqlite3 *store_fixture_ro(store_fixture *f) {
    if (f->database) fail_msg("store_fixture_ro() reads SQLite only; skip with store_fixture_pg()");
    if (!f->ro)
        assert_int_equal(sqlite3_open_v2(f->path, &f->ro, SQLITE_OPEN_READONLY, NULL),
                         SQLITE_OK);
    return f->ro;
}

#endif
