/*
 * test_gsm.c - unit tests for core/gsm: alphabet choice, unit and part counting, UTF-8
 * validation, encoders and decoders, septet packing and splitting.
 *
 * The part-count tests pin the numbers customers are billed on (160/153, 70/67, extension
 * characters twice, astral characters as two UTF-16 units) and the boundary rule that an
 * escape or a surrogate pair is never cut, which can make a message one part longer than the
 * naive division says. Expected septets and bytes are written out from TS 23.038 and Unicode,
 * not computed with the code under test; round trips come on top of those fixed vectors.
 * test_analyze_matches_split_random checks invariant 2 of gsm.c (quoted parts == sent parts)
 * on generated texts with a fixed seed, so a failure is reproducible.
 *
 * Run one test alone: test_gsm <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/gsm.h"
#include "util/util.h"

#define EURO "\xE2\x82\xAC"          /* U+20AC, GSM-7 extension 0x1B 0x65 */
#define ZHE "\xD0\x96"               /* U+0416 CYRILLIC CAPITAL ZHE, not in GSM-7 */
#define GRIN "\xF0\x9F\x98\x80"      /* U+1F600, outside the BMP */
#define MAX_PARTS 64

/* A new heap string: unit repeated n times. Caller frees. */
static char *repeat(const char *unit, size_t n) {
    size_t k = strlen(unit);
    char *s = sg_xmalloc(k * n + 1);
    for (size_t i = 0; i < n; i++) memcpy(s + i * k, unit, k);
    s[k * n] = '\0';
    return s;
}

/* A new heap string: the concatenation of a, b and c. Caller frees. */
static char *cat3(const char *a, const char *b, const char *c) {
    return sg_xasprintf("%s%s%s", a, b, c);
}

static gsm_info analyze(const char *s) {
    gsm_info info;
    assert_int_equal(gsm_analyze(s, strlen(s), &info), 0);
    return info;
}

/* A text encoded in the coding gsm_analyze() chose, then split. */
struct split {
    gsm_info info;
    uint8_t enc[4096];
    size_t enc_len;
    size_t off[MAX_PARTS];
    size_t len[MAX_PARTS];
    int parts; /* gsm_split()'s return */
};

static void encode_and_split(const char *s, struct split *sp) {
    sp->info = analyze(s);
    int rc = sp->info.coding == GSM_CODING_7BIT
                 ? gsm_encode_7bit(s, strlen(s), sp->enc, sizeof sp->enc, &sp->enc_len)
                 : gsm_encode_ucs2(s, strlen(s), sp->enc, sizeof sp->enc, &sp->enc_len);
    assert_int_equal(rc, 0);
    sp->parts = gsm_split(sp->info.coding, sp->enc, sp->enc_len, sp->off, sp->len, MAX_PARTS);
}

/* Checks a text's coding, counts and, through gsm_split(), the byte length of each part. */
static void check_parts(const char *s, gsm_coding coding, size_t units, size_t per_part,
                        const size_t *part_bytes, size_t nparts) {
    struct split sp;
    encode_and_split(s, &sp);
    assert_int_equal(sp.info.coding, coding);
    assert_int_equal(sp.info.units, units);
    assert_int_equal(sp.info.parts, nparts);
    assert_int_equal(sp.info.per_part, per_part);
    assert_int_equal(sp.parts, (int)nparts);
    size_t at = 0;
    for (size_t i = 0; i < nparts; i++) {
        assert_int_equal(sp.off[i], at);
        assert_int_equal(sp.len[i], part_bytes[i]);
        at += part_bytes[i];
    }
    assert_int_equal(at, sp.enc_len);
}

/* ---- GSM-7 part counting ---------------------------------------------------------------- */

static void test_ascii_160_is_one_part(void **state) {
    (void)state;
    char *s = repeat("a", 160);
    check_parts(s, GSM_CODING_7BIT, 160, 160, (size_t[]){160}, 1);
    assert_int_equal(analyze(s).chars, 160);
    free(s);
}

static void test_ascii_161_is_two_parts(void **state) {
    (void)state;
    char *s = repeat("a", 161);
    check_parts(s, GSM_CODING_7BIT, 161, 153, (size_t[]){153, 8}, 2);
    free(s);
}

static void test_ascii_306_is_two_parts_307_three(void **state) {
    (void)state;
    char *s = repeat("a", 306);
    check_parts(s, GSM_CODING_7BIT, 306, 153, (size_t[]){153, 153}, 2);
    free(s);
    s = repeat("a", 307);
    check_parts(s, GSM_CODING_7BIT, 307, 153, (size_t[]){153, 153, 1}, 3);
    free(s);
}

