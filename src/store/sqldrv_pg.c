/*
 * sqldrv_pg.c - the SQL driver (sqldrv.h) for PostgreSQL, over libpq: the session, its
 * prepared statements, and reconnection when the server goes away.
 *
 * Statements. Each text gets one named prepared statement per session ("sg<n>_<v>"),
 * prepared when it first runs (PQprepare, or PQsendPrepare in a batch), so that
 * sqldrv_prep() itself never talks to the
 * server and cannot fail. The parameter types are declared at that moment from the binds:
 * int8, float8 or bytea for sqldrv_bind_int/double/blob, 0 (inferred by the server from the
 * text) for text and NULL; the texts need no casts (sql_msg.h's rules: bind with the
 * column's type, a NULL where its type can be inferred). Should a later run bind another
 * type in a place declared int8, float8 or bytea, the statement is prepared again under a
 * new version of its name with that place inferred (at most once per place). Values go in
 * text format (numbers printed here, "%.17g" for doubles: exact round trip), blobs in
 * binary; results come back in text format and the column calls parse them (a bytea is
 * decoded on demand, a boolean reads 1 or 0). A text may use SQLite's "?" and "?NNN"
 * placeholders (older texts not yet in a sql_<area>.h): "?" are numbered $1..$n in order and
 * "?NNN" become $NNN when the text is first prepared, as SQLite numbers them. A text ending with SQLDRV_RETURNING_ID runs as
 * written and sqldrv_insert() reads the id from its row. The cache is keyed by the text's
 * address, like SQLite's (sqldrv_sqlite.c).
 *
 * Errors. SQLSTATE class 23 (integrity constraint) is SG_ECONFLICT, not logged (the caller
 * decides); a lost session (libpq reports the connection bad, or SQLSTATE class 08, or the
 * server shutting down, 57P01-57P03) is SG_EUNAVAIL; anything else is logged and SG_EIO. In
 * PostgreSQL a failed statement aborts the transaction until the operation's savepoint is
 * rolled back, which store.c does for a failed operation.
 *
 * Reconnection. State of the session:
 *
 *     UP --(a call finds it lost: lost())--> DOWN --(sqldrv_begin after retry_at:
 *      ^                                       |      reconnect() succeeds)--> UP
 *      +---------------------------------------+
 *
 * While DOWN every call fails at once with SG_EUNAVAIL (nothing waits on the network), and
 * only sqldrv_begin() tries to connect again, between two batches: never inside one, where
 * a new session would run the rest of the batch outside its transaction. Attempts are
 * SQLDRV_PG_RETRY_MIN_MS apart at first, doubling up to SQLDRV_PG_RETRY_MAX_MS. The loss is
 * logged once (an error) and the return once (info), whatever the number of requests
 * refused meanwhile. A new session starts with no prepared statement: the session
 * generation `gen` moves on and every statement is prepared again on its next run. A BEGIN
 * that finds the session lost (the server restarted while the store was idle) reconnects
 * at once and begins again, so a restart between batches costs no request. (Inside a batch
 * BEGIN is pipelined, below; it waits for its answer only when the idle session's socket
 * has something to read, which is how a session closed by the server shows.)
 *
 * Pipelining. Each statement used to cost a network round trip, and the store thread spent
 * its time waiting in poll() for answers nobody reads. Inside a batch (sqldrv_begin() to
 * sqldrv_commit() or sqldrv_rollback()) the session is in libpq's pipeline mode: BEGIN,
 * SAVEPOINT, RELEASE, the preparation of a statement and every statement run with
 * sqldrv_done() are sent without waiting (their expected answers queued in pg->q, in
 * order); only sqldrv_step() and sqldrv_insert() wait, for their own answer and for every
 * answer before it (a flush request makes the server send them), and sqldrv_changes()
 * waits for what was sent. An operation so costs one round trip per statement whose rows it
 * reads, plus one for sqldrv_settle() when it ends with statements nobody waited for, plus
 * COMMIT once per batch. Failures stay with their operation: PostgreSQL skips everything
 * after a failed statement until the next sync (PGRES_PIPELINE_ABORTED), so the first
 * failure read becomes pg->err, a sync is sent at once behind it (the server then runs what
 * follows again, in the aborted transaction, until the operation's savepoint is rolled
 * back), every later call of the operation returns pg->err without sending anything, and
 * store.c's sqldrv_settle() after each operation reads what is left and returns that
 * failure (mapped as above) before the operation's outcome is decided. Rolling an operation
 * back (sqldrv_release(c, 1)) reads what it sent first and forgets its failure. A statement
 * whose preparation failed or was skipped is prepared again at its next run. Outside a batch
 * every call waits for its answer, as before.
 *
 * The operations are written for it (docs/benchmarks.md, PostgreSQL): a lock whose rows
 * nobody reads is sent with sqldrv_done() right before the read that needs it, the id of a
 * new row is taken from its sequence by an earlier read where that saves a wait, and rows
 * that belong together (a message and its creation event, an event and its callback) are
 * written by one statement. The driver counts its waits and statements (sqldrv_counters;
 * store.c logs them per kind of operation with --log-debug store.trips).
 *
 *     sent:   BEGIN SAVEPOINT sel(W) ins(D) upd(D) | flush   ... COMMIT | sync
 *     waits:                     ^ step reads up to here      ^ commit reads up to here
 *
 * Durability. Every session runs with synchronous_commit on (set here, whatever the
 * server's default), so COMMIT returns once the commit record is flushed, as SQLite's
 * synchronous=FULL: store.c answers nobody before (COMMIT is always waited for). One
 * transaction per batch (group commit), one savepoint per operation (pipelined).
 *
 * Invariants:
 *  1. A statement handed out is tagged (sqldrv_pg.h) and reset with no bindings.
 *  2. A statement is prepared in the current session before it runs (its gen is pg->gen).
 *  3. pg->conn is NULL exactly when the session is DOWN.
 *  4. No call opens a session inside a batch: only sqldrv_begin() reconnects.
 *  5. pg->piped exactly between a successful sqldrv_begin() and the end of its batch; the
 *     entries of pg->q are the answers libpq has still to return, in the same order.
 *  6. After a failure read (pg->err set) a sync is queued behind it, and nothing else is
 *     sent until the failure was reported (sqldrv_settle) or rolled back.
 */
