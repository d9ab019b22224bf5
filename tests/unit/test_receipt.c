/*
 * test_receipt.c - unit tests of core/receipt: the ptt table against spec section 5.5, state
 * names, the state -> deliveryReceipt mapping and the DLR texts.
 *
 * Run all tests: build/tests/test_receipt; one test: build/tests/test_receipt <name-or-glob>.
 * The expected values are written out here from the spec, independently of receipt.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "core/receipt.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

/* Spec 5.5: code, final, duration; plus 0 = success without detail. */
static const struct {
    int code;
    int final;
    ptt_duration duration;
} spec_ptt[] = {
    {0, 1, PTT_PERMANENT},       {1, 0, PTT_TEMPORARY},   {2, 0, PTT_TEMPORARY},
    {3, 0, PTT_TEMPORARY},       {4, 1, PTT_PERMANENT},   {5, 1, PTT_PERMANENT},
    {6, 1, PTT_INDETERMINATED},  {8, 1, PTT_TEMPORARY},   {20, 1, PTT_PERMANENT},
    {21, 1, PTT_TEMPORARY},      {23, 1, PTT_PERMANENT},  {24, 1, PTT_TEMPORARY},
    {25, 1, PTT_TEMPORARY},      {26, 1, PTT_TEMPORARY},  {27, 1, PTT_PERMANENT},
    {28, 1, PTT_PERMANENT},      {29, 1, PTT_PERMANENT},  {33, 1, PTT_PERMANENT},
    {39, 1, PTT_INDETERMINATED}, {73, 1, PTT_TEMPORARY},  {74, 1, PTT_TEMPORARY},
    {76, 1, PTT_PERMANENT},      {202, 1, PTT_PERMANENT},
};
#define SPEC_PTT_COUNT ((int)(sizeof spec_ptt / sizeof spec_ptt[0]))

static void test_ptt_spec_codes(void **state) {
    (void)state;
    for (int i = 0; i < SPEC_PTT_COUNT; i++) {
        const receipt_ptt *p = receipt_ptt_find(spec_ptt[i].code);
        if (!p) fail_msg("ptt %d missing", spec_ptt[i].code);
        assert_int_equal(p->code, spec_ptt[i].code);
        if (p->final != spec_ptt[i].final)
            fail_msg("ptt %d: final %d, spec says %d", p->code, p->final, spec_ptt[i].final);
        if (p->duration != spec_ptt[i].duration)
            fail_msg("ptt %d: duration %s, spec says %s", p->code,
                     receipt_duration_name(p->duration),
                     receipt_duration_name(spec_ptt[i].duration));
        assert_non_null(p->description);
        assert_non_null(p->comment);
        assert_true(strlen(p->description) > 0 && strlen(p->description) < 64);
        assert_true(strlen(p->comment) > strlen(p->description));
    }
}

static void test_ptt_table_shape(void **state) {
    (void)state;
    int n = -1;
    const receipt_ptt *t = receipt_ptt_table(&n);
    assert_non_null(t);
    /* Exactly the spec's codes, no more: a code added here must be added to the spec first. */
    assert_int_equal(n, SPEC_PTT_COUNT);
    for (int i = 0; i < n; i++) {
        if (i > 0) assert_true(t[i - 1].code < t[i].code); /* ascending, no duplicates */
        assert_ptr_equal(receipt_ptt_find(t[i].code), &t[i]);
    }
    assert_non_null(receipt_ptt_table(NULL));
}

