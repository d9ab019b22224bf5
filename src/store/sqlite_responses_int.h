/*
 * sqlite_responses_int.h - what the store's other files need from the replies area
 * (sqlite_responses.c): its migrations (schema_sqlite.c) and what an incoming message causes
 * once stored (the incoming hook, sqlite_replies.c). Store thread only, inside the
 * transaction that stored the message.
 */
#ifndef SG_STORE_SQLITE_RESPONSES_INT_H
#define SG_STORE_SQLITE_RESPONSES_INT_H

#include "store/sqlite_int.h"
#include "store/store_incoming.h"

/* The migrations of the "replies" schema area, in order (SQLite's dialect; PostgreSQL's are
 * declared in store_replies.h for schema_pg.c). */
#define SQLITE_REPLIES_MIGRATIONS 1
extern const char *const sqlite_replies_migrations[SQLITE_REPLIES_MIGRATIONS];

/* Applies the smsResponse that governs incoming message m (the virtual number's, else its
 * service's): queues the cgi call, or sends the automatic answer, or nothing (the essay of
 * sqlite_responses.c). An unattributed message (service_id 0) causes nothing. Returns 0 or a
 * store error (the caller's transaction is then rolled back). */
int sqlite__response_on_incoming(store_conn *c, const store_incoming_row *m);

/* The URL of the cgi call of m: base with the parameters of docs/replies.md appended
 * (core/callurl.h); tag is the tag of the SMS m answers (NULL: none). Returns a new string. */
char *sqlite__reply_url(const char *base, const store_incoming_row *m, const char *tag);

#endif
