public import COpenSSL
import Foundation

public enum DTLSRole: Sendable { case client, server }

/// Kurento's `DtlsConnectionState` names.
public enum DTLSState: String, Sendable {
    case new = "NEW", connecting = "CONNECTING", connected = "CONNECTED", failed = "FAILED", closed = "CLOSED"
}

/// RFC 5764 §4.1.2 protection profiles we negotiate.
public enum SRTPProfile: Sendable, Equatable, CaseIterable {
    case aes128CmSha1_80
    case aeadAes128Gcm
    /// SDES only (RFC 4568, RFC 6188): 32-bit RTP tags, 256-bit keys.
    case aes128CmSha1_32
    case aes256CmSha1_80
    case aes256CmSha1_32

    public var keyLength: Int {
        switch self {
        case .aes256CmSha1_80, .aes256CmSha1_32: 32
        default: 16
        }
    }
    public var saltLength: Int { self == .aeadAes128Gcm ? 12 : 14 }

    /// The SDES suite name (SDP) of the AES-CM profiles.
    public init?(sdesSuite: String) {
        switch sdesSuite.uppercased() {
        case "AES_CM_128_HMAC_SHA1_80": self = .aes128CmSha1_80
        case "AES_CM_128_HMAC_SHA1_32": self = .aes128CmSha1_32
        case "AES_256_CM_HMAC_SHA1_80": self = .aes256CmSha1_80
        case "AES_256_CM_HMAC_SHA1_32": self = .aes256CmSha1_32
        default: return nil
        }
    }
}

/// Keys exported from the handshake (RFC 5764 §4.2), already split into
/// what we protect with (local) and what we unprotect with (remote).
public struct SRTPKeys: Sendable, Equatable {
    public var profile: SRTPProfile
    public var localKeyAndSalt: [UInt8]
    public var remoteKeyAndSalt: [UInt8]

    public init(profile: SRTPProfile, localKeyAndSalt: [UInt8], remoteKeyAndSalt: [UInt8]) {
        self.profile = profile
        self.localKeyAndSalt = localKeyAndSalt
        self.remoteKeyAndSalt = remoteKeyAndSalt
    }
}

/// One DTLS 1.2 association driven through memory BIOs: datagrams in,
/// datagrams out through `send`, retransmission on the loop's timers. Not
/// Sendable: lives on its media loop.
public final class DTLSSession {
    private let ssl: OpaquePointer  // SSL*
    private let readBIO: OpaquePointer  // BIO*, owned by ssl
    private let writeBIO: OpaquePointer
    private let loop: MediaLoop
    private let role: DTLSRole
    private let remoteFingerprints: [(algorithm: String, value: String)]
    private let send: (UnsafeRawBufferPointer) -> Void
    private var timer: LoopTimer?
    /// Largest datagram we emit; records are packed up to this size.
    private let mtu = 1200

    public private(set) var state: DTLSState = .new
    public var onStateChange: ((DTLSState) -> Void)?
    public var onKeys: ((SRTPKeys) -> Void)?
    /// Application data records from the peer (SCTP packets of WebRTC data channels, RFC 8261).
    public var onApplicationData: ((UnsafeRawBufferPointer) -> Void)?
    /// Why the session failed, for the Error event.
    public private(set) var failure: String?