#include "store/sqldrv_pg.h"
#include "store/sqldrv_conn.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "util/log.h"
#include "util/util.h"

#define LOG "store.pg"
#define INT8OID 20
#define FLOAT8OID 701
#define BYTEAOID 17

typedef struct pg_stmt {
    const char *sql; /* the key: the text's address */
    char *text;      /* what the server prepares ("?" numbered) */
    int id, version; /* the name: "sg<id>_<version>" */
    uint64_t gen;    /* the session it was prepared in; 0: not yet */
    int nparams;
    Oid *types;      /* as prepared */
    /* the current binds */
    Oid *bound;      /* the type of each bind; 0 for text, NULL or unbound */
    const char **values;
    int *lengths, *formats;
    char **owned;    /* copies of bound texts */
    char (*num)[32]; /* numbers printed */
    /* the current run */
    int ran;         /* executed since the last reset */
    PGresult *res;
    int row, nrows;
    unsigned char **blobs; /* decoded bytea of the current row, per column */
    size_t *blob_n;        /* and their sizes */
    int nblobs;
} pg_stmt;

/* What a command sent in pipeline mode answers, in the order sent (pipelining, above). */
typedef enum { Q_PREP, Q_DEFER, Q_TX, Q_WANT, Q_COMMIT, Q_SYNC } q_kind;
typedef struct q_entry {
    q_kind kind;
    pg_stmt *s;      /* Q_PREP, Q_DEFER, Q_WANT: its statement */
    const char *sql; /* Q_TX, Q_COMMIT: the text (a literal) */
} q_entry;

struct sqldrv_pg {
    PGconn *conn;   /* NULL while DOWN */
    char *conninfo;
    uint64_t gen;   /* session generation: one more at each connection */
    int64_t changes;
    int release_due; /* the last operation's savepoint is to be released with the next one */
    int64_t retry_at_ms, delay_ms, down_since_ms;
    pg_stmt **stmts;
    int n, cap;
    /* pipelining (a batch: sqldrv_begin .. commit or rollback) */
    int piped;       /* the session is in libpq's pipeline mode */
    int err;         /* the first failure read and not yet reported by sqldrv_settle() */
    int commit_rc;   /* the answer to the last COMMIT sent */
    q_entry *q;      /* sent, answer not read yet: q[qhead .. qhead + qn - 1] */
    int qhead, qn, qcap;
    int nsync;       /* Q_SYNC among them */
    int flushed;     /* the last one sent makes the server flush (a sync or flush request) */
    /* counters (sqldrv_counters): waits for the server's answers, statements run */
    uint64_t trips, nstmts;
};

#define PG(st) ((pg_stmt *)((uintptr_t)(st) & ~(uintptr_t)1))
#define TAG(p) ((sqldrv_stmt *)((uintptr_t)(p) | 1u))

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sqldrv_pg__message(const char *m, char *buf, size_t n) {
    snprintf(buf, n, "%s", m && *m ? m : "unknown error");
    char *o = buf; /* one line: newlines and tabs become one space; no trailing dot */
    for (const char *p = buf; *p; p++) {
        int space = *p == '\n' || *p == '\t' || *p == ' ';
        if (space && (o == buf || o[-1] == ' ')) continue;
        *o++ = space ? ' ' : *p;
    }
    while (o > buf && (o[-1] == ' ' || o[-1] == '.')) o--;
    *o = 0;
    return buf;
}

static void notice(void *arg, const char *message) {
    (void)arg;
    char m[512];
    sg_log_debug(LOG, "Server notice: %s.", sqldrv_pg__message(message, m, sizeof m));
}

/* ---- the session ---- */

/* Opens a session on pg->conninfo: 0 or SG_EUNAVAIL; the reason goes to why. The settings
 * before "dbname" are defaults the connection string may override (it is expanded in place
 * of dbname; later keywords win); synchronous_commit is set after, whatever the string says. */
static int open_session(struct sqldrv_pg *pg, char *why, size_t n) {
    const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
                                "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                                "application_name", "dbname", "client_encoding", NULL};
    const char *const vals[] = {"5", "1", "10", "5", "3", "30000", "smsgated", pg->conninfo,
                                "UTF8", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        sqldrv_pg__message(conn ? PQerrorMessage(conn) : "out of memory", why, n);
        PQfinish(conn);
        return SG_EUNAVAIL;
    }
    PQsetNoticeProcessor(conn, notice, NULL);
    PGresult *r = PQexec(conn, "SET synchronous_commit = on");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        sqldrv_pg__message(PQerrorMessage(conn), why, n);
        PQfinish(conn);
        return SG_EUNAVAIL;
    }
    pg->conn = conn;
    pg->gen++;
    return 0;
}

