/*
 * sqlite_replies_int.h - the hook run for every incoming message stored (store_incoming.h):
 * sqlite__incoming_stored() is called by the incoming area (sqlite_incoming.c) in the same
 * transaction, right after each complete (reassembled) row is inserted. Features that act on
 * replies (opt-outs, smsResponse) add one call each in sqlite_replies.c. Included only by files
 * of the SQLite backend; store thread only.
 */
#ifndef SG_STORE_SQLITE_REPLIES_INT_H
#define SG_STORE_SQLITE_REPLIES_INT_H

#include "store/sqlite_int.h"
#include "store/store_incoming.h"

/* 0, or an SG_E* code that fails the whole storing operation (the SMSC is then asked to send
 * the message again: nothing is lost). m is borrowed for the call. */
int sqlite__incoming_stored(store_conn *c, const store_incoming_row *m);

#endif
