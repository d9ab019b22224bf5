/*
 * log.h - one logging facility for the whole process.
 *
 * Every line: "2024-05-10T14:03:21.123Z LEVEL subsystem: message".
 * The subsystem names the module ("http", "store.sqlite", "smpp.session", "sim").
 * Ids (request id, message id, route) go into the message itself, quoted.
 * Debug output is enabled per subsystem prefix at run time (sg_log_debug_enable).
 * The level is checked before formatting. Thread-safe: one write(2) per line; the level and
 * the debug prefixes may be changed while other threads log (configuration reload).
 */
#ifndef SG_LOG_H
#define SG_LOG_H

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

#endif
