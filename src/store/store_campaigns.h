/*
 * store_campaigns.h - the store operations of campaigns (issue #6; docs/campaigns.md):
 * uploaded documents (/me/document), receiver lists and the receivers slots that name them,
 * the fan-out of one templated message to every receiver of a list, and campaigns (templated
 * jobs and batches) with their statistics. Included by store.h, which defines the threads,
 * the async contract and the ownership rules that apply here.
 *
 * A receiver list is loaded in pieces by the loop (campaign/campaign.h): list_begin creates it
 * LOADING, list_rows appends rows (numbers already normalised), list_finish makes it READY and,
 * in the same transaction, points a slot at it; a list no longer used is DROPPED and its rows
 * are deleted a slice at a time by list_purge. So a slot always names a complete list, and a
 * million rows never sit in memory: they are in the database from the moment they are read.
 *
 * campaign_send is the fan-out: ONE operation, so ONE transaction, reads the rows of a list,
 * renders the message of each (core/template), counts its parts (core/gsm), prices it (the
 * credits area's price table, as sends are), checks the balance for the whole campaign, debits
 * it once, and inserts every message with its creation event. Nothing is sent before that
 * commits, and nothing is inserted when the credits do not cover the whole campaign.
 *
 * Money in millicredits, times in epoch ms, as everywhere in the store.
 */
#ifndef SG_STORE_CAMPAIGNS_H
#define SG_STORE_CAMPAIGNS_H

#include <stddef.h>
#include <stdint.h>

#define STORE_UUID_LEN 37 /* 36 characters and the NUL */

/* ---- documents ---- */

typedef struct store_document {
    char id[STORE_UUID_LEN];
    int64_t account_id;
    char *name;        /* new */
    char *tags_json;   /* new: [{"key":..,"value":..}] */
    char *token;       /* new: the secret of its putUrl/getUrl */
    int64_t size;      /* bytes uploaded, 0 before the upload */
    int uploaded;
    int64_t created_ms, expires_ms;
} store_document;
void store_document_fini(store_document *d);

/* One request type for the document operations:
 *   document_create  name, tags_json, ttl_ms, account_id -> doc (a new id and token)
 *   document_get     id, account_id (0 = any) -> doc; SG_ENOTFOUND
 *   document_put     id, token, data/len: replaces the content (stored in chunks); SG_EPERM
 *                    for a wrong token, SG_ENOTFOUND for no such (or an expired) document
 *   document_read    id, token or account_id, seq, max_bytes -> data (new), len, next_seq,
 *                    eof: the chunks from seq on, at least one, until max_bytes is reached
 *   document_delete  id, account_id */
typedef struct store_document_req {
    int64_t account_id;
    const char *id;
    const char *name, *tags_json;
    int64_t ttl_ms;
    const char *token;
    const void *data;
    size_t len;
    int64_t seq;
    size_t max_bytes;
    /* out */
    store_document doc;
    char *out;          /* new (document_read) */
    size_t out_len;
    int64_t next_seq;
    int eof;
} store_document_req;

typedef struct store_document_list_req {
    int64_t account_id;
    char **ids;         /* out (new, each and the array) */
    size_t count;
} store_document_list_req;

/* ---- receiver lists ---- */

typedef struct store_list_row {
    int64_t line;              /* the row's line in the file (its id in the list) */
    const char *receiver;      /* E.164; NULL for a row refused */
    const char *region;        /* its country ("fr"; "" when none), for pricing */
    const char *raw;           /* the number as written */
    const char *fields;        /* every column's value, each followed by a NUL */
    size_t fields_len;
    const char *reason;        /* refused: why, for the customer */
} store_list_row;

/* One request type for the list operations:
 *   list_begin   service_id, source -> list_id (a LOADING list)
 *   list_rows    list_id, rows/count -> duplicates: rows whose receiver is already in the
 *                list are stored as refused ("duplicate of line N")
 *   list_finish  list_id, columns_json, number_col, separator, header, and a slot to point
 *                at it (slot > 0: create it, or with replace repoint an existing one and drop
 *                its old list) -> records/valid/invalid, created_ms; SG_ECONFLICT when the
 *                slot exists and replace is 0; SG_ENOTFOUND when replace finds no slot
 *   list_drop    list_id: DROPPED (its rows go with the next purges) */
