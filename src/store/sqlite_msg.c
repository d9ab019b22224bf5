/*
 * sqlite_msg.c - messages in the SQLite backend: the one writer of new messages and of their
 * status changes, the events they leave and the refunds they cause. The rules (which change
 * applies, what it does) are core/msgstate.c's; this file drives the SQL that applies them,
 * whose texts are shared by every backend (sql_msg.h).
 *
 * Layering (store.c has the whole picture): calls sqlite_util.c and, for each status event,
 * sqlite_notify.c (the event's callback is queued in the same transaction); called by
 * store_core_sql.c (sends, cancels, claims, the sim), sqlite_routes.c (SMPP receipts) and
 * sqlite_campaigns.c.
 *
 * Invariants:
 *  1. A message's state only moves as core/msgstate.c allows (sqlite__apply_status is the
 *     only writer after sqlite__insert_message): forward, cancelled only from scheduled or
 *     queued, back from submitting to queued only by a requeue (its due_ms becomes the next
 *     attempt, a temporary refusal counts in `retries`, and the end of its validity is kept in
 *     expires_ms first). Final states never change. Each change but a requeue inserts one row
 *     in `events`.
 *  2. A message is refunded at most once: when it is cancelled, when it fails before any
 *     operator accepted it, or when it fails with deliveryReceipt 16 ("not billed").
 *     A refund is a ledger row with ref "message:<id>" and a note saying why, when known.
 */
#include "store/sqlite_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/msgstate.h"
#include "store/sql_msg.h"
#include "store/sqldrv.h"
#include "store/sqlite_notify_int.h"
#include "store/sqlite_hours_int.h"
#include "util/util.h"

/* ---- message state machine (the rules: core/msgstate.c) ---- */

int sqlite__insert_event(store_conn *c, int64_t msg_id, int64_t service_id, int64_t ts, int state,
                        int dlr, int ptt) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_msg_event_insert);
    if (!st) return SG_EIO;
    sqlite__event_params(st, msg_id, service_id, ts, state, dlr, ptt);
    int64_t event_id;
    int rc = sqldrv_insert(c, st, "Recording a status event", &event_id);
    if (rc) return rc;
    return sqlite__notify_event(c, event_id, msg_id, service_id, ts, state, dlr, ptt);
}

int sqlite__refund_message(store_conn *c, int64_t msg_id, int64_t service_id, int64_t credits,
                          const char *note, int64_t *refunded) {
    if (credits <= 0) return 0;
    char ref[48];
    snprintf(ref, sizeof ref, "message:%lld", (long long)msg_id);
    int64_t before;
    int rc = sqlite__balance_for_write(c, service_id, &before);
    if (rc) return rc;
    rc = sqlite__ledger_append(c, service_id, before, credits, "refund", ref, note, NULL);
    if (rc == 0 && refunded) *refunded += credits;
    return rc;
}

/* SUBMITTING -> QUEUED: back to the queue, due at retry_at_ms (now when 0). A retry (an attempt
 * that failed temporarily) counts in `retries`, and the end of the validity period is kept in
 * expires_ms before due_ms moves (the right-hand sides read the row as it was). No event: the
 * message's visible state does not change. */
static int requeue(store_conn *c, const store_status_update *u) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_msg_requeue);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, u->route);
    sqldrv_bind_int(st, 2, u->retry_at_ms);
    sqldrv_bind_int(st, 3, u->retry ? 1 : 0);
    sqldrv_bind_int(st, 4, u->msg_id);
    int rc = sqldrv_done(c, st, "Requeueing a message");
    return rc ? rc : 1;
}

/* dialect: PostgreSQL, where several nodes write: the message's row is locked until the
 * transaction ends, so that two changes of one message (a receipt on one node, the accept of
 * its submit_sm_resp or a cancel on another) follow each other and each decides from the
 * state the other left (invariant 1). SQLite has one writer. The lock is sent without waiting
 * for its answer; the read after it (pg_msg_status_read) starts once the lock is held, so it
 * sees what the previous holder committed, and both cost one round trip. */
