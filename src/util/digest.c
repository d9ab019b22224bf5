/*
 * digest.c - SHA-1 and HMAC-SHA-256 with the algorithms fetched once (see digest.h).
 *
 * HMAC is written out over the fetched digest (inner and outer hash over the key XOR the
 * two pads), which is what HMAC() computes; test_notify checks it against RFC 4231.
 */
#include "util/digest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_BLOCK 64
#define SHA256_LEN 32

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *sha1, *sha256;

static void fetch(void) {
    sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha1 || !sha256) {
        fprintf(stderr, "fatal: OpenSSL has no SHA-1 or SHA-256\n");
        abort();
    }
}

const EVP_MD *sg_md_sha1(void) {
    pthread_once(&once, fetch);
    return sha1;
}

const EVP_MD *sg_md_sha256(void) {
    pthread_once(&once, fetch);
    return sha256;
}

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fatal: OpenSSL %s failed\n", what);
        abort();
    }
}

EVP_MD_CTX *sg_digest_begin(const EVP_MD *md) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    check(ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1, "EVP_DigestInit_ex");
    return ctx;
}

void sg_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[32]) {
    const EVP_MD *md = sg_md_sha256();
    unsigned char k[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK], inner[SHA256_LEN];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    check(ctx != NULL, "EVP_MD_CTX_new");
    if (key_len > SHA256_BLOCK) { /* a long key is replaced by its hash */
        check(EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, key, key_len) == 1 &&
                  EVP_DigestFinal_ex(ctx, k, &n) == 1,
              "SHA-256 of an HMAC key");
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (int i = 0; i < SHA256_BLOCK; i++) pad[i] = k[i] ^ 0x36;
    check(EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, pad, sizeof pad) == 1 &&
              (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) &&
              EVP_DigestFinal_ex(ctx, inner, &n) == 1,
          "HMAC inner hash");
    for (int i = 0; i < SHA256_BLOCK; i++) pad[i] = k[i] ^ 0x5c;
    check(EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, pad, sizeof pad) == 1 &&
              EVP_DigestUpdate(ctx, inner, sizeof inner) == 1 &&
              EVP_DigestFinal_ex(ctx, out, &n) == 1,
          "HMAC outer hash");
    EVP_MD_CTX_free(ctx);
}
