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
#endif
