/*
 * test_campaigns.c - the campaigns area of the store (store_campaigns.h) against a real SQLite
 * file: receiver lists with refused and duplicate rows, slots and their replacement, the
 * purge, documents in slices, and the fan-out (rendering, parts, per-destination prices, one
 * debit, all or nothing), cancelling with one refund, statistics per campaign and per tag
 * (also when a campaign's id range holds other sends' messages, as on PostgreSQL).
 *
 * Run all tests: build/tests/test_campaigns; one test: build/tests/test_campaigns <name>.
 * Each test opens a fresh database in a temporary directory and runs the event loop until the
 * callbacks of its operations ran (results are delivered on the loop thread only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 120

static int64_t balance(store_fixture *f) {
    store_service_get_req g = {.name = "sms-acme-1"};
    assert_int_equal(STORE_RUN(f, service_get, &g), 0);
    int64_t b = g.svc.balance;
    store_service_fini(&g.svc);
    return b;
}

static int setup(void **state) {
    store_fixture_setup(state);
    store_fixture_account(*state, "acme", 10000);
    return 0;
}

/* A row of a list: receiver NULL for a refused one; vals "a\0b\0" (n bytes). */
static store_list_row row(int64_t line, const char *receiver, const char *region, const char *raw,
                          const char *vals, size_t n) {
    return (store_list_row){.line = line, .receiver = receiver, .region = region, .raw = raw,
                            .fields = vals, .fields_len = n,
                            .reason = receiver ? NULL : "not a valid phone number"};
}

#define VALS(s) s, sizeof s - 1

/* Loads a list of the rows given into slot (0: a list for one send); returns its id. */
static int64_t load(store_fixture *f, int64_t slot, store_list_row *rows, size_t n, int replace,
                    int expect_rc) {
    store_list_req b = {.service_id = f->sid, .source = "test"};
    assert_int_equal(STORE_RUN(f, list_begin, &b), 0);
    store_list_req r = {.list_id = b.list_id, .rows = rows, .count = n};
    assert_int_equal(STORE_RUN(f, list_rows, &r), 0);
    store_list_req fin = {.service_id = f->sid, .list_id = b.list_id,
                          .columns_json = "[\"number\",\"name\",\"city\"]", .separator = ';',
                          .header = 1, .slot = slot, .description = "test", .replace = replace};
    assert_int_equal(STORE_RUN(f, list_finish, &fin), expect_rc);
    if (expect_rc) { /* as campaign/ does with a list that failed */
        store_list_req d = {.list_id = b.list_id};
        assert_int_equal(STORE_RUN(f, list_drop, &d), 0);
    }
    return b.list_id;
}

static void test_list_rows_refused_and_duplicates(void **state) {
    store_fixture *f = *state;
    store_list_row rows[] = {
        row(2, "+33612345670", "fr", "0612345670", VALS("0612345670\0Ann\0Paris\0")),
        row(3, NULL, NULL, "12", VALS("12\0Bob\0Lyon\0")),
        row(4, "+33612345670", "fr", "06 12 34 56 70", VALS("06 12 34 56 70\0Dup\0Nice\0")),
        row(5, "+4915112345678", "de", "+4915112345678", VALS("+4915112345678\0Eva\0Berlin\0")),
    };
    store_list_req b = {.service_id = f->sid, .source = "test"};
    assert_int_equal(STORE_RUN(f, list_begin, &b), 0);
    store_list_req r = {.list_id = b.list_id, .rows = rows, .count = 4};
    assert_int_equal(STORE_RUN(f, list_rows, &r), 0);
    assert_int_equal(r.duplicates, 1);
    store_list_req fin = {.service_id = f->sid, .list_id = b.list_id, .columns_json = "[]",
                          .slot = 1, .description = "one"};
    assert_int_equal(STORE_RUN(f, list_finish, &fin), 0);
    assert_int_equal(fin.records, 4);
    assert_int_equal(fin.valid, 2);
    assert_int_equal(fin.invalid, 2);

    store_slot_req g = {.service_id = f->sid, .slot = 1, .invalid_limit = 10};
    assert_int_equal(STORE_RUN(f, slot_get, &g), 0);
    assert_int_equal(g.out.records, 4);
    assert_string_equal(g.out.description, "one");
    assert_string_equal(g.out.invalid_json,
                        "[{\"line\":3,\"receiver\":\"12\",\"reason\":\"not a valid phone number\"},"
                        "{\"line\":4,\"receiver\":\"06 12 34 56 70\",\"reason\":\"duplicate of "
                        "line 2\"}]");
    store_slot_fini(&g.out);

    /* A list cannot take rows once it is complete. */
    store_list_row more[] = {row(9, "+33612345699", "fr", "x", VALS("x\0\0\0"))};
    store_list_req late = {.list_id = b.list_id, .rows = more, .count = 1};
    assert_int_equal(STORE_RUN(f, list_rows, &late), SG_ENOTFOUND);
}

