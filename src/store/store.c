/*
 * store.c - the store threads: queues, group commit, and delivery of results to the loop.
 *
 * Design. Callers on the loop thread push operations onto their lane's `in` (a
 * mutex-protected FIFO; one lane on SQLite, see "Lanes") and signal its `cond`. The lane's
 * thread wakes, takes up to max_batch operations, opens one transaction, runs each
 * operation inside its own savepoint (a failing operation is rolled back alone and reports
 * its error), commits, and moves the batch onto `out`. A libevent event
 * (`done_ev`, activated from the store thread; libevent is made thread-aware by
 * evthread_use_pthreads() in main) then runs on the loop thread and calls every callback.
 *
 * A driver may defer statements whose results nobody reads (PostgreSQL's pipelining,
 * sqldrv.h): after each operation run_ops() calls sqldrv_settle(), one of the two driver
 * calls made here directly (the other: sqldrv_counters, below), so that a deferred failure
 * is that operation's (SQLite's returns 0), or once per batch ("Settling once per batch").
 *
 * Lanes (PostgreSQL). One session runs one statement after another, and at a few thousand
 * messages a second its thread waited on the server for most of each batch while the
 * machine's other core idled (docs/benchmarks.md, "Sessions, batch reads, late settling").
 * So on PostgreSQL the store has up to four lanes (store_options.sessions,
 * --database-sessions): each a session of its own with its own thread, queue, group commit
 * and hand-off, and each kind of operation belongs to one lane by its caller (lane_of): the
 * API and everything else, the dispatcher (claims, its status changes, recovery), the SMPP
 * and simulated routes (accepts, receipts, replies), the notifier (claims and outcomes of
 * callbacks); with fewer lanes the later ones share. A caller's operations so stay on one
 * lane, in order (invariant 3), and what another lane does meanwhile is what another node
 * could do: the rules of "Several nodes" (row locks, leases, the state machine) keep it
 * consistent. SQLite keeps one lane: its one writer gains nothing from more threads.
 *
 * Settling once per batch. An operation that ended with statements nobody waited for
 * (pipelined: sqldrv.h) used to wait once more at its end (sqldrv_settle) so that a failure
 * there was its own. A batch made only of the operations the delivery path and the sends run
 * by the thousand (settles_late: sends, accepts, receipts, callbacks' outcomes) settles once,
 * before its COMMIT: a send of one message then waits once in all (its read), an accept or a
 * receipt batch once, an outcome batch never. Such a batch opens no savepoint per operation
 * either (sqldrv_unsaved): on PostgreSQL each was two more statements and a subtransaction
 * (with an id of its own, written at COMMIT; past 64 in one transaction every session's
 * snapshot checks read pg_subtrans). When that settle finds a failed statement, whose
 * operation is unknown, or an operation fails (nothing would undo it alone), the batch is
 * rolled back and run again the old way, operation by operation, each in its savepoint
 * (run_again); those operations only write their own request, so running one twice changes
 * nothing but the time, and they fail rarely (a send refused for want of credits).
 *
 * Invariants:
 *  1. A callback runs only after the transaction holding its operation committed (or failed
 *     as a whole, in which case every operation of the batch reports SG_EIO).
 *  2. Each callback runs exactly once, on the loop thread, never from inside store_<op>().
 *  3. Operations of one caller run in the order they were queued. (A node's heartbeat is
 *     queued ahead of the others: enqueue(). A caller's operations are all of one lane.)
 *
 * Group commit sized by load. Every batch that writes ends with one fsync, and the pages it
 * touched are written to the WAL again at each commit, so many small batches cost far more
 * than a few large ones (bench/compare.mjs measured ~8 WAL page writes per message with
 * batches of 4-5 operations). So batches START at least GROUP_WAIT_US apart while something
 * queued may write: when the previous batch started less than GROUP_WAIT_US ago, the thread
 * waits for the rest of that time, or until max_batch operations are queued (gather()).
 * Under a heavy load a batch (operations, commit, fsync) takes longer than that by itself
 * and nobody waits; under a moderate load commits stay below 1 / GROUP_WAIT_US per second
 * and each gathers what arrived meanwhile (at 3,000 sends/s: 290 -> 230 us of CPU per
 * message). A store that started no batch for GROUP_WAIT_US, or a queue of reads only
 * (they commit without an fsync), starts at once, so a request on an idle server pays
 * nothing. SENDS_BATCH sends queued (clients waiting for their answer) also start a batch at
 * once: that many already share the commit, and with many clients each waiting for its
 * answer before sending again, the wait only delayed everyone (bench/compare.mjs, 64
 * connections: 8,300 -> 9,500 sends/s, and slightly less CPU per message). While the
 * thread gathers it is only signalled once the batch is full, or SENDS_BATCH sends are
 * queued (or at close).
 *
 * Counting. After each operation run_ops() adds what the driver counted (sqldrv_counters:
 * round trips to the server and statements; PostgreSQL's driver counts, SQLite's has none)
 * and the time it took to its kind's tally; the batch's own BEGIN, wake-up and COMMIT go to
 * "batch". store_close logs the tallies with --log-debug store.trips (docs/benchmarks.md).
 * For /metrics (store_metrics.h) each committed batch also adds the time its COMMIT took and
 * its number of operations to two histograms, under mu (taken once per batch, not per
 * operation); the operations' own counts follow the transaction in the hand-off.
 *
 * Idempotency records (store_idem.h). An operation queued with store_<op>_idem() carries a
 * store_idem: when it succeeds, record() renders its answer (the caller's render(), on this
 * thread) and the backend's idem_put stores it, both inside the operation's savepoint, so the
 * creation and its answer commit together or not at all. A key already taken rolls the
 * operation back (SG_ECONFLICT, idem->found). Operations queued without one pay one NULL test.
 *
 * State of the thread: RUNNING -> DRAINING (store_close called: finish the queue) -> STOPPED.
 *
 * Layering. The store sits below everything but core/ and util/ and includes nothing else.
 * Its files call each other one way only (scripts/check-store-layers checks both, and that
 * no file of store/ keeps a mutable static: all state is on the handle, `struct store`, and
 * its backend connection; tests/unit/test_store_layers.c runs it with the unit tests):
 *
 *     store.c (thread, group commit) ------------------------+
 *        | through the backend table                          |
 *        v                                                    v
 *     sqlite.c (connection, pragmas, migrations'       store_handoff.c (status calls
 *        |      run, the backend table)                       ^          to the notifier)
 *        |---> schema_sqlite.c (the areas' migrations)        |
 *        |                                                    |
 *   +----+--------------+------------------+                  |
 *   v                   v                  v                  |
 *   store_core_sql.c*   sqlite_routes.c*   sqlite_campaigns.c*|
 *   (core operations)   |                  |        |         |
 *   |     |             v                  |        |         |
 *   |     +-------> sqlite_msg.c* <--------+        |         |
 *   |               (messages, state machine)       |         |
 *   +-------------------|------> sqlite_credits.c* <+         |
 *                       v                                     |
 *                   sqlite_notify.c* -------------------------+
 *
 * Every sqlite_*.c and store_core_sql.c calls sqlite_util.c* (service ids, balance, ledger),
 * and every file of the backend calls sqldrv_sqlite.c, the SQL driver (sqldrv.h) and the
 * statement cache under it, which calls none of them but sqldrv_pg.c (PostgreSQL's driver,
 * below everything). store.c also opens postgres.c (PostgreSQL's connection and migrations,
 * schema_pg.c), which reads sqlite.c's table and calls sqldrv_pg.c; sqlite.c reaches every
 * operation (the core's in store_core_sql.c; each area's: credits, idem, limits, notify,
 * routes, campaigns, numbers) through the table it fills, and keeps only what is SQLite's own.
 * The files marked * are written against the driver only (no SQLite call: checked by
 * scripts/check-store-layers, which lists them), so their operations are already the same for
 * any backend with a driver. Every backend file may call the backend-independent helpers
 * (store_records.c, store_<area>.c: the _fini functions) and core/ (msgstate, opid, callurl,
 * sim_model, price, template, gsm): the rules that are not SQL are written once there, for
 * every backend.
 *
 * A second backend (PostgreSQL, issue 13). STORE_OPS is an X-macro expanded three times:
 * the op_kind enum, the typed store_<op>() enqueue functions, and the struct of function
 * pointers store_backend (STYLE.md section 10), which the SQLite backend fills in sqlite.c
 * (store_sqlite_backend). The PostgreSQL backend (postgres.c) is a second such table, filled
 * by store__postgres_backend() into the handle's pg_be and chosen by store_open() when the
 * options carry a connection string (database) instead of a path: SQLite's table, every
 * operation by the same function (they run on either driver: struct store_conn,
 * sqldrv_conn.h, is the same for both, and the sqldrv_* calls dispatch on it), with its own
 * open and close; the operations not yet on the driver are listed once in postgres.c. A
 * batch whose database is unreachable (SG_EUNAVAIL from the driver: PostgreSQL lost, being
 * reconnected by sqldrv_pg.c) reports SG_EUNAVAIL for each of its operations, which the API
 * answers with 503. Everything above the table (this file, the hand-off, the callers) stays
 * as it is. To keep "one SQL text and one function wherever the
 * dialects agree", the plan is:
 *   1. Statement texts that both dialects accept are written once, as named constants per
 *      area (store/sql_<area>.h; begun with sql_msg.h: messages, events, the ledger;
 *      sql_credits.h: prices, orders, top-ups; sql_notify.h: the callback queued with each
 *      status event; sql_campaigns.h: documents, receiver lists, the fan-out). They use
 *      $1..$n placeholders in order of first use (sqlite__prep checks it), which SQLite
 *      reads as named parameters numbered by first appearance and PostgreSQL as positional
 *      ones. What differs (INSERT OR IGNORE / ON CONFLICT DO
 *      NOTHING, last_insert_rowid / RETURNING id, SKIP LOCKED, partial indexes, types in
 *      migrations) stays in the backend file, marked "dialect:".
 *   2. The functions that run them are written against the SQL driver, sqldrv.h (statements
 *      prepared by text and cached per connection, binds of int64/double/text/NULL by
 *      position, rows, columns, changes, the id of a new row from an INSERT ending with
 *      SQLDRV_RETURNING_ID, the batch's transaction and the operation's savepoint), which
 *      sqldrv_sqlite.c implements for SQLite and sqldrv_pg.c over libpq; a
 *      store operation is then one function for both backends, and each backend keeps only
 *      its connection, migrations and the dialect-specific statements. Done: sqlite_util.c,
 *      sqlite_msg.c, sqlite_credits.c, sqlite_notify.c, sqlite_routes.c, sqlite_limits.c,
 *      sqlite_idem.c, sqlite_campaigns.c and store_core_sql.c (the core operations, moved
 *      out of sqlite.c, their texts in sql_core.h): every file marked * above. Every text
 *      they run is accepted by both dialects; the few PostgreSQL-only ones (row locks where
 *      several nodes write, FOR UPDATE SKIP LOCKED claims of due messages, sim steps,
 *      callbacks) are chosen with sqldrv_dialect() and marked "dialect:"; PostgreSQL's
 *      migrations are schema_pg.c. Left: the ported files move out of the sqlite_ names
 *      (store_<area>_sql.c, as store_core_sql.c already is) and take a connection of
 *      either backend.
 *   3. The same unit tests (tests/unit/store_fixture.h opens the store) and the whole
 *      integration suite run against both.
 */
