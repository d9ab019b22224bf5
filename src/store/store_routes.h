/*
 * store_routes.h - the routes area of the store: the route table (what dispatch/ loads and
 * smsctl route manages), and the SMPP routes' memory: operator message ids mapped to messages,
 * receipts of each part of a multi-part message, receipts that arrived before their submit was
 * recorded ("orphans"), and mobile-originated messages.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Records marked "new" are freed by the caller with store_route_fini() or
 * store_route_list_fini(); strings in requests are borrowed by the store until the callback.
 */
#ifndef SG_STORE_ROUTES_H
#define SG_STORE_ROUTES_H

#include <stddef.h>
#include <stdint.h>

/* How a multi-part message is tied together on the wire. */
enum { STORE_CONCAT_UDH8 = 0, STORE_CONCAT_UDH16 = 1, STORE_CONCAT_SAR = 2 };
/* Binds of an SMPP route: each a transceiver, or each a transmitter + receiver pair. */
enum { STORE_BIND_TRX = 0, STORE_BIND_TXRX = 1 };

typedef struct store_route {
    char *name;          /* 1-32 of [a-z0-9-] */
    char *kind;          /* "smpp" or "sim" */
    char *host;          /* SMSC address (smpp) */
    int port;
    char *system_id, *password, *system_type;
    int binds;           /* sessions: transceivers, or transmitter+receiver pairs */
    int bind_mode;       /* STORE_BIND_* */
    int window;          /* outstanding submit_sm per bind */
    int tps;             /* submit_sm per second for the whole route; 0 = no limit */
    int tls, tls_verify; /* TLS; verify the SMSC's certificate (system CAs or tls_ca) */
    char *tls_ca;        /* CA file, "" = system CAs */
    char *prefixes;      /* comma-separated E.164 prefixes ("+33,+262"); "" = every number */
    int priority;        /* lower first among routes for the same prefix */
    int weight;          /* share among routes of equal priority */
    int enabled;
    int concat;          /* STORE_CONCAT_* */
    int pack7;           /* GSM-7 sent packed (8 septets in 7 octets) instead of one per octet */
    int registered_delivery; /* the submit_sm field: 1 = receipt on success and failure */
    int64_t version;     /* bumped by every change; dispatch/ rebuilds a changed route */
    int64_t created_ms, updated_ms;
} store_route;
/* Frees the strings of r (not r itself). */
void store_route_fini(store_route *r);

typedef struct store_route_list_req {
    store_route *routes; /* out (new): every route, by priority then name */
    size_t count;
} store_route_list_req;
void store_route_list_fini(store_route_list_req *r);

/* get: by name (route is the output, new). put: create = 1 inserts (SG_ECONFLICT when the
 * name exists), create = 0 replaces every field of the named route (SG_ENOTFOUND when it does
 * not exist); route is the input. remove: by name (SG_ENOTFOUND; SG_EPERM for "sim", which can
 * be disabled but not removed). */
typedef struct store_route_req {
    const char *name;
    int create;
    store_route route;
} store_route_req;

/* An SMPP route's acceptance of one message: every part's operator id. Stored atomically with
 * the message's move to `submitted`; receipts that arrived earlier for these ids are applied in
 * the same transaction. */
typedef struct store_smpp_accept_item {
    int64_t msg_id;
    const char *route;
    size_t nparts;
    const char *const *smsc_ids; /* nparts ids */
    int64_t ts_ms;
} store_smpp_accept_item;

typedef struct store_smpp_accept_req {
    store_smpp_accept_item *items;
    size_t count;
    size_t orphans; /* out: earlier receipts applied */
} store_smpp_accept_req;

/* One receipt: the operator's id (any form, see smpp/dlr.h) and the part's new state. */
typedef struct store_smpp_receipt_item {
    const char *route, *smsc_id;
    int state, dlr, ptt;
    int64_t ts_ms;
    int matched; /* out: 1 when it was matched to a message; 0 when kept for later */
    int64_t sent_ms; /* out: when the message was first accepted by an operator, if the receipt
                      * changed its state (0 otherwise): for smsgate_smpp_receipt_seconds */
} store_smpp_receipt_item;

typedef struct store_smpp_receipt_req {
    store_smpp_receipt_item *items;
    size_t count;
} store_smpp_receipt_req;

/* A mobile-originated message, or one part of one, stored as an incoming message
 * (store_incoming.h; the operation is the incoming area's, sqlite_incoming.c). */
typedef struct store_smpp_mo_item {
    const char *route, *source, *destination, *text; /* text in UTF-8 (a whole message) */
    int data_coding;
    int64_t ts_ms;
    /* One part of a multi-part message (total > 1): its payload ready to be concatenated
     * (core/mo.h: coding is a mo_coding), instead of text; ref is the UDH or SAR reference. */
    int total, seq, ref, coding;
    const uint8_t *data;
    size_t len;
    int64_t id;         /* out: incoming.id, 0 for a part kept until the others arrive */
    int64_t service_id; /* out: 0 when unattributed (or a part) */
} store_smpp_mo_item;

typedef struct store_smpp_mo_req {
    store_smpp_mo_item *items;
    size_t count;
    int64_t reply_window_ms; /* 0 = STORE_REPLY_WINDOW_MS (store_incoming.h) */
} store_smpp_mo_req;

/* Messages waiting on a retry after a temporary refusal (queued, retries > 0, due later than
 * now_ms), per route that refused them last: for `smsctl route status`. Reads only the rows
 * due in the future, through the index of due messages. */
typedef struct store_retry_wait {
    char *route;      /* new; "" when none was recorded */
    int64_t count;
    int64_t next_ms;  /* the earliest next attempt */
} store_retry_wait;

typedef struct store_retry_waiting_req {
    int64_t now_ms;
    store_retry_wait *items; /* out (new; store_retry_waiting_fini) */
    size_t count;
} store_retry_waiting_req;
void store_retry_waiting_fini(store_retry_waiting_req *r);

#define STORE_OPS_ROUTES(X)                                   \
    X(route_list, store_route_list_req)                       \
    X(route_get, store_route_req)                             \
    X(route_put, store_route_req)                             \
    X(route_remove, store_route_req)                          \
    X(smpp_accept, store_smpp_accept_req)                     \
    X(smpp_receipt, store_smpp_receipt_req)                   \
    X(smpp_mo, store_smpp_mo_req)                             \
    X(retry_waiting, store_retry_waiting_req)

#endif
