/*
 * receipt.c - the tables behind receipt.h: message states and their names, OVH deliveryReceipt
 * (DLR) codes and their texts, and the ptt (detailed status) codes of spec section 5.5.
 *
 * Design: constant tables and lookups, no state, so every function is callable from any
 * thread. The ptt table is sorted by code and searched with bsearch; the state tables are
 * indexed by msg_state.
 *
 * States, DLR and finality (the state machine itself lives in DESIGN.md):
 *
 *   state        DLR  text                final
 *   scheduled      0  "Pending"           no
 *   queued         0  "Pending"           no
 *   submitting     0  "Pending"           no
 *   submitted      8  "Buffered"          no    accepted by the operator's SMSC
 *   enroute        4  "Waiting"           no    queued at the operator for the handset
 *   delivered      1  "Success"           yes
 *   failed         2  "Failed"            yes   (16 when the caller stored "not billed")
 *   cancelled     16  "Error, not billed" yes
 *
 * Cancelled has no DLR of its own at OVH. A cancelled message was never sent and never
 * charged, and 16 is the one code whose meaning is "did not go out, not billed", so that is the
 * closest honest answer for a customer reading deliveryReceipt.
 *
 * The ptt list is OVH's published (non-exhaustive) one, paraphrased; durations follow the spec:
 * "temporary" when sending the same message again later could succeed, "permanent" when it
 * cannot (or when it already succeeded), "indeterminated" when nobody knows. Code 0 is not in
 * OVH's list but appears in exports of the newer platform with "Success", so it is read as
 * "success, no detail".
 *
 * Invariants:
 *   1. ptt_table is sorted by strictly increasing code (bsearch relies on it; the unit test
 *      checks it).
 *   2. state_names and state_dlr have exactly MSG__COUNT entries, in msg_state order.
 *   3. Every returned string is a static constant; callers never free it.
 */
#include "core/receipt.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static const receipt_ptt ptt_table[] = {
    {0, "Success",
     "Delivered; the platform reported success without a more detailed code.",
     PTT_PERMANENT, 1},
    {1, "Handset problem, retrying",
     "Not delivered yet: the handset could not take the message for now and the operator "
     "keeps trying.",
     PTT_TEMPORARY, 0},
    {2, "Network problem, retrying",
     "Not delivered yet: a problem inside the operator's network is delaying the message, "
     "which the network keeps retrying.",
     PTT_TEMPORARY, 0},
    {3, "Accepted by the operator",
     "The operator's message centre took the message; the handset has not confirmed it yet.",
     PTT_TEMPORARY, 0},
    {4, "Delivered",
     "The handset acknowledged the message.",
     PTT_PERMANENT, 1},
    {5, "Not delivered",
     "The operator confirmed that the message was not delivered and gave no reason.",
     PTT_PERMANENT, 1},
    {6, "Outcome unknown",
     "The operator never sent a final status, so whether the message arrived cannot be known.",
     PTT_INDETERMINATED, 1},
    {8, "Expired",
     "The message waited in the operator's message centre until its validity period ran "
     "out; no reason was given.",
     PTT_TEMPORARY, 1},
    {20, "Undeliverable as sent",
     "The message cannot be delivered in its current form; sending it again unchanged will "
     "fail the same way.",
     PTT_PERMANENT, 1},
    {21, "Prepaid subscriber without credit",
     "The receiver's prepaid account stayed without credit until the message expired.",
     PTT_TEMPORARY, 1},
    {23, "Invalid or barred number",
     "The number does not exist, is barred or is blacklisted for this operator; stop "
     "sending to it.",
     PTT_PERMANENT, 1},
    {24, "Subscriber absent",
     "The handset stayed switched off or out of coverage until the message expired.",
     PTT_TEMPORARY, 1},
    {25, "Network failure",
     "A temporary fault in the operator's network (signalling, message centre or gateway) "
     "stopped the message; a later attempt may succeed.",
     PTT_TEMPORARY, 1},
    {26, "Handset error",
     "The handset could not store the message (SIM memory full, busy); a later attempt may "
     "succeed.",
     PTT_TEMPORARY, 1},
    {27, "Handset cannot receive this message",
     "The handset or the subscription is permanently unable to receive this kind of message.",
     PTT_PERMANENT, 1},
    {28, "Rejected as spam",
     "The operator's filters took the message for spam and refused it.",
     PTT_PERMANENT, 1},
    {29, "Content not allowed",
     "This content is not allowed on the receiver's network or for this short code.",
     PTT_PERMANENT, 1},
    {33, "Blocked by parental control",
     "A parental lock on the receiver's line blocked content considered for adults.",
     PTT_PERMANENT, 1},
    {39, "Operator failure",
     "The operator reported a failure it did not classify; whether retrying helps is unknown.",
     PTT_INDETERMINATED, 1},
    {73, "Ported number unreachable",
     "The number moved to another operator, which could not be reached.",
     PTT_TEMPORARY, 1},
    {74, "Number roaming",
     "The receiver is roaming on a network that did not deliver the message.",
     PTT_TEMPORARY, 1},
    {76, "Ported number blocked",
     "The number moved to an operator that blocks messages from this sender account.",
     PTT_PERMANENT, 1},
    {202, "Ported number blocked, contact support",
     "The ported number is blocked for this sender account; only support can lift the block.",
     PTT_PERMANENT, 1},
};

