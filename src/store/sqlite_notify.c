/*
 * sqlite_notify.c - the callbacks area of the SQLite backend: the durable queue of status
 * callbacks, their outcomes, the dead-letter list and the per-service signing secrets
 * (store_notify.h has the contract; notify/notify.c is the only client of the queue).
 *
 * Tables (migration notify/1):
 *   notify_calls    one row per call. state 0 PENDING, 1 DELIVERED, 2 DEAD. url is the whole
 *                   URL, frozen when the event was recorded; origin its "scheme://host:port";
 *                   seq_key orders calls that must not overtake each other (the message id);
 *                   lease_ms/lease_owner mark a call handed to a notifier; first_ms is when its
 *                   first attempt started (the retry window counts from there).
 *   notify_secrets  one signing secret per service, created on first use.
 *
 * Kinds. notify_calls.kind says what a call reports: 'status' (a status event of an SMS, the
 * rest of this essay), or another kind queued by another area in its own transaction through
 * sqlite__notify_call() ('reply': an incoming reply to smsResponse's cgiUrl; 'stop': a STOP
 * to stopCallBack). The notifier does not look at the kind: every call is a GET of its URL,
 * built whole at insert (core/callurl.c) and never changed but by a replay of a status call,
 * signed, retried and guarded the same way. A call of another kind is in a sequence only when
 * its caller gives one (seq_key; calls with the same key are made one at a time in order).
 *
 * Which events are called: submitted (8), enroute (4), delivered (1) and failed (2 or 16).
 * Not the creation of a message (scheduled/queued, deliveryReceipt 0: nothing happened yet,
 * and the customer has the ids from its own POST), not the internal submitting/queued
 * retries, and not cancelled: a cancel is the customer's own DELETE, answered synchronously,
 * with no operator status to report (docs/callbacks.md).
 *
 * Invariants:
 *  1. A call is inserted in the transaction that inserts its event (sqlite__notify_event is
 *     called from sqlite__insert_event), so there is a call for every called event of a
 *     service with a callBack, and none for an event that was rolled back.
 *  2. A call is claimable only if no PENDING call with the same seq_key has a smaller id: the
 *     events of one SMS are called one at a time, in the order they were recorded.
 *  3. Only PENDING calls change on finish; DELIVERED and DEAD change only through a replay.
 *  4. A service's secret never changes once created.
 *  5. Hand-off (store_notify_set_direct): a call inserted already leased is staged on the
 *     store handle's hand-off (store_handoff.c), which gives it to the notifier only after its
 *     transaction committed and forgets it with a rolled-back savepoint or batch. It is
 *     handed over only when no earlier call of its SMS is PENDING, so invariant 2 holds for it
 *     as for claimed calls.
 *
 * Every statement runs through the SQL driver only (sqldrv.h), and every text is accepted by
 * both dialects: those run with each status event are shared in sql_notify.h, the claim,
 * finish, list and replay ones are written here. The migrations are SQLite's (PostgreSQL's:
 * schema_pg.c).
 *
 * Several nodes (PostgreSQL). A claim reads the due calls, then leases them: two nodes
 * claiming at once would both read the same calls. On PostgreSQL the claim's read locks the
 * calls it returns and skips those another claim holds (dialect: FOR UPDATE OF c SKIP LOCKED,
 * the texts claim_pg and claim_origin_pg); SQLite's one writer needs no lock. A service's
 * secret may be created by two nodes at once: the insert does nothing when the row exists,
 * and the secret is read again (invariant 4).
 */
#include "store/sqlite_notify_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/receipt.h"
#include "core/callurl.h"
#include "core/kannel.h"
#include "store/sql_notify.h"
#include "store/sqldrv.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "store.notify"
#define LIST_DEFAULT 1000
#define SECRET_BYTES 32

const char *const sqlite_notify_migrations[SQLITE_NOTIFY_MIGRATIONS] = {
    /* 1: the queue and the secrets */
    "CREATE TABLE notify_secrets ("
    "  service_id INTEGER PRIMARY KEY, secret TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE notify_calls ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  message_id INTEGER, event_id INTEGER, seq_key INTEGER,"
    "  dlr INTEGER, ptt INTEGER, event_ms INTEGER,"
    "  url TEXT NOT NULL, origin TEXT NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL, first_ms INTEGER, next_ms INTEGER NOT NULL,"
    "  lease_ms INTEGER, lease_owner TEXT,"
    "  last_ms INTEGER, last_status INTEGER, last_error TEXT, done_ms INTEGER);"
    "CREATE INDEX notify_due ON notify_calls(next_ms, id) WHERE state = 0;"
    "CREATE INDEX notify_seq ON notify_calls(seq_key, id) WHERE state = 0;"
    "CREATE INDEX notify_service ON notify_calls(service_id, state, id);",
    /* 2: pending calls by origin, so that a claim that must leave busy origins alone does not
     * read every pending call of theirs (sqlite__notify_claim) */
    "CREATE INDEX notify_origin_due ON notify_calls(origin, next_ms, id) WHERE state = 0;",
    /* 3: a service's calls that are not delivered (pending and dead: what an operator lists),
     * instead of every call by (service, state): a delivered call leaves this index with one
     * b-tree delete, where moving it to state 1 was a delete and an insert */
    "DROP INDEX notify_service;"
    "CREATE INDEX notify_open ON notify_calls(service_id, id) WHERE state != 1;",
};