int sqldrv_pg__connect(store_conn *c, const char *conninfo) {
    struct sqldrv_pg *pg = sg_xcalloc(1, sizeof *pg);
    pg->conninfo = sg_xstrdup(conninfo);
    pg->delay_ms = SQLDRV_PG_RETRY_MIN_MS;
    char why[512];
    if (open_session(pg, why, sizeof why) != 0) {
        sg_log_error(LOG, "Connecting to PostgreSQL failed: %s.", why);
        free(pg->conninfo);
        free(pg);
        return SG_EUNAVAIL;
    }
    c->pg = pg;
    const char *host = PQhost(pg->conn), *port = PQport(pg->conn);
    int sock = host && *host == '/';
    int v = PQserverVersion(pg->conn);
    sg_log_info(LOG, "Connected to PostgreSQL %d.%d at %s%s%s%s, database '%s' as '%s' "
                     "(synchronous_commit on: a commit returns once it is flushed).",
                v / 10000, v % 10000, sock ? "socket " : "", host ? host : "?", sock ? "" : ":",
                sock || !port ? "" : port, PQdb(pg->conn), PQuser(pg->conn));
    return 0;
}

static void free_blobs(pg_stmt *s) {
    for (int i = 0; i < s->nblobs; i++) {
        PQfreemem(s->blobs[i]);
        s->blobs[i] = NULL;
    }
}

static void stmt_clear_run(pg_stmt *s) {
    PQclear(s->res);
    s->res = NULL;
    free_blobs(s);
    s->ran = 0;
    s->row = -1;
    s->nrows = 0;
}

static void stmt_free(pg_stmt *s) {
    stmt_clear_run(s);
    for (int i = 0; i < s->nparams; i++) free(s->owned[i]);
    free(s->text);
    free(s->types);
    free(s->bound);
    free(s->values);
    free(s->lengths);
    free(s->formats);
    free(s->owned);
    free(s->num);
    free(s->blobs);
    free(s->blob_n);
    free(s);
}

void sqldrv_pg__close(store_conn *c) {
    struct sqldrv_pg *pg = c->pg;
    if (!pg) return;
    for (int i = 0; i < pg->n; i++) stmt_free(pg->stmts[i]);
    free(pg->stmts);
    free(pg->q);
    PQfinish(pg->conn);
    free(pg->conninfo);
    free(pg);
    c->pg = NULL;
}

/* The session is gone (UP -> DOWN): logged once per outage; the next attempt is due after
 * the current delay. */
static void lost(struct sqldrv_pg *pg, const char *why) {
    if (pg->conn) {
        char m[512];
        sg_log_error(LOG, "The connection to PostgreSQL was lost (%s); operations fail as "
                          "unavailable until it is back (reconnecting every %d ms to %d s).",
                     sqldrv_pg__message(why, m, sizeof m), SQLDRV_PG_RETRY_MIN_MS,
                     SQLDRV_PG_RETRY_MAX_MS / 1000);
        PQfinish(pg->conn);
        pg->conn = NULL;
        pg->piped = pg->qn = pg->qhead = pg->nsync = 0; /* nothing sent will answer */
        pg->down_since_ms = mono_ms();
        pg->delay_ms = SQLDRV_PG_RETRY_MIN_MS;
        pg->retry_at_ms = pg->down_since_ms + pg->delay_ms;
    }
}

/* DOWN -> UP when an attempt is due and succeeds: 0, else SG_EUNAVAIL. */
static int reconnect(struct sqldrv_pg *pg, int now) {
    int64_t t = mono_ms();
    if (!now && t < pg->retry_at_ms) return SG_EUNAVAIL;
    char why[512];
    if (open_session(pg, why, sizeof why) != 0) {
        sg_log_debug(LOG, "Reconnecting to PostgreSQL failed: %s.", why);
        pg->delay_ms = pg->delay_ms * 2 > SQLDRV_PG_RETRY_MAX_MS ? SQLDRV_PG_RETRY_MAX_MS
                                                                 : pg->delay_ms * 2;
        pg->retry_at_ms = mono_ms() + pg->delay_ms;
        return SG_EUNAVAIL;
    }
    sg_log_info(LOG, "Reconnected to PostgreSQL after %lld ms without it.",
                (long long)(mono_ms() - pg->down_since_ms));
    return 0;
}

/* Classifies a failed result (or a failure without one): SG_ECONFLICT, SG_EUNAVAIL (the
 * session is then DOWN) or SG_EIO (logged with what). Clears r. */
static int failed(struct sqldrv_pg *pg, PGresult *r, const char *what) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char m[512];
    sqldrv_pg__message(r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(pg->conn),
           m, sizeof m);
    int rc;
    if (state && !strncmp(state, "23", 2)) {
        rc = SG_ECONFLICT;
    } else if (PQstatus(pg->conn) == CONNECTION_BAD || (state && !strncmp(state, "08", 2)) ||
               (state && (!strcmp(state, "57P01") || !strcmp(state, "57P02") ||
                          !strcmp(state, "57P03")))) {
        lost(pg, m);
        rc = SG_EUNAVAIL;
    } else {
        sg_log_error(LOG, "%s failed: %s%s%s.", what, m, state ? " SQLSTATE " : "",
                     state ? state : "");
        rc = SG_EIO;
    }
    PQclear(r);
    return rc;
}

