/*
 * test_phonebook.c - unit tests of phonebooks:
 *   - core/phonebook.c: the header's columns (any order, any case, unknown ones ignored), a
 *     row read into a contact (numbers normalised; each refusal names its reason), the CSV
 *     writer's quoting, and a written file read back through core/csv.c unchanged;
 *   - store/sqlite_phonebooks.c on a real database (SQLite, or PostgreSQL with
 *     SMSGATE_TEST_DATABASE: store_fixture.h): books and contacts, the book's limit, the
 *     import from a stored document (refused rows counted, the first reason kept) and the
 *     export into a new document, deletion of a book with its contacts, services apart.
 *
 * Run all tests: build/tests/test_phonebook; one test: build/tests/test_phonebook <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/thread.h>

#include "core/phonebook.h"
#include "store_fixture.h"

#define TEST_TIMEOUT_S 120

/* ---- core/phonebook.c ---- */

typedef struct rows {
    int col[PB_NFIELDS];
    int header_rc;
    int n, refused;
    char err[8][160];
    phonebook_row row[8];
    char keep[8][PB_NFIELDS][64]; /* the text fields, copied out of the reader */
} rows;

static int on_rec(void *arg, const csv_record *rec) {
    rows *r = arg;
    if (rec->index == 0) return (r->header_rc = phonebook_header(rec, r->col, r->err[0], 160));
    int i = r->n++;
    if (phonebook_row_read(rec, r->col, "fr", &r->row[i], r->err[i], 160)) {
        r->refused++;
        return 0;
    }
    for (int f = 0; f < PB_FIRST_PHONE; f++) {
        snprintf(r->keep[i][f], 64, "%s", r->row[i].text[f]);
        r->row[i].text[f] = r->keep[i][f];
    }
    r->err[i][0] = 0;
    return 0;
}

static int read_csv(const char *text, rows *r) {
    memset(r, 0, sizeof *r);
    csv_reader *rd = csv_reader_new(NULL, on_rec, r);
    int rc = csv_reader_feed(rd, text, strlen(text));
    if (!rc) rc = csv_reader_finish(rd);
    csv_reader_free(rd);
    return rc;
}

static void test_header(void **state) {
    (void)state;
    rows r;
    assert_int_equal(read_csv("WorkMobile;comment;SURNAME\n", &r), 0);
    assert_int_equal(r.col[PB_WORK_MOBILE], 0);
    assert_int_equal(r.col[PB_SURNAME], 2);
    assert_int_equal(r.col[PB_NAME], -1);
    assert_int_equal(r.col[PB_GROUP], -1);
    assert_int_equal(read_csv("+33612345678;Alice\n", &r), SG_EINVAL);
    assert_non_null(strstr(r.err[0], "first line must name the columns"));
    assert_int_equal(read_csv("group;homeMobile\n", &r), SG_EINVAL);
    assert_non_null(strstr(r.err[0], "neither a 'name' nor a 'surname'"));
}