#include "store/store.h"
#include "store/store_int.h"
#include "store/sqldrv.h"
#include "store/sqlite_blacklist_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "core/optout.h"
#include "util/log.h"
#include "util/util.h"

typedef enum { OP_NONE = 0,
#define ENUM_OP(name, type) OP_##name,
               STORE_OPS(ENUM_OP)
#undef ENUM_OP
               OP_COUNT
} op_kind;

static const char *const op_names[OP_COUNT] = {"batch",
#define NAME_OP(name, type) #name,
                                               STORE_OPS(NAME_OP)
#undef NAME_OP
};

/* What the driver counted (sqldrv_counters) for one kind of operation, or for the batches'
 * own statements (OP_NONE: BEGIN, COMMIT, the wake-up): logged at close (store.trips). */
typedef struct tally {
    uint64_t ops, trips, stmts, us;
} tally;

#define GROUP_WAIT_US 3000 /* see "Group commit sized by load" above */
#define SENDS_BATCH 16     /* this many sends queued start a batch at once (same place) */

typedef struct op {
    op_kind kind;
    void *req;
    store_cb cb;
    void *arg;
    int rc;
    store_idem *idem; /* store_<op>_idem(): the answer to record with the operation */
    struct op *next;
} op;

typedef struct queue {
    op *head, *tail;
    size_t n;
} queue;