int sqldrv_pg__fail(store_conn *c, const char *what) {
    struct sqldrv_pg *pg = c->pg;
    if (!pg->conn) return SG_EUNAVAIL;
    char m[512];
    sg_log_error(LOG, "%s failed: %s.", what, sqldrv_pg__message(PQerrorMessage(pg->conn), m, sizeof m));
    return SG_EIO;
}

/* ---- statements ---- */

/* The text the server prepares: "?" placeholders (outside quotes) numbered $1..$n, and the
 * number of parameters (the highest $n). */
static char *server_text(const char *sql, int *nparams) {
    size_t len = strlen(sql);
    char *out = sg_xmalloc(len * 12 + 1), *o = out; /* "?" -> "$" and up to 11 digits */
    int n = 0, q = 0, max = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'' && q != '"') q = q ? 0 : '\'';
        else if (*p == '"' && q != '\'') q = q ? 0 : '"';
        if (!q && *p == '?' && p[1] >= '0' && p[1] <= '9') { /* ?NNN: numbered already */
            int k = atoi(p + 1);
            if (k > max) max = k;
            *o++ = '$';
            continue;
        }
        if (!q && *p == '?') {
            o += sprintf(o, "$%d", ++n);
            continue;
        }
        if (!q && *p == '$' && p[1] >= '0' && p[1] <= '9') {
            int k = atoi(p + 1);
            if (k > max) max = k;
        }
        *o++ = *p;
    }
    *o = 0;
    *nparams = n > max ? n : max;
    return out;
}

sqldrv_stmt *sqldrv_pg__prep(store_conn *c, const char *sql) {
    struct sqldrv_pg *pg = c->pg;
    pg_stmt *s = NULL;
    for (int i = 0; i < pg->n; i++)
        if (pg->stmts[i]->sql == sql) {
            s = pg->stmts[i];
            break;
        }
    if (!s) {
        if (pg->n == pg->cap) {
            pg->cap = pg->cap ? pg->cap * 2 : 64;
            pg->stmts = sg_xrealloc(pg->stmts, (size_t)pg->cap * sizeof *pg->stmts);
        }
        s = sg_xcalloc(1, sizeof *s);
        s->sql = sql;
        s->text = server_text(sql, &s->nparams);
        s->id = pg->n;
        size_t np = (size_t)s->nparams;
        s->types = sg_xcalloc(np, sizeof *s->types);
        s->bound = sg_xcalloc(np, sizeof *s->bound);
        s->values = sg_xcalloc(np, sizeof *s->values);
        s->lengths = sg_xcalloc(np, sizeof *s->lengths);
        s->formats = sg_xcalloc(np, sizeof *s->formats);
        s->owned = sg_xcalloc(np, sizeof *s->owned);
        s->num = sg_xcalloc(np, sizeof *s->num);
        s->row = -1;
        pg->stmts[pg->n++] = s;
    }
    stmt_clear_run(s);
    for (int i = 0; i < s->nparams; i++) {
        free(s->owned[i]);
        s->owned[i] = NULL;
        s->values[i] = NULL;
        s->bound[i] = 0;
        s->lengths[i] = 0;
        s->formats[i] = 0;
    }
    return TAG(s);
}

/* The slot of parameter i (1-based), or NULL (a bug of the caller: logged) when out of range. */
static pg_stmt *slot(sqldrv_stmt *st, int i) {
    pg_stmt *s = PG(st);
    if (i < 1 || i > s->nparams) {
        sg_log_error(LOG, "Parameter %d bound to '%.80s', which has %d.", i, s->sql,
                     s->nparams);
        return NULL;
    }
    free(s->owned[i - 1]);
    s->owned[i - 1] = NULL;
    s->formats[i - 1] = 0;
    s->lengths[i - 1] = 0;
    return s;
}

void sqldrv_pg__bind_int(sqldrv_stmt *st, int i, int64_t v) {
    pg_stmt *s = slot(st, i);
    if (!s) return;
    snprintf(s->num[i - 1], sizeof s->num[i - 1], "%lld", (long long)v);
    s->values[i - 1] = s->num[i - 1];
    s->bound[i - 1] = INT8OID;
}

void sqldrv_pg__bind_double(sqldrv_stmt *st, int i, double v) {
    pg_stmt *s = slot(st, i);
    if (!s) return;
    snprintf(s->num[i - 1], sizeof s->num[i - 1], "%.17g", v);
    s->values[i - 1] = s->num[i - 1];
    s->bound[i - 1] = FLOAT8OID;
}

void sqldrv_pg__bind_text(sqldrv_stmt *st, int i, const char *v) {
    pg_stmt *s = slot(st, i);
    if (!s) return;
    s->owned[i - 1] = v ? sg_xstrdup(v) : NULL;
    s->values[i - 1] = s->owned[i - 1];
    s->bound[i - 1] = 0;
}

void sqldrv_pg__bind_textn(sqldrv_stmt *st, int i, const char *v, size_t n) {
    pg_stmt *s = slot(st, i);
    if (!s) return;
    /* text format is NUL-terminated for libpq: a copy */
    char *t = sg_xmalloc(n + 1);
    memcpy(t, v, n);
    t[n] = 0;
    s->owned[i - 1] = t;
    s->values[i - 1] = t;
    s->bound[i - 1] = 0;
}

void sqldrv_pg__bind_null(sqldrv_stmt *st, int i) {
    pg_stmt *s = slot(st, i);
    if (!s) return;
    s->values[i - 1] = NULL;
    s->bound[i - 1] = 0;
}