    public init(
        certificate: DTLSCertificate, role: DTLSRole, remoteFingerprints: [(algorithm: String, value: String)],
        loop: MediaLoop, send: @escaping (UnsafeRawBufferPointer) -> Void
    ) throws(DTLSError) {
        guard let ssl = SSL_new(certificate.context) else { throw .openSSL("SSL_new") }
        guard let r = BIO_new(BIO_s_mem()), let w = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .openSSL("BIO_new")
        }
        // An empty memory BIO means "nothing yet", not end of stream.
        _ = tessera_bio_set_mem_eof_return(r, -1)
        _ = tessera_bio_set_mem_eof_return(w, -1)
        SSL_set_bio(ssl, r, w)
        _ = tessera_ssl_set_mtu(ssl, mtu)
        if role == .client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
        self.ssl = ssl
        self.readBIO = r
        self.writeBIO = w
        self.loop = loop
        self.role = role
        self.remoteFingerprints = remoteFingerprints
        self.send = send
    }

    deinit {
        timer?.cancel()
        SSL_free(ssl)  // frees both BIOs
    }

    /// Starts the handshake; a client sends its ClientHello now.
    public func start() {
        guard state == .new else { return }
        setState(.connecting)
        if role == .client { step() }
    }

    /// One datagram from the peer (first byte 20..63, RFC 7983).
    public func receive(_ datagram: UnsafeRawBufferPointer) {
        guard state == .connecting || state == .connected || state == .new, let base = datagram.baseAddress else { return }
        if state == .new { setState(.connecting) }
        BIO_write(readBIO, base, Int32(datagram.count))
        step()
    }

    /// Sends one application data record (an SCTP packet); false before the
    /// handshake is done or when OpenSSL refuses it (larger than a record).
    @discardableResult
    public func sendApplicationData(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state == .connected, let base = bytes.baseAddress, !bytes.isEmpty else { return false }
        let n = SSL_write(ssl, base, Int32(bytes.count))
        flush()
        return n == Int32(bytes.count)
    }

    public func close() {
        guard state != .closed else { return }
        timer?.cancel()
        timer = nil
        if state == .connected {
            SSL_shutdown(ssl)
            flush()
        }
        setState(.closed)
    }

    private func step() {
        if state == .connecting {
            let r = SSL_do_handshake(ssl)
            if r == 1 {
                flush()
                handshakeDone()
            } else {
                let err = SSL_get_error(ssl, r)
                if err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE {
                    fail(DTLSError.openSSL("handshake").description)
                    return
                }
                flush()
                scheduleTimer()
            }
        } else if state == .connected {
            // Application data (SCTP, RFC 8261) to whoever takes it; alerts and close_notify drained.
            var scratch = [UInt8](repeating: 0, count: 16_384)
            while true {
                let n = SSL_read(ssl, &scratch, Int32(scratch.count))
                guard n > 0 else { break }
                scratch.withUnsafeBytes { onApplicationData?(UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)])) }
            }
            if SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN != 0 { setState(.closed) }
            flush()
        }
    }

    private func handshakeDone() {
        timer?.cancel()
        timer = nil
        guard let peer = SSL_get1_peer_certificate(ssl) else { return fail("peer sent no certificate") }
        defer { X509_free(peer) }
        // RFC 8122 §5: the certificate must match a fingerprint from the SDP.
        let matched = remoteFingerprints.contains { fp in
            (try? DTLSCertificate.fingerprint(of: peer, algorithm: fp.algorithm))?.caseInsensitiveCompare(fp.value) == .orderedSame
        }
        guard matched else { return fail("DTLS certificate does not match the SDP fingerprint") }
        guard let profile = SSL_get_selected_srtp_profile(ssl) else { return fail("no SRTP profile negotiated") }
        let p: SRTPProfile
        switch profile.pointee.id {
        case UInt(SRTP_AES128_CM_SHA1_80): p = .aes128CmSha1_80
        case UInt(SRTP_AEAD_AES_128_GCM): p = .aeadAes128Gcm
        default: return fail("unsupported SRTP profile \(profile.pointee.id)")
        }
        // RFC 5764 §4.2: client key | server key | client salt | server salt.
        let k = p.keyLength, s = p.saltLength
        var material = [UInt8](repeating: 0, count: 2 * (k + s))
        let label = "EXTRACTOR-dtls_srtp"
        guard SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1 else {
            return fail("keying material export failed")
        }
        let clientKey = Array(material[0..<k]) + material[(2 * k)..<(2 * k + s)]
        let serverKey = Array(material[k..<(2 * k)]) + material[(2 * k + s)..<(2 * k + 2 * s)]
        let keys = role == .client
            ? SRTPKeys(profile: p, localKeyAndSalt: clientKey, remoteKeyAndSalt: serverKey)
            : SRTPKeys(profile: p, localKeyAndSalt: serverKey, remoteKeyAndSalt: clientKey)
        // Keys first: whoever hears "connected" can protect media at once.
        onKeys?(keys)
        setState(.connected)
    }

    private func fail(_ why: String) {
        failure = why
        timer?.cancel()
        timer = nil
        flush()
        setState(.failed)
    }

    private func setState(_ s: DTLSState) {
        guard s != state else { return }
        state = s
        onStateChange?(s)
    }

    /// Sends what OpenSSL wrote, packing whole records into datagrams of at most `mtu` bytes.
    private func flush() {
        let pending = Int(BIO_ctrl_pending(writeBIO))
        guard pending > 0 else { return }
        var out = [UInt8](repeating: 0, count: pending)
        let n = Int(BIO_read(writeBIO, &out, Int32(pending)))
        guard n > 0 else { return }
        var start = 0, end = 0
        while end < n {
            // DTLS record header: type(1) version(2) epoch(2) seq(6) length(2) (RFC 6347 §4.1).
            guard end + 13 <= n else { end = n; break }
            let recordLength = 13 + (Int(out[end + 11]) << 8 | Int(out[end + 12]))
            if end > start, end + recordLength - start > mtu {
                out.withUnsafeBytes { send(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                start = end
            }
            end = min(n, end + recordLength)
        }
        if end > start { out.withUnsafeBytes { send(UnsafeRawBufferPointer(rebasing: $0[start..<end])) } }
    }

    /// RFC 6347 §4.2.4: flights are retransmitted on OpenSSL's timer.
    private func scheduleTimer() {
        var tv = timeval()
        guard tessera_dtls_get_timeout(ssl, &tv) == 1 else { return }
        let delay = Duration.seconds(tv.tv_sec) + .microseconds(tv.tv_usec)
        timer?.cancel()
        timer = LoopTimer(loop: loop, after: delay) { [weak self] in
            guard let self, self.state == .connecting else { return }
            if tessera_dtls_handle_timeout(self.ssl) < 0 {
                self.fail("DTLS handshake timed out")
                return
            }
            self.flush()
            self.scheduleTimer()
        }
    }
}
