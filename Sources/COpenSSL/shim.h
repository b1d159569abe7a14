// OpenSSL: DTLS 1.2 over memory BIOs and the certificate fingerprint.
#ifndef TESSERA_COPENSSL_SHIM_H
#define TESSERA_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/opensslv.h>

// DTLSv1_get_timeout and DTLSv1_handle_timeout are macros over SSL_ctrl.
static inline long tessera_dtls_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long tessera_dtls_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
// BIO_get_mem_data and BIO_set_mem_eof_return are macros too.
static inline long tessera_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline long tessera_bio_set_mem_eof_return(BIO *b, long v) { return BIO_set_mem_eof_return(b, v); }
#endif
