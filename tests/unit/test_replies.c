/*
 * test_replies.c - what an incoming message causes under its service's smsResponse
 * (store/sqlite_responses.c) and the sim's replies (store/sqlite_sim.c), against a real
 * database (SQLite, or PostgreSQL with SMSGATE_TEST_DATABASE): the cgi call queued with its
 * parameters, the virtual number's smsResponse before the service's, the automatic answer
 * priced and debited once per hour and mobile, not sent without credits, nothing for "none"
 * or an unattributed message; a receiver ending in 906 answering one delay after delivery,
 * stored once.
 *
 * Run all tests: build/tests/test_replies; one test: build/tests/test_replies <name>.
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

#include "core/sim_model.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include "store_fixture.h"

#define TEST_TIMEOUT_S 60
#define MIN_MS (60LL * 1000)

/* Sets the smsResponse of service sid (JSON text). */
static void set_response(store_fixture *f, int64_t sid, const char *json) {
    store_service_update_req u = {.service_id = sid, .sms_response = json};
    assert_int_equal(STORE_RUN(f, service_update, &u), 0);
}

/* An SMS of service sid from sender to receiver, sent through the store's submit (priced,
 * debited), tagged tag. */
static int64_t send_one(store_fixture *f, int64_t sid, const char *sender, const char *receiver,
                        const char *tag) {
    store_submit_msg m = {.receiver = receiver, .message = "RDV ?", .length = 5, .parts = 1,
                          .region = "fr"};
    store_submit_req r = {.service_id = sid, .sender = sender, .msgs = &m, .count = 1,
                          .validity_min = 2880, .tag = tag};
    r.now_ms = r.due_ms = sg_now_ms();
    assert_int_equal(STORE_RUN(f, submit, &r), 0);
    return m.id;
}

static int64_t count(store_fixture *f, const char *sql) { return store_fixture_query_int(f, sql); }

static void query_text(store_fixture *f, const char *sql, char *out, size_t n) {
    assert_int_equal(store_fixture_query_text(f, sql, out, n), 0);
}

/* cgi: one 'reply' call to cgiUrl, its URL frozen with every parameter. */
static void test_cgi_call(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    set_response(f, sid, "{\"responseType\":\"cgi\",\"cgiUrl\":\"https://h.example/r?k=v\"}");
    int64_t sent = send_one(f, sid, "36184", "+33611111906", "rdv 9:30");
    int64_t ts = 1717171717000;
    store_incoming_add_req r =
        store_fixture_incoming(f, "test", "+33611111906", "36184", "Oui, merci", ts);
    assert_int_equal(r.service_id, sid);
    char url[1024], want[1024];
    query_text(f, "SELECT url FROM notify_calls WHERE kind = 'reply'", url, sizeof url);
    snprintf(want, sizeof want,
             "https://h.example/r?k=v&id=%lld&keyword=OUI&message=Oui%%2C%%20merci"
             "&senderid=%%2B33611111906&shortcode=36184&tag=rdv%%209%%3A30&date=1717171717"
             "&sender=%%2B33611111906&receiver=36184&smsOutgoingID=%lld",
             (long long)r.id, (long long)sent);
    assert_string_equal(url, want);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'reply' AND "
                              "service_id = %lld AND event_id = %lld AND message_id = %lld AND "
                              "seq_key IS NULL AND origin = 'https://h.example:443' AND state = 0",
             (long long)sid, (long long)r.id, (long long)sent);
    assert_int_equal(count(f, sql), 1);
    /* a message answering nothing: empty tag and smsOutgoingID; still called */
    store_fixture_exec(f, "DELETE FROM notify_calls");
    store_fixture_exec(f, "UPDATE messages SET created_ms = 0");
    r = store_fixture_incoming(f, "test", "+33611111906", "36184", "encore", ts);
    assert_int_equal(r.service_id, 0); /* outside the reply window: unattributed */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notify_calls"), 0);
}

