/*
 * console_session.h - the web console's sessions: a bounded table of who logged in, kept in
 * this node's memory (console_session.c has the design).
 *
 * Loop thread only (no locking). The table owns its sessions; a pointer returned by
 * console_session_get() or _new() is borrowed until the next call that may change the table
 * (another _new, _remove or _expire).
 */
#ifndef SG_CONSOLE_SESSION_H
#define SG_CONSOLE_SESSION_H

#include <stddef.h>
#include <stdint.h>

/* The cookie that carries the session id, and the header that must carry the session's CSRF
 * token on every request that may change something. */
#define CONSOLE_COOKIE "smsgate_session"
#define CONSOLE_CSRF_HEADER "X-Smsgate-Csrf"
#define CONSOLE_TOKEN_LEN 43 /* 32 random bytes, base64url without padding */

typedef enum { CONSOLE_OPERATOR = 1, CONSOLE_CUSTOMER = 2 } console_kind;

typedef struct console_session {
    char id[CONSOLE_TOKEN_LEN + 1];   /* the cookie's value */
    char csrf[CONSOLE_TOKEN_LEN + 1]; /* the X-Smsgate-Csrf header's value */
    console_kind kind;
    int64_t account_id;               /* customer: the service's account */
    char service[64];                 /* customer: the service's name */
    int64_t user_id;                  /* customer: the SMS user (sms_users.id) */
    char login[40];                   /* customer: the SMS user's login (api_call.user_login) */
    uint64_t pw_tag;                  /* customer: console.c's digest of its password hash */
    int64_t checked_ms;               /* customer: when the user was last read from the store */
    int64_t created_ms, last_ms;      /* wall clock */
    struct console_session *next;     /* hash chain */
} console_session;

typedef struct console_sessions console_sessions;

/* A table of at most max sessions, each forgotten idle_ms after its last use and max_age_ms
 * after its creation. */
console_sessions *console_sessions_new(size_t max, int64_t idle_ms, int64_t max_age_ms);
void console_sessions_free(console_sessions *t);

/* A new session of kind with fresh random id and CSRF token, created at now_ms; the caller
 * fills the customer fields. When the table is full, the least recently used session is
 * dropped first. Never NULL. */
console_session *console_session_new(console_sessions *t, console_kind kind, int64_t now_ms);
/* The live session whose id is the n bytes at id, or NULL (unknown, idle or too old: an
 * expired session found here is removed). A session found is touched (last use = now_ms). */
console_session *console_session_get(console_sessions *t, const char *id, size_t n,
                                     int64_t now_ms);
/* Forgets the session (logout). Does nothing when s is NULL. */
void console_session_remove(console_sessions *t, console_session *s);
/* Sessions in the table. */
size_t console_sessions_count(const console_sessions *t);

/* The value of cookie name in a Cookie header (RFC 6265 "a=b; c=d"), as a pointer into header
 * and its length; NULL when absent or empty. */
const char *console_cookie_get(const char *header, const char *name, size_t *len);
/* 1 when token (NUL-terminated, from a header; NULL = absent) equals the session's CSRF token,
 * compared in constant time. */
int console_csrf_ok(const console_session *s, const char *token);

#endif
