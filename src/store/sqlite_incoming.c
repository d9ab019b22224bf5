/*
 * sqlite_incoming.c - the incoming area of the store (store_incoming.h): messages from
 * mobiles, stored, reassembled and attributed.
 *
 * Tables:
 *   incoming        one row per complete message: the mobile (sender), our number it was sent
 *                   to (receiver), the UTF-8 text, the service it belongs to (0 when
 *                   unattributed), the virtual number it was sent to, the SMS it answers
 *                   (reply_to_id, 0 = none) and that SMS's tag, the route, the parts.
 *   incoming_multi  one row per multi-part message still missing parts, keyed by (sender,
 *                   receiver, reference, total): the reference alone is the mobile's, so two
 *                   mobiles' references never meet, and the parts may arrive on any bind of
 *                   any route, in any order.
 *   incoming_parts  the parts received so far, their payload ready to be concatenated
 *                   (core/mo.h). When the last one arrives the message is decoded, inserted
 *                   into `incoming`, and its parts and header are deleted. Parts that never
 *                   complete stay here (`smsctl incoming list --partial` shows them).
 *   messages_reply  (an index of `messages`) (receiver, sender, created_ms): the reply
 *                   window's lookup, run for every incoming message, reads one entry.
 * The area's first migration also moves the rows of the routes area's old `smpp_mo` table
 * into `incoming` (unattributed): that table is no longer written.
 *
 * Attribution (store_incoming.h): a receiver in virtual_numbers (the "numbers" area) gives
 * its service; else the newest SMS sent to the mobile from the receiver within the reply
 * window gives its service, and is the message's reply_to_id (also looked up for a virtual
 * number, and kept when it is the same service's); else service 0.
 *
 * Invariants:
 *  1. A message (or part) is committed before the SMSC is answered: the caller acks after the
 *     operation's callback, and a failure fails the whole batch (the SMSC sends it again).
 *  2. sqlite__incoming_stored() is called exactly once per complete row, in its transaction.
 *  3. A multi-part message completes exactly once: its header row is locked by the upsert
 *     that records each part (PostgreSQL: a second node's part waits for the first one's
 *     commit and then counts both), and a part received twice is counted once.
 *
 * Its statements run through the SQL driver only (sqldrv.h) and their texts are accepted by
 * both dialects; the migrations are SQLite's (PostgreSQL's: schema_pg.c).
 */
#include "store/sqlite_incoming_int.h"

#include "store/sqldrv.h"
#include "store/sqlite_numbers_int.h" /* sqlite__vnum_service */
#include "store/sqlite_replies_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mo.h"
#include "util/util.h"

const char *const sqlite_incoming_migrations[SQLITE_INCOMING_MIGRATIONS] = {
    /* 1: incoming messages, their parts, the reply window's index */
    "CREATE TABLE incoming ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL DEFAULT 0, virtual_number TEXT,"
    "  sender TEXT NOT NULL, receiver TEXT NOT NULL, message TEXT NOT NULL,"
    "  tag TEXT NOT NULL DEFAULT '', reply_to_id INTEGER NOT NULL DEFAULT 0,"
    "  route TEXT NOT NULL, data_coding INTEGER NOT NULL DEFAULT 0,"
    "  parts INTEGER NOT NULL DEFAULT 1, created_ms INTEGER NOT NULL);"
    "CREATE INDEX incoming_service ON incoming(service_id, id);"
    "CREATE TABLE incoming_multi ("
    "  id INTEGER PRIMARY KEY, sender TEXT NOT NULL, receiver TEXT NOT NULL,"
    "  ref INTEGER NOT NULL, total INTEGER NOT NULL, route TEXT NOT NULL,"
    "  data_coding INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    "  UNIQUE(sender, receiver, ref, total));"
    "CREATE TABLE incoming_parts ("
    "  multi_id INTEGER NOT NULL, seq INTEGER NOT NULL, coding INTEGER NOT NULL,"
    "  data BLOB NOT NULL, route TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(multi_id, seq));"
    "CREATE INDEX messages_reply ON messages(receiver, sender, created_ms);"
    "INSERT INTO incoming(sender, receiver, message, route, data_coding, created_ms)"
    "  SELECT source, destination, message, route, data_coding, received_ms FROM smpp_mo"
    "  ORDER BY id;",
};