static void test_slots_conflict_replace_and_purge(void **state) {
    store_fixture *f = *state;
    store_list_row one[] = {row(2, "+33612345670", "fr", "x", VALS("x\0a\0b\0"))};
    int64_t first = load(f, 1, one, 1, 0, 0);
    load(f, 1, one, 1, 0, SG_ECONFLICT);
    store_list_row two[] = {row(2, "+33612345670", "fr", "x", VALS("x\0a\0b\0")),
                            row(3, "+33612345680", "fr", "y", VALS("y\0c\0d\0"))};
    int64_t second = load(f, 1, two, 2, 1, 0);
    store_slot_req g = {.service_id = f->sid, .slot = 1};
    assert_int_equal(STORE_RUN(f, slot_get, &g), 0);
    assert_int_equal(g.out.list_id, second);
    assert_int_equal(g.out.records, 2);
    store_slot_fini(&g.out);
    load(f, 7, one, 1, 1, SG_ENOTFOUND); /* replace needs an existing slot */

    store_slot_req csv = {.service_id = f->sid, .slot = 1};
    assert_int_equal(STORE_RUN(f, slot_csv, &csv), 0);
    assert_string_equal(csv.csv, "number;name;city\nx;a;b\ny;c;d\n");
    free(csv.csv);

    store_slot_req l = {.service_id = f->sid};
    assert_int_equal(STORE_RUN(f, slot_list, &l), 0);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.slots[0], 1);
    free(l.slots);

    /* Dropped: the first list (replaced), the conflicting one, the one without a slot. The
     * purge takes them a slice at a time. */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM receiver_lists WHERE state = 2 AND id = %lld",
             (long long)first);
    assert_int_equal(store_fixture_query_int(f, sql), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM receiver_rows"), 1 + 1 + 2 + 1);
    int rounds = 0;
    store_list_purge_req p = {.limit = 1, .now_ms = sg_now_ms()};
    do {
        p.deleted = 0;
        assert_int_equal(STORE_RUN(f, list_purge, &p), 0);
        rounds++;
    } while (p.more && rounds < 20);
    assert_false(p.more);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM receiver_rows"), 2);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM receiver_lists"), 1);

    store_slot_req del = {.service_id = f->sid, .slot = 1};
    assert_int_equal(STORE_RUN(f, slot_delete, &del), 0);
    assert_int_equal(STORE_RUN(f, slot_delete, &del), SG_ENOTFOUND);
    p = (store_list_purge_req){.limit = 100, .now_ms = sg_now_ms()};
    assert_int_equal(STORE_RUN(f, list_purge, &p), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM receiver_rows"), 0);
}

