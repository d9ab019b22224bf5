/*
 * gsm.c - GSM 03.38 (3GPP TS 23.038) default alphabet, UCS-2, septet packing and the cutting
 * of a text into the parts of a concatenated SMS.
 *
 * Every SMS text enters as UTF-8 from the HTTP API. gsm_analyze() decides how it will travel
 * and what it costs; gsm_encode_7bit() or gsm_encode_ucs2() turns it into the payload the
 * SMPP layer sends; gsm_split() cuts that payload into parts; the decoders turn what an
 * operator sends back (mobile-originated messages) into UTF-8 again. gsm_pack7() and
 * gsm_unpack7() are the 8-septets-in-7-octets packing used when a payload travels inside a
 * TPDU rather than as SMPP short_message bytes.
 *
 * Design. The GSM alphabet is two tables taken from TS 23.038 section 6.2.1: the 128-entry
 * basic table, indexed by septet, holding the Unicode code point of each septet, and the
 * extension table, reached through the escape septet 0x1B, which holds the ten characters a
 * default-alphabet phone can show with an escape (form feed ^ { } \ [ ~ ] | and the euro
 * sign). Encoding looks a code point up in the basic table first (with a fast path for the
 * ASCII characters that are their own septet) and in the extension table second; decoding
 * indexes the tables directly. Nothing is allocated and there is no global mutable state.
 *
 * Counting parts and cutting parts share one rule, implemented once in packer_add(): walk the
 * text atom by atom (a character; an escape and the septet it escapes; a surrogate pair), and
 * open a new part whenever the next atom does not fit in what is left of the current one.
 * gsm_analyze() runs it on code points, gsm_split() on the encoded payload; because the atoms
 * and their widths are the same, the number of parts the API quotes (and bills) is always the
 * number of parts dispatch sends.
 *
 * Invariants:
 *   1. A part never ends between an escape septet and the septet it escapes, nor between the
 *      two halves of a surrogate pair; such a part is one unit shorter than the limit.
 *   2. gsm_analyze(text).parts == gsm_split(encode(text)) for every valid text.
 *   3. A text is GSM-7 exactly when gsm_encode_7bit() accepts it; otherwise it is UCS-2.
 *   4. Invalid UTF-8 (overlong forms, surrogates, code points above U+10FFFF, truncated or
 *      stray bytes) is refused with SG_EINVAL by every function that reads UTF-8; nothing is
 *      silently replaced on the way in.
 *   5. The decoders never fail on content, only on a too-small buffer (or an odd UCS-2
 *      length): what comes from an operator is shown as best we can, never dropped.
 */
#include "core/gsm.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include "util/util.h"

#define GSM_ESC 0x1B
#define UNICODE_REPLACEMENT 0xFFFD

/* Basic table: septet -> Unicode code point (TS 23.038 6.2.1). The entry for 0x1B is the
 * escape to the extension table, not a character; it is never looked up as one. */
static const uint16_t basic[128] = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, /* @ £ $ ¥ è é ù ì */
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5, /* ò Ç LF Ø ø CR Å å */
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, /* Δ _ Φ Γ Λ Ω Π Ψ */
    0x03A3, 0x0398, 0x039E, 0x0000, 0x00C6, 0x00E6, 0x00DF, 0x00C9, /* Σ Θ Ξ ESC Æ æ ß É */
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027, /* SP ! " # ¤ % & ' */
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F, /* ( ) * + , - . / */
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, /* 0 - 7 */
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F, /* 8 9 : ; < = > ? */
    0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, /* ¡ A - G */
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F, /* H - O */
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, /* P - W */
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, /* X Y Z Ä Ö Ñ Ü § */
    0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, /* ¿ a - g */
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F, /* h - o */
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, /* p - w */
    0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, /* x y z ä ö ñ ü à */
};

/* Extension table (TS 23.038 6.2.1.1): the septet that follows 0x1B, and its character.
 * Other escaped septets are unassigned and decode as their basic-table character. */
static const struct {
    uint8_t sept;
    uint16_t cp;
} ext[] = {
    {0x0A, 0x000C}, /* form feed */
    {0x14, 0x005E}, /* ^ */
    {0x28, 0x007B}, /* { */
    {0x29, 0x007D}, /* } */
    {0x2F, 0x005C}, /* \ */
    {0x3C, 0x005B}, /* [ */
    {0x3D, 0x007E}, /* ~ */
    {0x3E, 0x005D}, /* ] */
    {0x40, 0x007C}, /* | */
    {0x65, 0x20AC}, /* euro sign */
};
#define EXT_COUNT (sizeof ext / sizeof ext[0])

