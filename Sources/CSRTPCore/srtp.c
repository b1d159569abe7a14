// SRTP/SRTCP on libcrypto: see CSRTPCore.h. References: RFC 3711 (SRTP,
// key derivation §4.3, AES-CM §4.1.1, HMAC-SHA1 §4.2, index estimation
// Appendix A, SRTCP §3.4), RFC 7714 (AES-GCM for SRTP, IVs §8.1 and §9.1,
// AAD §8.2 and §9.2).
#include "CSRTPCore.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STREAMS 32
#define WINDOW_BITS 1024
#define WINDOW_WORDS (WINDOW_BITS / 64)

typedef struct {
    uint32_t ssrc;
    int used;
    int rtp_seen;
    uint32_t roc;        // rollover counter
    uint16_t s_l;        // highest sequence number seen (with roc)
    uint64_t top;        // highest index authenticated (receive side)
    uint64_t window[WINDOW_WORDS];  // bit k: index top - k was seen
    int rtcp_seen;
    uint32_t rtcp_top;
    uint64_t rtcp_window[WINDOW_WORDS];
    uint32_t rtcp_next;  // next SRTCP index to send
} stream;

typedef struct {
    uint8_t enc_key[16];
    uint8_t salt[14];     // 14 bytes for AES-CM, the first 12 for GCM
    uint8_t auth_key[20];
    EVP_CIPHER_CTX *ctr;  // AES-128-CTR with the session key
    EVP_CIPHER_CTX *gcm;
    EVP_MD_CTX *inner;    // SHA-1 after (key ^ ipad)
    EVP_MD_CTX *outer;    // SHA-1 after (key ^ opad)
    EVP_MD_CTX *work;
} keys;

typedef struct {
    keys rtp, rtcp;
    stream streams[MAX_STREAMS];
} direction;

struct tessera_srtp {
    int profile;
    direction out, in;
};

// --- Key derivation (RFC 3711 §4.3.1, AES-CM PRF, key derivation rate 0) ---

static int kdf(const uint8_t *master_key, const uint8_t *master_salt, int salt_len, uint8_t label, uint8_t *out, int out_len) {
    uint8_t iv[16] = {0};
    memcpy(iv, master_salt, (size_t)salt_len);
    iv[7] ^= label;
    uint8_t zeros[64] = {0};
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, master_key, iv);
    int n = 0;
    ok = ok && EVP_EncryptUpdate(c, out, &n, zeros, out_len);
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static int hmac_init(keys *k) {
    uint8_t block[64];
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    k->work = EVP_MD_CTX_new();
    if (!k->inner || !k->outer || !k->work) return 0;
    memset(block, 0x36, sizeof(block));
    for (int i = 0; i < 20; i++) block[i] ^= k->auth_key[i];
    if (!EVP_DigestInit_ex(k->inner, EVP_sha1(), NULL) || !EVP_DigestUpdate(k->inner, block, 64)) return 0;
    memset(block, 0x5c, sizeof(block));
    for (int i = 0; i < 20; i++) block[i] ^= k->auth_key[i];
    if (!EVP_DigestInit_ex(k->outer, EVP_sha1(), NULL) || !EVP_DigestUpdate(k->outer, block, 64)) return 0;
    return 1;
}

/// HMAC-SHA1(auth_key, a || b), full 20 bytes.
static int hmac(keys *k, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[20]) {
    uint8_t inner[20];
    unsigned int n = 0;
    if (!EVP_MD_CTX_copy_ex(k->work, k->inner)) return 0;
    if (!EVP_DigestUpdate(k->work, a, a_len)) return 0;
    if (b_len && !EVP_DigestUpdate(k->work, b, b_len)) return 0;
    if (!EVP_DigestFinal_ex(k->work, inner, &n)) return 0;
    if (!EVP_MD_CTX_copy_ex(k->work, k->outer)) return 0;
    if (!EVP_DigestUpdate(k->work, inner, 20)) return 0;
    return EVP_DigestFinal_ex(k->work, out, &n);
}

