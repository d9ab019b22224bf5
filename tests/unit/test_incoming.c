/*
 * test_incoming.c - the incoming area of the store (store_incoming.h) against a real database
 * (SQLite, or PostgreSQL with SMSGATE_TEST_DATABASE): attribution to a virtual number's
 * service, to the sender of the last SMS within the reply window, or to nobody; multi-part
 * messages completed once, in any order, a repeated part counted once, parts of different
 * mobiles never mixed; the API's reads (filters, one message, delete).
 *
 * Run all tests: build/tests/test_incoming; one test: build/tests/test_incoming <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gsm.h"
#include "core/mo.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 60
#define HOUR_MS (3600LL * 1000)

/* A sent SMS, written directly: service sid sent text from sender to receiver at ts_ms. */
static int64_t sent(store_fixture *f, int64_t sid, const char *sender, const char *receiver,
                    int64_t ts_ms, const char *tag) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO messages(service_id, send_id, created_ms, due_ms, state, sender, "
             "receiver, message, coding, length, parts, credits, priority, validity_min, "
             "differed_min, tag) VALUES (%lld, 0, %lld, %lld, 4, '%s', '%s', 'hello', 0, 5, 1, "
             "1000, 1, 2880, 0, %s%s%s)",
             (long long)sid, (long long)ts_ms, (long long)ts_ms, sender, receiver,
             tag ? "'" : "", tag ? tag : "NULL", tag ? "'" : "");
    store_fixture_exec(f, sql);
    snprintf(sql, sizeof sql, "SELECT MAX(id) FROM messages WHERE service_id = %lld",
             (long long)sid);
    return store_fixture_query_int(f, sql);
}

static void get(store_fixture *f, int64_t sid, int64_t id, store_incoming *out) {
    store_incoming_req g = {.service_id = sid, .id = id};
    assert_int_equal(STORE_RUN(f, incoming_get, &g), 0);
    *out = g.msg;
}

static void test_reply_window(void **state) {
    store_fixture *f = *state;
    int64_t now = sg_now_ms();
    int64_t a = store_fixture_account(f, "acme", 0);
    int64_t b = store_fixture_account(f, "bob", 0);
    sent(f, a, "36184", "+33611111111", now - 10 * HOUR_MS, "first");
    int64_t last = sent(f, b, "36184", "+33611111111", now - 2 * HOUR_MS, "promo");
    sent(f, a, "36184", "+33622222222", now - 49 * HOUR_MS, NULL); /* outside 48 h */
    sent(f, a, "ACME", "+33633333333", now - HOUR_MS, NULL);       /* another sender */

    store_incoming_add_req r =
        store_fixture_incoming(f, "sim", "+33611111111", "36184", "Oui", now);
    assert_int_equal(r.service_id, b); /* the last one to have sent it an SMS */
    store_incoming m;
    get(f, b, r.id, &m);
    assert_int_equal(m.reply_to_id, last);
    assert_string_equal(m.tag, "promo");
    assert_string_equal(m.text, "Oui");
    assert_string_equal(m.service, "sms-bob-1");
    assert_null(m.virtual_number);
    store_incoming_fini(&m);

    r = store_fixture_incoming(f, "sim", "+33622222222", "36184", "late", now);
    assert_int_equal(r.service_id, 0);
    r = store_fixture_incoming(f, "sim", "+33633333333", "36184", "wrong number", now);
    assert_int_equal(r.service_id, 0);
    get(f, 0, r.id, &m); /* unattributed: service 0 */
    assert_int_equal(m.reply_to_id, 0);
    assert_string_equal(m.tag, "");
    store_incoming_fini(&m);
    /* A shorter window, as configured. */
    r = (store_incoming_add_req){.route = "x", .sender = "+33611111111", .receiver = "36184",
                                 .text = "x", .ts_ms = now, .reply_window_ms = HOUR_MS};
    assert_int_equal(STORE_RUN(f, incoming_add, &r), 0);
    assert_int_equal(r.service_id, 0);
}

