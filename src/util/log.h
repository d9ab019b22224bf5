/*
 * log.h - one logging facility for the whole process.
 *
 * Every line: "2024-05-10T14:03:21.123Z LEVEL subsystem: message".
 * The subsystem names the module ("http", "store.sqlite", "smpp.session", "sim").
 * Ids (request id, message id, route) go into the message itself, quoted.
 * Debug output is enabled per subsystem prefix at run time (sg_log_debug_enable).
 * The level is checked before formatting. Thread-safe: one write(2) per line; the level and
 * the debug prefixes may be changed while other threads log (configuration reload).
 *
 * Repeated lines: a warning that can repeat as fast as its cause (a failing accept(), a peer
 * that keeps misbehaving) goes through an sg_log_limit, one static per cause. The first line
 * of a burst is written at once; later ones within the limiter's period are only counted, and
 * the next line written after the period says how many were held back:
 *   "... Too many open files. (repeated 1,234 times in the last 1 s)"
 * A limiter is a few words of memory, safe to use from any thread (atomic operations), and
 * costs one comparison when its line is suppressed.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdint.h>

enum sg_log_level { SG_LOG_ERROR = 0, SG_LOG_WARN = 1, SG_LOG_INFO = 2, SG_LOG_DEBUG = 3 };

/* Minimum level printed for all subsystems (default INFO). */
void sg_log_set_level(enum sg_log_level lvl);
/* Enables debug output for subsystems starting with one of the comma-separated prefixes
 * ("smpp,store"); "all" enables every subsystem. */
void sg_log_debug_enable(const char *prefixes);
/* Sends log lines to this fd (default 2, stderr). */
void sg_log_set_fd(int fd);
/* on: lines start with the sd-daemon(3) priority "<6>" and carry no timestamp (the journal
 * stamps them), for a stderr connected to systemd's journal. Set before threads start. */
void sg_log_set_journal(int on);
int sg_log_enabled(enum sg_log_level lvl, const char *subsys);

void sg_log_write(enum sg_log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define sg_log_error(sub, ...) sg_log_write(SG_LOG_ERROR, sub, __VA_ARGS__)
#define sg_log_warn(sub, ...) sg_log_write(SG_LOG_WARN, sub, __VA_ARGS__)
#define sg_log_info(sub, ...) \
    do { if (sg_log_enabled(SG_LOG_INFO, sub)) sg_log_write(SG_LOG_INFO, sub, __VA_ARGS__); } while (0)
#define sg_log_debug(sub, ...) \
    do { if (sg_log_enabled(SG_LOG_DEBUG, sub)) sg_log_write(SG_LOG_DEBUG, sub, __VA_ARGS__); } while (0)

/* One cause of repeated lines. Zero-initialise it (static sg_log_limit lim;); period_ms 0 means
 * 1000 ms. */
typedef struct sg_log_limit {
    int64_t period_ms;
    int64_t next_ms;     /* monotonic ms before which lines are only counted */
    int64_t last_ms;     /* when the last line was written */
    uint64_t suppressed; /* lines counted since then */
} sg_log_limit;

/* Writes the line unless lim already let one through within its period; the count of lines
 * held back since the previous one is appended. Returns 1 when the line was written. */
int sg_log_limited(sg_log_limit *lim, enum sg_log_level lvl, const char *subsys, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* Sends libevent's own messages (its internal warnings and errors) through this logger under
 * the subsystem "libevent", each distinct message rate-limited to one line per second.
 * Call once at start-up, before the event loop runs. */
void sg_log_route_libevent(void);

#endif
