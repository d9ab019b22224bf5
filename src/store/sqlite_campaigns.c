/*
 * sqlite_campaigns.c - the campaigns area of the SQLite backend (store_campaigns.h): uploaded
 * documents, receiver lists and slots, and the fan-out of a templated message.
 *
 * Tables:
 *   documents        one row per /me/document: owner account, name, tags, the secret token of
 *                    its put/get URLs, size, expiry.
 *   document_chunks  the content, in slices of CHUNK bytes (read back one slice at a time).
 *   receiver_lists   one loaded CSV (or receivers array): its columns, the column holding the
 *                    number, the separator, and running counts of rows.
 *   receiver_rows    its rows, keyed (list, line): the normalised receiver (NULL for a refused
 *                    row, with the reason), its country, the number as written, and every
 *                    column's value (NUL-separated). A unique index on (list, receiver) finds
 *                    duplicates as they are inserted.
 *   receiver_slots   /sms/{sn}/receivers/{slot}: description, autoUpdate, csvUrl or document,
 *                    and the READY list it names.
 *   campaigns        one per templated job or batch: what was sent, to what, its send and the
 *                    range of message ids it created (messages of one campaign are inserted
 *                    by one operation: statistics read that id range through the primary key,
 *                    and no index is added to `messages`). On SQLite the ids of the range are
 *                    consecutive; on PostgreSQL several nodes draw ids from one sequence at
 *                    once, so the range may hold other sends' messages of the service, and
 *                    the statements that read it also ask for the campaign's send_id.
 *
 * States of a list and the function performing each transition:
 *
 *   sqlite__list_begin()          sqlite__list_finish()
 *   ------------------> LOADING ------------------------> READY
 *                          |  sqlite__list_drop(), recover      |  slot deleted or repointed,
 *                          +---------------> DROPPED <----------+  send-only list used
 *                                               |  sqlite__list_purge(): rows, then the list
 *                                               v
 *                                            (gone)
 *
 * Invariants:
 *  1. A slot names a READY list; a READY list's counts equal its rows (records = valid +
 *     invalid, valid = rows with a receiver).
 *  2. Within a list a receiver appears at most once with a non-NULL receiver: later rows with
 *     the same number are kept as refused ("duplicate of line N"), so each receiver of a
 *     campaign gets exactly one SMS.
 *  3. campaign_send stores either the whole campaign (messages, events, send, one debit,
 *     campaign row) or nothing (its savepoint is rolled back on any error). A campaign with
 *     the STOP mention skips the receivers on the service's blacklist (sqlite_blacklist.c):
 *     refused rows like invalid ones, counted in campaigns.stoplisted, never charged.
 *  4. A cancelled message of a campaign is refunded once: sqlite__apply_status moves it to the
 *     final state `cancelled` only once, and only the messages it moved are summed into the one
 *     refund row (ref "batch:<uuid>") of that cancel. This replaces, for campaigns, the per
 *     message "message:<id>" refund rows of a single cancel (sqlite.c invariant 3).
 *
 * One function per operation for every backend. The statements are sql_campaigns.h's (and
 * sql_msg.h's send and sender status), written once for both SQL dialects; this file drives
 * them through the SQL driver only (sqldrv.h; scripts/check-store-layers lists it). Its
 * migrations above are SQLite's (dialect: they are to move to schema_sqlite.c).
 *
 * Several nodes on one PostgreSQL database. SQLite's single writer makes every operation
 * here see the rows as the previous one left them; on PostgreSQL other nodes' transactions
 * run at the same time (READ COMMITTED). Where that could hand the same work to two nodes,
 * or change a row between this operation's read and its write, the text differs, chosen
 * with sqldrv_dialect() and marked "dialect:":
 *   - the purge claims a DROPPED list with FOR UPDATE SKIP LOCKED (each node purges another
 *     list, none waits for another's), and deletes only the expired documents no other
 *     node's purge holds;
 *   - a send holds its list's row FOR SHARE while it reads the rows and fans out, so that the
 *     list cannot be dropped (which waits) nor purged (whose claim passes it by) meanwhile;
 *   - repointing a slot locks the slot's row (FOR UPDATE) before reading the list it named,
 *     so that two nodes replacing the same slot each drop the list they replaced; deleting a
 *     slot reads that list in the DELETE itself (RETURNING, one text for both);
 *   - a cancel locks the campaign's pending messages (FOR UPDATE): a dispatcher's claim
 *     (SKIP LOCKED) passes them by, and a message another node claimed first is read in its
 *     new state, so it is neither sent and refunded nor cancelled twice.
 *   - a list left LOADING by a node that died is dropped once it is older than any load
 *     lasts (store_list_purge_req.stale_before_ms), never at another node's start, which
 *     would drop the lists live nodes are loading.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/gsm.h"
#include "core/template.h"
#include "store/sql_campaigns.h"
#include "store/sql_msg.h"
#include "store/sqldrv.h"
#include "store/sqlite_campaigns_int.h"
#include "store/sqlite_credits_int.h"
#include "store/sqlite_blacklist_int.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "store.campaigns"
/* Bytes per stored slice of a document. A load parses one slice per loop pass (about 2,000
 * rows, 25 ms), so the slice bounds how long the loop is busy at once. */
#define CHUNK (64 * 1024)
#define MAX_COLUMNS 256

enum { LIST_LOADING = 0, LIST_READY = 1, LIST_DROPPED = 2 };