static void test_euro_counts_two_septets(void **state) {
    (void)state;
    char *s = repeat(EURO, 80);
    check_parts(s, GSM_CODING_7BIT, 160, 160, (size_t[]){160}, 1);
    assert_int_equal(analyze(s).chars, 80);
    free(s);
    /* 81 euros = 162 septets; 76 euros fill 152 septets and the 77th would be cut. */
    s = repeat(EURO, 81);
    check_parts(s, GSM_CODING_7BIT, 162, 153, (size_t[]){152, 10}, 2);
    assert_int_equal(analyze(s).chars, 81);
    free(s);
}

static void test_every_extension_char_counts_twice(void **state) {
    (void)state;
    gsm_info info = analyze("\f^{}\\[~]|" EURO);
    assert_int_equal(info.coding, GSM_CODING_7BIT);
    assert_int_equal(info.chars, 10);
    assert_int_equal(info.units, 20);
    /* Basic-table non-ASCII characters count once. */
    info = analyze("@\xC2\xA3$\xC2\xA5\xC3\xA8\xC3\xA9\xCE\x94\xC3\x9F"); /* @£$¥èéΔß */
    assert_int_equal(info.coding, GSM_CODING_7BIT);
    assert_int_equal(info.chars, 8);
    assert_int_equal(info.units, 8);
}

static void test_escape_not_split_at_153_boundary(void **state) {
    (void)state;
    char *a = repeat("a", 152), *b = repeat("b", 10);
    char *s = cat3(a, "{", b);
    struct split sp;
    encode_and_split(s, &sp);
    assert_int_equal(sp.info.units, 164);
    assert_int_equal(sp.parts, 2);
    assert_int_equal(sp.info.parts, 2);
    assert_int_equal(sp.len[0], 152);
    assert_int_equal(sp.off[1], 152);
    assert_int_equal(sp.len[1], 12);
    assert_int_equal(sp.enc[152], 0x1B);
    assert_int_equal(sp.enc[153], 0x28);
    free(s);
    free(b);

    /* 306 septets divide into two full parts, but the escape at the boundary pushes one septet
     * into a third part: the quote must say 3, like the split. */
    b = repeat("b", 152);
    s = cat3(a, "{", b);
    check_parts(s, GSM_CODING_7BIT, 306, 153, (size_t[]){152, 153, 1}, 3);
    free(s);
    free(b);
    free(a);
}

static void test_escape_fills_single_part_exactly(void **state) {
    (void)state;
    char *a = repeat("a", 158);
    char *s = cat3(a, EURO, "");
    check_parts(s, GSM_CODING_7BIT, 160, 160, (size_t[]){160}, 1);
    free(s);
    s = cat3(a, "a" EURO, ""); /* 161 septets, escape ends at 161 */
    check_parts(s, GSM_CODING_7BIT, 161, 153, (size_t[]){153, 8}, 2);
    free(s);
    free(a);
}

static void test_empty_text_has_no_parts(void **state) {
    (void)state;
    gsm_info info = {.parts = 99};
    assert_int_equal(gsm_analyze(NULL, 0, &info), 0);
    assert_int_equal(info.coding, GSM_CODING_7BIT);
    assert_int_equal(info.units, 0);
    assert_int_equal(info.chars, 0);
    assert_int_equal(info.parts, 0);
    assert_int_equal(info.per_part, 160);
    size_t off[1], len[1];
    assert_int_equal(gsm_split(GSM_CODING_7BIT, NULL, 0, off, len, 1), 0);
    assert_int_equal(gsm_split(GSM_CODING_UCS2, NULL, 0, off, len, 1), 0);
}

/* ---- UCS-2 part counting ---------------------------------------------------------------- */

static void test_ucs2_70_71_134_135(void **state) {
    (void)state;
    char *s = repeat(ZHE, 70);
    check_parts(s, GSM_CODING_UCS2, 70, 70, (size_t[]){140}, 1);
    assert_int_equal(analyze(s).chars, 70);
    free(s);
    s = repeat(ZHE, 71);
    check_parts(s, GSM_CODING_UCS2, 71, 67, (size_t[]){134, 8}, 2);
    free(s);
    s = repeat(ZHE, 134);
    check_parts(s, GSM_CODING_UCS2, 134, 67, (size_t[]){134, 134}, 2);
    free(s);
    s = repeat(ZHE, 135);
    check_parts(s, GSM_CODING_UCS2, 135, 67, (size_t[]){134, 134, 2}, 3);
    free(s);
}

static void test_emoji_counts_two_units(void **state) {
    (void)state;
    gsm_info info = analyze(GRIN);
    assert_int_equal(info.coding, GSM_CODING_UCS2);
    assert_int_equal(info.chars, 1);
    assert_int_equal(info.units, 2);
    assert_int_equal(info.parts, 1);
    char *s = repeat(GRIN, 35);
    check_parts(s, GSM_CODING_UCS2, 70, 70, (size_t[]){140}, 1);
    free(s);
    /* 36 emoji = 72 units; a part of 67 units holds 33 pairs (66 units), never 33.5. */
    s = repeat(GRIN, 36);
    check_parts(s, GSM_CODING_UCS2, 72, 67, (size_t[]){132, 12}, 2);
    assert_int_equal(analyze(s).chars, 36);
    free(s);
}