/* A virtual number's own smsResponse governs the replies sent to it. */
static void test_virtual_number_first(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    set_response(f, sid, "{\"responseType\":\"cgi\",\"cgiUrl\":\"http://service.example/\"}");
    store_vnum_req v = {.number = "+33700000001", .service = "sms-acme-1", .now_ms = 1};
    assert_int_equal(STORE_RUN(f, vnum_add, &v), 0);
    store_vnum_fini(&v.vnum);
    store_incoming_add_req r =
        store_fixture_incoming(f, "test", "+33622222222", "+33700000001", "hello", sg_now_ms());
    assert_int_equal(r.service_id, sid);
    char url[512];
    query_text(f, "SELECT url FROM notify_calls WHERE kind = 'reply'", url, sizeof url);
    assert_true(!strncmp(url, "http://service.example/?id=", 27)); /* none of its own yet */
    store_fixture_exec(f, "DELETE FROM notify_calls");
    store_fixture_exec(f, "UPDATE virtual_numbers SET sms_response = "
                          "'{\"responseType\":\"cgi\",\"cgiUrl\":\"http://number.example/mo\"}'");
    store_fixture_incoming(f, "test", "+33622222222", "+33700000001", "hello", sg_now_ms());
    query_text(f, "SELECT url FROM notify_calls WHERE kind = 'reply'", url, sizeof url);
    assert_true(!strncmp(url, "http://number.example/mo?id=", 28));
    assert_non_null(strstr(url, "&shortcode=%2B33700000001&"));
    /* the number's "none" silences the service's cgi */
    store_fixture_exec(f, "DELETE FROM notify_calls");
    store_fixture_exec(f, "UPDATE virtual_numbers SET sms_response = '{\"responseType\":\"none\"}'");
    store_fixture_incoming(f, "test", "+33622222222", "+33700000001", "hello", sg_now_ms());
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notify_calls"), 0);
    /* a text answer leaves from the number in its stored form, however the reply named it */
    store_fixture_exec(f, "UPDATE virtual_numbers SET sms_response = "
                          "'{\"responseType\":\"text\",\"text\":\"ok\"}'");
    store_fixture_incoming(f, "test", "+33622222222", "33700000001", "hello", sg_now_ms());
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages WHERE sender = '+33700000001' AND "
                              "receiver = '+33622222222' AND message = 'ok'"), 1);
}

/* text: an ordinary SMS back, priced and debited, from the number replied to; at most one per
 * mobile and service per hour. */
static void test_text_answer(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    set_response(f, sid, "{\"responseType\":\"text\",\"text\":\"Merci, à demain.\"}");
    int64_t sent = send_one(f, sid, "36184", "+33633333333", NULL);
    int64_t now = sg_now_ms();
    store_incoming_add_req r =
        store_fixture_incoming(f, "test", "+33633333333", "36184", "Oui", now);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM messages WHERE id > %lld AND "
                              "service_id = %lld AND sender = '36184' AND receiver = "
                              "'+33633333333' AND message = 'Merci, à demain.' AND "
                              "stop_clause = 0 AND state = 1 AND credits > 0",
             (long long)sent, (long long)sid);
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM auto_answers WHERE incoming_id = %lld AND "
                              "mobile = '+33633333333'", (long long)r.id);
    assert_int_equal(count(f, sql), 1);
    /* debited like any send: two sends in the ledger */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'debit'"), 2);
    /* the mobile answers the answer: stored, attributed, not answered again */
    r = store_fixture_incoming(f, "test", "+33633333333", "36184", "Oui", now + 1000);
    assert_int_equal(r.service_id, sid);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages"), 2);
    /* another mobile is answered */
    send_one(f, sid, "36184", "+33644444444", NULL);
    store_fixture_incoming(f, "test", "+33644444444", "36184", "Oui", now + 2000);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages"), 4);
    /* an hour later, the first mobile is answered again */
    store_fixture_incoming(f, "test", "+33633333333", "36184", "Re", now + 61 * MIN_MS);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages WHERE receiver = '+33633333333'"),
                     3);
}

/* Without the credits for it, no answer and no debit; the reply is stored all the same. */
static void test_text_no_credits(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 1000); /* one SMS */
    set_response(f, sid, "{\"responseType\":\"text\",\"text\":\"Merci\"}");
    send_one(f, sid, "36184", "+33655555555", NULL);
    store_incoming_add_req r =
        store_fixture_incoming(f, "test", "+33655555555", "36184", "Oui", sg_now_ms());
    assert_int_equal(r.service_id, sid);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM ledger WHERE kind = 'debit'"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM auto_answers"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM incoming"), 1);
}