const char *const sqlite_campaigns_migrations[SQLITE_CAMPAIGNS_MIGRATIONS] = {
    /* 1: documents, receiver lists and slots, campaigns */
    "CREATE TABLE documents ("
    "  id TEXT PRIMARY KEY, account_id INTEGER NOT NULL, name TEXT NOT NULL,"
    "  tags TEXT NOT NULL DEFAULT '[]', token TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
    "  uploaded INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL);"
    "CREATE INDEX documents_account ON documents(account_id, created_ms);"
    "CREATE TABLE document_chunks ("
    "  document_id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,"
    "  PRIMARY KEY (document_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE receiver_lists ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  source TEXT NOT NULL, columns TEXT NOT NULL DEFAULT '[]',"
    "  number_col INTEGER NOT NULL DEFAULT 0, separator TEXT NOT NULL DEFAULT ';',"
    "  header INTEGER NOT NULL DEFAULT 1, records INTEGER NOT NULL DEFAULT 0,"
    "  valid INTEGER NOT NULL DEFAULT 0, invalid INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX receiver_lists_state ON receiver_lists(state) WHERE state != 1;"
    "CREATE TABLE receiver_rows ("
    "  list_id INTEGER NOT NULL, line INTEGER NOT NULL, receiver TEXT, region TEXT,"
    "  raw TEXT NOT NULL, fields BLOB NOT NULL, reason TEXT,"
    "  PRIMARY KEY (list_id, line)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX receiver_rows_receiver ON receiver_rows(list_id, receiver)"
    "  WHERE receiver IS NOT NULL;"
    "CREATE TABLE receiver_slots ("
    "  service_id INTEGER NOT NULL, slot INTEGER NOT NULL, description TEXT NOT NULL,"
    "  auto_update INTEGER NOT NULL DEFAULT 0, csv_url TEXT, document_id TEXT,"
    "  list_id INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (service_id, slot));"
    "CREATE TABLE campaigns ("
    "  id TEXT PRIMARY KEY, service_id INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT,"
    "  message TEXT NOT NULL, sender TEXT NOT NULL,"
    "  sender_for_response INTEGER NOT NULL DEFAULT 0, tag TEXT, slot TEXT, receivers TEXT,"
    "  errors TEXT NOT NULL DEFAULT '[]', records INTEGER NOT NULL, count INTEGER NOT NULL,"
    "  invalid INTEGER NOT NULL, credits INTEGER NOT NULL, send_id INTEGER,"
    "  first_msg INTEGER NOT NULL DEFAULT 0, last_msg INTEGER NOT NULL DEFAULT -1,"
    "  due_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  cancelled_ms INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX campaigns_service ON campaigns(service_id, created_ms);",
};

static void new_uuid(char out[STORE_UUID_LEN]) {
    unsigned char b[16];
    char hex[33];
    sg_random(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    sg_hex(b, sizeof b, hex);
    snprintf(out, STORE_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

/* Compares two secrets in time independent of where they differ. */
static int same_secret(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    unsigned char d = (unsigned char)(n != m);
    for (size_t i = 0; i < n && i < m; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static char *json_text(json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s ? s : sg_xstrdup("null");
}

/* ---- documents ---- */

static void read_doc(sqldrv_stmt *st, store_document *d) {
    snprintf(d->id, sizeof d->id, "%s", sqldrv_col_str(st, 0));
    d->account_id = sqldrv_col_int(st, 1);
    d->name = sqldrv_col_text(st, 2);
    d->tags_json = sqldrv_col_text(st, 3);
    d->token = sqldrv_col_text(st, 4);
    d->size = sqldrv_col_int(st, 5);
    d->uploaded = (int)sqldrv_col_int(st, 6);
    d->created_ms = sqldrv_col_int(st, 7);
    d->expires_ms = sqldrv_col_int(st, 8);
}

/* Loads document id (not expired) into *d when account_id is 0 or owns it. */
static int load_doc(store_conn *c, const char *id, int64_t account_id, store_document *d) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_get);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, id);
    sqldrv_bind_int(st, 2, account_id);
    sqldrv_bind_int(st, 3, sg_now_ms());
    int rc = sqldrv_step(c, st);
    if (rc == 1) read_doc(st, d);
    sqldrv_reset(st);
    if (rc == 1) return 0;
    return rc == 0 ? SG_ENOTFOUND : rc; /* an error is logged by the driver */
}

int sqlite__document_create(store_conn *c, store_document_req *r) {
    store_document *d = &r->doc;
    char token[33];
    new_uuid(d->id);
    sg_random_hex(token, 16);
    d->account_id = r->account_id;
    d->created_ms = sg_now_ms();
    d->expires_ms = d->created_ms + r->ttl_ms;
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, d->id);
    sqldrv_bind_int(st, 2, r->account_id);
    sqldrv_bind_text(st, 3, r->name ? r->name : "");
    sqldrv_bind_text(st, 4, r->tags_json ? r->tags_json : "[]");
    sqldrv_bind_text(st, 5, token);
    sqldrv_bind_int(st, 6, d->created_ms);
    sqldrv_bind_int(st, 7, d->expires_ms);
    int rc = sqldrv_done(c, st, "Creating a document");
    if (rc) return rc;
    d->name = sg_xstrdup(r->name ? r->name : "");
    d->tags_json = sg_xstrdup(r->tags_json ? r->tags_json : "[]");
    d->token = sg_xstrdup(token);
    return 0;
}

int sqlite__document_get(store_conn *c, store_document_req *r) {
    return load_doc(c, r->id, r->account_id, &r->doc);
}

int sqlite__document_put(store_conn *c, store_document_req *r) {
    int rc = load_doc(c, r->id, 0, &r->doc);
    if (rc) return rc;
    if (!r->token || !same_secret(r->token, r->doc.token)) return SG_EPERM;
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_chunks_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->id);
    if ((rc = sqldrv_done(c, st, "Replacing a document's content"))) return rc;
    const char *p = r->data;
    int64_t seq = 0;
    for (size_t off = 0; off < r->len; off += CHUNK, seq++) {
        size_t n = r->len - off < CHUNK ? r->len - off : CHUNK;
        st = sqldrv_prep(c, sql_doc_chunk_insert);
        if (!st) return SG_EIO;
        sqldrv_bind_text(st, 1, r->id);
        sqldrv_bind_int(st, 2, seq);
        sqldrv_bind_blob(st, 3, p + off, n);
        if ((rc = sqldrv_done(c, st, "Storing a document's content"))) return rc;
    }
    st = sqldrv_prep(c, sql_doc_uploaded);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, (int64_t)r->len);
    sqldrv_bind_text(st, 2, r->id);
    if ((rc = sqldrv_done(c, st, "Recording a document's size"))) return rc;
    r->doc.size = (int64_t)r->len;
    r->doc.uploaded = 1;
    return 0;
}

int sqlite__document_read(store_conn *c, store_document_req *r) {
    int rc = load_doc(c, r->id, r->account_id, &r->doc);
    if (rc) return rc;
    if (!r->account_id && (!r->token || !same_secret(r->token, r->doc.token))) return SG_EPERM;
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_chunks_read);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->seq);
    /* Slices are at most CHUNK bytes (an upload's) or a little more (a history export's, see
     * sqlite_export.c): this many reach max_bytes, and one more says whether any is left. */
    size_t want = r->max_bytes / CHUNK + 2;
    sqldrv_bind_int(st, 3, want > 1000000 ? 1000000 : (int64_t)want);
    size_t cap = 0, rows = 0;
    r->out_len = 0;
    r->next_seq = r->seq;
    r->eof = 1;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (++rows == want) r->eof = 0; /* the limit cut it: more may follow */
        if (r->out_len > 0 && r->out_len >= r->max_bytes) {
            r->eof = 0;
            break;
        }
        size_t n;
        const void *b = sqldrv_col_blob(st, 1, &n);
        if (r->out_len + n + 1 > cap) {
            cap = (r->out_len + n + 1) * 2;
            r->out = sg_xrealloc(r->out, cap);
        }
        if (n) memcpy(r->out + r->out_len, b, n);
        r->out_len += n;
        r->next_seq = sqldrv_col_int(st, 0) + 1;
    }
    sqldrv_reset(st);
    if (rc < 0) return rc; /* logged by the driver */
    if (!r->out) r->out = sg_xmalloc(1);
    r->out[r->out_len] = '\0';
    return 0;
}

