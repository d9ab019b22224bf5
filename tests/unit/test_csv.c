/*
 * test_csv.c - unit tests of core/csv, the streaming CSV reader of receiver lists: separators
 * (given and detected), quotes, BOM, line ends, blank lines, limits, errors with their line,
 * and the streaming property (the same records whatever the cut of the input into pieces).
 *
 * Run all tests: build/tests/test_csv; one test: build/tests/test_csv <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/csv.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

/* Every record, flattened as "f1|f2|f3" lines, with the line numbers. */
typedef struct sink {
    char out[8192];
    size_t len;
    size_t lines[64];
    size_t n;
    int stop_at; /* stop (return 7) at this record index + 1; 0 = never */
} sink;

static int on_record(void *arg, const csv_record *rec) {
    sink *s = arg;
    if (s->n < 64) s->lines[s->n] = rec->line;
    s->n++;
    for (size_t i = 0; i < rec->n; i++) {
        s->len += (size_t)snprintf(s->out + s->len, sizeof s->out - s->len, "%s%.*s",
                                   i ? "|" : "", (int)rec->lens[i], rec->fields[i]);
    }
    s->len += (size_t)snprintf(s->out + s->len, sizeof s->out - s->len, "\n");
    if (s->stop_at && (int)s->n == s->stop_at) return 7;
    return 0;
}

/* Reads text in pieces of `piece` bytes (0 = all at once); returns the reader's result. */
static int read_all(const char *text, size_t len, size_t piece, char sep, sink *s,
                    char *sep_out, char *err, size_t errlen) {
    memset(s->out, 0, sizeof s->out);
    s->len = 0;
    s->n = 0;
    csv_options o = {.separator = sep, .max_field = 64, .max_fields = 8};
    csv_reader *r = csv_reader_new(&o, on_record, s);
    int rc = 0;
    size_t off = 0;
    if (!piece) piece = len ? len : 1;
    while (rc == 0 && off < len) {
        size_t n = len - off < piece ? len - off : piece;
        rc = csv_reader_feed(r, text + off, n);
        off += n;
    }
    if (rc == 0) rc = csv_reader_finish(r);
    if (sep_out) *sep_out = csv_reader_separator(r);
    if (err) snprintf(err, errlen, "%s", csv_reader_error(r));
    csv_reader_free(r);
    return rc;
}

static void expect(const char *text, char sep, const char *want) {
    sink s = {0};
    char got_sep;
    assert_int_equal(read_all(text, strlen(text), 0, sep, &s, &got_sep, NULL, 0), 0);
    assert_string_equal(s.out, want);
}

static void test_semicolon_header_and_rows(void **state) {
    (void)state;
    expect("number;civility;name;age\n+33600000001;Mr;Dupont;47\n+33600000002;Mrs;Durand;32\n",
           0, "number|civility|name|age\n+33600000001|Mr|Dupont|47\n+33600000002|Mrs|Durand|32\n");
}

static void test_comma_detected(void **state) {
    (void)state;
    sink s = {0};
    char sep;
    const char *t = "number,name\n0612345678,Ana\n";
    assert_int_equal(read_all(t, strlen(t), 0, 0, &s, &sep, NULL, 0), 0);
    assert_int_equal(sep, ',');
    assert_string_equal(s.out, "number|name\n0612345678|Ana\n");
}

static void test_detection_ignores_separators_in_quotes(void **state) {
    (void)state;
    sink s = {0};
    char sep;
    /* Three commas inside quotes, two semicolons outside: ';'. */
    const char *t = "\"a,b,c,d\";number;x\n1;2;3\n";
    assert_int_equal(read_all(t, strlen(t), 0, 0, &s, &sep, NULL, 0), 0);
    assert_int_equal(sep, ';');
    assert_string_equal(s.out, "a,b,c,d|number|x\n1|2|3\n");
}