static void test_surrogate_pair_never_split(void **state) {
    (void)state;
    char *a = repeat(ZHE, 66), *b = repeat(ZHE, 10);
    char *s = cat3(a, GRIN, b);
    struct split sp;
    encode_and_split(s, &sp);
    assert_int_equal(sp.info.units, 78);
    assert_int_equal(sp.parts, 2);
    assert_int_equal(sp.info.parts, 2);
    assert_int_equal(sp.len[0], 132);
    assert_int_equal(sp.off[1], 132);
    static const uint8_t pair[] = {0xD8, 0x3D, 0xDE, 0x00};
    assert_memory_equal(sp.enc + 132, pair, 4);
    assert_int_equal(sp.len[1], 4 + 20);
    free(s);
    free(b);

    /* 134 units would be two full parts; the pair at the boundary makes three. */
    b = repeat(ZHE, 66);
    s = cat3(a, GRIN, b);
    check_parts(s, GSM_CODING_UCS2, 134, 67, (size_t[]){132, 134, 2}, 3);
    free(s);
    free(b);
    free(a);
}

static void test_one_non_gsm_char_makes_whole_text_ucs2(void **state) {
    (void)state;
    char *a = repeat("a", 150);
    char *s = cat3(a, ZHE, "");
    /* 151 characters fit one GSM-7 SMS, but as UCS-2 they are three parts. */
    check_parts(s, GSM_CODING_UCS2, 151, 67, (size_t[]){134, 134, 34}, 3);
    uint8_t out[512];
    size_t n;
    assert_int_equal(gsm_encode_7bit(s, strlen(s), out, sizeof out, &n), SG_EINVAL);
    free(s);
    free(a);

    /* In UCS-2 the euro sign is one unit, not an escape. */
    gsm_info info = analyze(EURO ZHE);
    assert_int_equal(info.coding, GSM_CODING_UCS2);
    assert_int_equal(info.units, 2);

    /* e acute is in the basic table; small c cedilla is not (0x09 is the capital). */
    info = analyze("caf\xC3\xA9");
    assert_int_equal(info.coding, GSM_CODING_7BIT);
    assert_int_equal(info.units, 4);
    info = analyze("\xC3\xA7" "a"); /* split: \xA7a would be one hex escape */
    assert_int_equal(info.coding, GSM_CODING_UCS2);
    assert_int_equal(info.units, 2);
}

/* ---- UTF-8 validation ------------------------------------------------------------------- */

