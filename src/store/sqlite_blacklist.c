/*
 * sqlite_blacklist.c - the blacklists area (store_blacklist.h): numbers that opted out of a
 * service's marketing SMS, the check that refuses them at send time, and the opt-out of an
 * incoming "STOP" (docs/replies.md, "STOP and blacklists").
 *
 * Tables (migration blacklists/1):
 *   blacklists  one row per (service, number): when, the SMS with the STOP clause the mobile
 *               answered (sms_outgoing_id) and its batch (batch_id, a campaigns.id), the
 *               incoming message that opted out, and the source ('stop' or 'operator').
 *               Its unique key (service_id, number) serves the check at send time, the API's
 *               reads, and makes a second STOP change nothing (ON CONFLICT DO NOTHING).
 *   campaigns.stoplisted  receivers of a campaign refused because they are blacklisted
 *               (sms.BatchStatistics.stoplisted).
 *
 * The check at send time (store_core_sql.c's submit, sqlite_campaigns.c's fan-out) runs only
 * for a marketing SMS, and first asks whether the service has any blacklisted number at all
 * (sqlite__blacklist_any: one probe of the unique index); only a service that has one pays a
 * lookup per receiver. A refused receiver gets no message, no event and no debit.
 *
 * The opt-out (sqlite__optout) runs in the transaction that stores the incoming message, so a
 * STOP is blacklisted and its stopCallBack calls queued exactly when the message is stored.
 * It finds the services that sent the mobile a marketing SMS through the incoming area's
 * index of messages by receiver (messages_reply), so it reads only that mobile's messages.
 * The calls are rows of notify_calls of kind 'stop' (sqlite__notify_call), their whole URL
 * built once (core/callurl.h, callurl_with) and never changed, delivered, retried and signed
 * by the notifier like status callbacks.
 *
 * Invariants:
 *  1. At most one row per (service, number); an opt-out that finds the row already there
 *     writes nothing and queues no call, so a repeated STOP never calls twice.
 *  2. A stopCallBack call is queued only with the row it reports, in the same transaction.
 *  3. Nothing here changes a message or the ledger: a refused receiver simply never becomes a
 *     message.
 *
 * Several nodes (PostgreSQL). Two nodes storing STOPs of one mobile at once both insert its
 * rows: the second INSERT waits for the first transaction's unique key, then does nothing
 * (invariant 1 holds across nodes). A send checks the blacklist in its own transaction, so it
 * sees every opt-out committed before its check (READ COMMITTED); one committed while the
 * send's transaction runs is seen by the next send.
 *
 * Every statement runs through the SQL driver (sqldrv.h) and is accepted by both dialects;
 * the migrations are SQLite's (PostgreSQL's: schema_pg.c, area "blacklists").
 */
#include "store/sqlite_blacklist_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/callurl.h"
#include "core/optout.h"
#include "store/sqldrv.h"
#include "store/sqlite_notify_int.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "store.blacklist"
#define DEFAULT_WINDOW_MS (30LL * 86400 * 1000)
#define MAX_SERVICES 256 /* services one opt-out applies to at most */

const char *const sqlite_blacklist_migrations[SQLITE_BLACKLIST_MIGRATIONS] = {
    /* 1: the blacklists, a campaign's stoplisted receivers */
    "CREATE TABLE blacklists ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL, number TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, sms_outgoing_id INTEGER, batch_id TEXT,"
    "  incoming_id INTEGER, source TEXT NOT NULL DEFAULT 'stop',"
    "  UNIQUE (service_id, number));"
    "ALTER TABLE campaigns ADD COLUMN stoplisted INTEGER NOT NULL DEFAULT 0;",
};

void sqlite__optout_configure(store_conn *c, const struct optout_rules *rules,
                              int64_t window_ms) {
    c->optout = rules;
    c->optout_window_ms = window_ms > 0 ? window_ms : DEFAULT_WINDOW_MS;
}

/* ---- the check at send time ---- */

int sqlite__blacklist_any(store_conn *c, int64_t service_id) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT 1 FROM blacklists WHERE service_id = $1 LIMIT 1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    int rc = sqldrv_step(c, st);
    sqldrv_reset(st);
    return rc; /* 1, 0, or an error logged by the driver */
}

int sqlite__blacklisted(store_conn *c, int64_t service_id, const char *number) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT 1 FROM blacklists WHERE service_id = $1 AND "
                                       "number = $2");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_text(st, 2, number);
    int rc = sqldrv_step(c, st);
    sqldrv_reset(st);
    return rc;
}

/* ---- the operations ---- */

void store_blacklist_fini(store_blacklist *b) {
    if (!b) return;
    free(b->number);
    free(b->batch_id);
    free(b->source);
    memset(b, 0, sizeof *b);
}

void store_blacklist_req_fini(store_blacklist_req *r) {
    for (size_t i = 0; i < r->count; i++) store_blacklist_fini(&r->items[i]);
    free(r->items);
    r->items = NULL;
    r->count = 0;
}

#define BLACKLIST_COLS \
    "SELECT number, created_ms, sms_outgoing_id, batch_id, incoming_id, source FROM blacklists "

