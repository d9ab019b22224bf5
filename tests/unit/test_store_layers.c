/*
 * test_store_layers.c - the store's layering holds (DESIGN.md "The store: one seam, two
 * backends"; the diagram in src/store/store.c): no file of src/store/ includes a header of a
 * higher layer, its files call each other in no circle, and none keeps a mutable static.
 * The rules are checked by scripts/check-store-layers on the objects of this build (the
 * directory above this test's binary), so `make test-unit` and `make asan` both enforce them.
 *
 * Run: build/tests/test_store_layers (from the top of the source tree, as make does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_TIMEOUT_S 60

static char build_dir[4096];

static void test_layers(void **state) {
    (void)state;
    if (access("scripts/check-store-layers", X_OK) != 0)
        fail_msg("Run from the top of the source tree: scripts/check-store-layers not found.");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "scripts/check-store-layers '%s' 2>&1", build_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char report[16384]; /* shown when the test fails */
    size_t n = 0;
    char line[512];
    while (fgets(line, sizeof line, p))
        if (strncmp(line, "  ", 2) != 0 && n + strlen(line) < sizeof report)
            n += (size_t)snprintf(report + n, sizeof report - n, "%s", line);
    int status = pclose(p);
    if (status != 0) fail_msg("%s", report);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(build_dir, sizeof build_dir, "%s", dirname(dirname(self)));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers),
    };
    alarm(TEST_TIMEOUT_S);
    return cmocka_run_group_tests_name("store_layers", tests, NULL, NULL);
}
