/*
 * util.c - checked allocation, a growing string, clocks, ISO-8601 time, hex and randomness.
 *
 * Allocation failure is not an error smsgate handles: it aborts with a message,
 * because a half-applied operation is worse than a restart (the store is durable).
 */

#include "util/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

const char *sg_strerror(int code) {
    switch (code) {
    case SG_OK: return "success";
    case SG_EINVAL: return "invalid input";
    case SG_ENOTFOUND: return "not found";
    case SG_ECONFLICT: return "conflict";
    case SG_EAGAIN: return "would block";
    case SG_ETEMP: return "temporary failure";
    case SG_EPERM: return "permanent refusal";
    case SG_EIO: return "input/output error";
    case SG_ENOCREDIT: return "not enough credits";
    case SG_ELIMIT: return "over a rate limit";
    case SG_EUNAVAIL: return "database unreachable";
    default: return "unknown error";
    }
}

static void oom(size_t n) {
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *sg_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *sg_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *sg_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *sg_xstrdup(const char *s) {
    return sg_xstrndup(s, strlen(s));
}

char *sg_xstrndup(const char *s, size_t n) {
    char *p = sg_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *sg_xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0) oom(0);
    return out;
}

void sg_buf_add(sg_buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        b->p = sg_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* --fault-clock-offset: written once at start, before any thread exists, then only read. */
static int64_t clock_offset_ms;

void sg_set_clock_offset(int64_t offset_ms) { clock_offset_ms = offset_ms; }

int64_t sg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_offset_ms;
}

int sg_duration_parse(const char *s, int64_t *out_ms) {
    if (!s || !*s) return SG_EINVAL;
    int neg = 0;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (!*s) return SG_EINVAL;
    int64_t total = 0;
    int units = 0;
    while (*s) {
        if (*s < '0' || *s > '9') return SG_EINVAL;
        int64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > INT64_C(100000000000000)) return SG_EINVAL;
            v = v * 10 + (*s++ - '0');
        }
        int64_t mul;
        if (!*s && !units) mul = 1; /* a bare number: milliseconds */
        else if (!strncmp(s, "ms", 2)) mul = 1, s += 2;
        else if (*s == 'd') mul = 86400000, s++;
        else if (*s == 'h') mul = 3600000, s++;
        else if (*s == 'm') mul = 60000, s++;
        else if (*s == 's') mul = 1000, s++;
        else return SG_EINVAL;
        if (v > INT64_C(100000000000000) / mul) return SG_EINVAL; /* about 3000 years */
        total += v * mul;
        units++;
    }
    *out_ms = neg ? -total : total;
    return 0;
}

int64_t sg_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sg_time_iso(int64_t ms, char out[SG_TIME_ISO_LEN]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SG_TIME_ISO_LEN, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

static int digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int sg_time_parse(const char *s, int64_t *ms_out) {
    int Y, M, D, h = 0, m = 0, sec = 0, frac_ms = 0, off = 0;
    const char *p = s;
    if (!s || digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
        digits(&p, 2, &D))
        return SG_EINVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m)) return SG_EINVAL;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec)) return SG_EINVAL;
        }
        if (*p == '.' || *p == ',') {
            p++;
            int scale = 100, any = 0;
            while (isdigit((unsigned char)*p)) {
                frac_ms += (*p - '0') * scale;
                scale /= 10;
                p++;
                any = 1;
            }
            if (!any) return SG_EINVAL;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (digits(&p, 2, &oh)) return SG_EINVAL;
            if (*p == ':') p++;
            if (*p && digits(&p, 2, &om)) return SG_EINVAL;
            if (oh > 23 || om > 59) return SG_EINVAL;
            off = sign * (oh * 60 + om);
        } else if (*p) {
            return SG_EINVAL;
        }
    }
    if (*p) return SG_EINVAL;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return SG_EINVAL;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *ms_out = ((int64_t)t - (int64_t)off * 60) * 1000 + frac_ms;
    return 0;
}

void sg_hex(const unsigned char *in, size_t n, char *out) {
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void sg_random(unsigned char *out, size_t n) {
    if (RAND_bytes(out, (int)n) != 1) {
        fprintf(stderr, "fatal: OpenSSL RAND_bytes failed\n");
        abort();
    }
}

void sg_random_hex(char *out, size_t nbytes) {
    unsigned char buf[64];
    while (nbytes > 0) {
        size_t k = nbytes > sizeof buf ? sizeof buf : nbytes;
        sg_random(buf, k);
        sg_hex(buf, k, out);
        out += 2 * k;
        nbytes -= k;
    }
}
