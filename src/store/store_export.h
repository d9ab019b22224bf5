/*
 * store_export.h - the store operation of the SMS history export (GET /sms/{sn}/document and
 * its SMS user variant; docs/api.md, "History export"). Included by store.h, which defines the
 * threads, the async contract and the ownership rules that apply here.
 *
 * An export is a run of history_export calls on one request, each a separate operation (so a
 * separate short transaction): each call reads the next SMS by id, writes their lines
 * (core/histcsv.h) into the document's stored slices (document_chunks, the campaigns area's
 * table that /me/document serves) and says where it stopped. No call holds more than one slice
 * of the file in memory, and none reads more than a bounded number of rows, so a history of any
 * length is exported in bounded memory, on SQLite and on PostgreSQL (whose driver reads a
 * statement's whole answer at once: hence the LIMIT on every read). The last call records the
 * document's size and marks it uploaded.
 *
 * The rows exported are those that existed when the first call ran (ids up to the service's
 * highest then): SMS sent during a long export do not make it run on.
 */
#ifndef SG_STORE_EXPORT_H
#define SG_STORE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct store_export_req {
    /* in: what to export, the same for every call */
    int64_t service_id;
    int64_t user_id;          /* 0: the service's SMS; else that SMS user's only (messages.
                                 user_id, area "users"; incoming: the replies to its SMS) */
    int incoming;             /* 0: outgoing SMS (messages), 1: incoming (incoming) */
    int64_t from_ms, to_ms;   /* creation time bounds, both inclusive; 0 = none */
    const char *tag;          /* NULL or "": any */
    const char *batch_id;     /* NULL: any; else only that batch's SMS (campaigns.id of kind
                                 'batch'); an unknown batch exports none */
    const char *document_id;  /* the document the file goes to (created empty beforehand) */
    size_t max_bytes;         /* stop a call after about this many bytes written (>= 1 slice) */
    /* in/out: where the export is; zero before the first call, kept between calls */
    int started;
    int64_t after_id;         /* last id written */
    int64_t last_id;          /* highest id exported (fixed by the first call) */
    int64_t send_id;          /* the batch's sends.id (fixed by the first call); -1: none */
    int64_t seq;              /* next slice number */
    int64_t size;             /* bytes written so far */
    int64_t rows;             /* SMS written so far */
    /* out */
    int done;                 /* 1: the file is complete (size recorded, uploaded) */
} store_export_req;

#define STORE_EXPORT_OPS(X) X(history_export, store_export_req)

#endif