/* ---- queueing ---- */

void sqlite__notify_close(store_conn *c) {
    free(c->secret);
    c->secret = NULL;
}

static int ensure_secret(store_conn *c, int64_t service_id, char **out);

/* Binds a new call's lease_ms, lease_owner and first_ms at parameters k, k+1, k+2: leased to
 * node from now when it is handed over at insert, else NULL (said, not left unbound: a typed
 * driver sees every parameter). */
static void bind_lease(sqldrv_stmt *st, int k, int handed, int64_t now, int64_t lease_ms,
                       const char *node) {
    if (handed) {
        sqldrv_bind_int(st, k, now + lease_ms);
        sqldrv_bind_text(st, k + 1, node);
        sqldrv_bind_int(st, k + 2, now);
    } else {
        sqldrv_bind_null(st, k);
        sqldrv_bind_null(st, k + 1);
        sqldrv_bind_null(st, k + 2);
    }
}


/* Whether a new call of sequence msg_id (0: none) can be handed over at insert (store_notify_set_direct): the
 * hand-off is open and has room, and no earlier call of the same SMS is PENDING (calls of one
 * SMS are made in order). Fills node (the lease owner) and *lease_ms. */
static int direct_wanted(store_conn *c, int64_t msg_id, char *node, size_t node_len,
                         int64_t *lease_ms) {
    if (!store__handoff_open(c->handoff, node, node_len, lease_ms)) return 0;
    if (!msg_id) return 1; /* a call in no sequence waits for nobody */
    sqldrv_stmt *st = sqldrv_prep(c, sql_notify_behind);
    if (!st) return 0;
    sqldrv_bind_int(st, 1, msg_id);
    int behind = sqldrv_step(c, st) == 1;
    sqldrv_reset(st);
    return !behind;
}

/* The secret of a service, new in *out; the last one read is remembered (never changes). */
static int secret_of(store_conn *c, int64_t service_id, char **out) {
    if (!c->secret || c->secret_sid != service_id) {
        char *s = NULL;
        int rc = ensure_secret(c, service_id, &s);
        if (rc) return rc;
        free(c->secret);
        c->secret = s;
        c->secret_sid = service_id;
    }
    *out = sg_xstrdup(c->secret);
    return 0;
}

/* After call_id was inserted: a call written leased to this node (handed) goes to the
 * hand-off, which takes *url and *origin (set to NULL: the hand-off owns them now); any
 * other call wakes the notifier, which claims it. */
static int hand_over(store_conn *c, int handed, int64_t call_id, int64_t service_id,
                     int64_t now, char **url, char **origin) {
    if (!handed) {
        store__handoff_wake(c->handoff);
        return 0;
    }
    char *secret = NULL;
    int rc = secret_of(c, service_id, &secret);
    if (rc) return rc;
    store_notify_call k = {.id = call_id, .service_id = service_id, .attempts = 0,
                           .first_ms = now, .url = *url, .origin = *origin, .secret = secret};
    store__handoff_stage(c->handoff, &k);
    *url = *origin = NULL;
    return 0;
}

static int called_state(int state) {
    return state == MSG_SUBMITTED || state == MSG_ENROUTE || state == MSG_DELIVERED ||
           state == MSG_FAILED;
}

/* The URL of the status call of an event, built from what was read with its message (k), or
 * NULL when the message's dlr-mask leaves the event out. A message with a mask calls its
 * Kannel dlr-url (core/kannel.h), any other the callBack with OVH's parameters. New. */
static char *event_url(const sqlite_notify_known *k, int64_t msg_id, int64_t ts, int state,
                       int dlr, int ptt) {
    if (k->mask > 0) {
        int type = kannel_dlr_type(state, k->was_sent);
        if (!(type & k->mask)) return NULL;
        kannel_dlr d = {.type = type, .dlr = dlr, .id = msg_id, .ts_ms = ts,
                        .phone = k->receiver, .sender = k->sender, .text = k->text,
                        .smsc = k->route, .foreign_id = k->smsc_id, .coding = k->coding,
                        .mclass = k->mclass};
        return kannel_dlr_url(k->callback, &d);
    }
    callurl_params p = {.id = msg_id, .dlr = dlr, .ptt = ptt, .date_ms = ts,
                        .sender = k->sender, .receiver = k->receiver, .tag = k->tag};
    return callurl_status(k->callback, &p);
}

