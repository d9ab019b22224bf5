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
 *   campaigns        one per templated job or batch: what was sent, to what, and the range of
 *                    message ids it created (messages of one campaign are inserted by one
 *                    operation, so their ids are consecutive: statistics read that id range
 *                    through the primary key, and no index is added to `messages`).
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
 *     campaign row) or nothing (its savepoint is rolled back on any error).
 *  4. A cancelled message of a campaign is refunded once: sqlite__apply_status moves it to the
 *     final state `cancelled` only once, and only the messages it moved are summed into the one
 *     refund row (ref "batch:<uuid>") of that cancel. This replaces, for campaigns, the per
 *     message "message:<id>" refund rows of a single cancel (sqlite.c invariant 3).
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/gsm.h"
#include "core/template.h"
#include "store/sqlite_campaigns_int.h"
#include "store/sqlite_credits_int.h"
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

#define DOC_COLS "id, account_id, name, tags, token, size, uploaded, created_ms, expires_ms"

static void read_doc(sqlite3_stmt *st, store_document *d) {
    snprintf(d->id, sizeof d->id, "%s", (const char *)sqlite3_column_text(st, 0));
    d->account_id = sqlite__col_int(st, 1);
    d->name = sqlite__col_text(st, 2);
    d->tags_json = sqlite__col_text(st, 3);
    d->token = sqlite__col_text(st, 4);
    d->size = sqlite__col_int(st, 5);
    d->uploaded = (int)sqlite__col_int(st, 6);
    d->created_ms = sqlite__col_int(st, 7);
    d->expires_ms = sqlite__col_int(st, 8);
}

/* Loads document id (not expired) into *d when account_id is 0 or owns it. */
static int load_doc(store_conn *c, const char *id, int64_t account_id, store_document *d) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT " DOC_COLS " FROM documents WHERE id = ?1 AND "
                                       "(?2 = 0 OR account_id = ?2) AND expires_ms > ?3");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, id);
    sqlite__bind_int(st, 2, account_id);
    sqlite__bind_int(st, 3, sg_now_ms());
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) read_doc(st, d);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return 0;
    return rc == SQLITE_DONE ? SG_ENOTFOUND : sqlite__fail(c, "Reading a document");
}

int sqlite__document_create(store_conn *c, store_document_req *r) {
    store_document *d = &r->doc;
    char token[33];
    new_uuid(d->id);
    sg_random_hex(token, 16);
    d->account_id = r->account_id;
    d->created_ms = sg_now_ms();
    d->expires_ms = d->created_ms + r->ttl_ms;
    sqlite3_stmt *st = sqlite__prep(c, "INSERT INTO documents(id, account_id, name, tags, token, "
                                       "created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, d->id);
    sqlite__bind_int(st, 2, r->account_id);
    sqlite__bind_text(st, 3, r->name ? r->name : "");
    sqlite__bind_text(st, 4, r->tags_json ? r->tags_json : "[]");
    sqlite__bind_text(st, 5, token);
    sqlite__bind_int(st, 6, d->created_ms);
    sqlite__bind_int(st, 7, d->expires_ms);
    int rc = sqlite__done(c, st, "Creating a document");
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
    sqlite3_stmt *st = sqlite__prep(c, "DELETE FROM document_chunks WHERE document_id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->id);
    if ((rc = sqlite__done(c, st, "Replacing a document's content"))) return rc;
    const char *p = r->data;
    int64_t seq = 0;
    for (size_t off = 0; off < r->len; off += CHUNK, seq++) {
        size_t n = r->len - off < CHUNK ? r->len - off : CHUNK;
        st = sqlite__prep(c, "INSERT INTO document_chunks(document_id, seq, data) "
                             "VALUES (?, ?, ?)");
        if (!st) return SG_EIO;
        sqlite__bind_text(st, 1, r->id);
        sqlite__bind_int(st, 2, seq);
        sqlite3_bind_blob(st, 3, p + off, (int)n, SQLITE_STATIC);
        if ((rc = sqlite__done(c, st, "Storing a document's content"))) return rc;
    }
    st = sqlite__prep(c, "UPDATE documents SET size = ?, uploaded = 1 WHERE id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, (int64_t)r->len);
    sqlite__bind_text(st, 2, r->id);
    if ((rc = sqlite__done(c, st, "Recording a document's size"))) return rc;
    r->doc.size = (int64_t)r->len;
    r->doc.uploaded = 1;
    return 0;
}

int sqlite__document_read(store_conn *c, store_document_req *r) {
    int rc = load_doc(c, r->id, r->account_id, &r->doc);
    if (rc) return rc;
    if (!r->account_id && (!r->token || !same_secret(r->token, r->doc.token))) return SG_EPERM;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT seq, data FROM document_chunks WHERE "
                                       "document_id = ? AND seq >= ? ORDER BY seq");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->id);
    sqlite__bind_int(st, 2, r->seq);
    size_t cap = 0;
    r->out_len = 0;
    r->next_seq = r->seq;
    r->eof = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->out_len > 0 && r->out_len >= r->max_bytes) {
            r->eof = 0;
            break;
        }
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        const void *b = sqlite3_column_blob(st, 1);
        if (r->out_len + n + 1 > cap) {
            cap = (r->out_len + n + 1) * 2;
            r->out = sg_xrealloc(r->out, cap);
        }
        if (n) memcpy(r->out + r->out_len, b, n);
        r->out_len += n;
        r->next_seq = sqlite__col_int(st, 0) + 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite__fail(c, "Reading a document");
    if (!r->out) r->out = sg_xmalloc(1);
    r->out[r->out_len] = '\0';
    return 0;
}

