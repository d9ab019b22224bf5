/*
 * test_config.c - util/config.c's reload and man output: a changed reloadable key is applied
 * and reported, a changed key that needs a restart is reported and kept, the command line
 * still wins over the file, an invalid file changes nothing; util/man.c escapes what roff
 * would read as requests or escapes.
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

#include "util/config.h"
#include "util/man.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

static char conf_path[64];

static void write_conf(const char *text) {
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

typedef struct changes {
    char text[1024]; /* "key:old>new:applied;" for each report */
} changes;

static void on_change(const char *key, const char *old_value, const char *new_value, int applied,
                      void *arg) {
    changes *c = arg;
    size_t n = strlen(c->text);
    snprintf(c->text + n, sizeof c->text - n, "%s:%s>%s:%d;", key, old_value, new_value,
             applied);
}

static void test_reload(void **state) {
    (void)state;
    snprintf(conf_path, sizeof conf_path, "/tmp/sg-test-config-%ld.conf", (long)getpid());
    write_conf("log-level = info\nlease-ms = 60000\nmax-parts = 6\n");
    char *argv[] = {"smsgated", "--config", conf_path, "--max-parts=4", NULL};
    int argc = 4, help = 1;
    sg_config cfg;
    assert_int_equal(sg_config_load(&cfg, argc, argv, &help), 0);
    assert_int_equal(help, 0);
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.max_parts, 4);

    /* Nothing changed: nothing reported. */
    changes c = {""};
    assert_int_equal(sg_config_reload(&cfg, argc, argv, on_change, &c), 0);
    assert_string_equal(c.text, "");

    /* A reloadable key and one that needs a restart; max-parts stays the command line's. */
    write_conf("log-level = debug\nlease-ms = 30000\nmax-parts = 9\nlog-debug = http\n");
    assert_int_equal(sg_config_reload(&cfg, argc, argv, on_change, &c), 2);
    assert_string_equal(c.text, "log-level:info>debug:1;log-debug:>http:1;lease-ms:60000>30000:0;");
    assert_string_equal(cfg.log_level, "debug");
    assert_string_equal(cfg.log_debug, "http");
    assert_int_equal(cfg.lease_ms, 60000);
    assert_int_equal(cfg.max_parts, 4);

    /* An invalid file: an error naming the place, nothing changed or reported. */
    write_conf("log-level = info\nmax-parts = 0\n");
    c.text[0] = '\0';
    assert_int_equal(sg_config_reload(&cfg, argc, argv, on_change, &c), SG_EINVAL);
    assert_string_equal(c.text, "");
    assert_string_equal(cfg.log_level, "debug");
    char want[128];
    snprintf(want, sizeof want, "%s:2: 'max-parts' must be between 1 and 255, not 0.", conf_path);
    assert_string_equal(sg_config_error(), want);

    /* A missing file too. */
    unlink(conf_path);
    assert_int_equal(sg_config_reload(&cfg, argc, argv, on_change, &c), SG_EINVAL);
    assert_string_equal(cfg.log_level, "debug");
    assert_non_null(strstr(sg_config_error(), "cannot read config file"));
    sg_config_fini(&cfg);
}

/* The cluster's keys (docs/cluster.md): the node's name defaults to empty (smsgated takes the
 * host name), node-timeout-s is reloadable, heartbeat-ms needs a restart. */
static void test_cluster_keys(void **state) {
    (void)state;
    snprintf(conf_path, sizeof conf_path, "/tmp/sg-test-config-%ld.conf", (long)getpid());
    write_conf("node-timeout-s = 10\n");
    char *argv[] = {"smsgated", "--config", conf_path, NULL};
    int argc = 3, help = 1;
    sg_config cfg;
    assert_int_equal(sg_config_load(&cfg, argc, argv, &help), 0);
    assert_string_equal(cfg.node, "");
    assert_int_equal(cfg.heartbeat_ms, 1000);
    assert_int_equal(cfg.node_timeout_s, 10);
    changes c = {""};
    write_conf("node-timeout-s = 4\nheartbeat-ms = 500\n");
    assert_int_equal(sg_config_reload(&cfg, argc, argv, on_change, &c), 1);
    assert_string_equal(c.text, "heartbeat-ms:1000>500:0;node-timeout-s:10>4:1;");
    assert_int_equal(cfg.node_timeout_s, 4);
    assert_int_equal(cfg.heartbeat_ms, 1000);
    sg_config_fini(&cfg);
    unlink(conf_path);
}

/* fault-clock-offset and marketing-hours (docs/replies.md): the duration forms, the test clock. */
static void test_clock_offset(void **state) {
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"0", 0},          {"-90000", -90000},      {"3d", 259200000},
              {"-1d2h30m", -95400000}, {"1500ms", 1500}, {"+2h", 7200000},
              {"1m30s", 90000}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = 1;
        assert_int_equal(sg_duration_parse(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].ms);
    }
    static const char *const bad[] = {"", "-", "3x", "d", "5m3", "1.5h", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        assert_int_equal(sg_duration_parse(bad[i], &v), SG_EINVAL);
    }
    sg_config c;
    int help;
    char *argv[] = {"smsgated", "--fault-clock-offset=-3d", "--marketing-hours=false", NULL};
    assert_int_equal(sg_config_load(&c, 3, argv, &help), 0);
    assert_string_equal(c.fault_clock_offset, "-3d");
    assert_int_equal(c.marketing_hours, 0);
    sg_config_fini(&c);
    char *argv2[] = {"smsgated", NULL};
    assert_int_equal(sg_config_load(&c, 1, argv2, &help), 0);
    assert_string_equal(c.fault_clock_offset, "0");
    assert_int_equal(c.marketing_hours, 1);
    sg_config_fini(&c);
    /* The clock moves by the offset. */
    int64_t before = sg_now_ms();
    sg_set_clock_offset(86400000);
    int64_t ahead = sg_now_ms();
    sg_set_clock_offset(0);
    assert_true(ahead - before >= 86400000 && ahead - before < 86400000 + 5000);
}

static void test_man_escapes(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sg_man_puts(f, ".starts a line\n'also\nback\\slash --opt");
    fclose(f);
    assert_string_equal(buf, "\\&.starts a line\n\\&'also\nback\\eslash \\-\\-opt");
    free(buf);

    f = open_memstream(&buf, &len);
    sg_man_text(f, "usage: x a\n       x b\n\nFilled text\n  goes on.\n\nTitle:\n  --a  one\n");
    fclose(f);
    assert_string_equal(buf, ".PP\n.RS 2\n.nf\nusage: x a\n       x b\n.fi\n.RE\n"
                             ".PP\n.RS 2\n.nf\nFilled text\n  goes on.\n.fi\n.RE\n"
                             ".PP\nTitle:\n.RS 2\n.nf\n  \\-\\-a  one\n.fi\n.RE\n");
    free(buf);
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_cluster_keys),
        cmocka_unit_test(test_man_escapes),
        cmocka_unit_test(test_clock_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
