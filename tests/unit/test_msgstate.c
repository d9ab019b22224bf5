/*
 * test_msgstate.c - unit tests of core/msgstate: every (current, next) pair of the message
 * state machine against the table in DESIGN.md, what a change does (first acceptance, delivery
 * time, refund), the billing rule, the end of the validity period, and how the receipts of a
 * multi-part message add up.
 *
 * Run all tests: build/tests/test_msgstate; one test: build/tests/test_msgstate <name-or-glob>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "core/msgstate.h"

#define TEST_TIMEOUT_S 60

enum { SC = MSG_SCHEDULED, QU = MSG_QUEUED, SG = MSG_SUBMITTING, SU = MSG_SUBMITTED,
       EN = MSG_ENROUTE, DE = MSG_DELIVERED, FA = MSG_FAILED, CA = MSG_CANCELLED };

static int allowed(int cur, int next) {
    msgstate_effect e;
    return msgstate_change((msg_state)cur, 0, (msg_state)next, DLR_FAILED, 0, &e);
}

static void test_transitions(void **state) {
    (void)state;
    /* want[cur][next]: 1 when next may follow cur. A scheduled message is claimed when due
     * (scheduled -> submitting); queued is only the way back from submitting. */
    static const int want[8][8] = {
        /*           SC QU SG SU EN DE FA CA */
        /* SC */   {0, 0, 1, 1, 1, 1, 1, 1},
        /* QU */   {0, 0, 1, 1, 1, 1, 1, 1},
        /* SG */   {0, 1, 0, 1, 1, 1, 1, 0},
        /* SU */   {0, 0, 0, 0, 1, 1, 1, 0},
        /* EN */   {0, 0, 0, 0, 0, 1, 1, 0},
        /* DE */   {0, 0, 0, 0, 0, 0, 0, 0},
        /* FA */   {0, 0, 0, 0, 0, 0, 0, 0},
        /* CA */   {0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (int c = 0; c < 8; c++)
        for (int n = 0; n < 8; n++)
            if (allowed(c, n) != want[c][n])
                fail_msg("%s -> %s: got %d", receipt_state_name((msg_state)c),
                         receipt_state_name((msg_state)n), allowed(c, n));
    for (int s = 0; s < 8; s++)
        assert_int_equal(msgstate_pending((msg_state)s), s <= SG);
    assert_int_equal(msgstate_rank(MSG__COUNT), 5);
}

static void test_effects(void **state) {
    (void)state;
    msgstate_effect e;
    /* a requeue does nothing else */
    assert_int_equal(msgstate_change(MSG_SUBMITTING, 0, MSG_QUEUED, 0, 0, &e), 1);
    assert_true(e.requeue && !e.sent_now && !e.delivered && !e.refund);
    /* the operator takes it: sent now, once */
    assert_int_equal(msgstate_change(MSG_SUBMITTING, 0, MSG_SUBMITTED, DLR_SUBMITTED, 1, &e), 1);
    assert_true(!e.requeue && e.sent_now && !e.delivered && !e.refund);
    assert_int_equal(msgstate_change(MSG_SUBMITTED, 1, MSG_ENROUTE, DLR_ENROUTE, 0, &e), 1);
    assert_false(e.sent_now);
    /* a receipt that overtook the acceptance still marks it sent */
    assert_int_equal(msgstate_change(MSG_SUBMITTING, 0, MSG_DELIVERED, DLR_DELIVERED, 0, &e), 1);
    assert_true(e.sent_now && e.delivered && !e.refund);
    /* failed before any operator took it: refunded */
    assert_int_equal(msgstate_change(MSG_SUBMITTING, 0, MSG_FAILED, DLR_FAILED, 0, &e), 1);
    assert_true(!e.sent_now && e.refund);
    /* failed by an operator that names its id: sent, billed */
    assert_int_equal(msgstate_change(MSG_SUBMITTING, 0, MSG_FAILED, DLR_FAILED, 1, &e), 1);
    assert_true(e.sent_now && !e.refund);
    /* failed after acceptance: billed; "not billed" (16): refunded */
    assert_int_equal(msgstate_change(MSG_SUBMITTED, 1, MSG_FAILED, DLR_FAILED, 0, &e), 1);
    assert_false(e.refund);
    assert_int_equal(msgstate_change(MSG_ENROUTE, 1, MSG_FAILED, DLR_ERROR, 0, &e), 1);
    assert_true(e.refund);
    /* a cancel's refund belongs to the canceller */
    assert_int_equal(msgstate_change(MSG_QUEUED, 0, MSG_CANCELLED, DLR_ERROR, 0, &e), 1);
    assert_true(!e.refund && !e.sent_now);
    /* stale changes say nothing */
    assert_int_equal(msgstate_change(MSG_FAILED, 1, MSG_DELIVERED, DLR_DELIVERED, 0, &e), 0);
    assert_true(!e.requeue && !e.sent_now && !e.delivered && !e.refund);
}

static void test_billed(void **state) {
    (void)state;
    assert_false(msgstate_billed(MSG_CANCELLED, DLR_ERROR, 0));
    assert_false(msgstate_billed(MSG_FAILED, DLR_ERROR, 1));
    assert_false(msgstate_billed(MSG_FAILED, DLR_FAILED, 0));
    assert_true(msgstate_billed(MSG_FAILED, DLR_FAILED, 1));
    assert_true(msgstate_billed(MSG_DELIVERED, DLR_DELIVERED, 1));
    assert_true(msgstate_billed(MSG_QUEUED, 0, 0)); /* debited at submit, not refunded (yet) */
    /* Every refunding change leaves an unbilled message, every other final one a billed one. */
    for (int was = 0; was < 2; was++)
        for (int id = 0; id < 2; id++)
            for (int dlr = 1; dlr <= 16; dlr *= 2) {
                msgstate_effect e;
                if (!msgstate_change(MSG_SUBMITTING, was, MSG_FAILED, dlr, id, &e)) continue;
                assert_int_equal(msgstate_billed(MSG_FAILED, dlr, was || e.sent_now), !e.refund);
            }
}

static void test_expiry(void **state) {
    (void)state;
    /* the end of the validity period: due + validity, or the kept end after a retry */
    assert_false(msgstate_expired(0, 1000, 1, 1000 + 60000));
    assert_true(msgstate_expired(0, 1000, 1, 1000 + 60001));
    assert_false(msgstate_expired(0, 1000, 0, INT64_MAX / 2)); /* no validity: never */
    assert_false(msgstate_expired(5000, 900000, 1, 5000));     /* the kept end wins */
    assert_true(msgstate_expired(5000, 900000, 1, 5001));
}

static void test_parts(void **state) {
    (void)state;
    assert_true(msgstate_part_newer(-1, MSG_SUBMITTED));
    assert_true(msgstate_part_newer(MSG_SUBMITTED, MSG_ENROUTE));
    assert_true(msgstate_part_newer(MSG_ENROUTE, MSG_FAILED));
    assert_false(msgstate_part_newer(MSG_DELIVERED, MSG_FAILED)); /* final parts are sticky */
    assert_false(msgstate_part_newer(MSG_ENROUTE, MSG_ENROUTE));  /* repeated */
    assert_false(msgstate_part_newer(MSG_ENROUTE, MSG_SUBMITTED)); /* older */

    msgstate_parts a;
    msg_state s;
    int dlr, ptt;
    /* one part final of two: enroute */
    msgstate_parts_init(&a, 2);
    msgstate_parts_add(&a, MSG_DELIVERED, DLR_DELIVERED, 4);
    msgstate_parts_add(&a, MSG_ENROUTE, DLR_ENROUTE, 2);
    msgstate_parts_result(&a, &s, &dlr, &ptt);
    assert_true(s == MSG_ENROUTE && dlr == DLR_ENROUTE && ptt == 3);
    /* all delivered */
    msgstate_parts_init(&a, 2);
    msgstate_parts_add(&a, MSG_DELIVERED, DLR_DELIVERED, 4);
    msgstate_parts_add(&a, MSG_DELIVERED, DLR_DELIVERED, 0);
    msgstate_parts_result(&a, &s, &dlr, &ptt);
    assert_true(s == MSG_DELIVERED && dlr == DLR_DELIVERED && ptt == 4);
    /* the first failed part gives dlr and ptt */
    msgstate_parts_init(&a, 3);
    msgstate_parts_add(&a, MSG_DELIVERED, DLR_DELIVERED, 4);
    msgstate_parts_add(&a, MSG_FAILED, DLR_FAILED, 8);
    msgstate_parts_add(&a, MSG_FAILED, DLR_ERROR, 20);
    msgstate_parts_result(&a, &s, &dlr, &ptt);
    assert_true(s == MSG_FAILED && dlr == DLR_FAILED && ptt == 8);
    /* "not billed" only when every part failed so */
    msgstate_parts_init(&a, 2);
    msgstate_parts_add(&a, MSG_FAILED, DLR_ERROR, 20);
    msgstate_parts_add(&a, MSG_FAILED, DLR_ERROR, 23);
    msgstate_parts_result(&a, &s, &dlr, &ptt);
    assert_true(s == MSG_FAILED && dlr == DLR_ERROR && ptt == 20);
    /* ... not when a part was delivered (it was billed): 16 becomes 2 */
    msgstate_parts_init(&a, 2);
    msgstate_parts_add(&a, MSG_FAILED, DLR_ERROR, 20);
    msgstate_parts_add(&a, MSG_DELIVERED, DLR_DELIVERED, 4);
    msgstate_parts_result(&a, &s, &dlr, &ptt);
    assert_true(s == MSG_FAILED && dlr == DLR_FAILED && ptt == 20);
    /* ... nor when another failed part said otherwise */
    msgstate_parts_init(&a, 2);
    msgstate_parts_add(&a, MSG_FAILED, DLR_ERROR, 20);
    msgstate_parts_add(&a, MSG_FAILED, DLR_FAILED, 5);
    msgstate_parts_result(&a, &s, &dlr, &ptt);
    assert_true(s == MSG_FAILED && dlr == DLR_FAILED && ptt == 20);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_effects),
        cmocka_unit_test(test_billed),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_parts),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("msgstate", tests, NULL, NULL);
}