int sqlite__document_delete(store_conn *c, store_document_req *r) {
    int rc = load_doc(c, r->id, r->account_id, &r->doc);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_chunks_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->id);
    if ((rc = sqldrv_done(c, st, "Deleting a document's content"))) return rc;
    st = sqldrv_prep(c, sql_doc_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->id);
    return sqldrv_done(c, st, "Deleting a document");
}

int sqlite__document_list(store_conn *c, store_document_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_list);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->account_id);
    sqldrv_bind_int(st, 2, sg_now_ms());
    r->ids = NULL;
    r->count = 0;
    return sqlite__read_texts(c, st, &r->ids, &r->count);
}

/* ---- receiver lists ---- */

int sqlite__list_begin(store_conn *c, store_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_list_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->source ? r->source : "");
    sqldrv_bind_int(st, 3, sg_now_ms());
    return sqldrv_insert(c, st, "Creating a receiver list", &r->list_id);
}

static int insert_row(store_conn *c, int64_t list_id, const store_list_row *w,
                      const char *receiver, const char *reason, int *inserted) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_list_row_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, list_id);
    sqldrv_bind_int(st, 2, w->line);
    sqldrv_bind_text(st, 3, receiver);
    sqldrv_bind_text(st, 4, receiver ? (w->region ? w->region : "") : NULL);
    /* the line's bytes as uploaded (a blob: they need not be UTF-8) */
    sqldrv_bind_blob(st, 5, w->raw ? w->raw : "", w->raw ? strlen(w->raw) : 0);
    sqldrv_bind_blob(st, 6, w->fields ? w->fields : "", w->fields_len);
    sqldrv_bind_text(st, 7, reason);
    int rc = sqldrv_done(c, st, "Storing a receiver row");
    if (rc == 0) *inserted = sqldrv_changes(c) > 0;
    return rc;
}

int sqlite__list_rows(store_conn *c, store_list_req *r) {
    int64_t valid = 0, invalid = 0;
    r->duplicates = 0;
    for (size_t i = 0; i < r->count; i++) {
        const store_list_row *w = &r->rows[i];
        int inserted = 0, rc;
        if (w->receiver) {
            if ((rc = insert_row(c, r->list_id, w, w->receiver, NULL, &inserted))) return rc;
            if (inserted) {
                valid++;
                continue;
            }
            /* The receiver is in the list already (invariant 2): keep this row, refused. */
            sqldrv_stmt *st = sqldrv_prep(c, sql_list_row_line_of);
            if (!st) return SG_EIO;
            sqldrv_bind_int(st, 1, r->list_id);
            sqldrv_bind_text(st, 2, w->receiver);
            rc = sqldrv_step(c, st);
            int64_t first = rc == 1 ? sqldrv_col_int(st, 0) : 0;
            sqldrv_reset(st);
            if (rc < 0) return rc;
            char why[64];
            snprintf(why, sizeof why, "duplicate of line %lld", (long long)first);
            if ((rc = insert_row(c, r->list_id, w, NULL, why, &inserted))) return rc;
            r->duplicates++;
        } else if ((rc = insert_row(c, r->list_id, w, NULL,
                                    w->reason ? w->reason : "not a valid number", &inserted))) {
            return rc;
        }
        if (!inserted) {
            sg_log_error(LOG, "Receiver list %lld got line %lld twice; the second is ignored.",
                         (long long)r->list_id, (long long)w->line);
            continue;
        }
        invalid++;
    }
    sqldrv_stmt *st = sqldrv_prep(c, sql_list_count_rows);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, valid);
    sqldrv_bind_int(st, 2, invalid);
    sqldrv_bind_int(st, 3, r->list_id);
    int rc = sqldrv_done(c, st, "Counting a receiver list's rows");
    if (rc) return rc;
    return sqldrv_changes(c) ? 0 : SG_ENOTFOUND;
}

static int set_list_state(store_conn *c, int64_t list_id, int state) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_list_set_state);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, state);
    sqldrv_bind_int(st, 2, list_id);
    return sqldrv_done(c, st, "Changing a receiver list's state");
}

/* The list that slot names: 0, SG_ENOTFOUND or an error. With lock, the slot's row stays
 * locked until the operation commits (dialect: PostgreSQL only; SQLite has one writer). */
static int slot_list_id(store_conn *c, int64_t service_id, int64_t slot, int lock,
                        int64_t *list_id) {
    sqldrv_stmt *st = sqldrv_prep(c, lock && sqldrv_dialect(c) == SQLDRV_POSTGRES
                                         ? sql_slot_list_id_pg : sql_slot_list_id);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, service_id);
    sqldrv_bind_int(st, 2, slot);
    int rc = sqldrv_step(c, st);
    if (rc == 1) *list_id = sqldrv_col_int(st, 0);
    sqldrv_reset(st);
    if (rc == 1) return 0;
    return rc == 0 ? SG_ENOTFOUND : rc;
}