static int keys_init(keys *k, int profile, const uint8_t *master, int len, int rtcp) {
    int salt_len = profile == TESSERA_SRTP_AEAD_AES128_GCM ? 12 : 14;
    if (len != 16 + salt_len) return 0;
    const uint8_t *mkey = master, *msalt = master + 16;
    uint8_t base = rtcp ? 3 : 0;
    memset(k, 0, sizeof(*k));
    if (!kdf(mkey, msalt, salt_len, base + 0, k->enc_key, 16)) return 0;
    if (!kdf(mkey, msalt, salt_len, base + 2, k->salt, salt_len)) return 0;
    if (profile == TESSERA_SRTP_AES128_CM_SHA1_80) {
        if (!kdf(mkey, msalt, salt_len, base + 1, k->auth_key, 20)) return 0;
        if (!hmac_init(k)) return 0;
        k->ctr = EVP_CIPHER_CTX_new();
        if (!k->ctr || !EVP_EncryptInit_ex(k->ctr, EVP_aes_128_ctr(), NULL, k->enc_key, NULL)) return 0;
    } else {
        k->gcm = EVP_CIPHER_CTX_new();
        if (!k->gcm || !EVP_CipherInit_ex(k->gcm, EVP_aes_128_gcm(), NULL, NULL, NULL, 1)) return 0;
        if (!EVP_CIPHER_CTX_ctrl(k->gcm, EVP_CTRL_GCM_SET_IVLEN, 12, NULL)) return 0;
        if (!EVP_CipherInit_ex(k->gcm, NULL, NULL, k->enc_key, NULL, 1)) return 0;
    }
    return 1;
}

static void keys_free(keys *k) {
    EVP_CIPHER_CTX_free(k->ctr);
    EVP_CIPHER_CTX_free(k->gcm);
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    EVP_MD_CTX_free(k->work);
    memset(k, 0, sizeof(*k));
}

tessera_srtp *tessera_srtp_create(int profile, const uint8_t *local, int local_len, const uint8_t *remote, int remote_len) {
    if (profile != TESSERA_SRTP_AES128_CM_SHA1_80 && profile != TESSERA_SRTP_AEAD_AES128_GCM) return NULL;
    tessera_srtp *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->profile = profile;
    if (!keys_init(&s->out.rtp, profile, local, local_len, 0) || !keys_init(&s->out.rtcp, profile, local, local_len, 1) ||
        !keys_init(&s->in.rtp, profile, remote, remote_len, 0) || !keys_init(&s->in.rtcp, profile, remote, remote_len, 1)) {
        tessera_srtp_free(s);
        return NULL;
    }
    return s;
}

void tessera_srtp_free(tessera_srtp *s) {
    if (!s) return;
    keys_free(&s->out.rtp);
    keys_free(&s->out.rtcp);
    keys_free(&s->in.rtp);
    keys_free(&s->in.rtcp);
    free(s);
}

// --- Helpers ---

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

