/*
 * store.h - the one interface to durable state. Only store/ speaks SQL.
 *
 * Threads: the store owns one thread (the store thread) and one database connection. Callers
 * on the loop thread enqueue operations with the typed store_<op>() functions; the store thread
 * takes every queued operation at once, runs them in ONE transaction (each inside its own
 * savepoint, so a failing operation rolls back only itself), commits durably (WAL,
 * synchronous=FULL: one fsync per batch), and only then hands each result back to the loop
 * thread, where the operation's callback runs. That is group commit: requests arriving together
 * share one fsync, and nobody is answered before their data is on disk.
 *
 * Ownership: the caller owns each request struct and must keep it alive until its callback;
 * the store writes outputs into it. Output arrays and strings allocated by the store (marked
 * "new" below) are freed by the caller with free() / json_decref(), or with the matching
 * store_*_fini() helper.
 *
 * Async contract: store_<op>() returns 0 and the callback runs exactly once, later, on the loop
 * thread; it never runs from inside the call. The callback receives rc: 0 or an SG_E* code.
 *
 * Backends implement struct store_backend (sqlite.c now, postgres.c later): synchronous
 * functions that run on the store thread inside the batch transaction.
 *
 * Money: credits are kept as int64 millicredits everywhere inside (1 credit = 1000); the API
 * converts to doubles at the edge. The balance is the running sum of an append-only ledger.
 */
#ifndef SG_STORE_H
#define SG_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "core/receipt.h"
#include "store/store_notify.h"
#include "store/store_credits.h"
#include "store/store_routes.h"
#include "store/store_campaigns.h"
#include "store/store_limits.h"
#include "store/store_hours.h"
#include "store/store_idem.h"
#include "store/store_incoming.h"
#include "store/store_cluster.h"
#include "store/store_numbers.h"
#include "store/store_blacklist.h"
#include "store/store_metrics.h"
#include "store/store_users.h"
#include "store/store_hlr.h"
#include "store/store_phonebooks.h"
#include "store/store_export.h"
#include "store/store_ops.h"

typedef struct store store;

typedef void (*store_cb)(int rc, void *arg);

/* ---- records ---- */

typedef struct store_service {
    int64_t id, account_id;
    char *name, *description, *status, *callback, *stop_callback, *short_number;
    char *sms_response; /* JSON text of sms.Response */
    char *templates;    /* JSON text of sms.Templates */
    int64_t recredit_amount;    /* 0 = off */
    int64_t recredit_threshold; /* millicredits */
    int64_t balance;            /* millicredits, from the ledger */
} store_service;
void store_service_fini(store_service *s);

typedef struct store_msg {
    int64_t id, service_id, send_id;
    int64_t created_ms, due_ms, sent_ms, delivered_ms; /* 0 = null */
    msg_state state;
    int dlr, ptt;
    char *sender, *receiver, *message, *tag, *route, *smsc_id;
    int coding;       /* gsm_coding */
    int64_t length;   /* characters */
    int64_t parts;
    int64_t credits;  /* millicredits */
    int priority;     /* 0 high .. 3 veryLow */
    int64_t validity_min, differed_min;
    int sms_class;    /* 0 flash, 1 phoneDisplay, 2 sim, 3 toolkit */
    int attempts;     /* claims */
    int retries;      /* attempts that failed temporarily (docs/smpp.md) */
    int64_t expires_ms; /* end of the validity period once due_ms moved for a retry; 0 = not
                         * set (due_ms + validity_min then) */
    int stop_clause;  /* 1: a marketing SMS (its text ends with the STOP mention) */
} store_msg;
void store_msg_fini(store_msg *m);

typedef struct store_sender {
    char *sender, *description, *status, *comment, *referer, *type, *reason;
    int64_t created_ms;
} store_sender;
void store_sender_fini(store_sender *s);

/* ---- operation requests (inputs, then outputs) ---- */

typedef struct store_account_create_req {
    const char *name;
    int64_t credits;
    const char *rules_json; /* rules of the first consumer key */
    /* out (new) */
    char *service_name, *app_key, *app_secret, *consumer_key;
} store_account_create_req;

typedef struct store_account_list_req {
    char *json; /* out (new): JSON array text [{"account","serviceName","creditsLeft"}] */
} store_account_list_req;

