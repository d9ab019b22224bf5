/*
 * store_users.h - the users area of the store: SMS users (OVH's sms.User), the logins a
 * service gives to its teams and applications, each with a password (stored as a salted slow
 * hash made by core/userpw.h, never in clear), an optional quota of credits, an alert when the
 * quota runs low, its own callBack and stopCallBack, and the addresses it may authenticate
 * from (docs/users.md).
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Records marked "new" are freed by the caller with store_user_fini() or
 * store_user_list_fini(); strings in requests are borrowed by the store until the callback.
 *
 * The send's side: store_submit_req.user_id (store.h) makes the send's own transaction check
 * and decrement the user's quota and mark the messages as the user's (messages.user_id).
 */
#ifndef SG_STORE_USERS_H
#define SG_STORE_USERS_H

#include <stddef.h>
#include <stdint.h>

/* One row of sms_users, with its service's name. Money in millicredits. */
typedef struct store_user {
    int64_t id, service_id, account_id;
    char *service;         /* the service's name */
    char *login;
    char *password_hash;   /* core/userpw.h's form; never shown */
    int quota_active;      /* quotaStatus "active" */
    int64_t quota_left;    /* millicredits */
    char *alert_support;   /* "mail", "sms" or "both" */
    char *alert_email, *alert_number;
    int64_t alert_threshold; /* credits; 0 = no alert */
    int alert_sent;        /* the alert for the current fall below the threshold was sent */
    char *callback, *stop_callback; /* NULL = none (the service's apply) */
    char *ip_restrictions; /* JSON array text of addresses or CIDR blocks; "[]" = anywhere */
    int64_t created_ms;
} store_user;
/* Frees the strings of u (not u itself). */
void store_user_fini(store_user *u);

/* user_create: a new user login of service_id with password_hash; SG_ECONFLICT when the
 * service has that login already. user_get: the user login of service_id (0 = of any
 * service: then login must be unique across services, SG_ECONFLICT when it is not; with
 * service set instead, of the service of that name); SG_ENOTFOUND otherwise. user_delete:
 * the same lookup, then the row is removed (its messages stay, still marked with its id, and
 * are seen by nobody's user routes). Out of user_get and user_delete: user (new). */
typedef struct store_user_req {
    int64_t service_id;
    const char *service;      /* user_get with service_id 0: the service's name, or NULL */
    int64_t account_id;       /* with service: restricted to this account (0 = any) */
    const char *login;
    const char *password_hash; /* user_create */
    int64_t now_ms;
    store_user user;          /* out (new) */
} store_user_req;

/* user_update: a partial update of the user login of service_id; the set_ flags say which
 * fields change (a NULL string with its flag clears it). A quota or a threshold set again
 * re-arms the alert when the quota is then at or above the threshold. SG_ENOTFOUND. */
typedef struct store_user_update_req {
    int64_t service_id;
    const char *login;
    int set_password;     const char *password_hash;
    int set_quota_status; int quota_active;
    int set_quota_left;   int64_t quota_left;      /* millicredits */
    int set_alert;        const char *alert_support, *alert_email, *alert_number;
                          int64_t alert_threshold; /* credits */
    int set_callback;     const char *callback;
    int set_stop_callback; const char *stop_callback;
    int set_ips;          const char *ip_restrictions; /* JSON array text */
} store_user_update_req;

/* user_list: the users of service_id (0: of the service named service, SG_ENOTFOUND when
 * there is none visible to account_id), by login. */
typedef struct store_user_list_req {
    int64_t service_id;
    const char *service;
    int64_t account_id;
    store_user *items;        /* out (new) */
    size_t count;
} store_user_list_req;
void store_user_list_fini(store_user_list_req *r);

#define STORE_USERS_OPS(X)                                    \
    X(user_create, store_user_req)                            \
    X(user_get, store_user_req)                               \
    X(user_delete, store_user_req)                            \
    X(user_update, store_user_update_req)                     \
    X(user_list, store_user_list_req)

/* The migrations of the "users" schema area in PostgreSQL's dialect (schema_pg.c); the
 * operations and SQLite's migrations are in sqlite_users.c. */
#define PG_USERS_MIGRATIONS 1
extern const char *const pg_users_migrations[PG_USERS_MIGRATIONS];

#endif