/* Reads the code point starting at s[*pos] and advances *pos past it. Returns the code point,
 * or -1 when the bytes there are not a well-formed UTF-8 sequence. The accepted lead and
 * second-byte ranges are those of RFC 3629 table 3-7, which exclude overlong forms,
 * surrogates and everything above U+10FFFF in one place. */
static int32_t utf8_next(const uint8_t *s, size_t len, size_t *pos) {
    size_t i = *pos;
    uint8_t b = s[i];
    if (b < 0x80) {
        *pos = i + 1;
        return b;
    }
    size_t need;
    int32_t cp;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the next continuation byte */
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        cp = b & 0x0F;
        if (b == 0xE0) lo = 0xA0; /* below: overlong */
        if (b == 0xED) hi = 0x9F; /* above: UTF-16 surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        cp = b & 0x07;
        if (b == 0xF0) lo = 0x90; /* below: overlong */
        if (b == 0xF4) hi = 0x8F; /* above: beyond U+10FFFF */
    } else {
        return -1; /* continuation byte, C0/C1 (always overlong) or F5..FF */
    }
    if (len - i - 1 < need) return -1;
    for (size_t k = 1; k <= need; k++) {
        uint8_t c = s[i + k];
        if (c < lo || c > hi) return -1;
        lo = 0x80;
        hi = 0xBF;
        cp = (cp << 6) | (c & 0x3F);
    }
    *pos = i + 1 + need;
    return cp;
}

/* Appends cp as UTF-8 at out[*n], keeping one byte free for the terminating NUL. Returns 0,
 * or -1 when it does not fit (nothing is written then). */
static int utf8_put(uint32_t cp, char *out, size_t cap, size_t *n) {
    uint8_t buf[4];
    size_t k;
    if (cp < 0x80) {
        buf[0] = (uint8_t)cp;
        k = 1;
    } else if (cp < 0x800) {
        buf[0] = (uint8_t)(0xC0 | (cp >> 6));
        buf[1] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        buf[0] = (uint8_t)(0xE0 | (cp >> 12));
        buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        buf[0] = (uint8_t)(0xF0 | (cp >> 18));
        buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (cap - *n <= k) return -1; /* the caller guarantees *n < cap */
    memcpy(out + *n, buf, k);
    *n += k;
    return 0;
}

size_t gsm_utf8_chars(const char *s, size_t len, size_t max) {
    const uint8_t *u = (const uint8_t *)s;
    size_t pos = 0, n = 0;
    while (pos < len && n <= max) {
        if (u[pos] < 0x80) pos++;
        else if (utf8_next(u, len, &pos) < 0) return (size_t)-1;
        n++;
    }
    return n;
}

char *gsm_utf8_repair(const char *s, size_t len, size_t *outlen) {
    const uint8_t *u = (const uint8_t *)s;
    char *out = sg_xmalloc(len * 3 + 1); /* each byte at most becomes U+FFFD (3 bytes) */
    size_t pos = 0, n = 0;
    while (pos < len) {
        size_t at = pos;
        if (u[pos] && utf8_next(u, len, &pos) >= 0) {
            memcpy(out + n, s + at, pos - at);
            n += pos - at;
        } else {
            memcpy(out + n, "\xEF\xBF\xBD", 3);
            n += 3;
            pos = at + 1;
        }
    }
    out[n] = '\0';
    if (outlen) *outlen = n;
    return out;
}

/* Returns the septet that stands for cp and sets *escaped to 1 when it must be preceded by
 * the escape septet (extension table), 0 otherwise. Returns -1 when GSM-7 cannot carry cp. */
static int gsm7_lookup(int32_t cp, int *escaped) {
    *escaped = 0;
    if (cp < 0x80 && basic[cp] == cp) return cp; /* most of ASCII */
    for (int s = 0; s < 128; s++) {
        if (s != GSM_ESC && basic[s] == cp) return s;
    }
    for (size_t k = 0; k < EXT_COUNT; k++) {
        if (ext[k].cp == cp) {
            *escaped = 1;
            return ext[k].sept;
        }
    }
    return -1;
}

/* Greedy part packing shared by gsm_analyze() and gsm_split(): parts of at most limit units,
 * an atom of w units never cut. */
struct packer {
    size_t limit;
    size_t parts; /* parts opened so far */
    size_t fill;  /* units in the current (last) part */
};

/* Adds an atom of w units. Returns 1 when it opened a new part, 0 when it joined the current
 * one. */
static int packer_add(struct packer *p, size_t w) {
    assert(w >= 1 && w <= p->limit);
    if (p->parts == 0 || p->fill + w > p->limit) {
        p->parts++;
        p->fill = w;
        return 1;
    }
    p->fill += w;
    return 0;
}

int gsm_analyze(const char *utf8, size_t len, gsm_info *out) {
    assert(out && (utf8 || len == 0));
    const uint8_t *s = (const uint8_t *)utf8;
    /* Both codings are counted in the same pass; the first non-GSM character only stops
     * the GSM-7 count. */
    struct packer p7 = {.limit = GSM_MULTI_7BIT}, p16 = {.limit = GSM_MULTI_UCS2};
    size_t septets = 0, u16 = 0, chars = 0;
    int is_gsm = 1;
    for (size_t i = 0; i < len;) {
        int32_t cp = utf8_next(s, len, &i);
        if (cp < 0) return SG_EINVAL;
        chars++;
        size_t w16 = cp > 0xFFFF ? 2 : 1;
        u16 += w16;
        packer_add(&p16, w16);
        if (is_gsm) {
            int esc;
            if (gsm7_lookup(cp, &esc) < 0) {
                is_gsm = 0;
            } else {
                septets += 1 + (size_t)esc;
                packer_add(&p7, 1 + (size_t)esc);
            }
        }
    }
    size_t single = is_gsm ? GSM_SINGLE_7BIT : GSM_SINGLE_UCS2;
    out->coding = is_gsm ? GSM_CODING_7BIT : GSM_CODING_UCS2;
    out->units = is_gsm ? septets : u16;
    out->chars = chars;
    if (out->units <= single) {
        out->parts = out->units ? 1 : 0;
        out->per_part = single;
    } else {
        out->parts = is_gsm ? p7.parts : p16.parts;
        out->per_part = is_gsm ? GSM_MULTI_7BIT : GSM_MULTI_UCS2;
    }
    return 0;
}

int gsm_encode_7bit(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *outlen) {
    assert(outlen && (utf8 || len == 0) && (out || cap == 0));
    const uint8_t *s = (const uint8_t *)utf8;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp = utf8_next(s, len, &i);
        if (cp < 0) return SG_EINVAL;
        int esc;
        int sept = gsm7_lookup(cp, &esc);
        if (sept < 0) return SG_EINVAL;
        if (cap - n < 1 + (size_t)esc) return SG_EINVAL;
        if (esc) out[n++] = GSM_ESC;
        out[n++] = (uint8_t)sept;
    }
    *outlen = n;
    return 0;
}