static void read_row(sqldrv_stmt *st, store_blacklist *b) {
    b->number = sqldrv_col_text(st, 0);
    b->created_ms = sqldrv_col_int(st, 1);
    b->sms_outgoing_id = sqldrv_col_null(st, 2) ? 0 : sqldrv_col_int(st, 2);
    b->batch_id = sqldrv_col_text(st, 3);
    b->incoming_id = sqldrv_col_null(st, 4) ? 0 : sqldrv_col_int(st, 4);
    b->source = sqldrv_col_text(st, 5);
}

/* The service of r: its id, or the one named (the operator's calls). */
static int service_of(store_conn *c, const store_blacklist_req *r, int64_t *sid) {
    *sid = r->service_id ? r->service_id : sqlite__service_id(c, r->service_name);
    return *sid ? 0 : SG_ENOTFOUND;
}

int sqlite__blacklist_list(store_conn *c, store_blacklist_req *r) {
    int64_t sid;
    int rc = service_of(c, r, &sid);
    if (rc) return rc;
    /* each parameter first compared with its column: PostgreSQL types it from there */
    sqldrv_stmt *st = sqldrv_prep(c, BLACKLIST_COLS "WHERE service_id = $1 AND (number = $2 OR "
                                                    "$2 IS NULL) AND (batch_id = $3 OR "
                                                    "$3 IS NULL) AND (sms_outgoing_id = $4 OR "
                                                    "$4 = 0) ORDER BY number");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->number);
    sqldrv_bind_text(st, 3, r->batch_id);
    sqldrv_bind_int(st, 4, r->sms_outgoing_id);
    size_t cap = 0;
    r->items = NULL;
    r->count = 0;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) {
            cap = cap ? cap * 2 : 16;
            r->items = sg_xrealloc(r->items, cap * sizeof *r->items);
        }
        read_row(st, &r->items[r->count++]);
    }
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}

int sqlite__blacklist_get(store_conn *c, store_blacklist_req *r) {
    int64_t sid;
    int rc = service_of(c, r, &sid);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, BLACKLIST_COLS "WHERE service_id = $1 AND number = $2");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->number);
    rc = sqldrv_step(c, st);
    if (rc == 1) {
        r->items = sg_xcalloc(1, sizeof *r->items);
        r->count = 1;
        read_row(st, &r->items[0]);
    }
    sqldrv_reset(st);
    return rc == 1 ? 0 : rc == 0 ? SG_ENOTFOUND : rc;
}

int sqlite__blacklist_delete(store_conn *c, store_blacklist_req *r) {
    int64_t sid;
    int rc = service_of(c, r, &sid);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, "DELETE FROM blacklists WHERE service_id = $1 AND "
                                       "number = $2");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->number);
    if ((rc = sqldrv_done(c, st, "Removing a number from a blacklist"))) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

/* Blacklists number for service sid (invariant 1): *added 1 when the row is new. */
static const char insert_row[] =
    "INSERT INTO blacklists(service_id, number, created_ms, sms_outgoing_id, batch_id, "
    "incoming_id, source) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (service_id, number) DO NOTHING";

int sqlite__blacklist_add(store_conn *c, store_blacklist_req *r) {
    int64_t sid;
    int rc = service_of(c, r, &sid);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, insert_row);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, sid);
    sqldrv_bind_text(st, 2, r->number);
    sqldrv_bind_int(st, 3, r->now_ms ? r->now_ms : sg_now_ms());
    sqldrv_bind_null(st, 4);
    sqldrv_bind_null(st, 5);
    sqldrv_bind_null(st, 6);
    sqldrv_bind_text(st, 7, "operator");
    if ((rc = sqldrv_done(c, st, "Adding a number to a blacklist"))) return rc;
    r->added = sqldrv_changes(c) > 0;
    return 0;
}

/* ---- the opt-out of an incoming message ---- */

/* 1 when m was sent to the opt-out short number, or answers one of our SMS. */
static int optout_addressed(store_conn *c, const store_incoming_row *m) {
    if (optout_is_short_number(c->optout, m->receiver)) return 1;
    if (m->reply_to_id || m->service_id || (m->virtual_number && *m->virtual_number)) return 1;
    if (!m->receiver || !*m->receiver) return 0;
    /* a short number some service sends from */
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT 1 FROM services WHERE short_number = $1 LIMIT 1");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, m->receiver[0] == '+' ? m->receiver + 1 : m->receiver);
    int rc = sqldrv_step(c, st);
    sqldrv_reset(st);
    return rc;
}

/* The stopCallBack call of service sid for the row just written (invariant 2); its
 * parameters are documented in docs/replies.md ("STOP and blacklists"). */
