/*
 * pdu.c - the SMPP 3.4 codec (see pdu.h), generated from the table in pdu.def.
 *
 * Design. Every layout is expanded four times from pdu.def: the body structs (pdu.h), the
 * decoders, the encoders and the dump, so adding a PDU or a TLV is one line in the table.
 * Decoding walks a bounded reader (`rd`): each read checks that the bytes it needs lie before
 * the end of the PDU and, when they do not, sets the reader's error and returns zeros, so a
 * decoder never reads out of bounds whatever the input. Encoding walks the mirror writer
 * (`wr`), which refuses to write past the caller's capacity. Nothing here allocates.
 *
 * Invariants:
 *  1. smpp_pdu_decode() reads only buf[0 .. command_length) and only when command_length <=
 *     len; it never trusts sm_length or a TLV length without checking it against the end.
 *  2. Every C-Octet String written into a struct is NUL-terminated within its array.
 *  3. encode(decode(x)) == x for every well-formed PDU without unknown TLVs whose TLVs are in
 *     table order (the unit tests check this on a generated corpus).
 */
#include "smpp/pdu.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smpp/status.h"
#include "util/util.h"

/* ---- the bounded reader ---- */

typedef struct rd {
    const uint8_t *p, *end;
    int err;
} rd;

static uint8_t rd_u8(rd *r) {
    if (r->err || r->p >= r->end) {
        r->err = 1;
        return 0;
    }
    return *r->p++;
}

static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A C-Octet String of at most size octets including its NUL. */
static void rd_cstr(rd *r, char *out, size_t size) {
    out[0] = '\0';
    if (r->err) return;
    size_t avail = (size_t)(r->end - r->p), lim = avail < size ? avail : size;
    const uint8_t *nul = memchr(r->p, 0, lim);
    if (!nul) {
        r->err = 1;
        return;
    }
    size_t n = (size_t)(nul - r->p);
    memcpy(out, r->p, n);
    out[n] = '\0';
    r->p = nul + 1;
}

static void rd_sm(rd *r, uint8_t *len, const uint8_t **data) {
    *len = rd_u8(r);
    *data = NULL;
    if (r->err) return;
    if ((size_t)(r->end - r->p) < *len) {
        r->err = 1;
        *len = 0;
        return;
    }
    *data = *len ? r->p : NULL;
    r->p += *len;
}

/* ---- the bounded writer ---- */

typedef struct wr {
    uint8_t *p, *end;
    int err;
} wr;

static void wr_u8(wr *w, uint8_t v) {
    if (w->err || w->p >= w->end) {
        w->err = 1;
        return;
    }
    *w->p++ = v;
}

static void wr_u16(wr *w, uint16_t v) {
    wr_u8(w, (uint8_t)(v >> 8));
    wr_u8(w, (uint8_t)v);
}

static void wr_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void wr_bytes(wr *w, const void *data, size_t n) {
    if (w->err || (size_t)(w->end - w->p) < n) {
        w->err = 1;
        return;
    }
    if (n) memcpy(w->p, data, n);
    w->p += n;
}

static void wr_cstr(wr *w, const char *s, size_t size) {
    size_t n = strnlen(s, size);
    if (n >= size) {
        w->err = 1;
        return;
    }
    wr_bytes(w, s, n + 1);
}

static void wr_sm(wr *w, uint8_t len, const uint8_t *data) {
    if (len && !data) {
        w->err = 1;
        return;
    }
    wr_u8(w, len);
    wr_bytes(w, data, len);
}

/* ---- bodies, from the table ---- */

#define SMPP_U8(name) b->name = rd_u8(r);
#define SMPP_CSTR(name, size) rd_cstr(r, b->name, size);
#define SMPP_SM(name) rd_sm(r, &b->name##_len, &b->name);
#define SMPP_SHAPE(shape, fields)                                                  \
    static void dec_##shape(rd *r, struct smpp_body_##shape *b) {                  \
        (void)r;                                                                   \
        (void)b;                                                                   \
        fields                                                                     \
    }
