/*
 * log.c - line-oriented logging with per-subsystem debug switches.
 *
 * Each line is formatted into a stack buffer and written with one write(2), so lines
 * from several threads never interleave.
 *
 * The level and the debug prefixes change at start-up and again when smsgated reloads its
 * configuration (SIGHUP, on the loop thread) while other threads log. The level is an atomic
 * int; the prefixes are an immutable string behind an atomic pointer: a writer publishes a
 * new copy and frees the copy from two changes ago, which no reader still holds (a reader
 * keeps the pointer for the length of one call, and changes come from a signal a human sends).
 *
 * Under systemd (JOURNAL_STREAM names our stderr, sg_log_set_journal) lines carry the
 * sd-daemon(3) priority prefix "<3>".."<7>" instead of our own timestamp: the journal adds
 * its own time and keeps the priority for `journalctl -p`.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

static _Atomic int g_level = SG_LOG_INFO;
static int g_fd = 2;
static int g_journal;
static _Atomic(char *) g_debug;  /* NULL or a non-empty comma-separated list */
static char *g_debug_old;         /* the previous list, freed at the next change */

void sg_log_set_level(enum sg_log_level lvl) { atomic_store(&g_level, (int)lvl); }
void sg_log_set_fd(int fd) { g_fd = fd; }
void sg_log_set_journal(int on) { g_journal = on; }

void sg_log_debug_enable(const char *prefixes) {
    char *next = prefixes && *prefixes ? sg_xstrdup(prefixes) : NULL;
    char *prev = atomic_exchange(&g_debug, next);
    free(g_debug_old);
    g_debug_old = prev;
}

static int debug_on(const char *subsys) {
    const char *p = atomic_load(&g_debug);
    if (!p) return 0;
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
    if ((int)lvl <= atomic_load_explicit(&g_level, memory_order_relaxed)) return 1;
    return lvl == SG_LOG_DEBUG && debug_on(subsys);
}

void sg_log_write(enum sg_log_level lvl, const char *subsys, const char *fmt, ...) {
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    static const char prio[] = {'3', '4', '6', '7'}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
    if (!sg_log_enabled(lvl, subsys)) return;
    char line[2048];
    size_t n;
    if (g_journal) {
        n = (size_t)snprintf(line, sizeof line, "<%c>%s %s: ", prio[lvl], names[lvl], subsys);
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof line - n, ".%03dZ %s %s: ",
                              (int)(tv.tv_usec / 1000), names[lvl], subsys);
    }
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
