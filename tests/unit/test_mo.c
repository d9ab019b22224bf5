/*
 * test_mo.c - core/mo.c: alphabets of data_coding values, concatenation headers (8-bit and
 * 16-bit references), GSM packed after a header (fill bits), the padding septet, Latin-1 and
 * UCS-2 decoding.
 *
 * Run all tests: build/tests/test_mo; one test: build/tests/test_mo <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/gsm.h"
#include "core/mo.h"

static char *decode(unsigned dc, int udhi, int packed, const uint8_t *ud, size_t len,
                    mo_part *p) {
    mo_parse(dc, udhi, packed, ud, len, p);
    return mo_text(p->coding, p->data, p->len);
}

static void test_coding_of(void **state) {
    (void)state;
    assert_int_equal(mo_coding_of(0x00), MO_GSM);
    assert_int_equal(mo_coding_of(0x08), MO_UCS2);
    assert_int_equal(mo_coding_of(0x03), MO_LATIN1);
    assert_int_equal(mo_coding_of(0x01), MO_LATIN1);
    assert_int_equal(mo_coding_of(0x04), MO_LATIN1);
    assert_int_equal(mo_coding_of(0x10), MO_GSM);   /* class 0, default alphabet */
    assert_int_equal(mo_coding_of(0x18), MO_UCS2);  /* class 0, UCS-2 */
    assert_int_equal(mo_coding_of(0x14), MO_LATIN1);
    assert_int_equal(mo_coding_of(0xF0), MO_GSM);
    assert_int_equal(mo_coding_of(0xF4), MO_LATIN1);
    assert_int_equal(mo_coding_of(0xE0), MO_UCS2);
}

/* Unpacked GSM (one septet per byte): the escape table and '@' (0x00). */
static void test_gsm_unpacked(void **state) {
    (void)state;
    const uint8_t ud[] = {'P', 'r', 'i', 'x', ' ', 0x1B, 0x65, 0x00, 0x04};
    mo_part p;
    char *t = decode(0x00, 0, 0, ud, sizeof ud, &p);
    assert_string_equal(t, "Prix \xE2\x82\xAC@\xC3\xA8"); /* Prix €@è */
    assert_int_equal(p.total, 1);
    free(t);
    mo_part_fini(&p);
    /* A byte that is no septet (Latin-1 sent as "SMSC default") is not taken for another
     * character. */
    const uint8_t l1[] = {'C', 'a', 'f', 0xE9};
    t = decode(0x00, 0, 0, l1, sizeof l1, &p);
    assert_string_equal(t, "Caf?");
    free(t);
    mo_part_fini(&p);
}

/* Packed GSM without header, including the 7 spare bits of the last byte (padding, not '@')
 * and a real '@' that ends on a byte boundary. */
static void test_gsm_packed(void **state) {
    (void)state;
    const char *texts[] = {"hello", "1234567", "12345678", "abcdef@", "Oui merci"};
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        uint8_t sept[64], packed[64];
        size_t n;
        assert_int_equal(gsm_encode_7bit(texts[k], strlen(texts[k]), sept, sizeof sept, &n), 0);
        size_t bytes = gsm_pack7(sept, n, 0, packed, sizeof packed);
        mo_part p;
        char *t = decode(0x00, 0, 1, packed, bytes, &p);
        if (!strcmp(texts[k], "1234567")) /* 49 bits in 7 bytes: the 8th septet is padding */
            assert_string_equal(t, "1234567");
        else
            assert_string_equal(t, texts[k]);
        free(t);
        mo_part_fini(&p);
    }
}

