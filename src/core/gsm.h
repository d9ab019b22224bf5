/*
 * gsm.h - SMS text encoding: GSM 03.38 7-bit default alphabet or UCS-2 (UTF-16BE), and
 * cutting a text into the parts of a concatenated SMS.
 *
 * Pure functions, no I/O, no global state: callable from any thread. Nothing is allocated:
 * every result goes into a buffer the caller provides and owns.
 * Rules: a text that only uses the GSM-7 default alphabet and its extension table is sent
 * as GSM-7, every extension character (form feed ^ { } \ [ ~ ] | and the euro sign) counting as
 * two septets; anything else makes the whole text UCS-2, where a character outside the BMP counts
 * as two UTF-16 units. Single SMS: 160 septets / 70 units; concatenated parts: 153 / 67.
 * A part never ends in the middle of an escape sequence or a surrogate pair.
 * The tables are exactly those of 3GPP TS 23.038, with no look-alike substitution: 0x09 is
 * capital C cedilla, so a French text containing a small c cedilla (U+00E7) goes as UCS-2.
 */
#ifndef SG_CORE_GSM_H
#define SG_CORE_GSM_H

#include <stddef.h>
#include <stdint.h>

typedef enum { GSM_CODING_7BIT = 0, GSM_CODING_UCS2 = 1 } gsm_coding;

typedef struct gsm_info {
    gsm_coding coding;
    size_t units;        /* septets (GSM-7, escapes counted) or UTF-16 units (UCS-2) */
    size_t chars;        /* Unicode code points in the text */
    size_t parts;        /* number of SMS (0 for an empty text) */
    size_t per_part;     /* capacity of one part: 160/70 when single, 153/67 when multi-part */
} gsm_info;

#define GSM_SINGLE_7BIT 160
#define GSM_MULTI_7BIT 153
#define GSM_SINGLE_UCS2 70
#define GSM_MULTI_UCS2 67

/* Analyses UTF-8 text (utf8 may be NULL when len is 0). Returns 0, or SG_EINVAL when the text
 * is not valid UTF-8 (overlongs, surrogates, code points above U+10FFFF and truncated or stray
 * bytes are invalid); *out is written only on success. parts is what gsm_split() will
 * produce for the encoded text, so a boundary that would cut an escape or a surrogate pair
 * can add a part. An empty text has 0 parts and per_part 160. */
int gsm_analyze(const char *utf8, size_t len, gsm_info *out);

/* The number of code points in the len bytes of text at s, or (size_t)-1 when they are not
 * valid UTF-8. Reads at most until the count passes max (then returns max + 1): a cheap bound
 * check on any length of input. */
size_t gsm_utf8_chars(const char *s, size_t len, size_t max);

/* Text that can be shown from bytes that may not be UTF-8: a new NUL-terminated copy of the
 * len bytes at s in which every byte that does not start a well-formed sequence is replaced by
 * U+FFFD (the replacement character), and NUL bytes too; valid text is copied as it is. For
 * what is only ever displayed again (a refused CSV row); input is never repaired. The length
 * of the result goes to *outlen when outlen is not NULL. */
char *gsm_utf8_repair(const char *s, size_t len, size_t *outlen);

/* Encodes UTF-8 text as unpacked GSM-7 septets (one byte each, 0x1B escapes included).
 * Returns 0 and the septet count in *outlen; SG_EINVAL if a character has no GSM-7 form, the
 * UTF-8 is invalid or cap is too small (gsm_analyze() units is the exact size needed).
 * On error the contents of out are unspecified. */
int gsm_encode_7bit(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* Encodes UTF-8 text as UTF-16 big-endian (UCS-2 on the wire, surrogate pairs kept).
 * Returns 0 and the byte count in *outlen, or SG_EINVAL when the UTF-8 is invalid or cap is
 * too small (2 * gsm_analyze() units bytes are needed). */
int gsm_encode_ucs2(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* Decodes unpacked GSM-7 septets into UTF-8 (unknown escapes become the base character's
 * table entry; bytes above 0x7F become '?'; 0x1B 0x1B and a trailing 0x1B become a space).
 * Returns the bytes written, not counting the NUL that always follows them, or SG_EINVAL if
 * cap cannot hold them and the NUL (3 * n + 1 bytes always suffice). */
int gsm_decode_7bit(const uint8_t *sept, size_t n, char *out, size_t cap);
/* Decodes UTF-16BE into UTF-8; a lone surrogate becomes U+FFFD. Same return as above, and
 * SG_EINVAL when n is odd. (A U+0000 unit is written as a 0 byte: use the returned length.) */
int gsm_decode_ucs2(const uint8_t *in, size_t n, char *out, size_t cap);

/* Packs septets 8 per 7 bytes (GSM 03.38 packing), LSB first. pad_bits (0..6) are skipped at the
 * start (for a UDH that does not end on a septet boundary); they and any unused high bits of the
 * last byte are zero. Returns the number of bytes, (pad_bits + 7 * n + 7) / 8, or 0 when n is 0,
 * pad_bits > 6 or cap is smaller than that. */
size_t gsm_pack7(const uint8_t *sept, size_t n, unsigned pad_bits, uint8_t *out, size_t cap);
/* Unpacks nsept septets from packed bytes; inverse of gsm_pack7. Returns septets written: fewer
 * than nsept when inlen holds fewer or cap is smaller, 0 when pad_bits > 6. */
size_t gsm_unpack7(const uint8_t *in, size_t inlen, unsigned pad_bits, size_t nsept, uint8_t *out,
                   size_t cap);

/* Splits an encoded payload (as made by the gsm_encode_* function of that coding) into parts.
 * For GSM-7, enc is septets and the unit is one septet; for UCS-2, enc is UTF-16BE bytes and
 * the unit is two bytes. Writes up to max_parts (offset, length) pairs, counted in bytes for
 * both codings (a septet is one byte, a UCS-2 unit two), so that no part splits an escape
 * (0x1B + char) or a surrogate pair, each part fitting 153/67 units (or the whole payload in
 * one part when it fits 160/70). An empty payload has 0 parts. Returns the number of parts
 * (always gsm_analyze()'s parts for the same text), or SG_EINVAL if more than max_parts are
 * needed, a UCS-2 length is odd or coding is unknown. */
int gsm_split(gsm_coding coding, const uint8_t *enc, size_t len, size_t *offsets, size_t *lengths,
              size_t max_parts);

#endif
