/*
 * msgstate.h - the message state machine as pure rules: which state may follow which, what a
 * status change does besides moving the state (first acceptance, delivery time, refund), how
 * the receipts of a multi-part message add up to the message's state, and which messages are
 * billed.
 *
 * Pure, no state: callable from any thread. Every store backend applies status changes
 * through msgstate_change() (store/sqlite_msg.c sqlite__apply_status), so the rules are
 * written once, here, and tested alone (tests/unit/test_msgstate.c). The states and codes are
 * core/receipt.h's.
 */
#ifndef SG_CORE_MSGSTATE_H
#define SG_CORE_MSGSTATE_H

#include <stdint.h>

#include "core/receipt.h"

/* The order states move in: scheduled 0, queued 1, submitting 2, submitted 3, enroute 4,
 * final (delivered, failed, cancelled) 5. Anything else counts as final. */
int msgstate_rank(msg_state s);

/* 1 while the message has not reached an operator (scheduled, queued, submitting): it may
 * still be claimed, cancelled or retried, and it cannot be deleted from the history. */
int msgstate_pending(msg_state s);

/* 1 when a message that is not sent yet has outlived its validity period at now_ms: its end
 * is expires_ms once set (a retry moved due_ms and kept the end there), else due_ms +
 * validity_min minutes; no end without a validity period. */
int msgstate_expired(int64_t expires_ms, int64_t due_ms, int64_t validity_min, int64_t now_ms);

/* What applying a status change does. */
typedef struct msgstate_effect {
    int requeue;   /* submitting -> queued: back to the queue; no event, no other change */
    int sent_now;  /* an operator took the message for the first time: set sent_ms */
    int delivered; /* set delivered_ms */
    int refund;    /* give the message's credits back (at most once: a final state is sticky) */
} msgstate_effect;

/* Decides a status change of a message in state cur (was_sent: it has a sent_ms) to next,
 * with deliveryReceipt dlr; has_smsc_id: the change names the operator's id of the message (a
 * failure reported by an operator that had accepted it). Returns 1 and fills *e when the change
 * applies, 0 when it is stale and must be ignored:
 *   - final states never change;
 *   - queued follows only submitting (a requeue; a scheduled message that falls due is
 *     claimed as it is, scheduled -> submitting);
 *   - cancelled follows only scheduled or queued;
 *   - any other state must rank above cur (a state only moves forward).
 * The refund rule: a failure is refunded when it is "not billed" (deliveryReceipt 16) or when
 * no operator ever took the message. A cancel's refund is the canceller's (msg_cancel, a
 * campaign's cancel), so refund is 0 for it. */
int msgstate_change(msg_state cur, int was_sent, msg_state next, int dlr, int has_smsc_id,
                    msgstate_effect *e);

/* 1 when a message in state s with deliveryReceipt dlr (was_sent: it has a sent_ms) costs its
 * credits: every message except cancelled ones and the failures msgstate_change() refunds.
 * (store/sql_campaigns.c's BILLED_SQL is the same rule in SQL.) */
int msgstate_billed(msg_state s, int dlr, int was_sent);

/* ---- the parts of a message sent in several SMPP parts ---- */

/* 1 when a part's receipt (state next) moves the part on from state cur (-1: no receipt yet):
 * submitted < enroute < final (delivered, failed). Repeated and older receipts do not. */
int msgstate_part_newer(int cur, int next);

/* The receipts of the parts of one message, gathered one part at a time. */
typedef struct msgstate_parts {
    int nparts;       /* parts of the message */
    int nfinal;       /* parts with a final receipt */
    int ndelivered;   /* of which delivered */
    int fdlr, fptt;   /* deliveryReceipt and ptt of the first failed part (in part order) */
    int all_not_billed; /* every failed part was "not billed" (16) */
} msgstate_parts;

void msgstate_parts_init(msgstate_parts *a, int nparts);
/* Adds the latest receipt of one part, in part order. */
void msgstate_parts_add(msgstate_parts *a, int state, int dlr, int ptt);
/* The message's state from its parts' receipts:
 *   - not all parts final yet: enroute (4, ptt 3);
 *   - all delivered: delivered (1, ptt 4);
 *   - otherwise failed, with the deliveryReceipt and ptt of the first failed part, except that
 *     16 ("not billed", which refunds the message) is kept only when no part was delivered and
 *     every failed part said 16; otherwise it becomes 2.
 * So a multi-part message is reported final exactly once, when its last part is final. */
void msgstate_parts_result(const msgstate_parts *a, msg_state *state, int *dlr, int *ptt);

#endif
