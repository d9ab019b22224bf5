/*
 * sim_model.c - the simulated operator's rules (see sim_model.h for the table).
 */
#include "core/sim_model.h"

#include <string.h>

int sim_outcome_for(const char *receiver) {
    size_t n = strlen(receiver);
    if (n < 3) return SIM_DELIVER;
    const char *t = receiver + n - 3;
    if (!strcmp(t, "901")) return SIM_REJECT;
    if (!strcmp(t, "902")) return SIM_UNDELIVERABLE;
    if (!strcmp(t, "903")) return SIM_EXPIRE;
    if (!strcmp(t, "904")) return SIM_SLOW;
    if (!strcmp(t, "905")) return SIM_REPLY_STOP;
    if (!strcmp(t, "906")) return SIM_REPLY_THANKS;
    return SIM_DELIVER;
}

void sim_transition_for(int outcome, int step, sim_transition *out) {
    memset(out, 0, sizeof *out);
    out->final = 1;
    out->delay_factor = 1;
    switch (outcome) {
    case SIM_REJECT: out->state = MSG_FAILED; out->dlr = DLR_FAILED; out->ptt = 5; break;
    case SIM_UNDELIVERABLE: out->state = MSG_FAILED; out->dlr = DLR_ERROR; out->ptt = 23; break;
    case SIM_EXPIRE: out->state = MSG_FAILED; out->dlr = DLR_FAILED; out->ptt = 8; break;
    case SIM_SLOW:
        if (step == 0) {
            out->state = MSG_ENROUTE;
            out->dlr = DLR_ENROUTE;
            out->ptt = 3;
            out->final = 0;
            out->delay_factor = SIM_SLOW_STEPS;
            break;
        }
        out->state = MSG_DELIVERED; /* delivered at last */
        out->dlr = DLR_DELIVERED;
        out->ptt = 4;
        break;
    case SIM_REPLY_STOP:
    case SIM_REPLY_THANKS:
        if (step == 0) { /* delivered, and the answer comes one delay later */
            out->state = MSG_DELIVERED;
            out->dlr = DLR_DELIVERED;
            out->ptt = 4;
            out->final = 0;
            break;
        }
        out->reply_only = 1;
        out->reply = outcome == SIM_REPLY_STOP ? SIM_REPLY_STOP_TEXT : SIM_REPLY_THANKS_TEXT;
        break;
    default: out->state = MSG_DELIVERED; out->dlr = DLR_DELIVERED; out->ptt = 4; break;
    }
}

int sim_can_reply_to(const char *sender) {
    if (!sender) return 0;
    if (*sender == '+') sender++;
    if (!*sender) return 0;
    for (; *sender; sender++)
        if (*sender < '0' || *sender > '9') return 0;
    return 1;
}