/* Packed GSM after a 6-byte header (IE 0x00): one fill bit, then the septets. */
static void test_udh8_packed(void **state) {
    (void)state;
    const char *text = "Oui [merci]";
    uint8_t sept[64], ud[80] = {0x05, 0x00, 0x03, 0xA7, 0x03, 0x02};
    size_t n;
    assert_int_equal(gsm_encode_7bit(text, strlen(text), sept, sizeof sept, &n), 0);
    size_t bytes = gsm_pack7(sept, n, 1, ud + 6, sizeof ud - 6);
    mo_part p;
    char *t = decode(0x00, 1, 1, ud, 6 + bytes, &p);
    assert_string_equal(t, text);
    assert_int_equal(p.ref, 0xA7);
    assert_int_equal(p.total, 3);
    assert_int_equal(p.seq, 2);
    free(t);
    mo_part_fini(&p);
}

/* A 16-bit reference (IE 0x08), after another IE that is skipped, with UCS-2 text. */
static void test_udh16_ucs2(void **state) {
    (void)state;
    const uint8_t ud[] = {0x0C, 0x05, 0x04, 0x0B, 0x84, 0x00, 0x00, 0x08, 0x04, 0x12, 0x34,
                          0x02, 0x01, 0x04, 0x1F, 0x04, 0x40, 0x00, 0x21};
    mo_part p;
    char *t = decode(0x08, 1, 0, ud, sizeof ud, &p);
    assert_string_equal(t, "\xD0\x9F\xD1\x80!"); /* Пр! */
    assert_int_equal(p.ref, 0x1234);
    assert_int_equal(p.total, 2);
    assert_int_equal(p.seq, 1);
    free(t);
    mo_part_fini(&p);
}

static void test_latin1(void **state) {
    (void)state;
    const uint8_t ud[] = {'C', 'a', 'f', 0xE9, ' ', 0xE0, ' ', 'n', 'o', 0xEB, 'l'};
    mo_part p;
    char *t = decode(0x03, 0, 0, ud, sizeof ud, &p);
    assert_string_equal(t, "Caf\xC3\xA9 \xC3\xA0 no\xC3\xABl");
    free(t);
    mo_part_fini(&p);
}

/* Headers that cannot be read: taken as whole messages, nothing read past the end. */
static void test_bad_headers(void **state) {
    (void)state;
    const uint8_t over[] = {0x09, 0x00, 0x03, 0x01};       /* longer than the data */
    const uint8_t seq0[] = {0x05, 0x00, 0x03, 0x01, 0x02, 0x00, 'a'}; /* part 0 of 2 */
    const uint8_t seq3[] = {0x05, 0x00, 0x03, 0x01, 0x02, 0x03, 'a'}; /* part 3 of 2 */
    const uint8_t iel[] = {0x03, 0x00, 0x05, 0x01, 'a'};   /* IE longer than the header */
    mo_part p;
    char *t = decode(0x03, 1, 0, over, sizeof over, &p);
    assert_int_equal(p.total, 1);
    assert_int_equal(strlen(t), 4); /* every byte as Latin-1 text, 0 as a space */
    free(t);
    mo_part_fini(&p);
    t = decode(0x03, 1, 0, seq0, sizeof seq0, &p);
    assert_int_equal(p.total, 1);
    assert_string_equal(t, "a");
    free(t);
    mo_part_fini(&p);
    t = decode(0x03, 1, 0, seq3, sizeof seq3, &p);
    assert_int_equal(p.total, 1);
    free(t);
    mo_part_fini(&p);
    t = decode(0x03, 1, 0, iel, sizeof iel, &p);
    assert_int_equal(p.total, 1);
    assert_string_equal(t, "a");
    free(t);
    mo_part_fini(&p);
    t = decode(0x00, 1, 1, (const uint8_t *)"", 0, &p);
    assert_string_equal(t, "");
    free(t);
    mo_part_fini(&p);
}

int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coding_of),
        cmocka_unit_test(test_gsm_unpacked),
        cmocka_unit_test(test_gsm_packed),
        cmocka_unit_test(test_udh8_packed),
        cmocka_unit_test(test_udh16_ucs2),
        cmocka_unit_test(test_latin1),
        cmocka_unit_test(test_bad_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
