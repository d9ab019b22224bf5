/*
 * test_sdnotify.c - util/sdnotify.h against real datagram sockets: a file system socket and an
 * abstract one ('@' name) receive exactly the text sent; nothing is sent and 0 is returned when
 * NOTIFY_SOCKET is unset; a malformed variable is refused; the variable stays set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sdnotify.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

/* Binds a datagram socket at name ('@' for an abstract name); returns its fd. */
static int bind_dgram(const char *name) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(name);
    assert_true(len < sizeof sa.sun_path);
    memcpy(sa.sun_path, name, len);
    if (name[0] == '@') sa.sun_path[0] = '\0';
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, salen), 0);
    return fd;
}

/* The next datagram on fd, or "" when none is waiting. */
static const char *next_msg(int fd) {
    static char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n < 0) {
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        n = 0;
    }
    buf[n] = '\0';
    return buf;
}

static void test_path_socket(void **state) {
    (void)state;
    char dir[] = "/tmp/sg-sdnotify-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = bind_dgram(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(sg_sdnotify("READY=1\nSTATUS=serving"), 0);
    assert_string_equal(next_msg(fd), "READY=1\nSTATUS=serving");
    assert_int_equal(sg_sdnotifyf("STATUS=%d keys", 42), 0);
    assert_string_equal(next_msg(fd), "STATUS=42 keys");
    assert_int_equal(sg_sdnotify("STOPPING=1"), 0);
    assert_string_equal(next_msg(fd), "STOPPING=1");
    assert_string_equal(next_msg(fd), "");
    assert_string_equal(getenv("NOTIFY_SOCKET"), path); /* left for child processes */
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_abstract_socket(void **state) {
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@sg-sdnotify-test-%ld", (long)getpid());
    int fd = bind_dgram(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(sg_sdnotify("RELOADING=1"), 0);
    assert_string_equal(next_msg(fd), "RELOADING=1");
    assert_int_equal(sg_sdnotify("READY=1"), 0);
    assert_string_equal(next_msg(fd), "READY=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

static void test_unset_sends_nothing(void **state) {
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@sg-sdnotify-unset-%ld", (long)getpid());
    int fd = bind_dgram(name);
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(sg_sdnotify("READY=1"), 0);
    assert_int_equal(sg_sdnotifyf("STATUS=%s", "x"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(sg_sdnotify("READY=1"), 0);
    assert_string_equal(next_msg(fd), "");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

static void test_bad_variable(void **state) {
    (void)state;
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(sg_sdnotify("READY=1"), SG_EINVAL);
    setenv("NOTIFY_SOCKET", "/nonexistent/sg-sdnotify/socket", 1); /* nobody listens */
    assert_int_equal(sg_sdnotify("READY=1"), SG_EIO);
    unsetenv("NOTIFY_SOCKET");
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    sg_log_set_level(SG_LOG_ERROR); /* test_bad_variable's warnings are expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_unset_sends_nothing),
        cmocka_unit_test(test_bad_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
