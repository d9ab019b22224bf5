/*
 * msgstate.c - the message state machine (see msgstate.h).
 *
 *   scheduled --due--> queued --claim--> submitting --accepted--> submitted --> enroute
 *       |                 |  ^               |                        |            |
 *       +--cancel---------+  +---requeue-----+                        +------------+--> delivered
 *       v                                    +--refused/expired----------------------> failed
 *   cancelled
 *
 * Invariants:
 *  1. A state only moves forward by rank; the one step back is submitting -> queued (a retry,
 *     or a claim given up), which changes nothing the customer sees.
 *  2. Final states (delivered, failed, cancelled) never change, so a message is refunded at
 *     most once: by the change that made it failed, or by its cancel.
 *  3. sent_now is set by the first change that shows an operator took the message: submitted,
 *     enroute, delivered, or a failure that names the operator's id.
 */
#include "core/msgstate.h"

int msgstate_rank(msg_state s) {
    switch (s) {
    case MSG_SCHEDULED: return 0;
    case MSG_QUEUED: return 1;
    case MSG_SUBMITTING: return 2;
    case MSG_SUBMITTED: return 3;
    case MSG_ENROUTE: return 4;
    default: return 5;
    }
}

int msgstate_pending(msg_state s) { return msgstate_rank(s) < 3; }

int msgstate_expired(int64_t expires_ms, int64_t due_ms, int64_t validity_min, int64_t now_ms) {
    int64_t end = expires_ms ? expires_ms : validity_min > 0 ? due_ms + validity_min * 60000 : 0;
    return end && end < now_ms;
}

int msgstate_change(msg_state cur, int was_sent, msg_state next, int dlr, int has_smsc_id,
                    msgstate_effect *e) {
    e->requeue = e->sent_now = e->delivered = e->refund = 0;
    if (msgstate_rank(cur) == 5) return 0; /* final states are sticky */
    if (next == MSG_QUEUED) {
        if (cur != MSG_SUBMITTING) return 0;
        e->requeue = 1;
        return 1;
    }
    if (next == MSG_CANCELLED) {
        if (cur != MSG_SCHEDULED && cur != MSG_QUEUED) return 0;
    } else if (msgstate_rank(next) <= msgstate_rank(cur)) {
        return 0;
    }
    e->sent_now = !was_sent && (next == MSG_SUBMITTED || next == MSG_ENROUTE ||
                                next == MSG_DELIVERED || (next == MSG_FAILED && has_smsc_id));
    e->delivered = next == MSG_DELIVERED;
    e->refund = next == MSG_FAILED && (dlr == DLR_ERROR || !(was_sent || e->sent_now));
    return 1;
}

int msgstate_billed(msg_state s, int dlr, int was_sent) {
    if (s == MSG_CANCELLED) return 0;
    if (s == MSG_FAILED && (dlr == DLR_ERROR || !was_sent)) return 0;
    return 1;
}

/* Part ranks: nothing yet 0, submitted 1, enroute 2, final 3. */
static int part_rank(int s) {
    switch (s) {
    case MSG_SUBMITTED: return 1;
    case MSG_ENROUTE: return 2;
    case MSG_DELIVERED:
    case MSG_FAILED: return 3;
    default: return 0;
    }
}

int msgstate_part_newer(int cur, int next) { return cur < 0 || part_rank(next) > part_rank(cur); }

void msgstate_parts_init(msgstate_parts *a, int nparts) {
    *a = (msgstate_parts){.nparts = nparts, .all_not_billed = 1};
}

void msgstate_parts_add(msgstate_parts *a, int state, int dlr, int ptt) {
    if (part_rank(state) < 3) return;
    a->nfinal++;
    if (state == MSG_DELIVERED) {
        a->ndelivered++;
        return;
    }
    if (!a->fdlr) {
        a->fdlr = dlr;
        a->fptt = ptt;
    }
    if (dlr != DLR_ERROR) a->all_not_billed = 0;
}

void msgstate_parts_result(const msgstate_parts *a, msg_state *state, int *dlr, int *ptt) {
    if (a->nfinal < a->nparts) {
        *state = MSG_ENROUTE;
        *dlr = DLR_ENROUTE;
        *ptt = 3;
    } else if (a->ndelivered == a->nparts) {
        *state = MSG_DELIVERED;
        *dlr = DLR_DELIVERED;
        *ptt = 4;
    } else {
        *state = MSG_FAILED;
        *dlr = a->all_not_billed && a->ndelivered == 0
                   ? DLR_ERROR
                   : (a->fdlr == DLR_ERROR ? DLR_FAILED : a->fdlr);
        *ptt = a->fptt;
    }
}