int sqlite__document_delete(store_conn *c, store_document_req *r) {
    int rc = load_doc(c, r->id, r->account_id, &r->doc);
    if (rc) return rc;
    sqlite3_stmt *st = sqlite__prep(c, "DELETE FROM document_chunks WHERE document_id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->id);
    if ((rc = sqlite__done(c, st, "Deleting a document's content"))) return rc;
    st = sqlite__prep(c, "DELETE FROM documents WHERE id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->id);
    return sqlite__done(c, st, "Deleting a document");
}

int sqlite__document_list(store_conn *c, store_document_list_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT id FROM documents WHERE account_id = ? AND "
                                       "expires_ms > ? ORDER BY created_ms, id");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->account_id);
    sqlite__bind_int(st, 2, sg_now_ms());
    size_t cap = 8;
    r->ids = sg_xmalloc(cap * sizeof *r->ids);
    r->count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->count == cap) r->ids = sg_xrealloc(r->ids, (cap *= 2) * sizeof *r->ids);
        r->ids[r->count++] = sqlite__col_text(st, 0);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sqlite__fail(c, "Listing documents");
}

/* ---- receiver lists ---- */

int sqlite__list_begin(store_conn *c, store_list_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "INSERT INTO receiver_lists(service_id, state, source, "
                                       "created_ms) VALUES (?, 0, ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_text(st, 2, r->source ? r->source : "");
    sqlite__bind_int(st, 3, sg_now_ms());
    int rc = sqlite__done(c, st, "Creating a receiver list");
    if (rc == 0) r->list_id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static int insert_row(store_conn *c, int64_t list_id, const store_list_row *w,
                      const char *receiver, const char *reason, int *inserted) {
    sqlite3_stmt *st = sqlite__prep(c, "INSERT OR IGNORE INTO receiver_rows(list_id, line, "
                                       "receiver, region, raw, fields, reason) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, list_id);
    sqlite__bind_int(st, 2, w->line);
    sqlite__bind_text(st, 3, receiver);
    sqlite__bind_text(st, 4, receiver ? (w->region ? w->region : "") : NULL);
    sqlite__bind_text(st, 5, w->raw ? w->raw : "");
    sqlite3_bind_blob(st, 6, w->fields ? w->fields : "", (int)w->fields_len, SQLITE_STATIC);
    sqlite__bind_text(st, 7, reason);
    int rc = sqlite__done(c, st, "Storing a receiver row");
    if (rc == 0) *inserted = sqlite3_changes(c->db) > 0;
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
            sqlite3_stmt *st = sqlite__prep(c, "SELECT line FROM receiver_rows WHERE list_id = ? "
                                               "AND receiver = ?");
            if (!st) return SG_EIO;
            sqlite__bind_int(st, 1, r->list_id);
            sqlite__bind_text(st, 2, w->receiver);
            int64_t first = sqlite3_step(st) == SQLITE_ROW ? sqlite__col_int(st, 0) : 0;
            sqlite3_reset(st);
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
    sqlite3_stmt *st = sqlite__prep(c, "UPDATE receiver_lists SET records = records + ?1 + ?2, "
                                       "valid = valid + ?1, invalid = invalid + ?2 "
                                       "WHERE id = ?3 AND state = 0");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, valid);
    sqlite__bind_int(st, 2, invalid);
    sqlite__bind_int(st, 3, r->list_id);
    int rc = sqlite__done(c, st, "Counting a receiver list's rows");
    if (rc) return rc;
    return sqlite3_changes(c->db) ? 0 : SG_ENOTFOUND;
}

static int set_list_state(store_conn *c, int64_t list_id, int state) {
    sqlite3_stmt *st = sqlite__prep(c, "UPDATE receiver_lists SET state = ? WHERE id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, state);
    sqlite__bind_int(st, 2, list_id);
    return sqlite__done(c, st, "Changing a receiver list's state");
}

int sqlite__list_finish(store_conn *c, store_list_req *r) {
    char sep[2] = {r->separator ? r->separator : ';', '\0'};
    sqlite3_stmt *st = sqlite__prep(c, "UPDATE receiver_lists SET state = 1, columns = ?, "
                                       "number_col = ?, separator = ?, header = ? "
                                       "WHERE id = ? AND state = 0");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->columns_json ? r->columns_json : "[]");
    sqlite__bind_int(st, 2, r->number_col);
    sqlite__bind_text(st, 3, sep);
    sqlite__bind_int(st, 4, r->header);
    sqlite__bind_int(st, 5, r->list_id);
    int rc = sqlite__done(c, st, "Completing a receiver list");
    if (rc) return rc;
    if (!sqlite3_changes(c->db)) return SG_ENOTFOUND;
    st = sqlite__prep(c, "SELECT records, valid, invalid, created_ms FROM receiver_lists "
                         "WHERE id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->list_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        r->records = sqlite__col_int(st, 0);
        r->valid = sqlite__col_int(st, 1);
        r->invalid = sqlite__col_int(st, 2);
        r->created_ms = sqlite__col_int(st, 3);
    }
    sqlite3_reset(st);
    if (r->slot <= 0) return 0;
    int64_t now = sg_now_ms();
    if (r->replace) {
        st = sqlite__prep(c, "SELECT list_id FROM receiver_slots WHERE service_id = ? AND "
                             "slot = ?");
        if (!st) return SG_EIO;
        sqlite__bind_int(st, 1, r->service_id);
        sqlite__bind_int(st, 2, r->slot);
        int found = sqlite3_step(st) == SQLITE_ROW;
        int64_t old = found ? sqlite__col_int(st, 0) : 0;
        sqlite3_reset(st);
        if (!found) return SG_ENOTFOUND;
        st = sqlite__prep(c, "UPDATE receiver_slots SET list_id = ?, updated_ms = ? "
                             "WHERE service_id = ? AND slot = ?");
        if (!st) return SG_EIO;
        sqlite__bind_int(st, 1, r->list_id);
        sqlite__bind_int(st, 2, now);
        sqlite__bind_int(st, 3, r->service_id);
        sqlite__bind_int(st, 4, r->slot);
        if ((rc = sqlite__done(c, st, "Repointing a receivers slot"))) return rc;
        return old && old != r->list_id ? set_list_state(c, old, LIST_DROPPED) : 0;
    }
    st = sqlite__prep(c, "INSERT INTO receiver_slots(service_id, slot, description, auto_update, "
                         "csv_url, document_id, list_id, created_ms, updated_ms) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_int(st, 2, r->slot);
    sqlite__bind_text(st, 3, r->description ? r->description : "");
    sqlite__bind_int(st, 4, r->auto_update);
    sqlite__bind_text(st, 5, r->csv_url);
    sqlite__bind_text(st, 6, r->document_id);
    sqlite__bind_int(st, 7, r->list_id);
    sqlite__bind_int(st, 8, now);
    sqlite__bind_int(st, 9, now);
    return sqlite__done(c, st, "Creating a receivers slot");
}

int sqlite__list_drop(store_conn *c, store_list_req *r) {
    return set_list_state(c, r->list_id, LIST_DROPPED);
}

int sqlite__list_purge(store_conn *c, store_list_purge_req *r) {
    int rc;
    r->deleted = 0;
    r->more = 0;
    if (r->recover && (rc = sqlite__exec(c, "UPDATE receiver_lists SET state = 2 WHERE state = 0")))
        return rc;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT id FROM receiver_lists WHERE state = 2 LIMIT 1");
    if (!st) return SG_EIO;
    int64_t list = sqlite3_step(st) == SQLITE_ROW ? sqlite__col_int(st, 0) : 0;
    sqlite3_reset(st);
    if (list) {
        /* One slice: the rows before the (limit+1)th line, or all of them. */
        st = sqlite__prep(c, "SELECT line FROM receiver_rows WHERE list_id = ? ORDER BY line "
                             "LIMIT 1 OFFSET ?");
        if (!st) return SG_EIO;
        sqlite__bind_int(st, 1, list);
        sqlite__bind_int(st, 2, (int64_t)(r->limit ? r->limit : 1));
        int cut_found = sqlite3_step(st) == SQLITE_ROW;
        int64_t cut = cut_found ? sqlite__col_int(st, 0) : 0;
        sqlite3_reset(st);
        st = sqlite__prep(c, "DELETE FROM receiver_rows WHERE list_id = ?1 AND "
                             "(?2 = 0 OR line < ?3)");
        if (!st) return SG_EIO;
        sqlite__bind_int(st, 1, list);
        sqlite__bind_int(st, 2, cut_found);
        sqlite__bind_int(st, 3, cut);
        if ((rc = sqlite__done(c, st, "Purging receiver rows"))) return rc;
        r->deleted = (size_t)sqlite3_changes(c->db);
        if (cut_found) {
            r->more = 1;
        } else {
            st = sqlite__prep(c, "DELETE FROM receiver_lists WHERE id = ?");
            if (!st) return SG_EIO;
            sqlite__bind_int(st, 1, list);
            if ((rc = sqlite__done(c, st, "Purging a receiver list"))) return rc;
            st = sqlite__prep(c, "SELECT 1 FROM receiver_lists WHERE state = 2 LIMIT 1");
            if (!st) return SG_EIO;
            r->more = sqlite3_step(st) == SQLITE_ROW;
            sqlite3_reset(st);
        }
    }
    st = sqlite__prep(c, "DELETE FROM document_chunks WHERE document_id IN "
                         "(SELECT id FROM documents WHERE expires_ms <= ?)");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->now_ms);
    if ((rc = sqlite__done(c, st, "Purging expired documents"))) return rc;
    st = sqlite__prep(c, "DELETE FROM documents WHERE expires_ms <= ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->now_ms);
    return sqlite__done(c, st, "Purging expired documents");
}

/* ---- slots ---- */

static int slot_list_id(store_conn *c, int64_t service_id, int64_t slot, int64_t *list_id) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT list_id FROM receiver_slots WHERE service_id = ? "
                                       "AND slot = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, service_id);
    sqlite__bind_int(st, 2, slot);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *list_id = sqlite__col_int(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return 0;
    return rc == SQLITE_DONE ? SG_ENOTFOUND : sqlite__fail(c, "Reading a receivers slot");
}

/* A JSON string of text that may hold bytes that are not UTF-8 (a refused row keeps what the
 * file had): shown with U+FFFD in their place, never dropped. */
static json_t *text_json(const char *s) {
    if (!s) return json_string("");
    json_t *j = json_string(s);
    if (j) return j;
    char *fixed = gsm_utf8_repair(s, strlen(s), NULL);
    j = json_string(fixed);
    free(fixed);
    return j ? j : json_string("");
}

static int invalid_sample(store_conn *c, int64_t list_id, size_t limit, char **out) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT line, raw, reason FROM receiver_rows WHERE "
                                       "list_id = ? AND receiver IS NULL ORDER BY line LIMIT ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, list_id);
    sqlite__bind_int(st, 2, (int64_t)limit);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "line", json_integer(sqlite__col_int(st, 0)));
        json_object_set_new(o, "receiver", text_json((const char *)sqlite3_column_text(st, 1)));
        json_object_set_new(o, "reason", json_string((const char *)sqlite3_column_text(st, 2)));
        json_array_append_new(arr, o);
    }
    sqlite3_reset(st);
    *out = json_text(arr);
    return 0;
}