typedef struct store_auth_lookup_req {
    const char *app_key;
    const char *consumer_key; /* may be NULL */
    /* out */
    int app_found, cred_found;
    int64_t account_id, app_id, cred_id;
    char *app_secret, *cred_state, *rules_json, *allowed_ips_json; /* new */
    int64_t cred_created_ms, cred_expires_ms, cred_last_use_ms;
    int cred_app_matches; /* the consumer key belongs to this application */
    int64_t rate_limit, rate_burst; /* the account's (store_limits.h); -1 = server setting */
} store_auth_lookup_req;
void store_auth_lookup_fini(store_auth_lookup_req *r);

typedef struct store_credential_create_req {
    const char *app_key, *rules_json, *allowed_ips_json, *redirection;
    int64_t expires_ms; /* 0 = never */
    char *consumer_key; /* out (new) */
} store_credential_create_req;

/* Sets a consumer key's state. pending_before_ms (0 = no expiry): a key still
 * pendingValidation that was requested before it cannot be validated any more; it becomes
 * "expired" instead and expired is set (rc 0). SG_ENOTFOUND without such a key. */
typedef struct store_credential_state_req {
    const char *consumer_key, *state;
    int64_t pending_before_ms;
    int expired; /* out */
} store_credential_state_req;

typedef struct store_service_get_req {
    int64_t account_id; /* 0 = any account (admin) */
    const char *name;
    store_service svc; /* out */
} store_service_get_req;

typedef struct store_service_list_req {
    int64_t account_id;
    char **names; /* out (new, each and array) */
    size_t count;
} store_service_list_req;

/* Partial update of writable service fields; NULL/unset fields are left alone. */
typedef struct store_service_update_req {
    int64_t service_id;
    const char *description;
    int set_callback;      const char *callback;      /* NULL with set_ = clear */
    int set_stop_callback; const char *stop_callback;
    int set_recredit;      int64_t recredit_amount;   /* 0 = off */
    int set_threshold;     int64_t recredit_threshold;
    const char *sms_response, *templates;             /* JSON text */
} store_service_update_req;

typedef struct store_credit_adjust_req {
    const char *service_name;
    int64_t amount;     /* millicredits, non-zero */
    const char *kind;   /* "adjustment", "purchase", ... */
    const char *ref;
    int64_t balance;    /* out */
} store_credit_adjust_req;

typedef struct store_ledger_req {
    const char *service_name;
    char *json; /* out (new) */
} store_ledger_req;

typedef struct store_sender_req {
    int64_t service_id;
    const char *service_name; /* used when service_id is 0 (admin) */
    const char *sender;
    /* create */
    const char *description, *reason, *type;
    /* update: NULL = unchanged */
    const char *status, *comment;
    int admin; /* admin may set any status; a customer only enable<->disable of validated ones */
    store_sender out; /* get */
} store_sender_req;

typedef struct store_sender_list_req {
    int64_t service_id;
    char **names; size_t count; /* out (new) */
} store_sender_list_req;

/* Every sender a service has or had, for the operator: its current row (if any) and its
 * history (declarations, the operator's decisions with their comments, deletions), so that a
 * sender refused, deleted and declared again shows the earlier refusal. */
typedef struct store_sender_history_req {
    const char *service_name;
    char *json; /* out (new): [{sender, status, description, reason, comment, createdAt,
                   history: [{datetime, status, comment, reason}], refusedBefore}] */
} store_sender_history_req;

typedef struct store_submit_msg {
    const char *receiver, *message;
    int coding;
    int64_t length, parts, credits;
    /* Destination country ("fr"; "" when the number has none): the store prices the message
     * from its price table in the send's transaction and writes credits (and the request's
     * total_credits). NULL: credits stay as the caller set them. */
    const char *region;
    int64_t id; /* out */
    int stoplisted; /* out: 1 when refused because the receiver is blacklisted for the service
                     * and the SMS carries the STOP clause (store_blacklist.h): no message, no
                     * debit; id stays 0 */
} store_submit_msg;