static void test_recover_drops_lists_left_loading(void **state) {
    store_fixture *f = *state;
    store_list_req b = {.service_id = f->sid, .source = "test"};
    assert_int_equal(STORE_RUN(f, list_begin, &b), 0);
    store_list_row one[] = {row(2, "+33612345670", "fr", "x", VALS("x\0a\0b\0"))};
    store_list_req r = {.list_id = b.list_id, .rows = one, .count = 1};
    assert_int_equal(STORE_RUN(f, list_rows, &r), 0);
    /* a second list, loading right now (on PostgreSQL: maybe by another live node) */
    store_list_req b2 = {.service_id = f->sid, .source = "test"};
    assert_int_equal(STORE_RUN(f, list_begin, &b2), 0);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE receiver_lists SET created_ms = created_ms - 3600000 "
                              "WHERE id = %lld", (long long)b.list_id);
    store_fixture_exec(f, sql); /* the first one has been loading for an hour */
    store_list_purge_req p = {.limit = 100, .recover = 1, .now_ms = sg_now_ms(),
                              .stale_before_ms = sg_now_ms() - 600000};
    assert_int_equal(STORE_RUN(f, list_purge, &p), 0);
    for (int i = 0; p.more && i < 10; i++) { /* one dropped list per call */
        p.recover = 0;
        assert_int_equal(STORE_RUN(f, list_purge, &p), 0);
    }
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM receiver_rows"), 0);
    if (store_fixture_pg()) { /* several nodes: only the stale one goes */
        assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM receiver_lists"), 1);
        snprintf(sql, sizeof sql, "SELECT state FROM receiver_lists WHERE id = %lld",
                 (long long)b2.list_id);
        assert_int_equal(store_fixture_query_int(f, sql), 0); /* still loading */
    } else { /* one node: everything its previous run left loading */
        assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM receiver_lists"), 0);
    }
}

static void test_documents_in_slices(void **state) {
    store_fixture *f = *state;
    store_document_req c = {.account_id = 1, .name = "big.csv", .ttl_ms = 60000};
    assert_int_equal(STORE_RUN(f, document_create, &c), 0);
    assert_int_equal(strlen(c.doc.id), 36);
    size_t n = 600 * 1024;
    char *data = sg_xmalloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (char)('a' + i % 26);
    store_document_req bad = {.id = c.doc.id, .token = "nope", .data = data, .len = n};
    assert_int_equal(STORE_RUN(f, document_put, &bad), SG_EPERM);
    store_document_fini(&bad.doc);
    store_document_req put = {.id = c.doc.id, .token = c.doc.token, .data = data, .len = n};
    assert_int_equal(STORE_RUN(f, document_put, &put), 0);
    assert_int_equal(put.doc.size, (int64_t)n);
    store_document_fini(&put.doc);
    /* Read back one slice at a time (64 KiB each): 10 reads. */
    size_t got = 0;
    int64_t seq = 0;
    int reads = 0, eof = 0;
    while (!eof) {
        store_document_req rd = {.account_id = 1, .id = c.doc.id, .seq = seq, .max_bytes = 1};
        assert_int_equal(STORE_RUN(f, document_read, &rd), 0);
        assert_memory_equal(rd.out, data + got, rd.out_len);
        got += rd.out_len;
        seq = rd.next_seq;
        eof = rd.eof;
        reads++;
        free(rd.out);
        store_document_fini(&rd.doc);
    }
    assert_int_equal(got, n);
    assert_int_equal(reads, 10);
    /* Another account does not see it; by token anyone does. */
    store_document_req other = {.account_id = 2, .id = c.doc.id, .max_bytes = 1};
    assert_int_equal(STORE_RUN(f, document_read, &other), SG_ENOTFOUND);
    store_document_req tok = {.id = c.doc.id, .token = c.doc.token, .max_bytes = SIZE_MAX};
    assert_int_equal(STORE_RUN(f, document_read, &tok), 0);
    assert_int_equal(tok.out_len, n);
    assert_true(tok.eof);
    free(tok.out);
    store_document_fini(&tok.doc);
    store_document_list_req l = {.account_id = 1};
    assert_int_equal(STORE_RUN(f, document_list, &l), 0);
    assert_int_equal(l.count, 1);
    free(l.ids[0]);
    free(l.ids);
    store_document_req del = {.account_id = 1, .id = c.doc.id};
    assert_int_equal(STORE_RUN(f, document_delete, &del), 0);
    store_document_fini(&del.doc);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM document_chunks"), 0);
    store_document_fini(&c.doc);
    free(data);
}

