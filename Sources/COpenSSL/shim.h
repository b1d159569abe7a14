// OpenSSL: DTLS 1.2 over memory BIOs and the certificate fingerprint.
#ifndef TESSERA_COPENSSL_SHIM_H
#define TESSERA_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/opensslv.h>
#include <openssl/hmac.h>

// DTLSv1_get_timeout and DTLSv1_handle_timeout are macros over SSL_ctrl.
static inline long tessera_dtls_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long tessera_dtls_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
// BIO_get_mem_data and BIO_set_mem_eof_return are macros too.
static inline long tessera_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline long tessera_bio_set_mem_eof_return(BIO *b, long v) { return BIO_set_mem_eof_return(b, v); }
// SSL_set_mtu and SSL_CTX_set_read_ahead are macros over SSL_ctrl / SSL_CTX_ctrl.
// SSL_OP_NO_QUERY_MTU is a macro expression Swift does not import: set it with the MTU.
static inline long tessera_ssl_set_mtu(SSL *ssl, long mtu) { SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU); return SSL_set_mtu(ssl, mtu); }
static inline long tessera_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_min_proto_version(ctx, v); }
static inline long tessera_ssl_ctx_set_read_ahead(SSL_CTX *ctx, long on) { return SSL_CTX_set_read_ahead(ctx, on); }
// SSL_CTX_set_tlsext_use_srtp returns 0 on success, unlike most of OpenSSL.
static inline int tessera_ssl_ctx_set_srtp_profiles(SSL_CTX *ctx, const char *profiles) { return SSL_CTX_set_tlsext_use_srtp(ctx, profiles); }
#include <openssl/pem.h>
#include <openssl/ecdsa.h>
#include <openssl/sha.h>
#include <stdlib.h>

// JWT ES256 (RFC 7518 §3.4): ECDSA P-256 with SHA-256, the signature as r || s (64 bytes).
// The P-256 key in `pem` (a private key when `private_key`, else a public one), or NULL.
static inline EVP_PKEY *tessera_p256_key(const char *pem, int private_key) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = !bio ? NULL : private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key && (EVP_PKEY_base_id(key) != EVP_PKEY_EC || EVP_PKEY_bits(key) != 256)) { EVP_PKEY_free(key); key = NULL; }
    return key;
}

// Verifies `sig64` over `msg` with a PEM public key: 1 valid, 0 invalid, -1 unusable key.
static inline int tessera_es256_verify(const char *pem, const unsigned char *msg, size_t msglen, const unsigned char *sig64) {
    EVP_PKEY *key = tessera_p256_key(pem, 0);
    if (!key) return -1;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(sig64, 32, NULL), BN_bin2bn(sig64 + 32, 32, NULL));
    unsigned char *der = NULL;
    int derlen = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = derlen > 0 && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestVerify(ctx, der, (size_t)derlen, msg, msglen) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    EVP_PKEY_free(key);
    return ok ? 1 : 0;
}

// Signs `msg` with a PEM P-256 private key into `sig64` (r || s): 1 done, -1 unusable key.
static inline int tessera_es256_sign(const char *pem, const unsigned char *msg, size_t msglen, unsigned char *sig64) {
    EVP_PKEY *key = tessera_p256_key(pem, 1);
    if (!key) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 0;
    unsigned char *der = NULL;
    int ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 && EVP_DigestSign(ctx, NULL, &len, msg, msglen) == 1
        && (der = malloc(len)) != NULL && EVP_DigestSign(ctx, der, &len, msg, msglen) == 1;
    if (ok) {
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
        const BIGNUM *r = NULL, *s = NULL;
        if (sig) ECDSA_SIG_get0(sig, &r, &s);
        ok = sig && BN_bn2binpad(r, sig64, 32) == 32 && BN_bn2binpad(s, sig64 + 32, 32) == 32;
        ECDSA_SIG_free(sig);
    }
    free(der);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok ? 1 : -1;
}
#endif