/* One session of the database and the thread that runs its batches (see "Lanes"). */
typedef struct lane {
    store *st;
    store_conn *conn;
    pthread_t thread;
    pthread_cond_t cond;   /* under st->mu: something queued in `in`, or stopping */
    queue in;              /* under st->mu */
    int waiting;           /* the thread waits: 0 no, 1 for any op, 2 for a full batch */
    size_t in_sends;       /* OP_submit operations in `in`: clients waiting for an answer */
    int64_t last_start_us; /* CLOCK_MONOTONIC, when the previous batch started */
    store_handoff handoff; /* status calls on their way to the notifier (store_handoff.c) */
    uint64_t trips, stmts; /* under st->mu: the driver's counters after the last batch */
    tally tallies[OP_COUNT]; /* per kind of operation; the lane thread's */
    uint64_t commits;        /* the lane thread's: for --fault-crash-after-commit */
    uint64_t agains;         /* the lane thread's: batches run again (run_again) */
} lane;

#define MAX_LANES 4

struct store {
    const store_backend *be;
    store_backend pg_be; /* PostgreSQL's table (store__postgres_backend), when be points here */
    store_options opt;
    pthread_mutex_t mu;
    queue out;
    int stopping;
    struct event *done_ev;
    size_t pending;
    uint64_t commits, ops, nth_op; /* commits and ops under mu; nth_op atomic */
    char instance[17]; /* store_instance() */
    sg_hist commit_s, batch_ops; /* under mu: each committed batch (store_counters_read) */
    optout_rules *optout; /* opt-out keywords, read by the connection (sqlite_blacklist.c) */
    int nlanes;
    lane lanes[MAX_LANES];
};