static store_campaign_send_req send_req(store_fixture *f, int64_t slot, const char *message) {
    store_campaign_send_req s = {.service_id = f->sid, .slot = slot, .kind = "batch",
                                 .message = message, .sender = "36184",
                                 .sender_for_response = 1, .priority = 2, .sms_class = 1,
                                 .validity_min = 2880, .max_parts = 2, .tag = "promo",
                                 .report_limit = 10};
    s.now_ms = sg_now_ms();
    s.due_ms = s.now_ms;
    return s;
}

static void test_fanout_renders_prices_and_debits_once(void **state) {
    store_fixture *f = *state;
    store_price_set_req price = {.what = STORE_PRICE_DEST, .country = "de", .value = 2500};
    assert_int_equal(STORE_RUN(f, price_set, &price), 0);
    char long_name[400];
    memset(long_name, 'z', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char vals[512];
    int n = snprintf(vals, sizeof vals, "+33612345690%c%s%cNice%c", 0, long_name, 0, 0);
    store_list_row rows[] = {
        row(2, "+33612345670", "fr", "0612345670", VALS("0612345670\0Ann\0Paris\0")),
        row(3, NULL, NULL, "12", VALS("12\0Bob\0Lyon\0")),
        row(4, "+4915112345678", "de", "+4915112345678", VALS("+4915112345678\0Eva\0Berlin\0")),
        row(5, "+33612345690", "fr", "+33612345690", vals, (size_t)n),
        row(6, "+33612345600", "fr", "+33612345600",
            VALS("+33612345600\0Fran\xC3\xA7oise\0Caen\0")),
    };
    load(f, 2, rows, 5, 0, 0);
    store_campaign_send_req s = send_req(f, 2, "Hi #name# (#city#)");
    s.stop_clause = "STOP 36184";
    assert_int_equal(STORE_RUN(f, campaign_send, &s), 0);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.invalid, 2); /* the refused row, and the one too long once rendered */
    /* fr 1 + de 2.5 + fr (UCS-2: 1 part) 1 */
    assert_int_equal(s.total_credits, 4500);
    assert_int_equal(s.balance, 10000 - 4500);
    assert_int_equal(balance(f), 5500);
    assert_non_null(strstr(s.invalid_json, "\"receiver\":\"12\""));
    assert_non_null(strstr(s.invalid_json, "3 SMS parts long once rendered; at most 2"));
    free(s.invalid_json);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages WHERE tag = 'promo' AND priority = 2 "
                              "AND message = 'Hi Ann (Paris)\nSTOP 36184' AND parts = 1 AND "
                              "credits = 1000 AND state = 1"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages WHERE receiver = '+4915112345678' "
                              "AND credits = 2500 AND message = 'Hi Eva (Berlin)\nSTOP 36184'"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages WHERE coding = 1 AND "
                              "message LIKE 'Hi Fran%oise (Caen)%'"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM events WHERE state = 1"), 3);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'debit'"), 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT credits FROM sends ORDER BY id DESC LIMIT 1"), 4500);

    store_campaign_req g = {.service_id = f->sid, .id = s.id, .kind = "batch"};
    assert_int_equal(STORE_RUN(f, campaign_get, &g), 0);
    assert_int_equal(g.out.records, 5);
    assert_int_equal(g.out.count, 3);
    assert_int_equal(g.out.invalid, 2);
    assert_int_equal(g.out.states[MSG_QUEUED], 3);
    assert_int_equal(g.out.credits, 4500);
    assert_int_equal(g.out.credits_estimated, 4500);
    assert_int_equal(g.out.last_msg - g.out.first_msg, 2);
    store_campaign_fini(&g.out);
    store_campaign_req j = {.service_id = f->sid, .id = s.id, .kind = "job"};
    assert_int_equal(STORE_RUN(f, campaign_get, &j), SG_ENOTFOUND);

    store_tag_stats_req t = {.service_id = f->sid, .tag = "promo"};
    assert_int_equal(STORE_RUN(f, tag_stats, &t), 0);
    assert_int_equal(t.total, 3);
    assert_int_equal(t.states[MSG_QUEUED], 3);
    assert_int_equal(t.credits, 4500);
}