static const char pg_msg_lock[] = "SELECT id FROM messages WHERE id = $1 FOR NO KEY UPDATE";
/* dialect: PostgreSQL. sql_msg_status_read, and with it what the status event's callback
 * needs (sql_notify_callback_of, sql_notify_behind), and the id of that call taken from its
 * sequence when the service has a callBack: the event and its call are then written without
 * reading anything back (sqlite__notify_event_pg). */
static const char pg_msg_status_read[] =
    "SELECT " SQLITE_PG_STATUS_COLS "FROM messages m LEFT JOIN services s ON s.id = m.service_id "
    "WHERE m.id = $1";

/* Reads the row a status change of message id decides from (sqlite__apply_status_row).
 * 1 read, 0 no such message, or an SG_E* code. PostgreSQL: the row is locked first. */
static int status_read(store_conn *c, int64_t id, sqlite_status_row *row) {
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES, rc;
    sqldrv_stmt *st;
    if (pg) {
        if (!(st = sqldrv_prep(c, pg_msg_lock))) return SG_EIO;
        sqldrv_bind_int(st, 1, id);
        if ((rc = sqldrv_done(c, st, "Locking a message"))) return rc;
    }
    st = sqldrv_prep(c, pg ? pg_msg_status_read : sql_msg_status_read);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, id);
    rc = sqldrv_step(c, st);
    if (rc != 1) return rc;
    sqlite__status_row_read(c, st, 0, row);
    sqldrv_reset(st);
    return 1;
}

void sqlite__status_row_read(store_conn *c, sqldrv_stmt *st, int col, sqlite_status_row *row) {
    row->state = (int)sqldrv_col_int(st, col);
    row->service_id = sqldrv_col_int(st, col + 1);
    row->credits = sqldrv_col_int(st, col + 2);
    row->was_sent = !sqldrv_col_null(st, col + 3);
    row->sent_ms = row->was_sent ? sqldrv_col_int(st, col + 3) : 0;
    row->pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    if (row->pg) {
        const char *last = sqldrv_col_str(st, col + 8); /* "id owner" of the last PENDING */
        row->known = (sqlite_notify_known){.callback = sqldrv_col_text(st, col + 4),
                                           .sender = sqldrv_col_text(st, col + 5),
                                           .receiver = sqldrv_col_text(st, col + 6),
                                           .tag = sqldrv_col_text(st, col + 7),
                                           .behind = last != NULL,
                                           .call_id = sqldrv_col_int(st, col + 9),
                                           .mask = (int)sqldrv_col_int(st, col + 10),
                                           .route = sqldrv_col_text(st, col + 11),
                                           .smsc_id = sqldrv_col_text(st, col + 12),
                                           .text = sqldrv_col_text(st, col + 13),
                                           .coding = (int)sqldrv_col_int(st, col + 14),
                                           .mclass = (int)sqldrv_col_int(st, col + 15)};
        if (last) {
            char *sp;
            row->known.behind_id = strtoll(last, &sp, 10);
            snprintf(row->known.behind_owner, sizeof row->known.behind_owner, "%s",
                     *sp == ' ' ? sp + 1 : "");
        }
    }
}

void sqlite__status_row_fini(sqlite_status_row *row) {
    free((char *)row->known.callback);
    free((char *)row->known.sender);
    free((char *)row->known.receiver);
    free((char *)row->known.tag);
    free((char *)row->known.route);
    free((char *)row->known.smsc_id);
    free((char *)row->known.text);
    row->known = (sqlite_notify_known){0};
}

