/*
 * test_histcsv.c - unit tests of core/histcsv, the lines of an SMS history export: the two
 * headers, a plain outgoing and incoming line, quoting of separators, quotes and line breaks,
 * invalid UTF-8 replaced, empty dates, and that every line read back with core/csv has the
 * header's number of fields.
 *
 * Run all tests: build/tests/test_histcsv; one test: build/tests/test_histcsv <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/csv.h"
#include "core/histcsv.h"

#define TEST_TIMEOUT_S 60

static char *text(histcsv_buf *b) {
    b->p = realloc(b->p, b->len + 1);
    b->p[b->len] = '\0';
    return b->p;
}

static void test_headers(void **state) {
    (void)state;
    histcsv_buf b = {0};
    histcsv_header(&b, 0);
    assert_string_equal(text(&b), "id;date;sender;receiver;ptt;operatorCode;descriptionDlr;tag;"
                                  "message;sentAt;deliveredAt\r\n");
    b.len = 0;
    histcsv_header(&b, 1);
    assert_string_equal(text(&b), "id;date;sender;receiver;tag;message\r\n");
    free(b.p);
}

static void test_outgoing_line(void **state) {
    (void)state;
    histcsv_buf b = {0};
    histcsv_row r = {.id = 42, .created_ms = 1632845813000LL, .sender = "ACME",
                     .receiver = "+33612345678", .tag = "promo", .message = "Hello",
                     .ptt = 0, .dlr = 1, .sent_ms = 1632845814000LL,
                     .delivered_ms = 1632845815500LL};
    histcsv_row_put(&b, 0, &r);
    assert_string_equal(text(&b), "42;2021-09-28 16:16:53;ACME;+33612345678;0;1;Success;promo;"
                                  "Hello;2021-09-28 16:16:54;2021-09-28 16:16:55\r\n");
    free(b.p);
}

static void test_incoming_line_and_empty_fields(void **state) {
    (void)state;
    histcsv_buf b = {0};
    histcsv_row r = {.id = 7, .created_ms = 86400000, .sender = "+33611111111",
                     .receiver = "36001", .tag = NULL, .message = "STOP"};
    histcsv_row_put(&b, 1, &r);
    assert_string_equal(text(&b), "7;1970-01-02 00:00:00;+33611111111;36001;;STOP\r\n");
    b.len = 0;
    histcsv_row o = {.id = 8, .created_ms = 1000, .dlr = 0};
    histcsv_row_put(&b, 0, &o);
    assert_string_equal(text(&b), "8;1970-01-01 00:00:01;;;0;0;Pending;;;;\r\n");
    free(b.p);
}

static void test_quoting(void **state) {
    (void)state;
    histcsv_buf b = {0};
    histcsv_row r = {.id = 1, .created_ms = 1000, .sender = "A;B", .receiver = " x",
                     .tag = "say \"hi\"", .message = "line1\nline2\r\n"};
    histcsv_row_put(&b, 1, &r);
    assert_string_equal(text(&b), "1;1970-01-01 00:00:01;\"A;B\";\" x\";\"say \"\"hi\"\"\";"
                                  "\"line1\nline2\r\n\"\r\n");
    free(b.p);
}

static void test_invalid_utf8_replaced(void **state) {
    (void)state;
    histcsv_buf b = {0};
    histcsv_row r = {.id = 1, .created_ms = 1000, .sender = "S", .receiver = "R",
                     .message = "caf\xe9 \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \xed\xa0\x80"};
    histcsv_row_put(&b, 1, &r);
    assert_string_equal(text(&b), "1;1970-01-01 00:00:01;S;R;;caf\xef\xbf\xbd \xc3\xa9t\xc3\xa9 "
                                  "\xf0\x9f\x98\x80 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\r\n");
    free(b.p);
}

typedef struct counts {
    size_t records, bad;
    size_t want;
} counts;

static int on_record(void *arg, const csv_record *rec) {
    counts *k = arg;
    k->records++;
    if (rec->n != k->want) k->bad++;
    return 0;
}

/* Invariant 1 of histcsv.c: read back with the project's own reader, every line has the
 * header's fields, whatever the messages hold. */
static void test_read_back(void **state) {
    (void)state;
    static const char *msgs[] = {"plain", "a;b;c", "\"quoted\"", "multi\nline", " pad ",
                                 "\r", ";", "\"", "", "emoji \xf0\x9f\x98\x80"};
    for (int incoming = 0; incoming <= 1; incoming++) {
        histcsv_buf b = {0};
        histcsv_header(&b, incoming);
        for (size_t i = 0; i < 1000; i++) {
            histcsv_row r = {.id = (int64_t)i + 1, .created_ms = 1000 * (int64_t)i,
                             .sender = msgs[i % 10], .receiver = msgs[(i + 3) % 10],
                             .tag = msgs[(i + 5) % 10], .message = msgs[(i + 7) % 10],
                             .dlr = 1};
            histcsv_row_put(&b, incoming, &r);
        }
        counts k = {.want = incoming ? 6 : 11};
        csv_options opt = {.separator = ';'};
        csv_reader *rd = csv_reader_new(&opt, on_record, &k);
        assert_int_equal(csv_reader_feed(rd, b.p, b.len), 0);
        assert_int_equal(csv_reader_finish(rd), 0);
        csv_reader_free(rd);
        assert_int_equal(k.records, 1001);
        assert_int_equal(k.bad, 0);
        free(b.p);
    }
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_outgoing_line),
        cmocka_unit_test(test_incoming_line_and_empty_fields),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_read_back),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("histcsv", tests, NULL, NULL);
}