typedef struct store_submit_req {
    int64_t service_id;
    const char *sender;
    int sender_check;  /* 1: sender must exist on the service with status enable */
    int priority, sms_class;
    int stop_clause; /* 1: the text carries the STOP mention (messages.stop_clause) */
    int64_t validity_min, differed_min, due_ms, now_ms;
    const char *tag;
    store_submit_msg *msgs;
    size_t count;
    int64_t total_credits;
    /* The messages' own callback (sqlite_gateways.c): NULL = the service's callBack; with
     * callback_mask 0 a URL called like a callBack, with a mask > 0 a Kannel dlr-url template
     * (core/kannel.h) called for the events of the mask. */
    const char *callback_url;
    int callback_mask;
    /* out */
    int64_t send_id, balance;
    size_t handed;         /* messages handed to this node's dispatcher at insert (no claim) */
    int sender_status_bad; /* SG_EPERM because of the sender: 1 unknown, 2 not enabled */
    /* SMS users (store_users.h). user_id: the send is that user's (0 = the service's): the
     * same transaction takes total_credits from the user's active quota (SG_ENOCREDIT with
     * quota_refused set when it holds less; quota_left then says what it holds), marks the
     * messages as the user's, and sends the user's quota alert once when this send took the
     * quota below its threshold. */
    int64_t user_id;
    int quota_refused;   /* out */
    int quota_active;    /* out: the user's quota is active */
    int64_t quota_left;  /* out: millicredits, after the send (before it when refused) */
} store_submit_req;

typedef struct store_msg_req {
    int64_t service_id, id;
    int64_t user_id;    /* not 0: only a message of this SMS user (store_users.h) */
    int pending_only;   /* get: only scheduled/queued/submitting; cancel: implied */
    store_msg msg;      /* out (get) */
    int64_t refunded;   /* out (cancel) */
    int with_batch;     /* get: also fill batch_id */
    char batch_id[37];  /* out (get with with_batch): the batch (campaigns of kind "batch")
                         * the message belongs to, "" when none */
} store_msg_req;

typedef struct store_outgoing_filter {
    int64_t service_id;
    int64_t user_id;    /* not 0: only the messages of this SMS user (store_users.h) */
    int pending;        /* 1: /jobs (pending states); 0: /outgoing (history) */
    const char *tag, *receiver, *sender;
    int64_t ptt, dlr, differed; /* -1 = no filter */
    int64_t from_ms, to_ms;     /* 0 = no bound */
    int64_t id;                 /* messageID: only this message (0 = no filter) */
    const char *batch_id;       /* batchID: only the messages of this batch (NULL = no filter) */
    int64_t *ids; size_t count; /* out (new) */
} store_outgoing_filter;

typedef struct store_claim_req {
    const char *node;
    int64_t now_ms, lease_ms;
    size_t limit;
    store_msg *msgs; size_t count; /* out (new; store_claim_fini) */
} store_claim_req;
void store_claim_fini(store_claim_req *r);

/* Hand-off of new messages to this node's dispatcher, so that a message due now need not be
 * claimed back. While open (node not NULL) and fewer than cap wait to be taken, a message
 * queued due now is written already claimed: state submitting, leased to node until now +
 * lease_ms, its first attempt counted (its event still says queued). Once its transaction
 * committed it is kept for store_dispatch_take(), and ready(arg) runs (on a store thread; it
 * must only wake the loop). With cap 0 nothing more is handed over (what committed stays to
 * be taken); closing (node NULL) frees what was not taken: those messages stay claimed until
 * their lease ends or the node's next start requeues them. The dispatcher opens it only once
 * a claim found the queue drained, after the recovery of an earlier run's claims. */
void store_dispatch_set_direct(store *st, const char *node, int64_t lease_ms, size_t cap,
                               store_notify_wake_cb ready, void *arg);
/* Takes the messages handed over so far: their number and a new array in *out (free each
 * with store_msg_fini, then the array), or 0 and NULL. Loop thread. */
size_t store_dispatch_take(store *st, store_msg **out);

typedef struct store_status_update {
    int64_t msg_id;
    msg_state state;
    int dlr, ptt;
    int64_t ts_ms;
    const char *route, *smsc_id; /* may be NULL */
    int64_t retry_at_ms;         /* with MSG_QUEUED: back to the queue, due then */
    int retry;                   /* with MSG_QUEUED: this attempt failed temporarily (retries
                                  * + 1); the validity end is kept in expires_ms */
    const char *why;             /* with MSG_FAILED: the reason, written as the note of the
                                  * refund's ledger row (may be NULL) */
    int64_t hold_until_ms;       /* > 0: a marketing SMS held until its destination's hours
                                  * (store_hours.h): back to scheduled, due then */
} store_status_update;

typedef struct store_status_req {
    store_status_update *ups; size_t count;
    size_t applied; /* out: how many changed something (others were stale) */
} store_status_req;

/* The embedded simulated operator's own memory (see sim/sim.c). */
typedef struct store_sim_accept_req {
    int64_t msg_id;
    int outcome;       /* sim outcome code */
    int64_t due_ms;    /* when its first receipt is due */
    char smsc_id[32];  /* out */
    int duplicate;     /* out: the sim had already accepted this message */
} store_sim_accept_req;

