/*
 * mo.c - messages from mobiles: alphabets, concatenation headers and decoding (mo.h).
 *
 * GSM packed with a header. The septets of a part that carries a user data header start on
 * the first septet boundary after the header (3GPP 23.040 9.2.3.24): fill bits follow the
 * header so that the text is aligned on septets counted from the start of the user data. The
 * number of septets is not on the wire (sm_length counts bytes), so the last septet may be
 * the padding of 7 unused bits: a zero septet that exactly fills the last byte's top 7 bits
 * is dropped (the sender writes CR there when it really means '@', 23.038 6.1.2.3.1).
 */
#include "core/mo.h"

#include <stdlib.h>
#include <string.h>

#include "core/gsm.h"
#include "util/util.h"

mo_coding mo_coding_of(unsigned dc) {
    dc &= 0xFF;
    if (dc == 0x00) return MO_GSM;
    if (dc == 0x08) return MO_UCS2;
    if (dc <= 0x0F) return MO_LATIN1; /* IA5, 8-bit, Latin-1, JIS, Cyrillic, ... */
    if (dc < 0x40) {                  /* GSM 03.38 general data coding, bits 3-2 */
        unsigned a = (dc >> 2) & 3;
        return a == 0 ? MO_GSM : a == 2 ? MO_UCS2 : MO_LATIN1;
    }
    if (dc >= 0xC0 && dc <= 0xDF) return MO_GSM;  /* message waiting, default alphabet */
    if (dc >= 0xE0 && dc <= 0xEF) return MO_UCS2; /* message waiting, UCS-2 */
    if (dc >= 0xF0) return (dc & 0x04) ? MO_LATIN1 : MO_GSM;
    return MO_LATIN1;
}

/* Reads the concatenation IE of a header hdr[0..hlen) (without its length byte). */
static void read_udh(const uint8_t *hdr, size_t hlen, mo_part *out) {
    size_t i = 0;
    while (i + 2 <= hlen) {
        unsigned iei = hdr[i], iel = hdr[i + 1];
        if (i + 2 + iel > hlen) break;
        const uint8_t *v = hdr + i + 2;
        int ref = -1, total = 0, seq = 0;
        if (iei == 0x00 && iel == 3) {
            ref = v[0];
            total = v[1];
            seq = v[2];
        } else if (iei == 0x08 && iel == 4) {
            ref = v[0] << 8 | v[1];
            total = v[2];
            seq = v[3];
        }
        if (ref >= 0 && total >= 1 && seq >= 1 && seq <= total) {
            out->ref = ref;
            out->total = total;
            out->seq = seq;
        }
        i += 2 + iel;
    }
}

void mo_parse(unsigned dc, int udhi, int packed, const uint8_t *ud, size_t len, mo_part *out) {
    memset(out, 0, sizeof *out);
    out->coding = mo_coding_of(dc);
    out->total = out->seq = 1;
    size_t skip = 0; /* bytes of header, with its length byte */
    if (udhi && len > 0 && (size_t)ud[0] + 1 <= len) {
        skip = (size_t)ud[0] + 1;
        read_udh(ud + 1, ud[0], out);
    }
    if (out->coding == MO_GSM && packed) {
        size_t bits = (len - skip) * 8, fill = skip ? (7 - skip * 8 % 7) % 7 : 0;
        if (skip * 8 + fill > len * 8) fill = 0;
        size_t n = bits > fill ? (bits - fill) / 7 : 0;
        out->data = sg_xmalloc(n + 1);
        /* gsm_unpack7 takes pad bits within the first byte: start at the header's end */
        out->len = n ? gsm_unpack7(ud + skip, len - skip, (unsigned)fill, n, out->data, n) : 0;
        if (out->len > 0 && out->data[out->len - 1] == 0 &&
            (skip * 8 + fill + (out->len - 1) * 7) == len * 8 - 7)
            out->len--;
    } else {
        out->len = len - skip;
        out->data = sg_xmalloc(out->len + 1);
        if (out->len) memcpy(out->data, ud + skip, out->len); /* GSM: a byte > 0x7F reads '?' */
    }
}

void mo_part_fini(mo_part *p) {
    free(p->data);
    p->data = NULL;
    p->len = 0;
}

char *mo_text(mo_coding coding, const uint8_t *data, size_t len) {
    size_t cap = 3 * len + 8;
    char *out = sg_xmalloc(cap);
    int n = -1;
    if (coding == MO_UCS2) {
        n = gsm_decode_ucs2(data, len & ~(size_t)1, out, cap);
    } else if (coding == MO_GSM) {
        n = gsm_decode_7bit(data, len, out, cap);
    } else {
        char *o = out;
        for (size_t i = 0; i < len; i++) {
            if (data[i] < 0x80) *o++ = (char)data[i];
            else {
                *o++ = (char)(0xC0 | data[i] >> 6);
                *o++ = (char)(0x80 | (data[i] & 0x3F));
            }
        }
        *o = '\0';
        n = (int)(o - out);
    }
    if (n < 0) n = 0;
    out[n] = '\0';
    for (int i = 0; i < n; i++)
        if (out[i] == '\0') out[i] = ' ';
    return out;
}