static int64_t mono_us(void);

/* Adds what the driver counted since t0 (trips, stmts, and the time: t0[2], microseconds) to
 * kind's tally, with n more operations (or batches); t0 moves on. */
static void count(lane *l, int kind, uint64_t t0[3], uint64_t n) {
    uint64_t t[3];
    sqldrv_counters(l->conn, &t[0], &t[1]);
    t[2] = (uint64_t)mono_us();
    tally *k = &l->tallies[kind];
    k->ops += n;
    k->trips += t[0] - t0[0];
    k->stmts += t[1] - t0[1];
    k->us += t[2] - t0[2];
    memcpy(t0, t, sizeof t);
}

static void q_push(queue *q, op *o) {
    o->next = NULL;
    if (q->tail) q->tail->next = o;
    else q->head = o;
    q->tail = o;
    q->n++;
}

static void q_push_front(queue *q, op *o) {
    o->next = q->head;
    q->head = o;
    if (!q->tail) q->tail = o;
    q->n++;
}

static void q_append(queue *q, queue *other) {
    if (!other->head) return;
    if (q->tail) q->tail->next = other->head;
    else q->head = other->head;
    q->tail = other->tail;
    q->n += other->n;
    other->head = other->tail = NULL;
    other->n = 0;
}

static int run_kind(store *st, store_conn *conn, int kind, void *req) {
    switch (kind) {
#define CASE_OP(name, type) \
    case OP_##name: return st->be->name(conn, (type *)req);
        STORE_OPS(CASE_OP)
#undef CASE_OP
    default: return SG_EINVAL;
    }
}

static int run_one(store *st, store_conn *conn, op *o) {
    if (st->opt.fail_nth_op > 0 &&
        __atomic_add_fetch(&st->nth_op, 1, __ATOMIC_RELAXED) == (uint64_t)st->opt.fail_nth_op)
        return SG_EIO;
    return run_kind(st, conn, o->kind, o->req);
}

/* An operation with an idempotency record succeeded: renders its answer and stores it in the
 * operation's savepoint. A non-zero return fails (rolls back) the operation; SG_ECONFLICT
 * with idem->found means the key was taken meanwhile (store_idem.h). */
static int record(store *st, store_conn *conn, store_idem *idem) {
    if (idem->then_kind) {
        int rc = run_kind(st, conn, idem->then_kind, idem->then_req);
        if (rc) return rc;
    }
    free(idem->body);
    idem->body = idem->render(idem->render_arg, &idem->status);
    if (!idem->body) return SG_EIO;
    int rc = st->be->idem_put(conn, idem);
    idem->recorded = rc == 0;
    return rc;
}

/* The code every operation of a batch reports when the batch failed as a whole: the
 * database unreachable (SG_EUNAVAIL: the API answers 503, callers retry later) or SG_EIO. */
static int batch_error(int rc) { return rc == SG_EUNAVAIL ? SG_EUNAVAIL : SG_EIO; }

/* Operations whose deferred statements may be settled once per batch ("Settling once per
 * batch" above): those the delivery path and the sends run by the thousand, whose request
 * is theirs alone to write and holds nothing that running them again would leak. */
static int settles_late(const op *o) {
    if (o->idem) return 0;
    switch (o->kind) {
    case OP_submit: case OP_smpp_accept: case OP_smpp_receipt: case OP_notify_finish:
        return 1;
    default:
        return 0;
    }
}

/* A batch settled late found a failure in what it deferred: it is rolled back as a whole,
 * to run again operation by operation. */
static void run_again(lane *l, queue *batch) {
    l->agains++;
    l->st->be->rollback(l->conn);
    store__handoff_aborted(&l->handoff);
    for (op *o = batch->head; o; o = o->next) o->rc = 0;
}

/* Runs batch in one transaction; late: settles once, at its end (only operations that
 * settles_late). Returns 1 when a late batch must run again (run_again done), else 0. */