void sqldrv_pg__bind_blob(sqldrv_stmt *st, int i, const void *p, size_t n) {
    pg_stmt *s = slot(st, i);
    if (!s) return;
    s->values[i - 1] = n ? (const char *)p : "";
    s->lengths[i - 1] = (int)n;
    s->formats[i - 1] = 1; /* binary: the bytes as they are */
    s->bound[i - 1] = BYTEAOID;
}

/* Whether s must be prepared (again) in the current session before it runs: it was not yet,
 * or a bind's type differs from a declared one (that place is inferred from then on, under a
 * new version of the name). Sets the types to declare. */
static int needs_prepare(struct sqldrv_pg *pg, pg_stmt *s) {
    if (s->gen != pg->gen) {
        for (int i = 0; i < s->nparams; i++) s->types[i] = s->values[i] ? s->bound[i] : 0;
        return 1;
    }
    int again = 0;
    for (int i = 0; i < s->nparams; i++)
        if (s->values[i] && s->types[i] && s->bound[i] != s->types[i]) {
            s->types[i] = 0; /* inferred from now on */
            again = 1;
        }
    if (again) s->version++;
    return again;
}

static void stmt_name(const pg_stmt *s, char *name, size_t n) {
    snprintf(name, n, "sg%d_%d", s->id, s->version);
}

/* Prepares s in the current session if needed, waiting for the answer (outside a batch):
 * 0 or an SG_E* code. */
static int prepare(struct sqldrv_pg *pg, pg_stmt *s) {
    if (!needs_prepare(pg, s)) return 0;
    char name[32];
    stmt_name(s, name, sizeof name);
    pg->trips++;
    PGresult *r = PQprepare(pg->conn, name, s->text, s->nparams, s->types);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char what[160];
        snprintf(what, sizeof what, "Preparing '%.100s'", s->sql);
        return failed(pg, r, what);
    }
    PQclear(r);
    s->gen = pg->gen;
    return 0;
}

/* Counts rows changed by an INSERT, UPDATE, DELETE or MERGE (a SELECT leaves the count). */
static void count_changes(struct sqldrv_pg *pg, PGresult *r) {
    const char *tag = PQcmdStatus(r);
    if (!strncmp(tag, "INSERT", 6) || !strncmp(tag, "UPDATE", 6) ||
        !strncmp(tag, "DELETE", 6) || !strncmp(tag, "MERGE", 5))
        pg->changes = atoll(PQcmdTuples(r));
}

/* Keeps the rows of s's successful result r (taking r), or clears r when it has none. */
static void keep_rows(struct sqldrv_pg *pg, pg_stmt *s, PGresult *r) {
    count_changes(pg, r);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
        PQclear(r);
        return;
    }
    s->res = r;
    s->nrows = PQntuples(r);
    if (s->nblobs < PQnfields(r)) {
        s->blobs = sg_xrealloc(s->blobs, (size_t)PQnfields(r) * sizeof *s->blobs);
        s->blob_n = sg_xrealloc(s->blob_n, (size_t)PQnfields(r) * sizeof *s->blob_n);
        memset(s->blobs + s->nblobs, 0, (size_t)(PQnfields(r) - s->nblobs) * sizeof *s->blobs);
        s->nblobs = PQnfields(r);
    }
}

/* Runs s with its binds and waits for the answer (outside a batch): 0 (rows, if any, in
 * s->res), or an SG_E* code. */
static int run(struct sqldrv_pg *pg, pg_stmt *s) {
    stmt_clear_run(s);
    s->ran = 1;
    if (!pg->conn) return SG_EUNAVAIL;
    int rc = prepare(pg, s);
    if (rc) return rc;
    char name[32];
    stmt_name(s, name, sizeof name);
    pg->trips++;
    pg->nstmts++;
    PGresult *r = PQexecPrepared(pg->conn, name, s->nparams, s->values, s->lengths, s->formats, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        keep_rows(pg, s, r);
        return 0;
    }
    char what[120];
    snprintf(what, sizeof what, "'%.100s'", s->sql);
    return failed(pg, r, what);
}

/* ---- pipelining (the file comment) ---- */

static void q_push(struct sqldrv_pg *pg, q_kind kind, pg_stmt *s, const char *sql) {
    if (pg->qhead + pg->qn == pg->qcap) {
        if (pg->qhead > 0) { /* slide the unread ones to the front */
            memmove(pg->q, pg->q + pg->qhead, (size_t)pg->qn * sizeof *pg->q);
            pg->qhead = 0;
        } else {
            pg->qcap = pg->qcap ? pg->qcap * 2 : 64;
            pg->q = sg_xrealloc(pg->q, (size_t)pg->qcap * sizeof *pg->q);
        }
    }
    pg->q[pg->qhead + pg->qn++] = (q_entry){kind, s, sql};
    if (kind == Q_SYNC) pg->nsync++;
    pg->flushed = kind == Q_SYNC;
}

/* libpq refused to queue or send a command: the session is lost (SG_EUNAVAIL) or this is a
 * failure of its own (SG_EIO, logged). */
static int send_failed(struct sqldrv_pg *pg, const char *what) {
    if (PQstatus(pg->conn) != CONNECTION_BAD) { /* nothing sensible can follow: start anew */
        int rc = failed(pg, NULL, what);
        lost(pg, "the pipeline could not be written");
        return rc == SG_EUNAVAIL ? rc : SG_EUNAVAIL;
    }
    return failed(pg, NULL, what);
}

/* Sends a sync: the server answers everything before it (and, after a failure, stops
 * skipping: it runs what follows the sync again). 0 or SG_EUNAVAIL. */
