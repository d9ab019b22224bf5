/*
 * sqlite_export.c - the SMS history export (store_export.h), written once against the SQL
 * driver (sqldrv.h) for both dialects. No table of its own: the file goes into the campaigns
 * area's documents (one row) and document_chunks (its slices), which /me/document serves.
 *
 * One call of history_export:
 *   first call only: fixes the last id to export (the service's highest id now) and, with a
 *                    batch filter, the batch's send; writes the header line;
 *   then:            reads up to PAGE_ROWS SMS after after_id (keyset: the index
 *                    (service_id, id) of messages and of incoming), appends their lines,
 *                    and stores a slice each time SLICE bytes are gathered; again while
 *                    max_bytes were not written and the page was full;
 *   at the end:      stores what is left as the last slice, then the document's size and
 *                    uploaded = 1.
 *
 * Invariants:
 *   1. Memory: one slice (plus one line) of text, and the rows of one page (PostgreSQL reads
 *      a statement's answer whole), whatever the history's length.
 *   2. A call returns with every line it formatted stored: after_id is the id of the last
 *      line stored, so the next call (in a later transaction) goes on exactly after it.
 *   3. An SMS is in the file at most once and, unless deleted meanwhile, exactly once when
 *      it existed at the first call and matches the filters (ids only grow).
 */
#include "store/sqlite_export_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/histcsv.h"
#include "store/sql_campaigns.h"
#include "store/sqldrv.h"
#include "util/util.h"

/* Rows read per statement: bounds what PostgreSQL's driver holds of one answer. */
#define PAGE_ROWS 2000
/* Bytes per stored slice of the file (the campaigns area stores uploads in 64 KiB slices). */
#define SLICE (64 * 1024)

static const char sql_last_outgoing[] =
    "SELECT COALESCE(MAX(id), 0) AS last FROM messages WHERE service_id = $1";
static const char sql_last_incoming[] =
    "SELECT COALESCE(MAX(id), 0) AS last FROM incoming WHERE service_id = $1";
static const char sql_batch_send[] =
    "SELECT send_id FROM campaigns WHERE id = $1 AND service_id = $2 AND kind = 'batch' "
    "AND send_id IS NOT NULL";

#define OUT_COLS                                                                             \
    "SELECT id, created_ms, sender, receiver, tag, message, ptt, dlr, sent_ms, delivered_ms " \
    "FROM messages WHERE service_id = $1 AND id > $2 AND id <= $3 AND deleted = 0 "          \
    "AND ($4 = 0 OR created_ms >= $4) AND ($5 = 0 OR created_ms <= $5) "                     \
    "AND ($6 = '' OR tag = $6) AND ($7 = 0 OR send_id = $7) "
static const char sql_page_outgoing[] = OUT_COLS "ORDER BY id LIMIT $8";
/* Only prepared for an SMS user's export: messages.user_id is the "users" area's column. */
static const char sql_page_outgoing_user[] = OUT_COLS "AND user_id = $8 ORDER BY id LIMIT $9";

#define IN_COLS                                                                              \
    "SELECT id, created_ms, sender, receiver, tag, message FROM incoming "                    \
    "WHERE service_id = $1 AND id > $2 AND id <= $3 "                                        \
    "AND ($4 = 0 OR created_ms >= $4) AND ($5 = 0 OR created_ms <= $5) "                     \
    "AND ($6 = '' OR tag = $6) "
static const char sql_page_incoming[] = IN_COLS "ORDER BY id LIMIT $7";
/* An SMS user's incoming SMS: the replies to its SMS. */
static const char sql_page_incoming_user[] =
    IN_COLS "AND reply_to_id IN (SELECT m.id FROM messages m WHERE m.service_id = $1 AND "
            "m.user_id = $7) ORDER BY id LIMIT $8";

static int first_call(store_conn *c, store_export_req *r, histcsv_buf *b) {
    sqldrv_stmt *st = sqldrv_prep(c, r->incoming ? sql_last_incoming : sql_last_outgoing);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->service_id);
    int rc = sqldrv_step(c, st);
    r->last_id = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    if (rc < 0) return rc;
    r->send_id = 0;
    if (r->batch_id) {
        r->send_id = -1; /* an unknown batch, and every incoming SMS, match nothing */
        if (!r->incoming) {
            st = sqldrv_prep(c, sql_batch_send);
            if (!st) return SG_EIO;
            sqldrv_bind_text(st, 1, r->batch_id);
            sqldrv_bind_int(st, 2, r->service_id);
            rc = sqldrv_step(c, st);
            if (rc == 1) r->send_id = sqldrv_col_int(st, 0);
            sqldrv_reset(st);
            if (rc < 0) return rc;
        }
    }
    histcsv_header(b, r->incoming);
    r->started = 1;
    return 0;
}