int sqlite__slot_get(store_conn *c, store_slot_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT s.slot, s.description, s.auto_update, s.csv_url, "
                                       "s.document_id, s.created_ms, s.updated_ms, s.list_id, "
                                       "l.records, l.valid, l.invalid, l.columns "
                                       "FROM receiver_slots s JOIN receiver_lists l "
                                       "ON l.id = s.list_id WHERE s.service_id = ? AND s.slot = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_int(st, 2, r->slot);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? SG_ENOTFOUND : sqlite__fail(c, "Reading a receivers slot");
    }
    store_slot *s = &r->out;
    s->slot = sqlite__col_int(st, 0);
    s->description = sqlite__col_text(st, 1);
    s->auto_update = (int)sqlite__col_int(st, 2);
    s->csv_url = sqlite__col_text(st, 3);
    s->document_id = sqlite__col_text(st, 4);
    s->created_ms = sqlite__col_int(st, 5);
    s->updated_ms = sqlite__col_int(st, 6);
    s->list_id = sqlite__col_int(st, 7);
    s->records = sqlite__col_int(st, 8);
    s->valid = sqlite__col_int(st, 9);
    s->invalid = sqlite__col_int(st, 10);
    s->columns_json = sqlite__col_text(st, 11);
    sqlite3_reset(st);
    if (r->invalid_limit) return invalid_sample(c, s->list_id, r->invalid_limit, &s->invalid_json);
    return 0;
}