/* ---- deferred status writes (PostgreSQL) ----
 *
 * A status change on PostgreSQL was two statements per message (the UPDATE of its row, then
 * its event with its callback), and each statement pays the server's per-statement work
 * (the executor's set-up of the table and each of its indexes, the portal, the protocol
 * messages) whatever the rows: for the UPDATE of `messages` (five indexes and a generated
 * column) and the inserts in `events` and `notify_calls` (seven indexes) that work was about
 * as large as the rows' own. An SMPP route's accepts and receipts change tens of messages in
 * one operation; written by one statement at its end (arrays, one element per change) they
 * cost the server about half as much CPU per message (docs/benchmarks.md, "Fewer statements
 * per status change"). The event ids are taken from events' sequence by the statement itself
 * (in the order of the changes), so the callbacks name their events without reading anything
 * back. Correct as long as nothing in between reads what is deferred: the operation's rows
 * were read (and locked) before the first change, a second change of a message flushes
 * first (an UPDATE joined with two rows of one message would apply only one), and the
 * callers flush before the statements that may touch a changed message. */

/* dialect: PostgreSQL only. $1..$16: one array each, one element per change; a callback
 * written when its url is not NULL, leased to this node when its lease end is not 0. */
static const char pg_status_flush[] =
    "WITH v AS MATERIALIZED (SELECT nextval('events_id_seq') AS eid, v.* FROM "
    "unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
    "$6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], "
    "$12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::text[]) WITH ORDINALITY "
    "AS v(id, state, dlr, ptt, sent, ts, delivered, route, smsc_id, service_id, call_id, url, "
    "origin, now, lease_ms, owner, ord)), "
    "u AS (UPDATE messages m SET state = v.state, dlr = v.dlr, ptt = v.ptt, "
    "sent_ms = CASE WHEN v.sent <> 0 THEN v.ts ELSE m.sent_ms END, "
    "delivered_ms = CASE WHEN v.delivered <> 0 THEN v.ts ELSE m.delivered_ms END, "
    "route = COALESCE(v.route, m.route), smsc_id = COALESCE(v.smsc_id, m.smsc_id), "
    "lease_ms = NULL, lease_owner = NULL FROM v WHERE m.id = ANY($1::bigint[]) AND m.id = v.id), "
    "e AS (INSERT INTO events(id, message_id, service_id, ts_ms, state, dlr, ptt) "
    "SELECT eid, id, service_id, ts, state, dlr, ptt FROM v ORDER BY ord) "
    "INSERT INTO notify_calls(id, service_id, kind, message_id, event_id, seq_key, dlr, ptt, "
    "event_ms, url, origin, created_ms, next_ms, lease_ms, lease_owner, first_ms) "
    "SELECT call_id, service_id, 'status', id, eid, id, dlr, ptt, ts, url, origin, now, now, "
    "NULLIF(lease_ms, 0), owner, CASE WHEN lease_ms <> 0 THEN now END FROM v "
    "WHERE url IS NOT NULL ORDER BY ord";
/* dialect: PostgreSQL only. The deferred rows of smpp_ids, in their order. */
static const char pg_smpp_ids_flush[] =
    "INSERT INTO smpp_ids(route, idkey, message_id, part, nparts, created_ms) "
    "SELECT route, idkey, message_id, part, nparts, created_ms FROM unnest($1::text[], "
    "$2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) WITH ORDINALITY "
    "AS v(route, idkey, message_id, part, nparts, created_ms, o) ORDER BY o";

static const char sql_smpp_id_insert[] =
    "INSERT INTO smpp_ids(route, idkey, message_id, part, nparts, created_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6)";

void sqlite__status_defer_begin(store_conn *c, sqlite_status_defer *d) {
    memset(d, 0, sizeof *d);
    if (sqldrv_dialect(c) == SQLDRV_POSTGRES) c->defer = d;
}