static int send_sync(struct sqldrv_pg *pg) {
    if (!PQpipelineSync(pg->conn)) return send_failed(pg, "Sending a sync");
    q_push(pg, Q_SYNC, NULL, NULL);
    return 0;
}

/* Records a failure read for a command: the first one is the pending error (pg->err); a sync
 * follows it at once, so that the server runs again what is sent after. */
static void note_failure(struct sqldrv_pg *pg, PGresult *r, const char *what) {
    int rc = failed(pg, r, what);
    if (!pg->err) pg->err = rc;
    if (pg->conn && !pg->nsync) send_sync(pg);
}

/* Reads the answer to the oldest command sent. */
static void read_one(struct sqldrv_pg *pg) {
    q_entry e = pg->q[pg->qhead++];
    pg->qn--;
    if (!pg->qn) pg->qhead = 0;
    PGresult *r = PQgetResult(pg->conn);
    ExecStatusType st = PQresultStatus(r);
    if (e.kind == Q_SYNC) {
        if (st == PGRES_PIPELINE_SYNC) {
            pg->nsync--;
            PQclear(r);
            return;
        }
        note_failure(pg, r, "A pipeline sync");
        if (pg->conn) lost(pg, "the pipeline lost its order"); /* cannot be resumed */
        return;
    }
    if (!r) { /* no answer where one was due */
        note_failure(pg, NULL, "Reading a pipelined answer");
        if (pg->conn) lost(pg, "the pipeline lost its order");
        return;
    }
    if (st == PGRES_FATAL_ERROR && PQstatus(pg->conn) == CONNECTION_BAD) {
        note_failure(pg, r, "A pipelined statement"); /* lost: nothing more will come */
        return;
    }
    PGresult *more; /* the end of this command's answer */
    while ((more = PQgetResult(pg->conn)) != NULL) PQclear(more);
    char what[160];
    if (st == PGRES_PIPELINE_ABORTED) { /* skipped after an earlier failure (pg->err) */
        if (e.kind == Q_PREP) e.s->gen = 0;
        if (e.kind == Q_COMMIT) pg->commit_rc = pg->err ? pg->err : SG_EIO;
        PQclear(r);
        return;
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        switch (e.kind) {
        case Q_PREP:
            e.s->gen = 0; /* not prepared: prepared again at its next run */
            snprintf(what, sizeof what, "Preparing '%.100s'", e.s->sql);
            break;
        case Q_DEFER:
        case Q_WANT: snprintf(what, sizeof what, "'%.100s'", e.s->sql); break;
        default: snprintf(what, sizeof what, "'%s'", e.sql); break;
        }
        note_failure(pg, r, what);
        if (e.kind == Q_COMMIT) pg->commit_rc = pg->err;
        return;
    }
    switch (e.kind) {
    case Q_DEFER: count_changes(pg, r); break;
    case Q_WANT: keep_rows(pg, e.s, r); return;
    case Q_COMMIT:
        /* a transaction aborted by an error nobody rolled back answers ROLLBACK to COMMIT */
        pg->commit_rc = strcmp(PQcmdStatus(r), "COMMIT") ? SG_EIO : 0;
        if (pg->commit_rc)
            sg_log_error(LOG, "COMMIT rolled the transaction back: a statement failed in it "
                              "outside any operation's savepoint.");
        break;
    default: break;
    }
    PQclear(r);
}

/* Flushes what was sent (with a flush request when nothing makes the server flush already)
 * and reads every answer, in order. Failures go to pg->err; the session may be lost. */
static void drain(struct sqldrv_pg *pg) {
    if (!pg->conn || !pg->qn) return;
    if (!pg->flushed) {
        if (!PQsendFlushRequest(pg->conn)) {
            if (!pg->err) pg->err = send_failed(pg, "Sending a flush request");
            return;
        }
        pg->flushed = 1;
    }
    if (PQflush(pg->conn) != 0) {
        if (!pg->err) pg->err = send_failed(pg, "Sending to PostgreSQL");
        return;
    }
    pg->trips++;
    while (pg->conn && pg->qn) read_one(pg);
}

/* Sends s with its binds, its answer to be read later (kind Q_DEFER or Q_WANT), prepared
 * first (also without waiting) if needed: 0 or an SG_E* code. */
static int send_stmt(struct sqldrv_pg *pg, pg_stmt *s, q_kind kind) {
    if (pg->err) return pg->err; /* the operation failed already: nothing more runs */
    if (!pg->conn) return SG_EUNAVAIL;
    char name[32];
    if (needs_prepare(pg, s)) {
        stmt_name(s, name, sizeof name);
        if (!PQsendPrepare(pg->conn, name, s->text, s->nparams, s->types))
            return send_failed(pg, "Preparing a statement");
        q_push(pg, Q_PREP, s, NULL);
        s->gen = pg->gen; /* until its answer says otherwise (read_one) */
    }
    stmt_name(s, name, sizeof name);
    if (!PQsendQueryPrepared(pg->conn, name, s->nparams, s->values, s->lengths, s->formats, 0))
        return send_failed(pg, "Sending a statement");
    q_push(pg, kind, s, NULL);
    pg->nstmts++;
    return 0;
}

/* Sends a transaction statement without parameters, its answer read later: 0 or an SG_E*
 * code. */