static int run_ops(lane *l, queue *batch, int late_settle) {
    store *st = l->st;
    store_conn *conn = l->conn;
    uint64_t t0[3];
    sqldrv_counters(conn, &t0[0], &t0[1]);
    t0[2] = (uint64_t)mono_us();
    int rc = st->be->begin(conn);
    if (rc != 0) {
        for (op *o = batch->head; o; o = o->next) o->rc = batch_error(rc);
        return 0;
    }
    count(l, OP_NONE, t0, 0);
    for (op *o = batch->head; o; o = o->next) {
        store__handoff_savepoint(&l->handoff);
        if (late_settle) {
            st->be->unsaved(conn);
        } else if ((rc = st->be->savepoint(conn)) != 0) {
            o->rc = batch_error(rc);
            continue;
        }
        o->rc = run_one(st, conn, o);
        int late;
        if (late_settle) {
            /* no savepoint to undo it alone (and the failure may be an earlier operation's,
             * read meanwhile): all again, one by one */
            if (o->rc != 0) {
                run_again(l, batch);
                return 1;
            }
        } else if ((late = sqldrv_settle(conn)) != 0) {
            o->rc = late; /* what the driver deferred (sqldrv.h) decides too: the operation's */
        }
        if (o->idem && o->rc == 0) {
            o->rc = record(st, conn, o->idem);
            if ((late = sqldrv_settle(conn)) != 0) {
                o->rc = late;
                o->idem->recorded = 0;
            }
        }
        if (o->rc != 0) st->be->release(conn, 1); /* the rollback is the operation's */
        count(l, o->kind, t0, 1);
        if (o->rc == 0 && !late_settle) st->be->release(conn, 0);
        if (o->rc != 0) store__handoff_rollback_op(&l->handoff);
    }
    /* the batch queued messages that were not handed to this node's dispatcher: other nodes
     * are told at its commit (store_handoff.c) */
    int wake = l->handoff.unhanded != 0;
    if (late_settle && sqldrv_settle(conn) != 0) {
        run_again(l, batch);
        return 1;
    }
    /* In a savepoint of its own: a failed wake-up (a hint) must not undo the batch. */
    if (wake && st->be->wake_others && st->be->savepoint(conn) == 0)
        st->be->release(conn, st->be->wake_others(conn, st->instance) != 0);
    int64_t commit_us = mono_us();
    if ((rc = st->be->commit(conn)) != 0) {
        store__handoff_aborted(&l->handoff);
        if (rc != SG_EUNAVAIL) /* else the driver logged the outage, once */
            sg_log_error("store", "Commit of a batch of %zu operations failed; all report an "
                                  "I/O error and nothing of them was stored.", batch->n);
        st->be->rollback(conn);
        for (op *o = batch->head; o; o = o->next) {
            o->rc = batch_error(rc);
            if (o->idem) o->idem->recorded = o->idem->found = 0;
        }
        return 0;
    }
    commit_us = mono_us() - commit_us;
    store__handoff_committed(&l->handoff);
    count(l, OP_NONE, t0, 1);
    pthread_mutex_lock(&st->mu);
    sg_hist_observe(&st->commit_s, (double)commit_us / 1e6);
    sg_hist_observe(&st->batch_ops, (double)batch->n);
    st->commits++;
    st->ops += batch->n;
    pthread_mutex_unlock(&st->mu);
    /* the Nth commit of the first lane, where the sends commit (with several lanes each
     * counts its own: the Nth of them all was mostly another lane's, which left no client
     * waiting for an answer that the crash lost) */
    if (st->opt.crash_after_commit > 0 && l == &st->lanes[0] &&
        ++l->commits == (uint64_t)st->opt.crash_after_commit) {
        sg_log_error("store", "Fault injection: crashing after commit %llu as configured.",
                     (unsigned long long)l->commits);
        abort();
    }
    return 0;
}

static void run_batch(lane *l, queue *batch) {
    int late_settle = 1;
    for (op *o = batch->head; o && late_settle; o = o->next) late_settle = settles_late(o);
    if (!late_settle || run_ops(l, batch, 1)) run_ops(l, batch, 0);
}

/* At close, with debug output for store.trips: the round trips and statements per
 * operation, by kind (docs/benchmarks.md, PostgreSQL; SQLite's driver counts none). */
static void log_tallies(store *st) {
    if (!sg_log_enabled(SG_LOG_DEBUG, "store.trips")) return;
    tally sum[OP_COUNT] = {{0}};
    uint64_t agains = 0;
    for (int i = 0; i < st->nlanes; i++) {
        agains += st->lanes[i].agains;
        for (int k = 0; k < OP_COUNT; k++) {
            const tally *t = &st->lanes[i].tallies[k];
            sum[k].ops += t->ops;
            sum[k].trips += t->trips;
            sum[k].stmts += t->stmts;
            sum[k].us += t->us;
        }
    }
    for (int k = 0; k < OP_COUNT; k++) {
        const tally *t = &sum[k];
        if (!t->ops) continue;
        sg_log_debug("store.trips", "%s: %llu %s, %.2f round trips, %.2f statements and %.0f "
                                    "us each (%.3f s in all).",
                     op_names[k], (unsigned long long)t->ops,
                     k == OP_NONE ? "batches" : "operations", (double)t->trips / (double)t->ops,
                     (double)t->stmts / (double)t->ops, (double)t->us / (double)t->ops,
                     (double)t->us / 1e6);
    }
    sg_log_debug("store.trips", "Batches run again, one operation at a time: %llu.",
                 (unsigned long long)agains);
}

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Operations that only read: a batch of them commits without an fsync. */
static int reads_only(const queue *q) {
    for (const op *o = q->head; o; o = o->next) {
        switch (o->kind) {
        case OP_auth_lookup: case OP_service_get: case OP_service_list: case OP_account_list:
        case OP_ledger: case OP_sender_get: case OP_sender_list: case OP_msg_get:
        case OP_outgoing_list: case OP_idem_get: case OP_config_epoch: case OP_cluster_status:
        case OP_metrics_read:
            continue;
        default:
            return 0;
        }
    }
    return 1;
}