/* Binds at i the int64 field at offset off of each of the n elements of size sz from base. */
static void bind_ints(sqldrv_stmt *st, int i, const void *base, size_t sz, size_t off,
                      size_t n) {
    int64_t *v = sg_xmalloc((n ? n : 1) * sizeof *v);
    for (size_t k = 0; k < n; k++) memcpy(&v[k], (const char *)base + k * sz + off, sizeof *v);
    sqlite__pg_ids(st, i, v, n);
    free(v);
}

/* The same for a string field (char *; NULL binds NULL). */
static void bind_texts(sqldrv_stmt *st, int i, const void *base, size_t sz, size_t off,
                       size_t n) {
    char **v = sg_xmalloc((n ? n : 1) * sizeof *v);
    for (size_t k = 0; k < n; k++) memcpy(&v[k], (const char *)base + k * sz + off, sizeof *v);
    sqlite__pg_texts(st, i, v, n);
    free(v);
}

static void defer_clear(sqlite_status_defer *d) {
    for (size_t k = 0; k < d->n; k++) {
        sqlite_deferred_status *x = &d->v[k];
        free(x->route);
        free(x->smsc_id);
        free(x->url);
        free(x->origin);
        free(x->owner);
    }
    for (size_t k = 0; k < d->nids; k++) {
        free(d->ids[k].route);
        free(d->ids[k].key);
    }
    d->n = d->nids = 0;
}

int sqlite__status_flush(store_conn *c) {
    sqlite_status_defer *d = c->defer;
    if (!d || (!d->n && !d->nids)) return 0;
    int rc = 0;
    if (d->n) {
        sqldrv_stmt *st = sqldrv_prep(c, pg_status_flush);
        if (!st) {
            rc = SG_EIO;
        } else {
            const sqlite_deferred_status *v = d->v;
            size_t z = sizeof *v, n = d->n;
#define DEF_INT(i, f) bind_ints(st, i, v, z, offsetof(sqlite_deferred_status, f), n)
#define DEF_TEXT(i, f) bind_texts(st, i, v, z, offsetof(sqlite_deferred_status, f), n)
            DEF_INT(1, id);
            DEF_INT(2, state);
            DEF_INT(3, dlr);
            DEF_INT(4, ptt);
            DEF_INT(5, sent);
            DEF_INT(6, ts);
            DEF_INT(7, delivered);
            DEF_TEXT(8, route);
            DEF_TEXT(9, smsc_id);
            DEF_INT(10, service_id);
            DEF_INT(11, call_id);
            DEF_TEXT(12, url);
            DEF_TEXT(13, origin);
            DEF_INT(14, now);
            DEF_INT(15, lease_ms);
            DEF_TEXT(16, owner);
#undef DEF_INT
#undef DEF_TEXT
            rc = sqldrv_done(c, st, "Updating the status of messages");
        }
    }
    if (rc == 0 && d->nids) {
        sqldrv_stmt *st = sqldrv_prep(c, pg_smpp_ids_flush);
        if (!st) {
            rc = SG_EIO;
        } else {
            const sqlite_deferred_id *v = d->ids;
            size_t z = sizeof *v, n = d->nids;
            bind_texts(st, 1, v, z, offsetof(sqlite_deferred_id, route), n);
            bind_texts(st, 2, v, z, offsetof(sqlite_deferred_id, key), n);
            bind_ints(st, 3, v, z, offsetof(sqlite_deferred_id, msg_id), n);
            bind_ints(st, 4, v, z, offsetof(sqlite_deferred_id, part), n);
            bind_ints(st, 5, v, z, offsetof(sqlite_deferred_id, nparts), n);
            bind_ints(st, 6, v, z, offsetof(sqlite_deferred_id, ts), n);
            rc = sqldrv_done(c, st, "Recording operator message ids");
        }
    }
    defer_clear(d);
    return rc;
}

int sqlite__status_defer_end(store_conn *c, int rc) {
    sqlite_status_defer *d = c->defer;
    if (!d) return rc;
    if (rc >= 0) {
        int f = sqlite__status_flush(c);
        if (f) rc = f;
    }
    defer_clear(d);
    free(d->v);
    free(d->ids);
    c->defer = NULL;
    return rc;
}