int sqlite__list_finish(store_conn *c, store_list_req *r) {
    char sep[2] = {r->separator ? r->separator : ';', '\0'};
    sqldrv_stmt *st = sqldrv_prep(c, sql_list_ready);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->columns_json ? r->columns_json : "[]");
    sqldrv_bind_int(st, 2, r->number_col);
    sqldrv_bind_text(st, 3, sep);
    sqldrv_bind_int(st, 4, r->header);
    sqldrv_bind_int(st, 5, r->list_id);
    int rc = sqldrv_done(c, st, "Completing a receiver list");
    if (rc) return rc;
    if (!sqldrv_changes(c)) return SG_ENOTFOUND;
    st = sqldrv_prep(c, sql_list_counts);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->list_id);
    if ((rc = sqldrv_step(c, st)) == 1) {
        r->records = sqldrv_col_int(st, 0);
        r->valid = sqldrv_col_int(st, 1);
        r->invalid = sqldrv_col_int(st, 2);
        r->created_ms = sqldrv_col_int(st, 3);
    }
    sqldrv_reset(st);
    if (rc < 0) return rc;
    if (r->slot <= 0) return 0;
    int64_t now = sg_now_ms();
    if (r->replace) {
        /* The slot's row locked (PostgreSQL) until the list it named is dropped below. */
        int64_t old = 0;
        if ((rc = slot_list_id(c, r->service_id, r->slot, 1, &old))) return rc;
        st = sqldrv_prep(c, sql_slot_repoint);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, r->list_id);
        sqldrv_bind_int(st, 2, now);
        sqldrv_bind_int(st, 3, r->service_id);
        sqldrv_bind_int(st, 4, r->slot);
        if ((rc = sqldrv_done(c, st, "Repointing a receivers slot"))) return rc;
        return old && old != r->list_id ? set_list_state(c, old, LIST_DROPPED) : 0;
    }
    st = sqldrv_prep(c, sql_slot_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_int(st, 2, r->slot);
    sqldrv_bind_text(st, 3, r->description ? r->description : "");
    sqldrv_bind_int(st, 4, r->auto_update);
    sqldrv_bind_text(st, 5, r->csv_url);
    sqldrv_bind_text(st, 6, r->document_id);
    sqldrv_bind_int(st, 7, r->list_id);
    sqldrv_bind_int(st, 8, now);
    sqldrv_bind_int(st, 9, now);
    return sqldrv_done(c, st, "Creating a receivers slot");
}

int sqlite__list_drop(store_conn *c, store_list_req *r) {
    return set_list_state(c, r->list_id, LIST_DROPPED);
}

int sqlite__list_purge(store_conn *c, store_list_purge_req *r) {
    int rc;
    int pg = sqldrv_dialect(c) == SQLDRV_POSTGRES;
    r->deleted = 0;
    r->more = 0;
    sqldrv_stmt *st;
    /* dialect: a store of one node (SQLite) drops, once at start, every list its previous
     * run left loading; with several nodes (PostgreSQL) a list loading may be another live
     * node's, so only lists loading for longer than any load lasts are dropped, at every
     * purge (a node that died while loading is never started again, maybe). */
    if (r->recover && !pg) {
        if (!(st = sqldrv_prep(c, sql_list_recover))) return SG_EIO;
        if ((rc = sqldrv_done(c, st, "Dropping the receiver lists left loading"))) return rc;
    }
    if (pg && r->stale_before_ms) {
        if (!(st = sqldrv_prep(c, sql_list_recover_stale))) return SG_EIO;
        sqldrv_bind_int(st, 1, r->stale_before_ms);
        if ((rc = sqldrv_done(c, st, "Dropping the receiver lists left loading"))) return rc;
    }
    /* dialect: on PostgreSQL the list is claimed (FOR UPDATE SKIP LOCKED): a node purging at
     * the same time takes another one, or none. */
    st = sqldrv_prep(c, pg ? sql_list_dropped_pg : sql_list_dropped);
    if (!st) return SG_EIO;
    rc = sqldrv_step(c, st);
    int64_t list = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    if (rc < 0) return rc;
    if (list) {
        /* One slice: the rows before the (limit+1)th line, or all of them. */
        st = sqldrv_prep(c, sql_list_rows_cut);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, list);
        sqldrv_bind_int(st, 2, (int64_t)(r->limit ? r->limit : 1));
        rc = sqldrv_step(c, st);
        int cut_found = rc == 1;
        int64_t cut = cut_found ? sqldrv_col_int(st, 0) : 0;
        sqldrv_reset(st);
        if (rc < 0) return rc;
        st = sqldrv_prep(c, sql_list_rows_purge);
        if (!st) return SG_EIO;
        sqldrv_bind_int(st, 1, list);
        sqldrv_bind_int(st, 2, cut_found);
        sqldrv_bind_int(st, 3, cut);
        if ((rc = sqldrv_done(c, st, "Purging receiver rows"))) return rc;
        r->deleted = (size_t)sqldrv_changes(c);
        if (cut_found) {
            r->more = 1;
        } else {
            st = sqldrv_prep(c, sql_list_delete);
            if (!st) return SG_EIO;
            sqldrv_bind_int(st, 1, list);
            if ((rc = sqldrv_done(c, st, "Purging a receiver list"))) return rc;
            st = sqldrv_prep(c, sql_list_dropped_any);
            if (!st) return SG_EIO;
            rc = sqldrv_step(c, st);
            r->more = rc == 1;
            sqldrv_reset(st);
            if (rc < 0) return rc;
        }
    }
    /* dialect: on PostgreSQL only the expired documents no other node's purge holds. */
    st = sqldrv_prep(c, pg ? sql_doc_expired_chunks_purge_pg : sql_doc_expired_chunks_purge);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    if ((rc = sqldrv_done(c, st, "Purging expired documents"))) return rc;
    st = sqldrv_prep(c, pg ? sql_doc_expired_purge_pg : sql_doc_expired_purge);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    return sqldrv_done(c, st, "Purging expired documents");
}

/* ---- slots ---- */

/* A CSV line as stored (receiver_rows.raw: the bytes as uploaded, which may not be UTF-8: a
 * refused row keeps what the file had; a blob for both dialects, BYTEA on PostgreSQL) as a
 * JSON string, with U+FFFD in place of bytes that are not UTF-8, never dropped. */
static json_t *raw_json(sqldrv_stmt *st, int i) {
    size_t n = 0;
    const void *p = sqldrv_col_blob(st, i, &n);
    if (!p) return json_string("");
    char *fixed = gsm_utf8_repair(p, n, NULL);
    json_t *j = json_string(fixed ? fixed : "");
    free(fixed);
    return j ? j : json_string("");
}

static int invalid_sample(store_conn *c, int64_t list_id, size_t limit, char **out) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_list_invalid_sample);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, list_id);
    sqldrv_bind_int(st, 2, (int64_t)limit);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        json_t *o = json_object();
        json_object_set_new(o, "line", json_integer(sqldrv_col_int(st, 0)));
        json_object_set_new(o, "receiver", raw_json(st, 1));
        json_object_set_new(o, "reason", json_string(sqldrv_col_str(st, 2)));
        json_array_append_new(arr, o);
    }
    sqldrv_reset(st);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = json_text(arr);
    return 0;
}

