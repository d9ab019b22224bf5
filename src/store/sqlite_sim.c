/*
 * sqlite_sim.c - the simulated operator's receipts and replies (store_sim_advance; the sim
 * route is src/sim/sim.c, its rules core/sim_model.c). Written once against the SQL driver
 * for both dialects.
 *
 * Design. sim_messages holds the sim's memory of each message it accepted (store_core_sql.c,
 * store_core__sim_accept): its outcome, the step it is at, and when the next step is due. An
 * advance takes the due steps and applies each in one transaction with the message's status
 * change (sqlite__apply_status: the event, its callback, a refund) and the step's own row.
 * A step that is a reply (receivers ending in 905 and 906, one delay after their delivery)
 * changes no status: the mobile answers the SMS's sender, and the answer is stored as an
 * incoming message through the same path as an SMPP one (sqlite__incoming_add, the implementation of
 * store_incoming_add: stored, attributed, then what its service asked for, smsResponse or a
 * STOP), in the same
 * transaction as the step. So a reply is stored exactly once: a crash before the commit
 * leaves the step due (it runs again), a crash after it leaves the step done.
 *
 * This file sits above the incoming area (a reply is an incoming message), which sits above
 * store_core_sql.c (an automatic answer is a send): hence the advance lives here, not with
 * the sim's acceptance.
 */
#include "store/sqlite_sim_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/msgstate.h"
#include "core/sim_model.h"
#include "store/sql_core.h"
#include "store/sqldrv.h"
#include "store/sqlite_incoming_int.h"
#include "util/util.h"

/* The sender and receiver of message $1. */
static const char msg_ends[] = "SELECT sender, receiver FROM messages WHERE id = $1";

/* Stores the reply text of the receiver of message msg_id to its sender, received at ts_ms,
 * attributed within window_ms. */
static int reply(store_conn *c, int64_t msg_id, const char *text, int64_t ts_ms,
                 int64_t window_ms) {
    sqldrv_stmt *st = sqldrv_prep(c, msg_ends);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, msg_id);
    int rc = sqldrv_step(c, st);
    if (rc != 1) {
        sqldrv_reset(st);
        return rc < 0 ? rc : 0; /* the message was deleted from history: nobody to answer */
    }
    char *sender = sqldrv_col_text(st, 0), *receiver = sqldrv_col_text(st, 1);
    sqldrv_reset(st);
    rc = 0;
    if (sim_can_reply_to(sender)) { /* the mobile (the SMS's receiver) answers our number */
        store_incoming_add_req in = {.route = "sim", .sender = receiver, .receiver = sender,
                                     .text = text, .ts_ms = ts_ms, .reply_window_ms = window_ms};
        rc = sqlite__incoming_add(c, &in);
    }
    free(sender);
    free(receiver);
    return rc < 0 ? rc : 0;
}

int sqlite__sim_advance(store_conn *c, store_sim_advance_req *r) {
    /* dialect: PostgreSQL locks the due steps and skips those another node is advancing. */
    sqldrv_stmt *st = sqldrv_prep(c, sqldrv_dialect(c) == SQLDRV_POSTGRES
                                          ? sql_sim_due_skip_locked
                                          : sql_sim_due);
    if (!st) return SG_EIO;
    sqldrv_bind_int(st, 1, r->now_ms);
    sqldrv_bind_int(st, 2, (int64_t)r->limit);
    store_sim_step *steps = sg_xcalloc(r->limit ? r->limit : 1, sizeof *steps);
    size_t n = 0;
    int rc = 0;
    while (n < r->limit && (rc = sqldrv_step(c, st)) == 1) {
        steps[n].msg_id = sqldrv_col_int(st, 0);
        steps[n].outcome = (int)sqldrv_col_int(st, 1);
        steps[n].step = (int)sqldrv_col_int(st, 2);
        n++;
    }
    if (rc >= 0) sqldrv_reset(st);
    for (size_t i = 0; i < n && rc >= 0; i++) {
        sim_transition t;
        sim_transition_for(steps[i].outcome, steps[i].step, &t);
        if (t.reply_only) {
            rc = reply(c, steps[i].msg_id, t.reply, r->now_ms, r->reply_window_ms);
        } else {
            store_status_update u = {.msg_id = steps[i].msg_id, .state = t.state,
                                     .dlr = t.dlr, .ptt = t.ptt, .ts_ms = r->now_ms};
            rc = sqlite__apply_status(c, &u);
        }
        if (rc < 0) break;
        st = sqldrv_prep(c, sql_sim_step);
        if (!st) {
            rc = SG_EIO;
            break;
        }
        sqldrv_bind_int(st, 1, t.final);
        sqldrv_bind_int(st, 2, r->now_ms + t.delay_factor * r->delay_ms);
        sqldrv_bind_int(st, 3, !t.reply_only && t.state == MSG_DELIVERED);
        sqldrv_bind_int(st, 4, steps[i].msg_id);
        rc = sqldrv_done(c, st, "Advancing the sim");
    }
    free(steps);
    if (rc < 0) return rc;
    r->done = n;
    st = sqldrv_prep(c, sql_sim_next_due);
    if (!st) return SG_EIO;
    if ((rc = sqldrv_step(c, st)) < 0) return rc;
    r->next_due_ms = rc == 1 ? sqldrv_col_int(st, 0) : 0;
    sqldrv_reset(st);
    return 0;
}