int gsm_encode_ucs2(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *outlen) {
    assert(outlen && (utf8 || len == 0) && (out || cap == 0));
    const uint8_t *s = (const uint8_t *)utf8;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp = utf8_next(s, len, &i);
        if (cp < 0) return SG_EINVAL;
        if (cp > 0xFFFF) {
            if (cap - n < 4) return SG_EINVAL;
            uint32_t v = (uint32_t)cp - 0x10000;
            uint16_t hi = (uint16_t)(0xD800 | (v >> 10)), lo = (uint16_t)(0xDC00 | (v & 0x3FF));
            out[n++] = (uint8_t)(hi >> 8);
            out[n++] = (uint8_t)hi;
            out[n++] = (uint8_t)(lo >> 8);
            out[n++] = (uint8_t)lo;
        } else {
            if (cap - n < 2) return SG_EINVAL;
            out[n++] = (uint8_t)(cp >> 8);
            out[n++] = (uint8_t)cp;
        }
    }
    *outlen = n;
    return 0;
}

/* The decoders return an int byte count, so output beyond INT_MAX is treated as no room. */
static size_t decode_cap(size_t cap) {
    return cap > (size_t)INT_MAX ? (size_t)INT_MAX : cap;
}

int gsm_decode_7bit(const uint8_t *sept, size_t n, char *out, size_t cap) {
    assert((sept || n == 0) && (out || cap == 0));
    cap = decode_cap(cap);
    if (cap == 0) return SG_EINVAL;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp;
        uint8_t s = sept[i];
        if (s > 0x7F) {
            cp = '?'; /* not a septet at all */
        } else if (s != GSM_ESC) {
            cp = basic[s];
        } else if (i + 1 == n) {
            cp = ' '; /* an escape with nothing to escape */
        } else {
            uint8_t t = sept[++i];
            if (t > 0x7F) {
                cp = '?';
            } else if (t == GSM_ESC) {
                /* 23.038: reserved for a further extension table, shown as a space. */
                cp = ' ';
            } else {
                /* 23.038: an escaped septet the extension table does not assign is shown as
                 * its basic-table character. */
                cp = basic[t];
                for (size_t k = 0; k < EXT_COUNT; k++) {
                    if (ext[k].sept == t) cp = ext[k].cp;
                }
            }
        }
        if (utf8_put(cp, out, cap, &w) < 0) return SG_EINVAL;
    }
    out[w] = '\0';
    return (int)w;
}

