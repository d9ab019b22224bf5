/*
 * sqlite_gateways.c - the "gateways" schema area: a message's own callback.
 *
 * A status callback normally goes to the service's callBack (services.callback), the URL
 * read when the event is recorded (sqlite_notify.c). Some ways in bring their own: an SMS
 * user's callBack, frozen on its messages when they are sent, and Kannel's dlr-url, a
 * template expanded with Kannel's escapes at each event (core/kannel.h). Two columns of
 * messages say so:
 *   callback_url   NULL: the service's callBack, as before; else this message's URL.
 *   callback_mask  NULL or 0: callback_url (when set) is called like a callBack, with OVH's
 *                  parameters appended, for every called event; > 0: callback_url is a
 *                  Kannel dlr-url, called only for the events whose Kannel type (1
 *                  delivered, 2 not delivered, 4 queued on the SMSC, 8 accepted by the SMSC,
 *                  16 refused by the SMSC) is in the mask.
 * They are written by the send (store_submit_req.callback_url/callback_mask) and read by the
 * status event's one read (sql_notify_callback_of; on PostgreSQL SQLITE_PG_STATUS_COLS), so
 * that a status change costs no more statements than before.
 */
#include "store/sqlite_gateways_int.h"

const char *const sqlite_gateways_migrations[SQLITE_GATEWAYS_MIGRATIONS] = {
    /* 1: a message's own callback (issue 15) */
    "ALTER TABLE messages ADD COLUMN callback_url TEXT;"
    "ALTER TABLE messages ADD COLUMN callback_mask INTEGER;",
};

const char *const pg_gateways_migrations[PG_GATEWAYS_MIGRATIONS] = {
    /* 1: SQLite's gateways/1 */
    "ALTER TABLE messages ADD COLUMN callback_url TEXT;"
    "ALTER TABLE messages ADD COLUMN callback_mask BIGINT;",
};
