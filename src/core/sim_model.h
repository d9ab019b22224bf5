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
 *   anything else    | delivered    | delivered, deliveryReceipt 1, ptt 4
 * Acceptance itself (submitted, deliveryReceipt 8) happens when the sim takes the message.
 */
#ifndef SG_SIM_MODEL_H
#define SG_SIM_MODEL_H

#include <stdint.h>
#include "core/receipt.h"

enum sim_outcome { SIM_DELIVER = 0, SIM_REJECT = 1, SIM_UNDELIVERABLE = 2, SIM_EXPIRE = 3,
                   SIM_SLOW = 4 };

#define SIM_SLOW_STEPS 5

/* Outcome for a receiver in E.164 form. */
int sim_outcome_for(const char *receiver);

typedef struct sim_transition {
    msg_state state;
    int dlr, ptt;
    int final;            /* no further step */
    int delay_factor;     /* next step due after delay_factor * sim delay */
} sim_transition;

/* The transition the sim makes at step (0 = first receipt) for an outcome. */
void sim_transition_for(int outcome, int step, sim_transition *out);

#endif
