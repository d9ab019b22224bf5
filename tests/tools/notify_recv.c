/*
 * notify_recv.c - test tool: stands in for systemd's end of the sd_notify protocol.
 *
 *   notify_recv SOCKET_PATH SECONDS
 *
 * Binds an AF_UNIX datagram socket at SOCKET_PATH and prints each datagram received as one
 * line on stdout (its newlines written as '|'), flushed at once, for SECONDS at most; it exits
 * earlier on SIGTERM. The integration tests point smsgated's NOTIFY_SOCKET at it (node cannot
 * bind a datagram unix socket). Prints "listening" once bound.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: notify_recv SOCKET_PATH SECONDS\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "notify_recv: path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("notify_recv: bind");
        return 1;
    }
    struct sigaction act = {.sa_handler = on_term};
    sigaction(SIGTERM, &act, NULL);
    printf("listening\n");
    fflush(stdout);
    time_t end = time(NULL) + atoi(argv[2]);
    char buf[4096];
    while (!stop && time(NULL) < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0) continue;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n') buf[i] = '|';
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
    }
    close(fd);
    unlink(argv[1]);
    return 0;
}