static void test_tab_and_single_column(void **state) {
    (void)state;
    sink s = {0};
    char sep;
    const char *t = "number\tname\n+33600000001\tBob\n";
    assert_int_equal(read_all(t, strlen(t), 0, 0, &s, &sep, NULL, 0), 0);
    assert_int_equal(sep, '\t');
    assert_string_equal(s.out, "number|name\n+33600000001|Bob\n");
    const char *one = "+33600000001\n+33600000002\n";
    assert_int_equal(read_all(one, strlen(one), 0, 0, &s, &sep, NULL, 0), 0);
    assert_int_equal(sep, ';');
    assert_string_equal(s.out, "+33600000001\n+33600000002\n");
}

static void test_given_separator_wins(void **state) {
    (void)state;
    expect("a,b;c\n1,2;3\n", ',', "a|b;c\n1|2;3\n");
}

static void test_quotes(void **state) {
    (void)state;
    /* Separators, doubled quotes and line breaks inside quotes; spaces around quotes. */
    expect("n;msg\n1;\"a;b\"\n2;\"say \"\"hi\"\"\"\n3;  \"two\nlines\"  \n4;\"\"\n", ';',
           "n|msg\n1|a;b\n2|say \"hi\"\n3|two\nlines\n4|\n");
    /* A quote inside a bare field is kept; text after a closing quote is kept too. */
    expect("a;b\nx\"y;\"ab\"cd\n", ';', "a|b\nx\"y|abcd\n");
}

static void test_trimming(void **state) {
    (void)state;
    expect("number ; name \n +33600000001 ;  Jean Paul  \n", ';',
           "number|name\n+33600000001|Jean Paul\n");
    /* Inside quotes, blanks are kept. */
    expect("a\n\"  x  \"\n", ';', "a\n  x  \n");
}

static void test_bom_crlf_cr(void **state) {
    (void)state;
    expect("\xEF\xBB\xBFnumber;name\r\n1;a\r\n2;b\r\n", 0, "number|name\n1|a\n2|b\n");
    expect("number;name\r1;a\r2;b", 0, "number|name\n1|a\n2|b\n");
    /* Not a BOM: the bytes are data. */
    expect("\xEF\xBBx;y\n", ';', "\xEF\xBBx|y\n");
}

static void test_blank_lines_and_empty_fields(void **state) {
    (void)state;
    /* Blank lines (also before the header) make no record; ";;" is a record of empty fields. */
    expect("\n\r\n  \nnumber;name\n\n1;a\n;;\n\n", 0, "number|name\n1|a\n||\n");
    expect("a;b\n1;\n", ';', "a|b\n1|\n");
}

static void test_line_numbers(void **state) {
    (void)state;
    sink s = {0};
    const char *t = "h\n\n\"multi\nline\"\nlast\n";
    assert_int_equal(read_all(t, strlen(t), 0, ';', &s, NULL, NULL, 0), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.lines[0], 1);
    assert_int_equal(s.lines[1], 3);
    assert_int_equal(s.lines[2], 5);
}

static void test_no_trailing_newline(void **state) {
    (void)state;
    expect("a;b\n1;2", ';', "a|b\n1|2\n");
    expect("a;b\n\"1\";\"2\"", ';', "a|b\n1|2\n");
}

static void test_errors_name_the_line(void **state) {
    (void)state;
    sink s = {0};
    char err[160];
    const char *open = "a;b\n1;2\n3;\"unclosed\n4;5\n";
    assert_int_equal(read_all(open, strlen(open), 0, ';', &s, NULL, err, sizeof err), SG_EINVAL);
    assert_string_equal(err, "line 3: a quoted field is not closed");

    char longf[200];
    snprintf(longf, sizeof longf, "a\nok\n%065d\n", 1);
    assert_int_equal(read_all(longf, strlen(longf), 0, ';', &s, NULL, err, sizeof err),
                     SG_EINVAL);
    assert_string_equal(err, "line 3: a field is longer than 64 bytes");

    const char *many = "a\n1;2;3;4;5;6;7;8;9\n";
    assert_int_equal(read_all(many, strlen(many), 0, ';', &s, NULL, err, sizeof err), SG_EINVAL);
    assert_string_equal(err, "line 2: more than 8 fields");
}