int sqlite__slot_list(store_conn *c, store_slot_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT slot FROM receiver_slots WHERE service_id = ? "
                                       "ORDER BY slot");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    size_t cap = 16;
    r->slots = sg_xmalloc(cap * sizeof *r->slots);
    r->count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->count == cap) r->slots = sg_xrealloc(r->slots, (cap *= 2) * sizeof *r->slots);
        r->slots[r->count++] = sqlite__col_int(st, 0);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sqlite__fail(c, "Listing receivers slots");
}

int sqlite__slot_update(store_conn *c, store_slot_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT csv_url FROM receiver_slots WHERE service_id = ? "
                                       "AND slot = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_int(st, 2, r->slot);
    int rc = sqlite3_step(st);
    int has_url = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? SG_ENOTFOUND : sqlite__fail(c, "Reading a receivers slot");
    if (r->set_auto_update && r->auto_update && !has_url) return SG_EPERM;
    st = sqlite__prep(c, "UPDATE receiver_slots SET description = COALESCE(?1, description), "
                         "auto_update = CASE WHEN ?2 THEN ?3 ELSE auto_update END, updated_ms = ?4 "
                         "WHERE service_id = ?5 AND slot = ?6");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->description);
    sqlite__bind_int(st, 2, r->set_auto_update);
    sqlite__bind_int(st, 3, r->auto_update);
    sqlite__bind_int(st, 4, sg_now_ms());
    sqlite__bind_int(st, 5, r->service_id);
    sqlite__bind_int(st, 6, r->slot);
    return sqlite__done(c, st, "Updating a receivers slot");
}