static void test_fanout_all_or_nothing(void **state) {
    store_fixture *f = *state;
    store_list_row rows[12];
    char nums[12][32];
    for (int i = 0; i < 12; i++) {
        snprintf(nums[i], sizeof nums[i], "+336123456%02d", i);
        rows[i] = row(i + 2, nums[i], "fr", nums[i], VALS("x\0A\0B\0"));
    }
    load(f, 3, rows, 12, 0, 0);
    int64_t messages = store_fixture_query_int(f, "SELECT COUNT(*) FROM messages");
    int64_t ledger = store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger");

    /* 12 credits needed, 10 held: nothing is stored. */
    store_campaign_send_req s = send_req(f, 3, "Hello #name#");
    assert_int_equal(STORE_RUN(f, campaign_send, &s), SG_ENOCREDIT);
    assert_int_equal(s.total_credits, 12000);
    assert_int_equal(s.balance, 10000);
    assert_null(s.invalid_json);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages"), messages);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger"), ledger);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM campaigns"), 0);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM sends"), 0);
    assert_int_equal(balance(f), 10000);

    /* An unknown column: refused, named. */
    store_campaign_send_req u = send_req(f, 3, "Hello #firstname#");
    assert_int_equal(STORE_RUN(f, campaign_send, &u), SG_EINVAL);
    assert_string_equal(u.bad_var, "firstname");
    /* No such slot; a sender that is not enabled. */
    store_campaign_send_req m = send_req(f, 9, "Hello");
    assert_int_equal(STORE_RUN(f, campaign_send, &m), SG_ENOTFOUND);
    store_campaign_send_req b = send_req(f, 3, "Hello");
    b.sender = "Shop";
    b.sender_check = 1;
    assert_int_equal(STORE_RUN(f, campaign_send, &b), SG_EPERM);
    assert_int_equal(b.sender_status_bad, 1);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM messages"), messages);
}

