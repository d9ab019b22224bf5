/*
 * pg_listen.c - LISTEN on a PostgreSQL connection of its own, on the loop (pg_listen.h).
 *
 * Design. One connection, never used for anything but LISTEN. States:
 *   IDLE (waiting for the retry timer) -> CONNECTING (PQconnectPoll driven by the socket's
 *   readiness) -> LISTENING (LISTEN sent, then every readable event consumes input and hands
 *   each notification to the callback) -> on any failure: the connection is closed and the
 *   retry timer armed (backoff 100 ms doubling to 5 s, reset once connected).
 * Everything runs on the loop thread; libpq is used non-blocking: PQconnectStart/Poll to
 * connect, PQsendQuery for the LISTEN (its result read as the socket becomes readable).
 *
 * Invariants:
 *  1. At most one of `ev` (socket) and `timer` is pending; `conn` is NULL in IDLE only.
 *  2. The callback is called once with channel NULL each time LISTEN succeeded, after it is
 *     in force (a notification sent from then on reaches us).
 *  3. One outage logs one warning (when it starts) and one info line (when it ends).
 */
#include "store/pg_listen.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/sqldrv_pg.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "store.listen"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef enum { IDLE, CONNECTING, LISTENING } lstate;

struct pg_listen {
    struct event_base *base;
    char *conninfo;
    char *listen_sql;  /* "LISTEN a; LISTEN b" */
    pg_listen_cb cb;
    void *arg;
    PGconn *conn;
    lstate state;
    int listen_acked;  /* LISTEN's result read: notifications are in force */
    int backoff_ms;
    int outage;        /* a warning was logged for the current outage */
    struct event *ev;  /* the socket, in CONNECTING and LISTENING */
    struct event *timer;
};

static void start_connect(pg_listen *l);

static void drop_conn(pg_listen *l, const char *why) {
    if (!l->outage) {
        char one[256];
        sg_log_warn(LOG, "The connection listening for other nodes' wake-ups is down (%s); "
                         "retrying with backoff.", sqldrv_pg__message(why, one, sizeof one));
        l->outage = 1;
    }
    if (l->ev) {
        event_free(l->ev);
        l->ev = NULL;
    }
    if (l->conn) {
        PQfinish(l->conn);
        l->conn = NULL;
    }
    l->state = IDLE;
    l->listen_acked = 0;
    struct timeval tv = {l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000};
    evtimer_add(l->timer, &tv);
    l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
}

/* Re-arms the socket event for what libpq waits for. */
static void watch(pg_listen *l, short what);

static void on_socket(evutil_socket_t fd, short what, void *arg);

static void watch(pg_listen *l, short what) {
    if (l->ev) event_free(l->ev);
    l->ev = event_new(l->base, PQsocket(l->conn), what, on_socket, l);
    event_add(l->ev, NULL);
}

static void connected(pg_listen *l) {
    if (!PQsendQuery(l->conn, l->listen_sql)) {
        drop_conn(l, PQerrorMessage(l->conn));
        return;
    }
    l->state = LISTENING;
    int f = PQflush(l->conn);
    if (f < 0) {
        drop_conn(l, PQerrorMessage(l->conn));
        return;
    }
    watch(l, EV_READ | EV_PERSIST | (f ? EV_WRITE : 0));
}

static void poll_connect(pg_listen *l) {
    switch (PQconnectPoll(l->conn)) {
    case PGRES_POLLING_READING: watch(l, EV_READ); return;
    case PGRES_POLLING_WRITING: watch(l, EV_WRITE); return;
    case PGRES_POLLING_OK: connected(l); return;
    default: drop_conn(l, PQerrorMessage(l->conn)); return;
    }
}

static void read_input(pg_listen *l) {
    if (!PQconsumeInput(l->conn)) {
        drop_conn(l, PQerrorMessage(l->conn));
        return;
    }
    while (!PQisBusy(l->conn)) {
        PGresult *r = PQgetResult(l->conn);
        if (!r) break;
        ExecStatusType s = PQresultStatus(r);
        PQclear(r);
        if (s != PGRES_COMMAND_OK) {
            drop_conn(l, "LISTEN failed");
            return;
        }
        if (!l->listen_acked) {
            l->listen_acked = 1;
            l->backoff_ms = BACKOFF_MIN_MS;
            if (l->outage) sg_log_info(LOG, "Listening for other nodes' wake-ups again.");
            l->outage = 0;
            l->cb(NULL, "", l->arg); /* invariant 2: rescan */
            if (!l->conn) return;    /* freed by the callback? (not allowed, but be safe) */
        }
    }
    PGnotify *n;
    while ((n = PQnotifies(l->conn)) != NULL) {
        l->cb(n->relname, n->extra ? n->extra : "", l->arg);
        PQfreemem(n);
    }
}

static void on_socket(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    pg_listen *l = arg;
    if (l->state == CONNECTING) {
        poll_connect(l);
        return;
    }
    if (what & EV_WRITE) {
        int f = PQflush(l->conn);
        if (f < 0) {
            drop_conn(l, PQerrorMessage(l->conn));
            return;
        }
        if (f == 0) watch(l, EV_READ | EV_PERSIST);
    }
    if (what & EV_READ) read_input(l);
}

/* The server's notices on this connection (e.g. "terminating connection due to immediate
 * shutdown command"): the outage is logged once by drop_conn(); libpq would print them. */
static void notice(void *arg, const char *message) {
    (void)arg;
    char one[256];
    sg_log_debug(LOG, "PostgreSQL: %s.", sqldrv_pg__message(message, one, sizeof one));
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    start_connect(arg);
}

static void start_connect(pg_listen *l) {
    l->conn = PQconnectStart(l->conninfo);
    if (!l->conn) {
        drop_conn(l, "out of memory");
        return;
    }
    PQsetNoticeProcessor(l->conn, notice, NULL);
    if (PQstatus(l->conn) == CONNECTION_BAD || PQsetnonblocking(l->conn, 1) != 0) {
        drop_conn(l, PQerrorMessage(l->conn));
        return;
    }
    l->state = CONNECTING;
    watch(l, EV_WRITE); /* PQconnectStart: poll once the socket is writable */
}

static int ident_ok(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

pg_listen *pg_listen_new(struct event_base *base, const char *conninfo,
                         const char *const *channels, pg_listen_cb cb, void *arg) {
    if (!base || !conninfo || !channels || !channels[0] || !cb) return NULL;
    size_t len = 1;
    for (int i = 0; channels[i]; i++) {
        if (!ident_ok(channels[i])) return NULL;
        len += strlen(channels[i]) + 9;
    }
    pg_listen *l = sg_xcalloc(1, sizeof *l);
    l->base = base;
    l->conninfo = sg_xstrdup(conninfo);
    l->listen_sql = sg_xmalloc(len);
    l->listen_sql[0] = '\0';
    for (int i = 0; channels[i]; i++) {
        strcat(l->listen_sql, "LISTEN ");
        strcat(l->listen_sql, channels[i]);
        strcat(l->listen_sql, ";");
    }
    l->cb = cb;
    l->arg = arg;
    l->backoff_ms = BACKOFF_MIN_MS;
    l->timer = evtimer_new(base, on_timer, l);
    start_connect(l);
    return l;
}

int pg_listen_up(const pg_listen *l) { return l && l->state == LISTENING && l->listen_acked; }

void pg_listen_free(pg_listen *l) {
    if (!l) return;
    if (l->ev) event_free(l->ev);
    if (l->conn) PQfinish(l->conn);
    event_free(l->timer);
    free(l->conninfo);
    free(l->listen_sql);
    free(l);
}