int sqlite__slot_delete(store_conn *c, store_slot_req *r) {
    int64_t list_id = 0;
    int rc = slot_list_id(c, r->service_id, r->slot, &list_id);
    if (rc) return rc;
    sqlite3_stmt *st = sqlite__prep(c, "DELETE FROM receiver_slots WHERE service_id = ? AND "
                                       "slot = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_int(st, 2, r->slot);
    if ((rc = sqlite__done(c, st, "Deleting a receivers slot"))) return rc;
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
    int rc = slot_list_id(c, r->service_id, r->slot, &list_id);
    if (rc) return rc;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT columns, separator, header FROM receiver_lists "
                                       "WHERE id = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, list_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    json_t *cols = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    char sep = ((const char *)sqlite3_column_text(st, 1))[0];
    int header = (int)sqlite__col_int(st, 2);
    sqlite3_reset(st);
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
    st = sqlite__prep(c, "SELECT fields FROM receiver_rows WHERE list_id = ? ORDER BY line");
    if (!st) {
        free(buf);
        return SG_EIO;
    }
    sqlite__bind_int(st, 1, list_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *f = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0), i = 0;
        for (size_t k = 0; i < n; k++) {
            size_t m = strnlen(f + i, n - i);
            if (k) csv_put(&buf, &len, &cap, &sep, 1, 0);
            csv_put_text(&buf, &len, &cap, f + i, m, sep);
            i += m + 1;
        }
        csv_put(&buf, &len, &cap, "\n", 1, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(buf);
        return sqlite__fail(c, "Reading a receiver list");
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

static void report(json_t *arr, size_t limit, const char *receiver, const char *why) {
    if (json_array_size(arr) >= limit) return;
    json_array_append_new(arr, json_pack("{s:o, s:s}", "receiver", text_json(receiver),
                                         "message", why));
}

static int send_check_sender(store_conn *c, store_campaign_send_req *r) {
    if (!r->sender_check) return 0;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT status FROM senders WHERE service_id = ? AND "
                                       "sender = ?");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_text(st, 2, r->sender);
    int row = sqlite3_step(st) == SQLITE_ROW;
    int enabled = row && !strcmp((const char *)sqlite3_column_text(st, 0), "enable");
    sqlite3_reset(st);
    if (enabled) return 0;
    r->sender_status_bad = row ? 2 : 1;
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
    sqlite3_stmt *st = sqlite__prep(c, "SELECT columns FROM receiver_lists WHERE id = ? AND "
                                       "service_id = ? AND state = 1");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->list_id);
    sqlite__bind_int(st, 2, r->service_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SG_ENOTFOUND;
    }
    json_t *cols = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    sqlite3_reset(st);
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
    sqlite3_stmt *st = sqlite__prep(c, "INSERT INTO campaigns(id, service_id, kind, name, "
                                       "message, sender, sender_for_response, tag, slot, "
                                       "receivers, errors, records, count, invalid, credits, "
                                       "send_id, first_msg, last_msg, due_ms, created_ms, "
                                       "updated_ms) VALUES "
                                       "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, r->id);
    sqlite__bind_int(st, 2, r->service_id);
    sqlite__bind_text(st, 3, r->kind ? r->kind : "job");
    sqlite__bind_text(st, 4, r->name);
    sqlite__bind_text(st, 5, r->message);
    sqlite__bind_text(st, 6, r->sender);
    sqlite__bind_int(st, 7, r->sender_for_response);
    sqlite__bind_text(st, 8, r->tag);
    sqlite__bind_text(st, 9, r->slot_label);
    sqlite__bind_text(st, 10, r->receivers_json);
    sqlite__bind_text(st, 11, errors);
    sqlite__bind_int(st, 12, records);
    sqlite__bind_int(st, 13, r->count);
    sqlite__bind_int(st, 14, r->invalid);
    sqlite__bind_int(st, 15, r->total_credits);
    if (r->send_id) sqlite__bind_int(st, 16, r->send_id);
    else sqlite3_bind_null(st, 16);
    sqlite__bind_int(st, 17, first);
    sqlite__bind_int(st, 18, last);
    sqlite__bind_int(st, 19, r->due_ms);
    sqlite__bind_int(st, 20, r->now_ms);
    sqlite__bind_int(st, 21, r->now_ms);
    return sqlite__done(c, st, "Recording a campaign");
}

int sqlite__campaign_send(store_conn *c, store_campaign_send_req *r) {
    int rc;
    if (r->slot > 0 && (rc = slot_list_id(c, r->service_id, r->slot, &r->list_id))) return rc;
    if ((rc = send_check_sender(c, r))) return rc;
    fanout f = {0};
    if ((rc = fanout_prepare(c, r, &f))) {
        fanout_fini(&f);
        return rc;
    }
    new_uuid(r->id);
    int state = r->due_ms > r->now_ms ? MSG_SCHEDULED : MSG_QUEUED;
    int64_t before = sqlite__balance(c, r->service_id), records = 0, first = 0, last = -1;
    r->count = r->invalid = r->total_credits = 0;
    r->balance = before;

    /* The send first (messages name it); its credits and count are set at the end. */
    sqlite3_stmt *st = sqlite__prep(c, "INSERT INTO sends(service_id, created_ms, credits, count) "
                                       "VALUES (?, ?, 0, 0)");
    if (!st) rc = SG_EIO;
    else {
        sqlite__bind_int(st, 1, r->service_id);
        sqlite__bind_int(st, 2, r->now_ms);
        rc = sqlite__done(c, st, "Recording a send");
    }
    if (rc) {
        fanout_fini(&f);
        return rc;
    }
    r->send_id = sqlite3_last_insert_rowid(c->db);

    sqlite3_stmt *rows = sqlite__prep(c, "SELECT receiver, region, raw, fields, reason FROM "
                                         "receiver_rows WHERE list_id = ? ORDER BY line");
    if (!rows) {
        fanout_fini(&f);
        return SG_EIO;
    }
    sqlite__bind_int(rows, 1, r->list_id);
    const char *vals[MAX_COLUMNS];
    size_t lens[MAX_COLUMNS];
    size_t stop_len = r->stop_clause ? strlen(r->stop_clause) : 0;
    int step;
    while ((step = sqlite3_step(rows)) == SQLITE_ROW) {
        records++;
        const char *receiver = (const char *)sqlite3_column_text(rows, 0);
        const char *raw = (const char *)sqlite3_column_text(rows, 2);
        if (!receiver) {
            r->invalid++;
            report(f.report, r->report_limit, raw, (const char *)sqlite3_column_text(rows, 4));
            continue;
        }
        const char *region = (const char *)sqlite3_column_text(rows, 1);
        size_t nv = split_fields(sqlite3_column_blob(rows, 3),
                                 (size_t)sqlite3_column_bytes(rows, 3), vals, lens, f.ncols);
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
            report(f.report, r->report_limit, raw, why);
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
                             .differed_min = r->differed_min};
        int64_t id;
        if ((rc = sqlite__insert_message(c, &nm, &id))) break;
        if (!r->count) first = id;
        last = id;
        r->count++;
        r->total_credits += credits;
    }
    sqlite3_reset(rows);
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sqlite__fail(c, "Reading a receiver list");
    if (rc == 0 && before < r->total_credits) rc = SG_ENOCREDIT; /* invariant 3: nothing stays */
    if (rc == 0) {
        st = sqlite__prep(c, "UPDATE sends SET credits = ?, count = ? WHERE id = ?");
        if (!st) rc = SG_EIO;
        else {
            sqlite__bind_int(st, 1, r->total_credits);
            sqlite__bind_int(st, 2, r->count);
            sqlite__bind_int(st, 3, r->send_id);
            rc = sqlite__done(c, st, "Recording a send");
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
    if (rc == 0 && r->drop_list) rc = set_list_state(c, r->list_id, LIST_DROPPED);
    if (rc == 0) r->invalid_json = errors;
    else free(errors);
    fanout_fini(&f);
    return rc;
}

/* ---- campaigns ---- */

#define CAMPAIGN_COLS                                                                       \
    "id, service_id, kind, name, message, sender, sender_for_response, tag, slot, receivers, " \
    "errors, records, count, invalid, credits, first_msg, last_msg, due_ms, created_ms, "    \
    "updated_ms, cancelled_ms"

static void read_campaign(sqlite3_stmt *st, store_campaign *k) {
    snprintf(k->id, sizeof k->id, "%s", (const char *)sqlite3_column_text(st, 0));
    k->service_id = sqlite__col_int(st, 1);
    k->kind = sqlite__col_text(st, 2);
    k->name = sqlite__col_text(st, 3);
    k->message = sqlite__col_text(st, 4);
    k->sender = sqlite__col_text(st, 5);
    k->sender_for_response = (int)sqlite__col_int(st, 6);
    k->tag = sqlite__col_text(st, 7);
    k->slot = sqlite__col_text(st, 8);
    k->receivers_json = sqlite__col_text(st, 9);
    k->errors_json = sqlite__col_text(st, 10);
    k->records = sqlite__col_int(st, 11);
    k->count = sqlite__col_int(st, 12);
    k->invalid = sqlite__col_int(st, 13);
    k->credits_estimated = sqlite__col_int(st, 14);
    k->first_msg = sqlite__col_int(st, 15);
    k->last_msg = sqlite__col_int(st, 16);
    k->due_ms = sqlite__col_int(st, 17);
    k->created_ms = sqlite__col_int(st, 18);
    k->updated_ms = sqlite__col_int(st, 19);
    k->cancelled_ms = sqlite__col_int(st, 20);
}

/* The credits a message costs now: nothing once refunded (cancelled, failed before any
 * operator took it, or failed "not billed"), as sqlite__apply_status refunds them. */
#define BILLED_SQL \
    "SUM(CASE WHEN state = 7 OR (state = 6 AND (dlr = 16 OR sent_ms IS NULL)) THEN 0 " \
    "ELSE credits END)"

static int campaign_stats(store_conn *c, store_campaign *k) {
    memset(k->states, 0, sizeof k->states);
    k->credits = k->first_sent_ms = k->last_sent_ms = 0;
    if (k->last_msg < k->first_msg) return 0;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT state, COUNT(*), " BILLED_SQL ", MIN(sent_ms), "
                                       "MAX(sent_ms) FROM messages WHERE id BETWEEN ? AND ? "
                                       "AND service_id = ? GROUP BY state");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, k->first_msg);
    sqlite__bind_int(st, 2, k->last_msg);
    sqlite__bind_int(st, 3, k->service_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int s = (int)sqlite__col_int(st, 0);
        if (s >= 0 && s < 8) k->states[s] = sqlite__col_int(st, 1);
        k->credits += sqlite__col_int(st, 2);
        int64_t lo = sqlite__col_int(st, 3), hi = sqlite__col_int(st, 4);
        if (lo && (!k->first_sent_ms || lo < k->first_sent_ms)) k->first_sent_ms = lo;
        if (hi > k->last_sent_ms) k->last_sent_ms = hi;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sqlite__fail(c, "Counting a campaign's messages");
}

static int load_campaign(store_conn *c, int64_t service_id, const char *id, const char *kind,
                         store_campaign *k) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE id = ?1 "
                                       "AND service_id = ?2 AND removed = 0 AND "
                                       "(?3 IS NULL OR kind = ?3)");
    if (!st) return SG_EIO;
    sqlite__bind_text(st, 1, id);
    sqlite__bind_int(st, 2, service_id);
    sqlite__bind_text(st, 3, kind);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) read_campaign(st, k);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? SG_ENOTFOUND : sqlite__fail(c, "Reading a campaign");
    return campaign_stats(c, k);
}

