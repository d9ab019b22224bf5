/*
 * test_sim_model.c - unit tests of core/sim_model: the simulated operator's outcome for each
 * documented test number, and the receipts it walks each outcome through.
 *
 * Run all tests: build/tests/test_sim_model; one test: build/tests/test_sim_model <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "core/sim_model.h"

#define TEST_TIMEOUT_S 60

static void test_outcomes(void **state) {
    (void)state;
    assert_int_equal(sim_outcome_for("+33612345901"), SIM_REJECT);
    assert_int_equal(sim_outcome_for("+33612345902"), SIM_UNDELIVERABLE);
    assert_int_equal(sim_outcome_for("+33612345903"), SIM_EXPIRE);
    assert_int_equal(sim_outcome_for("+33612345904"), SIM_SLOW);
    assert_int_equal(sim_outcome_for("+33612345905"), SIM_REPLY_STOP);
    assert_int_equal(sim_outcome_for("+33612345906"), SIM_REPLY_THANKS);
    assert_int_equal(sim_outcome_for("+33612345907"), SIM_DELIVER);
    assert_int_equal(sim_outcome_for("+33612345678"), SIM_DELIVER);
    assert_int_equal(sim_outcome_for("90"), SIM_DELIVER);
    assert_int_equal(sim_outcome_for(""), SIM_DELIVER);
}

static void test_transitions(void **state) {
    (void)state;
    static const struct {
        int outcome, step;
        msg_state st;
        int dlr, ptt, final, factor;
    } cases[] = {
        {SIM_DELIVER, 0, MSG_DELIVERED, DLR_DELIVERED, 4, 1, 1},
        {SIM_REJECT, 0, MSG_FAILED, DLR_FAILED, 5, 1, 1},
        {SIM_UNDELIVERABLE, 0, MSG_FAILED, DLR_ERROR, 23, 1, 1},
        {SIM_EXPIRE, 0, MSG_FAILED, DLR_FAILED, 8, 1, 1},
        {SIM_SLOW, 0, MSG_ENROUTE, DLR_ENROUTE, 3, 0, SIM_SLOW_STEPS},
        {SIM_SLOW, 1, MSG_DELIVERED, DLR_DELIVERED, 4, 1, 1},
        {SIM_REPLY_STOP, 0, MSG_DELIVERED, DLR_DELIVERED, 4, 0, 1},
        {SIM_REPLY_THANKS, 0, MSG_DELIVERED, DLR_DELIVERED, 4, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_transition t;
        sim_transition_for(cases[i].outcome, cases[i].step, &t);
        assert_int_equal(t.state, cases[i].st);
        assert_int_equal(t.dlr, cases[i].dlr);
        assert_int_equal(t.ptt, cases[i].ptt);
        assert_int_equal(t.final, cases[i].final);
        assert_int_equal(t.delay_factor, cases[i].factor);
        assert_int_equal(t.reply_only, 0);
        assert_null(t.reply);
    }
}

/* 905 and 906: delivered, then one delay later a step that only answers. */
static void test_replies(void **state) {
    (void)state;
    sim_transition t;
    sim_transition_for(SIM_REPLY_STOP, 1, &t);
    assert_int_equal(t.reply_only, 1);
    assert_string_equal(t.reply, "STOP");
    assert_int_equal(t.final, 1);
    sim_transition_for(SIM_REPLY_THANKS, 1, &t);
    assert_int_equal(t.reply_only, 1);
    assert_string_equal(t.reply, "Oui, merci");
    assert_int_equal(t.final, 1);
    assert_true(sim_can_reply_to("36184"));
    assert_true(sim_can_reply_to("+33700000001"));
    assert_false(sim_can_reply_to("MyShop"));
    assert_false(sim_can_reply_to("+"));
    assert_false(sim_can_reply_to(""));
    assert_false(sim_can_reply_to(NULL));
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_replies),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("sim_model", tests, NULL, NULL);
}