int sqlite__notify_event(store_conn *c, int64_t event_id, int64_t msg_id, int64_t service_id,
                         int64_t ts, int state, int dlr, int ptt) {
    if (!called_state(state)) return 0;
    sqldrv_stmt *st = sqldrv_prep(c, sql_notify_callback_of);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_int(st, 2, msg_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) {
        sqldrv_reset(st);
        return rc; /* 0: no callBack; an error is logged by the driver */
    }
    char *base = sqldrv_col_text(st, 0), *sender = sqldrv_col_text(st, 1);
    char *receiver = sqldrv_col_text(st, 2), *tag = sqldrv_col_text(st, 3);
    char *route = sqldrv_col_text(st, 6), *smsc_id = sqldrv_col_text(st, 7);
    char *text = sqldrv_col_text(st, 8);
    sqlite_notify_known k = {.callback = base, .sender = sender, .receiver = receiver,
                             .tag = tag, .mask = (int)sqldrv_col_int(st, 4),
                             .was_sent = !sqldrv_col_null(st, 5), .route = route,
                             .smsc_id = smsc_id, .text = text,
                             .coding = (int)sqldrv_col_int(st, 9),
                             .mclass = (int)sqldrv_col_int(st, 10)};
    sqldrv_reset(st);
    char *url = event_url(&k, msg_id, ts, state, dlr, ptt);
    char *origin = url ? callurl_origin(url) : NULL;
    free(route);
    free(smsc_id);
    free(text);
    rc = 0;
    if (!url) {
        /* not in the message's dlr-mask: nothing to call */
    } else if (!origin) {
        sg_log_warn(LOG, "The callBack '%s' of service %lld is not an http(s) URL; the status "
                         "callback of message %lld (deliveryReceipt %d) is not queued.",
                    base, (long long)service_id, (long long)msg_id, dlr);
    } else {
        char node[128] = "";
        int64_t lease_ms = 0, now = sg_now_ms(), call_id = 0;
        int handed = direct_wanted(c, msg_id, node, sizeof node, &lease_ms);
        /* A handed-over call is written leased to this node, its first attempt starting now. */
        st = sqldrv_prep(c, sql_notify_insert);
        if (!st) {
            rc = SG_EIO;
        } else {
            sqldrv_bind_int(st, 1, service_id);
            sqldrv_bind_int(st, 2, msg_id);
            sqldrv_bind_int(st, 3, event_id);
            sqldrv_bind_int(st, 4, dlr);
            sqldrv_bind_int(st, 5, ptt);
            sqldrv_bind_int(st, 6, ts);
            sqldrv_bind_text(st, 7, url);
            sqldrv_bind_text(st, 8, origin);
            sqldrv_bind_int(st, 9, now);
            bind_lease(st, 10, handed, now, lease_ms, node);
            rc = sqldrv_insert(c, st, "Queueing a status callback", &call_id);
        }
        if (rc == 0) rc = hand_over(c, handed, call_id, service_id, now, &url, &origin);
    }
    free(url);
    free(origin);
    free(base);
    free(sender);
    free(receiver);
    free(tag);
    return rc;
}

int sqlite__notify_call(store_conn *c, const sqlite_notify_new *k) {
    char *url = sg_xstrdup(k->url), *origin = callurl_origin(url);
    if (!origin) {
        sg_log_warn(LOG, "The URL '%s' of service %lld is not an http(s) URL; its '%s' call is "
                         "not queued.", k->url, (long long)k->service_id, k->kind);
        free(url);
        return 0;
    }
    char node[128] = "";
    int64_t lease_ms = 0, now = sg_now_ms(), call_id = 0;
    int handed = direct_wanted(c, k->seq_key, node, sizeof node, &lease_ms);
    int rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_notify_insert_kind);
    if (!st) {
        rc = SG_EIO;
    } else {
        sqldrv_bind_int(st, 1, k->service_id);
        sqldrv_bind_text(st, 2, k->kind);
        if (k->message_id) sqldrv_bind_int(st, 3, k->message_id);
        else sqldrv_bind_null(st, 3);
        if (k->event_id) sqldrv_bind_int(st, 4, k->event_id);
        else sqldrv_bind_null(st, 4);
        if (k->seq_key) sqldrv_bind_int(st, 5, k->seq_key);
        else sqldrv_bind_null(st, 5);
        sqldrv_bind_int(st, 6, k->event_ms);
        sqldrv_bind_text(st, 7, url);
        sqldrv_bind_text(st, 8, origin);
        sqldrv_bind_int(st, 9, now);
        bind_lease(st, 10, handed, now, lease_ms, node);
        rc = sqldrv_insert(c, st, "Queueing a call", &call_id);
    }
    if (rc == 0) rc = hand_over(c, handed, call_id, k->service_id, now, &url, &origin);
    free(url);
    free(origin);
    return rc;
}

/* dialect: PostgreSQL only (sqlite__notify_event_pg). A status event without a call ... */
static const char pg_event_insert[] =
    "INSERT INTO events(message_id, service_id, ts_ms, state, dlr, ptt) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
/* ... and with its call, in one statement: the call's id ($7) is the one the status read took
 * from the sequence, the event's id comes from the insert before it; values as
 * sql_notify_insert's. Nothing is read back: both are sent without waiting. */
static const char pg_event_call_insert[] =
    "WITH e AS (INSERT INTO events(message_id, service_id, ts_ms, state, dlr, ptt) "
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id) "
    "INSERT INTO notify_calls(id, service_id, kind, message_id, event_id, seq_key, dlr, ptt, "
    "event_ms, url, origin, created_ms, next_ms, lease_ms, lease_owner, first_ms) "
    "VALUES ($7, $2, 'status', $1, (SELECT id FROM e), $1, $5, $6, $3, $8, $9, $10, $10, $11, "
    "$12, $13)";