int sqlite__slot_get(store_conn *c, store_slot_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_slot_get);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_int(st, 2, r->slot);
    int rc = sqldrv_step(c, st);
    if (rc != 1) {
        sqldrv_reset(st);
        return rc == 0 ? SG_ENOTFOUND : rc;
    }
    store_slot *s = &r->out;
    s->slot = sqldrv_col_int(st, 0);
    s->description = sqldrv_col_text(st, 1);
    s->auto_update = (int)sqldrv_col_int(st, 2);
    s->csv_url = sqldrv_col_text(st, 3);
    s->document_id = sqldrv_col_text(st, 4);
    s->created_ms = sqldrv_col_int(st, 5);
    s->updated_ms = sqldrv_col_int(st, 6);
    s->list_id = sqldrv_col_int(st, 7);
    s->records = sqldrv_col_int(st, 8);
    s->valid = sqldrv_col_int(st, 9);
    s->invalid = sqldrv_col_int(st, 10);
    s->columns_json = sqldrv_col_text(st, 11);
    sqldrv_reset(st);
    if (r->invalid_limit) return invalid_sample(c, s->list_id, r->invalid_limit, &s->invalid_json);
    return 0;
}

int sqlite__slot_list(store_conn *c, store_slot_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_slot_all);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    return sqlite__read_ids(c, st, &r->slots, &r->count);
}

int sqlite__slot_update(store_conn *c, store_slot_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_slot_csv_url);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_int(st, 2, r->slot);
    int rc = sqldrv_step(c, st);
    int has_url = rc == 1 && !sqldrv_col_null(st, 0);
    sqldrv_reset(st);
    if (rc != 1) return rc == 0 ? SG_ENOTFOUND : rc;
    if (r->set_auto_update && r->auto_update && !has_url) return SG_EPERM;
    st = sqldrv_prep(c, sql_slot_update);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->description);
    sqldrv_bind_int(st, 2, r->set_auto_update);
    sqldrv_bind_int(st, 3, r->auto_update);
    sqldrv_bind_int(st, 4, sg_now_ms());
    sqldrv_bind_int(st, 5, r->service_id);
    sqldrv_bind_int(st, 6, r->slot);
    return sqldrv_done(c, st, "Updating a receivers slot");
}

int sqlite__slot_delete(store_conn *c, store_slot_req *r) {
    /* One statement deletes the slot and says which list it named (DELETE ... RETURNING). */
    sqldrv_stmt *st = sqldrv_prep(c, sql_slot_delete);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_int(st, 2, r->slot);
    int rc = sqldrv_step(c, st);
    int64_t list_id = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    if (rc != 1) return rc == 0 ? SG_ENOTFOUND : rc;
    return set_list_state(c, list_id, LIST_DROPPED);
}

/* Appends one CSV field (quoted when it must be), or with sep 0 the bytes as they are. */
static void csv_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n, char sep) {
    int quote = sep && n && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; sep && i < n && !quote; i++)
        quote = s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (*len + 2 * n + 4 > *cap) {
        *cap = (*len + 2 * n + 4) * 2;
        *buf = sg_xrealloc(*buf, *cap);
    }
    if (quote) (*buf)[(*len)++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (quote && s[i] == '"') (*buf)[(*len)++] = '"';
        (*buf)[(*len)++] = s[i];
    }
    if (quote) (*buf)[(*len)++] = '"';
}

/* csv_put() of a stored value; bytes that are not UTF-8 (kept in a refused row) are written as
 * U+FFFD, so that the export stays text that JSON can carry and no row is lost. */
static void csv_put_text(char **buf, size_t *len, size_t *cap, const char *s, size_t n, char sep) {
    if (gsm_utf8_chars(s, n, n) != (size_t)-1) {
        csv_put(buf, len, cap, s, n, sep);
        return;
    }
    size_t m;
    char *fixed = gsm_utf8_repair(s, n, &m);
    csv_put(buf, len, cap, fixed, m, sep);
    free(fixed);
}

int sqlite__slot_csv(store_conn *c, store_slot_req *r) {
    int64_t list_id = 0;
    int rc = slot_list_id(c, r->service_id, r->slot, 0, &list_id);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_list_format);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, list_id);
    if ((rc = sqldrv_step(c, st)) != 1) {
        sqldrv_reset(st);
        return rc == 0 ? SG_ENOTFOUND : rc;
    }
    json_t *cols = json_loads(sqldrv_col_str(st, 0), 0, NULL);
    char sep = sqldrv_col_str(st, 1)[0];
    int header = (int)sqldrv_col_int(st, 2);
    sqldrv_reset(st);
    size_t cap = 4096, len = 0, ncols = json_array_size(cols);
    char *buf = sg_xmalloc(cap);
    if (header) {
        for (size_t i = 0; i < ncols; i++) {
            const char *name = json_string_value(json_array_get(cols, i));
            if (i) csv_put(&buf, &len, &cap, &sep, 1, 0);
            csv_put(&buf, &len, &cap, name ? name : "", name ? strlen(name) : 0, sep);
        }
        csv_put(&buf, &len, &cap, "\n", 1, 0);
    }
    json_decref(cols);
    st = sqldrv_prep(c, sql_list_fields);
    if (!st) {
        free(buf);
        return SG_EIO;
    }
    sqldrv_bind_int(st, 1, list_id);
    while ((rc = sqldrv_step(c, st)) == 1) {
        size_t n, i = 0;
        const char *f = sqldrv_col_blob(st, 0, &n);
        for (size_t k = 0; i < n; k++) {
            size_t m = strnlen(f + i, n - i);
            if (k) csv_put(&buf, &len, &cap, &sep, 1, 0);
            csv_put_text(&buf, &len, &cap, f + i, m, sep);
            i += m + 1;
        }
        csv_put(&buf, &len, &cap, "\n", 1, 0);
    }
    sqldrv_reset(st);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    r->csv = buf;
    r->csv_len = len;
    return 0;
}

/* ---- the fan-out ---- */

/* Prices per region met during one fan-out, so the price table is read once per country. */
typedef struct rate_cache {
    char region[300][3];
    int64_t rate[300];
    size_t n;
} rate_cache;

static int rate_of(store_conn *c, rate_cache *rc, const char *region, int64_t *rate) {
    for (size_t i = 0; i < rc->n; i++)
        if (!strcmp(rc->region[i], region)) {
            *rate = rc->rate[i];
            return 0;
        }
    int e = sqlite__credits_rate(c, region, rate, NULL);
    if (e) return e;
    if (rc->n < sizeof rc->rate / sizeof rc->rate[0]) {
        snprintf(rc->region[rc->n], sizeof rc->region[0], "%s", region);
        rc->rate[rc->n++] = *rate;
    }
    return 0;
}

/* Splits a row's NUL-separated values into at most max fields. */
static size_t split_fields(const char *f, size_t n, const char **vals, size_t *lens, size_t max) {
    size_t k = 0, i = 0;
    while (i < n && k < max) {
        size_t m = strnlen(f + i, n - i);
        vals[k] = f + i;
        lens[k] = m;
        k++;
        i += m + 1;
    }
    return k;
}