static void test_rows(void **state) {
    (void)state;
    rows r;
    assert_int_equal(read_csv("name,surname,homeMobile,workPhone,group\n"
                              "Martin,Alice,06 12 34 56 78,,fam\n"
                              "Bob,,,+33491123456,\n"
                              ",,+33612345678,,\n"
                              "X,Y,,,\n"
                              "X,Y,12,,\n"
                              "X,Y,,abc,\n",
                              &r),
                     0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.refused, 4);
    assert_string_equal(r.row[0].text[PB_NAME], "Martin");
    assert_string_equal(r.row[0].text[PB_GROUP], "fam");
    assert_string_equal(r.row[0].phone[PB_HOME_MOBILE - PB_FIRST_PHONE], "+33612345678");
    assert_string_equal(r.row[0].phone[PB_WORK_PHONE - PB_FIRST_PHONE], "");
    assert_string_equal(r.row[1].text[PB_SURNAME], "");
    assert_string_equal(r.row[1].phone[PB_WORK_PHONE - PB_FIRST_PHONE], "+33491123456");
    assert_string_equal(r.err[2], "neither 'name' nor 'surname' is given");
    assert_string_equal(r.err[3], "no phone number is given");
    assert_string_equal(r.err[4], "'homeMobile' is not a valid phone number");
    assert_string_equal(r.err[5], "'workPhone' is not a valid phone number");

    char longname[300];
    memset(longname, 'a', 299);
    longname[299] = 0;
    char csv[512];
    snprintf(csv, sizeof csv, "name;homeMobile\n%s;+33612345678\n", longname);
    assert_int_equal(read_csv(csv, &r), 0);
    assert_int_equal(r.refused, 1);
    assert_string_equal(r.err[0], "'name' is longer than 255 bytes");

    char out[PHONE_E164_MAX];
    assert_int_equal(phonebook_phone(NULL, "fr", out), 0);
    assert_string_equal(out, "");
    assert_int_equal(phonebook_phone("0033 6 12 34 56 78", "fr", out), 0);
    assert_string_equal(out, "+33612345678");
    assert_int_equal(phonebook_phone("hello", "fr", out), SG_EINVAL);
}

static void test_writer_round_trip(void **state) {
    (void)state;
    phonebook_buf b = {0};
    phonebook_csv_header(&b);
    const char *k1[PB_NFIELDS] = {"Dupont; fils", "Jean", "work \"A\"", NULL, "+33142345678",
                                  "+33611111111", NULL};
    const char *k2[PB_NFIELDS] = {" padded ", "two\nlines", "", "+33612345678", NULL, NULL,
                                  NULL};
    phonebook_csv_row(&b, k1);
    phonebook_csv_row(&b, k2);
    assert_string_equal(b.data,
                        "name;surname;group;homeMobile;homePhone;workMobile;workPhone\r\n"
                        "\"Dupont; fils\";Jean;\"work \"\"A\"\"\";;+33142345678;+33611111111;\r\n"
                        "\" padded \";\"two\nlines\";;+33612345678;;;\r\n");
    rows r;
    assert_int_equal(read_csv(b.data, &r), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.refused, 0);
    assert_string_equal(r.row[0].text[PB_NAME], "Dupont; fils");
    assert_string_equal(r.row[0].text[PB_GROUP], "work \"A\"");
    assert_string_equal(r.row[0].phone[PB_WORK_MOBILE - PB_FIRST_PHONE], "+33611111111");
    assert_string_equal(r.row[1].text[PB_NAME], " padded ");
    assert_string_equal(r.row[1].text[PB_SURNAME], "two\nlines");
    phonebook_buf_fini(&b);
}

/* ---- store/sqlite_phonebooks.c ---- */

static int setup(void **state) {
    store_fixture *f = sg_xcalloc(1, sizeof *f);
    store_fixture_open(f, "phonebook", NULL);
    *state = f;
    return 0;
}

static void book(store_fixture *f, int64_t sid, const char *key, const char *name) {
    store_phonebook_req r = {.service_id = sid, .book_key = key, .phone_key = "p", .name = name,
                             .now_ms = sg_now_ms()};
    assert_int_equal(STORE_RUN(f, phonebook_create, &r), 0);
}