int sqlite__notify_event_pg(store_conn *c, const sqlite_notify_known *k, int64_t msg_id,
                            int64_t service_id, int64_t ts, int state, int dlr, int ptt) {
    char *url = NULL, *origin = NULL;
    if (called_state(state) && k->call_id > 0 && k->callback && *k->callback &&
        (url = event_url(k, msg_id, ts, state, dlr, ptt)) != NULL) {
        origin = callurl_origin(url);
        if (!origin)
            sg_log_warn(LOG, "The callBack '%s' of service %lld is not an http(s) URL; the "
                             "status callback of message %lld (deliveryReceipt %d) is not "
                             "queued.",
                        k->callback, (long long)service_id, (long long)msg_id, dlr);
    }
    /* deferred (sqlite_msg.c): the change is the last one kept; the flush writes its event
     * and call from it */
    sqlite_status_defer *d = c->defer;
    sqlite_deferred_status *x = d && d->n && d->v[d->n - 1].id == msg_id ? &d->v[d->n - 1] : NULL;
    sqldrv_stmt *st = NULL;
    if (x) {
        x->service_id = service_id;
    } else {
        st = sqldrv_prep(c, origin ? pg_event_call_insert : pg_event_insert);
        if (!st) {
            free(url);
            free(origin);
            return SG_EIO;
        }
        sqlite__event_params(st, msg_id, service_id, ts, state, dlr, ptt);
    }
    if (!origin) {
        free(url);
        return x ? 0 : sqldrv_done(c, st, "Recording a status event");
    }
    char node[128] = "";
    int64_t lease_ms = 0, now = sg_now_ms();
    /* handed over at once when no earlier call of the SMS is PENDING (invariant 5; k->behind
     * was read once this transaction held the message's row), or behind the last one when
     * that one is leased to this node too: the notifier makes it once that one ended
     * (store_notify_call.after) */
    int handed = store__handoff_open(c->handoff, node, sizeof node, &lease_ms) &&
                 (!k->behind || !strcmp(k->behind_owner, node));
    int64_t after = handed && k->behind ? k->behind_id : 0;
    int rc = 0;
    if (x) {
        x->call_id = k->call_id;
        x->url = sg_xstrdup(url);
        x->origin = sg_xstrdup(origin);
        x->now = now;
        x->lease_ms = handed ? now + lease_ms : 0;
        x->owner = handed ? sg_xstrdup(node) : NULL;
    } else {
        sqldrv_bind_int(st, 7, k->call_id);
        sqldrv_bind_text(st, 8, url);
        sqldrv_bind_text(st, 9, origin);
        sqldrv_bind_int(st, 10, now);
        bind_lease(st, 11, handed, now, lease_ms, node);
        rc = sqldrv_done(c, st, "Queueing a status callback");
    }
    char *secret = NULL;
    if (rc == 0 && handed && (rc = secret_of(c, service_id, &secret)) == 0) {
        store_notify_call call = {.id = k->call_id, .service_id = service_id, .attempts = 0,
                                  .first_ms = now, .url = url, .origin = origin,
                                  .secret = secret, .after = after};
        store__handoff_stage(c->handoff, &call);
        url = origin = NULL; /* the hand-off owns them now */
    } else if (rc == 0) {
        store__handoff_wake(c->handoff);
    }
    free(url);
    free(origin);
    return rc;
}

/* ---- secrets ---- */

/* The secret of a service (new in *out), created when it has none yet. */
static int ensure_secret(store_conn *c, int64_t service_id, char **out) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_notify_secret_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    if (sqldrv_step(c, st) == 1) {
        *out = sqldrv_col_text(st, 0);
        sqldrv_reset(st);
        return 0;
    }
    sqldrv_reset(st);
    char secret[2 * SECRET_BYTES + 1];
    sg_random_hex(secret, SECRET_BYTES);
    st = sqldrv_prep(c, sql_notify_secret_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_text(st, 2, secret);
    sqldrv_bind_int(st, 3, sg_now_ms());
    int rc = sqldrv_done(c, st, "Creating a callback secret");
    if (rc) return rc;
    if (sqldrv_changes(c) == 0) { /* another node created it first: that one is the secret */
        st = sqldrv_prep(c, sql_notify_secret_get);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, service_id);
        rc = sqldrv_step(c, st);
        if (rc == 1) *out = sqldrv_col_text(st, 0);
        sqldrv_reset(st);
        return rc == 1 ? 0 : rc < 0 ? rc : SG_EIO;
    }
    *out = sg_xstrdup(secret);
    return 0;
}

int sqlite__notify_secret(store_conn *c, store_notify_secret_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    return ensure_secret(c, sid, &r->secret);
}

/* ---- claiming and finishing ---- */

void store_notify_claim_fini(store_notify_claim_req *r) {
    for (size_t i = 0; i < r->count; i++) store_notify_call_fini(&r->calls[i]);
    free(r->calls);
    r->calls = NULL;
    r->count = 0;
}

/* The claim's read: the due PENDING calls not leased, none behind an earlier PENDING call of
 * its SMS (invariant 2), with their service's secret; at now $1, at most $2. */
#define CLAIM_COLS                                                                         \
    "SELECT c.id, c.service_id, c.attempts, c.first_ms, c.url, c.origin, k.secret "        \
    "FROM notify_calls c LEFT JOIN notify_secrets k ON k.service_id = c.service_id "
#define CLAIM_FIRST                                                                        \
    "AND NOT EXISTS (SELECT 1 FROM notify_calls p WHERE p.state = 0 "                      \
    "AND p.seq_key = c.seq_key AND p.id < c.id) ORDER BY c.next_ms, c.id "
