/*
 * tls.c - everything OpenSSL for the HTTP front: server contexts, the bufferevent factory that
 * evhttp calls for each TLS connection, and the self-signed certificate for first runs.
 *
 * Design. One SSL_CTX per TLS listener, shared by all its connections (each SSL holds a
 * reference, so the listener may free its context while connections are still open). evhttp
 * creates a connection's bufferevent through http__tls_bev_new(), which wraps a fresh SSL in
 * a bufferevent_openssl in the accepting state; evhttp then gives it the accepted socket.
 * Dirty shutdowns are allowed: HTTP clients routinely close without close_notify, and the
 * HTTP layer knows from Content-Length whether a message was complete.
 *
 * Invariants:
 * 1. Contexts accept TLS 1.2 and later only, without renegotiation or compression.
 * 2. http__tls_bev_new() never returns NULL (a NULL would make evhttp speak plain text on
 *    the TLS port).
 * 3. The private key file is created with mode 0600 and chmod'ed to 0600 even when it
 *    existed before, so it is never readable by others, not even for a moment.
 */
#include "http/http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/log.h"
#include "util/util.h"

#define SUB "http.tls"
#define SELFSIGNED_DAYS 3650
#define SELFSIGNED_SAN "IP:127.0.0.1,IP:::1,DNS:localhost"

/* Drains OpenSSL's error queue into out as "reason; reason", or "unknown error". */
static void ssl_errors(char *out, size_t n) {
    size_t len = 0;
    unsigned long e;
    out[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        char one[256];
        ERR_error_string_n(e, one, sizeof one);
        if (len + 3 < n) {
            int k = snprintf(out + len, n - len, "%s%s", len ? "; " : "", one);
            if (k > 0) len += (size_t)k < n - len ? (size_t)k : n - len - 1;
        }
    }
    if (!out[0]) snprintf(out, n, "unknown error");
}

static int check_readable(const char *what, const char *path) {
    if (access(path, R_OK) == 0) return 0;
    sg_log_error(SUB, "Cannot read the TLS %s file '%s': %s.", what, path, strerror(errno));
    return SG_EIO;
}

SSL_CTX *http__tls_ctx_new(const char *cert_file, const char *key_file, int *err) {
    char why[1024];
    *err = check_readable("certificate", cert_file);
    if (!*err) *err = check_readable("key", key_file);
    if (*err) return NULL;

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_errors(why, sizeof why);
        sg_log_error(SUB, "Cannot create a TLS context: %s.", why);
        *err = SG_EIO;
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        ssl_errors(why, sizeof why);
        sg_log_error(SUB, "Cannot load the TLS certificate chain from '%s': %s.", cert_file,
                     why);
        goto invalid;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        ssl_errors(why, sizeof why);
        sg_log_error(SUB, "Cannot load the TLS private key from '%s': %s.", key_file, why);
        goto invalid;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_errors(why, sizeof why);
        sg_log_error(SUB, "The TLS key '%s' does not match the certificate '%s': %s.", key_file,
                     cert_file, why);
        goto invalid;
    }
    *err = 0;
    return ctx;

invalid:
    SSL_CTX_free(ctx);
    *err = SG_EINVAL;
    return NULL;
}

struct bufferevent *http__tls_bev_new(struct event_base *base, void *ssl_ctx) {
    SSL *ssl = SSL_new(ssl_ctx);
    if (!ssl) {
        sg_log_error(SUB, "SSL_new failed (out of memory); aborting.");
        abort();
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        sg_log_error(SUB, "bufferevent_openssl_socket_new failed (out of memory); aborting.");
        abort();
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* Adds one extension given in openssl.cnf syntax ("critical,CA:FALSE"). Returns 1 on success. */
static int add_ext(X509 *x, int nid, const char *value) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
    if (!ext) return 0;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1;
}

static X509 *make_cert(EVP_PKEY *pkey) {
    X509 *x = X509_new();
    if (!x) return NULL;
    unsigned char serial[16];
    sg_random(serial, sizeof serial);
    serial[0] &= 0x7f; /* positive, as RFC 5280 requires */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_get_subject_name(x);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_set_version(x, 2) /* v3 */ &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) /* tolerate clock skew */ &&
             X509_time_adj_ex(X509_getm_notAfter(x), SELFSIGNED_DAYS, 0, NULL) &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                        (const unsigned char *)"smsgate", -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        (const unsigned char *)"localhost", -1, -1, 0) &&
             X509_set_issuer_name(x, name) && X509_set_pubkey(x, pkey) &&
             add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, NID_ext_key_usage, "serverAuth") &&
             add_ext(x, NID_subject_alt_name, SELFSIGNED_SAN) &&
             add_ext(x, NID_subject_key_identifier, "hash") &&
             add_ext(x, NID_authority_key_identifier, "keyid:always") &&
             X509_sign(x, pkey, EVP_sha256()) > 0;
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Opens path for writing with the given mode (also forced on an existing file). */
static FILE *open_private(const char *path, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return NULL;
    if (fchmod(fd, mode) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert) {
    FILE *f = open_private(path, mode);
    if (!f) {
        sg_log_error(SUB, "Cannot create '%s' for the self-signed TLS %s: %s.", path,
                     key ? "key" : "certificate", strerror(errno));
        return SG_EIO;
    }
    int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_X509(f, cert);
    if (fclose(f) != 0) ok = 0;
    if (!ok) {
        char why[512];
        ssl_errors(why, sizeof why);
        sg_log_error(SUB, "Cannot write the self-signed TLS %s to '%s': %s.",
                     key ? "key" : "certificate", path, why);
        return SG_EIO;
    }
    return 0;
}

int http_tls_selfsigned(const char *cert_file, const char *key_file) {
    char why[512];
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (!pkey) {
        ssl_errors(why, sizeof why);
        sg_log_error(SUB, "Cannot generate an EC P-256 key: %s.", why);
        return SG_EIO;
    }
    X509 *cert = make_cert(pkey);
    if (!cert) {
        ssl_errors(why, sizeof why);
        sg_log_error(SUB, "Cannot build the self-signed certificate: %s.", why);
        EVP_PKEY_free(pkey);
        return SG_EIO;
    }
    int rc = write_pem(key_file, 0600, pkey, NULL);
    if (!rc) rc = write_pem(cert_file, 0644, NULL, cert);
    if (!rc)
        sg_log_info(SUB, "Wrote a self-signed TLS certificate '%s' (key '%s'), valid %d days.",
                    cert_file, key_file, SELFSIGNED_DAYS);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return rc;
}
