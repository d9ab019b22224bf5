/*
 * sqldrv_conn.h - the store's database connection (struct store_conn), the same for every
 * backend: what the operation files keep on it (the hand-off, the routes' and callbacks'
 * small caches), then each driver's own state. An operation written against the SQL driver
 * (sqldrv.h) only touches the first part, so it runs unchanged on either driver.
 *
 * Dispatch. The sqldrv_* calls that take the connection test `dialect` (one predictable
 * branch: SQLite's path is the fall-through and runs exactly what it ran before the second
 * driver existed); the calls that take only a statement test the statement pointer (a
 * PostgreSQL statement is tagged, sqldrv_sqlite.c's essay). SQLite's state is held inline
 * (the database handle and the statement cache, read on every call); PostgreSQL's behind a
 * pointer, so that this header needs no libpq.
 *
 * Threads: one connection belongs to one store thread; nothing here is shared.
 */
#ifndef SG_STORE_SQLDRV_CONN_H
#define SG_STORE_SQLDRV_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "store/sqldrv.h"
#include "store/store_int.h"

#define STMT_CACHE 256

struct sqlite3;
struct sqlite3_stmt;
struct sqldrv_pg; /* sqldrv_pg.c */

struct store_conn {
    sqldrv_dialect_kind dialect; /* which driver runs this connection's statements */

    /* ---- what the operation files keep (any driver) ---- */
    store_handoff *handoff; /* the store handle's (store_int.h): status calls to the notifier */
    size_t since_prune;     /* sqlite_routes.c: messages accepted since smpp_ids was pruned */
    int64_t secret_sid;     /* sqlite_notify.c: the last service whose secret was read, and */
    char *secret;           /* that secret (a service's secret never changes) */
    const struct optout_rules *optout; /* sqlite_blacklist.c: opt-out keywords (the store
                                        * handle's, store_options), NULL: no opt-outs */
    int64_t optout_window_ms;          /* services that sent marketing SMS within it */
    int64_t applied_sent_ms; /* sqlite_msg.c: sent_ms of the message whose status change was
                              * applied last (0: none was sent), for a receipt's latency */
    struct sqlite_status_defer *defer; /* sqlite_msg.c, PostgreSQL: the status changes of the
                                        * running operation kept for one statement (NULL:
                                        * each is written at once) */
    uint64_t ops;         /* operations begun here (sqldrv_savepoint or _unsaved), and 2 more at
                           * each BEGIN, COMMIT, ROLLBACK and rolled-back operation */
    uint64_t ledger_rows; /* ledger rows appended here (sqlite__ledger_append) */
    /* store_core_sql.c, PostgreSQL: what a send read (and the ids it took ahead), for the next
     * send of the same service when it is the very next operation of the transaction and the
     * ledger was not written since (submit_read_pg) */
    struct store_send_memo {
        int64_t service_id; /* 0: none */
        uint64_t op, ledger; /* ops and ledger_rows when it was kept */
        int64_t balance, topup_amount, topup_threshold, region_rate;
        char name[96], region[16];
        int64_t ids[2][32]; /* send ids, message ids: [next, n) not used yet */
        int next, n;
    } memo;

    /* ---- SQLite (sqldrv_sqlite.c): the database and the statement cache ---- */
    struct sqlite3 *db;
    struct {
        const char *sql;
        struct sqlite3_stmt *st;
    } cache[STMT_CACHE];
    int ncache;

    /* ---- PostgreSQL (sqldrv_pg.c): the libpq session, its statements, reconnection ---- */
    struct sqldrv_pg *pg;
};

#endif