/* Called with mu held and something queued: waits, when the lane is busy, until a batch's
 * worth of operations has gathered (see the file comment). */
static void gather(lane *l) {
    store *st = l->st;
    int64_t until = l->last_start_us + GROUP_WAIT_US;
    if (st->stopping || l->in.n >= st->opt.max_batch || l->in_sends >= SENDS_BATCH ||
        mono_us() >= until || reads_only(&l->in))
        return;
    struct timespec ts = {(time_t)(until / 1000000), (long)(until % 1000000) * 1000};
    l->waiting = 2;
    while (!st->stopping && l->in.n < st->opt.max_batch && l->in_sends < SENDS_BATCH &&
           pthread_cond_timedwait(&l->cond, &st->mu, &ts) != ETIMEDOUT) {
    }
    l->waiting = 0;
}

/* Takes up to max_batch operations of l's queue into batch (mu held). */
static void take_batch(lane *l, queue *batch) {
    while (l->in.head && batch->n < l->st->opt.max_batch) {
        op *o = l->in.head;
        l->in.head = o->next;
        if (!l->in.head) l->in.tail = NULL;
        l->in.n--;
        if (o->kind == OP_submit) l->in_sends--;
        q_push(batch, o);
    }
}

static void *thread_main(void *arg) {
    lane *l = arg;
    store *st = l->st;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        l->waiting = 1;
        while (!l->in.head && !st->stopping) pthread_cond_wait(&l->cond, &st->mu);
        l->waiting = 0;
        if (!l->in.head && st->stopping) break;
        gather(l);
        queue batch = {0};
        take_batch(l, &batch);
        pthread_mutex_unlock(&st->mu);
        l->last_start_us = mono_us();
        run_batch(l, &batch);
        pthread_mutex_lock(&st->mu);
        sqldrv_counters(l->conn, &l->trips, &l->stmts);
        q_append(&st->out, &batch);
        event_active(st->done_ev, EV_READ, 0);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Loop thread: deliver finished operations. */
static void on_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    store *st = arg;
    pthread_mutex_lock(&st->mu);
    queue done = st->out;
    st->out.head = st->out.tail = NULL;
    st->out.n = 0;
    pthread_mutex_unlock(&st->mu);
    for (op *o = done.head, *next; o; o = next) {
        next = o->next;
        st->pending--;
        o->cb(o->rc, o->arg);
        free(o);
    }
}

/* The lane of an operation kind (see "Lanes"): its class (0 the API's and everything else,
 * 1 the dispatcher's, 2 the SMPP and simulated routes', 3 the notifier's), and with fewer
 * lanes than classes the later classes share: 3 lanes {0}, {1, 2}, {3}; 2 lanes {0},
 * {1, 2, 3}; 1 lane all. */
static int lane_of(const store *st, op_kind kind) {
    static const int lanes[MAX_LANES][MAX_LANES] = {
        {0, 0, 0, 0}, {0, 1, 1, 1}, {0, 1, 1, 2}, {0, 1, 2, 3}};
    int cls;
    switch (kind) {
    case OP_claim: case OP_status: case OP_recover:
        cls = 1;
        break;
    case OP_sim_accept: case OP_sim_advance: case OP_smpp_accept: case OP_smpp_receipt:
    case OP_smpp_mo:
        cls = 2;
        break;
    case OP_notify_claim: case OP_notify_finish:
        cls = 3;
        break;
    default:
        cls = 0;
    }
    return lanes[st->nlanes - 1][cls];
}

