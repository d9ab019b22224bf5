/*
 * util.h - shared infrastructure: error codes, checked allocation, a growing string, time
 * helpers.
 *
 * Owns nothing. Every function here is safe to call from any thread.
 * Allocation failure aborts the process with a message (sg_xmalloc and friends):
 * smsgate never tries to limp on without memory.
 */
#ifndef SG_UTIL_H
#define SG_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Error codes: functions return 0 on success or one of these (negative). */
#define SG_OK 0
#define SG_EINVAL (-1)    /* bad input from a caller or a peer */
#define SG_ENOTFOUND (-2) /* no such object */
#define SG_ECONFLICT (-3) /* already exists / state does not allow it */
#define SG_EAGAIN (-4)    /* would block; call again when more input arrives */
#define SG_ETEMP (-5)     /* temporary failure, retry later */
#define SG_EPERM (-6)     /* permanent refusal */
#define SG_EIO (-7)       /* I/O or storage failure */
#define SG_ENOCREDIT (-8) /* not enough credits on the account */
#define SG_ELIMIT (-9)    /* over a rate limit; retry later (HTTP 429) */
#define SG_EUNAVAIL (-10) /* the database is unreachable now; retry later (HTTP 503) */

/* Returns a static English description of an SG_E* code. */
const char *sg_strerror(int code);

void *sg_xmalloc(size_t n);
void *sg_xcalloc(size_t n, size_t size);
void *sg_xrealloc(void *p, size_t n);
char *sg_xstrdup(const char *s);
char *sg_xstrndup(const char *s, size_t n);
/* printf into a new heap string; caller frees. */
char *sg_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growing string. Starts zeroed ({0}); after the first sg_buf_add (even of "" with n 0), p
 * is NUL-terminated and len excludes the NUL. The owner frees p. */
typedef struct sg_buf {
    char *p;
    size_t len, cap;
} sg_buf;
/* Appends s[0..n) (copied), doubling the room from 256 bytes when it lacks. */
void sg_buf_add(sg_buf *b, const char *s, size_t n);

/* Wall-clock time in milliseconds since the Unix epoch. */
int64_t sg_now_ms(void);
/* Testing only (--fault-clock-offset): from now on sg_now_ms() adds offset_ms to the real
 * clock, so that a test can run the server "on a Sunday". Call once at start, before any
 * thread is started; sg_mono_ms() is unchanged. */
void sg_set_clock_offset(int64_t offset_ms);
/* A duration: a whole number of milliseconds ("-90000"), or numbers with units d, h, m, s, ms
 * ("3d", "-1d2h30m", "1500ms"), an optional sign in front. Returns 0 and the milliseconds, or
 * SG_EINVAL. */
int sg_duration_parse(const char *s, int64_t *out_ms);
/* Monotonic clock in milliseconds, for timers and deadlines. */
int64_t sg_mono_ms(void);

/* Formats epoch milliseconds as ISO-8601 with the UTC offset "+00:00",
 * e.g. "2024-05-10T14:03:21+00:00". out must hold SG_TIME_ISO_LEN bytes. */
#define SG_TIME_ISO_LEN 32
void sg_time_iso(int64_t ms, char out[SG_TIME_ISO_LEN]);
/* Parses an RFC 3339 date-time (with 'Z' or an offset, optional fraction) or a
 * bare date "YYYY-MM-DD" (midnight UTC). Returns 0 and epoch ms, or SG_EINVAL. */
int sg_time_parse(const char *s, int64_t *ms_out);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void sg_hex(const unsigned char *in, size_t n, char *out);
/* Fills out with n cryptographically random bytes (OpenSSL RAND_bytes); aborts on failure. */
void sg_random(unsigned char *out, size_t n);
/* A random token of 2*nbytes lowercase hex chars + NUL into out. */
void sg_random_hex(char *out, size_t nbytes);

#endif
