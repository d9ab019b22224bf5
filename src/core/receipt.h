/*
 * receipt.h - delivery states, OVH's deliveryReceipt (DLR) codes and ptt codes.
 *
 * Pure tables: callable from any thread. The message state machine itself is in DESIGN.md:
 * scheduled -> queued -> submitting -> submitted -> enroute -> delivered | failed; cancelled.
 */
#ifndef SG_CORE_RECEIPT_H
#define SG_CORE_RECEIPT_H

typedef enum {
    MSG_SCHEDULED = 0,
    MSG_QUEUED,
    MSG_SUBMITTING,
    MSG_SUBMITTED,
    MSG_ENROUTE,
    MSG_DELIVERED,
    MSG_FAILED,
    MSG_CANCELLED,
    MSG__COUNT
} msg_state;

/* DLR codes of spec section 5.5. */
enum { DLR_PENDING = 0, DLR_DELIVERED = 1, DLR_FAILED = 2, DLR_ENROUTE = 4, DLR_SUBMITTED = 8,
       DLR_ERROR = 16 };

typedef enum { PTT_TEMPORARY = 0, PTT_PERMANENT = 1, PTT_INDETERMINATED = 2 } ptt_duration;

typedef struct receipt_ptt {
    int code;
    const char *description; /* short label */
    const char *comment;     /* longer explanation */
    ptt_duration duration;
    int final;               /* 1 when no further status change follows */
} receipt_ptt;

/* Looks up a ptt code; NULL if unknown. The result points into a static table. */
const receipt_ptt *receipt_ptt_find(int code);
/* The whole table, in ascending code order, and its length. */
const receipt_ptt *receipt_ptt_table(int *count);
/* "temporary", "permanent", "indeterminated"; NULL for an out-of-range value. */
const char *receipt_duration_name(ptt_duration d);

/* "scheduled", "queued", ...; NULL for an out-of-range value. */
const char *receipt_state_name(msg_state s);
/* Inverse of receipt_state_name; -1 if unknown. */
int receipt_state_parse(const char *name);

/* deliveryReceipt for a state (table in receipt.c); cancelled maps to 16 "not billed".
 * MSG_FAILED gives DLR_FAILED (2): a failure that was classified "undeliverable, not billed"
 * is stored with DLR_ERROR (16) by its caller, which reports that stored value instead.
 * Returns SG_EINVAL (-1) for an out-of-range state. */
int receipt_dlr_for_state(msg_state s);
/* OVH's text for a DLR code ("Success", "Failed", ...), used as descriptionDlr in callbacks.
 * Never NULL: "Unknown" for a code outside the table. */
const char *receipt_dlr_text(int dlr);
/* 1 if the state is final (delivered, failed, cancelled). */
int receipt_state_final(msg_state s);

#endif