static void test_invalid_utf8_rejected(void **state) {
    (void)state;
    static const struct {
        const char *what;
        const char *bytes;
    } bad[] = {
        {"overlong slash, 2 bytes", "\xC0\xAF"},
        {"overlong NUL, 2 bytes", "\xC0\x80"},
        {"overlong, C1 lead", "\xC1\xBF"},
        {"overlong slash, 3 bytes", "\xE0\x80\xAF"},
        {"overlong U+07FF, 3 bytes", "\xE0\x9F\xBF"},
        {"overlong slash, 4 bytes", "\xF0\x80\x80\xAF"},
        {"overlong U+FFFF, 4 bytes", "\xF0\x8F\xBF\xBF"},
        {"high surrogate U+D800", "\xED\xA0\x80"},
        {"low surrogate U+DFFF", "\xED\xBF\xBF"},
        {"CESU-8 surrogate pair", "\xED\xA0\xBD\xED\xB8\x80"},
        {"U+110000", "\xF4\x90\x80\x80"},
        {"F5 lead", "\xF5\x80\x80\x80"},
        {"FF byte", "a\xFF"},
        {"truncated 2-byte", "a\xC3"},
        {"truncated 3-byte", EURO "\xE2\x82"},
        {"truncated 4-byte", "\xF0\x9F\x98"},
        {"stray continuation", "a\x80z"},
        {"lead followed by ASCII", "\xC3" "A"},
        {"lead followed by lead", "\xE2\xE2\x82\xAC"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *s = bad[i].bytes;
        size_t n = strlen(s);
        gsm_info info = {.parts = 99};
        uint8_t out[64];
        size_t outlen = 12345;
        if (gsm_analyze(s, n, &info) != SG_EINVAL) fail_msg("analyze accepted: %s", bad[i].what);
        assert_int_equal(info.parts, 99); /* untouched on error */
        if (gsm_encode_7bit(s, n, out, sizeof out, &outlen) != SG_EINVAL)
            fail_msg("encode_7bit accepted: %s", bad[i].what);
        if (gsm_encode_ucs2(s, n, out, sizeof out, &outlen) != SG_EINVAL)
            fail_msg("encode_ucs2 accepted: %s", bad[i].what);
        assert_int_equal(outlen, 12345);
    }
    /* Truncated by len, not by a NUL: the bytes after len must not be read. */
    gsm_info info;
    uint8_t out[8];
    size_t outlen;
    for (size_t n = 1; n < 4; n++) {
        assert_int_equal(gsm_analyze(GRIN, n, &info), SG_EINVAL);
        assert_int_equal(gsm_encode_ucs2(GRIN, n, out, sizeof out, &outlen), SG_EINVAL);
    }
    assert_int_equal(gsm_encode_7bit("a" EURO, 3, out, sizeof out, &outlen), SG_EINVAL);
    assert_int_equal(gsm_analyze(GRIN, 4, &info), 0);
}

static void test_utf8_boundary_code_points_accepted(void **state) {
    (void)state;
    static const struct {
        const char *utf8;
        uint8_t utf16be[4];
        size_t n;
    } ok[] = {
        {"\x7F", {0x00, 0x7F}, 2},
        {"\xC2\x80", {0x00, 0x80}, 2},
        {"\xDF\xBF", {0x07, 0xFF}, 2},
        {"\xE0\xA0\x80", {0x08, 0x00}, 2},
        {"\xED\x9F\xBF", {0xD7, 0xFF}, 2},
        {"\xEE\x80\x80", {0xE0, 0x00}, 2},
        {"\xEF\xBF\xBF", {0xFF, 0xFF}, 2},
        {"\xF0\x90\x80\x80", {0xD8, 0x00, 0xDC, 0x00}, 4},
        {"\xF4\x8F\xBF\xBF", {0xDB, 0xFF, 0xDF, 0xFF}, 4},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t out[8];
        size_t n;
        gsm_info info;
        assert_int_equal(gsm_analyze(ok[i].utf8, strlen(ok[i].utf8), &info), 0);
        assert_int_equal(info.chars, 1);
        assert_int_equal(gsm_encode_ucs2(ok[i].utf8, strlen(ok[i].utf8), out, sizeof out, &n), 0);
        assert_int_equal(n, ok[i].n);
        assert_memory_equal(out, ok[i].utf16be, n);
    }
}

/* ---- GSM-7 encoding and decoding -------------------------------------------------------- */

/* The whole basic table in septet order 0x00..0x7F without 0x1B, written from TS 23.038. */
static const char basic_alphabet[] =
    /* 0x00 @ £ $ ¥ è é ù ì ò Ç LF Ø ø CR Å å */
    "@\xC2\xA3$\xC2\xA5\xC3\xA8\xC3\xA9\xC3\xB9\xC3\xAC\xC3\xB2\xC3\x87\n\xC3\x98\xC3\xB8\r"
    "\xC3\x85\xC3\xA5"
    /* 0x10 Δ _ Φ Γ Λ Ω Π Ψ Σ Θ Ξ, (0x1B escape), Æ æ ß É */
    "\xCE\x94_\xCE\xA6\xCE\x93\xCE\x9B\xCE\xA9\xCE\xA0\xCE\xA8\xCE\xA3\xCE\x98\xCE\x9E"
    "\xC3\x86\xC3\xA6\xC3\x9F\xC3\x89"
    /* 0x20 space to ?, with ¤ at 0x24 */
    " !\"#\xC2\xA4%&'()*+,-./0123456789:;<=>?"
    /* 0x40 ¡ A-Z Ä Ö Ñ Ü § */
    "\xC2\xA1" "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "\xC3\x84\xC3\x96\xC3\x91\xC3\x9C\xC2\xA7"
    /* 0x60 ¿ a-z ä ö ñ ü à */
    "\xC2\xBF" "abcdefghijklmnopqrstuvwxyz"
    "\xC3\xA4\xC3\xB6\xC3\xB1\xC3\xBC\xC3\xA0";

static void test_basic_table_encodes_to_its_septets(void **state) {
    (void)state;
    uint8_t out[256];
    size_t n;
    assert_int_equal(gsm_encode_7bit(basic_alphabet, strlen(basic_alphabet), out, sizeof out, &n),
                     0);
    assert_int_equal(n, 127);
    for (size_t i = 0; i < n; i++) {
        unsigned expect = i < 0x1B ? (unsigned)i : (unsigned)i + 1;
        if (out[i] != expect)
            fail_msg("char %zu encoded as 0x%02X, want 0x%02X", i, out[i], expect);
    }
    char text[512];
    int len = gsm_decode_7bit(out, n, text, sizeof text);
    assert_int_equal(len, (int)strlen(basic_alphabet));
    assert_string_equal(text, basic_alphabet);
    gsm_info info = analyze(basic_alphabet);
    assert_int_equal(info.coding, GSM_CODING_7BIT);
    assert_int_equal(info.units, 127);
}

static void test_extension_table_encodes_with_escape(void **state) {
    (void)state;
    static const char ext[] = "\f^{}\\[~]|" EURO;
    static const uint8_t want[] = {0x1B, 0x0A, 0x1B, 0x14, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x2F,
                                   0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E, 0x1B, 0x40, 0x1B, 0x65};
    uint8_t out[64];
    size_t n;
    assert_int_equal(gsm_encode_7bit(ext, strlen(ext), out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, n);
    char text[64];
    assert_int_equal(gsm_decode_7bit(out, n, text, sizeof text), (int)strlen(ext));
    assert_string_equal(text, ext);
}

static void test_7bit_round_trip(void **state) {
    (void)state;
    static const char msg[] = "Rendez-vous \xC3\xA0 18h {salle B} pour 5" EURO
                              ", @Zo\xC3\xA9 ~ \xC3\x84\xC3\x96\xC3\x9C\n\xCE\xA9";
    uint8_t sept[256];
    size_t n;
    assert_int_equal(gsm_encode_7bit(msg, strlen(msg), sept, sizeof sept, &n), 0);
    assert_int_equal(n, analyze(msg).units);
    assert_int_equal(sept[0], 'R');
    assert_int_equal(sept[12], 0x7F); /* à */
    char text[256];
    assert_int_equal(gsm_decode_7bit(sept, n, text, sizeof text), (int)strlen(msg));
    assert_string_equal(text, msg);
}

static void test_encode_7bit_rejects_non_gsm_and_small_buffer(void **state) {
    (void)state;
    uint8_t out[8];
    size_t n = 777;
    assert_int_equal(gsm_encode_7bit("a" ZHE, strlen("a" ZHE), out, sizeof out, &n), SG_EINVAL);
    assert_int_equal(gsm_encode_7bit(GRIN, strlen(GRIN), out, sizeof out, &n), SG_EINVAL);
    assert_int_equal(gsm_encode_7bit("\xC3\xA7", 2, out, sizeof out, &n), SG_EINVAL); /* ç */
    assert_int_equal(n, 777);
    /* "a€" needs 3 septets: the escape must not be written without its septet. */
    assert_int_equal(gsm_encode_7bit("a" EURO, 4, out, 2, &n), SG_EINVAL);
    assert_int_equal(gsm_encode_7bit("a" EURO, 4, out, 3, &n), 0);
    assert_int_equal(n, 3);
}

static void test_decode_7bit_unusual_input(void **state) {
    (void)state;
    char text[32];
    /* An escape the extension table does not assign shows the basic character. */
    assert_int_equal(gsm_decode_7bit((const uint8_t[]){0x1B, 0x41, 0x62}, 3, text, sizeof text), 2);
    assert_string_equal(text, "Ab");
    /* 0x1B 0x0D (CR2, unassigned for display) falls back to CR. */
    assert_int_equal(gsm_decode_7bit((const uint8_t[]){0x1B, 0x0D}, 2, text, sizeof text), 1);
    assert_string_equal(text, "\r");
    /* Escape-escape is reserved and shown as a space; the next septet is decoded normally. */
    assert_int_equal(gsm_decode_7bit((const uint8_t[]){0x1B, 0x1B, 0x00}, 3, text, sizeof text), 2);
    assert_string_equal(text, " @");
    /* A trailing escape and a byte that is not a septet. */
    assert_int_equal(gsm_decode_7bit((const uint8_t[]){0x61, 0x1B}, 2, text, sizeof text), 2);
    assert_string_equal(text, "a ");
    assert_int_equal(gsm_decode_7bit((const uint8_t[]){0x80, 0x61, 0xFF}, 3, text, sizeof text), 3);
    assert_string_equal(text, "?a?");
    assert_int_equal(gsm_decode_7bit(NULL, 0, text, sizeof text), 0);
    assert_string_equal(text, "");
}

static void test_decode_7bit_buffer_limits(void **state) {
    (void)state;
    static const uint8_t euro[] = {0x1B, 0x65}; /* 3 bytes of UTF-8 plus the NUL */
    char text[4];
    memset(text, 'x', sizeof text);
    assert_int_equal(gsm_decode_7bit(euro, 2, text, 3), SG_EINVAL);
    assert_int_equal(gsm_decode_7bit(euro, 2, text, 0), SG_EINVAL);
    assert_int_equal(text[3], 'x'); /* nothing written past cap */
    assert_int_equal(gsm_decode_7bit(euro, 2, text, 4), 3);
    assert_string_equal(text, EURO);
    assert_int_equal(gsm_decode_7bit(euro, 0, text, 1), 0);
    assert_string_equal(text, "");
}

/* ---- UCS-2 encoding and decoding -------------------------------------------------------- */

static void test_ucs2_encode_vector_and_round_trip(void **state) {
    (void)state;
    static const char msg[] = "A" EURO GRIN "\xC3\xA9" ZHE;
    static const uint8_t want[] = {0x00, 0x41, 0x20, 0xAC, 0xD8, 0x3D,
                                   0xDE, 0x00, 0x00, 0xE9, 0x04, 0x16};
    uint8_t out[32];
    size_t n;
    assert_int_equal(gsm_encode_ucs2(msg, strlen(msg), out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, n);
    assert_int_equal(n, 2 * analyze(msg).units);
    char text[32];
    assert_int_equal(gsm_decode_ucs2(out, n, text, sizeof text), (int)strlen(msg));
    assert_string_equal(text, msg);
}

static void test_ucs2_encode_buffer_limits(void **state) {
    (void)state;
    uint8_t out[4];
    size_t n = 5;
    assert_int_equal(gsm_encode_ucs2(GRIN, 4, out, 3, &n), SG_EINVAL);
    assert_int_equal(n, 5);
    assert_int_equal(gsm_encode_ucs2(GRIN, 4, out, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(gsm_encode_ucs2("ab", 2, out, 3, &n), SG_EINVAL);
}

static void test_decode_ucs2_lone_surrogates(void **state) {
    (void)state;
    char text[32];
#define FFFD "\xEF\xBF\xBD"
    /* High surrogate followed by a non-surrogate. */
    assert_int_equal(gsm_decode_ucs2((const uint8_t[]){0xD8, 0x3D, 0x00, 0x41}, 4, text, 32), 4);
    assert_string_equal(text, FFFD "A");
    /* Low then high: both halves are lone. */
    assert_int_equal(gsm_decode_ucs2((const uint8_t[]){0xDE, 0x00, 0xD8, 0x3D}, 4, text, 32), 6);
    assert_string_equal(text, FFFD FFFD);
    /* High surrogate at the very end. */
    assert_int_equal(gsm_decode_ucs2((const uint8_t[]){0x00, 0x7A, 0xDB, 0xFF}, 4, text, 32), 4);
    assert_string_equal(text, "z" FFFD);
    /* A proper pair still decodes. */
    assert_int_equal(gsm_decode_ucs2((const uint8_t[]){0xD8, 0x3D, 0xDE, 0x00}, 4, text, 32), 4);
    assert_string_equal(text, GRIN);
#undef FFFD
}

static void test_decode_ucs2_bad_length_and_buffer(void **state) {
    (void)state;
    static const uint8_t zhe[] = {0x04, 0x16, 0x00};
    char text[3];
    assert_int_equal(gsm_decode_ucs2(zhe, 3, text, sizeof text), SG_EINVAL); /* odd */
    assert_int_equal(gsm_decode_ucs2(zhe, 2, text, 2), SG_EINVAL);           /* no room for NUL */
    assert_int_equal(gsm_decode_ucs2(zhe, 2, text, 3), 2);
    assert_string_equal(text, ZHE);
}

/* ---- Septet packing --------------------------------------------------------------------- */

static void test_pack7_known_vector(void **state) {
    (void)state;
    static const uint8_t hello[] = "hellohello"; /* ASCII letters are their own septets */
    static const uint8_t pad0[] = {0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37};
    /* The same bit stream shifted up by one fill bit. */
    static const uint8_t pad1[] = {0xD0, 0x65, 0x36, 0xFB, 0x8D, 0x2E, 0xB3, 0xD9, 0x6F};
    uint8_t packed[16], sept[16];
    assert_int_equal(gsm_pack7(hello, 10, 0, packed, sizeof packed), 9);
    assert_memory_equal(packed, pad0, 9);
    assert_int_equal(gsm_unpack7(pad0, 9, 0, 10, sept, sizeof sept), 10);
    assert_memory_equal(sept, hello, 10);

    assert_int_equal(gsm_pack7(hello, 10, 1, packed, sizeof packed), 9);
    assert_memory_equal(packed, pad1, 9);
    assert_int_equal(gsm_unpack7(pad1, 9, 1, 10, sept, sizeof sept), 10);
    assert_memory_equal(sept, hello, 10);
}

static void test_pack7_round_trip_pad_0_and_1(void **state) {
    (void)state;
    uint8_t sept[64], packed[64], back[64];
    uint32_t seed = 12345;
    for (unsigned pad = 0; pad <= 1; pad++) {
        for (size_t n = 1; n <= 40; n++) {
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                sept[i] = (uint8_t)((seed >> 16) & 0x7F);
            }
            sept[0] = 0x7F; /* all ones at the start checks the pad bit stays clear */
            sept[n - 1] = 0x7F;
            size_t want = (pad + 7 * n + 7) / 8;
            memset(packed, 0xAA, sizeof packed);
            assert_int_equal(gsm_pack7(sept, n, pad, packed, sizeof packed), want);
            if (pad) assert_int_equal(packed[0] & 1, 0);
            unsigned used = (unsigned)((pad + 7 * n) % 8); /* bits used in the last byte */
            if (used) assert_int_equal(packed[want - 1] >> used, 0);
            assert_int_equal(packed[want], 0xAA); /* nothing written beyond */
            memset(back, 0xEE, sizeof back);
            assert_int_equal(gsm_unpack7(packed, want, pad, n, back, sizeof back), n);
            assert_memory_equal(back, sept, n);
            assert_int_equal(back[n], 0xEE);
        }
    }
}

static void test_pack7_limits(void **state) {
    (void)state;
    static const uint8_t s8[] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t packed[8], back[16];
    assert_int_equal(gsm_pack7(s8, 8, 0, packed, 6), 0); /* needs 7 */
    assert_int_equal(gsm_pack7(s8, 8, 0, packed, 7), 7);
    assert_int_equal(gsm_pack7(s8, 8, 1, packed, 7), 0); /* 57 bits need 8 */
    assert_int_equal(gsm_pack7(s8, 8, 7, packed, 8), 0); /* pad out of range */
    assert_int_equal(gsm_pack7(s8, 0, 0, packed, 8), 0);
    /* Septets above 0x7F are truncated to 7 bits, not smeared into their neighbours. */
    assert_int_equal(gsm_pack7((const uint8_t[]){0xFF, 0x00}, 2, 0, packed, 8), 2);
    assert_int_equal(packed[0], 0x7F);
    assert_int_equal(packed[1], 0x00);

    assert_int_equal(gsm_pack7(s8, 8, 0, packed, 7), 7);
    /* 7 bytes hold exactly 8 septets: asking for more yields 8. */
    assert_int_equal(gsm_unpack7(packed, 7, 0, 10, back, sizeof back), 8);
    assert_memory_equal(back, s8, 8);
    /* With one fill bit only 55 bits remain: 7 septets. */
    assert_int_equal(gsm_unpack7(packed, 7, 1, 10, back, sizeof back), 7);
    /* cap bounds the output. */
    memset(back, 0, sizeof back);
    assert_int_equal(gsm_unpack7(packed, 7, 0, 8, back, 3), 3);
    assert_memory_equal(back, s8, 3);
    assert_int_equal(back[3], 0);
    assert_int_equal(gsm_unpack7(packed, 7, 7, 8, back, sizeof back), 0);
}

/* ---- Splitting -------------------------------------------------------------------------- */

static void test_split_errors(void **state) {
    (void)state;
    uint8_t enc[400];
    memset(enc, 'a', sizeof enc);
    size_t off[4], len[4];
    /* 307 septets need 3 parts. */
    assert_int_equal(gsm_split(GSM_CODING_7BIT, enc, 307, off, len, 2), SG_EINVAL);
    assert_int_equal(gsm_split(GSM_CODING_7BIT, enc, 307, off, len, 3), 3);
    assert_int_equal(gsm_split(GSM_CODING_7BIT, enc, 10, off, len, 0), SG_EINVAL);
    assert_int_equal(gsm_split(GSM_CODING_UCS2, enc, 11, off, len, 4), SG_EINVAL); /* odd */
    assert_int_equal(gsm_split((gsm_coding)7, enc, 10, off, len, 4), SG_EINVAL);
}

static void test_split_raw_payload_edges(void **state) {
    (void)state;
    uint8_t enc[400];
    size_t off[4], len[4];
    /* A payload that ends in a lone escape (not from our encoder) is still split in full. */
    memset(enc, 'a', sizeof enc);
    enc[160] = 0x1B;
    assert_int_equal(gsm_split(GSM_CODING_7BIT, enc, 161, off, len, 4), 2);
    assert_int_equal(len[0] + len[1], 161);
    /* A lone low surrogate at a boundary is a unit of its own and may be cut before. */
    for (size_t i = 0; i < 200; i += 2) {
        enc[i] = 0x04;
        enc[i + 1] = 0x16;
    }
    enc[132] = 0xDC; /* unit 66: a low surrogate with no high one */
    enc[133] = 0x00;
    assert_int_equal(gsm_split(GSM_CODING_UCS2, enc, 200, off, len, 4), 2);
    assert_int_equal(len[0], 134);
    /* A high surrogate with no low one after it does not pull its neighbour along. */
    enc[132] = 0xD8;
    assert_int_equal(gsm_split(GSM_CODING_UCS2, enc, 200, off, len, 4), 2);
    assert_int_equal(len[0], 134);
    /* ...but a real pair at units 66-67 does. */
    enc[134] = 0xDC;
    enc[135] = 0x00;
    assert_int_equal(gsm_split(GSM_CODING_UCS2, enc, 200, off, len, 4), 2);
    assert_int_equal(len[0], 132);
}

/* Invariant 2 of gsm.c on generated texts: the parts quoted by gsm_analyze() are the parts
 * gsm_split() cuts, every part fits, and no cut lands inside an escape or a surrogate pair. */
static void test_analyze_matches_split_random(void **state) {
    (void)state;
    static const char *atoms[] = {"a", " ", EURO, "{", "\xC3\xA9", ZHE, GRIN};
    const size_t natoms = sizeof atoms / sizeof atoms[0];
    uint32_t seed = 2024;
    char text[2048];
    struct split sp;
    for (int iter = 0; iter < 3000; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t count = (seed >> 8) % 420;
        /* Mostly-GSM texts half of the time, so both codings see long inputs. */
        size_t pool = (iter & 1) ? 5 : natoms;
        size_t w = 0;
        for (size_t i = 0; i < count; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *a = atoms[(seed >> 16) % pool];
            size_t k = strlen(a);
            memcpy(text + w, a, k);
            w += k;
        }
        text[w] = '\0';
        encode_and_split(text, &sp);
        const gsm_info *in = &sp.info;
        size_t unit = in->coding == GSM_CODING_UCS2 ? 2 : 1;
        assert_int_equal(sp.enc_len, in->units * unit);
        assert_int_equal(sp.parts, (int)in->parts);
        assert_true(in->parts >= (in->units + in->per_part - 1) / in->per_part);
        size_t at = 0;
        for (int p = 0; p < sp.parts; p++) {
            assert_int_equal(sp.off[p], at);
            assert_true(sp.len[p] > 0);
            assert_true(sp.len[p] <= in->per_part * unit);
            at += sp.len[p];
            if (at == sp.enc_len) continue;
            if (in->coding == GSM_CODING_7BIT) {
                /* The encoder never emits 0x1B as an escaped septet, so every 0x1B opens an
                 * escape: it must not end a part. */
                assert_int_not_equal(sp.enc[at - 1], 0x1B);
            } else {
                unsigned u = (unsigned)sp.enc[at] << 8 | sp.enc[at + 1];
                assert_false(u >= 0xDC00 && u <= 0xDFFF);
            }
        }
        assert_int_equal(at, sp.enc_len);
    }
}

/* Issue 12 point 8: a refused CSV row keeps bytes that are not UTF-8; shown, they become
 * U+FFFD one byte at a time, and valid text around them is kept as it is. */
static void test_utf8_repair(void **state) {
    (void)state;
    size_t n = 0;
    char *r = gsm_utf8_repair("Bo\xff" "b", 4, &n);
    assert_string_equal(r, "Bo\xef\xbf\xbd" "b");
    assert_int_equal(n, 6);
    free(r);
    r = gsm_utf8_repair("Zo\xc3\xa9 \xc3\x28 \xe2\x82", 10, NULL);
    assert_string_equal(r, "Zo\xc3\xa9 \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd");
    free(r);
    r = gsm_utf8_repair("a\0b", 3, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(r, "a\xef\xbf\xbd" "b", 5);
    free(r);
    r = gsm_utf8_repair("", 0, &n);
    assert_string_equal(r, "");
    free(r);
}

static void test_utf8_chars(void **state) {
    (void)state;
    assert_int_equal(gsm_utf8_chars("Zo\xc3\xa9", 4, 100), 3);
    assert_int_equal(gsm_utf8_chars("", 0, 100), 0);
    assert_int_equal(gsm_utf8_chars("abcdef", 6, 3), 4); /* stops past max */
    assert_int_equal(gsm_utf8_chars("ab\xff", 3, 100), (size_t)-1);
    assert_int_equal(gsm_utf8_chars("\xf0\x9f\x98\x80", 4, 100), 1);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_ascii_160_is_one_part),
        cmocka_unit_test(test_ascii_161_is_two_parts),
        cmocka_unit_test(test_ascii_306_is_two_parts_307_three),
        cmocka_unit_test(test_euro_counts_two_septets),
        cmocka_unit_test(test_every_extension_char_counts_twice),
        cmocka_unit_test(test_escape_not_split_at_153_boundary),
        cmocka_unit_test(test_escape_fills_single_part_exactly),
        cmocka_unit_test(test_empty_text_has_no_parts),
        cmocka_unit_test(test_ucs2_70_71_134_135),
        cmocka_unit_test(test_emoji_counts_two_units),
        cmocka_unit_test(test_surrogate_pair_never_split),
        cmocka_unit_test(test_one_non_gsm_char_makes_whole_text_ucs2),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_utf8_boundary_code_points_accepted),
        cmocka_unit_test(test_basic_table_encodes_to_its_septets),
        cmocka_unit_test(test_extension_table_encodes_with_escape),
        cmocka_unit_test(test_7bit_round_trip),
        cmocka_unit_test(test_encode_7bit_rejects_non_gsm_and_small_buffer),
        cmocka_unit_test(test_decode_7bit_unusual_input),
        cmocka_unit_test(test_decode_7bit_buffer_limits),
        cmocka_unit_test(test_ucs2_encode_vector_and_round_trip),
        cmocka_unit_test(test_ucs2_encode_buffer_limits),
        cmocka_unit_test(test_decode_ucs2_lone_surrogates),
        cmocka_unit_test(test_decode_ucs2_bad_length_and_buffer),
        cmocka_unit_test(test_pack7_known_vector),
        cmocka_unit_test(test_pack7_round_trip_pad_0_and_1),
        cmocka_unit_test(test_pack7_limits),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_split_raw_payload_edges),
        cmocka_unit_test(test_analyze_matches_split_random),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("gsm", tests, NULL, NULL);
}
