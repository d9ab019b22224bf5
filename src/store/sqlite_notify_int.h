/*
 * sqlite_notify_int.h - what the SQLite backend's core files need from the callbacks area
 * (sqlite_notify.c): its migrations (schema_sqlite.c), the hook that queues a call with each
 * status event, and the implementations of the STORE_NOTIFY_OPS operations (sqlite.c's
 * backend table). Included only by files of the SQLite backend; store thread only.
 */
#ifndef SG_STORE_SQLITE_NOTIFY_INT_H
#define SG_STORE_SQLITE_NOTIFY_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "notify" schema area, in order. */
#define SQLITE_NOTIFY_MIGRATIONS 3
extern const char *const sqlite_notify_migrations[SQLITE_NOTIFY_MIGRATIONS];

/* Called by sqlite__insert_event() right after it inserted event_id: queues the status
 * callback of that event when the event is one customers are called for and the service has
 * a callBack URL. Returns 0 (also when nothing was queued) or SG_EIO. */
int sqlite__notify_event(store_conn *c, int64_t event_id, int64_t msg_id, int64_t service_id,
                         int64_t ts, int state, int dlr, int ptt);

/* A call of another kind than 'status' (sqlite_notify.c, "Kinds"). */
typedef struct sqlite_notify_new {
    int64_t service_id;   /* whose secret signs it, whose list shows it */
    const char *kind;     /* 'reply', 'stop', ... (never 'status') */
    int64_t message_id;   /* the SMS it is about, 0 = none */
    int64_t event_id;     /* the row it reports (an incoming message...), 0 = none */
    int64_t seq_key;      /* 0: made as soon as it is due; else after every PENDING call with
                             the same key and a smaller id (status calls use the message id) */
    int64_t event_ms;     /* when what it reports happened */
    const char *url;      /* the whole URL, query included (core/callurl.h callurl_with) */
} sqlite_notify_new;

/* Queues call k in the caller's transaction, handed to the notifier when it commits (or
 * claimed by it), retried, signed and guarded like a status callback. A url that is not
 * http(s) is logged and not queued (0). Returns 0 or a store error. */
int sqlite__notify_call(store_conn *c, const sqlite_notify_new *k);
/* dialect: PostgreSQL. sqlite__insert_event() and sqlite__notify_event() in one statement
 * sent without waiting (no id is read back: the call's id is known): inserts the event and,
 * when it is called and the service has a callBack, its call, handed over as
 * sqlite__notify_event() would. 0 or an SG_E* code. */
int sqlite__notify_event_pg(store_conn *c, const sqlite_notify_known *k, int64_t msg_id,
                            int64_t service_id, int64_t ts, int state, int dlr, int ptt);

/* Frees the connection's cache of the callbacks area (the last secret read). */
void sqlite__notify_close(store_conn *c);

int sqlite__notify_claim(store_conn *c, store_notify_claim_req *r);
int sqlite__notify_finish(store_conn *c, store_notify_finish_req *r);
int sqlite__notify_list(store_conn *c, store_notify_list_req *r);
int sqlite__notify_replay(store_conn *c, store_notify_replay_req *r);
int sqlite__notify_secret(store_conn *c, store_notify_secret_req *r);

/* sqlite.c's backend table names the implementation of each operation be_<op>. */
#define be_notify_claim sqlite__notify_claim
#define be_notify_finish sqlite__notify_finish
#define be_notify_list sqlite__notify_list
#define be_notify_replay sqlite__notify_replay
#define be_notify_secret sqlite__notify_secret

#endif