static int enqueue(store *st, op_kind kind, void *req, store_idem *idem, store_cb cb,
                   void *arg) {
    op *o = sg_xcalloc(1, sizeof *o);
    o->kind = kind;
    o->idem = idem;
    o->req = req;
    o->cb = cb;
    o->arg = arg;
    st->pending++;
    lane *l = &st->lanes[lane_of(st, kind)];
    pthread_mutex_lock(&st->mu);
    /* A node's heartbeat goes ahead of the queue: behind a long one (a campaign of 200,000
     * receivers fanned out in thousands of operations, on SQLite where it shares this store)
     * it waited seconds, and a node that cannot renew its heartbeat for half node-timeout-s
     * fences itself (src/cluster/cluster.c). Heartbeats come one at a time from one caller,
     * so invariant 3 holds. */
    if (kind == OP_node_heartbeat) q_push_front(&l->in, o);
    else q_push(&l->in, o);
    if (kind == OP_submit) l->in_sends++;
    if (l->waiting == 1 ||
        (l->waiting == 2 && (l->in.n >= st->opt.max_batch || l->in_sends == SENDS_BATCH)))
        pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

#define DEF_OP(name, type) \
    int store_##name(store *st, type *req, store_cb cb, void *arg) { \
        return enqueue(st, OP_##name, req, NULL, cb, arg); \
    } \
    int store_##name##_idem(store *st, type *req, store_idem *idem, store_cb cb, void *arg) { \
        if (idem) idem->found = idem->mismatch = idem->recorded = 0; \
        return enqueue(st, OP_##name, req, idem, cb, arg); \
    }
STORE_OPS(DEF_OP)
#undef DEF_OP

#define DEF_THEN(name, type) \
    void store_idem_then_##name(store_idem *idem, type *req) { \
        idem->then_kind = OP_##name; \
        idem->then_req = req; \
    }
STORE_OPS(DEF_THEN)
#undef DEF_THEN

/* Closes the sessions of lanes [0, n) and frees what store_open made. */
static void close_lanes(store *st, int n) {
    for (int i = 0; i < n; i++) {
        st->be->close(st->lanes[i].conn);
        store__handoff_fini(&st->lanes[i].handoff);
        pthread_cond_destroy(&st->lanes[i].cond);
    }
}

store *store_open(struct event_base *base, const store_options *opt, int *err) {
    store *st = sg_xcalloc(1, sizeof *st);
    st->be = &store_sqlite_backend;
    const char *where = opt->path;
    st->nlanes = 1;
    if (opt->database && *opt->database) {
        store__postgres_backend(&st->pg_be);
        st->be = &st->pg_be;
        where = opt->database;
        st->nlanes = opt->sessions > 0 ? (opt->sessions < MAX_LANES ? opt->sessions : MAX_LANES)
                                       : 3;
    }
    st->opt = *opt;
    sg_hist_init(&st->commit_s, sg_hist_fast_s, sg_hist_fast_n);
    sg_hist_init(&st->batch_ops, sg_hist_count_b, sg_hist_count_n);
    if (!st->opt.max_batch) st->opt.max_batch = 1024;
    sg_random_hex(st->instance, 8);
    st->optout = optout_rules_new(opt->optout_keywords, opt->stop_clause);
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* gather() waits on CLOCK_MONOTONIC */
    int opened = 0, rc = 0;
    for (; opened < st->nlanes; opened++) {
        lane *l = &st->lanes[opened];
        l->st = st;
        store__handoff_init(&l->handoff);
        if ((rc = st->be->open(where, &l->handoff, &l->conn)) != 0) {
            store__handoff_fini(&l->handoff);
            break;
        }
        pthread_cond_init(&l->cond, &ca);
        sqldrv_counters(l->conn, &l->trips, &l->stmts); /* the migrations' count from here */
        sqlite__optout_configure(l->conn, st->optout, opt->optout_window_days * 86400 * 1000);
    }
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        close_lanes(st, opened);
        *err = rc;
        goto fail;
    }
    st->done_ev = event_new(base, -1, 0, on_done, st);
    int started = 0;
    for (; started < st->nlanes; started++) {
        lane *l = &st->lanes[started];
        if (pthread_create(&l->thread, NULL, thread_main, l) != 0) break;
        char name[16];
        snprintf(name, sizeof name, started ? "sg-store%d" : "sg-store", started);
        pthread_setname_np(l->thread, name); /* for top -H and perf */
    }
    if (started < st->nlanes) {
        sg_log_error("store", "Could not start the store thread.");
        pthread_mutex_lock(&st->mu);
        st->stopping = 1;
        for (int i = 0; i < started; i++) pthread_cond_signal(&st->lanes[i].cond);
        pthread_mutex_unlock(&st->mu);
        for (int i = 0; i < started; i++) pthread_join(st->lanes[i].thread, NULL);
        event_free(st->done_ev);
        close_lanes(st, st->nlanes);
        *err = SG_EIO;
        goto fail;
    }
    return st;
fail:
    optout_rules_free(st->optout);
    pthread_mutex_destroy(&st->mu);
    free(st);
    return NULL;
}