typedef struct store_list_req {
    int64_t service_id;
    int64_t list_id;
    const char *source;        /* "csvUrl", "document", "receivers", for operators */
    store_list_row *rows;
    size_t count;
    const char *columns_json;  /* ["number","name",...] */
    int number_col;
    char separator;
    int header;                /* the file's first line named the columns */
    int64_t slot;              /* 0: a list for one send only */
    const char *description, *csv_url, *document_id;
    int auto_update, replace;
    /* out */
    size_t duplicates;
    int64_t records, valid, invalid, created_ms;
} store_list_req;

/* Deletes up to limit rows of DROPPED lists (and the lists once empty), expired documents,
 * and, with recover, first drops the lists left LOADING by an earlier run. */
typedef struct store_list_purge_req {
    size_t limit;
    int recover;
    int64_t now_ms;
    /* PostgreSQL (several nodes): lists still loading that were created before this are
     * dropped (their node died while loading: no load lasts that long); 0: none. */
    int64_t stale_before_ms;
    size_t deleted;            /* out: rows deleted */
    int more;                  /* out: rows are left to purge */
} store_list_purge_req;

/* ---- receivers slots (/sms/{sn}/receivers) ---- */

typedef struct store_slot {
    int64_t slot;
    char *description;         /* new */
    int auto_update;
    char *csv_url, *document_id; /* new, or NULL */
    int64_t created_ms, updated_ms;
    int64_t list_id, records, valid, invalid;
    char *columns_json;        /* new */
    char *invalid_json;        /* new (slot_get with invalid_limit):
                                  [{"line","receiver","reason"}] */
} store_slot;
void store_slot_fini(store_slot *s);

/*   slot_get     service_id, slot [, invalid_limit] -> out; SG_ENOTFOUND
 *   slot_list    service_id -> slots (new), count
 *   slot_update  service_id, slot, description (NULL = unchanged), set_auto_update and
 *                auto_update; SG_EPERM when asking autoUpdate of a slot without csvUrl
 *   slot_delete  service_id, slot: the slot goes, its list is DROPPED
 *   slot_csv     service_id, slot -> csv (new): the list as a CSV file (header and every
 *                row, refused ones included, with the separator it was read with) */
typedef struct store_slot_req {
    int64_t service_id, slot;
    const char *description;
    int set_auto_update, auto_update;
    size_t invalid_limit;
    /* out */
    store_slot out;
    int64_t *slots;
    size_t count;
    char *csv;
    size_t csv_len;
} store_slot_req;

/* ---- campaigns ---- */

/* The fan-out (see above). SG_ENOTFOUND: no such slot (or list); SG_EINVAL: the message names
 * a column the list does not have (bad_var says which); SG_EPERM with sender_status_bad as in
 * store_submit_req; SG_ENOCREDIT: the balance does not cover the campaign (total_credits and
 * balance say by how much); nothing is stored then. */
typedef struct store_campaign_send_req {
    int64_t service_id, account_id;
    int64_t slot;              /* the receivers slot, or 0 and list_id */
    int64_t list_id;
    int drop_list;             /* the list was loaded for this send only: DROP it after */
    const char *kind;          /* "job" (POST /jobs) or "batch" (POST /batches) */
    const char *name;          /* batch name, may be NULL */
    const char *message;       /* the template, as given */
    const char *stop_clause;   /* appended on a new line after rendering, or NULL */
    const char *sender;
    int sender_check;          /* 1: sender must be an enabled sender of the service */
    int sender_for_response;
    int priority, sms_class;
    int64_t validity_min, differed_min, due_ms, now_ms;
    int64_t max_parts;         /* a rendered message longer than this is refused */
    const char *tag;
    const char *slot_label;    /* sms.Batch slotID, or NULL */
    const char *receivers_json;/* sms.Batch receivers (as given), or NULL */
    size_t report_limit;       /* refused receivers listed in invalid_json */
    /* out */
    char id[STORE_UUID_LEN];   /* the campaign's uuid */
    int64_t send_id, count, invalid, total_credits, balance;
    int64_t stoplisted;        /* of invalid: blacklisted receivers of a marketing campaign */
    char *invalid_json;        /* new: [{"receiver","message"}], at most report_limit */
    char bad_var[72];
    int sender_status_bad;
} store_campaign_send_req;