static void test_cancel_refunds_once(void **state) {
    store_fixture *f = *state;
    store_list_row rows[] = {
        row(2, "+33612345670", "fr", "a", VALS("a\0\0\0")),
        row(3, "+33612345680", "fr", "b", VALS("b\0\0\0")),
    };
    load(f, 4, rows, 2, 0, 0);
    /* Deferred one hour: every message scheduled, cancellable. */
    store_campaign_send_req s = send_req(f, 4, "Later");
    s.due_ms = s.now_ms + 3600000;
    assert_int_equal(STORE_RUN(f, campaign_send, &s), 0);
    free(s.invalid_json);
    assert_int_equal(balance(f), 8000);
    store_campaign_req c = {.service_id = f->sid, .id = s.id};
    assert_int_equal(STORE_RUN(f, campaign_cancel, &c), 0);
    assert_int_equal(c.refunded, 2000);
    assert_int_equal(c.out.states[MSG_CANCELLED], 2);
    assert_true(c.out.cancelled_ms > 0);
    store_campaign_fini(&c.out);
    assert_int_equal(balance(f), 10000);
    store_campaign_req again = {.service_id = f->sid, .id = s.id};
    assert_int_equal(STORE_RUN(f, campaign_cancel, &again), 0);
    assert_int_equal(again.refunded, 0);
    store_campaign_fini(&again.out);
    assert_int_equal(balance(f), 10000);
    assert_int_equal(store_fixture_query_int(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'refund'"), 1);

    /* Due now: queued, not a deferred batch any more; remove cancels what is pending. */
    store_campaign_send_req q = send_req(f, 4, "Now");
    assert_int_equal(STORE_RUN(f, campaign_send, &q), 0);
    free(q.invalid_json);
    store_campaign_req no = {.service_id = f->sid, .id = q.id};
    assert_int_equal(STORE_RUN(f, campaign_cancel, &no), SG_ECONFLICT);
    store_campaign_fini(&no.out);
    store_campaign_req rm = {.service_id = f->sid, .id = q.id, .remove = 1};
    assert_int_equal(STORE_RUN(f, campaign_cancel, &rm), 0);
    assert_int_equal(rm.refunded, 2000);
    store_campaign_fini(&rm.out);
    store_campaign_req gone = {.service_id = f->sid, .id = q.id};
    assert_int_equal(STORE_RUN(f, campaign_get, &gone), SG_ENOTFOUND);
    store_campaign_list_req l = {.service_id = f->sid};
    assert_int_equal(STORE_RUN(f, campaign_list, &l), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].id, s.id);
    store_campaign_list_fini(&l);
    assert_int_equal(balance(f), 10000);
}

/* On PostgreSQL several nodes draw message ids from one sequence at once, so a campaign's id
 * range may hold other sends' messages of the same service. Made here by widening a
 * campaign's range over the next campaign's messages: its statistics and its cancel count and
 * touch only its own messages (their send), never the other campaign's. */
static void test_campaign_range_holds_other_sends(void **state) {
    store_fixture *f = *state;
    store_list_row rows[] = {
        row(2, "+33612345670", "fr", "a", VALS("a\0\0\0")),
        row(3, "+33612345680", "fr", "b", VALS("b\0\0\0")),
    };
    load(f, 5, rows, 2, 0, 0);
    store_campaign_send_req a = send_req(f, 5, "Later");
    a.due_ms = a.now_ms + 3600000;
    assert_int_equal(STORE_RUN(f, campaign_send, &a), 0);
    free(a.invalid_json);
    store_campaign_send_req b = send_req(f, 5, "Later too");
    b.due_ms = b.now_ms + 3600000;
    assert_int_equal(STORE_RUN(f, campaign_send, &b), 0);
    free(b.invalid_json);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE campaigns SET last_msg = last_msg + 2 WHERE id = '%s'",
             a.id);
    store_fixture_exec(f, sql);

    store_campaign_req g = {.service_id = f->sid, .id = a.id};
    assert_int_equal(STORE_RUN(f, campaign_get, &g), 0);
    assert_int_equal(g.out.states[MSG_SCHEDULED], 2);
    assert_int_equal(g.out.credits, 2000);
    store_campaign_fini(&g.out);
    store_campaign_req c = {.service_id = f->sid, .id = a.id};
    assert_int_equal(STORE_RUN(f, campaign_cancel, &c), 0);
    assert_int_equal(c.refunded, 2000);
    assert_int_equal(c.out.states[MSG_CANCELLED], 2);
    assert_int_equal(c.out.states[MSG_SCHEDULED], 0);
    store_campaign_fini(&c.out);
    store_campaign_req o = {.service_id = f->sid, .id = b.id};
    assert_int_equal(STORE_RUN(f, campaign_get, &o), 0);
    assert_int_equal(o.out.states[MSG_SCHEDULED], 2);
    store_campaign_fini(&o.out);
    assert_int_equal(balance(f), 8000);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, store_fixture_teardown)

int main(int argc, char **argv) {
    evthread_use_pthreads();
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        TEST(test_list_rows_refused_and_duplicates),
        TEST(test_slots_conflict_replace_and_purge),
        TEST(test_recover_drops_lists_left_loading),
        TEST(test_documents_in_slices),
        TEST(test_fanout_renders_prices_and_debits_once),
        TEST(test_fanout_all_or_nothing),
        TEST(test_cancel_refunds_once),
        TEST(test_campaign_range_holds_other_sends),
    };
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("campaigns", tests, NULL, NULL);
}