int sqlite__campaign_get(store_conn *c, store_campaign_req *r) {
    return load_campaign(c, r->service_id, r->id, r->kind, &r->out);
}

int sqlite__campaign_rename(store_conn *c, store_campaign_req *r) {
    int rc = load_campaign(c, r->service_id, r->id, r->kind, &r->out);
    if (rc) return rc;
    sqlite3_stmt *st = sqlite__prep(c, "UPDATE campaigns SET name = ?, updated_ms = ? "
                                       "WHERE id = ?");
    if (!st) return SG_EIO;
    int64_t now = sg_now_ms();
    sqlite__bind_text(st, 1, r->name);
    sqlite__bind_int(st, 2, now);
    sqlite__bind_text(st, 3, r->id);
    if ((rc = sqlite__done(c, st, "Renaming a campaign"))) return rc;
    free(r->out.name);
    r->out.name = sg_xstrdup(r->name ? r->name : "");
    r->out.updated_ms = now;
    return 0;
}

int sqlite__campaign_cancel(store_conn *c, store_campaign_req *r) {
    store_campaign *k = &r->out;
    int rc = load_campaign(c, r->service_id, r->id, r->kind, k);
    if (rc) return rc;
    int64_t total = k->last_msg >= k->first_msg ? k->last_msg - k->first_msg + 1 : 0;
    if (!r->remove && k->cancelled_ms) return 0; /* cancelling twice changes nothing */
    if (!r->remove && k->states[MSG_SCHEDULED] != total) return SG_ECONFLICT;
    int64_t now = sg_now_ms(), refund = 0;
    sqlite3_stmt *st = sqlite__prep(c, "SELECT id, credits FROM messages WHERE id BETWEEN ? AND ? "
                                       "AND service_id = ? AND state IN (0, 1) ORDER BY id");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, k->first_msg);
    sqlite__bind_int(st, 2, k->last_msg);
    sqlite__bind_int(st, 3, r->service_id);
    /* Collected first: apply_status writes the rows this statement reads. */
    size_t n = 0, cap = 1024;
    int64_t(*ids)[2] = sg_xmalloc(cap * sizeof *ids);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) ids = sg_xrealloc(ids, (cap *= 2) * sizeof *ids);
        ids[n][0] = sqlite__col_int(st, 0);
        ids[n][1] = sqlite__col_int(st, 1);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(ids);
        return sqlite__fail(c, "Reading a campaign's messages");
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
    st = sqlite__prep(c, "UPDATE campaigns SET cancelled_ms = ?1, updated_ms = ?1, "
                         "removed = ?2 WHERE id = ?3");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, now);
    sqlite__bind_int(st, 2, r->remove);
    sqlite__bind_text(st, 3, k->id);
    if ((rc = sqlite__done(c, st, "Cancelling a campaign"))) return rc;
    k->cancelled_ms = now;
    k->updated_ms = now;
    return campaign_stats(c, k);
}