/* none, no smsResponse, an empty cgiUrl or text, an unattributed message: nothing. */
static void test_nothing(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    send_one(f, sid, "36184", "+33666666666", NULL);
    /* no smsResponse */
    store_fixture_incoming(f, "test", "+33666666666", "36184", "a", sg_now_ms());
    set_response(f, sid, "{\"responseType\":\"none\",\"cgiUrl\":\"http://h/\",\"text\":\"t\"}");
    store_fixture_incoming(f, "test", "+33666666666", "36184", "b", sg_now_ms());
    set_response(f, sid, "{\"responseType\":\"cgi\",\"cgiUrl\":null}");
    store_fixture_incoming(f, "test", "+33666666666", "36184", "c", sg_now_ms());
    set_response(f, sid, "{\"responseType\":\"text\",\"text\":\"\"}");
    store_fixture_incoming(f, "test", "+33666666666", "36184", "d", sg_now_ms());
    set_response(f, sid, "{\"responseType\":\"cgi\",\"cgiUrl\":\"http://h/\"}");
    store_incoming_add_req r =
        store_fixture_incoming(f, "test", "+33677777777", "36184", "e", sg_now_ms());
    assert_int_equal(r.service_id, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'reply'"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM incoming"), 5);
}

/* The sim: 906 is delivered, then one delay later answers "Oui, merci" to the sender, stored
 * once, attributed to the service (and its cgi queued) in the step's transaction. */
static void test_sim_reply(void **state) {
    store_fixture *f = *state;
    int64_t sid = store_fixture_account(f, "acme", 10000);
    set_response(f, sid, "{\"responseType\":\"cgi\",\"cgiUrl\":\"http://h/\"}");
    int64_t a = send_one(f, sid, "36184", "+33688888906", NULL);
    int64_t b = send_one(f, sid, "MyShop", "+33699999906", NULL); /* cannot be answered */
    int64_t now = sg_now_ms();
    for (int i = 0; i < 2; i++) {
        store_sim_accept_req acc = {.msg_id = i ? b : a, .outcome = SIM_REPLY_THANKS,
                                    .due_ms = now};
        assert_int_equal(STORE_RUN(f, sim_accept, &acc), 0);
    }
    store_sim_advance_req adv = {.now_ms = now, .delay_ms = 100, .limit = 100};
    assert_int_equal(STORE_RUN(f, sim_advance, &adv), 0);
    assert_int_equal(adv.done, 2);
    assert_int_equal(adv.next_due_ms, now + 100);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM messages WHERE state = 5"), 2); /* delivered */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM incoming"), 0);
    adv = (store_sim_advance_req){.now_ms = now + 100, .delay_ms = 100, .limit = 100};
    assert_int_equal(STORE_RUN(f, sim_advance, &adv), 0);
    assert_int_equal(adv.done, 2);
    assert_int_equal(adv.next_due_ms, 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM incoming WHERE service_id = %lld AND "
                              "sender = '+33688888906' AND receiver = '36184' AND "
                              "message = 'Oui, merci' AND route = 'sim' AND reply_to_id = %lld",
             (long long)sid, (long long)a);
    assert_int_equal(count(f, sql), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM incoming"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM notify_calls WHERE kind = 'reply'"), 1);
    assert_int_equal(count(f, "SELECT deliveries FROM sim_messages WHERE message_id = 1"), 1);
    /* nothing more: a later pass stores nothing again */
    adv = (store_sim_advance_req){.now_ms = now + 1000, .delay_ms = 100, .limit = 100};
    assert_int_equal(STORE_RUN(f, sim_advance, &adv), 0);
    assert_int_equal(adv.done, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM incoming"), 1);
}

static int setup(void **state) {
    store_fixture *f = calloc(1, sizeof *f);
    store_fixture_open(f, "replies", NULL);
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
        TEST(test_cgi_call),
        TEST(test_virtual_number_first),
        TEST(test_text_answer),
        TEST(test_text_no_credits),
        TEST(test_nothing),
        TEST(test_sim_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