static void test_callback_stops_the_reader(void **state) {
    (void)state;
    sink s = {.stop_at = 2};
    const char *t = "a\n1\n2\n3\n";
    assert_int_equal(read_all(t, strlen(t), 0, ';', &s, NULL, NULL, 0), 7);
    assert_int_equal(s.n, 2);
}

static void test_nul_byte_is_reported_by_length(void **state) {
    (void)state;
    const char t[] = "a;b\nx\0y;z\n";
    csv_options o = {.separator = ';'};
    sink s = {0};
    csv_reader *r = csv_reader_new(&o, on_record, &s);
    assert_int_equal(csv_reader_feed(r, t, sizeof t - 1), 0);
    assert_int_equal(csv_reader_finish(r), 0);
    assert_int_equal(csv_reader_records(r), 2);
    assert_int_equal(csv_reader_bytes(r), sizeof t - 1);
    csv_reader_free(r);
}

/* Streaming: every way of cutting the input into pieces gives the same records. */
static void test_any_cut_gives_the_same_records(void **state) {
    (void)state;
    const char *t = "\xEF\xBB\xBF\r\nNumber,\"na,me\",x\r\n\"+33 6\"\"1\",\"a\r\nb\",c\r\n\r\n"
                    "0612345678,  d ,\"\"\r\nlast,\"q\"\"\",z";
    size_t n = strlen(t);
    sink ref = {0};
    char sep;
    assert_int_equal(read_all(t, n, 0, 0, &ref, &sep, NULL, 0), 0);
    assert_int_equal(sep, ',');
    assert_string_equal(ref.out, "Number|na,me|x\n+33 6\"1|a\r\nb|c\n0612345678|d|\nlast|q\"|z\n");
    for (size_t piece = 1; piece <= n; piece++) {
        sink s = {0};
        assert_int_equal(read_all(t, n, piece, 0, &s, NULL, NULL, 0), 0);
        assert_string_equal(s.out, ref.out);
        assert_memory_equal(s.lines, ref.lines, ref.n * sizeof ref.lines[0]);
    }
}

/* A large file read in 4 KiB pieces: the record count and the memory stay right. */
static void test_large_input_streams(void **state) {
    (void)state;
    size_t rows = 100000;
    size_t cap = rows * 40 + 64, len = 0;
    char *t = sg_xmalloc(cap);
    len += (size_t)snprintf(t, cap, "number;name;age\r\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(t + len, cap - len, "+336%08zu;\"Name %zu\";%zu\r\n", i * 10, i,
                                i % 90);
    size_t count = 0;
    csv_reader *r = csv_reader_new(NULL, NULL, NULL);
    for (size_t off = 0; off < len; off += 4096)
        assert_int_equal(csv_reader_feed(r, t + off, len - off < 4096 ? len - off : 4096), 0);
    assert_int_equal(csv_reader_finish(r), 0);
    count = csv_reader_records(r);
    assert_int_equal(count, rows + 1);
    assert_int_equal(csv_reader_bytes(r), len);
    csv_reader_free(r);
    free(t);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semicolon_header_and_rows),
        cmocka_unit_test(test_comma_detected),
        cmocka_unit_test(test_detection_ignores_separators_in_quotes),
        cmocka_unit_test(test_tab_and_single_column),
        cmocka_unit_test(test_given_separator_wins),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_trimming),
        cmocka_unit_test(test_bom_crlf_cr),
        cmocka_unit_test(test_blank_lines_and_empty_fields),
        cmocka_unit_test(test_line_numbers),
        cmocka_unit_test(test_no_trailing_newline),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_callback_stops_the_reader),
        cmocka_unit_test(test_nul_byte_is_reported_by_length),
        cmocka_unit_test(test_any_cut_gives_the_same_records),
        cmocka_unit_test(test_large_input_streams),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