static void test_store_books_contacts(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "books", 0);
    book(f, sid, "k1", "One");
    book(f, sid, "k2", "Two");
    store_phonebook_req l = {.service_id = sid};
    assert_int_equal(STORE_RUN(f, phonebook_list, &l), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.keys[0], "k1");
    assert_string_equal(l.keys[1], "k2");
    store_phonebook_req_fini(&l);

    store_phonebook_req u = {.service_id = sid, .book_key = "k1", .name = "Uno"};
    assert_int_equal(STORE_RUN(f, phonebook_update, &u), 0);
    store_phonebook_req g = {.service_id = sid, .book_key = "k1"};
    assert_int_equal(STORE_RUN(f, phonebook_get, &g), 0);
    assert_string_equal(g.out_name, "Uno");
    assert_string_equal(g.out_phone_key, "p");
    store_phonebook_req_fini(&g);

    store_phonebook_req c = {.service_id = sid, .book_key = "k1"};
    c.contact = (store_contact){.name = "Martin", .surname = "Alice", .group = "fam",
                                .home_mobile = "+33612345678"};
    assert_int_equal(STORE_RUN(f, contact_create, &c), 0);
    int64_t id = c.contact.id;
    assert_true(id > 0);
    store_phonebook_req cg = {.service_id = sid, .book_key = "k1"};
    cg.contact.id = id;
    assert_int_equal(STORE_RUN(f, contact_get, &cg), 0);
    assert_string_equal(cg.contact.surname, "Alice");
    assert_string_equal(cg.contact.home_mobile, "+33612345678");
    assert_null(cg.contact.work_phone);
    store_contact_fini(&cg.contact);
    /* the contact is the book's: another book of the service does not have it */
    store_phonebook_req other = {.service_id = sid, .book_key = "k2"};
    other.contact.id = id;
    assert_int_equal(STORE_RUN(f, contact_get, &other), SG_ENOTFOUND);
    assert_int_equal(STORE_RUN(f, contact_delete, &other), SG_ENOTFOUND);
    /* nor another service */
    int64_t sid2 = store_fixture_account(f, "books2", 0);
    store_phonebook_req x = {.service_id = sid2, .book_key = "k1"};
    assert_int_equal(STORE_RUN(f, phonebook_get, &x), SG_ENOTFOUND);
    assert_int_equal(STORE_RUN(f, contact_list, &x), SG_ENOTFOUND);
    x.name = "mine";
    assert_int_equal(STORE_RUN(f, phonebook_update, &x), SG_ENOTFOUND);
    assert_int_equal(STORE_RUN(f, phonebook_delete, &x), SG_ENOTFOUND);

    store_phonebook_req cu = {.service_id = sid, .book_key = "k1"};
    cu.contact = (store_contact){.id = id, .name = "Martin", .surname = "Alicia", .group = "",
                                 .work_phone = "+33491123456"};
    assert_int_equal(STORE_RUN(f, contact_update, &cu), 0);
    store_phonebook_req cg2 = {.service_id = sid, .book_key = "k1"};
    cg2.contact.id = id;
    assert_int_equal(STORE_RUN(f, contact_get, &cg2), 0);
    assert_string_equal(cg2.contact.surname, "Alicia");
    assert_null(cg2.contact.home_mobile);
    assert_string_equal(cg2.contact.work_phone, "+33491123456");
    store_contact_fini(&cg2.contact);

    store_phonebook_req d = {.service_id = sid, .book_key = "k1"};
    assert_int_equal(STORE_RUN(f, phonebook_delete, &d), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM phonebook_contacts"), 0);
    assert_int_equal(STORE_RUN(f, phonebook_delete, &d), SG_ENOTFOUND);
}

static void test_store_limits(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "limits", 0);
    char key[16];
    for (int i = 0; i < STORE_PHONEBOOK_MAX_BOOKS; i++) {
        snprintf(key, sizeof key, "b%d", i);
        book(f, sid, key, "n");
    }
    store_phonebook_req r = {.service_id = sid, .book_key = "one-more", .phone_key = "p",
                             .name = "n", .now_ms = 1};
    assert_int_equal(STORE_RUN(f, phonebook_create, &r), SG_ELIMIT);
    /* a full book refuses one more contact (filled directly: 10,000 inserts) */
    char sql[384];
    snprintf(sql, sizeof sql, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                              "WHERE i < %d) INSERT INTO phonebook_contacts(book_id, name, "
                              "surname, grp) SELECT p.id, 'n', 's', 'g' FROM n, phonebooks p "
                              "WHERE p.book_key = 'b0'", STORE_PHONEBOOK_MAX_CONTACTS);
    store_fixture_exec(f, sql);
    store_phonebook_req c = {.service_id = sid, .book_key = "b0"};
    c.contact = (store_contact){.name = "n", .surname = "s", .group = "g"};
    assert_int_equal(STORE_RUN(f, contact_create, &c), SG_ELIMIT);
}

