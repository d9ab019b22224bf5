/*
 * test_store_handoff.c - unit tests of store/store_handoff.c, the hand-off of status callbacks
 * from the store thread to the notifier: a staged call reaches the notifier only once its
 * transaction committed, one rolled back with its operation or its batch never does, a
 * closed hand-off forgets what it had, the cap is kept, and the wake-up hook is per store.
 *
 * Run all tests: build/tests/test_store_handoff; one: build/tests/test_store_handoff <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static void count_cb(void *arg) { (*(int *)arg)++; }

/* Stages one call of id, as a backend does for a call written leased to the node. */
static void stage(store_handoff *h, int64_t id) {
    store_notify_call k = {.id = id, .service_id = 1, .url = sg_xstrdup("http://h/cb?id=1"),
                           .origin = sg_xstrdup("http://h:80"), .secret = sg_xstrdup("s")};
    store__handoff_stage(h, &k);
}

static size_t take(store_handoff *h, int64_t *ids, size_t max) {
    store_notify_call *v = NULL;
    size_t n = store__handoff_take(h, &v);
    for (size_t i = 0; i < n; i++) {
        if (i < max) ids[i] = v[i].id;
        store_notify_call_fini(&v[i]);
    }
    free(v);
    return n;
}

static void test_commit_and_rollbacks(void **state) {
    (void)state;
    store_handoff h;
    store__handoff_init(&h);
    int ready = 0;
    store__handoff_set_direct(&h, "node-a", 30000, 10, count_cb, &ready);
    char node[64];
    int64_t lease = 0;
    assert_true(store__handoff_open(&h, node, sizeof node, &lease));
    assert_string_equal(node, "node-a");
    assert_int_equal(lease, 30000);

    /* batch: op 1 stages 1 and 2, op 2 stages 3 and is rolled back, op 3 stages 4 */
    store__handoff_savepoint(&h);
    stage(&h, 1);
    stage(&h, 2);
    store__handoff_savepoint(&h);
    stage(&h, 3);
    store__handoff_rollback_op(&h);
    store__handoff_savepoint(&h);
    stage(&h, 4);
    int64_t ids[8];
    assert_int_equal(take(&h, ids, 8), 0); /* nothing before the commit */
    store__handoff_committed(&h);
    assert_int_equal(ready, 1);
    assert_int_equal(take(&h, ids, 8), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 4);

    /* a batch rolled back as a whole hands nothing over */
    store__handoff_savepoint(&h);
    stage(&h, 5);
    store__handoff_aborted(&h);
    store__handoff_committed(&h);
    assert_int_equal(take(&h, ids, 8), 0);
    assert_int_equal(ready, 1);
    store__handoff_fini(&h);
}

static void test_cap_close_and_wake(void **state) {
    (void)state;
    store_handoff h;
    store__handoff_init(&h);
    char node[64];
    int64_t lease;
    assert_false(store__handoff_open(&h, node, sizeof node, &lease)); /* not opened yet */
    int ready = 0, woken = 0;
    store__handoff_set_direct(&h, "node-a", 1000, 2, count_cb, &ready);
    store__handoff_savepoint(&h);
    assert_true(store__handoff_open(&h, node, sizeof node, &lease));
    stage(&h, 1);
    assert_true(store__handoff_open(&h, node, sizeof node, &lease));
    stage(&h, 2);
    assert_false(store__handoff_open(&h, node, sizeof node, &lease)); /* the cap: 2 waiting */
    store__handoff_committed(&h);
    assert_false(store__handoff_open(&h, node, sizeof node, &lease)); /* not taken yet */
    /* closed before they were taken: forgotten (they stay leased until the next start) */
    store__handoff_set_direct(&h, NULL, 0, 0, NULL, NULL);
    int64_t ids[4];
    assert_int_equal(take(&h, ids, 4), 0);
    /* staged while open, committed after the close: forgotten too */
    store__handoff_set_direct(&h, "node-a", 1000, 2, count_cb, &ready);
    store__handoff_savepoint(&h);
    stage(&h, 3);
    store__handoff_set_direct(&h, NULL, 0, 0, NULL, NULL);
    store__handoff_committed(&h);
    assert_int_equal(take(&h, ids, 4), 0);
    /* the wake-up hook, until it is unset */
    store__handoff_wake(&h);
    store__handoff_set_wake(&h, count_cb, &woken);
    store__handoff_wake(&h);
    store__handoff_set_wake(&h, NULL, NULL);
    store__handoff_wake(&h);
    assert_int_equal(woken, 1);
    store__handoff_fini(&h);
}

static void test_two_stores_apart(void **state) {
    (void)state;
    store_handoff a, b;
    store__handoff_init(&a);
    store__handoff_init(&b);
    int ra = 0, rb = 0;
    store__handoff_set_direct(&a, "a", 1000, 8, count_cb, &ra);
    store__handoff_set_direct(&b, "b", 1000, 8, count_cb, &rb);
    store__handoff_savepoint(&a);
    stage(&a, 7);
    store__handoff_committed(&a);
    store__handoff_committed(&b);
    int64_t ids[2];
    assert_int_equal(take(&b, ids, 2), 0);
    assert_int_equal(take(&a, ids, 2), 1);
    assert_int_equal(ids[0], 7);
    assert_int_equal(ra, 1);
    assert_int_equal(rb, 0);
    store__handoff_fini(&a);
    store__handoff_fini(&b);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_and_rollbacks),
        cmocka_unit_test(test_cap_close_and_wake),
        cmocka_unit_test(test_two_stores_apart),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("store_handoff", tests, NULL, NULL);
}