/* An invalid row of a fan-out, its line read from column i of the rows query. */
static void report(json_t *arr, size_t limit, sqldrv_stmt *rows, int i, const char *why) {
    if (json_array_size(arr) >= limit) return;
    json_array_append_new(arr, json_pack("{s:o, s:s}", "receiver", raw_json(rows, i),
                                         "message", why));
}

static int send_check_sender(store_conn *c, store_campaign_send_req *r) {
    if (!r->sender_check) return 0;
    sqldrv_stmt *st = sqldrv_prep(c, sql_sender_status);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->sender);
    int rc = sqldrv_step(c, st);
    int enabled = rc == 1 && !strcmp(sqldrv_col_str(st, 0), "enable");
    sqldrv_reset(st);
    if (rc < 0) return rc;
    if (enabled) return 0;
    r->sender_status_bad = rc == 1 ? 2 : 1;
    return SG_EPERM;
}

/* The fan-out's loop state. */
typedef struct fanout {
    template *tpl;
    char **cols;
    size_t ncols;
    char *text;
    size_t cap;
    rate_cache rates;
    json_t *report;
} fanout;

static void fanout_fini(fanout *f) {
    template_free(f->tpl);
    for (size_t i = 0; i < f->ncols; i++) free(f->cols[i]);
    free(f->cols);
    free(f->text);
    json_decref(f->report);
}

/* Reads the list's columns and compiles the message against them. */
static int fanout_prepare(store_conn *c, store_campaign_send_req *r, fanout *f) {
    /* dialect: PostgreSQL holds the list's row (FOR SHARE) until the send commits, so that
     * another node can neither drop it nor purge its rows while they are read below. */
    sqldrv_stmt *st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES ? sql_list_columns_pg
                                                                           : sql_list_columns);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->list_id);
    sqldrv_bind_int(st, 2, r->service_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) {
        sqldrv_reset(st);
        return rc == 0 ? SG_ENOTFOUND : rc;
    }
    json_t *cols = json_loads(sqldrv_col_str(st, 0), 0, NULL);
    sqldrv_reset(st);
    f->ncols = json_array_size(cols);
    if (f->ncols > MAX_COLUMNS) f->ncols = MAX_COLUMNS;
    f->cols = sg_xcalloc(f->ncols ? f->ncols : 1, sizeof *f->cols);
    for (size_t i = 0; i < f->ncols; i++) {
        const char *s = json_string_value(json_array_get(cols, i));
        f->cols[i] = sg_xstrdup(s ? s : "");
    }
    json_decref(cols);
    int err = 0;
    f->tpl = template_new(r->message, (const char *const *)f->cols, f->ncols, r->bad_var,
                          sizeof r->bad_var, &err);
    if (!f->tpl) return SG_EINVAL;
    f->report = json_array();
    return 0;
}

static int insert_campaign(store_conn *c, store_campaign_send_req *r, int64_t records,
                           int64_t first, int64_t last, const char *errors) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_campaign_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->id);
    sqldrv_bind_int(st, 2, r->service_id);
    sqldrv_bind_text(st, 3, r->kind ? r->kind : "job");
    sqldrv_bind_text(st, 4, r->name);
    sqldrv_bind_text(st, 5, r->message);
    sqldrv_bind_text(st, 6, r->sender);
    sqldrv_bind_int(st, 7, r->sender_for_response);
    sqldrv_bind_text(st, 8, r->tag);
    sqldrv_bind_text(st, 9, r->slot_label);
    sqldrv_bind_text(st, 10, r->receivers_json);
    sqldrv_bind_text(st, 11, errors);
    sqldrv_bind_int(st, 12, records);
    sqldrv_bind_int(st, 13, r->count);
    sqldrv_bind_int(st, 14, r->invalid);
    sqldrv_bind_int(st, 15, r->total_credits);
    if (r->send_id) sqldrv_bind_int(st, 16, r->send_id);
    else sqldrv_bind_null(st, 16);
    sqldrv_bind_int(st, 17, first);
    sqldrv_bind_int(st, 18, last);
    sqldrv_bind_int(st, 19, r->due_ms);
    sqldrv_bind_int(st, 20, r->now_ms);
    sqldrv_bind_int(st, 21, r->now_ms);
    return sqldrv_done(c, st, "Recording a campaign");
}

