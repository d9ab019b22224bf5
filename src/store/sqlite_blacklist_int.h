/*
 * sqlite_blacklist_int.h - what the store's other files need from the blacklists area
 * (sqlite_blacklist.c): its migrations (schema_sqlite.c), the implementations of the
 * STORE_BLACKLIST_OPS operations (sqlite.c's backend table), the check that sends and
 * campaign fan-outs make (store_core_sql.c, sqlite_campaigns.c), the opt-out of an incoming
 * message (sqlite_replies.c) and its settings (store.c). Store thread only, inside the batch
 * transaction.
 */
#ifndef SG_STORE_SQLITE_BLACKLIST_INT_H
#define SG_STORE_SQLITE_BLACKLIST_INT_H

#include "store/sqlite_int.h"

struct optout_rules;

/* The migrations of the "blacklists" schema area, in order. */
#define SQLITE_BLACKLIST_MIGRATIONS 1
extern const char *const sqlite_blacklist_migrations[SQLITE_BLACKLIST_MIGRATIONS];

int sqlite__blacklist_list(store_conn *c, store_blacklist_req *r);
int sqlite__blacklist_get(store_conn *c, store_blacklist_req *r);
int sqlite__blacklist_delete(store_conn *c, store_blacklist_req *r);
int sqlite__blacklist_add(store_conn *c, store_blacklist_req *r);

#define be_blacklist_list sqlite__blacklist_list
#define be_blacklist_get sqlite__blacklist_get
#define be_blacklist_delete sqlite__blacklist_delete
#define be_blacklist_add sqlite__blacklist_add

/* The opt-out settings of connection c: rules (borrowed until the connection closes; NULL:
 * no message is an opt-out) and the window in which a service's marketing SMS to a mobile
 * make its STOP apply to that service (<= 0: 30 days). */
void sqlite__optout_configure(store_conn *c, const struct optout_rules *rules,
                              int64_t window_ms);

/* The check at send time. sqlite__blacklist_any: 1 when service_id has at least one
 * blacklisted number, 0 when none (one index probe: a send of a service without a blacklist
 * asks nothing more), or an SG_E* code. sqlite__blacklisted: 1 when number is blacklisted for
 * service_id, 0 when not, or an SG_E* code. */
int sqlite__blacklist_any(store_conn *c, int64_t service_id);
int sqlite__blacklisted(store_conn *c, int64_t service_id, const char *number);

/* The opt-out of one incoming message, in the transaction that stores it: when its text is an
 * opt-out keyword (core/optout.h) and it was sent to the opt-out short number, or is a reply
 * (reply_to_id, an attribution, a virtual number, or a service's short number), blacklists the
 * sender for each service that sent it an SMS with the STOP clause within the window (the
 * latest such SMS as smsOutgoingID, its batch as batchID), and queues one call of each such
 * service's stopCallBack. A number already blacklisted for a service is left alone (no second
 * row, no second call). m->id is the incoming message (0: none). Out: *blacklisted, the
 * services that blacklisted it now (may be NULL).
 * Returns 0 or an SG_E* code. */
int sqlite__optout(store_conn *c, const store_incoming_row *m, int *blacklisted);

/* The hook of sqlite_replies.c: sqlite__optout(c, m, NULL). */
int sqlite__optout_on_incoming(store_conn *c, const store_incoming_row *m);

#endif