static int queue_stop_call(store_conn *c, int64_t sid, int64_t msg_id, const char *batch_id,
                           const store_incoming_row *m) {
    /* the stopCallBack of the SMS user that sent the SMS, if it has one (store_users.h), else
     * the service's */
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT COALESCE(NULLIF(u.stop_callback, ''), "
                                       "s.stop_callback) AS url, m.tag FROM services s "
                                       "LEFT JOIN messages m ON m.id = $1 "
                                       "LEFT JOIN sms_users u ON u.id = m.user_id "
                                       "WHERE s.id = $2 AND COALESCE(NULLIF(u.stop_callback, ''), "
                                       "s.stop_callback, '') != ''");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, msg_id);
    sqldrv_bind_int(st, 2, sid);
    int rc = sqldrv_step(c, st);
    if (rc != 1) {
        sqldrv_reset(st);
        return rc; /* 0: no stopCallBack; an error is logged by the driver */
    }
    char *base = sqldrv_col_text(st, 0), *tag = sqldrv_col_text(st, 1);
    sqldrv_reset(st);
    char id[24], date[24], incoming[24];
    snprintf(id, sizeof id, "%lld", (long long)msg_id);
    snprintf(date, sizeof date, "%lld", (long long)(m->ts_ms / 1000));
    snprintf(incoming, sizeof incoming, "%lld", (long long)m->id);
    const callurl_kv kv[] = {
        {"id", id},
        {"sender", m->sender},
        {"receiver", m->receiver},
        {"message", m->text},
        {"date", date},
        {"smsOutgoingID", id},
        {"batchID", batch_id},
        {"tag", tag},
        {"incomingID", m->id ? incoming : NULL},
        {"number", m->sender},
    };
    char *url = callurl_with(base, kv, sizeof kv / sizeof kv[0]);
    sqlite_notify_new k = {.service_id = sid, .kind = "stop", .message_id = msg_id,
                           .event_id = m->id, .event_ms = m->ts_ms, .url = url};
    rc = sqlite__notify_call(c, &k);
    free(url);
    free(base);
    free(tag);
    return rc;
}

/* The batch (campaigns.id of kind 'batch') message msg_id came from: new, or NULL. */
static int batch_of(store_conn *c, int64_t sid, int64_t msg_id, char **out) {
    *out = NULL;
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT k.id FROM messages m JOIN campaigns k ON "
                                       "k.service_id = m.service_id AND k.send_id = m.send_id "
                                       "WHERE m.id = $1 AND m.service_id = $2 AND "
                                       "k.kind = 'batch'");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, msg_id);
    sqldrv_bind_int(st, 2, sid);
    int rc = sqldrv_step(c, st);
    if (rc == 1) *out = sqldrv_col_text(st, 0);
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}

int sqlite__optout_on_incoming(store_conn *c, const store_incoming_row *m) {
    return sqlite__optout(c, m, NULL);
}

int sqlite__optout(store_conn *c, const store_incoming_row *m, int *blacklisted) {
    if (blacklisted) *blacklisted = 0;
    if (!c->optout || !m->sender || !*m->sender || !optout_match(c->optout, m->text)) return 0;
    int rc = optout_addressed(c, m);
    if (rc <= 0) return rc;
    /* The services that sent this mobile a marketing SMS within the window, and the latest
     * such SMS of each: the incoming area's index of messages by receiver (messages_reply,
     * sqlite_incoming.c) finds them. Read whole first: one statement reads at a time. */
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT service_id, MAX(id) AS id FROM messages "
                                       "WHERE receiver = $1 AND stop_clause = 1 AND "
                                       "created_ms >= $2 AND sent_ms IS NOT NULL "
                                       "GROUP BY service_id ORDER BY service_id");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, m->sender);
    sqldrv_bind_int(st, 2, (m->ts_ms ? m->ts_ms : sg_now_ms()) - c->optout_window_ms);
    int64_t sids[MAX_SERVICES], ids[MAX_SERVICES];
    size_t n = 0;
    while (n < MAX_SERVICES && (rc = sqldrv_step(c, st)) == 1) {
        sids[n] = sqldrv_col_int(st, 0);
        ids[n++] = sqldrv_col_int(st, 1);
    }
    sqldrv_reset(st);
    if (rc < 0) return rc;
    int64_t now = sg_now_ms();
    for (size_t i = 0; i < n; i++) {
        char *batch = NULL;
        if ((rc = batch_of(c, sids[i], ids[i], &batch))) return rc;
        if (!(st = sqldrv_prep(c, insert_row))) {
            free(batch);
            return SG_EIO;
        }
        sqldrv_bind_int(st, 1, sids[i]);
        sqldrv_bind_text(st, 2, m->sender);
        sqldrv_bind_int(st, 3, now);
        sqldrv_bind_int(st, 4, ids[i]);
        sqldrv_bind_text(st, 5, batch);
        if (m->id) sqldrv_bind_int(st, 6, m->id);
        else sqldrv_bind_null(st, 6);
        sqldrv_bind_text(st, 7, "stop");
        rc = sqldrv_done(c, st, "Blacklisting a number that opted out");
        if (rc == 0 && sqldrv_changes(c) > 0) { /* invariant 1: a new row only */
            sg_log_info(LOG, "%s opted out of the marketing SMS of service %lld (SMS %lld).",
                        m->sender, (long long)sids[i], (long long)ids[i]);
            if (blacklisted) (*blacklisted)++;
            rc = queue_stop_call(c, sids[i], ids[i], batch, m);
        }
        free(batch);
        if (rc) return rc;
    }
    return 0;
}
