/*
 * store_incoming.h - the incoming area of the store: messages from mobiles (SMPP deliver_sm
 * that are not receipts, data_sm, and the sim route's replies), stored decoded to UTF-8,
 * reassembled when they came in several parts, and attributed to a service (docs/replies.md,
 * "Incoming messages"):
 *   - sent to a virtual number (table virtual_numbers): that number's service;
 *   - else sent to a number that sent the mobile an SMS within the reply window (48 h by
 *     default): the service that sent the last of them, and reply_to_id is that SMS;
 *   - else unattributed (service 0), kept and listed by `smsctl incoming list --unattributed`.
 *
 * SMPP batches are stored with the routes area's operation smpp_mo (store_routes.h: its item
 * carries a whole message, or one part of a multi-part one); store_incoming_add stores one
 * whole message the same way (the sim route, tests). Both call, in the same transaction,
 * sqlite__incoming_stored() (sqlite_replies_int.h) right after inserting each complete row,
 * with a store_incoming_row: the replies and opt-outs hang there.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback; records
 * marked "new" are freed with the _fini functions.
 */
#ifndef SG_STORE_INCOMING_H
#define SG_STORE_INCOMING_H

#include <stddef.h>
#include <stdint.h>

#define STORE_REPLY_WINDOW_MS (48LL * 3600 * 1000) /* when a request says 0 */

/* One complete incoming message as stored, handed to sqlite__incoming_stored(). Borrowed for
 * the call. */
typedef struct store_incoming_row {
    int64_t id;                 /* incoming.id */
    int64_t service_id;         /* 0 = unattributed */
    const char *virtual_number; /* the virtual number it was sent to, else NULL */
    const char *sender;         /* the mobile, E.164 "+33612345678" */
    const char *receiver;       /* our number it was sent to (short or virtual), as received */
    const char *text;           /* UTF-8, reassembled */
    int64_t ts_ms;              /* received */
    int64_t reply_to_id;        /* messages.id of the SMS it answers (reply window), 0 = none */
    const char *route;          /* route name ("sim" for the sim) */
    /* Added after the agreed interface, for speed: the smsResponse in force for this message,
     * read by the same statement that inserted it (JSON text of sms.Response: the virtual
     * number's when it has one, else the service's; NULL when none or unattributed), so that
     * the hook need not read it again (one round trip less per message on PostgreSQL). */
    const char *sms_response;
} store_incoming_row;

/* incoming_add: one whole message, stored and attributed as an SMPP one. */
typedef struct store_incoming_add_req {
    const char *route, *sender, *receiver, *text; /* text in UTF-8 */
    int64_t ts_ms;
    int64_t reply_window_ms;  /* 0 = STORE_REPLY_WINDOW_MS */
    int64_t id;               /* out */
    int64_t service_id;       /* out: 0 = unattributed */
} store_incoming_add_req;

/* A stored incoming message, as the API and smsctl read it. */
typedef struct store_incoming {
    int64_t id, service_id, reply_to_id, ts_ms;
    int parts;
    char *service;        /* the service's name, "" when unattributed */
    char *virtual_number; /* NULL when sent to another number */
    char *sender, *receiver, *text, *tag, *route; /* tag: the answered SMS's, else "" */
} store_incoming;
void store_incoming_fini(store_incoming *m);

/* incoming_list: ids (newest first) of a service's messages, or with service_id 0 the
 * unattributed ones. Filters: virtual_number (NULL = any), sender, tag (NULL = any), from_ms /
 * to_ms (0 = no bound, inclusive), limit (0 = none). with_rows 1 also fills rows.
 * Here and in get/delete, a virtual_number that is not service_id's gives SG_ENOTFOUND with
 * no_number = 1 (the API's 404 for the number itself). */
typedef struct store_incoming_list_req {
    int64_t service_id;
    int all;               /* 1: every message, whatever its service (service_id ignored) */
    const char *service;   /* when not NULL: the service of that name instead of service_id
                            * (SG_ENOTFOUND, no_number 0, when there is none) */
    const char *virtual_number, *sender, *tag;
    int64_t user_id;       /* not 0: only the replies to that SMS user's SMS (store_users.h) */
    int64_t from_ms, to_ms;
    size_t limit;
    int with_rows;
    int no_number;         /* out */
    int64_t *ids;          /* out (new) */
    store_incoming *rows;  /* out (new), with_rows */
    size_t count;
} store_incoming_list_req;
void store_incoming_list_fini(store_incoming_list_req *r);

/* incoming_get / incoming_delete: one message of service_id (0 = unattributed), and of
 * virtual_number when not NULL. SG_ENOTFOUND otherwise. */
typedef struct store_incoming_req {
    int64_t service_id;
    const char *virtual_number;
    int64_t user_id;    /* not 0: only a reply to that SMS user's SMS (store_users.h) */
    int64_t id;
    int no_number;      /* out */
    store_incoming msg; /* out (new), get */
} store_incoming_req;

/* incoming_partial: multi-part messages still missing parts (oldest first, at most limit,
 * 0 = 100), for `smsctl incoming list --partial`. */
typedef struct store_incoming_part_msg {
    int64_t id, first_ms, last_ms;
    int ref, total, got;
    char *sender, *receiver, *route;
} store_incoming_part_msg;
typedef struct store_incoming_partial_req {
    size_t limit;
    store_incoming_part_msg *items; /* out (new) */
    size_t count;
} store_incoming_partial_req;
void store_incoming_partial_fini(store_incoming_partial_req *r);

#define STORE_INCOMING_OPS(X)                                 \
    X(incoming_add, store_incoming_add_req)                   \
    X(incoming_list, store_incoming_list_req)                 \
    X(incoming_get, store_incoming_req)                       \
    X(incoming_delete, store_incoming_req)                    \
    X(incoming_partial, store_incoming_partial_req)

#endif
