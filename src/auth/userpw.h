/*
 * userpw.h - SMS users' passwords: salted, slow hashes (PBKDF2-HMAC-SHA-256 from OpenSSL),
 * their verification in a time that does not depend on where a wrong password differs, the
 * hash of no user (so that an unknown login costs what a wrong password costs), and the rules
 * of a login and a password (docs/users.md).
 *
 * The stored form is one string, "pbkdf2-sha256$<iterations>$<salt, 32 hex>$<key, 64 hex>":
 * the iterations are kept with each hash, so a server started with another
 * user-password-iterations still verifies the old hashes (and writes new ones with its own).
 *
 * Threads: every function is reentrant; userpw_hash and userpw_verify take tens of
 * milliseconds by design and must not run on the loop thread (api/users.c runs them on its
 * worker thread). Nothing is allocated: the caller gives the buffers.
 */
#ifndef SG_AUTH_USERPW_H
#define SG_AUTH_USERPW_H

#include <stddef.h>

#define USERPW_HASH_MAX 160        /* bytes of a stored hash, NUL included */
#define USERPW_ITER_DEFAULT 100000 /* PBKDF2 iterations (user-password-iterations) */
#define USERPW_ITER_MIN 1000
#define USERPW_ITER_MAX 10000000

/* Hashes password with a new random salt and iterations into out (USERPW_HASH_MAX bytes).
 * Returns 0, or SG_EINVAL when iterations are out of bounds. */
int userpw_hash(const char *password, int iterations, char out[USERPW_HASH_MAX]);
/* The same with the salt given (16 bytes): for the tests and the hash of no user. */
int userpw_hash_salted(const char *password, int iterations, const unsigned char salt[16],
                       char out[USERPW_HASH_MAX]);
/* 1 when password matches stored, 0 otherwise (also when stored is not a hash of ours). The
 * key is derived whatever the password, and compared with CRYPTO_memcmp. */
int userpw_verify(const char *password, const char *stored);
/* A hash that no password matches in practice, with iterations, for the verification of an
 * unknown login (the same work as a known one's). Computed once per process and iterations
 * value by the caller (a fixed salt, a random password). */
void userpw_nobody(int iterations, char out[USERPW_HASH_MAX]);

/* The rules of OVH's sms.User fields as smsgate applies them. A login: 3 to 32 characters,
 * letters, digits, '.', '-' and '_' (it is a path segment, and http2sms's `login`). A
 * password: 8 to 64 bytes, no control character. 0, or SG_EINVAL with the reason in err. */
int userpw_login_ok(const char *login, char *err, size_t errlen);
int userpw_password_ok(const char *password, char *err, size_t errlen);

#endif