static const char claim[] =
    CLAIM_COLS "WHERE c.state = 0 AND c.next_ms <= $1 AND (c.lease_ms IS NULL OR "
    "c.lease_ms <= $1) " CLAIM_FIRST "LIMIT $2";
/* dialect: PostgreSQL's "none behind an earlier PENDING call": the call is the first PENDING
 * one of its SMS, a subquery run for each candidate with its seq_key (one index seek in
 * notify_seq). Written as NOT EXISTS, the planner may turn it into an anti join; planned
 * from the statistics of a queue that was nearly empty, that join read the whole of
 * notify_seq for each candidate (docs/benchmarks.md, "Statistics of a queue"). "<=" and not
 * "=" (the same rows: c is PENDING, so the first id of its SMS is never above its own) for
 * the planner's estimate: an equality on id looks like one row in all, and with so few
 * expected the plan read and sorted every PENDING call instead of the first in due order. */
#define CLAIM_FIRST_PG                                                                     \
    "AND (c.seq_key IS NULL OR c.id <= (SELECT p.id FROM notify_calls p WHERE p.state = 0 " \
    "AND p.seq_key = c.seq_key ORDER BY p.id LIMIT 1)) ORDER BY c.next_ms, c.id "
/* dialect: the same, for PostgreSQL, locking the calls it returns and skipping locked ones. */
static const char claim_pg[] =
    CLAIM_COLS "WHERE c.state = 0 AND c.next_ms <= $1 AND (c.lease_ms IS NULL OR "
    "c.lease_ms <= $1) " CLAIM_FIRST_PG "LIMIT $2 FOR UPDATE OF c SKIP LOCKED";
/* The same for origin $1 only, at now $2, at most $3 (claim_by_origin). */
static const char claim_origin[] =
    CLAIM_COLS "WHERE c.state = 0 AND c.origin = $1 AND c.next_ms <= $2 AND (c.lease_ms IS "
    "NULL OR c.lease_ms <= $2) " CLAIM_FIRST "LIMIT $3";
/* dialect: the same, for PostgreSQL, locking as claim_pg. */
static const char claim_origin_pg[] =
    CLAIM_COLS "WHERE c.state = 0 AND c.origin = $1 AND c.next_ms <= $2 AND (c.lease_ms IS "
    "NULL OR c.lease_ms <= $2) " CLAIM_FIRST_PG "LIMIT $3 FOR UPDATE OF c SKIP LOCKED";

/* Appends the rows of a claim query (see sqlite__notify_claim) to r->calls. */
static void read_calls(store_conn *c, sqldrv_stmt *st, store_notify_claim_req *r) {
    while (r->count < r->limit && sqldrv_step(c, st) == 1) {
        store_notify_call *k = &r->calls[r->count++];
        k->id = sqldrv_col_int(st, 0);
        k->service_id = sqldrv_col_int(st, 1);
        k->attempts = (int)sqldrv_col_int(st, 2);
        k->first_ms = sqldrv_col_int(st, 3);
        k->url = sqldrv_col_text(st, 4);
        k->origin = sqldrv_col_text(st, 5);
        k->secret = sqldrv_col_text(st, 6);
    }
    sqldrv_reset(st);
}

static int origin_busy(json_t *busy, const char *origin) {
    size_t i;
    json_t *v;
    json_array_foreach(busy, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), origin))
        return 1;
    return 0;
}

/* The claim when some origins are busy. Filtering them out of one scan in due order reads
 * every pending call of theirs (a busy origin is one with a backlog: with 500,000 calls
 * waiting, each claim took longer than the calls it handed out). Instead, walk the origins
 * that have pending calls (one index seek each, notify_origin_due) and take the due calls of
 * each one that is not busy, oldest first: calls of one origin keep their order, origins are
 * served by name until the limit is reached. */
static int claim_by_origin(store_conn *c, store_notify_claim_req *r, json_t *busy) {
    char *origin = sg_xstrdup("");
    int rc = 0;
    while (r->count < r->limit) {
        sqldrv_stmt *st = sqldrv_prep(c, "SELECT MIN(origin) FROM notify_calls "
                                           "WHERE state = 0 AND origin > $1");
        if (!st) {
            rc = SG_EIO;
            break;
        }
        sqldrv_bind_text(st, 1, origin);
        char *next = sqldrv_step(c, st) == 1 ? sqldrv_col_text(st, 0) : NULL;
        sqldrv_reset(st);
        if (!next) break;
        free(origin);
        origin = next;
        if (origin_busy(busy, origin)) continue;
        /* dialect: PostgreSQL locks what it claims (the essay, "Several nodes") */
        st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES ? claim_origin_pg : claim_origin);
        if (!st) {
            rc = SG_EIO;
            break;
        }
        sqldrv_bind_text(st, 1, origin);
        sqldrv_bind_int(st, 2, r->now_ms);
        sqldrv_bind_int(st, 3, (int64_t)(r->limit - r->count));
        read_calls(c, st, r);
    }
    free(origin);
    return rc;
}

/* A claimed call leased to node $2 until $1, its first attempt at $3 (kept when it had one). */
static const char lease_one[] =
    "UPDATE notify_calls SET lease_ms = $1, lease_owner = $2, first_ms = $3 WHERE id = $4";