/* ---- attribution ---- */

/* The E.164 form of a receiver to look up among virtual numbers into buf: as is with a '+';
 * with one added when it is 8 digits or more; "" otherwise (a short number). */
static const char *vn_key(const char *receiver, char *buf, size_t n) {
    if (receiver[0] == '+') return receiver;
    size_t len = strlen(receiver);
    if (len < 8 || len + 2 > n || strspn(receiver, "0123456789") != len) return "";
    snprintf(buf, n, "+%s", receiver);
    return buf;
}

/* Attributes and inserts one complete message in one statement (one round trip to
 * PostgreSQL, which the benchmark measures): the virtual number ($8, "" for a short number)
 * gives the service; the newest SMS to the mobile ($1) from the receiver, as received or in
 * its E.164 form, since $9, gives reply_to_id and its tag, and the service when no virtual
 * number did (with a virtual number, only an SMS of the same service is its reply_to). It
 * returns the row's smsResponse too (store_incoming_row.sms_response). */
static const char sql_insert_attributed[] =
    "INSERT INTO incoming(service_id, virtual_number, sender, receiver, message, tag, "
    "reply_to_id, route, data_coding, parts, created_ms) "
    "SELECT COALESCE(v.service_id, r.service_id, 0), v.number, $1, $2, $3, "
    "COALESCE(r.tag, ''), COALESCE(r.id, 0), $4, $5, $6, $7 "
    "FROM (SELECT 1 AS one) o "
    "LEFT JOIN virtual_numbers v ON v.number = $8 "
    "LEFT JOIN (SELECT id, service_id, tag FROM messages "
    "  WHERE receiver = $1 AND sender IN ($2, $8) AND created_ms >= $9 "
    "  ORDER BY created_ms DESC, id DESC LIMIT 1) r "
    "ON v.service_id IS NULL OR r.service_id = v.service_id "
    "RETURNING id, service_id, reply_to_id, virtual_number, "
    "COALESCE((SELECT sms_response FROM virtual_numbers WHERE number = incoming.virtual_number), "
    "(SELECT sms_response FROM services WHERE id = incoming.service_id))";

/* Inserts one complete message, attributed, and runs the hook. */
static int insert_complete(store_conn *c, const char *route, const char *sender,
                           const char *receiver, const char *text, int data_coding, int parts,
                           int64_t ts_ms, int64_t window_ms, int64_t *id, int64_t *service_id) {
    char buf[64];
    sqldrv_stmt *st = sqldrv_prep(c, sql_insert_attributed);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, sender);
    sqldrv_bind_text(st, 2, receiver);
    sqldrv_bind_text(st, 3, text);
    sqldrv_bind_text(st, 4, route);
    sqldrv_bind_int(st, 5, data_coding);
    sqldrv_bind_int(st, 6, parts);
    sqldrv_bind_int(st, 7, ts_ms);
    sqldrv_bind_text(st, 8, vn_key(receiver, buf, sizeof buf));
    sqldrv_bind_int(st, 9, ts_ms - (window_ms > 0 ? window_ms : STORE_REPLY_WINDOW_MS));
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_EIO;
    store_incoming_row row = {.id = sqldrv_col_int(st, 0), .service_id = sqldrv_col_int(st, 1),
                              .reply_to_id = sqldrv_col_int(st, 2), .sender = sender,
                              .receiver = receiver, .text = text, .ts_ms = ts_ms, .route = route};
    char *vn = sqldrv_col_text(st, 3), *resp = sqldrv_col_text(st, 4);
    sqldrv_reset(st);
    row.virtual_number = vn;
    row.sms_response = resp;
    *id = row.id;
    *service_id = row.service_id;
    rc = sqlite__incoming_stored(c, &row);
    free(vn);
    free(resp);
    return rc;
}

/* ---- parts ---- */

