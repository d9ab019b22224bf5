/*
 * digest.h - SHA-1 and HMAC-SHA-256 with the algorithms fetched once.
 *
 * Why: OpenSSL 3 looks an algorithm up by name in its provider tables whenever it is given
 * EVP_sha1() or asked for HMAC() (EVP_Q_mac fetches the MAC and the digest on every call).
 * In the benchmark that lookup cost more than the hashing itself: about 22,000 instructions
 * per status-callback signature and several thousand per request signature checked
 * (callgrind). These functions fetch each algorithm once per process.
 *
 * Thread: any. Failures of OpenSSL here are allocation failures or a broken library, not
 * input errors: they abort with a message on stderr, like the rest of the process on OOM.
 */
#ifndef SG_UTIL_DIGEST_H
#define SG_UTIL_DIGEST_H

#include <stddef.h>

#include <openssl/evp.h>

/* The SHA-1 and SHA-256 digests, fetched on first use; never NULL; never freed. */
const EVP_MD *sg_md_sha1(void);
const EVP_MD *sg_md_sha256(void);

/* A new digest context already initialised with md (EVP_MD_CTX_free it). */
EVP_MD_CTX *sg_digest_begin(const EVP_MD *md);

/* HMAC-SHA-256 (RFC 2104) of data under key into out[32]. */
void sg_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[32]);

#endif
