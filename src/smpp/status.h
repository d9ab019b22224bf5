/*
 * status.h - SMPP command_status values and what smsgate does about each: the one table that
 * decides whether a refusal is temporary (try again later or on another route), a throttle
 * (slow this route down and retry on it), or permanent (the message fails), and which ptt a
 * permanent refusal stores.
 *
 * Pure table, no state: callable from any thread.
 */
#ifndef SG_SMPP_STATUS_H
#define SG_SMPP_STATUS_H

#include <stdint.h>

enum {
    SMPP_ESME_ROK = 0x00000000u,
    SMPP_ESME_RINVMSGLEN = 0x00000001u,
    SMPP_ESME_RINVCMDLEN = 0x00000002u,
    SMPP_ESME_RINVCMDID = 0x00000003u,
    SMPP_ESME_RINVBNDSTS = 0x00000004u,
    SMPP_ESME_RALYBND = 0x00000005u,
    SMPP_ESME_RSYSERR = 0x00000008u,
    SMPP_ESME_RINVSRCADR = 0x0000000Au,
    SMPP_ESME_RINVDSTADR = 0x0000000Bu,
    SMPP_ESME_RBINDFAIL = 0x0000000Du,
    SMPP_ESME_RINVPASWD = 0x0000000Eu,
    SMPP_ESME_RINVSYSID = 0x0000000Fu,
    SMPP_ESME_RMSGQFUL = 0x00000014u,
    SMPP_ESME_RTHROTTLED = 0x00000058u,
    SMPP_ESME_RX_T_APPN = 0x00000064u,
    SMPP_ESME_RINVPARLEN = 0x000000C2u,
    SMPP_ESME_RUNKNOWNERR = 0x000000FFu,
};

typedef enum {
    SMPP_CLASS_OK = 0,   /* success */
    SMPP_CLASS_TEMP,     /* temporary: retry later or fail over to another route */
    SMPP_CLASS_THROTTLE, /* the SMSC asks us to slow down: retry on the same route, later */
    SMPP_CLASS_PERM      /* permanent: the message fails */
} smpp_class;

/* The class of a command_status (unknown codes are temporary, so nothing is failed on a code
 * we do not understand; validity periods bound the retries). */
smpp_class smpp_status_class(uint32_t status);
/* ptt stored when a message fails on this status: a permanent refusal 20 "undeliverable as
 * sent" unless the table is more precise (23 for an invalid destination); a temporary one
 * whose retries ran out 25 "network failure", or 39 "operator failure" for ESME_RUNKNOWNERR
 * and codes not in the table. */
int smpp_status_ptt(uint32_t status);
/* "ESME_RTHROTTLED"; "unknown" for codes outside the table. Never NULL. */
const char *smpp_status_name(uint32_t status);
/* "throttled", "invalid destination address", ...; never NULL. */
const char *smpp_status_text(uint32_t status);
/* "ok", "temporary", "throttle", "permanent". */
const char *smpp_class_name(smpp_class c);

#endif