/* Stores text as a new document of account 1 (the fixture's first account); its id in id. */
static void document(store_fixture *f, int64_t account, const char *text, char id[40]) {
    store_document_req d = {.account_id = account, .name = "c.csv", .tags_json = "[]",
                            .ttl_ms = 3600000};
    assert_int_equal(STORE_RUN(f, document_create, &d), 0);
    snprintf(id, 40, "%s", d.doc.id);
    store_document_req p = {.id = id, .token = d.doc.token, .data = text, .len = strlen(text)};
    assert_int_equal(STORE_RUN(f, document_put, &p), 0);
    store_document_fini(&p.doc);
    store_document_fini(&d.doc);
}

static void test_store_import_export(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "io", 0);
    int64_t account = store_fixture_query_int(f, "SELECT account_id FROM services ORDER BY id DESC");
    book(f, sid, "io", "IO");
    char doc[40];
    /* more than one 64 KiB slice, so that the reader is fed several times */
    size_t cap = 200000, len = 0;
    char *csv = sg_xmalloc(cap);
    len += (size_t)snprintf(csv + len, cap - len, "surname;name;homeMobile\n");
    for (int i = 0; i < 3000; i++)
        len += (size_t)snprintf(csv + len, cap - len, "S%d;N%d;+336%08d\n", i, i, i);
    len += (size_t)snprintf(csv + len, cap - len, "bad;row;0000\n");
    document(f, account, csv, doc);
    free(csv);
    store_phonebook_req im = {.service_id = sid, .book_key = "io", .account_id = account,
                              .document_id = doc, .default_region = "fr", .now_ms = 5};
    assert_int_equal(STORE_RUN(f, phonebook_import, &im), 0);
    assert_int_equal(im.imported, 3000);
    assert_int_equal(im.refused, 1);
    assert_string_equal(im.message, "line 3002: 'homeMobile' is not a valid phone number");
    assert_true(im.task_id > 0);
    store_phonebook_req_fini(&im);

    store_phonebook_req ex = {.service_id = sid, .book_key = "io", .account_id = account,
                              .ttl_ms = 60000, .now_ms = 5};
    assert_int_equal(STORE_RUN(f, phonebook_export, &ex), 0);
    assert_int_equal(ex.count, 3000);
    store_document_req rd = {.account_id = account, .id = ex.out_document_id,
                             .max_bytes = SIZE_MAX};
    assert_int_equal(STORE_RUN(f, document_read, &rd), 0);
    assert_true(strncmp(rd.out, "name;surname;group;homeMobile;homePhone;workMobile;workPhone\r\n"
                                "N0;S0;;+33600000000;;;\r\n", 86) == 0);
    free(rd.out);
    store_document_fini(&rd.doc);
    store_phonebook_req_fini(&ex);

    /* errors: another account's document, a document that is not a CSV of contacts */
    store_phonebook_req bad = {.service_id = sid, .book_key = "io", .account_id = account + 1000,
                               .document_id = doc, .default_region = "fr"};
    assert_int_equal(STORE_RUN(f, phonebook_import, &bad), SG_ENOTFOUND);
    store_phonebook_req_fini(&bad);
    char doc2[40];
    document(f, account, "\"unclosed;\n", doc2);
    store_phonebook_req bad2 = {.service_id = sid, .book_key = "io", .account_id = account,
                                .document_id = doc2, .default_region = "fr"};
    assert_int_equal(STORE_RUN(f, phonebook_import, &bad2), SG_EINVAL);
    assert_non_null(bad2.message);
    assert_non_null(strstr(bad2.message, "quoted field"));
    store_phonebook_req_fini(&bad2);
    /* nothing of a refused import stays */
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM phonebook_imports"), 1);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test_setup_teardown(test_store_books_contacts, setup, store_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_limits, setup, store_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store_import_export, setup, store_fixture_teardown),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads(); /* the store's results reach the loop from its thread */
    return cmocka_run_group_tests_name("phonebook", tests, NULL, NULL);
}