typedef struct store_sim_step {
    int64_t msg_id;
    int outcome, step;
} store_sim_step;

typedef struct store_sim_advance_req {
    int64_t now_ms;
    int64_t delay_ms;  /* between receipts */
    int64_t reply_window_ms; /* the sim's replies are attributed within it (store_incoming.h;
                                0 = STORE_REPLY_WINDOW_MS) */
    size_t limit;
    size_t done;       /* out: rows advanced */
    int64_t next_due_ms; /* out: earliest remaining due time, 0 if none */
} store_sim_advance_req;

typedef struct store_recover_req {
    const char *node;
    size_t requeued; /* out */
} store_recover_req;

/* ---- the operation list (X-macro): name, request type ---- */
#define STORE_OPS(X)                                          \
    X(account_create, store_account_create_req)               \
    X(account_list, store_account_list_req)                   \
    X(auth_lookup, store_auth_lookup_req)                     \
    X(credential_create, store_credential_create_req)         \
    X(credential_state, store_credential_state_req)           \
    X(service_get, store_service_get_req)                     \
    X(service_list, store_service_list_req)                   \
    X(service_update, store_service_update_req)               \
    X(credit_adjust, store_credit_adjust_req)                 \
    X(ledger, store_ledger_req)                               \
    X(sender_create, store_sender_req)                        \
    X(sender_get, store_sender_req)                           \
    X(sender_update, store_sender_req)                        \
    X(sender_delete, store_sender_req)                        \
    X(sender_list, store_sender_list_req)                     \
    X(sender_history, store_sender_history_req)               \
    X(submit, store_submit_req)                               \
    X(msg_get, store_msg_req)                                 \
    X(msg_cancel, store_msg_req)                              \
    X(msg_delete, store_msg_req)                              \
    X(outgoing_list, store_outgoing_filter)                   \
    X(claim, store_claim_req)                                 \
    X(status, store_status_req)                               \
    X(sim_accept, store_sim_accept_req)                       \
    X(sim_advance, store_sim_advance_req)                     \
    X(recover, store_recover_req)                             \
    STORE_NOTIFY_OPS(X)                                       \
    STORE_CREDITS_OPS(X)                                      \
    STORE_OPS_ROUTES(X)                                       \
    STORE_CAMPAIGNS_OPS(X)                                    \
    STORE_LIMITS_OPS(X)                                       \
    STORE_IDEM_OPS(X)                                         \
    STORE_CLUSTER_OPS(X)                                      \
    STORE_NUMBERS_OPS(X)                                      \
    STORE_INCOMING_OPS(X)                                     \
    STORE_BLACKLIST_OPS(X)                                    \
    STORE_HOURS_OPS(X)                                        \
    STORE_METRICS_OPS(X)                                      \
    STORE_USERS_OPS(X)                                        \
    STORE_HLR_OPS(X)                                          \
    STORE_PHONEBOOKS_OPS(X)                                   \
    STORE_EXPORT_OPS(X)                                       \
    STORE_OPS_OPS(X)

/* Typed enqueue functions: store_account_create(st, &req, cb, arg) ... */
#define STORE_DECL_OP(name, type) int store_##name(store *st, type *req, store_cb cb, void *arg);
STORE_OPS(STORE_DECL_OP)
#undef STORE_DECL_OP

/* The same with an idempotency record (store_idem.h): when the operation succeeds, idem's
 * render() runs in its savepoint and the answer is stored with it, in the same commit. idem
 * NULL is the plain operation. idem is the caller's until the callback. */
#define STORE_DECL_OP_IDEM(name, type) \
    int store_##name##_idem(store *st, type *req, store_idem *idem, store_cb cb, void *arg);
STORE_OPS(STORE_DECL_OP_IDEM)
#undef STORE_DECL_OP_IDEM
/* Sets idem's then-operation (store_idem.h): req is the caller's until the callback. */
#define STORE_DECL_IDEM_THEN(name, type) void store_idem_then_##name(store_idem *idem, type *req);
STORE_OPS(STORE_DECL_IDEM_THEN)
#undef STORE_DECL_IDEM_THEN