int sqlite__defer_smpp_id(store_conn *c, const char *route, const char *key, int64_t msg_id,
                          int64_t part, int64_t nparts, int64_t ts) {
    sqlite_status_defer *d = c->defer;
    if (d) {
        if (d->nids == d->capids)
            d->ids = sg_xrealloc(d->ids, (d->capids = d->capids ? 2 * d->capids : 32) *
                                             sizeof *d->ids);
        d->ids[d->nids++] = (sqlite_deferred_id){.route = sg_xstrdup(route),
                                                 .key = sg_xstrdup(key), .msg_id = msg_id,
                                                 .part = part, .nparts = nparts, .ts = ts};
        return 0;
    }
    sqldrv_stmt *st = sqldrv_prep(c, sql_smpp_id_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, route);
    sqldrv_bind_text(st, 2, key);
    sqldrv_bind_int(st, 3, msg_id);
    sqldrv_bind_int(st, 4, part);
    sqldrv_bind_int(st, 5, nparts);
    sqldrv_bind_int(st, 6, ts);
    return sqldrv_done(c, st, "Recording an operator message id");
}

/* Keeps u's change of a message in c->defer (the event's fields are filled in by
 * sqlite__notify_event_pg); a message already there is flushed first. 0 or an SG_E* code. */
static int defer_status(store_conn *c, const store_status_update *u, int next,
                        const msgstate_effect *e, int64_t ts) {
    sqlite_status_defer *d = c->defer;
    for (size_t k = 0; k < d->n; k++) {
        if (d->v[k].id == u->msg_id) {
            int rc = sqlite__status_flush(c);
            if (rc) return rc;
            break;
        }
    }
    if (d->n == d->cap)
        d->v = sg_xrealloc(d->v, (d->cap = d->cap ? 2 * d->cap : 32) * sizeof *d->v);
    d->v[d->n++] = (sqlite_deferred_status){
        .id = u->msg_id, .state = next, .dlr = u->dlr, .ptt = u->ptt, .sent = e->sent_now,
        .ts = ts, .delivered = e->delivered,
        .route = u->route ? sg_xstrdup(u->route) : NULL,
        .smsc_id = u->smsc_id ? sg_xstrdup(u->smsc_id) : NULL};
    return 0;
}

int sqlite__apply_status_row(store_conn *c, const store_status_update *u,
                             const sqlite_status_row *row) {
    int next = (int)u->state;
    msgstate_effect e;
    if (!msgstate_change((msg_state)row->state, row->was_sent, u->state, u->dlr,
                         u->smsc_id != NULL, &e))
        return 0;
    int rc;
    if (e.requeue) {
        if ((rc = sqlite__status_flush(c))) return rc;
        return requeue(c, u);
    }
    int64_t ts = u->ts_ms ? u->ts_ms : sg_now_ms();
    if (c->defer && row->pg) {
        if ((rc = defer_status(c, u, next, &e, ts))) return rc;
    } else {
        sqldrv_stmt *st = sqldrv_prep(c, sql_msg_status_update);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, next);
        sqldrv_bind_int(st, 2, u->dlr);
        sqldrv_bind_int(st, 3, u->ptt);
        sqldrv_bind_int(st, 4, e.sent_now);
        sqldrv_bind_int(st, 5, ts);
        sqldrv_bind_int(st, 6, e.delivered);
        sqldrv_bind_text(st, 7, u->route);
        sqldrv_bind_text(st, 8, u->smsc_id);
        sqldrv_bind_int(st, 9, u->msg_id);
        if ((rc = sqldrv_done(c, st, "Updating a message's status"))) return rc;
    }
    c->applied_sent_ms = row->sent_ms; /* for a receipt's latency (sqlite_routes.c) */
    if (receipt_state_final((msg_state)next)) /* for /metrics (store_metrics.h) */
        store__count(c->handoff, next == MSG_DELIVERED   ? STORE_COUNT_DELIVERED
                                 : next == MSG_CANCELLED ? STORE_COUNT_CANCELLED
                                 : u->ptt == 8 && !row->was_sent ? STORE_COUNT_EXPIRED
                                                                 : STORE_COUNT_FAILED, 1);
    if (row->pg) {
        /* what the change itself sets, for a Kannel dlr-url (sqlite_gateways.c) */
        sqlite_notify_known k = row->known;
        k.was_sent = row->was_sent || e.sent_now;
        if (u->route) k.route = u->route;
        if (u->smsc_id) k.smsc_id = u->smsc_id;
        rc = sqlite__notify_event_pg(c, &k, u->msg_id, row->service_id, ts, next, u->dlr, u->ptt);
    } else {
        rc = sqlite__insert_event(c, u->msg_id, row->service_id, ts, next, u->dlr, u->ptt);
    }
    if (rc) return rc;
    /* Refund rule (invariant 3). Cancelled messages are refunded by msg_cancel. */
    if (e.refund) {
        rc = sqlite__refund_message(c, u->msg_id, row->service_id, row->credits, u->why, NULL);
        if (rc) return rc;
    }
    return 1;
}

