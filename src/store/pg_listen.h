/*
 * pg_listen.h - wake-ups between the nodes of a cluster: PostgreSQL LISTEN on a connection of
 * its own, driven by the loop (issue 13: a message accepted on node A is dispatched at once by
 * whichever node is free, not after a poll interval).
 *
 * A node that commits new work runs pg_notify(channel, its node name) inside the committing
 * transaction (PostgreSQL delivers it at commit, never for a rolled-back one); every other node's
 * pg_listen calls its callback on the loop thread, which kicks the dispatcher, the notifier or
 * the campaigns. Wake-ups are hints: a node that misses one (its listening connection was down)
 * finds the work at its next poll, and the callback is also called once with channel NULL after
 * each (re)connection so that the caller rescans at once.
 *
 * Connection: non-blocking (PQconnectStart/PQconnectPoll on the loop), so a database that is
 * away never stalls the loop; reconnects with backoff (100 ms doubling to 5 s).
 */
#ifndef SG_STORE_PG_LISTEN_H
#define SG_STORE_PG_LISTEN_H

#include <event2/event.h>

typedef struct pg_listen pg_listen;

/* channel: the channel notified (NULL after a (re)connection: rescan); payload: the
 * notifier's payload (its node name), "" when none. Loop thread. */
typedef void (*pg_listen_cb)(const char *channel, const char *payload, void *arg);

/* Listens on channels (NULL-terminated; names are identifiers: letters, digits, '_') through
 * a connection of its own to conninfo. Never fails for an unreachable database (it retries);
 * NULL only for bad arguments. */
pg_listen *pg_listen_new(struct event_base *base, const char *conninfo,
                         const char *const *channels, pg_listen_cb cb, void *arg);
/* 1 while the listening connection is up. */
int pg_listen_up(const pg_listen *l);
void pg_listen_free(pg_listen *l);

#endif