/* Stores b's bytes as the next slice. */
static int flush(store_conn *c, store_export_req *r, histcsv_buf *b) {
    if (!b->len) return 0;
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_chunk_insert);
    if (!st) return SG_EIO;
    sqldrv_bind_text(st, 1, r->document_id);
    sqldrv_bind_int(st, 2, r->seq);
    sqldrv_bind_blob(st, 3, b->p, b->len);
    int rc = sqldrv_done(c, st, "Storing a slice of a history export");
    if (rc) return rc;
    r->seq++;
    r->size += (int64_t)b->len;
    b->len = 0;
    return 0;
}

static sqldrv_stmt *page_stmt(store_conn *c, store_export_req *r) {
    const char *sql = r->incoming ? (r->user_id ? sql_page_incoming_user : sql_page_incoming)
                                  : (r->user_id ? sql_page_outgoing_user : sql_page_outgoing);
    sqldrv_stmt *st = sqldrv_prep(c, sql);
    if (!st) return NULL;
    int i = 1;
    sqldrv_bind_int(st, i++, r->service_id);
    sqldrv_bind_int(st, i++, r->after_id);
    sqldrv_bind_int(st, i++, r->last_id);
    sqldrv_bind_int(st, i++, r->from_ms);
    sqldrv_bind_int(st, i++, r->to_ms);
    sqldrv_bind_text(st, i++, r->tag ? r->tag : ""); /* "": any (a typed text, not NULL) */
    if (!r->incoming) sqldrv_bind_int(st, i++, r->send_id);
    if (r->user_id) sqldrv_bind_int(st, i++, r->user_id);
    sqldrv_bind_int(st, i, PAGE_ROWS);
    return st;
}

/* One page: 1 when it was full and the call may go on, 0 when the history is exhausted or
 * max_bytes were written, or an SG_E* code. */
static int page(store_conn *c, store_export_req *r, histcsv_buf *b, size_t *written, int *end) {
    sqldrv_stmt *st = page_stmt(c, r);
    if (!st) return SG_EIO;
    int rc, n = 0, stop = 0;
    while ((rc = sqldrv_step(c, st)) == 1) {
        n++;
        histcsv_row row = {
            .id = sqldrv_col_int(st, 0),
            .created_ms = sqldrv_col_int(st, 1),
            .sender = sqldrv_col_str(st, 2),
            .receiver = sqldrv_col_str(st, 3),
            .tag = sqldrv_col_str(st, 4),
            .message = sqldrv_col_str(st, 5),
        };
        if (!r->incoming) {
            row.ptt = sqldrv_col_int(st, 6);
            row.dlr = sqldrv_col_int(st, 7);
            row.sent_ms = sqldrv_col_int(st, 8);
            row.delivered_ms = sqldrv_col_int(st, 9);
        }
        histcsv_row_put(b, r->incoming, &row);
        r->after_id = row.id;
        r->rows++;
        if (b->len >= SLICE) {
            size_t len = b->len;
            if ((rc = flush(c, r, b)) != 0) break;
            *written += len;
            if (*written >= r->max_bytes) {
                stop = 1;
                break;
            }
        }
    }
    sqldrv_reset(st);
    if (rc < 0) return rc;
    if (stop) return 0;
    if (n < PAGE_ROWS) *end = 1;
    return *end ? 0 : 1;
}

int sqlite__history_export(store_conn *c, store_export_req *r) {
    histcsv_buf b = {0};
    int rc = 0, end = 0;
    size_t written = 0;
    r->done = 0;
    if (!r->started) rc = first_call(c, r, &b);
    if (!rc && r->send_id >= 0) {
        while ((rc = page(c, r, &b, &written, &end)) == 1) {
        }
    } else if (!rc) {
        end = 1; /* nothing can match */
    }
    if (!rc) rc = flush(c, r, &b);
    free(b.p);
    if (rc) return rc;
    if (!end) return 0;
    sqldrv_stmt *st = sqldrv_prep(c, sql_doc_uploaded);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->size);
    sqldrv_bind_text(st, 2, r->document_id);
    if ((rc = sqldrv_done(c, st, "Recording a history export's size"))) return rc;
    r->done = 1;
    return 0;
}
