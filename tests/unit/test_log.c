/*
 * test_log.c - util/log.h: the line format, and the rate limiter (sg_log_limited) that every
 * repeated warning uses: one line per period, the count of held-back lines on the next one;
 * libevent's own messages routed through it (issue 12, point 1).
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

#include <event2/event.h>

#include "util/log.h"

/* Captures the log in a temporary file; read_log() returns what was written since. */
static FILE *g_tmp;

static int setup(void **state) {
    (void)state;
    g_tmp = tmpfile();
    assert_non_null(g_tmp);
    sg_log_set_fd(fileno(g_tmp));
    sg_log_set_level(SG_LOG_INFO);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    sg_log_set_fd(2);
    fclose(g_tmp);
    return 0;
}

static char *read_log(void) {
    static char buf[65536];
    long n = lseek(fileno(g_tmp), 0, SEEK_END);
    assert_true(n >= 0 && n < (long)sizeof buf);
    ssize_t got = pread(fileno(g_tmp), buf, (size_t)n, 0);
    assert_int_equal(got, n);
    buf[n] = '\0';
    return buf;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_line_shape(void **state) {
    (void)state;
    sg_log_warn("http", "Listening on '%s'.", "x");
    sg_log_debug("http", "not shown");
    const char *log = read_log();
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "Z WARN http: Listening on 'x'.\n"));
}

static void test_limited(void **state) {
    (void)state;
    static sg_log_limit lim = {.period_ms = 200};
    int written = 0;
    for (int i = 0; i < 1234; i++)
        written += sg_log_limited(&lim, SG_LOG_WARN, "http", "accept failed: %s.", "EMFILE");
    assert_int_equal(written, 1);
    assert_int_equal(count_lines(read_log()), 1);
    usleep(250 * 1000);
    assert_int_equal(sg_log_limited(&lim, SG_LOG_WARN, "http", "accept failed: %s.", "EMFILE"), 1);
    const char *log = read_log();
    assert_int_equal(count_lines(log), 2);
    assert_non_null(strstr(log, "accept failed: EMFILE. (repeated 1,233 times in the last 1 s)\n"));
    /* Below the level: neither written nor counted. */
    static sg_log_limit quiet;
    assert_int_equal(sg_log_limited(&quiet, SG_LOG_DEBUG, "http", "x"), 0);
    assert_int_equal(quiet.suppressed, 0);
}

static void test_libevent_routed(void **state) {
    (void)state;
    sg_log_route_libevent();
    /* An event_config that avoids every backend makes libevent warn "no event mechanism
     * available" (event_warnx) at each event_base_new_with_config(): 50 times here. */
    struct event_config *cfg = event_config_new();
    const char **methods = event_get_supported_methods();
    for (int i = 0; methods && methods[i]; i++) event_config_avoid_method(cfg, methods[i]);
    for (int i = 0; i < 50; i++) assert_null(event_base_new_with_config(cfg));
    event_config_free(cfg);
    const char *log = read_log();
    assert_null(strstr(log, "[warn]"));
    assert_int_equal(count_lines(log), 1); /* one line per cause per second */
    assert_non_null(strstr(log, " WARN libevent: "));
    assert_non_null(strstr(log, "no event mechanism available"));
}

int main(int argc, char **argv) {
    alarm(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libevent_routed, setup, teardown),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
