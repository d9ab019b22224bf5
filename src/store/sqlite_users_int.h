/*
 * sqlite_users_int.h - what the store's other files need from the users area
 * (sqlite_users.c): its migrations (schema_sqlite.c), the implementations of the
 * STORE_USERS_OPS operations (sqlite.c's backend table), and the quota step of a send
 * (store_core_sql.c's submit). Store thread only.
 */
#ifndef SG_STORE_SQLITE_USERS_INT_H
#define SG_STORE_SQLITE_USERS_INT_H

#include "store/sqlite_int.h"

/* The migrations of the "users" schema area, in order (SQLite's dialect; PostgreSQL's are
 * declared in store_users.h for schema_pg.c). */
#define SQLITE_USERS_MIGRATIONS 1
extern const char *const sqlite_users_migrations[SQLITE_USERS_MIGRATIONS];

/* What the quota step of a send found. */
typedef struct sqlite_user_quota {
    int active;              /* the user's quota is active (and was decremented) */
    int64_t quota_left;      /* after this send, millicredits */
    int alert;               /* 1: this send took the quota below the alert threshold, the
                              * alert was not sent yet: it is marked sent now, the caller
                              * sends it in the same transaction */
    int64_t alert_threshold; /* credits */
    char support[8];         /* "mail", "sms" or "both" */
    char *alert_email, *alert_number, *login; /* new (alert only) */
    char *callback;          /* new: the user's callBack, NULL when none */
} sqlite_user_quota;
void sqlite__user_quota_fini(sqlite_user_quota *q);

/* The quota step of a send of credits (millicredits) by user_id of service_id: with an active
 * quota, takes credits from quota_left in one conditional update (several sends at once, on
 * any node, cannot take more than is left). 0 (q filled); SG_ENOCREDIT when the quota holds
 * less than credits (nothing changed); SG_ENOTFOUND when the service has no such user. */
int sqlite__user_quota_take(store_conn *c, int64_t user_id, int64_t service_id, int64_t credits,
                            sqlite_user_quota *q);
/* Marks the messages first_id..last_id of send send_id as user_id's, with callback (the
 * user's callBack, NULL = none) as their callback URL unless they have one. */
int sqlite__user_mark_messages(store_conn *c, int64_t user_id, const char *callback,
                               int64_t send_id, int64_t first_id, int64_t last_id);
/* Records an alert of user_id (support "mail" or "sms", to target; message_id the alert SMS,
 * 0 for a mail) in sms_user_alerts. */
int sqlite__user_alert_record(store_conn *c, int64_t user_id, int64_t service_id, int64_t now_ms,
                              const char *support, const char *target, int64_t quota_left,
                              int64_t message_id);

int sqlite__user_create(store_conn *c, store_user_req *r);
int sqlite__user_get(store_conn *c, store_user_req *r);
int sqlite__user_delete(store_conn *c, store_user_req *r);
int sqlite__user_update(store_conn *c, store_user_update_req *r);
int sqlite__user_list(store_conn *c, store_user_list_req *r);

#define be_user_create sqlite__user_create
#define be_user_get sqlite__user_get
#define be_user_delete sqlite__user_delete
#define be_user_update sqlite__user_update
#define be_user_list sqlite__user_list

#endif