/* Decodes the parts of multi_id (all present) into one text (new). */
static int assemble(store_conn *c, int64_t multi_id, char **text) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT coding, data FROM incoming_parts "
                                       "WHERE multi_id = $1 ORDER BY seq");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, multi_id);
    /* Runs of parts in one coding are concatenated before decoding (a character may be split
     * across two parts); a change of coding starts a new run. */
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int coding = -1;
    char *out = sg_xstrdup("");
    int rc;
    for (;;) {
        rc = sqldrv_step(c, st);
        int col = rc == 1 ? (int)sqldrv_col_int(st, 0) : -1;
        if (coding >= 0 && col != coding) { /* flush the run */
            char *t = mo_text((mo_coding)coding, buf, len);
            char *joined = sg_xasprintf("%s%s", out, t);
            free(t);
            free(out);
            out = joined;
            len = 0;
        }
        if (rc != 1) break;
        coding = col;
        size_t n;
        const void *d = sqldrv_col_blob(st, 1, &n);
        if (len + n + 1 > cap) buf = sg_xrealloc(buf, cap = 2 * (len + n + 1));
        if (n) memcpy(buf + len, d, n);
        len += n;
    }
    free(buf);
    if (rc < 0) {
        free(out);
        return rc;
    }
    *text = out;
    return 0;
}