static void test_virtual_number(void **state) {
    store_fixture *f = *state;
    int64_t now = sg_now_ms();
    int64_t a = store_fixture_account(f, "acme", 0);
    int64_t b = store_fixture_account(f, "bob", 0);
    store_vnum_req v = {.number = "+33700000001", .service = "sms-acme-1", .now_ms = now};
    assert_int_equal(STORE_RUN(f, vnum_add, &v), 0);
    store_vnum_fini(&v.vnum);
    /* bob sent it something from that number: the number's owner wins, no reply_to. */
    sent(f, b, "+33700000001", "+33644444444", now - HOUR_MS, NULL);
    store_incoming_add_req r =
        store_fixture_incoming(f, "sim", "+33644444444", "+33700000001", "hi", now);
    assert_int_equal(r.service_id, a);
    store_incoming m;
    get(f, a, r.id, &m);
    assert_string_equal(m.virtual_number, "+33700000001");
    assert_int_equal(m.reply_to_id, 0);
    store_incoming_fini(&m);
    /* The number written without its '+' (TON international as digits) still matches. */
    int64_t mine = sent(f, a, "+33700000001", "+33655555555", now - HOUR_MS, "t1");
    r = store_fixture_incoming(f, "sim", "+33655555555", "33700000001", "yes", now);
    assert_int_equal(r.service_id, a);
    get(f, a, r.id, &m);
    assert_int_equal(m.reply_to_id, mine);
    assert_string_equal(m.tag, "t1");
    store_incoming_fini(&m);
    /* Listing by virtual number. */
    store_incoming_list_req l = {.service_id = a, .virtual_number = "+33700000001"};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), 0);
    assert_int_equal(l.count, 2);
    store_incoming_list_fini(&l);
    /* A number that is not the service's: not found, and said so. */
    l = (store_incoming_list_req){.service_id = a, .virtual_number = "+33700000002"};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), SG_ENOTFOUND);
    assert_int_equal(l.no_number, 1);
    l = (store_incoming_list_req){.service_id = b, .virtual_number = "+33700000001"};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), SG_ENOTFOUND);
    assert_int_equal(l.no_number, 1);
}

/* One part as smpp_route.c makes it: GSM text given as UTF-8, stored as septets. */
static store_smpp_mo_item part(const char *route, const char *src, int ref, int total, int seq,
                               const char *text, uint8_t *buf, size_t cap) {
    size_t n = 0;
    assert_int_equal(gsm_encode_7bit(text, strlen(text), buf, cap, &n), 0);
    return (store_smpp_mo_item){.route = route, .source = src, .destination = "36184",
                                .ts_ms = sg_now_ms(), .total = total, .seq = seq, .ref = ref,
                                .coding = MO_GSM, .data = buf, .len = n};
}

