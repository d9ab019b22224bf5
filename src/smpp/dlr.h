/*
 * dlr.h - delivery receipts from SMSCs: recognising them among deliver_sm/data_sm, reading the
 * operator's message id and final state (from the receipt text "id:... stat:... err:..." or
 * from the receipted_message_id / message_state / network_error_code TLVs), and mapping stat and
 * err to smsgate's state, deliveryReceipt and ptt in one table. Matching the ids ("0000ABCD",
 * "abcd" and "43981" name one message) is core/opid.h.
 *
 * Pure functions, no state: callable from any thread.
 */
#ifndef SG_SMPP_DLR_H
#define SG_SMPP_DLR_H

#include <stddef.h>

#include "core/receipt.h"
#include "smpp/pdu.h"

typedef struct smpp_dlr {
    char id[66];     /* the operator's message id, as received */
    char stat[12];   /* "DELIVRD", "UNDELIV", ... (from a message_state TLV: its name) */
    int err;         /* network error code; -1 when none was given */
    msg_state state; /* MSG_ENROUTE, MSG_DELIVERED or MSG_FAILED */
    int dlr, ptt;
} smpp_dlr;

/* 1 when a deliver_sm or data_sm carries a delivery receipt (esm_class message type 0x04 or
 * 0x20, or a receipted_message_id TLV), 0 when it is a mobile-originated message. */
int smpp_dlr_is_receipt(const smpp_pdu *p);

/* Reads the receipt in p. The TLVs win over the text when both are present. Returns 0, or
 * SG_EINVAL when neither gives a message id and a state. */
int smpp_dlr_parse(const smpp_pdu *p, smpp_dlr *out);

/* Reads "id:X ... stat:S ... err:E" from a receipt text (keys in any case and order, values up
 * to the next blank). id and stat are "" and *err -1 when absent. Returns 0 when id and stat
 * were both found, SG_EINVAL otherwise. */
int smpp_dlr_parse_text(const char *text, size_t len, char *id, size_t idcap, char *stat,
                        size_t statcap, int *err);

/* Maps a stat word and an err code (-1 = none) to state, deliveryReceipt and ptt. Returns 0,
 * or SG_ENOTFOUND for an unknown stat (which then maps to failed, 2, ptt 6 "outcome
 * unknown"). */
int smpp_dlr_map(const char *stat, int err, msg_state *state, int *dlr, int *ptt);

/* The stat word of a message_state TLV value (1..9); NULL outside that range. */
const char *smpp_dlr_state_word(int message_state);

#endif
