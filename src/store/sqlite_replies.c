/*
 * sqlite_replies.c - what happens when an incoming message has been stored (sqlite_replies_int.h).
 *
 * sqlite__incoming_stored() runs on the store thread inside the transaction that stores the
 * message, once per complete message (a multi-part message once, when its last part arrives).
 * Each feature that reacts to replies adds exactly one call line below, to a function in its
 * own file, so that they stay independent; a failure returned here rolls back the storing of
 * the message, which the SMSC then sends again.
 */
#include "store/sqlite_replies_int.h"
#include "store/sqlite_blacklist_int.h"

#include "store/sqlite_responses_int.h"

#include "util/util.h"

int sqlite__incoming_stored(store_conn *c, const store_incoming_row *m) {
    (void)c;
    (void)m;
    int rc = 0;
    if (rc == 0) rc = sqlite__optout_on_incoming(c, m); /* STOP: sqlite_blacklist.c */
    if (rc == 0) rc = sqlite__response_on_incoming(c, m);
    return rc;
}