/* Records one part; completes the message when it was the last one missing. */
static int store_part(store_conn *c, store_smpp_mo_item *m, int64_t window_ms) {
    /* The upsert locks the header (invariant 3); "RETURNING id, total" (not the driver's
     * SQLDRV_RETURNING_ID) because the row may be an existing one: its id is read as a row. */
    sqldrv_stmt *st = sqldrv_prep(c, "INSERT INTO incoming_multi(sender, receiver, ref, total, "
                                       "route, data_coding, first_ms, last_ms) "
                                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
                                       "ON CONFLICT (sender, receiver, ref, total) "
                                       "DO UPDATE SET last_ms = excluded.last_ms "
                                       "RETURNING id, total");
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, m->source);
    sqldrv_bind_text(st, 2, m->destination);
    sqldrv_bind_int(st, 3, m->ref);
    sqldrv_bind_int(st, 4, m->total);
    sqldrv_bind_text(st, 5, m->route);
    sqldrv_bind_int(st, 6, m->data_coding);
    sqldrv_bind_int(st, 7, m->ts_ms);
    int rc = sqldrv_step(c, st);
    if (rc != 1) return rc < 0 ? rc : SG_EIO;
    int64_t multi_id = sqldrv_col_int(st, 0);
    sqldrv_reset(st);

    st = sqldrv_prep(c, "INSERT INTO incoming_parts(multi_id, seq, coding, data, route, "
                          "received_ms) VALUES ($1, $2, $3, $4, $5, $6) "
                          "ON CONFLICT (multi_id, seq) DO NOTHING");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, multi_id);
    sqldrv_bind_int(st, 2, m->seq);
    sqldrv_bind_int(st, 3, m->coding);
    sqldrv_bind_blob(st, 4, m->data ? (const void *)m->data : (const void *)"", m->len);
    sqldrv_bind_text(st, 5, m->route);
    sqldrv_bind_int(st, 6, m->ts_ms);
    if ((rc = sqldrv_done(c, st, "Storing a part of an incoming message"))) return rc;

    st = sqldrv_prep(c, "SELECT COUNT(*) FROM incoming_parts WHERE multi_id = $1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, multi_id);
    if ((rc = sqldrv_step(c, st)) != 1) return rc < 0 ? rc : SG_EIO;
    int64_t got = sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    if (got < m->total) return 0; /* waits for the others */

    char *text;
    if ((rc = assemble(c, multi_id, &text))) return rc;
    rc = insert_complete(c, m->route, m->source, m->destination, text, m->data_coding,
                         m->total, m->ts_ms, window_ms, &m->id, &m->service_id);
    free(text);
    if (rc) return rc;
    st = sqldrv_prep(c, "DELETE FROM incoming_parts WHERE multi_id = $1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, multi_id);
    if ((rc = sqldrv_done(c, st, "Deleting the parts of an incoming message"))) return rc;
    st = sqldrv_prep(c, "DELETE FROM incoming_multi WHERE id = $1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, multi_id);
    return sqldrv_done(c, st, "Deleting the parts of an incoming message");
}

/* ---- operations ---- */

int sqlite__incoming_smpp(store_conn *c, store_smpp_mo_req *r) {
    for (size_t i = 0; i < r->count; i++) {
        store_smpp_mo_item *m = &r->items[i];
        m->id = m->service_id = 0;
        int rc = m->total > 1
                     ? store_part(c, m, r->reply_window_ms)
                     : insert_complete(c, m->route, m->source, m->destination,
                                       m->text ? m->text : "", m->data_coding, 1, m->ts_ms,
                                       r->reply_window_ms, &m->id, &m->service_id);
        if (rc) return rc;
    }
    return 0;
}

int sqlite__incoming_add(store_conn *c, store_incoming_add_req *r) {
    r->id = r->service_id = 0;
    return insert_complete(c, r->route ? r->route : "", r->sender, r->receiver,
                           r->text ? r->text : "", 0, 1, r->ts_ms, r->reply_window_ms, &r->id,
                           &r->service_id);
}

#define INCOMING_COLS                                                                        \
    "i.id, i.service_id, COALESCE(s.name, ''), i.virtual_number, i.sender, i.receiver, "     \
    "i.message, i.tag, i.reply_to_id, i.route, i.parts, i.created_ms "                      \
    "FROM incoming i LEFT JOIN services s ON s.id = i.service_id "

static void read_incoming(sqldrv_stmt *st, store_incoming *m) {
    int k = 0;
    m->id = sqldrv_col_int(st, k++);
    m->service_id = sqldrv_col_int(st, k++);
    m->service = sqldrv_col_text(st, k++);
    m->virtual_number = sqldrv_col_text(st, k++);
    m->sender = sqldrv_col_text(st, k++);
    m->receiver = sqldrv_col_text(st, k++);
    m->text = sqldrv_col_text(st, k++);
    m->tag = sqldrv_col_text(st, k++);
    m->reply_to_id = sqldrv_col_int(st, k++);
    m->route = sqldrv_col_text(st, k++);
    m->parts = (int)sqldrv_col_int(st, k++);
    m->ts_ms = sqldrv_col_int(st, k++);
}

/* SG_ENOTFOUND (and *no_number = 1) when vn is given and is not service_id's number. */
static int check_number(store_conn *c, int64_t service_id, const char *vn, int *no_number) {
    *no_number = 0;
    if (!vn) return 0;
    int64_t svc = sqlite__vnum_service(c, vn);
    if (svc < 0) return (int)svc;
    if (svc == service_id && svc != 0) return 0;
    *no_number = 1;
    return SG_ENOTFOUND;
}

/* An SMS user's incoming messages (store_users.h): the replies to its SMS (reply_to_id). */
#define INCOMING_OF_USER(p)                                                                   \
    "EXISTS (SELECT 1 FROM messages m WHERE m.id = i.reply_to_id AND m.user_id = " p ")"

int sqlite__incoming_list(store_conn *c, store_incoming_list_req *r) {
    if (r->service && !(r->service_id = sqlite__service_id(c, r->service))) return SG_ENOTFOUND;
    int rc = r->all ? 0 : check_number(c, r->service_id, r->virtual_number, &r->no_number);
    if (rc) return rc;
    /* The same filters, with or without the service (its index) */
#define LIST_FILTERS                                                                          \
    "AND (i.virtual_number = $2 OR $2 IS NULL) AND (i.sender = $3 OR $3 IS NULL) "          \
    "AND (i.tag = $4 OR $4 IS NULL) AND i.created_ms >= $5 AND i.created_ms <= $6 "         \
    "AND ($7 = 0 OR " INCOMING_OF_USER("$7") ") ORDER BY i.id DESC LIMIT $8"
    sqldrv_stmt *st = sqldrv_prep(c, r->all ? "SELECT " INCOMING_COLS
                                              "WHERE i.service_id <> $1 " LIST_FILTERS
                                            : "SELECT " INCOMING_COLS
                                              "WHERE i.service_id = $1 " LIST_FILTERS);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->all ? -1 : r->service_id);
    sqldrv_bind_text(st, 2, r->virtual_number);
    sqldrv_bind_text(st, 3, r->sender);
    sqldrv_bind_text(st, 4, r->tag);
    sqldrv_bind_int(st, 5, r->from_ms > 0 ? r->from_ms : 0);
    sqldrv_bind_int(st, 6, r->to_ms > 0 ? r->to_ms : INT64_MAX);
    sqldrv_bind_int(st, 7, r->user_id);
    sqldrv_bind_int(st, 8, r->limit > 0 ? (int64_t)r->limit : INT64_MAX);
    size_t cap = 0;
    r->ids = NULL;
    r->rows = NULL;
    r->count = 0;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) {
            cap = cap ? 2 * cap : 16;
            r->ids = sg_xrealloc(r->ids, cap * sizeof *r->ids);
            if (r->with_rows) r->rows = sg_xrealloc(r->rows, cap * sizeof *r->rows);
        }
        r->ids[r->count] = sqldrv_col_int(st, 0);
        if (r->with_rows) read_incoming(st, &r->rows[r->count]);
        r->count++;
    }
    if (rc < 0) {
        store_incoming_list_fini(r);
        return rc;
    }
    return 0;
}

