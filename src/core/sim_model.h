/*
 * sim_model.h - the behaviour of the embedded simulated operator network, as pure functions.
 *
 * The sim decides each message's fate from the last digits of its receiver (the documented
 * test numbers), then walks it through receipts. Kept pure (no I/O) so that both the sim route
 * and the store, which records the sim's progress atomically with the message's status, use
 * the same rules.
 *
 *   receiver ends in | outcome      | receipts (each after --sim-delay-ms)
 *   901              | rejected     | failed, deliveryReceipt 2, ptt 5
 *   902              | undeliverable| failed, deliveryReceipt 16, ptt 23 (refunded: not billed)
 *   903              | expires      | failed, deliveryReceipt 2, ptt 8
 *   904              | slow         | enroute (4, ptt 3), then after SIM_SLOW_STEPS delays
 *                    |              | delivered (1, ptt 4)
 *   905              | replies STOP | delivered (1, ptt 4), then one delay later the mobile
 *                    |              | answers "STOP" to the sender
 *   906              | replies      | delivered (1, ptt 4), then one delay later the mobile
 *                    |              | answers "Oui, merci" to the sender
 *   anything else    | delivered    | delivered, deliveryReceipt 1, ptt 4
 * Acceptance itself (submitted, deliveryReceipt 8) happens when the sim takes the message.
 *
 * A reply is a step of its own that changes no status (reply_only): the store records it as
 * an incoming message from the receiver to the SMS's sender, in the transaction of the step,
 * so it is stored exactly once. A mobile can only answer a number: an SMS sent from an
 * alphanumeric sender gets no reply (sim_can_reply_to).
 */
#ifndef SG_SIM_MODEL_H
#define SG_SIM_MODEL_H

#include <stdint.h>
#include "core/receipt.h"

enum sim_outcome { SIM_DELIVER = 0, SIM_REJECT = 1, SIM_UNDELIVERABLE = 2, SIM_EXPIRE = 3,
                   SIM_SLOW = 4, SIM_REPLY_STOP = 5, SIM_REPLY_THANKS = 6 };

/* The texts the sim's mobiles answer with. */
#define SIM_REPLY_STOP_TEXT "STOP"
#define SIM_REPLY_THANKS_TEXT "Oui, merci"

#define SIM_SLOW_STEPS 5

/* Outcome for a receiver in E.164 form. */
int sim_outcome_for(const char *receiver);

typedef struct sim_transition {
    msg_state state;
    int dlr, ptt;
    int final;            /* no further step */
    int delay_factor;     /* next step due after delay_factor * sim delay */
    int reply_only;       /* 1: no status change (state, dlr, ptt unused), only the reply */
    const char *reply;    /* the text the receiver answers at this step (static), or NULL */
} sim_transition;

/* The transition the sim makes at step (0 = first receipt) for an outcome. */
void sim_transition_for(int outcome, int step, sim_transition *out);

/* 1 when a mobile can answer an SMS from sender: a number (digits, an optional leading '+'),
 * short or long; 0 for an alphanumeric sender. */
int sim_can_reply_to(const char *sender);

#endif