int sqlite__status_batch_read(store_conn *c, sqldrv_stmt *read, sqlite_status_batch *b) {
    b->v = NULL;
    b->n = 0;
    int rc;
    size_t cap = 0;
    while ((rc = sqldrv_step(c, read)) == 1) {
        if (b->n == cap) b->v = sg_xrealloc(b->v, (cap = cap ? 2 * cap : 16) * sizeof *b->v);
        sqlite_status_one *o = &b->v[b->n++];
        memset(o, 0, sizeof *o);
        o->msg_id = sqldrv_col_int(read, 0);
        o->key = sqldrv_col_text(read, 1);
        o->part = (int)sqldrv_col_int(read, 2);
        o->nparts = (int)sqldrv_col_int(read, 3);
        sqlite__status_row_read(c, read, 4, &o->row);
    }
    sqldrv_reset(read);
    return rc < 0 ? rc : 0;
}

sqlite_status_one *sqlite__status_batch_find(sqlite_status_batch *b, int64_t msg_id,
                                             const char *key) {
    for (size_t i = 0; i < b->n; i++)
        if (key ? b->v[i].key && !strcmp(b->v[i].key, key) : b->v[i].msg_id == msg_id)
            return &b->v[i];
    return NULL;
}

void sqlite__status_batch_fini(sqlite_status_batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].key);
        sqlite__status_row_fini(&b->v[i].row);
    }
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

/* Applies one status change if the state machine allows it. Returns 1 if applied, 0 if
 * stale (ignored), or an SG_E* code. */
int sqlite__apply_status(store_conn *c, const store_status_update *u) {
    int rc = sqlite__status_flush(c); /* the read below sees the deferred changes */
    if (rc) return rc;
    if (u->hold_until_ms > 0) return sqlite__hours_hold(c, u); /* marketing hours */
    sqlite_status_row row = {0};
    rc = status_read(c, u->msg_id, &row);
    if (rc == 1) rc = sqlite__apply_status_row(c, u, &row);
    sqlite__status_row_fini(&row);
    return rc;
}

/* dialect: PostgreSQL only. A new message and its creation event in one statement, which
 * returns the message's id: one round trip where the two inserts took two (the event needs
 * the message's id). SQLite waits for no server and keeps the two plain inserts. Parameters
 * as sql_msg_insert's, then the event's state ($24: the message's may be submitting already,
 * its event says queued). */
