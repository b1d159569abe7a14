// SRTP and SRTCP (RFC 3711) for the two DTLS-SRTP profiles WebRTC uses,
// AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM (RFC 7714), on OpenSSL's
// libcrypto (AES-NI, SHA-NI). Debian's libsrtp2 is built on NSS, whose
// per-call PKCS#11 layer took a third of the server's CPU at 300 audio
// peers; this replaces it on the hot path. libsrtp2 stays for the other
// profiles (SDES on RtpEndpoint).
//
// Everything works in place. Not thread-safe: one context per peer and
// direction pair, used on one media loop.
#ifndef TESSERA_CSRTPCORE_H
#define TESSERA_CSRTPCORE_H
#include <stdint.h>

typedef struct tessera_srtp tessera_srtp;

enum {
    TESSERA_SRTP_AES128_CM_SHA1_80 = 1,
    TESSERA_SRTP_AEAD_AES128_GCM = 2,
};

/// The most bytes protect adds after the packet (GCM SRTCP: tag 16 + index 4).
#define TESSERA_SRTP_MAX_TRAILER 20

/// A context for one peer: `local` keys protect what we send, `remote` keys
/// unprotect what we receive. Each is master key (16) || master salt (14 for
/// AES-CM, 12 for GCM). Returns NULL on a bad profile or length.
tessera_srtp *tessera_srtp_create(int profile, const uint8_t *local, int local_len, const uint8_t *remote, int remote_len);
void tessera_srtp_free(tessera_srtp *s);

/// Protect in place: `buf` holds `len` bytes of plain RTP/RTCP and has room
/// for TESSERA_SRTP_MAX_TRAILER more. Returns the new length, or -1.
int tessera_srtp_protect_rtp(tessera_srtp *s, uint8_t *buf, int len, int capacity);
int tessera_srtp_protect_rtcp(tessera_srtp *s, uint8_t *buf, int len, int capacity);
/// Unprotect in place. Returns the plain length, or -1 (too short, bad tag,
/// replayed or too old).
int tessera_srtp_unprotect_rtp(tessera_srtp *s, uint8_t *buf, int len);
int tessera_srtp_unprotect_rtcp(tessera_srtp *s, uint8_t *buf, int len);
#endif
