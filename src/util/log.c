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
 *
 * Rate limiting (sg_log_limited): a limiter lets one line through per period and counts the
 * others; the count rides on the next line written. Its fields are read and written with
 * atomic operations, so two threads racing on one limiter at worst let two lines through in
 * one period; no line is ever counted twice. libevent's own messages (sg_log_route_libevent)
 * have a limiter per cause, the message text with its digits left out, so that "fd 12" and
 * "fd 13" are one cause (32 causes, then one limiter for all the others).
 */
#include "util/log.h"

#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

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

/* Formats and writes one line; suffix (may be NULL) is appended to the message. */
static void vwrite(enum sg_log_level lvl, const char *subsys, const char *suffix, const char *fmt,
                   va_list ap) {
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    static const char prio[] = {'3', '4', '6', '7'}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
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
    int k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    if (k < 0) k = 0;
    n += (size_t)k;
    if (n > sizeof line - 2) n = sizeof line - 2;
    if (suffix) {
        k = snprintf(line + n, sizeof line - n - 1, "%s", suffix);
        if (k > 0) n += (size_t)k;
        if (n > sizeof line - 2) n = sizeof line - 2;
    }
    line[n++] = '\n';
    ssize_t w = write(g_fd, line, n);
    (void)w;
}

void sg_log_write(enum sg_log_level lvl, const char *subsys, const char *fmt, ...) {
    if (!sg_log_enabled(lvl, subsys)) return;
    va_list ap;
    va_start(ap, fmt);
    vwrite(lvl, subsys, NULL, fmt, ap);
    va_end(ap);
}

/* ---- rate-limited lines ---------------------------------------------------------------- */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "1234567" -> "1,234,567" */
static void thousands(uint64_t v, char *out, size_t n) {
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t k = 0;
    for (int i = 0; i < len && k + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && k + 2 < n) out[k++] = ',';
        out[k++] = tmp[i];
    }
    out[k] = '\0';
}

/* Returns 1 when a line may be written now; *held gets the lines counted since the previous
 * one and *since_ms the time since it. */
static int limit_pass(sg_log_limit *lim, uint64_t *held, int64_t *since_ms) {
    int64_t now = mono_ms();
    int64_t next = __atomic_load_n(&lim->next_ms, __ATOMIC_ACQUIRE);
    int64_t period = lim->period_ms > 0 ? lim->period_ms : 1000;
    if (now < next ||
        !__atomic_compare_exchange_n(&lim->next_ms, &next, now + period, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        __atomic_add_fetch(&lim->suppressed, 1, __ATOMIC_RELAXED);
        return 0;
    }
    *held = __atomic_exchange_n(&lim->suppressed, 0, __ATOMIC_RELAXED);
    int64_t last = __atomic_exchange_n(&lim->last_ms, now, __ATOMIC_RELAXED);
    *since_ms = now - last;
    return 1;
}

static int vlimited(sg_log_limit *lim, enum sg_log_level lvl, const char *subsys,
                    const char *fmt, va_list ap) {
    uint64_t held = 0;
    int64_t since = 0;
    if (!limit_pass(lim, &held, &since)) return 0;
    char suffix[96], num[32];
    if (held) {
        thousands(held, num, sizeof num);
        long long secs = (long long)((since + 500) / 1000);
        snprintf(suffix, sizeof suffix, " (repeated %s time%s in the last %lld s)", num,
                 held == 1 ? "" : "s", secs > 0 ? secs : 1);
    }
    vwrite(lvl, subsys, held ? suffix : NULL, fmt, ap);
    return 1;
}

int sg_log_limited(sg_log_limit *lim, enum sg_log_level lvl, const char *subsys, const char *fmt,
                   ...) {
    if (!sg_log_enabled(lvl, subsys)) return 0;
    va_list ap;
    va_start(ap, fmt);
    int rc = vlimited(lim, lvl, subsys, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- libevent's own messages ----------------------------------------------------------- */

/* The causes seen so far, each with its own limiter, kept for the process's life: a cause never
 * takes another's limiter over (two alternating messages would otherwise reset each other and
 * never be limited). Past LIBEVENT_CAUSES distinct causes, the rest share one limiter. The
 * table is written under a mutex: libevent logs from every thread's loop, and rarely. */
#define LIBEVENT_CAUSES 32
static pthread_mutex_t g_levent_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_levent_hash[LIBEVENT_CAUSES];
static sg_log_limit g_levent[LIBEVENT_CAUSES + 1]; /* the last one: every further cause */
static int g_levent_n;

static sg_log_limit *libevent_limit(uint32_t h) {
    pthread_mutex_lock(&g_levent_mu);
    int i = 0;
    while (i < g_levent_n && g_levent_hash[i] != h) i++;
    if (i == g_levent_n && g_levent_n < LIBEVENT_CAUSES) g_levent_hash[g_levent_n++] = h;
    pthread_mutex_unlock(&g_levent_mu);
    return &g_levent[i]; /* i == LIBEVENT_CAUSES: the shared one */
}

static void on_libevent_log(int severity, const char *msg) {
    enum sg_log_level lvl = severity >= EVENT_LOG_ERR    ? SG_LOG_ERROR
                            : severity == EVENT_LOG_WARN ? SG_LOG_WARN
                            : severity == EVENT_LOG_MSG  ? SG_LOG_INFO
                                                         : SG_LOG_DEBUG;
    if (!sg_log_enabled(lvl, "libevent")) return;
    uint32_t h = 2166136261u; /* FNV-1a over the text without its digits */
    for (const char *p = msg; *p; p++)
        if (*p < '0' || *p > '9') h = (h ^ (unsigned char)*p) * 16777619u;
    sg_log_limited(libevent_limit(h), lvl, "libevent", "%s", msg);
}

void sg_log_route_libevent(void) {
    event_set_log_callback(on_libevent_log);
}