static const char pg_msg_insert_with_event[] =
    "WITH m AS (INSERT INTO messages(service_id, send_id, created_ms, due_ms, state, sender, "
    "receiver, message, coding, length, parts, credits, priority, validity_min, differed_min, "
    "class, tag, stop_clause, callback_url, callback_mask, lease_ms, lease_owner, attempts) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
    "$19, $20, $21, $22, $23) RETURNING id) "
    "INSERT INTO events(message_id, service_id, ts_ms, state, dlr, ptt) "
    "SELECT id, $1, $3, $24, 0, 0 FROM m RETURNING message_id";

/* dialect: PostgreSQL only. The same with the message's id $1 taken already from its sequence
 * (the send's first read, store_core_sql.c), the other parameters one further: nothing to
 * read back, so it goes without waiting. */
static const char pg_msg_insert_with_id[] =
    "WITH m AS (INSERT INTO messages(id, service_id, send_id, created_ms, due_ms, state, "
    "sender, receiver, message, coding, length, parts, credits, priority, validity_min, "
    "differed_min, class, tag, stop_clause, callback_url, callback_mask, lease_ms, "
    "lease_owner, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
    "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) RETURNING id) "
    "INSERT INTO events(message_id, service_id, ts_ms, state, dlr, ptt) "
    "SELECT id, $2, $4, $25, 0, 0 FROM m";

/* The message as the dispatcher's claim would have read it (sqlite__read_msg), claimed. */
static void handed_msg(const sqlite_new_msg *m, int64_t id, store_msg *out) {
    *out = (store_msg){.id = id, .service_id = m->service_id, .send_id = m->send_id,
                       .created_ms = m->now_ms, .due_ms = m->due_ms, .state = MSG_SUBMITTING,
                       .sender = sg_xstrdup(m->sender), .receiver = sg_xstrdup(m->receiver),
                       .message = sg_xstrndup(m->message, m->message_len),
                       .tag = m->tag ? sg_xstrdup(m->tag) : NULL, .coding = m->coding,
                       .length = m->length, .parts = m->parts, .credits = m->credits,
                       .priority = m->priority, .validity_min = m->validity_min,
                       .differed_min = m->differed_min, .sms_class = m->sms_class,
                       .attempts = 1, .stop_clause = m->stop_clause};
}