void store_close(store *st) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    st->stopping = 1;
    for (int i = 0; i < st->nlanes; i++) pthread_cond_signal(&st->lanes[i].cond);
    pthread_mutex_unlock(&st->mu);
    for (int i = 0; i < st->nlanes; i++) pthread_join(st->lanes[i].thread, NULL);
    /* Deliver what finished; callbacks may queue follow-up operations (a handler's next
     * step), which run here on the calling thread, each on its lane's session, until nothing
     * is left, so no caller is left waiting and no request leaks. */
    for (;;) {
        on_done(-1, 0, st);
        int ran = 0;
        for (int i = 0; i < st->nlanes; i++) {
            lane *l = &st->lanes[i];
            pthread_mutex_lock(&st->mu);
            queue batch = l->in;
            l->in.head = l->in.tail = NULL;
            l->in.n = l->in_sends = 0;
            pthread_mutex_unlock(&st->mu);
            if (!batch.head) continue;
            ran = 1;
            run_batch(l, &batch);
            pthread_mutex_lock(&st->mu);
            q_append(&st->out, &batch);
            pthread_mutex_unlock(&st->mu);
        }
        if (!ran) break;
    }
    event_free(st->done_ev);
    log_tallies(st);
    close_lanes(st, st->nlanes);
    optout_rules_free(st->optout);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

size_t store_pending(store *st) { return st->pending; }

const char *store_instance(const store *st) { return st->instance; }

/* The hand-off is per lane (each stages what its own transaction wrote): the notifier's
 * settings go to every lane, and it takes from all. The cap is each lane's: split between
 * them, the lanes that write the calls (the dispatcher's, the SMPP routes') filled their
 * share and sent the rest the slow way, through the claim (docs/benchmarks.md). */
void store_notify_set_wake(store *st, store_notify_wake_cb fn, void *arg) {
    for (int i = 0; i < st->nlanes; i++) store__handoff_set_wake(&st->lanes[i].handoff, fn, arg);
}

/* The queue of a lane's hand-off: its calls (to the notifier) or its messages (to the
 * dispatcher). */
static handoff_queue *lane_queue(store *st, int i, int msgs) {
    store_handoff *h = &st->lanes[i].handoff;
    return msgs ? &h->msgs : &h->calls;
}

static void set_direct_all(store *st, int msgs, const char *node, int64_t lease_ms, size_t cap,
                           store_notify_wake_cb ready, void *arg) {
    for (int i = 0; i < st->nlanes; i++)
        store__handoff_q_set_direct(&st->lanes[i].handoff, lane_queue(st, i, msgs), node,
                                    lease_ms, cap, ready, arg);
}

/* What every lane's queue holds, in one array (*out, NULL when none): how many records. */
static size_t take_all(store *st, int msgs, void **out) {
    size_t n = 0, elem = lane_queue(st, 0, msgs)->elem;
    char *all = NULL;
    for (int i = 0; i < st->nlanes; i++) {
        void *more;
        size_t m = store__handoff_q_take(&st->lanes[i].handoff, lane_queue(st, i, msgs), &more);
        if (!m) continue;
        if (!n) {
            all = more;
        } else {
            all = sg_xrealloc(all, (n + m) * elem);
            memcpy(all + n * elem, more, m * elem);
            free(more);
        }
        n += m;
    }
    *out = all;
    return n;
}

void store_notify_set_direct(store *st, const char *node, int64_t lease_ms, size_t cap,
                             store_notify_wake_cb ready, void *arg) {
    set_direct_all(st, 0, node, lease_ms, cap, ready, arg);
}

size_t store_notify_take(store *st, store_notify_call **out) {
    void *v;
    size_t n = take_all(st, 0, &v);
    *out = v;
    return n;
}

/* New messages to the dispatcher: as the notifier's calls. */
void store_dispatch_set_direct(store *st, const char *node, int64_t lease_ms, size_t cap,
                               store_notify_wake_cb ready, void *arg) {
    set_direct_all(st, 1, node, lease_ms, cap, ready, arg);
}

size_t store_dispatch_take(store *st, store_msg **out) {
    void *v;
    size_t n = take_all(st, 1, &v);
    *out = v;
    return n;
}

void store_trips(store *st, uint64_t *trips, uint64_t *stmts) {
    *trips = *stmts = 0;
    pthread_mutex_lock(&st->mu);
    for (int i = 0; i < st->nlanes; i++) {
        *trips += st->lanes[i].trips;
        *stmts += st->lanes[i].stmts;
    }
    pthread_mutex_unlock(&st->mu);
}

void store_stats(store *st, uint64_t *commits, uint64_t *ops) {
    pthread_mutex_lock(&st->mu);
    *commits = st->commits;
    *ops = st->ops;
    pthread_mutex_unlock(&st->mu);
}

void store_counters_read(store *st, store_counters *out) {
    pthread_mutex_lock(&st->mu);
    out->commit_s = st->commit_s;
    out->batch_ops = st->batch_ops;
    pthread_mutex_unlock(&st->mu);
    memset(out->n, 0, sizeof out->n);
    for (int i = 0; i < st->nlanes; i++) {
        store_handoff *h = &st->lanes[i].handoff;
        pthread_mutex_lock(&h->mu);
        for (size_t k = 0; k < sizeof out->n / sizeof out->n[0]; k++) out->n[k] += h->counted[k];
        pthread_mutex_unlock(&h->mu);
    }
}