/* dialect: PostgreSQL. The same for every call of the array $4, in one statement; first_ms
 * is $3 (now) for those without one, as claim gives them. */
static const char lease_all_pg[] =
    "UPDATE notify_calls SET lease_ms = $1, lease_owner = $2, "
    "first_ms = CASE WHEN first_ms IS NULL OR first_ms = 0 THEN $3 ELSE first_ms END "
    "WHERE id = ANY($4::bigint[])";

int sqlite__notify_claim(store_conn *c, store_notify_claim_req *r) {
    sqldrv_stmt *st;
    int rc;
    r->calls = NULL;
    r->count = 0;
    if (r->recover) {
        st = sqldrv_prep(c, "UPDATE notify_calls SET lease_ms = NULL, lease_owner = NULL "
                             "WHERE state = 0 AND lease_owner = $1");
        if (!st) return SG_EIO;
        sqldrv_bind_text(st, 1, r->node);
        if ((rc = sqldrv_done(c, st, "Releasing the callback leases of an earlier run")))
            return rc;
        r->recovered = (size_t)sqldrv_changes(c);
    }
    size_t cap = r->limit ? r->limit : 1;
    r->calls = sg_xcalloc(cap, sizeof *r->calls);
    json_t *busy = r->busy_json ? json_loads(r->busy_json, 0, NULL) : NULL;
    if (json_array_size(busy) > 0) {
        rc = claim_by_origin(c, r, busy);
        json_decref(busy);
        if (rc) return rc;
    } else {
        json_decref(busy);
        /* dialect: PostgreSQL locks what it claims (the essay, "Several nodes") */
        st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES ? claim_pg : claim);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, r->now_ms);
        sqldrv_bind_int(st, 2, (int64_t)r->limit);
        read_calls(c, st, r);
    }
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    int64_t *ids = pg && r->count ? sg_xmalloc(r->count * sizeof *ids) : NULL;
    for (size_t i = 0; i < r->count; i++) {
        store_notify_call *k = &r->calls[i];
        if (!k->first_ms) k->first_ms = r->now_ms;
        if (!k->secret && (rc = ensure_secret(c, k->service_id, &k->secret))) {
            free(ids);
            return rc;
        }
        if (pg) {
            ids[i] = k->id;
            continue;
        }
        st = sqldrv_prep(c, lease_one);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, r->now_ms + r->lease_ms);
        sqldrv_bind_text(st, 2, r->node);
        sqldrv_bind_int(st, 3, k->first_ms);
        sqldrv_bind_int(st, 4, k->id);
        if ((rc = sqldrv_done(c, st, "Leasing a callback"))) return rc;
    }
    if (ids) { /* dialect: one statement for them all */
        st = sqldrv_prep(c, lease_all_pg);
        rc = SG_EIO;
        if (st) {
            sqldrv_bind_int(st, 1, r->now_ms + r->lease_ms);
            sqldrv_bind_text(st, 2, r->node);
            sqldrv_bind_int(st, 3, r->now_ms);
            sqlite__pg_ids(st, 4, ids, r->count);
            rc = sqldrv_done(c, st, "Leasing callbacks");
        }
        free(ids);
        if (rc) return rc;
    }
    st = sqldrv_prep(c, "SELECT MIN(next_ms) FROM notify_calls WHERE state = 0 AND "
                         "next_ms > $1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    r->next_due_ms = sqldrv_step(c, st) == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return 0;
}

/* The outcome of an attempt at call $5, still PENDING: at $1 with HTTP status $2 (NULL: none)
 * and error $3 (NULL when delivered); the call stays PENDING, again at $4 ... */
static const char finish_retry[] =
    "UPDATE notify_calls SET state = 0, attempts = attempts + 1, last_ms = $1, "
    "last_status = $2, last_error = $3, next_ms = $4, done_ms = NULL, lease_ms = NULL, "
    "lease_owner = NULL WHERE id = $5 AND state = 0";
/* ... or ends in state $4 (DELIVERED or DEAD) at $1. */
static const char finish_done[] =
    "UPDATE notify_calls SET attempts = attempts + 1, last_ms = $1, last_status = $2, "
    "last_error = $3, state = $4, done_ms = $1, lease_ms = NULL, lease_owner = NULL "
    "WHERE id = $5 AND state = 0";

/* ... or, never attempted, is given back to the claim (store_notify_result.release). */
static const char finish_release[] =
    "UPDATE notify_calls SET lease_ms = NULL, lease_owner = NULL WHERE id = $1 AND state = 0";

/* dialect: PostgreSQL. finish_done for every delivered call of the arrays: ids $1, at $2,
 * HTTP statuses $3 (no error, state DELIVERED), in one statement. Written so that only the
 * calls' primary key can serve it ("c.id = ANY($1)", and "IS TRUE": no index of PENDING calls
 * can answer that): with "c.state = 0" the plan read every PENDING call (one of the indexes
 * of "state = 0") at each batch of outcomes, however few it finished. */
static const char finish_delivered_pg[] =
    "UPDATE notify_calls c SET attempts = c.attempts + 1, last_ms = v.at, "
    "last_status = v.status, last_error = NULL, state = 1, done_ms = v.at, lease_ms = NULL, "
    "lease_owner = NULL FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) "
    "AS v(id, at, status) WHERE c.id = ANY($1::bigint[]) AND c.id = v.id "
    "AND (c.state = 0) IS TRUE";