int sqlite__insert_message(store_conn *c, const sqlite_new_msg *m, int64_t *id, int *handed) {
    /* a creation event calls nobody (sqlite_notify.c): nothing to queue with it */
    int queued = m->state == MSG_SCHEDULED || m->state == MSG_QUEUED;
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES && queued;
    int given = pg && m->id > 0;
    /* due now and the dispatcher takes it: written claimed, handed over at commit */
    char node[128];
    int64_t lease_ms = 0;
    store_handoff *h = c->handoff;
    int direct = m->state == MSG_QUEUED && h &&
                 store__handoff_q_open(h, &h->msgs, node, sizeof node, &lease_ms);
    if (handed) *handed = direct;
    if (queued && !direct && h) h->unhanded++;
    sqldrv_stmt *st = sqldrv_prep(c, given ? pg_msg_insert_with_id
                                     : pg  ? pg_msg_insert_with_event
                                           : sql_msg_insert);
    if (!st) return SG_EIO;
    int k = given; /* the parameters after the id, one further */
    if (given) sqldrv_bind_int(st, 1, m->id);
    sqldrv_bind_int(st, k + 1, m->service_id);
    sqldrv_bind_int(st, k + 2, m->send_id);
    sqldrv_bind_int(st, k + 3, m->now_ms);
    sqldrv_bind_int(st, k + 4, m->due_ms);
    sqldrv_bind_int(st, k + 5, direct ? MSG_SUBMITTING : m->state);
    sqldrv_bind_text(st, k + 6, m->sender);
    sqldrv_bind_text(st, k + 7, m->receiver);
    sqldrv_bind_textn(st, k + 8, m->message, m->message_len);
    sqldrv_bind_int(st, k + 9, m->coding);
    sqldrv_bind_int(st, k + 10, m->length);
    sqldrv_bind_int(st, k + 11, m->parts);
    sqldrv_bind_int(st, k + 12, m->credits);
    sqldrv_bind_int(st, k + 13, m->priority);
    sqldrv_bind_int(st, k + 14, m->validity_min);
    sqldrv_bind_int(st, k + 15, m->differed_min);
    sqldrv_bind_int(st, k + 16, m->sms_class);
    sqldrv_bind_text(st, k + 17, m->tag);
    sqldrv_bind_int(st, k + 18, m->stop_clause);
    sqldrv_bind_text(st, k + 19, m->callback_url);
    sqldrv_bind_int(st, k + 20, m->callback_mask);
    if (direct) {
        sqldrv_bind_int(st, k + 21, m->now_ms + lease_ms);
        sqldrv_bind_text(st, k + 22, node);
    } else {
        sqldrv_bind_null(st, k + 21);
        sqldrv_bind_null(st, k + 22);
    }
    sqldrv_bind_int(st, k + 23, direct);
    if (pg) sqldrv_bind_int(st, k + 24, m->state);
    int rc;
    store__count(c->handoff, STORE_COUNT_ACCEPTED, 1); /* undone if the operation fails */
    if (given) {
        *id = m->id;
        rc = sqldrv_done(c, st, "Storing a message");
    } else if (pg) {
        if ((rc = sqldrv_step(c, st)) == 1) *id = sqldrv_col_int(st, 0);
        sqldrv_reset(st);
        rc = rc == 1 ? 0 : rc < 0 ? rc : SG_EIO;
    } else if ((rc = sqldrv_insert(c, st, "Storing a message", id)) == 0) {
        rc = sqlite__insert_event(c, *id, m->service_id, m->now_ms, m->state, 0, 0);
    }
    if (rc == 0 && direct) { /* unstaged if the operation or its batch is rolled back */
        store_msg hm;
        handed_msg(m, *id, &hm);
        store__handoff_q_stage(&h->msgs, &hm);
    }
    return rc;
}

void sqlite__read_msg(sqldrv_stmt *st, store_msg *m) {
    m->id = sqldrv_col_int(st, 0);
    m->service_id = sqldrv_col_int(st, 1);
    m->send_id = sqldrv_col_int(st, 2);
    m->created_ms = sqldrv_col_int(st, 3);
    m->due_ms = sqldrv_col_int(st, 4);
    m->state = (msg_state)sqldrv_col_int(st, 5);
    m->dlr = (int)sqldrv_col_int(st, 6);
    m->ptt = (int)sqldrv_col_int(st, 7);
    m->sender = sqldrv_col_text(st, 8);
    m->receiver = sqldrv_col_text(st, 9);
    m->message = sqldrv_col_text(st, 10);
    m->coding = (int)sqldrv_col_int(st, 11);
    m->length = sqldrv_col_int(st, 12);
    m->parts = sqldrv_col_int(st, 13);
    m->credits = sqldrv_col_int(st, 14);
    m->priority = (int)sqldrv_col_int(st, 15);
    m->validity_min = sqldrv_col_int(st, 16);
    m->differed_min = sqldrv_col_int(st, 17);
    m->sms_class = (int)sqldrv_col_int(st, 18);
    m->tag = sqldrv_col_text(st, 19);
    m->sent_ms = sqldrv_col_int(st, 20);
    m->delivered_ms = sqldrv_col_int(st, 21);
    m->route = sqldrv_col_text(st, 22);
    m->smsc_id = sqldrv_col_text(st, 23);
    m->attempts = (int)sqldrv_col_int(st, 24);
    m->retries = (int)sqldrv_col_int(st, 25);
    m->expires_ms = sqldrv_col_int(st, 26);
    m->stop_clause = (int)sqldrv_col_int(st, 27);
}