static int send_tx(struct sqldrv_pg *pg, q_kind kind, const char *sql) {
    if (!pg->conn) return SG_EUNAVAIL;
    if (!PQsendQueryParams(pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
        return send_failed(pg, "Sending a transaction statement");
    q_push(pg, kind, NULL, sql);
    return 0;
}

/* Sends s and reads its answer (and every answer before it): 0 (rows in s->res) or an SG_E*
 * code, the operation's first failure. */
static int run_piped(struct sqldrv_pg *pg, pg_stmt *s) {
    stmt_clear_run(s);
    s->ran = 1;
    int rc = send_stmt(pg, s, Q_WANT);
    if (rc) return rc;
    drain(pg);
    if (pg->err) {
        stmt_clear_run(s);
        s->ran = 1;
        return pg->err;
    }
    return pg->conn ? 0 : SG_EUNAVAIL;
}

/* Out of pipeline mode for a while (sqldrv_pg__exec inside a batch): everything sent is
 * answered first, up to a sync (which also tells libpq the transaction's state). 0, or an
 * SG_E* code (pipeline mode is left anyway when the session is up). */
static int pipe_pause(struct sqldrv_pg *pg) {
    if (pg->conn && send_sync(pg)) return SG_EUNAVAIL;
    drain(pg);
    int rc = pg->err;
    pg->err = 0;
    if (pg->conn && !PQexitPipelineMode(pg->conn)) {
        lost(pg, PQerrorMessage(pg->conn));
        return SG_EUNAVAIL;
    }
    pg->piped = 0;
    return rc;
}

static int pipe_resume(struct sqldrv_pg *pg) {
    if (!pg->conn) return SG_EUNAVAIL;
    if (!PQenterPipelineMode(pg->conn)) return failed(pg, NULL, "Entering pipeline mode");
    pg->piped = 1;
    pg->flushed = 1;
    return 0;
}

/* While the session is DOWN every settle says so: an operation that ignored a failed read (a
 * missing row read as a default) must not pass for done. */
int sqldrv_pg__settle(store_conn *c) {
    struct sqldrv_pg *pg = c->pg;
    drain(pg);
    int rc = pg->err;
    pg->err = 0;
    return rc ? rc : pg->conn ? 0 : SG_EUNAVAIL;
}

int sqldrv_pg__exec(store_conn *c, const char *sql, const char *what) {
    struct sqldrv_pg *pg = c->pg;
    if (!pg->conn) return SG_EUNAVAIL;
    int piped = pg->piped, rc;
    if (piped && (rc = pipe_pause(pg))) return rc;
    pg->trips++;
    PGresult *r = PQexec(pg->conn, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        PQclear(r);
        rc = 0;
    } else {
        rc = failed(pg, r, what);
    }
    if (piped && pg->conn) {
        int rc2 = pipe_resume(pg);
        if (!rc) rc = rc2;
    }
    return rc;
}

/* ---- running statements ---- */

int sqldrv_pg__step(store_conn *c, sqldrv_stmt *st) {
    pg_stmt *s = PG(st);
    if (!s->ran) {
        int rc = c->pg->piped ? run_piped(c->pg, s) : run(c->pg, s);
        if (rc) return rc;
    }
    free_blobs(s);
    if (s->row + 1 < s->nrows) {
        s->row++;
        return 1;
    }
    PQclear(s->res);
    s->res = NULL;
    s->nrows = 0;
    return 0;
}

int sqldrv_pg__done(store_conn *c, sqldrv_stmt *st, const char *what) {
    (void)what; /* the failure is logged with the statement's text */
    pg_stmt *s = PG(st);
    int rc;
    if (c->pg->piped) {
        stmt_clear_run(s);
        rc = send_stmt(c->pg, s, Q_DEFER); /* its answer is read later: sqldrv_settle() */
    } else {
        rc = run(c->pg, s);
    }
    stmt_clear_run(s);
    return rc;
}

int sqldrv_pg__insert(store_conn *c, sqldrv_stmt *st, const char *what, int64_t *id) {
    (void)what;
    pg_stmt *s = PG(st);
    int rc = c->pg->piped ? run_piped(c->pg, s) : run(c->pg, s);
    if (rc == 0) *id = s->nrows > 0 ? atoll(PQgetvalue(s->res, 0, 0)) : 0;
    stmt_clear_run(s);
    return rc;
}

void sqldrv_pg__reset(sqldrv_stmt *st) { stmt_clear_run(PG(st)); }

void sqldrv_pg__counters(store_conn *c, uint64_t *trips, uint64_t *stmts) {
    *trips = c->pg->trips;
    *stmts = c->pg->nstmts;
}

int64_t sqldrv_pg__changes(store_conn *c) {
    struct sqldrv_pg *pg = c->pg;
    drain(pg); /* the count of the last statement sent */
    return pg->err ? 0 : pg->changes;
}

/* The text of column i of the current row, or NULL (NULL, or no row). */
static const char *value(pg_stmt *s, int i) {
    if (!s->res || s->row < 0 || i < 0 || i >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

int64_t sqldrv_pg__col_int(sqldrv_stmt *st, int i) {
    const char *v = value(PG(st), i);
    if (!v) return 0;
    if (*v == 't') return 1; /* a boolean */
    if (*v == 'f') return 0;
    return strtoll(v, NULL, 10);
}

double sqldrv_pg__col_double(sqldrv_stmt *st, int i) {
    const char *v = value(PG(st), i);
    return v ? strtod(v, NULL) : 0;
}

int sqldrv_pg__col_null(sqldrv_stmt *st, int i) { return value(PG(st), i) == NULL; }

const char *sqldrv_pg__col_str(sqldrv_stmt *st, int i) { return value(PG(st), i); }

const void *sqldrv_pg__col_blob(sqldrv_stmt *st, int i, size_t *n) {
    pg_stmt *s = PG(st);
    *n = 0;
    const char *v = value(s, i);
    if (!v || i >= s->nblobs) return NULL;
    if (!s->blobs[i]) { /* decoded once per row and column */
        s->blob_n[i] = 0;
        s->blobs[i] = PQunescapeBytea((const unsigned char *)v, &s->blob_n[i]);
        if (!s->blobs[i]) return NULL;
    }
    *n = s->blob_n[i];
    return *n ? s->blobs[i] : NULL;
}

/* ---- transactions ---- */

/* Runs a transaction statement and waits for its answer (outside a batch): 0 or an SG_E*
 * code. */
static int tx(struct sqldrv_pg *pg, const char *sql) {
    if (!pg->conn) return SG_EUNAVAIL;
    pg->trips++;
    PGresult *r = PQexec(pg->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char what[64];
        snprintf(what, sizeof what, "'%s'", sql);
        return failed(pg, r, what);
    }
    PQclear(r);
    return 0;
}

/* 1 when the idle session's socket has something to read: nothing is expected between two
 * batches, so the server has most likely closed the session (a restart, a terminated
 * backend: its last words, then the end of the stream). */
static int idle_readable(struct sqldrv_pg *pg) {
    struct pollfd p = {.fd = PQsocket(pg->conn), .events = POLLIN};
    return p.fd < 0 || poll(&p, 1, 0) != 0;
}

/* BEGIN goes with the batch's first statement that waits (pipelining), unless the session
 * may have been lost while idle: then it waits for the answer, and a lost session is
 * reconnected at once and BEGIN sent again (the file comment, "Reconnection"). */
int sqldrv_pg__begin(store_conn *c) {
    struct sqldrv_pg *pg = c->pg;
    if (pg->piped) sqldrv_pg__rollback(c); /* a batch left open: a caller's bug */
    pg->release_due = 0;
    pg->err = 0;
    if (!pg->conn && reconnect(pg, 0) != 0) return SG_EUNAVAIL;
    int rc;
    if (!idle_readable(pg)) {
        if ((rc = pipe_resume(pg)) == 0) rc = send_tx(pg, Q_TX, "BEGIN");
        if (rc) sqldrv_pg__rollback(c);
        return rc;
    }
    rc = tx(pg, "BEGIN");
    if (rc == SG_EUNAVAIL && reconnect(pg, 1) == 0) /* lost while idle: nothing was done */
        rc = tx(pg, "BEGIN");
    if (rc) return rc;
    if ((rc = pipe_resume(pg)) != 0) sqldrv_pg__rollback(c);
    return rc;
}

int sqldrv_pg__commit(store_conn *c) {
    struct sqldrv_pg *pg = c->pg;
    pg->release_due = 0; /* COMMIT releases every savepoint */
    if (!pg->conn) return SG_EUNAVAIL;
    if (!pg->piped) return SG_EIO; /* no batch */
    pg->err = 0; /* failures read so far were their operations' */
    pg->commit_rc = SG_EIO;
    int rc = send_tx(pg, Q_COMMIT, "COMMIT");
    if (rc == 0 && (rc = send_sync(pg)) == 0) {
        drain(pg);
        rc = !pg->conn ? SG_EUNAVAIL : pg->qn ? SG_EIO : pg->commit_rc;
    }
    if (rc == 0) {
        pg->err = 0;
        if (!PQexitPipelineMode(pg->conn)) {
            lost(pg, PQerrorMessage(pg->conn)); /* committed: the next batch reconnects */
            return 0;
        }
        pg->piped = 0;
    }
    return rc;
}

void sqldrv_pg__rollback(store_conn *c) {
    struct sqldrv_pg *pg = c->pg;
    pg->release_due = 0;
    if (pg->piped && pg->conn) pipe_pause(pg);
    pg->piped = 0;
    pg->err = 0;
    if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) tx(pg, "ROLLBACK");
}

/* Inside a batch the savepoint statements are sent without waiting (pipelining): an
 * operation's SAVEPOINT goes with its first statement, and the RELEASE of an operation that
 * succeeded waits for the next SAVEPOINT (or is done by COMMIT). */
int sqldrv_pg__savepoint(store_conn *c) {
    struct sqldrv_pg *pg = c->pg;
    int due = pg->release_due;
    pg->release_due = 0;
    if (!pg->piped) return tx(pg, due ? "RELEASE SAVEPOINT op; SAVEPOINT op" : "SAVEPOINT op");
    int rc = due ? send_tx(pg, Q_TX, "RELEASE SAVEPOINT op") : 0;
    return rc ? rc : send_tx(pg, Q_TX, "SAVEPOINT op");
}

void sqldrv_pg__release(store_conn *c, int rollback_first) {
    struct sqldrv_pg *pg = c->pg;
    if (!rollback_first) {
        pg->release_due = pg->conn != NULL;
        return;
    }
    pg->release_due = 0;
    if (!pg->piped) {
        tx(pg, "ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op");
        return;
    }
    /* what the operation sent is answered first (a caller that did not settle), so that its
     * failure is not taken for the next operation's; then it is forgotten with the rollback */
    if (pg->qn && !pg->nsync) send_sync(pg);
    drain(pg);
    pg->err = 0;
    if (send_tx(pg, Q_TX, "ROLLBACK TO SAVEPOINT op") == 0)
        send_tx(pg, Q_TX, "RELEASE SAVEPOINT op");
}
