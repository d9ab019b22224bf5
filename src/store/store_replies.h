/*
 * store_replies.h - the replies area of the store (sqlite_responses.c: what an incoming
 * message causes under its service's smsResponse). It has no operation of its own: it runs
 * inside the operations that store incoming messages. Declares PostgreSQL's migrations of
 * the area for schema_pg.c.
 */
#ifndef SG_STORE_REPLIES_H
#define SG_STORE_REPLIES_H

/* The migrations of the "replies" schema area in PostgreSQL's dialect, in order. */
#define PG_REPLIES_MIGRATIONS 1
extern const char *const pg_replies_migrations[PG_REPLIES_MIGRATIONS];

#endif