int gsm_decode_ucs2(const uint8_t *in, size_t n, char *out, size_t cap) {
    assert((in || n == 0) && (out || cap == 0));
    cap = decode_cap(cap);
    if (cap == 0 || n % 2) return SG_EINVAL;
    size_t w = 0;
    for (size_t i = 0; i < n; i += 2) {
        uint32_t cp = (uint32_t)in[i] << 8 | in[i + 1];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < n) {
            uint32_t lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = UNICODE_REPLACEMENT; /* lone half of a pair */
        if (utf8_put(cp, out, cap, &w) < 0) return SG_EINVAL;
    }
    out[w] = '\0';
    return (int)w;
}

size_t gsm_pack7(const uint8_t *sept, size_t n, unsigned pad_bits, uint8_t *out, size_t cap) {
    assert((sept || n == 0) && (out || cap == 0));
    if (n == 0 || pad_bits > 6 || n > (SIZE_MAX - 7) / 7) return 0;
    size_t bytes = (pad_bits + 7 * n + 7) / 8;
    if (bytes > cap) return 0;
    memset(out, 0, bytes);
    size_t bit = pad_bits;
    for (size_t i = 0; i < n; i++, bit += 7) {
        unsigned v = sept[i] & 0x7Fu;
        size_t byte = bit / 8;
        unsigned shift = (unsigned)(bit % 8);
        out[byte] |= (uint8_t)(v << shift);
        if (shift > 1) out[byte + 1] |= (uint8_t)(v >> (8 - shift)); /* spills over */
    }
    return bytes;
}

size_t gsm_unpack7(const uint8_t *in, size_t inlen, unsigned pad_bits, size_t nsept, uint8_t *out,
                   size_t cap) {
    assert((in || inlen == 0) && (out || cap == 0));
    if (pad_bits > 6 || inlen > SIZE_MAX / 8 || inlen * 8 < pad_bits) return 0;
    size_t n = (inlen * 8 - pad_bits) / 7;
    if (n > nsept) n = nsept;
    if (n > cap) n = cap;
    size_t bit = pad_bits;
    for (size_t i = 0; i < n; i++, bit += 7) {
        size_t byte = bit / 8;
        unsigned shift = (unsigned)(bit % 8);
        unsigned v = (unsigned)in[byte] >> shift;
        if (shift > 1) v |= (unsigned)in[byte + 1] << (8 - shift);
        out[i] = (uint8_t)(v & 0x7F);
    }
    return n;
}

/* Width in units of the atom that starts at byte i of an encoded payload: 2 for an escape and
 * the septet it escapes or for a well-formed surrogate pair, 1 otherwise. */
static size_t atom_width(gsm_coding coding, const uint8_t *enc, size_t len, size_t i) {
    if (coding == GSM_CODING_7BIT) return enc[i] == GSM_ESC && i + 1 < len ? 2 : 1;
    unsigned u = (unsigned)enc[i] << 8 | enc[i + 1];
    if (u < 0xD800 || u > 0xDBFF || i + 3 >= len) return 1;
    unsigned next = (unsigned)enc[i + 2] << 8 | enc[i + 3];
    return next >= 0xDC00 && next <= 0xDFFF ? 2 : 1;
}

int gsm_split(gsm_coding coding, const uint8_t *enc, size_t len, size_t *offsets, size_t *lengths,
              size_t max_parts) {
    assert(enc || len == 0);
    if (coding != GSM_CODING_7BIT && coding != GSM_CODING_UCS2) return SG_EINVAL;
    size_t unit = coding == GSM_CODING_UCS2 ? 2 : 1;
    size_t single = coding == GSM_CODING_UCS2 ? GSM_SINGLE_UCS2 : GSM_SINGLE_7BIT;
    size_t multi = coding == GSM_CODING_UCS2 ? GSM_MULTI_UCS2 : GSM_MULTI_7BIT;
    if (len % unit) return SG_EINVAL;
    if (len == 0) return 0;
    if (len / unit <= single) {
        if (max_parts < 1) return SG_EINVAL;
        offsets[0] = 0;
        lengths[0] = len;
        return 1;
    }
    struct packer p = {.limit = multi};
    size_t start = 0;
    for (size_t i = 0; i < len;) {
        size_t w = atom_width(coding, enc, len, i);
        if (packer_add(&p, w)) {
            if (p.parts > max_parts || p.parts > (size_t)INT_MAX) return SG_EINVAL;
            if (p.parts > 1) {
                offsets[p.parts - 2] = start;
                lengths[p.parts - 2] = i - start;
            }
            start = i;
        }
        i += w * unit;
    }
    offsets[p.parts - 1] = start;
    lengths[p.parts - 1] = len - start;
    return (int)p.parts;
}
