/*
 * sql_notify.h - the SQL texts of the callbacks area that run with every status event (the
 * queueing of a status callback and the service's signing secret), written once for every
 * backend under the rules of sql_msg.h. Driven today by sqlite_notify.c, where the claim,
 * finish, list and replay statements are written (both dialects accept them too).
 */
#ifndef SG_STORE_SQL_NOTIFY_H
#define SG_STORE_SQL_NOTIFY_H

/* A PENDING call of sequence $1 (an SMS), if any: a new call of it must wait its turn. */
extern const char sql_notify_behind[];
/* The callBack of service $1 (only when it has one) and sender, receiver, tag of message $2. */
extern const char sql_notify_callback_of[];
/* A status call: service_id, message id (also its sequence), event id, dlr, ptt, event_ms,
 * url, origin, now (created and due), lease end, lease owner, first attempt (the last three
 * NULL unless the call is handed over at once). Ends with SQLDRV_RETURNING_ID: run it with
 * sqldrv_insert(). */
extern const char sql_notify_insert[];
/* A call of another kind (sqlite__notify_call): service_id, kind, message id, event id,
 * sequence key (the last three NULL when none), event_ms, url, origin, now (created and due),
 * lease end, lease owner, first attempt (as sql_notify_insert). Ends with SQLDRV_RETURNING_ID. */
extern const char sql_notify_insert_kind[];
/* The signing secret of service $1. */
extern const char sql_notify_secret_get[];
/* A new signing secret: service_id, secret, created_ms; nothing when the service has one
 * already (another node created it meanwhile: sqldrv_changes() says 0). */
extern const char sql_notify_secret_insert[];

#endif
