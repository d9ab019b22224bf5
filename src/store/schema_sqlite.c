/*
 * schema_sqlite.c - the SQLite schema, as migrations per area (see migrate() in sqlite.c).
 *
 * Money columns hold millicredits (INTEGER). Times are epoch milliseconds (INTEGER).
 * messages.state holds msg_state values (core/receipt.h). Never edit an applied migration:
 * append a new one to its area. A feature area defines its array in its own sqlite_<area>.c
 * and is listed in sqlite_areas below.
 */
#include "store/sqlite_int.h"
#include "store/sqlite_credits_int.h"
#include "store/sqlite_notify_int.h"
#include "store/sqlite_routes_int.h"
#include "store/sqlite_campaigns_int.h"
#include "store/sqlite_limits_int.h"
#include "store/sqlite_idem_int.h"
#include "store/sqlite_numbers_int.h"
#include "store/sqlite_incoming_int.h"
#include "store/sqlite_responses_int.h"
#include "store/sqlite_blacklist_int.h"
#include "store/sqlite_hlr_int.h"
#include "store/sqlite_phonebooks_int.h"
#include "store/sqlite_hours_int.h"
#include "store/sqlite_gateways_int.h"
#include "store/sqlite_users_int.h"
#include "store/sqlite_ops_int.h"

static const char *const core_migrations[] = {
    /* 1: the foundation */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);"
    "CREATE TABLE services ("
    "  id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',"
    "  status TEXT NOT NULL DEFAULT 'enable', callback TEXT, stop_callback TEXT,"
    "  short_number TEXT NOT NULL, sms_response TEXT, templates TEXT,"
    "  recredit_amount INTEGER NOT NULL DEFAULT 0, recredit_threshold INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE ledger ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id),"
    "  ts_ms INTEGER NOT NULL, amount INTEGER NOT NULL, balance INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, ref TEXT);"
    "CREATE INDEX ledger_service ON ledger(service_id, id);"
    "CREATE TABLE applications ("
    "  id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  app_key TEXT NOT NULL UNIQUE, app_secret TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE credentials ("
    "  id INTEGER PRIMARY KEY, application_id INTEGER NOT NULL REFERENCES applications(id),"
    "  consumer_key TEXT NOT NULL UNIQUE, state TEXT NOT NULL, rules TEXT NOT NULL,"
    "  allowed_ips TEXT, redirection TEXT, created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL DEFAULT 0, last_use_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE senders ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id),"
    "  sender TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', reason TEXT,"
    "  status TEXT NOT NULL, comment TEXT, referer TEXT NOT NULL DEFAULT 'custom', type TEXT,"
    "  created_ms INTEGER NOT NULL, UNIQUE(service_id, sender));"
    "CREATE TABLE sends ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id),"
    "  created_ms INTEGER NOT NULL, credits INTEGER NOT NULL, count INTEGER NOT NULL);"
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL, send_id INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  dlr INTEGER NOT NULL DEFAULT 0, ptt INTEGER NOT NULL DEFAULT 0,"
    "  sender TEXT NOT NULL, receiver TEXT NOT NULL, message TEXT NOT NULL,"
    "  coding INTEGER NOT NULL, length INTEGER NOT NULL, parts INTEGER NOT NULL,"
    "  credits INTEGER NOT NULL, priority INTEGER NOT NULL, validity_min INTEGER NOT NULL,"
    "  differed_min INTEGER NOT NULL, class INTEGER NOT NULL DEFAULT 1, tag TEXT,"
    "  sent_ms INTEGER, delivered_ms INTEGER, lease_ms INTEGER, lease_owner TEXT,"
    "  route TEXT, smsc_id TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    "  deleted INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX messages_due ON messages(priority, due_ms) WHERE state IN (0,1,2);"
    "CREATE INDEX messages_service ON messages(service_id, id);"
    "CREATE INDEX messages_tag ON messages(service_id, tag) WHERE tag IS NOT NULL;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL, service_id INTEGER NOT NULL,"
    "  ts_ms INTEGER NOT NULL, state INTEGER NOT NULL, dlr INTEGER NOT NULL,"
    "  ptt INTEGER NOT NULL);"
    "CREATE INDEX events_message ON events(message_id, id);"
    "CREATE TABLE sim_messages ("
    "  message_id INTEGER PRIMARY KEY, smsc_id TEXT NOT NULL, outcome INTEGER NOT NULL,"
    "  step INTEGER NOT NULL DEFAULT 0, due_ms INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0,"
    "  submits INTEGER NOT NULL DEFAULT 1, deliveries INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sim_due ON sim_messages(due_ms) WHERE done = 0;",
    /* 2: the same index of messages to send, on "state < 3": SQLite 3.40 evaluates a partial
     * index's "state IN (0,1,2)" on every write of a row through a temporary b-tree (two per
     * UPDATE), which was a tenth of smsgated's instructions in the benchmark (callgrind). */
    "DROP INDEX messages_due;"
    "CREATE INDEX messages_due ON messages(priority, due_ms) WHERE state < 3;",
    /* 3: temporary errors retried with backoff (dispatch/dispatch.c). `retries` counts the
     * attempts that failed temporarily; while a message waits for its next attempt, due_ms is
     * that attempt's time (so the claim and its index stay as they are) and expires_ms keeps
     * the end of its validity period, which due_ms no longer gives. The ledger's note says why
     * a row was written (a refund's reason). */
    "ALTER TABLE messages ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN expires_ms INTEGER;"
    "ALTER TABLE ledger ADD COLUMN note TEXT;",
    /* 4: the history of senders (issue 12): a refused sender deleted and declared again must
     * not make its refusal disappear. One row per declaration, operator decision and deletion;
     * senders that exist already start with their current status. */
    "CREATE TABLE sender_history ("
    "  id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL, sender TEXT NOT NULL,"
    "  ts_ms INTEGER NOT NULL, status TEXT NOT NULL, comment TEXT, reason TEXT);"
    "CREATE INDEX sender_history_key ON sender_history(service_id, sender, id);"
    "INSERT INTO sender_history(service_id, sender, ts_ms, status, comment, reason) "
    "  SELECT service_id, sender, created_ms, status, comment, reason FROM senders;",
    /* 5: marketing SMS (issue 14): 1 when the text ends with the STOP mention, for opt-outs
     * (who sent a number marketing SMS), the blacklist check and marketing hours. */
    "ALTER TABLE messages ADD COLUMN stop_clause INTEGER NOT NULL DEFAULT 0;",
};


