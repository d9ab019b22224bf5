/*
 * dlr.c - delivery receipts (see dlr.h): detection, parsing, the stat/err table, and message
 * id normalisation.
 *
 * The stat/err table. SMSCs report a final word (Appendix B of SMPP 3.4: DELIVRD, EXPIRED,
 * DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD; ENROUTE and SKIPPED from later practice) and
 * often a network error code (GSM MAP error causes for most operators). The word gives the
 * state and the deliveryReceipt; the error code, when it names a known cause, gives a more
 * precise ptt:
 *
 *   stat     state      dlr  ptt   notes
 *   DELIVRD  delivered   1    4
 *   ACCEPTD  enroute     4    3    accepted, not final
 *   ENROUTE  enroute     4    2    still being delivered inside the network
 *   EXPIRED  failed      2    8    validity period ran out at the SMSC
 *   DELETED  failed      2    5
 *   UNDELIV  failed      2    5    refined by err (below)
 *   SKIPPED  failed      2    5
 *   UNKNOWN  failed      2    6    the operator does not know the outcome
 *   REJECTD  failed     16   20    refused by the SMSC: not billed; refined by err
 *   (other)  failed      2    6
 *
 *   err (GSM MAP cause)                       ptt
 *   1 unknown subscriber, 5 unidentified,      23  number invalid or barred
 *   9 illegal subscriber, 13 call barred
 *   6, 27 absent subscriber                    24  temporarily absent
 *   11 teleservice not provisioned,            27  handset cannot take this message
 *   12 illegal equipment, 21 not supported
 *   31 busy for MT SMS, 32 SM delivery failure 26  temporary handset error
 *   34 system failure, 35 data missing,        25  temporary network failure
 *   36 unexpected data value
 *
 * Id normalisation (which spellings of an operator id match) is a rule of its own, used by
 * the store: core/opid.c.
 */
#include "smpp/dlr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

static const struct stat_row {
    const char *stat;
    msg_state state;
    int dlr, ptt;
    int refine; /* 1: err may refine the ptt */
} stats[] = {
    {"DELIVRD", MSG_DELIVERED, DLR_DELIVERED, 4, 0},
    {"ACCEPTD", MSG_ENROUTE, DLR_ENROUTE, 3, 0},
    {"ENROUTE", MSG_ENROUTE, DLR_ENROUTE, 2, 0},
    {"EXPIRED", MSG_FAILED, DLR_FAILED, 8, 0},
    {"DELETED", MSG_FAILED, DLR_FAILED, 5, 0},
    {"UNDELIV", MSG_FAILED, DLR_FAILED, 5, 1},
    {"SKIPPED", MSG_FAILED, DLR_FAILED, 5, 0},
    {"UNKNOWN", MSG_FAILED, DLR_FAILED, 6, 0},
    {"REJECTD", MSG_FAILED, DLR_ERROR, 20, 1},
};

static const struct err_row {
    int err, ptt;
} errs[] = {
    {1, 23}, {5, 23}, {6, 24}, {9, 23}, {11, 27}, {12, 27}, {13, 23}, {21, 27},
    {27, 24}, {31, 26}, {32, 26}, {34, 25}, {35, 25}, {36, 25},
};

/* message_state TLV values (SMPP 3.4 5.2.28). */
static const char *const state_words[] = {NULL, "ENROUTE", "DELIVRD", "EXPIRED", "DELETED",
                                          "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD",
                                          "SKIPPED"};

const char *smpp_dlr_state_word(int message_state) {
    if (message_state < 1 || message_state > 9) return NULL;
    return state_words[message_state];
}

int smpp_dlr_map(const char *stat, int err, msg_state *state, int *dlr, int *ptt) {
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        if (strcasecmp(stat, stats[i].stat) != 0) continue;
        *state = stats[i].state;
        *dlr = stats[i].dlr;
        *ptt = stats[i].ptt;
        if (stats[i].refine && err > 0)
            for (size_t k = 0; k < sizeof errs / sizeof errs[0]; k++)
                if (errs[k].err == err) *ptt = errs[k].ptt;
        return 0;
    }
    *state = MSG_FAILED;
    *dlr = DLR_FAILED;
    *ptt = 6;
    return SG_ENOTFOUND;
}

int smpp_dlr_is_receipt(const smpp_pdu *p) {
    if (p->tlv.present & SMPP_TLV_BIT(receipted_message_id)) return 1;
    uint8_t esm = p->command_id == SMPP_DATA_SM ? p->u.data.esm_class : p->u.sm.esm_class;
    uint8_t type = esm & 0x3C;
    return type == 0x04 || type == 0x20;
}

/* Copies the value after "key:" at p (up to a blank) into out. */
static void take(const char *p, const char *end, char *out, size_t cap) {
    size_t n = 0;
    while (p < end && !isspace((unsigned char)*p) && n + 1 < cap) out[n++] = *p++;
    out[n] = '\0';
}

int smpp_dlr_parse_text(const char *text, size_t len, char *id, size_t idcap, char *stat,
                        size_t statcap, int *err) {
    id[0] = stat[0] = '\0';
    *err = -1;
    const char *end = text + len;
    for (const char *p = text; p < end; p++) {
        if (p != text && !isspace((unsigned char)p[-1])) continue; /* keys start a word */
        size_t left = (size_t)(end - p);
        if (left > 3 && !strncasecmp(p, "id:", 3) && !id[0]) {
            take(p + 3, end, id, idcap);
        } else if (left > 5 && !strncasecmp(p, "stat:", 5) && !stat[0]) {
            take(p + 5, end, stat, statcap);
        } else if (left > 4 && !strncasecmp(p, "err:", 4) && *err < 0) {
            char v[16];
            take(p + 4, end, v, sizeof v);
            char *e;
            long x = strtol(v, &e, 10);
            if (e != v && x >= 0 && x < 100000) *err = (int)x;
        }
    }
    return id[0] && stat[0] ? 0 : SG_EINVAL;
}

int smpp_dlr_parse(const smpp_pdu *p, smpp_dlr *out) {
    memset(out, 0, sizeof *out);
    out->err = -1;
    /* The text: short_message of a deliver_sm, or a message_payload. */
    const uint8_t *txt = NULL;
    size_t tlen = 0;
    if (p->tlv.present & SMPP_TLV_BIT(message_payload)) {
        txt = p->tlv.message_payload;
        tlen = p->tlv.message_payload_len;
    } else if (p->command_id == SMPP_DELIVER_SM) {
        txt = p->u.sm.short_message;
        tlen = p->u.sm.short_message_len;
    }
    if (txt && tlen)
        smpp_dlr_parse_text((const char *)txt, tlen, out->id, sizeof out->id, out->stat,
                            sizeof out->stat, &out->err);
    if (p->tlv.present & SMPP_TLV_BIT(receipted_message_id))
        snprintf(out->id, sizeof out->id, "%s", p->tlv.receipted_message_id);
    if (p->tlv.present & SMPP_TLV_BIT(message_state)) {
        const char *w = smpp_dlr_state_word(p->tlv.message_state);
        if (w) snprintf(out->stat, sizeof out->stat, "%s", w);
    }
    if ((p->tlv.present & SMPP_TLV_BIT(network_error_code)) && p->tlv.network_error_code_len == 3)
        out->err = p->tlv.network_error_code[1] << 8 | p->tlv.network_error_code[2];
    if (!out->id[0] || !out->stat[0]) return SG_EINVAL;
    smpp_dlr_map(out->stat, out->err, &out->state, &out->dlr, &out->ptt);
    return 0;
}