static stream *find(direction *d, uint32_t ssrc) {
    stream *free_slot = NULL;
    for (int i = 0; i < MAX_STREAMS; i++) {
        if (d->streams[i].used && d->streams[i].ssrc == ssrc) return &d->streams[i];
        if (!d->streams[i].used && !free_slot) free_slot = &d->streams[i];
    }
    if (!free_slot) {
        // Full (a peer cycling SSRCs): forget the oldest slot's state.
        free_slot = &d->streams[ssrc % MAX_STREAMS];
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    free_slot->ssrc = ssrc;
    return free_slot;
}

/// Length of the RTP header (fixed part, CSRCs, extension), or -1.
static int rtp_header_len(const uint8_t *buf, int len) {
    if (len < 12 || (buf[0] >> 6) != 2) return -1;
    int n = 12 + 4 * (buf[0] & 0x0F);
    if (buf[0] & 0x10) {
        if (n + 4 > len) return -1;
        n += 4 + 4 * ((buf[n + 2] << 8) | buf[n + 3]);
    }
    return n <= len ? n : -1;
}

/// The packet index for `seq` given the stream's state (RFC 3711 Appendix A); *v gets the ROC guess.
static uint64_t estimate(const stream *st, uint16_t seq, uint32_t *v) {
    if (!st->rtp_seen) { *v = 0; return seq; }
    uint32_t roc = st->roc;
    if (st->s_l < 32768) {
        *v = (seq > st->s_l && seq - st->s_l > 32768) ? roc - 1 : roc;
    } else {
        *v = (st->s_l - 32768 > seq) ? roc + 1 : roc;
    }
    return ((uint64_t)*v << 16) | seq;
}

static void advance(stream *st, uint16_t seq, uint32_t v) {
    if (!st->rtp_seen) { st->rtp_seen = 1; st->roc = v; st->s_l = seq; return; }
    if (v == st->roc + 1 || (v == st->roc && seq > st->s_l)) { st->roc = v; st->s_l = seq; }
}

/// Replay window: 0 when `index` is new and recent enough.
static int replay_check(const uint64_t *window, uint64_t top, int seen, uint64_t index) {
    if (!seen || index > top) return 0;
    uint64_t age = top - index;
    if (age >= WINDOW_BITS) return -1;
    return (window[age / 64] >> (age % 64)) & 1 ? -1 : 0;
}

static void replay_add(uint64_t *window, uint64_t *top, int *seen, uint64_t index) {
    if (!*seen) {
        memset(window, 0, sizeof(uint64_t) * WINDOW_WORDS);
        *top = index;
        *seen = 1;
        window[0] = 1;
        return;
    }
    if (index > *top) {
        uint64_t shift = index - *top;
        if (shift >= WINDOW_BITS) {
            memset(window, 0, sizeof(uint64_t) * WINDOW_WORDS);
        } else {
            // Shift the bitmap left by `shift` bits (bit k -> bit k + shift).
            uint64_t words = shift / 64, bits = shift % 64;
            for (int i = WINDOW_WORDS - 1; i >= 0; i--) {
                uint64_t v = 0;
                if ((uint64_t)i >= words) {
                    v = window[i - words] << bits;
                    if (bits && (uint64_t)i >= words + 1) v |= window[i - words - 1] >> (64 - bits);
                }
                window[i] = v;
            }
        }
        *top = index;
        window[0] |= 1;
    } else {
        uint64_t age = *top - index;
        if (age < WINDOW_BITS) window[age / 64] |= (uint64_t)1 << (age % 64);
    }
}

static int ctr_crypt(keys *k, const uint8_t iv[16], uint8_t *data, int len) {
    int n = 0;
    if (len == 0) return 1;
    if (!EVP_EncryptInit_ex(k->ctr, NULL, NULL, NULL, iv)) return 0;
    return EVP_EncryptUpdate(k->ctr, data, &n, data, len);
}

/// AES-GCM in place: encrypt (tag written to `tag`) or decrypt (tag checked).
static int gcm(keys *k, int encrypt, const uint8_t iv[12], const uint8_t *aad1, int aad1_len, const uint8_t *aad2, int aad2_len,
               uint8_t *data, int len, uint8_t tag[16]) {
    int n = 0;
    if (!EVP_CipherInit_ex(k->gcm, NULL, NULL, NULL, iv, encrypt)) return 0;
    if (!encrypt && !EVP_CIPHER_CTX_ctrl(k->gcm, EVP_CTRL_GCM_SET_TAG, 16, tag)) return 0;
    if (aad1_len && !EVP_CipherUpdate(k->gcm, NULL, &n, aad1, aad1_len)) return 0;
    if (aad2_len && !EVP_CipherUpdate(k->gcm, NULL, &n, aad2, aad2_len)) return 0;
    if (len && !EVP_CipherUpdate(k->gcm, data, &n, data, len)) return 0;
    if (EVP_CipherFinal_ex(k->gcm, data + len, &n) <= 0) return 0;
    if (encrypt && !EVP_CIPHER_CTX_ctrl(k->gcm, EVP_CTRL_GCM_GET_TAG, 16, tag)) return 0;
    return 1;
}

static void rtp_ctr_iv(const keys *k, uint32_t ssrc, uint64_t index, uint8_t iv[16]) {
    memcpy(iv, k->salt, 14);
    iv[14] = iv[15] = 0;
    iv[4] ^= (uint8_t)(ssrc >> 24); iv[5] ^= (uint8_t)(ssrc >> 16); iv[6] ^= (uint8_t)(ssrc >> 8); iv[7] ^= (uint8_t)ssrc;
    for (int i = 0; i < 6; i++) iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

static void rtp_gcm_iv(const keys *k, uint32_t ssrc, uint32_t roc, uint16_t seq, uint8_t iv[12]) {
    uint8_t x[12] = {0, 0};
    wr32(x + 2, ssrc);
    wr32(x + 6, roc);
    x[10] = (uint8_t)(seq >> 8); x[11] = (uint8_t)seq;
    for (int i = 0; i < 12; i++) iv[i] = x[i] ^ k->salt[i];
}

static void rtcp_ctr_iv(const keys *k, uint32_t ssrc, uint32_t index, uint8_t iv[16]) {
    rtp_ctr_iv(k, ssrc, index, iv);
}

static void rtcp_gcm_iv(const keys *k, uint32_t ssrc, uint32_t index, uint8_t iv[12]) {
    uint8_t x[12] = {0, 0};
    wr32(x + 2, ssrc);
    x[6] = x[7] = 0;
    wr32(x + 8, index & 0x7FFFFFFF);
    for (int i = 0; i < 12; i++) iv[i] = x[i] ^ k->salt[i];
}

// --- RTP ---

int tessera_srtp_protect_rtp(tessera_srtp *s, uint8_t *buf, int len, int capacity) {
    int h = rtp_header_len(buf, len);
    if (h < 0) return -1;
    uint32_t ssrc = rd32(buf + 8);
    uint16_t seq = (uint16_t)((buf[2] << 8) | buf[3]);
    stream *st = find(&s->out, ssrc);
    uint32_t v;
    uint64_t index = estimate(st, seq, &v);
    advance(st, seq, v);
    keys *k = &s->out.rtp;
    if (s->profile == TESSERA_SRTP_AES128_CM_SHA1_80) {
        if (len + 10 > capacity) return -1;
        uint8_t iv[16], roc[4], tag[20];
        rtp_ctr_iv(k, ssrc, index, iv);
        if (!ctr_crypt(k, iv, buf + h, len - h)) return -1;
        wr32(roc, v);
        if (!hmac(k, buf, (size_t)len, roc, 4, tag)) return -1;
        memcpy(buf + len, tag, 10);
        return len + 10;
    }
    if (len + 16 > capacity) return -1;
    uint8_t iv[12];
    rtp_gcm_iv(k, ssrc, v, seq, iv);
    if (!gcm(k, 1, iv, buf, h, NULL, 0, buf + h, len - h, buf + len)) return -1;
    return len + 16;
}

int tessera_srtp_unprotect_rtp(tessera_srtp *s, uint8_t *buf, int len) {
    int tag_len = s->profile == TESSERA_SRTP_AES128_CM_SHA1_80 ? 10 : 16;
    if (len < 12 + tag_len) return -1;
    int h = rtp_header_len(buf, len - tag_len);
    if (h < 0) return -1;
    uint32_t ssrc = rd32(buf + 8);
    uint16_t seq = (uint16_t)((buf[2] << 8) | buf[3]);
    stream *st = find(&s->in, ssrc);
    uint32_t v;
    uint64_t index = estimate(st, seq, &v);
    if (replay_check(st->window, st->top, st->rtp_seen, index) != 0) return -1;
    keys *k = &s->in.rtp;
    int body = len - tag_len;
    if (s->profile == TESSERA_SRTP_AES128_CM_SHA1_80) {
        uint8_t roc[4], tag[20];
        wr32(roc, v);
        if (!hmac(k, buf, (size_t)body, roc, 4, tag)) return -1;
        if (CRYPTO_memcmp(tag, buf + body, 10) != 0) return -1;
        uint8_t iv[16];
        rtp_ctr_iv(k, ssrc, index, iv);
        if (!ctr_crypt(k, iv, buf + h, body - h)) return -1;
    } else {
        uint8_t iv[12];
        rtp_gcm_iv(k, ssrc, v, seq, iv);
        if (!gcm(k, 0, iv, buf, h, NULL, 0, buf + h, body - h, buf + body)) return -1;
    }
    int seen = st->rtp_seen;
    replay_add(st->window, &st->top, &seen, index);
    advance(st, seq, v);
    return body;
}

// --- RTCP (SRTCP: always encrypted, E bit set) ---

int tessera_srtp_protect_rtcp(tessera_srtp *s, uint8_t *buf, int len, int capacity) {
    if (len < 8 || (buf[0] >> 6) != 2) return -1;
    uint32_t ssrc = rd32(buf + 4);
    stream *st = find(&s->out, ssrc);
    uint32_t index = st->rtcp_next & 0x7FFFFFFF;
    st->rtcp_next = (st->rtcp_next + 1) & 0x7FFFFFFF;
    uint8_t eindex[4];
    wr32(eindex, 0x80000000u | index);
    keys *k = &s->out.rtcp;
    if (s->profile == TESSERA_SRTP_AES128_CM_SHA1_80) {
        if (len + 14 > capacity) return -1;
        uint8_t iv[16], tag[20];
        rtcp_ctr_iv(k, ssrc, index, iv);
        if (!ctr_crypt(k, iv, buf + 8, len - 8)) return -1;
        memcpy(buf + len, eindex, 4);
        if (!hmac(k, buf, (size_t)len + 4, NULL, 0, tag)) return -1;
        memcpy(buf + len + 4, tag, 10);
        return len + 14;
    }
    if (len + 20 > capacity) return -1;
    uint8_t iv[12];
    rtcp_gcm_iv(k, ssrc, index, iv);
    if (!gcm(k, 1, iv, buf, 8, eindex, 4, buf + 8, len - 8, buf + len)) return -1;
    memcpy(buf + len + 16, eindex, 4);
    return len + 20;
}

int tessera_srtp_unprotect_rtcp(tessera_srtp *s, uint8_t *buf, int len) {
    int gcm_mode = s->profile == TESSERA_SRTP_AEAD_AES128_GCM;
    int trailer = gcm_mode ? 20 : 14;
    if (len < 8 + trailer || (buf[0] >> 6) != 2) return -1;
    uint32_t ssrc = rd32(buf + 4);
    const uint8_t *eword = gcm_mode ? buf + len - 4 : buf + len - 14;
    uint32_t ew = rd32(eword);
    uint32_t index = ew & 0x7FFFFFFF;
    int encrypted = (ew >> 31) & 1;
    stream *st = find(&s->in, ssrc);
    if (replay_check(st->rtcp_window, st->rtcp_top, st->rtcp_seen, index) != 0) return -1;
    keys *k = &s->in.rtcp;
    int body;
    if (!gcm_mode) {
        body = len - 14;
        uint8_t tag[20];
        if (!hmac(k, buf, (size_t)body + 4, NULL, 0, tag)) return -1;
        if (CRYPTO_memcmp(tag, buf + body + 4, 10) != 0) return -1;
        if (encrypted) {
            uint8_t iv[16];
            rtcp_ctr_iv(k, ssrc, index, iv);
            if (!ctr_crypt(k, iv, buf + 8, body - 8)) return -1;
        }
    } else {
        body = len - 20;
        uint8_t iv[12], ecopy[4];
        memcpy(ecopy, eword, 4);
        rtcp_gcm_iv(k, ssrc, index, iv);
        if (encrypted) {
            if (!gcm(k, 0, iv, buf, 8, ecopy, 4, buf + 8, body - 8, buf + body)) return -1;
        } else {
            // Unencrypted SRTCP under GCM: the whole packet is AAD (RFC 7714 §9.2).
            if (!gcm(k, 0, iv, buf, body, ecopy, 4, NULL, 0, buf + body)) return -1;
        }
    }
    uint64_t top = st->rtcp_top;
    replay_add(st->rtcp_window, &top, &st->rtcp_seen, index);
    st->rtcp_top = (uint32_t)top;
    return body;
}