int sqlite__campaign_send(store_conn *c, store_campaign_send_req *r) {
    int rc;
    if (r->slot > 0 && (rc = slot_list_id(c, r->service_id, r->slot, 0, &r->list_id))) return rc;
    if ((rc = send_check_sender(c, r))) return rc;
    fanout f = {0};
    if ((rc = fanout_prepare(c, r, &f))) {
        fanout_fini(&f);
        return rc;
    }
    new_uuid(r->id);
    int state = r->due_ms > r->now_ms ? MSG_SCHEDULED : MSG_QUEUED;
    int64_t before = 0, records = 0, first = 0, last = -1;
    /* the balance the debit is appended to: the service's row locked first on PostgreSQL */
    if ((rc = sqlite__balance_for_write(c, r->service_id, &before))) {
        fanout_fini(&f);
        return rc;
    }
    r->count = r->invalid = r->total_credits = 0;
    r->balance = before;

    /* The send first (messages name it); its credits and count are set at the end. */
    sqldrv_stmt *st = sqldrv_prep(c, sql_send_insert);
    if (!st) rc = SG_EIO;
    else {
        sqldrv_bind_int(st, 1, r->service_id);
        sqldrv_bind_int(st, 2, r->now_ms);
        sqldrv_bind_int(st, 3, 0);
        sqldrv_bind_int(st, 4, 0);
        rc = sqldrv_insert(c, st, "Recording a send", &r->send_id);
    }
    if (rc) {
        fanout_fini(&f);
        return rc;
    }

    /* Per receiver: one step of this statement and sqlite__insert_message's statements (the
     * price of a region is read once per fan-out: rate_of). */
    sqldrv_stmt *rows = sqldrv_prep(c, sql_list_rows_all);
    if (!rows) {
        fanout_fini(&f);
        return SG_EIO;
    }
    sqldrv_bind_int(rows, 1, r->list_id);
    const char *vals[MAX_COLUMNS];
    size_t lens[MAX_COLUMNS];
    size_t stop_len = r->stop_clause ? strlen(r->stop_clause) : 0;
    /* A marketing campaign skips the receivers blacklisted by the service (sqlite_blacklist.c):
     * a lookup per receiver only when the service has a blacklisted number at all. */
    int blacklist = 0;
    r->stoplisted = 0;
    if (stop_len && (blacklist = sqlite__blacklist_any(c, r->service_id)) < 0) {
        fanout_fini(&f);
        return blacklist;
    }
    int step;
    while ((step = sqldrv_step(c, rows)) == 1) {
        records++;
        const char *receiver = sqldrv_col_str(rows, 0);
        if (!receiver) {
            r->invalid++;
            report(f.report, r->report_limit, rows, 2, sqldrv_col_str(rows, 4));
            continue;
        }
        if (blacklist) {
            if ((rc = sqlite__blacklisted(c, r->service_id, receiver)) < 0) break;
            if (rc) {
                rc = 0;
                r->invalid++;
                r->stoplisted++;
                report(f.report, r->report_limit, rows, 2, "the receiver opted out of this "
                       "service's marketing SMS (STOP): it is in the blacklist");
                continue;
            }
        }
        const char *region = sqldrv_col_str(rows, 1);
        size_t flen;
        const char *fields = sqldrv_col_blob(rows, 3, &flen);
        size_t nv = split_fields(fields, flen, vals, lens, f.ncols);
        size_t len = template_render(f.tpl, vals, lens, nv, &f.text, &f.cap);
        if (stop_len) {
            if (len + stop_len + 2 > f.cap) {
                f.cap = len + stop_len + 2;
                f.text = sg_xrealloc(f.text, f.cap);
            }
            f.text[len++] = '\n';
            memcpy(f.text + len, r->stop_clause, stop_len + 1);
            len += stop_len;
        }
        gsm_info gi = {0};
        int bad_text = gsm_analyze(f.text, len, &gi) != 0;
        if (bad_text || gi.parts == 0 || (int64_t)gi.parts > r->max_parts) {
            char why[128];
            if (bad_text) snprintf(why, sizeof why, "the message is not valid UTF-8 once rendered");
            else if (gi.parts == 0) snprintf(why, sizeof why, "the message is empty once rendered");
            else snprintf(why, sizeof why, "the message is %zu SMS parts long once rendered; "
                          "at most %lld are allowed", gi.parts, (long long)r->max_parts);
            r->invalid++;
            report(f.report, r->report_limit, rows, 2, why);
            continue;
        }
        int64_t rate = 0;
        if ((rc = rate_of(c, &f.rates, region ? region : "", &rate))) break;
        int64_t credits = rate * (int64_t)gi.parts;
        sqlite_new_msg nm = {.service_id = r->service_id, .send_id = r->send_id,
                             .now_ms = r->now_ms, .due_ms = r->due_ms, .state = state,
                             .sender = r->sender, .receiver = receiver, .tag = r->tag,
                             .message = f.text, .message_len = len, .coding = gi.coding,
                             .priority = r->priority, .sms_class = r->sms_class,
                             .length = (int64_t)gi.chars, .parts = (int64_t)gi.parts,
                             .credits = credits, .validity_min = r->validity_min,
                             .differed_min = r->differed_min, .stop_clause = stop_len > 0};
        int64_t id;
        if ((rc = sqlite__insert_message(c, &nm, &id, NULL))) break;
        if (!r->count) first = id;
        last = id;
        r->count++;
        r->total_credits += credits;
    }
    sqldrv_reset(rows);
    if (rc == 0 && step < 0) rc = step; /* logged by the driver */
    if (rc == 0 && before < r->total_credits) rc = SG_ENOCREDIT; /* invariant 3: nothing stays */
    if (rc == 0) {
        st = sqldrv_prep(c, sql_send_totals);
        if (!st) rc = SG_EIO;
        else {
            sqldrv_bind_int(st, 1, r->total_credits);
            sqldrv_bind_int(st, 2, r->count);
            sqldrv_bind_int(st, 3, r->send_id);
            rc = sqldrv_done(c, st, "Recording a send");
        }
    }
    if (rc == 0 && r->total_credits > 0) {
        char ref[64];
        snprintf(ref, sizeof ref, "send:%lld", (long long)r->send_id);
        rc = sqlite__ledger_add(c, r->service_id, -r->total_credits, "debit", ref, &r->balance);
        /* An automatic top-up when this debit crossed the threshold (sqlite_credits.c). */
        if (rc == 0) rc = sqlite__credits_after_debit(c, r->service_id, before, &r->balance);
    }
    char *errors = json_dumps(f.report, JSON_COMPACT);
    if (rc == 0) rc = insert_campaign(c, r, records, first, last, errors);
    if (rc == 0 && r->stoplisted) {
        st = sqldrv_prep(c, "UPDATE campaigns SET stoplisted = $1 WHERE id = $2");
        if (!st) rc = SG_EIO;
        else {
            sqldrv_bind_int(st, 1, r->stoplisted);
            sqldrv_bind_text(st, 2, r->id);
            rc = sqldrv_done(c, st, "Recording a campaign's stoplisted receivers");
        }
    }
    if (rc == 0 && r->drop_list) rc = set_list_state(c, r->list_id, LIST_DROPPED);
    if (rc == 0) r->invalid_json = errors;
    else free(errors);
    fanout_fini(&f);
    return rc;
}

/* ---- campaigns ---- */

static void read_campaign(sqldrv_stmt *st, store_campaign *k) {
    snprintf(k->id, sizeof k->id, "%s", sqldrv_col_str(st, 0));
    k->service_id = sqldrv_col_int(st, 1);
    k->kind = sqldrv_col_text(st, 2);
    k->name = sqldrv_col_text(st, 3);
    k->message = sqldrv_col_text(st, 4);
    k->sender = sqldrv_col_text(st, 5);
    k->sender_for_response = (int)sqldrv_col_int(st, 6);
    k->tag = sqldrv_col_text(st, 7);
    k->slot = sqldrv_col_text(st, 8);
    k->receivers_json = sqldrv_col_text(st, 9);
    k->errors_json = sqldrv_col_text(st, 10);
    k->records = sqldrv_col_int(st, 11);
    k->count = sqldrv_col_int(st, 12);
    k->invalid = sqldrv_col_int(st, 13);
    k->credits_estimated = sqldrv_col_int(st, 14);
    k->first_msg = sqldrv_col_int(st, 15);
    k->last_msg = sqldrv_col_int(st, 16);
    k->due_ms = sqldrv_col_int(st, 17);
    k->created_ms = sqldrv_col_int(st, 18);
    k->updated_ms = sqldrv_col_int(st, 19);
    k->cancelled_ms = sqldrv_col_int(st, 20);
    k->send_id = sqldrv_col_int(st, 21);
    k->stoplisted = sqldrv_col_int(st, 22);
}

