/*
 * sdnotify.c - the few lines of systemd's readiness protocol (see sdnotify.h).
 *
 * systemd passes the address of a datagram socket in $NOTIFY_SOCKET: a file system path
 * ("/run/systemd/notify") or a Linux abstract socket name written with a leading '@' (the '@'
 * stands for the name's leading NUL byte). A service sends it plain text datagrams of
 * "KEY=value" lines: READY=1 once it serves, STATUS= a line for `systemctl status`,
 * RELOADING=1 then READY=1 around a configuration reload, STOPPING=1 when it begins to stop.
 * systemd identifies the sender by its credentials (SCM_CREDENTIALS, added by the kernel
 * because systemd sets SO_PASSCRED on its end), so nothing else is needed.
 *
 * A socket is opened per message: there are four or five messages in a daemon's life, and a
 * fresh socket needs no state or locking.
 */
#include "util/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

#define LOG "sdnotify"

int sg_sdnotify(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
        sg_log_warn(LOG, "NOTIFY_SOCKET '%s' is neither an absolute path nor an abstract name "
                         "('@...'); systemd is not told our state.", path);
        return SG_EINVAL;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = '\0';
    /* An abstract name's length is exact (no terminating NUL); a path's may include it. */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        sg_log_warn(LOG, "Creating a socket to tell systemd '%.*s' failed: %s.",
                    (int)strcspn(state, "\n"), state, strerror(errno));
        return SG_EIO;
    }
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    int err = errno;
    close(fd);
    if (n != (ssize_t)strlen(state)) {
        sg_log_warn(LOG, "Telling systemd '%.*s' through '%s' failed: %s.",
                    (int)strcspn(state, "\n"), state, path, n < 0 ? strerror(err) : "short write");
        return SG_EIO;
    }
    return 0;
}

int sg_sdnotifyf(const char *fmt, ...) {
    if (!getenv("NOTIFY_SOCKET")) return 0;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return sg_sdnotify(buf);
}
