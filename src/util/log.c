/*
 * log.c - line-oriented logging with per-subsystem debug switches.
 *
 * Each line is formatted into a stack buffer and written with one write(2), so lines
 * from several threads never interleave. Settings are written once at start-up, before
 * threads start, and only read afterwards.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum sg_log_level g_level = SG_LOG_INFO;
static int g_fd = 2;
static char g_debug[256];

void sg_log_set_level(enum sg_log_level lvl) { g_level = lvl; }
void sg_log_set_fd(int fd) { g_fd = fd; }

void sg_log_debug_enable(const char *prefixes) {
    snprintf(g_debug, sizeof g_debug, "%s", prefixes ? prefixes : "");
}

static int debug_on(const char *subsys) {
    if (!g_debug[0]) return 0;
    const char *p = g_debug;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 3 && !strncmp(p, "all", 3)) return 1;
        if (n > 0 && !strncmp(subsys, p, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int sg_log_enabled(enum sg_log_level lvl, const char *subsys) {
    if (lvl <= g_level) return 1;
    return lvl == SG_LOG_DEBUG && debug_on(subsys);
}

void sg_log_write(enum sg_log_level lvl, const char *subsys, const char *fmt, ...) {
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (!sg_log_enabled(lvl, subsys)) return;
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03dZ %s %s: ", (int)(tv.tv_usec / 1000),
                          names[lvl], subsys);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (k < 0) k = 0;
    n += (size_t)k;
    if (n > sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(g_fd, line, n);
    (void)w;
}