#define AREA(name, arr) {name, arr, (int)(sizeof arr / sizeof arr[0])}

const sqlite_area sqlite_areas[] = {
    AREA("core", core_migrations),
    AREA("notify", sqlite_notify_migrations),
    AREA("routes", sqlite_routes_migrations),
    AREA("credits", sqlite_credits_migrations),
    AREA("campaigns", sqlite_campaigns_migrations),
    AREA("limits", sqlite_limits_migrations),
    AREA("idempotency", sqlite_idem_migrations),
    AREA("cluster", sqlite_cluster_migrations), /* last: its triggers watch tables above */
    AREA("numbers", sqlite_numbers_migrations), /* after cluster: its triggers bump the epoch */
    AREA("incoming", sqlite_incoming_migrations),
    AREA("replies", sqlite_replies_migrations),
    AREA("blacklists", sqlite_blacklist_migrations), /* sqlite_blacklist.c */
    AREA("hours", sqlite_hours_migrations),     /* after cluster: raises its epoch */
    AREA("users", sqlite_users_migrations),     /* sqlite_users.c; after cluster: its epoch */
    AREA("gateways", sqlite_gateways_migrations), /* sqlite_gateways.c */
    AREA("hlr", sqlite_hlr_migrations),         /* sqlite_hlr.c */
    AREA("phonebooks", sqlite_phonebooks_migrations), /* sqlite_phonebooks.c */
    AREA("ops", sqlite_ops_migrations),         /* sqlite_ops.c */
    {NULL, NULL, 0},
};
