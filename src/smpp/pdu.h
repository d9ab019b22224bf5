/*
 * pdu.h - the SMPP 3.4 codec: PDUs as C structs, decoded from and encoded to bytes.
 *
 * Owns nothing and keeps no state: every function is pure and callable from any thread. The
 * layouts come from pdu.def (one table; this header and pdu.c expand it).
 *
 * Memory: C-Octet Strings are copied into fixed arrays inside the struct (they are short).
 * Octet strings (short_message, the message_payload and network_error_code TLVs) are
 * pointers: after smpp_pdu_decode() they point into the input buffer and are borrowed until
 * the caller releases it; for smpp_pdu_encode() they point to the caller's bytes.
 *
 * Decoding never trusts a length: the command_length must lie in [16, SMPP_PDU_MAX], every
 * field and TLV must end inside it, every C-Octet String must end with its NUL within its
 * maximum size. Unknown TLVs are skipped (bounds-checked); known ones must have a valid size.
 */
#ifndef SG_SMPP_PDU_H
#define SG_SMPP_PDU_H

#include <stddef.h>
#include <stdint.h>

#define SMPP_HEADER_LEN 16
#define SMPP_PDU_MAX (72 * 1024) /* the largest command_length accepted */

/* Command ids: SMPP_SUBMIT_SM, SMPP_SUBMIT_SM_RESP, ... */
enum smpp_command {
#define SMPP_CMD(NAME, name, id, shape) SMPP_##NAME = id,
#include "smpp/pdu.def"
#undef SMPP_CMD
};

/* Body structs: struct smpp_body_bind, smpp_body_sm, ... */
#define SMPP_U8(name) uint8_t name;
#define SMPP_CSTR(name, size) char name[size];
#define SMPP_SM(name) uint8_t name##_len; const uint8_t *name;
#define SMPP_SHAPE(shape, fields) struct smpp_body_##shape { fields uint8_t end_; };
#include "smpp/pdu.def"
#undef SMPP_SHAPE
#undef SMPP_U8
#undef SMPP_CSTR
#undef SMPP_SM

/* Known TLVs: one bit each in smpp_tlvs.present (SMPP_TLV_BIT(sar_msg_ref_num)). */
enum smpp_tlv_index {
#define SMPP_TLV(name, tag, type, max) SMPP_TLVI_##name,
#include "smpp/pdu.def"
#undef SMPP_TLV
    SMPP_TLVI__COUNT
};
#define SMPP_TLV_BIT(name) (1u << SMPP_TLVI_##name)

#define SMPP_TLV_U8(name, max) uint8_t name;
#define SMPP_TLV_U16(name, max) uint16_t name;
#define SMPP_TLV_CSTR(name, max) char name[max];
#define SMPP_TLV_OCTETS(name, max) const uint8_t *name; uint16_t name##_len;
typedef struct smpp_tlvs {
    uint32_t present; /* SMPP_TLV_BIT of each TLV set */
    uint32_t skipped; /* unknown TLVs skipped while decoding */
#define SMPP_TLV(name, tag, type, max) SMPP_TLV_##type(name, max)
#include "smpp/pdu.def"
#undef SMPP_TLV
} smpp_tlvs;
#undef SMPP_TLV_U8
#undef SMPP_TLV_U16
#undef SMPP_TLV_CSTR
#undef SMPP_TLV_OCTETS

typedef struct smpp_pdu {
    uint32_t command_id, command_status, sequence_number;
    union {
#define SMPP_SHAPE(shape, fields) struct smpp_body_##shape shape;
#include "smpp/pdu.def"
#undef SMPP_SHAPE
    } u;
    smpp_tlvs tlv;
} smpp_pdu;

/* Reads the command_length at the start of buf. Returns 0 and the length, SG_EAGAIN when
 * fewer than 4 bytes are there, SG_EINVAL when the length is outside [16, SMPP_PDU_MAX] (the
 * stream cannot be framed any more: close the connection). */
int smpp_pdu_peek(const uint8_t *buf, size_t len, uint32_t *pdu_len);

/* Decodes one PDU from buf. Returns 0; SG_EAGAIN when buf holds less than the whole PDU;
 * SG_ENOTFOUND for a command id outside the table (header fields are set: answer
 * generic_nack ESME_RINVCMDID); SG_EINVAL when the PDU is malformed (header fields are set
 * when the header was readable, *nack the status to answer with). A response whose
 * command_status is not 0 may have an empty body. *used is the PDU's length on success and on
 * SG_ENOTFOUND/SG_EINVAL after a valid header (the bytes to skip). out is zeroed first. */
int smpp_pdu_decode(const uint8_t *buf, size_t len, smpp_pdu *out, size_t *used, uint32_t *nack);

/* Encodes p into out (cap bytes). Returns 0 and the length in *len, SG_ENOTFOUND for an
 * unknown command id, SG_EINVAL when a string does not fit its field, an octet string is too
 * long, or cap is too small. A response with a non-zero command_status is encoded with the
 * body anyway (message_id "" is one NUL octet), as most SMSCs expect. */
int smpp_pdu_encode(const smpp_pdu *p, uint8_t *out, size_t cap, size_t *len);

/* Sets out to an empty PDU of the command (every field zero, strings empty). */
void smpp_pdu_init(smpp_pdu *out, uint32_t command_id, uint32_t sequence_number);

/* "submit_sm", "deliver_sm_resp", ...; NULL for an unknown id. */
const char *smpp_command_name(uint32_t command_id);

/* Writes a one-line description of p for debug logs into out (always NUL-terminated, cut at
 * cap). Octet strings are shown in hex, at most 32 octets. Returns out. */
char *smpp_pdu_dump(const smpp_pdu *p, char *out, size_t cap);

#endif
