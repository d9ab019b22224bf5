/*
 * userpw.c - SMS users' password hashes (userpw.h).
 *
 * Design. PBKDF2-HMAC-SHA-256 (OpenSSL's PKCS5_PBKDF2_HMAC), 16 random bytes of salt, a 32-byte
 * key, the iterations stored with each hash. PBKDF2 rather than scrypt: it needs no memory per
 * verification (a burst of failed logins cannot make the process grow), and its cost is one
 * setting. At the default 100,000 iterations a verification takes about 40 ms on one core of
 * the development machine (docs/users.md has the measure), which is what makes a stolen
 * database slow to attack; the API keeps verified credentials in memory so that an application
 * sending with the right password does not pay it on every request (api/users.c).
 *
 * Invariants:
 *  1. No stored form holds the password, nor anything from which it is cheaper to test a
 *     guess than to run the iterations.
 *  2. userpw_verify derives the key before it looks at the result, and compares the whole key
 *     with CRYPTO_memcmp: its time depends on the stored iterations only, never on the
 *     password (a stored string we cannot parse is verified against the hash of nobody, so
 *     even that costs the same).
 */
#include "auth/userpw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/util.h"

#define SALT_LEN 16
#define KEY_LEN 32

static int derive(const char *password, int iterations, const unsigned char *salt,
                  unsigned char key[KEY_LEN]) {
    return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, SALT_LEN, iterations,
                             EVP_sha256(), KEY_LEN, key) == 1
               ? 0
               : SG_EIO;
}

int userpw_hash_salted(const char *password, int iterations, const unsigned char salt[16],
                       char out[USERPW_HASH_MAX]) {
    if (iterations < USERPW_ITER_MIN || iterations > USERPW_ITER_MAX) return SG_EINVAL;
    unsigned char key[KEY_LEN];
    if (derive(password, iterations, salt, key)) return SG_EIO;
    char salt_hex[2 * SALT_LEN + 1], key_hex[2 * KEY_LEN + 1];
    sg_hex(salt, SALT_LEN, salt_hex);
    sg_hex(key, KEY_LEN, key_hex);
    OPENSSL_cleanse(key, sizeof key);
    snprintf(out, USERPW_HASH_MAX, "pbkdf2-sha256$%d$%s$%s", iterations, salt_hex, key_hex);
    return 0;
}

int userpw_hash(const char *password, int iterations, char out[USERPW_HASH_MAX]) {
    unsigned char salt[SALT_LEN];
    sg_random(salt, sizeof salt);
    return userpw_hash_salted(password, iterations, salt, out);
}

static int unhex(const char *s, size_t n, unsigned char *out) {
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = s[2 * i + k];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* Parses stored into iterations, salt and key: 0, or -1 when it is not our form. */
static int parse(const char *stored, int *iterations, unsigned char salt[SALT_LEN],
                 unsigned char key[KEY_LEN]) {
    const char *p = "pbkdf2-sha256$";
    if (!stored || strncmp(stored, p, strlen(p)) != 0) return -1;
    char *end;
    long it = strtol(stored + strlen(p), &end, 10);
    if (*end != '$' || it < USERPW_ITER_MIN || it > USERPW_ITER_MAX) return -1;
    const char *s = end + 1;
    if (strlen(s) != 2 * SALT_LEN + 1 + 2 * KEY_LEN || s[2 * SALT_LEN] != '$') return -1;
    if (unhex(s, SALT_LEN, salt) || unhex(s + 2 * SALT_LEN + 1, KEY_LEN, key)) return -1;
    *iterations = (int)it;
    return 0;
}

void userpw_nobody(int iterations, char out[USERPW_HASH_MAX]) {
    static const unsigned char salt[SALT_LEN] = "smsgate-nobody!";
    char pw[33];
    sg_random_hex(pw, 16);
    if (iterations < USERPW_ITER_MIN || iterations > USERPW_ITER_MAX)
        iterations = USERPW_ITER_DEFAULT;
    if (userpw_hash_salted(pw, iterations, salt, out)) out[0] = '\0';
}

int userpw_verify(const char *password, const char *stored) {
    int iterations;
    unsigned char salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
    int ours = parse(stored, &iterations, salt, want) == 0;
    if (!ours) { /* the same work as a real verification, against nothing */
        iterations = USERPW_ITER_DEFAULT;
        memset(salt, 0, sizeof salt);
        memset(want, 0xff, sizeof want);
    }
    if (derive(password ? password : "", iterations, salt, got)) return 0;
    int same = CRYPTO_memcmp(got, want, KEY_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ours && same;
}

int userpw_login_ok(const char *login, char *err, size_t errlen) {
    size_t n = login ? strlen(login) : 0;
    if (n < 3 || n > 32) {
        snprintf(err, errlen, "a login has 3 to 32 characters");
        return SG_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = login[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == '_')) {
            snprintf(err, errlen, "a login is made of letters, digits, '.', '-' and '_'");
            return SG_EINVAL;
        }
    }
    return 0;
}

int userpw_password_ok(const char *password, char *err, size_t errlen) {
    size_t n = password ? strlen(password) : 0;
    if (n < 8 || n > 64) {
        snprintf(err, errlen, "a password has 8 to 64 characters");
        return SG_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)password[i] < 0x20 || password[i] == 0x7f) {
            snprintf(err, errlen, "a password has no control character");
            return SG_EINVAL;
        }
    }
    return 0;
}
