public import CSRTP
import CSRTPCore
import Foundation

public struct SRTPError: Error, CustomStringConvertible {
    public var status: UInt32
    public var description: String { "libsrtp error \(status)" }
    public init(status: UInt32) { self.status = status }
}

/// SRTP for one peer: what we send is protected with the local keys, what we
/// receive unprotected with the remote ones. The two DTLS-SRTP profiles
/// (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM) run on CSRTPCore (libcrypto);
/// the others, and every profile when `TESSERA_SRTP_ENGINE=libsrtp2`, on
/// libsrtp2 (Debian builds it on NSS, which is several times slower per
/// packet). Not Sendable: lives on its media loop (neither engine locks).
public final class SRTPSession {
    private var outbound: srtp_t?
    private var inbound: srtp_t?
    private var core: OpaquePointer?  // tessera_srtp*

    /// libsrtp's global init, once per process.
    static let initialized: Bool = srtp_init() == srtp_err_status_ok

    /// Which engine the two WebRTC profiles use: "core" (default) or "libsrtp2".
    public static let engine: String = ProcessInfo.processInfo.environment["TESSERA_SRTP_ENGINE"] == "libsrtp2" ? "libsrtp2" : "core"

    public init(keys: SRTPKeys) throws(SRTPError) {
        if Self.engine == "core", let profile = Self.coreProfile(keys.profile) {
            let made = keys.localKeyAndSalt.withUnsafeBufferPointer { l in
                keys.remoteKeyAndSalt.withUnsafeBufferPointer { r in
                    tessera_srtp_create(profile, l.baseAddress, Int32(l.count), r.baseAddress, Int32(r.count))
                }
            }
            guard let made else { throw SRTPError(status: 2) }
            core = made
            return
        }
        guard Self.initialized else { throw SRTPError(status: 1) }
        outbound = try Self.make(keys.profile, key: keys.localKeyAndSalt, type: ssrc_any_outbound)
        inbound = try Self.make(keys.profile, key: keys.remoteKeyAndSalt, type: ssrc_any_inbound)
    }

    /// Forces libsrtp2 whatever the profile (tests compare the two engines).
    public init(libsrtpKeys keys: SRTPKeys) throws(SRTPError) {
        guard Self.initialized else { throw SRTPError(status: 1) }
        outbound = try Self.make(keys.profile, key: keys.localKeyAndSalt, type: ssrc_any_outbound)
        inbound = try Self.make(keys.profile, key: keys.remoteKeyAndSalt, type: ssrc_any_inbound)
    }

    private static func coreProfile(_ p: SRTPProfile) -> Int32? {
        switch p {
        case .aes128CmSha1_80: Int32(TESSERA_SRTP_AES128_CM_SHA1_80)
        case .aeadAes128Gcm: Int32(TESSERA_SRTP_AEAD_AES128_GCM)
        default: nil
        }
    }

    deinit {
        if let o = outbound { srtp_dealloc(o) }
        if let i = inbound { srtp_dealloc(i) }
        if let c = core { tessera_srtp_free(c) }
    }

    private static func make(_ profile: SRTPProfile, key: [UInt8], type: srtp_ssrc_type_t) throws(SRTPError) -> srtp_t {
        var policy = srtp_policy_t()
        switch profile {
        case .aes128CmSha1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        // The _32 suites shorten the RTP tag only; SRTCP keeps 80 bits (RFC 4568 §6.2).
        case .aes128CmSha1_32:
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aes256CmSha1_80:
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtp)
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtcp)
        case .aes256CmSha1_32:
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&policy.rtp)
            srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtcp)
        }
        policy.ssrc.type = type
        // Large enough for reordering and NACK-driven retransmissions.
        policy.window_size = 1024
        // We resend packets with their original sequence number to answer NACKs.
        policy.allow_repeat_tx = 1
        var session: srtp_t?
        var keyCopy = key
        let status = keyCopy.withUnsafeMutableBufferPointer { buf -> srtp_err_status_t in
            policy.key = buf.baseAddress
            return srtp_create(&session, &policy)
        }
        guard status == srtp_err_status_ok, let session else { throw SRTPError(status: status.rawValue) }
        return session
    }

    /// Room `protect` needs after the packet.
    public static let maxTrailer = Int(SRTP_MAX_TRAILER_LEN)

    /// Protects an RTP packet in place; `buffer` must have `maxTrailer` spare
    /// bytes after `length`. Returns the new length, or nil on failure.
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int? {
        if let core {
            guard let base = buffer.baseAddress, length + Self.maxTrailer <= buffer.count else { return nil }
            let n = tessera_srtp_protect_rtp(core, base.assumingMemoryBound(to: UInt8.self), Int32(length), Int32(buffer.count))
            return n < 0 ? nil : Int(n)
        }
        guard let outbound, let base = buffer.baseAddress, length + Self.maxTrailer <= buffer.count else { return nil }
        var len = Int32(length)
        return srtp_protect(outbound, base, &len) == srtp_err_status_ok ? Int(len) : nil
    }

    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int? {
        if let core {
            guard let base = buffer.baseAddress, length + Self.maxTrailer + 4 <= buffer.count else { return nil }
            let n = tessera_srtp_protect_rtcp(core, base.assumingMemoryBound(to: UInt8.self), Int32(length), Int32(buffer.count))
            return n < 0 ? nil : Int(n)
        }
        guard let outbound, let base = buffer.baseAddress, length + Self.maxTrailer + 4 <= buffer.count else { return nil }
        var len = Int32(length)
        return srtp_protect_rtcp(outbound, base, &len) == srtp_err_status_ok ? Int(len) : nil
    }

    /// Unprotects in place; returns the plain length, or nil (bad tag, replay, garbage).
    public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer) -> Int? {
        if let core {
            guard let base = buffer.baseAddress else { return nil }
            let n = tessera_srtp_unprotect_rtp(core, base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
            return n < 0 ? nil : Int(n)
        }
        guard let inbound, let base = buffer.baseAddress else { return nil }
        var len = Int32(buffer.count)
        return srtp_unprotect(inbound, base, &len) == srtp_err_status_ok ? Int(len) : nil
    }

    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer) -> Int? {
        if let core {
            guard let base = buffer.baseAddress else { return nil }
            let n = tessera_srtp_unprotect_rtcp(core, base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
            return n < 0 ? nil : Int(n)
        }
        guard let inbound, let base = buffer.baseAddress else { return nil }
        var len = Int32(buffer.count)
        return srtp_unprotect_rtcp(inbound, base, &len) == srtp_err_status_ok ? Int(len) : nil
    }
}