typedef struct store_campaign {
    char id[STORE_UUID_LEN];
    int64_t service_id, account_id;
    char *kind, *name, *message, *sender, *tag, *slot, *receivers_json, *errors_json; /* new */
    int sender_for_response;
    int64_t records, count, invalid, credits_estimated;
    int64_t created_ms, updated_ms, due_ms, cancelled_ms;
    int64_t first_msg, last_msg;
    int64_t send_id;           /* the send that created its messages (their send_id) */
    int64_t stoplisted;        /* receivers refused as blacklisted (store_blacklist.h) */
    /* computed from its messages */
    int64_t states[8];         /* messages per msg_state */
    int64_t credits;           /* what they cost now (refunds deducted) */
    int64_t first_sent_ms, last_sent_ms;
} store_campaign;
void store_campaign_fini(store_campaign *c);

/*   campaign_get     service_id, id -> out (with the statistics); SG_ENOTFOUND
 *   campaign_rename  service_id, id, name -> out
 *   campaign_cancel  service_id, id [, remove]: cancels every message still scheduled and
 *                    refunds them in one ledger row; without remove, SG_ECONFLICT unless every
 *                    message was still scheduled (a deferred batch not started); with remove,
 *                    cancels what is still pending (scheduled or queued) and forgets the
 *                    campaign (its messages stay in the history) -> refunded */
typedef struct store_campaign_req {
    int64_t service_id;
    const char *id;
    const char *kind;          /* "batch": only a campaign of that kind; NULL: any */
    const char *name;
    int remove;
    /* out */
    store_campaign out;
    int64_t refunded;
} store_campaign_req;

typedef struct store_campaign_list_req {
    int64_t service_id;
    const char *kind;          /* "batch", or NULL for all */
    store_campaign *items;     /* out (new; store_campaign_list_fini) */
    size_t count;
} store_campaign_list_req;
void store_campaign_list_fini(store_campaign_list_req *r);

/* The messages of a service carrying one tag, per state. */
typedef struct store_tag_stats_req {
    int64_t service_id;
    const char *tag;
    int64_t states[8];         /* out: messages per msg_state */
    int64_t total, credits;    /* out */
    int64_t first_ms, last_ms; /* out: creation of the first and last, 0 when none */
} store_tag_stats_req;

/* The operations of this file, appended to STORE_OPS in store.h. */
#define STORE_CAMPAIGNS_OPS(X)                                \
    X(document_create, store_document_req)                    \
    X(document_get, store_document_req)                       \
    X(document_put, store_document_req)                       \
    X(document_read, store_document_req)                      \
    X(document_delete, store_document_req)                    \
    X(document_list, store_document_list_req)                 \
    X(list_begin, store_list_req)                             \
    X(list_rows, store_list_req)                              \
    X(list_finish, store_list_req)                            \
    X(list_drop, store_list_req)                              \
    X(list_purge, store_list_purge_req)                       \
    X(slot_get, store_slot_req)                               \
    X(slot_list, store_slot_req)                              \
    X(slot_update, store_slot_req)                            \
    X(slot_delete, store_slot_req)                            \
    X(slot_csv, store_slot_req)                               \
    X(campaign_send, store_campaign_send_req)                 \
    X(campaign_get, store_campaign_req)                       \
    X(campaign_rename, store_campaign_req)                    \
    X(campaign_cancel, store_campaign_req)                    \
    X(campaign_list, store_campaign_list_req)                 \
    X(tag_stats, store_tag_stats_req)

#endif
