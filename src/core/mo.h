/*
 * mo.h - messages from mobiles (MO) as SMPP carries them: which alphabet a data_coding
 * names, the concatenation header of one part, and the decoding of a whole message's user
 * data to UTF-8.
 *
 * A message that came in several parts is decoded only once whole: each part's payload is
 * kept in a form that can be concatenated (GSM 03.38 as septets, one per byte, whether the
 * route sends them packed or not; Latin-1 and UCS-2 as the bytes received), so that a
 * character split across two parts (a GSM escape, a UTF-16 surrogate pair) comes out right.
 *
 * Pure, no state: callable from any thread (smpp/smpp_route.c parses, the store decodes when
 * the last part arrives). Tests: tests/unit/test_mo.c.
 */
#ifndef SG_CORE_MO_H
#define SG_CORE_MO_H

#include <stddef.h>
#include <stdint.h>

typedef enum { MO_GSM = 0, MO_LATIN1 = 1, MO_UCS2 = 2 } mo_coding;

/* The alphabet of an SMPP data_coding: 0x00 (SMSC default) and the GSM 03.38 groups' default
 * alphabet -> MO_GSM; 0x08 and the groups' UCS-2 -> MO_UCS2; 0x01 (IA5), 0x03 (Latin-1),
 * 8-bit data and the rest -> MO_LATIN1 (every byte is a character, nothing is lost). */
mo_coding mo_coding_of(unsigned data_coding);

/* One part of a message, its payload ready to be concatenated (above). */
typedef struct mo_part {
    mo_coding coding;
    uint8_t *data;  /* new (mo_part_fini): septets for MO_GSM, bytes otherwise */
    size_t len;
    int ref;        /* concatenation reference (UDH IE 0x00 or 0x08), when total > 1 */
    int total, seq; /* parts and this part's number, 1-based; total 1 for a whole message */
} mo_part;

/* Parses a short_message or message_payload: udhi (esm_class 0x40) says it starts with a
 * user data header (read for IE 0x00, 8-bit reference, and 0x08, 16-bit reference; others are
 * skipped); packed says GSM text is 8 septets in 7 bytes (the route's pack7), else one septet
 * per byte. A header that does not fit is treated as text. A reference whose part number is
 * not within 1..total is ignored (the part is taken as whole). Always succeeds. */
void mo_parse(unsigned data_coding, int udhi, int packed, const uint8_t *ud, size_t len,
              mo_part *out);
void mo_part_fini(mo_part *p);

/* The UTF-8 text (new, NUL-terminated) of a payload in coding; an odd trailing byte of UCS-2
 * is dropped, a U+0000 becomes a space. */
char *mo_text(mo_coding coding, const uint8_t *data, size_t len);

#endif
