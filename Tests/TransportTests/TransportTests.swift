import CSRTP
import Foundation
import Synchronization
import Testing
import Transport

/// DTLS between two of our own endpoints in memory, on a real media loop,
/// then SRTP with the exported keys; plus a libsrtp known-answer vector.
@Suite(.serialized) struct TransportTests {
    static let loop = MediaLoop(index: 99)

    /// Two sessions wired to each other through the loop; returns the final states and keys.
    func handshake(
        clientCert: DTLSCertificate, serverCert: DTLSCertificate, tamperFingerprint: Bool = false
    ) async -> (client: DTLSState, server: DTLSState, clientKeys: SRTPKeys?, serverKeys: SRTPKeys?) {
        let loop = Self.loop
        let result = Mutex<(DTLSState, DTLSState, SRTPKeys?, SRTPKeys?)>((.new, .new, nil, nil))
        let serverFP = tamperFingerprint ? String(serverCert.fingerprintSHA256.reversed()) : serverCert.fingerprintSHA256
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.post { () in
                final class Pair { var client: DTLSSession?; var server: DTLSSession? }
                let pair = Pair()
                var finished = false
                func check() {
                    guard !finished else { return }  // the outcome is kept; the pair may be gone
                    let states = (pair.client?.state ?? .new, pair.server?.state ?? .new)
                    result.withLock { $0.0 = states.0; $0.1 = states.1 }
                    let terminal: Set<DTLSState> = [.connected, .failed, .closed]
                    if !finished, terminal.contains(states.0), terminal.contains(states.1) || states.0 == .failed {
                        finished = true
                        // Keep the sessions alive until the loop is done with this turn, then
                        // break the cycle (each session's send closure holds the pair), so they
                        // are freed and their retransmission timers cancelled.
                        let keep = pair
                        loop.later {
                            keep.client = nil
                            keep.server = nil
                            done.resume()
                        }
                    }
                }
                pair.client = try! DTLSSession(
                    certificate: clientCert, role: .client, remoteFingerprints: [("sha-256", serverFP)], loop: loop
                ) { bytes in let copy = Array(bytes); loop.later { copy.withUnsafeBytes { pair.server?.receive($0) } } }
                pair.server = try! DTLSSession(
                    certificate: serverCert, role: .server,
                    remoteFingerprints: [("sha-512", "00"), ("sha-256", clientCert.fingerprintSHA256)], loop: loop
                ) { bytes in let copy = Array(bytes); loop.later { copy.withUnsafeBytes { pair.client?.receive($0) } } }
                pair.client?.onKeys = { k in result.withLock { $0.2 = k } }
                pair.server?.onKeys = { k in result.withLock { $0.3 = k } }
                pair.client?.onStateChange = { _ in check() }
                pair.server?.onStateChange = { _ in check() }
                pair.server?.start()
                pair.client?.start()
            }
        }
        let r = result.withLock { $0 }
        return (r.0, r.1, r.2, r.3)
    }

    @Test func handshakeExportsMatchingKeysAndSRTPWorks() async throws {
        let a = try DTLSCertificate(keyType: .ecdsa), b = try DTLSCertificate(keyType: .ecdsa)
        #expect(a.fingerprintSHA256.count == 95)  // 32 bytes as hex pairs with colons
        let r = await handshake(clientCert: a, serverCert: b)
        #expect(r.client == .connected)
        #expect(r.server == .connected)
        let ck = try #require(r.clientKeys), sk = try #require(r.serverKeys)
        #expect(ck.profile == .aeadAes128Gcm)
        #expect(ck.localKeyAndSalt == sk.remoteKeyAndSalt)
        #expect(ck.remoteKeyAndSalt == sk.localKeyAndSalt)

        let sender = try SRTPSession(keys: ck), receiver = try SRTPSession(keys: sk)
        var packet: [UInt8] = [0x80, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0xCA, 0xFE, 0xBA, 0xBE] + Array(repeating: 0x42, count: 100)
        let plain = packet
        packet += [UInt8](repeating: 0, count: SRTPSession.maxTrailer)
        let n = try #require(packet.withUnsafeMutableBytes { sender.protectRTP($0, length: plain.count) })
        #expect(n > plain.count)
        var wire = Array(packet.prefix(n))
        #expect(wire != plain)
        let m = try #require(wire.withUnsafeMutableBytes { receiver.unprotectRTP($0) })
        #expect(Array(wire.prefix(m)) == plain)
        // A tampered packet is refused.
        var bad = Array(packet.prefix(n))
        bad[20] ^= 1
        #expect(bad.withUnsafeMutableBytes { receiver.unprotectRTP($0) } == nil)
    }

    @Test func rsaServerWorksWithECDSAClient() async throws {
        let r = await handshake(clientCert: try DTLSCertificate(keyType: .ecdsa), serverCert: try DTLSCertificate(keyType: .rsa))
        #expect(r.client == .connected && r.server == .connected)
    }

    @Test func fingerprintMismatchFails() async throws {
        let r = await handshake(clientCert: try DTLSCertificate(), serverCert: try DTLSCertificate(), tamperFingerprint: true)
        #expect(r.client == .failed)
        #expect(r.clientKeys == nil)
    }

    /// libsrtp's AES-CM-128/HMAC-SHA1-80 reference vector (its srtp_driver
    /// test): key derivation (RFC 3711 §4.3) plus encryption and tag.
    /// The SDES suites (RFC 4568, RFC 6188): what one side protects, the other unprotects; a wrong key fails.
    @Test(arguments: [SRTPProfile.aes128CmSha1_80, .aes128CmSha1_32, .aes256CmSha1_80, .aes256CmSha1_32])
    func sdesProfilesRoundTrip(profile: SRTPProfile) throws {
        let a = (0..<(profile.keyLength + 14)).map { UInt8($0) }, b = a.map { $0 ^ 0x5A }
        let alice = try SRTPSession(keys: SRTPKeys(profile: profile, localKeyAndSalt: a, remoteKeyAndSalt: b))
        let bob = try SRTPSession(keys: SRTPKeys(profile: profile, localKeyAndSalt: b, remoteKeyAndSalt: a))
        let mallory = try SRTPSession(keys: SRTPKeys(profile: profile, localKeyAndSalt: b, remoteKeyAndSalt: b))
        let plain: [UInt8] = [0x80, 0x60, 0x00, 0x01, 0, 0, 0x03, 0xE8, 0x12, 0x34, 0x56, 0x78] + Array(repeating: 0x42, count: 100)
        var buffer = plain + [UInt8](repeating: 0, count: SRTPSession.maxTrailer)
        let n = try #require(buffer.withUnsafeMutableBytes { alice.protectRTP($0, length: plain.count) })
        let tag = profile == .aes128CmSha1_32 || profile == .aes256CmSha1_32 ? 4 : 10
        #expect(n == plain.count + tag)
        var forged = Array(buffer.prefix(n))
        #expect(forged.withUnsafeMutableBytes { mallory.unprotectRTP($0) } == nil)
        var wire = Array(buffer.prefix(n))
        let m = try #require(wire.withUnsafeMutableBytes { bob.unprotectRTP($0) })
        #expect(Array(wire.prefix(m)) == plain)
        // RTCP keeps the 80-bit tag in every suite (plus the 4-byte SRTCP index).
        let report: [UInt8] = [0x80, 0xC9, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78]
        var rtcp = report + [UInt8](repeating: 0, count: SRTPSession.maxTrailer + 4)
        let r = try #require(rtcp.withUnsafeMutableBytes { alice.protectRTCP($0, length: report.count) })
        #expect(r == report.count + 4 + 10)
        var rtcpWire = Array(rtcp.prefix(r))
        let back = try #require(rtcpWire.withUnsafeMutableBytes { bob.unprotectRTCP($0) })
        #expect(Array(rtcpWire.prefix(back)) == report)
    }

    @Test func srtpKnownAnswer() throws {
        let keyAndSalt: [UInt8] = [
            0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
            0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
        ]
        let session = try SRTPSession(keys: SRTPKeys(profile: .aes128CmSha1_80, localKeyAndSalt: keyAndSalt, remoteKeyAndSalt: keyAndSalt))
        let plain: [UInt8] = [0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe] + Array(repeating: 0xab, count: 16)
        let expected: [UInt8] = [
            0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0x4e, 0x55, 0xdc, 0x4c,
            0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc,
            0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
        ]
        var buffer = plain + [UInt8](repeating: 0, count: SRTPSession.maxTrailer)
        let n = try #require(buffer.withUnsafeMutableBytes { session.protectRTP($0, length: plain.count) })
        #expect(Array(buffer.prefix(n)) == expected)
        var wire = expected
        let m = try #require(wire.withUnsafeMutableBytes { session.unprotectRTP($0) })
        #expect(Array(wire.prefix(m)) == plain)
    }
}
