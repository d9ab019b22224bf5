/*
 * store_numbers.h - the numbers area of the store: virtual numbers, the long numbers an
 * operator assigns to a service (smsctl number add) so that the service can send from them
 * and the SMS sent to them come back to it (docs/replies.md, "Virtual numbers").
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Records marked "new" are freed by the caller with store_vnum_fini() or
 * store_vnum_list_fini(); strings in requests are borrowed by the store until the callback.
 */
#ifndef SG_STORE_NUMBERS_H
#define SG_STORE_NUMBERS_H

#include <stddef.h>
#include <stdint.h>

/* One row of virtual_numbers, with its service's name and account. */
typedef struct store_vnum {
    char *number;        /* E.164 with '+', "+33700000001" */
    int64_t service_id;
    int64_t account_id;  /* the service's */
    char *account;       /* that account's name */
    char *service;       /* the service's name */
    int64_t created_ms;
    char *sms_response;  /* JSON text of sms.Response, NULL = none */
} store_vnum;
/* Frees the strings of v (not v itself). */
void store_vnum_fini(store_vnum *v);

/* vnum_add: assigns number (E.164, checked by the caller) to the service named service.
 * 0 (created = 1; created = 0 when it already was that service's: nothing changes);
 * SG_ENOTFOUND without such a service; SG_ECONFLICT when another service has the number
 * (then vnum.service names it). vnum_get: by number, restricted to account_id (0 = any) and
 * to service_id (0 = any); SG_ENOTFOUND otherwise. vnum_remove: by number, restricted the
 * same way; SG_ENOTFOUND. vnum_response: sets sms_response (NULL clears it) of the number,
 * restricted the same way; SG_ENOTFOUND. Out of all four: vnum (new), the row as it is (as
 * it was, for remove). */
typedef struct store_vnum_req {
    const char *number;
    const char *service;      /* vnum_add */
    const char *sms_response; /* vnum_response */
    int64_t account_id, service_id;
    int64_t now_ms;           /* vnum_add: created_ms */
    int created;              /* out (vnum_add) */
    store_vnum vnum;          /* out (new) */
} store_vnum_req;

/* vnum_list: the virtual numbers of the service named service (NULL = every service), of
 * the account account_id (0 = any), ordered by number. SG_ENOTFOUND when service is given
 * and no such service is visible. */
typedef struct store_vnum_list_req {
    const char *service;
    int64_t account_id;
    store_vnum *items;        /* out (new) */
    size_t count;
} store_vnum_list_req;
void store_vnum_list_fini(store_vnum_list_req *r);

#define STORE_NUMBERS_OPS(X)                                  \
    X(vnum_add, store_vnum_req)                               \
    X(vnum_get, store_vnum_req)                               \
    X(vnum_remove, store_vnum_req)                            \
    X(vnum_response, store_vnum_req)                          \
    X(vnum_list, store_vnum_list_req)

/* The migrations of the "numbers" schema area in PostgreSQL's dialect (schema_pg.c); the
 * operations and SQLite's migrations are in sqlite_numbers.c. */
#define PG_NUMBERS_MIGRATIONS 1
extern const char *const pg_numbers_migrations[PG_NUMBERS_MIGRATIONS];

#endif