static int campaign_stats(store_conn *c, store_campaign *k) {
    memset(k->states, 0, sizeof k->states);
    k->credits = k->first_sent_ms = k->last_sent_ms = 0;
    if (k->last_msg < k->first_msg) return 0;
    sqldrv_stmt *st = sqldrv_prep(c, sql_campaign_stats);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, k->first_msg);
    sqldrv_bind_int(st, 2, k->last_msg);
    sqldrv_bind_int(st, 3, k->service_id);
    sqldrv_bind_int(st, 4, k->send_id);
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        int s = (int)sqldrv_col_int(st, 0);
        if (s >= 0 && s < 8) k->states[s] = sqldrv_col_int(st, 1);
        k->credits += sqldrv_col_int(st, 2);
        int64_t lo = sqldrv_col_int(st, 3), hi = sqldrv_col_int(st, 4);
        if (lo && (!k->first_sent_ms || lo < k->first_sent_ms)) k->first_sent_ms = lo;
        if (hi > k->last_sent_ms) k->last_sent_ms = hi;
    }
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}

static int load_campaign(store_conn *c, int64_t service_id, const char *id, const char *kind,
                         store_campaign *k) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_campaign_get);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, id);
    sqldrv_bind_int(st, 2, service_id);
    sqldrv_bind_text(st, 3, kind);
    int rc = sqldrv_step(c, st);
    if (rc == 1) read_campaign(st, k);
    sqldrv_reset(st);
    if (rc != 1) return rc == 0 ? SG_ENOTFOUND : rc;
    return campaign_stats(c, k);
}

int sqlite__campaign_get(store_conn *c, store_campaign_req *r) {
    return load_campaign(c, r->service_id, r->id, r->kind, &r->out);
}

int sqlite__campaign_rename(store_conn *c, store_campaign_req *r) {
    int rc = load_campaign(c, r->service_id, r->id, r->kind, &r->out);
    if (rc) return rc;
    sqldrv_stmt *st = sqldrv_prep(c, sql_campaign_rename);
    if (!st) return SG_EIO;
    int64_t now = sg_now_ms();
    sqldrv_bind_text(st, 1, r->name);
    sqldrv_bind_int(st, 2, now);
    sqldrv_bind_text(st, 3, r->id);
    if ((rc = sqldrv_done(c, st, "Renaming a campaign"))) return rc;
    free(r->out.name);
    r->out.name = sg_xstrdup(r->name ? r->name : "");
    r->out.updated_ms = now;
    return 0;
}

int sqlite__campaign_cancel(store_conn *c, store_campaign_req *r) {
    store_campaign *k = &r->out;
    int rc = load_campaign(c, r->service_id, r->id, r->kind, k);
    if (rc) return rc;
    /* Its messages (last_msg - first_msg + 1 on SQLite, where their ids are consecutive). */
    int64_t total = k->count;
    if (!r->remove && k->cancelled_ms) return 0; /* cancelling twice changes nothing */
    if (!r->remove && k->states[MSG_SCHEDULED] != total) return SG_ECONFLICT;
    int64_t now = sg_now_ms(), refund = 0;
    /* dialect: PostgreSQL locks the messages (FOR UPDATE) until the cancel commits: another
     * node's dispatcher passes them by, and one it claimed meanwhile is read as it is now. */
    sqldrv_stmt *st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES
                                         ? sql_campaign_pending_pg : sql_campaign_pending);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, k->first_msg);
    sqldrv_bind_int(st, 2, k->last_msg);
    sqldrv_bind_int(st, 3, r->service_id);
    sqldrv_bind_int(st, 4, k->send_id);
    /* Collected first: apply_status writes the rows this statement reads. */
    size_t n = 0, cap = 1024;
    int64_t(*ids)[2] = sg_xmalloc(cap * sizeof *ids);
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (n == cap) ids = sg_xrealloc(ids, (cap *= 2) * sizeof *ids);
        ids[n][0] = sqldrv_col_int(st, 0);
        ids[n][1] = sqldrv_col_int(st, 1);
        n++;
    }
    sqldrv_reset(st);
    if (rc < 0) {
        free(ids);
        return rc;
    }
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        store_status_update u = {.msg_id = ids[i][0], .state = MSG_CANCELLED, .dlr = DLR_ERROR,
                                 .ts_ms = now};
        int applied = sqlite__apply_status(c, &u);
        if (applied < 0) rc = applied;
        else if (applied) refund += ids[i][1]; /* invariant 4 */
    }
    free(ids);
    if (rc) return rc;
    if (refund > 0) {
        char ref[64];
        snprintf(ref, sizeof ref, "batch:%s", k->id);
        if ((rc = sqlite__ledger_add(c, r->service_id, refund, "refund", ref, NULL))) return rc;
    }
    r->refunded = refund;
    st = sqldrv_prep(c, sql_campaign_cancelled);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, now);
    sqldrv_bind_int(st, 2, r->remove);
    sqldrv_bind_text(st, 3, k->id);
    if ((rc = sqldrv_done(c, st, "Cancelling a campaign"))) return rc;
    k->cancelled_ms = now;
    k->updated_ms = now;
    return campaign_stats(c, k);
}

int sqlite__campaign_list(store_conn *c, store_campaign_list_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_campaign_list);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->kind);
    size_t cap = 8;
    r->items = sg_xcalloc(cap, sizeof *r->items);
    r->count = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        if (r->count == cap) {
            r->items = sg_xrealloc(r->items, cap * 2 * sizeof *r->items);
            memset(r->items + cap, 0, cap * sizeof *r->items);
            cap *= 2;
        }
        read_campaign(st, &r->items[r->count++]);
    }
    sqldrv_reset(st);
    if (rc < 0) return rc;
    for (size_t i = 0; i < r->count; i++)
        if ((rc = campaign_stats(c, &r->items[i]))) return rc;
    return 0;
}

int sqlite__tag_stats(store_conn *c, store_tag_stats_req *r) {
    sqldrv_stmt *st = sqldrv_prep(c, sql_tag_stats);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    sqldrv_bind_text(st, 2, r->tag);
    memset(r->states, 0, sizeof r->states);
    r->total = r->credits = r->first_ms = r->last_ms = 0;
    int rc;
    while ((rc = sqldrv_step(c, st)) == 1) {
        int s = (int)sqldrv_col_int(st, 0);
        int64_t n = sqldrv_col_int(st, 1);
        if (s >= 0 && s < 8) r->states[s] = n;
        r->total += n;
        r->credits += sqldrv_col_int(st, 2);
        int64_t lo = sqldrv_col_int(st, 3), hi = sqldrv_col_int(st, 4);
        if (!r->first_ms || lo < r->first_ms) r->first_ms = lo;
        if (hi > r->last_ms) r->last_ms = hi;
    }
    sqldrv_reset(st);
    return rc < 0 ? rc : 0;
}
