#ifndef LMGATE_COPENSSL_SHIM_H
#define LMGATE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/md5.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>

// OpenSSL exposes many operations as macros, which Swift cannot call.
// Each is wrapped here in a static inline function with the `lmgate_` prefix.

static inline long lmgate_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline int lmgate_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int lmgate_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long lmgate_SSL_CTX_set_options(SSL_CTX *ctx, long options) {
    return (long)SSL_CTX_set_options(ctx, (uint64_t)options);
}

static inline long lmgate_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

// --- TLS (Sources/Proxy/TLS) ---

/// `SSL_OP_*` flags are built with a cast-and-shift macro Swift does not import.
static inline uint64_t lmgate_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t lmgate_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }

static inline int lmgate_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}

static inline int lmgate_SSL_CTX_get_ex_new_index(void) {
    return SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static inline int lmgate_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*callback)(SSL *, int *, void *)) {
    return (int)SSL_CTX_set_tlsext_servername_callback(ctx, callback);
}

/// `EVP_EC_gen` and `EVP_RSA_gen` expand to the variadic `EVP_PKEY_Q_keygen`.
static inline EVP_PKEY *lmgate_EVP_EC_gen_P256(void) { return EVP_EC_gen("P-256"); }
static inline EVP_PKEY *lmgate_EVP_RSA_gen(unsigned int bits) { return EVP_RSA_gen(bits); }

/// Adds one X.509 v3 extension given in OpenSSL's configuration syntax
/// (`"DNS:localhost,IP:127.0.0.1"`) to a self-issued certificate.
/// Returns 1 on success. `X509V3_set_ctx_nodb` is a macro.
static inline int lmgate_X509_add_extension_text(X509 *cert, int nid, const char *value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &context, nid, value);
    if (extension == NULL) return 0;
    int result = X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
    return result;
}

static inline long lmgate_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

// SHA-256 through libcrypto's low-level interface, with the context on the
// caller's stack: no allocation and no algorithm lookup. The EVP interface
// allocates a context (and the algorithm's own state) for every digest,
// which on the proxy's path for every API-key request cost more than the
// digest itself. OpenSSL 3 marks these functions deprecated in favour of
// EVP, not unsafe; the warning is silenced here only.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline void lmgate_SHA256_Init(SHA256_CTX *context) { SHA256_Init(context); }
static inline void lmgate_SHA256_Update(SHA256_CTX *context, const void *data, size_t count) {
    SHA256_Update(context, data, count);
}
static inline void lmgate_SHA256_Final(unsigned char *digest, SHA256_CTX *context) { SHA256_Final(digest, context); }
#pragma clang diagnostic pop

#endif