static void test_parts_any_order(void **state) {
    store_fixture *f = *state;
    uint8_t b1[64], b2[64], b3[64], b4[64];
    /* part 3 first, on one route; then part 1 and (another mobile's part 1 with the same
     * reference) in one batch on another; part 1 again (the SMSC repeated it); then part 2. */
    store_smpp_mo_item i1[] = {part("r1", "+33611111111", 7, 3, 3, "ci.", b1, sizeof b1)};
    store_smpp_mo_req r = {.items = i1, .count = 1};
    assert_int_equal(STORE_RUN(f, smpp_mo, &r), 0);
    assert_int_equal(i1[0].id, 0);
    store_smpp_mo_item i2[] = {part("r2", "+33611111111", 7, 3, 1, "Oui [", b2, sizeof b2),
                               part("r2", "+33699999999", 7, 3, 1, "Non", b3, sizeof b3),
                               part("r2", "+33611111111", 7, 3, 1, "Oui [", b2, sizeof b2)};
    r = (store_smpp_mo_req){.items = i2, .count = 3};
    assert_int_equal(STORE_RUN(f, smpp_mo, &r), 0);
    assert_int_equal(i2[0].id + i2[1].id + i2[2].id, 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM incoming"), 0);
    store_incoming_partial_req p = {0};
    assert_int_equal(STORE_RUN(f, incoming_partial, &p), 0);
    assert_int_equal(p.count, 2);
    assert_string_equal(p.items[0].sender, "+33611111111");
    assert_int_equal(p.items[0].got, 2);
    assert_int_equal(p.items[0].total, 3);
    store_incoming_partial_fini(&p);
    store_smpp_mo_item i3[] = {part("r1", "+33611111111", 7, 3, 2, "mer]", b4, sizeof b4)};
    r = (store_smpp_mo_req){.items = i3, .count = 1};
    assert_int_equal(STORE_RUN(f, smpp_mo, &r), 0);
    assert_true(i3[0].id > 0);
    store_incoming m;
    get(f, 0, i3[0].id, &m);
    assert_string_equal(m.text, "Oui [mer]ci."); /* the escapes of [ and ] kept whole */
    assert_int_equal(m.parts, 3);
    store_incoming_fini(&m);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM incoming"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM incoming_parts"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM incoming_multi"), 1);
    /* The reference is free again: a new message with it starts afresh. */
    uint8_t b5[64];
    store_smpp_mo_item i4[] = {part("r1", "+33611111111", 7, 3, 3, "x", b5, sizeof b5)};
    r = (store_smpp_mo_req){.items = i4, .count = 1};
    assert_int_equal(STORE_RUN(f, smpp_mo, &r), 0);
    assert_int_equal(i4[0].id, 0);
}

/* A UTF-16 surrogate pair split across two parts comes out as one character. */
static void test_parts_split_character(void **state) {
    store_fixture *f = *state;
    const uint8_t p1[] = {0x00, 'O', 0x00, 'k', 0xD8, 0x3D};
    const uint8_t p2[] = {0xDE, 0x00};
    store_smpp_mo_item it[] = {
        {.route = "r", .source = "+33611111111", .destination = "36184", .data_coding = 8,
         .ts_ms = 1, .total = 2, .seq = 2, .ref = 300, .coding = MO_UCS2, .data = p2, .len = 2},
        {.route = "r", .source = "+33611111111", .destination = "36184", .data_coding = 8,
         .ts_ms = 2, .total = 2, .seq = 1, .ref = 300, .coding = MO_UCS2, .data = p1, .len = 6}};
    store_smpp_mo_req r = {.items = it, .count = 2};
    assert_int_equal(STORE_RUN(f, smpp_mo, &r), 0);
    assert_int_equal(it[0].id, 0);
    assert_true(it[1].id > 0);
    store_incoming m;
    get(f, 0, it[1].id, &m);
    assert_string_equal(m.text, "Ok\xF0\x9F\x98\x80");
    store_incoming_fini(&m);
}

static void test_list_filters_and_delete(void **state) {
    store_fixture *f = *state;
    int64_t now = sg_now_ms();
    int64_t a = store_fixture_account(f, "acme", 0);
    sent(f, a, "36184", "+33611111111", now - HOUR_MS, "t1");
    sent(f, a, "36184", "+33622222222", now - HOUR_MS, "t2");
    int64_t i1 = store_fixture_incoming(f, "sim", "+33611111111", "36184", "one", now - 3000).id;
    int64_t i2 = store_fixture_incoming(f, "sim", "+33622222222", "36184", "two", now - 2000).id;
    int64_t i3 = store_fixture_incoming(f, "sim", "+33611111111", "36184", "three", now - 1000).id;
    store_fixture_incoming(f, "sim", "+33633333333", "36184", "nobody's", now);
    store_incoming_list_req l = {.service_id = a};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), 0);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.ids[0], i3); /* newest first */
    store_incoming_list_fini(&l);
    l = (store_incoming_list_req){.service_id = a, .sender = "+33611111111"};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), 0);
    assert_int_equal(l.count, 2);
    store_incoming_list_fini(&l);
    l = (store_incoming_list_req){.service_id = a, .tag = "t2"};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), 0);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.ids[0], i2);
    store_incoming_list_fini(&l);
    l = (store_incoming_list_req){.service_id = a, .from_ms = now - 2500, .to_ms = now - 1500};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), 0);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.ids[0], i2);
    store_incoming_list_fini(&l);
    l = (store_incoming_list_req){.service_id = 0, .with_rows = 1};
    assert_int_equal(STORE_RUN(f, incoming_list, &l), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.rows[0].text, "nobody's");
    assert_string_equal(l.rows[0].service, "");
    store_incoming_list_fini(&l);
    /* Another service's message is not found; delete, then it is gone. */
    store_incoming_req g = {.service_id = a + 1000, .id = i1};
    assert_int_equal(STORE_RUN(f, incoming_get, &g), SG_ENOTFOUND);
    g = (store_incoming_req){.service_id = a, .id = i1, .virtual_number = "+33700000001"};
    assert_int_equal(STORE_RUN(f, incoming_get, &g), SG_ENOTFOUND);
    g = (store_incoming_req){.service_id = a, .id = i1};
    assert_int_equal(STORE_RUN(f, incoming_delete, &g), 0);
    assert_int_equal(STORE_RUN(f, incoming_delete, &g), SG_ENOTFOUND);
    assert_int_equal(STORE_RUN(f, incoming_get, &g), SG_ENOTFOUND);
}

static int setup(void **state) {
    store_fixture *f = calloc(1, sizeof *f);
    store_fixture_open(f, "incoming", NULL);
    *state = f;
    return 0;
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, store_fixture_teardown)

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    evthread_use_pthreads();
    sg_log_set_level(SG_LOG_WARN);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_reply_window),
        TEST(test_virtual_number),
        TEST(test_parts_any_order),
        TEST(test_parts_split_character),
        TEST(test_list_filters_and_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