#include "smpp/pdu.def"
#undef SMPP_SHAPE
#undef SMPP_U8
#undef SMPP_CSTR
#undef SMPP_SM

#define SMPP_U8(name) wr_u8(w, b->name);
#define SMPP_CSTR(name, size) wr_cstr(w, b->name, size);
#define SMPP_SM(name) wr_sm(w, b->name##_len, b->name);
#define SMPP_SHAPE(shape, fields)                                                  \
    static void enc_##shape(wr *w, const struct smpp_body_##shape *b) {            \
        (void)w;                                                                   \
        (void)b;                                                                   \
        fields                                                                     \
    }
#include "smpp/pdu.def"
#undef SMPP_SHAPE
#undef SMPP_U8
#undef SMPP_CSTR
#undef SMPP_SM

/* Appends printf output to a dump buffer. */
typedef struct dumpbuf {
    char *s;
    size_t n, cap;
} dumpbuf;

static void dp(dumpbuf *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dp(dumpbuf *d, const char *fmt, ...) {
    if (d->n + 1 >= d->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(d->s + d->n, d->cap - d->n, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    d->n += (size_t)k;
    if (d->n >= d->cap) d->n = d->cap - 1;
}

static void dp_hex(dumpbuf *d, const uint8_t *p, size_t n) {
    size_t show = n < 32 ? n : 32;
    for (size_t i = 0; i < show; i++) dp(d, "%02x", p[i]);
    if (show < n) dp(d, "...");
}

#define SMPP_U8(name) dp(d, " " #name "=%u", b->name);
#define SMPP_CSTR(name, size) dp(d, " " #name "='%s'", b->name);
#define SMPP_SM(name)                                                              \
    dp(d, " " #name "=%u:", b->name##_len);                                        \
    dp_hex(d, b->name, b->name##_len);
#define SMPP_SHAPE(shape, fields)                                                  \
    static void dump_##shape(dumpbuf *d, const struct smpp_body_##shape *b) {      \
        (void)d;                                                                   \
        (void)b;                                                                   \
        fields                                                                     \
    }
#include "smpp/pdu.def"
#undef SMPP_SHAPE
#undef SMPP_U8
#undef SMPP_CSTR
#undef SMPP_SM

/* ---- TLVs ---- */

/* A function rather than an inline comparison: with max 65535 and a 16-bit length the
 * compiler would call the test always false, which is right for that one TLV only. */
static int too_long(size_t n, size_t max) { return n > max; }

/* Decodes one known TLV's value (len bytes at v); returns 0 or -1 when its size is invalid. */
static int tlv_set(smpp_tlvs *t, uint16_t tag, const uint8_t *v, uint16_t len, int *known) {
    *known = 1;
    switch (tag) {
#define SMPP_TLV_DEC_U8(name, max)                                                 \
    if (len != 1) return -1;                                                       \
    t->name = v[0];
#define SMPP_TLV_DEC_U16(name, max)                                                \
    if (len != 2) return -1;                                                       \
    t->name = (uint16_t)(v[0] << 8 | v[1]);
#define SMPP_TLV_DEC_CSTR(name, max)                                               \
    {                                                                              \
        /* Lenient: the NUL may be missing, but the text must fit the field. */    \
        const uint8_t *nul = memchr(v, 0, len);                                    \
        size_t n = nul ? (size_t)(nul - v) : len;                                  \
        if (len == 0 || n >= (max)) return -1;                                     \
        memcpy(t->name, v, n);                                                     \
        t->name[n] = '\0';                                                         \
    }
#define SMPP_TLV_DEC_OCTETS(name, max)                                             \
    if (too_long(len, max)) return -1;                                             \
    t->name = len ? v : NULL;                                                      \
    t->name##_len = len;
#define SMPP_TLV(name, tag, type, max)                                             \
    case tag:                                                                      \
        SMPP_TLV_DEC_##type(name, max) t->present |= SMPP_TLV_BIT(name);           \
        return 0;
#include "smpp/pdu.def"
#undef SMPP_TLV
    default:
        *known = 0;
        return 0;
    }
}

static void tlv_encode(wr *w, const smpp_tlvs *t) {
#define SMPP_TLV_ENC_U8(name, tag, max)                                            \
    wr_u16(w, tag);                                                                \
    wr_u16(w, 1);                                                                  \
    wr_u8(w, t->name);
#define SMPP_TLV_ENC_U16(name, tag, max)                                           \
    wr_u16(w, tag);                                                                \
    wr_u16(w, 2);                                                                  \
    wr_u16(w, t->name);
#define SMPP_TLV_ENC_CSTR(name, tag, max)                                          \
    {                                                                              \
        size_t n = strnlen(t->name, max);                                          \
        if (n >= (max)) {                                                          \
            w->err = 1;                                                            \
            return;                                                                \
        }                                                                          \
        wr_u16(w, tag);                                                            \
        wr_u16(w, (uint16_t)(n + 1));                                              \
        wr_bytes(w, t->name, n + 1);                                               \
    }
#define SMPP_TLV_ENC_OCTETS(name, tag, max)                                        \
    if (too_long(t->name##_len, max) || (t->name##_len && !t->name)) {             \
        w->err = 1;                                                                \
        return;                                                                    \
    }                                                                              \
    wr_u16(w, tag);                                                                \
    wr_u16(w, t->name##_len);                                                      \
    wr_bytes(w, t->name, t->name##_len);
#define SMPP_TLV(name, tag, type, max)                                             \
    if (t->present & SMPP_TLV_BIT(name)) {                                         \
        SMPP_TLV_ENC_##type(name, tag, max)                                        \
    }
#include "smpp/pdu.def"
#undef SMPP_TLV
}

static void tlv_dump(dumpbuf *d, const smpp_tlvs *t) {
#define SMPP_TLV_DUMP_U8(name) dp(d, " tlv:" #name "=%u", t->name);
#define SMPP_TLV_DUMP_U16(name) dp(d, " tlv:" #name "=%u", t->name);
#define SMPP_TLV_DUMP_CSTR(name) dp(d, " tlv:" #name "='%s'", t->name);
#define SMPP_TLV_DUMP_OCTETS(name)                                                 \
    dp(d, " tlv:" #name "=%u:", t->name##_len);                                    \
    dp_hex(d, t->name, t->name##_len);
#define SMPP_TLV(name, tag, type, max)                                             \
    if (t->present & SMPP_TLV_BIT(name)) {                                         \
        SMPP_TLV_DUMP_##type(name)                                                 \
    }
#include "smpp/pdu.def"
#undef SMPP_TLV
    if (t->skipped) dp(d, " (%u unknown TLVs)", t->skipped);
}

/* ---- commands ---- */

enum shape_kind {
#define SMPP_SHAPE(shape, fields) SHAPE_##shape,
#include "smpp/pdu.def"
#undef SMPP_SHAPE
};

static const struct cmd_def {
    uint32_t id;
    const char *name;
    int shape;
} cmds[] = {
#define SMPP_CMD(NAME, name, id, shape) {id, #name, SHAPE_##shape},
#include "smpp/pdu.def"
#undef SMPP_CMD
};

static const struct cmd_def *find_cmd(uint32_t id) {
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (cmds[i].id == id) return &cmds[i];
    return NULL;
}

const char *smpp_command_name(uint32_t command_id) {
    const struct cmd_def *c = find_cmd(command_id);
    return c ? c->name : NULL;
}

void smpp_pdu_init(smpp_pdu *out, uint32_t command_id, uint32_t sequence_number) {
    memset(out, 0, sizeof *out);
    out->command_id = command_id;
    out->sequence_number = sequence_number;
}

int smpp_pdu_peek(const uint8_t *buf, size_t len, uint32_t *pdu_len) {
    if (len < 4) return SG_EAGAIN;
    uint32_t n = rd_u32(buf);
    if (n < SMPP_HEADER_LEN || n > SMPP_PDU_MAX) return SG_EINVAL;
    *pdu_len = n;
    return 0;
}

int smpp_pdu_decode(const uint8_t *buf, size_t len, smpp_pdu *out, size_t *used, uint32_t *nack) {
    memset(out, 0, sizeof *out);
    *used = 0;
    *nack = SMPP_ESME_RINVCMDLEN;
    uint32_t n;
    int rc = smpp_pdu_peek(buf, len, &n);
    if (rc) return rc;
    if (len < n) return SG_EAGAIN;
    out->command_id = rd_u32(buf + 4);
    out->command_status = rd_u32(buf + 8);
    out->sequence_number = rd_u32(buf + 12);
    *used = n;
    const struct cmd_def *c = find_cmd(out->command_id);
    if (!c) {
        *nack = SMPP_ESME_RINVCMDID;
        return SG_ENOTFOUND;
    }
    rd r = {buf + SMPP_HEADER_LEN, buf + n, 0};
    int is_resp = (out->command_id & 0x80000000u) != 0;
    if (is_resp && r.p == r.end) return 0; /* an error response without a body */
    switch (c->shape) {
#define SMPP_SHAPE(shape, fields)                                                  \
    case SHAPE_##shape: dec_##shape(&r, &out->u.shape); break;
#include "smpp/pdu.def"
#undef SMPP_SHAPE
    }
    if (r.err) return SG_EINVAL;
    /* Optional parameters until the end of the PDU. */
    while (r.p < r.end) {
        if (r.end - r.p < 4) return SG_EINVAL;
        uint16_t tag = (uint16_t)(r.p[0] << 8 | r.p[1]);
        uint16_t tl = (uint16_t)(r.p[2] << 8 | r.p[3]);
        r.p += 4;
        if ((size_t)(r.end - r.p) < tl) return SG_EINVAL;
        int known;
        if (tlv_set(&out->tlv, tag, r.p, tl, &known) != 0) {
            *nack = SMPP_ESME_RINVPARLEN;
            return SG_EINVAL;
        }
        if (!known) out->tlv.skipped++;
        r.p += tl;
    }
    *nack = 0;
    return 0;
}

int smpp_pdu_encode(const smpp_pdu *p, uint8_t *out, size_t cap, size_t *len) {
    const struct cmd_def *c = find_cmd(p->command_id);
    if (!c) return SG_ENOTFOUND;
    if (cap < SMPP_HEADER_LEN) return SG_EINVAL;
    wr w = {out + SMPP_HEADER_LEN, out + (cap < SMPP_PDU_MAX ? cap : SMPP_PDU_MAX), 0};
    switch (c->shape) {
#define SMPP_SHAPE(shape, fields)                                                  \
    case SHAPE_##shape: enc_##shape(&w, &p->u.shape); break;
#include "smpp/pdu.def"
#undef SMPP_SHAPE
    }
    tlv_encode(&w, &p->tlv);
    if (w.err) return SG_EINVAL;
    size_t n = (size_t)(w.p - out);
    wr_u32(out, (uint32_t)n);
    wr_u32(out + 4, p->command_id);
    wr_u32(out + 8, p->command_status);
    wr_u32(out + 12, p->sequence_number);
    *len = n;
    return 0;
}

char *smpp_pdu_dump(const smpp_pdu *p, char *out, size_t cap) {
    dumpbuf d = {out, 0, cap};
    if (cap) out[0] = '\0';
    const struct cmd_def *c = find_cmd(p->command_id);
    dp(&d, "%s seq=%u status=0x%08X", c ? c->name : "unknown", p->sequence_number,
       p->command_status);
    if (!c) return out;
    switch (c->shape) {
#define SMPP_SHAPE(shape, fields)                                                  \
    case SHAPE_##shape: dump_##shape(&d, &p->u.shape); break;
#include "smpp/pdu.def"
#undef SMPP_SHAPE
    }
    tlv_dump(&d, &p->tlv);
    return out;
}