int sqlite__campaign_list(store_conn *c, store_campaign_list_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE "
                                       "service_id = ?1 AND removed = 0 AND "
                                       "(?2 IS NULL OR kind = ?2) ORDER BY created_ms, id");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_text(st, 2, r->kind);
    size_t cap = 8;
    r->items = sg_xcalloc(cap, sizeof *r->items);
    r->count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->count == cap) {
            r->items = sg_xrealloc(r->items, cap * 2 * sizeof *r->items);
            memset(r->items + cap, 0, cap * sizeof *r->items);
            cap *= 2;
        }
        read_campaign(st, &r->items[r->count++]);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return sqlite__fail(c, "Listing campaigns");
    for (size_t i = 0; i < r->count; i++)
        if ((rc = campaign_stats(c, &r->items[i]))) return rc;
    return 0;
}

int sqlite__tag_stats(store_conn *c, store_tag_stats_req *r) {
    sqlite3_stmt *st = sqlite__prep(c, "SELECT state, COUNT(*), " BILLED_SQL ", MIN(created_ms), "
                                       "MAX(created_ms) FROM messages WHERE service_id = ? AND "
                                       "tag = ? GROUP BY state");
    if (!st) return SG_EIO;
    sqlite__bind_int(st, 1, r->service_id);
    sqlite__bind_text(st, 2, r->tag);
    memset(r->states, 0, sizeof r->states);
    r->total = r->credits = r->first_ms = r->last_ms = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int s = (int)sqlite__col_int(st, 0);
        int64_t n = sqlite__col_int(st, 1);
        if (s >= 0 && s < 8) r->states[s] = n;
        r->total += n;
        r->credits += sqlite__col_int(st, 2);
        int64_t lo = sqlite__col_int(st, 3), hi = sqlite__col_int(st, 4);
        if (!r->first_ms || lo < r->first_ms) r->first_ms = lo;
        if (hi > r->last_ms) r->last_ms = hi;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sqlite__fail(c, "Counting a tag's messages");
}
