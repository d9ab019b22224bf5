/*
 * sdnotify.h - tells systemd how the daemon is doing (the sd_notify(3) protocol, without
 * libsystemd).
 *
 * Owns nothing between calls. Callable from any thread; smsgated calls it from the loop
 * thread only. When $NOTIFY_SOCKET is unset (not started by systemd with Type=notify) every
 * call does nothing and returns 0.
 */
#ifndef SG_SDNOTIFY_H
#define SG_SDNOTIFY_H

/* Sends state, newline-separated "KEY=value" assignments such as "READY=1\nSTATUS=serving",
 * as one datagram to $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 * Returns 0 (also when the variable is unset), SG_EINVAL for a malformed variable, SG_EIO when
 * the datagram could not be sent. Never blocks for long: the socket is non-blocking and
 * systemd reads it at once. The variable is left in the environment. */
int sg_sdnotify(const char *state);

/* sg_sdnotify with a printf format. */
int sg_sdnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