/* On PostgreSQL, the delivered calls of r with an HTTP status in one statement
 * (finish_delivered_pg); *taken says which results it wrote (the others are the caller's). */
static int finish_delivered(store_conn *c, store_notify_finish_req *r, char *taken) {
    size_t n = 0;
    int64_t *v = sg_xmalloc(3 * (r->count ? r->count : 1) * sizeof *v);
    for (size_t i = 0; i < r->count; i++) {
        const store_notify_result *x = &r->results[i];
        if (!x->ok || !x->http_status) continue;
        v[n] = x->id;
        v[r->count + n] = x->at_ms;
        v[2 * r->count + n] = x->http_status;
        taken[i] = 1;
        n++;
    }
    int rc = 0;
    if (n) {
        sqldrv_stmt *st = sqldrv_prep(c, finish_delivered_pg);
        rc = SG_EIO;
        if (st) {
            for (int col = 0; col < 3; col++)
                sqlite__pg_ids(st, col + 1, v + (size_t)col * r->count, n);
            rc = sqldrv_done(c, st, "Recording the outcome of callbacks");
        }
    }
    free(v);
    return rc;
}

int sqlite__notify_finish(store_conn *c, store_notify_finish_req *r) {
    char *taken = sg_xcalloc(r->count ? r->count : 1, 1);
    if (sqldrv_dialect(c) == SQLDRV_POSTGRES && r->count > 1) {
        int rc = finish_delivered(c, r, taken);
        if (rc) {
            free(taken);
            return rc;
        }
    }
    for (size_t i = 0; i < r->count; i++) {
        const store_notify_result *x = &r->results[i];
        if (taken[i]) continue;
        if (x->release) {
            sqldrv_stmt *st = sqldrv_prep(c, finish_release);
            int rc = SG_EIO;
            if (st) {
                sqldrv_bind_int(st, 1, x->id);
                rc = sqldrv_done(c, st, "Releasing a callback");
            }
            if (rc) {
                free(taken);
                return rc;
            }
            continue;
        }
        int state = x->ok ? STORE_NOTIFY_DELIVERED : x->dead ? STORE_NOTIFY_DEAD
                                                             : STORE_NOTIFY_PENDING;
        sqldrv_stmt *st = sqldrv_prep(c, state == STORE_NOTIFY_PENDING ? finish_retry
                                                                       : finish_done);
        if (!st) {
            free(taken);
            return SG_EIO;
        }
        sqldrv_bind_int(st, 1, x->at_ms);
        if (x->http_status) sqldrv_bind_int(st, 2, x->http_status);
        else sqldrv_bind_null(st, 2);
        sqldrv_bind_text(st, 3, x->ok ? NULL : x->error);
        sqldrv_bind_int(st, 4, state == STORE_NOTIFY_PENDING ? x->next_ms : state);
        sqldrv_bind_int(st, 5, x->id);
        int rc = sqldrv_done(c, st, "Recording the outcome of a callback");
        if (rc) {
            free(taken);
            return rc;
        }
    }
    free(taken);
    return 0;
}

/* ---- the operator's view ---- */

static json_t *time_or_null(sqldrv_stmt *st, int col) {
    if (sqldrv_col_null(st, col)) return json_null();
    char buf[SG_TIME_ISO_LEN];
    sg_time_iso(sqldrv_col_int(st, col), buf);
    return json_string(buf);
}

static json_t *int_or_null(sqldrv_stmt *st, int col) {
    return sqldrv_col_null(st, col) ? json_null() : json_integer(sqldrv_col_int(st, col));
}

static json_t *text_or_null(sqldrv_stmt *st, int col) {
    const char *s = sqldrv_col_str(st, col);
    return s ? json_string(s) : json_null();
}

int sqlite__notify_list(store_conn *c, store_notify_list_req *r) {
    static const char *const names[] = {"pending", "delivered", "dead"};
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
#define NOTIFY_LIST_COLS                                                                   \
    "SELECT id, kind, message_id, dlr, ptt, event_ms, url, state, attempts, created_ms, "    \
    "next_ms, last_ms, last_status, last_error, done_ms FROM notify_calls "
    sqldrv_stmt *st =
        r->state == STORE_NOTIFY_DELIVERED
            ? sqldrv_prep(c, NOTIFY_LIST_COLS "WHERE service_id = $1 AND state = $2 "
                                               "ORDER BY id LIMIT $3")
            : sqldrv_prep(c, NOTIFY_LIST_COLS "WHERE service_id = $1 AND state != 1 "
                                               "AND ($2 = -1 OR state = $2) "
                                               "ORDER BY id LIMIT $3"); /* notify_open */
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_int(st, 2, r->state);
    sqldrv_bind_int(st, 3, r->limit ? (int64_t)r->limit : LIST_DEFAULT);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        int state = (int)sqldrv_col_int(st, 7);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqldrv_col_int(st, 0)));
        json_object_set_new(o, "kind", text_or_null(st, 1));
        json_object_set_new(o, "messageId", int_or_null(st, 2));
        json_object_set_new(o, "deliveryReceipt", int_or_null(st, 3));
        json_object_set_new(o, "ptt", int_or_null(st, 4));
        json_object_set_new(o, "date", time_or_null(st, 5));
        json_object_set_new(o, "url", text_or_null(st, 6));
        json_object_set_new(o, "state",
                            json_string(state >= 0 && state <= 2 ? names[state] : "unknown"));
        json_object_set_new(o, "attempts", json_integer(sqldrv_col_int(st, 8)));
        json_object_set_new(o, "createdAt", time_or_null(st, 9));
        json_object_set_new(o, "nextAttemptAt",
                            state == STORE_NOTIFY_PENDING ? time_or_null(st, 10) : json_null());
        json_object_set_new(o, "lastAttemptAt", time_or_null(st, 11));
        json_object_set_new(o, "lastStatus", int_or_null(st, 12));
        json_object_set_new(o, "lastError", text_or_null(st, 13));
        json_object_set_new(o, "endedAt", time_or_null(st, 14));
        json_array_append_new(arr, o);
    }
    sqldrv_reset(st);
    if (rc < 0) {
        json_decref(arr);
        return rc; /* logged by the driver */
    }
    r->json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return 0;
}