#define PTT_COUNT ((int)(sizeof ptt_table / sizeof ptt_table[0]))

static const char *const state_names[MSG__COUNT] = {
    [MSG_SCHEDULED] = "scheduled", [MSG_QUEUED] = "queued",   [MSG_SUBMITTING] = "submitting",
    [MSG_SUBMITTED] = "submitted", [MSG_ENROUTE] = "enroute", [MSG_DELIVERED] = "delivered",
    [MSG_FAILED] = "failed",       [MSG_CANCELLED] = "cancelled",
};

static const int state_dlr[MSG__COUNT] = {
    [MSG_SCHEDULED] = DLR_PENDING,   [MSG_QUEUED] = DLR_PENDING,   [MSG_SUBMITTING] = DLR_PENDING,
    [MSG_SUBMITTED] = DLR_SUBMITTED, [MSG_ENROUTE] = DLR_ENROUTE,  [MSG_DELIVERED] = DLR_DELIVERED,
    [MSG_FAILED] = DLR_FAILED,       [MSG_CANCELLED] = DLR_ERROR,
};

static int valid_state(msg_state s) {
    return (int)s >= 0 && s < MSG__COUNT;
}

static int cmp_ptt(const void *key, const void *elem) {
    int a = *(const int *)key, b = ((const receipt_ptt *)elem)->code;
    return (a > b) - (a < b);
}

const receipt_ptt *receipt_ptt_find(int code) {
    return bsearch(&code, ptt_table, PTT_COUNT, sizeof ptt_table[0], cmp_ptt);
}

const receipt_ptt *receipt_ptt_table(int *count) {
    if (count) *count = PTT_COUNT;
    return ptt_table;
}

const char *receipt_duration_name(ptt_duration d) {
    switch (d) {
    case PTT_TEMPORARY: return "temporary";
    case PTT_PERMANENT: return "permanent";
    case PTT_INDETERMINATED: return "indeterminated";
    }
    return NULL;
}

const char *receipt_state_name(msg_state s) {
    return valid_state(s) ? state_names[s] : NULL;
}

int receipt_state_parse(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < MSG__COUNT; i++)
        if (strcmp(name, state_names[i]) == 0) return i;
    return -1;
}

int receipt_dlr_for_state(msg_state s) {
    return valid_state(s) ? state_dlr[s] : SG_EINVAL;
}

const char *receipt_dlr_text(int dlr) {
    switch (dlr) {
    case DLR_PENDING: return "Pending";
    case DLR_DELIVERED: return "Success";
    case DLR_FAILED: return "Failed";
    case DLR_ENROUTE: return "Waiting";
    case DLR_SUBMITTED: return "Buffered";
    case DLR_ERROR: return "Error, not billed";
    default: return "Unknown";
    }
}

int receipt_state_final(msg_state s) {
    return s == MSG_DELIVERED || s == MSG_FAILED || s == MSG_CANCELLED;
}