static void test_ptt_unknown(void **state) {
    (void)state;
    const int unknown[] = {-1, 7, 9, 22, 30, 75, 77, 201, 203, 1000, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_null(receipt_ptt_find(unknown[i]));
}

static void test_ptt_examples(void **state) {
    (void)state;
    const receipt_ptt *p = receipt_ptt_find(4);
    assert_string_equal(p->description, "Delivered");
    assert_string_equal(receipt_duration_name(p->duration), "permanent");
    p = receipt_ptt_find(24);
    assert_string_equal(receipt_duration_name(p->duration), "temporary");
    p = receipt_ptt_find(6);
    assert_string_equal(receipt_duration_name(p->duration), "indeterminated");
}

static void test_duration_names(void **state) {
    (void)state;
    assert_string_equal(receipt_duration_name(PTT_TEMPORARY), "temporary");
    assert_string_equal(receipt_duration_name(PTT_PERMANENT), "permanent");
    assert_string_equal(receipt_duration_name(PTT_INDETERMINATED), "indeterminated");
    assert_null(receipt_duration_name((ptt_duration)3));
    assert_null(receipt_duration_name((ptt_duration)-1));
}

static void test_state_names(void **state) {
    (void)state;
    static const char *const names[MSG__COUNT] = {
        "scheduled", "queued", "submitting", "submitted",
        "enroute", "delivered", "failed", "cancelled",
    };
    for (int s = 0; s < MSG__COUNT; s++) {
        assert_string_equal(receipt_state_name((msg_state)s), names[s]);
        assert_int_equal(receipt_state_parse(names[s]), s);
        /* Round trip both ways. */
        assert_int_equal(receipt_state_parse(receipt_state_name((msg_state)s)), s);
    }
    assert_null(receipt_state_name(MSG__COUNT));
    assert_null(receipt_state_name((msg_state)-1));
    const char *bad[] = {"", "Delivered", "DELIVERED", "deliver", "delivered ", "canceled",
                         "sent", "pending", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(receipt_state_parse(bad[i]), -1);
}

static void test_dlr_for_state(void **state) {
    (void)state;
    assert_int_equal(receipt_dlr_for_state(MSG_SCHEDULED), 0);
    assert_int_equal(receipt_dlr_for_state(MSG_QUEUED), 0);
    assert_int_equal(receipt_dlr_for_state(MSG_SUBMITTING), 0);
    assert_int_equal(receipt_dlr_for_state(MSG_SUBMITTED), 8);
    assert_int_equal(receipt_dlr_for_state(MSG_ENROUTE), 4);
    assert_int_equal(receipt_dlr_for_state(MSG_DELIVERED), 1);
    assert_int_equal(receipt_dlr_for_state(MSG_FAILED), 2);
    assert_int_equal(receipt_dlr_for_state(MSG_CANCELLED), 16);
    assert_int_equal(receipt_dlr_for_state(MSG__COUNT), SG_EINVAL);
    assert_int_equal(receipt_dlr_for_state((msg_state)-1), SG_EINVAL);
}

static void test_dlr_text(void **state) {
    (void)state;
    assert_string_equal(receipt_dlr_text(DLR_PENDING), "Pending");
    assert_string_equal(receipt_dlr_text(DLR_DELIVERED), "Success");
    assert_string_equal(receipt_dlr_text(DLR_FAILED), "Failed");
    assert_string_equal(receipt_dlr_text(DLR_ENROUTE), "Waiting");
    assert_string_equal(receipt_dlr_text(DLR_SUBMITTED), "Buffered");
    assert_string_equal(receipt_dlr_text(DLR_ERROR), "Error, not billed");
    assert_string_equal(receipt_dlr_text(3), "Unknown");
    assert_string_equal(receipt_dlr_text(-1), "Unknown");
    /* Every state's DLR has a real text. */
    for (int s = 0; s < MSG__COUNT; s++)
        assert_string_not_equal(receipt_dlr_text(receipt_dlr_for_state((msg_state)s)),
                                "Unknown");
}

static void test_state_final(void **state) {
    (void)state;
    assert_int_equal(receipt_state_final(MSG_SCHEDULED), 0);
    assert_int_equal(receipt_state_final(MSG_QUEUED), 0);
    assert_int_equal(receipt_state_final(MSG_SUBMITTING), 0);
    assert_int_equal(receipt_state_final(MSG_SUBMITTED), 0);
    assert_int_equal(receipt_state_final(MSG_ENROUTE), 0);
    assert_int_equal(receipt_state_final(MSG_DELIVERED), 1);
    assert_int_equal(receipt_state_final(MSG_FAILED), 1);
    assert_int_equal(receipt_state_final(MSG_CANCELLED), 1);
    assert_int_equal(receipt_state_final(MSG__COUNT), 0);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ptt_spec_codes),
        cmocka_unit_test(test_ptt_table_shape),
        cmocka_unit_test(test_ptt_unknown),
        cmocka_unit_test(test_ptt_examples),
        cmocka_unit_test(test_duration_names),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_dlr_for_state),
        cmocka_unit_test(test_dlr_text),
        cmocka_unit_test(test_state_final),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("receipt", tests, NULL, NULL);
}