int sqlite__incoming_get(store_conn *c, store_incoming_req *r) {
    int rc = check_number(c, r->service_id, r->virtual_number, &r->no_number);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT " INCOMING_COLS
                                       "WHERE i.id = $1 AND i.service_id = $2 "
                                       "AND (i.virtual_number = $3 OR $3 IS NULL) "
                                       "AND ($4 = 0 OR " INCOMING_OF_USER("$4") ")");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_text(st, 3, r->virtual_number);
    sqldrv_bind_int(st, 4, r->user_id);
    rc = sqldrv_step(c, st);
    if (rc < 0) return rc;
    if (rc == 0) return SG_ENOTFOUND;
    read_incoming(st, &r->msg);
    sqldrv_reset(st);
    return 0;
}

int sqlite__incoming_delete(store_conn *c, store_incoming_req *r) {
    int rc = check_number(c, r->service_id, r->virtual_number, &r->no_number);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, "DELETE FROM incoming WHERE id = $1 AND service_id = $2 "
                                       "AND (virtual_number = $3 OR $3 IS NULL) "
                                       "AND ($4 = 0 OR reply_to_id IN (SELECT id FROM messages "
                                       "WHERE user_id = $4))");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_text(st, 3, r->virtual_number);
    sqldrv_bind_int(st, 4, r->user_id);
    rc = sqldrv_done(c, st, "Deleting an incoming message");
    if (rc) return rc;
    return sqldrv_changes(c) > 0 ? 0 : SG_ENOTFOUND;
}

int sqlite__incoming_partial(store_conn *c, store_incoming_partial_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, "SELECT m.id, m.first_ms, m.last_ms, m.ref, m.total, "
                                       "COUNT(p.seq), m.sender, m.receiver, m.route "
                                       "FROM incoming_multi m "
                                       "LEFT JOIN incoming_parts p ON p.multi_id = m.id "
                                       "GROUP BY m.id, m.first_ms, m.last_ms, m.ref, m.total, "
                                       "m.sender, m.receiver, m.route "
                                       "ORDER BY m.first_ms, m.id LIMIT $1");
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->limit > 0 ? (int64_t)r->limit : 100);
    size_t cap = 0;
    r->items = NULL;
    r->count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) r->items = sg_xrealloc(r->items, (cap = cap ? 2 * cap : 16) *
                                                                  sizeof *r->items);
        store_incoming_part_msg *p = &r->items[r->count++];
        p->id = sqldrv_col_int(st, 0);
        p->first_ms = sqldrv_col_int(st, 1);
        p->last_ms = sqldrv_col_int(st, 2);
        p->ref = (int)sqldrv_col_int(st, 3);
        p->total = (int)sqldrv_col_int(st, 4);
        p->got = (int)sqldrv_col_int(st, 5);
        p->sender = sqldrv_col_text(st, 6);
        p->receiver = sqldrv_col_text(st, 7);
        p->route = sqldrv_col_text(st, 8);
    }
    if (rc < 0) {
        store_incoming_partial_fini(r);
        return rc;
    }
    return 0;
}