/* Points call id at base, the service's current callBack, keeping the event it reports. */
static int retarget(store_conn *c, int64_t id, const char *base) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT n.message_id, n.dlr, n.ptt, n.event_ms, m.sender, "
                                       "m.receiver, m.tag FROM notify_calls n JOIN messages m "
                                       "ON m.id = n.message_id WHERE n.id = $1 AND "
                                       "m.callback_url IS NULL AND "
                                       "n.kind = 'status'");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, id);
    if (sqldrv_step(c, st) != 1) {
        sqldrv_reset(st);
        return 0;
    }
    char *sender = sqldrv_col_text(st, 4), *receiver = sqldrv_col_text(st, 5);
    char *tag = sqldrv_col_text(st, 6);
    callurl_params p = {.id = sqldrv_col_int(st, 0), .dlr = (int)sqldrv_col_int(st, 1),
                            .ptt = (int)sqldrv_col_int(st, 2), .date_ms = sqldrv_col_int(st, 3),
                            .sender = sender, .receiver = receiver, .tag = tag};
    sqldrv_reset(st);
    char *url = callurl_status(base, &p), *origin = callurl_origin(url);
    int rc = 0;
    if (origin) {
        st = sqldrv_prep(c, "UPDATE notify_calls SET url = $1, origin = $2 WHERE id = $3");
        if (!st) {
            rc = SG_EIO;
        } else {
            sqldrv_bind_text(st, 1, url);
            sqldrv_bind_text(st, 2, origin);
            sqldrv_bind_int(st, 3, id);
            rc = sqldrv_done(c, st, "Pointing a callback at the current callBack");
        }
    }
    free(url);
    free(origin);
    free(sender);
    free(receiver);
    free(tag);
    return rc;
}

/* A replay also points each call at the service's current callBack: a customer who fixed a
 * wrong URL gets the calls that failed on the old one. */
int sqlite__notify_replay(store_conn *c, store_notify_replay_req *r) {
    int64_t sid = sqlite__service_id(c, r->service_name);
    if (!sid) return SG_ENOTFOUND;
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT callback FROM services WHERE id = $1 AND "
                                       "callback IS NOT NULL AND callback != ''");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    char *base = sqldrv_step(c, st) == 1 ? sqldrv_col_text(st, 0) : NULL;
    sqldrv_reset(st);
    const int64_t *ids = r->ids;
    size_t count = r->count;
    int64_t *dead = NULL;
    int rc = 0;
    if (!r->count) { /* every dead call */
        st = sqldrv_prep(c, "SELECT id FROM notify_calls WHERE service_id = $1 AND state = 2 "
                             "ORDER BY id");
        if (!st) {
            free(base);
            return SG_EIO;
        }
        sqldrv_bind_int(st, 1, sid);
        size_t cap = 16;
        dead = sg_xmalloc(cap * sizeof *dead);
        while ((rc = sqldrv_step(c, st)) == 1) {
            if (count == cap) dead = sg_xrealloc(dead, (cap *= 2) * sizeof *dead);
            dead[count++] = sqldrv_col_int(st, 0);
        }
        sqldrv_reset(st);
        rc = rc < 0 ? rc : 0; /* an error is logged by the driver */
        ids = dead;
    }
    r->replayed = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        /* A PENDING call keeps its retry window and any lease (it may be in flight); the
         * others start afresh. */
        st = sqldrv_prep(c, "UPDATE notify_calls SET next_ms = $1, "
                             "first_ms = CASE WHEN state = 0 THEN first_ms ELSE NULL END, "
                             "done_ms = NULL, state = 0 WHERE id = $2 AND service_id = $3");
        if (!st) {
            rc = SG_EIO;
            break;
        }
        sqldrv_bind_int(st, 1, r->now_ms);
        sqldrv_bind_int(st, 2, ids[i]);
        sqldrv_bind_int(st, 3, sid);
        if ((rc = sqldrv_done(c, st, "Replaying a callback"))) break;
        if (!sqldrv_changes(c)) {
            rc = SG_ENOTFOUND;
            break;
        }
        if (base && (rc = retarget(c, ids[i], base))) break;
        r->replayed++;
    }
    free(dead);
    free(base);
    if (rc == 0 && r->replayed) store__handoff_wake(c->handoff);
    return rc;
}