/* Backend contract. Every function runs on the store thread, inside an open transaction. */
typedef struct store_conn store_conn;
typedef struct store_handoff store_handoff; /* store_int.h */
typedef struct store_backend {
    const char *name;
    /* Opens the database at where (SQLite: a file path; PostgreSQL: a connection string);
     * the connection keeps handoff (the store handle's, for status callbacks: store_int.h)
     * until close. */
    int (*open)(const char *where, store_handoff *handoff, store_conn **out);
    void (*close)(store_conn *c);
    int (*begin)(store_conn *c);
    int (*commit)(store_conn *c);
    void (*rollback)(store_conn *c);
    int (*savepoint)(store_conn *c);
    void (*unsaved)(store_conn *c); /* an operation without a savepoint (sqldrv_unsaved) */
    void (*release)(store_conn *c, int rollback_first);
#define STORE_BE_OP(name, type) int (*name)(store_conn * c, type * req);
    STORE_OPS(STORE_BE_OP)
#undef STORE_BE_OP
    /* Stores idem's answer (status, body already rendered) for its scope and key, in the
     * current savepoint. 0; SG_ECONFLICT when a live record holds the key (then found,
     * mismatch, status and body describe it); SG_EIO. */
    int (*idem_put)(store_conn *c, store_idem *idem);
    /* Tells the other nodes, at this batch's commit, that it made messages due (a new send or
     * campaign): PostgreSQL's NOTIFY on STORE_WAKE_CHANNEL with instance as payload
     * (store_instance()). NULL for a backend of one node (SQLite). */
    int (*wake_others)(store_conn *c, const char *instance);
} store_backend;

/* The channel of wake_others, which smsgated LISTENs to (store/pg_listen.h). */
#define STORE_WAKE_CHANNEL "smsgate_work"


extern const store_backend store_sqlite_backend;

typedef struct store_options {
    const char *path;        /* database file (SQLite) */
    const char *database;    /* a libpq connection string or URI: PostgreSQL instead of path
                              * when not NULL nor empty */
    size_t max_batch;        /* operations per transaction (default 1024) */
    int sessions;            /* PostgreSQL: sessions (lanes) of the store, 1-4 (0: 3); SQLite: 1 */
    int crash_after_commit;  /* fault injection: abort() after the Nth commit (0 = off; with
                              * several sessions, the Nth of the API's, where sends commit) */
    int fail_nth_op;         /* fault injection: the Nth operation fails with SG_EIO (0 = off) */
    /* Opt-outs (sqlite_blacklist.c, core/optout.h): the keywords (NULL: the default list),
     * the stop clause whose number is the opt-out short number (NULL: none), and the window
     * in days of the marketing SMS an opt-out applies to (0: 30). */
    const char *optout_keywords, *stop_clause;
    int64_t optout_window_days;
} store_options;

/* The level at which a caller logs a failed operation it retries later: SG_EUNAVAIL (the
 * database unreachable: PostgreSQL) was logged once by the store for the whole outage, so it
 * is only debug there; anything else is an error. For sg_log_write (util/log.h). */
#define STORE_FAIL_LEVEL(rc) ((rc) == SG_EUNAVAIL ? SG_LOG_DEBUG : SG_LOG_ERROR)

/* Opens the database (creating and migrating it) and starts the store thread: PostgreSQL when
 * opt->database is set, else SQLite at opt->path. Results are delivered on base's loop.
 * Returns NULL and *err on failure (SG_EUNAVAIL: PostgreSQL could not be reached). */
store *store_open(struct event_base *base, const store_options *opt, int *err);
/* Drains the queue (every queued op runs and its callback is delivered if the loop still runs),
 * stops the thread and closes the database. NULL does nothing. */
void store_close(store *st);
/* Operations queued or running, not yet delivered. */
size_t store_pending(store *st);
/* This store's instance: a random token, the payload of its wake-ups to other nodes (a node
 * ignores its own). Borrowed until store_close. */
const char *store_instance(const store *st);
/* Number of commits and operations since start (group-commit ratio = ops / commits). */
void store_stats(store *st, uint64_t *commits, uint64_t *ops);
/* The database driver's counters after the last batch (sqldrv.h, sqldrv_counters): how many
 * times the store thread waited for the server, how many statements it ran. 0 on SQLite.
 * With debug output for "store.trips", store_close logs them per kind of operation. */
void store_trips(store *st, uint64_t *trips, uint64_t *stmts);
/* Copies what the store committed since start (store_metrics.h): the counters and the commit
 * histograms. Any thread; takes the store's mutexes briefly. */
void store_counters_read(store *st, store_counters *out);

#endif
