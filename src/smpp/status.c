/*
 * status.c - the command_status table of SMPP 3.4 (section 5.1.3) with smsgate's decision for
 * each code (see status.h).
 *
 * How codes were classed: "temporary" when the same submit may succeed later or through
 * another SMSC (system errors, queue or bind problems at the SMSC, responses we did not
 * understand); "throttle" when the SMSC explicitly asks for less traffic (ESME_RTHROTTLED,
 * ESME_RMSGQFUL): the route slows down and the message stays on it; "permanent" when the
 * message itself is refused (bad address, bad parameters, content refused), since sending it
 * unchanged elsewhere would fail the same way. Codes not in the table are temporary.
 *
 * The ptt column is what a message stores when it fails on that status: for a permanent
 * refusal at once, for a temporary one (or a throttle) once its retries are used up
 * (dispatch/dispatch.c): 25 "network failure" for the SMSC's own trouble, 39 "operator
 * failure" for a status nobody classified (ESME_RUNKNOWNERR and codes not in the table).
 *
 * Invariant: the table is sorted by code (binary search).
 */
#include "smpp/status.h"

#include <stdlib.h>

typedef struct status_row {
    uint32_t code;
    const char *name;
    smpp_class cls;
    int ptt;
    const char *text;
} status_row;

#define T SMPP_CLASS_TEMP
#define P SMPP_CLASS_PERM
#define H SMPP_CLASS_THROTTLE
static const status_row rows[] = {
    {0x00, "ESME_ROK", SMPP_CLASS_OK, 0, "ok"},
    {0x01, "ESME_RINVMSGLEN", P, 20, "message length is invalid"},
    {0x02, "ESME_RINVCMDLEN", P, 20, "command length is invalid"},
    {0x03, "ESME_RINVCMDID", P, 20, "invalid command id"},
    {0x04, "ESME_RINVBNDSTS", T, 25, "incorrect bind status for the command"},
    {0x05, "ESME_RALYBND", T, 25, "already bound"},
    {0x06, "ESME_RINVPRTFLG", P, 20, "invalid priority flag"},
    {0x07, "ESME_RINVREGDLVFLG", P, 20, "invalid registered delivery flag"},
    {0x08, "ESME_RSYSERR", T, 25, "system error"},
    {0x0A, "ESME_RINVSRCADR", P, 20, "invalid source address"},
    {0x0B, "ESME_RINVDSTADR", P, 23, "invalid destination address"},
    {0x0C, "ESME_RINVMSGID", P, 20, "message id is invalid"},
    {0x0D, "ESME_RBINDFAIL", T, 25, "bind failed"},
    {0x0E, "ESME_RINVPASWD", P, 0, "invalid password"},
    {0x0F, "ESME_RINVSYSID", P, 0, "invalid system id"},
    {0x11, "ESME_RCANCELFAIL", P, 0, "cancel failed"},
    {0x13, "ESME_RREPLACEFAIL", P, 0, "replace failed"},
    {0x14, "ESME_RMSGQFUL", H, 25, "message queue full"},
    {0x15, "ESME_RINVSERTYP", P, 20, "invalid service type"},
    {0x33, "ESME_RINVNUMDESTS", P, 20, "invalid number of destinations"},
    {0x34, "ESME_RINVDLNAME", P, 20, "invalid distribution list name"},
    {0x40, "ESME_RINVDESTFLAG", P, 20, "invalid destination flag"},
    {0x42, "ESME_RINVSUBREP", P, 20, "invalid submit with replace request"},
    {0x43, "ESME_RINVESMCLASS", P, 20, "invalid esm_class"},
    {0x44, "ESME_RCNTSUBDL", P, 20, "cannot submit to distribution list"},
    {0x45, "ESME_RSUBMITFAIL", T, 25, "submit failed"},
    {0x48, "ESME_RINVSRCTON", P, 20, "invalid source address TON"},
    {0x49, "ESME_RINVSRCNPI", P, 20, "invalid source address NPI"},
    {0x50, "ESME_RINVDSTTON", P, 23, "invalid destination address TON"},
    {0x51, "ESME_RINVDSTNPI", P, 23, "invalid destination address NPI"},
    {0x53, "ESME_RINVSYSTYP", P, 0, "invalid system_type"},
    {0x54, "ESME_RINVREPFLAG", P, 20, "invalid replace_if_present flag"},
    {0x55, "ESME_RINVNUMMSGS", P, 20, "invalid number of messages"},
    {0x58, "ESME_RTHROTTLED", H, 25, "throttling error: too many messages"},
    {0x61, "ESME_RINVSCHED", P, 20, "invalid scheduled delivery time"},
    {0x62, "ESME_RINVEXPIRY", P, 20, "invalid validity period"},
    {0x63, "ESME_RINVDFTMSGID", P, 20, "predefined message not found"},
    {0x64, "ESME_RX_T_APPN", T, 25, "temporary application error"},
    {0x65, "ESME_RX_P_APPN", P, 20, "permanent application error"},
    {0x66, "ESME_RX_R_APPN", P, 28, "message rejected by the application"},
    {0x67, "ESME_RQUERYFAIL", P, 0, "query failed"},
    {0xC0, "ESME_RINVOPTPARSTREAM", P, 20, "error in the optional part of the PDU"},
    {0xC1, "ESME_ROPTPARNOTALLWD", P, 20, "optional parameter not allowed"},
    {0xC2, "ESME_RINVPARLEN", P, 20, "invalid parameter length"},
    {0xC3, "ESME_RMISSINGOPTPARAM", P, 20, "expected optional parameter missing"},
    {0xC4, "ESME_RINVOPTPARAMVAL", P, 20, "invalid optional parameter value"},
    {0xFE, "ESME_RDELIVERYFAILURE", T, 25, "delivery failure"},
    {0xFF, "ESME_RUNKNOWNERR", T, 39, "unknown error"},
};
#undef T
#undef P
#undef H

static int cmp(const void *k, const void *e) {
    uint32_t a = *(const uint32_t *)k, b = ((const status_row *)e)->code;
    return a < b ? -1 : a > b;
}

static const status_row *find(uint32_t code) {
    return bsearch(&code, rows, sizeof rows / sizeof rows[0], sizeof rows[0], cmp);
}

smpp_class smpp_status_class(uint32_t status) {
    const status_row *r = find(status);
    return r ? r->cls : SMPP_CLASS_TEMP;
}

int smpp_status_ptt(uint32_t status) {
    const status_row *r = find(status);
    if (!r) return 39;
    return r->ptt ? r->ptt : 20;
}

const char *smpp_status_name(uint32_t status) {
    const status_row *r = find(status);
    return r ? r->name : "unknown";
}

const char *smpp_status_text(uint32_t status) {
    const status_row *r = find(status);
    return r ? r->text : "status not in SMPP 3.4 (vendor specific)";
}

const char *smpp_class_name(smpp_class c) {
    switch (c) {
    case SMPP_CLASS_OK: return "ok";
    case SMPP_CLASS_TEMP: return "temporary";
    case SMPP_CLASS_THROTTLE: return "throttle";
    default: return "permanent";
    }
}
