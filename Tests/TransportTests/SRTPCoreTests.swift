import Testing
import Transport

/// CSRTPCore (libcrypto) against libsrtp2 (an independent implementation): what
/// one protects the other unprotects, for both WebRTC profiles, RTP and RTCP,
/// across a sequence-number rollover, with replays and tampering refused.
@Suite struct SRTPCoreTests {
    static func keys(_ profile: SRTPProfile, swap: Bool = false) -> SRTPKeys {
        let saltLength = profile == .aeadAes128Gcm ? 12 : 14
        let a = (0..<(16 + saltLength)).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }
        let b = (0..<(16 + saltLength)).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }
        return swap ? SRTPKeys(profile: profile, localKeyAndSalt: b, remoteKeyAndSalt: a)
            : SRTPKeys(profile: profile, localKeyAndSalt: a, remoteKeyAndSalt: b)
    }

    /// RTP with a CSRC and a one-byte header extension, then `payload` bytes.
    static func rtp(seq: UInt16, ssrc: UInt32 = 0x1234_5678, payload: Int = 160) -> [UInt8] {
        var p: [UInt8] = [0x91, 0x6F, UInt8(seq >> 8), UInt8(seq & 0xFF), 0, 0, 0x10, 0,
                          UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xFF), UInt8((ssrc >> 8) & 0xFF), UInt8(ssrc & 0xFF),
                          0xCA, 0xFE, 0xBA, 0xBE,              // CSRC
                          0xBE, 0xDE, 0x00, 0x01, 0x10, 0x7F, 0, 0]  // extension: one element
        p += (0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seq)) }
        return p
    }

    static func protect(_ s: SRTPSession, _ plain: [UInt8], rtcp: Bool = false) throws -> [UInt8] {
        var b = plain + [UInt8](repeating: 0, count: SRTPSession.maxTrailer + 4)
        let n = try #require(b.withUnsafeMutableBytes { rtcp ? s.protectRTCP($0, length: plain.count) : s.protectRTP($0, length: plain.count) })
        return Array(b.prefix(n))
    }

    static func unprotect(_ s: SRTPSession, _ wire: [UInt8], rtcp: Bool = false) -> [UInt8]? {
        var b = wire
        guard let n = b.withUnsafeMutableBytes({ rtcp ? s.unprotectRTCP($0) : s.unprotectRTP($0) }) else { return nil }
        return Array(b.prefix(n))
    }

    @Test(arguments: [SRTPProfile.aes128CmSha1_80, .aeadAes128Gcm])
    func interoperatesWithLibsrtpBothWays(profile: SRTPProfile) throws {
        let core = try SRTPSession(keys: Self.keys(profile))
        let peer = try SRTPSession(libsrtpKeys: Self.keys(profile, swap: true))
        // Across the 16-bit rollover: the ROC must advance on both sides.
        var seq: UInt16 = 65_530
        for i in 0..<20 {
            let plain = Self.rtp(seq: seq, payload: 40 + i * 7)
            let wire = try Self.protect(core, plain)
            #expect(wire.count > plain.count && wire != plain + Array(wire.suffix(wire.count - plain.count)))
            #expect(Self.unprotect(peer, wire) == plain, "core -> libsrtp2, seq \(seq)")
            let back = try Self.protect(peer, plain)
            #expect(Self.unprotect(core, back) == plain, "libsrtp2 -> core, seq \(seq)")
            seq &+= 1
        }
        // RTCP both ways (a receiver report with one block).
        let report: [UInt8] = [0x81, 0xC9, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78] + (0..<24).map { UInt8($0) }
        for _ in 0..<3 {
            let wire = try Self.protect(core, report, rtcp: true)
            #expect(Self.unprotect(peer, wire, rtcp: true) == report)
            let back = try Self.protect(peer, report, rtcp: true)
            #expect(Self.unprotect(core, back, rtcp: true) == report)
        }
    }

    @Test(arguments: [SRTPProfile.aes128CmSha1_80, .aeadAes128Gcm])
    func replaysTamperingAndTheWrongKeyAreRefused(profile: SRTPProfile) throws {
        let sender = try SRTPSession(libsrtpKeys: Self.keys(profile, swap: true))
        let core = try SRTPSession(keys: Self.keys(profile))
        let stranger = try SRTPSession(keys: Self.keys(profile, swap: true))
        let wire = try Self.protect(sender, Self.rtp(seq: 100))
        var flipped = wire
        flipped[30] ^= 0x01
        #expect(Self.unprotect(core, flipped) == nil)
        #expect(Self.unprotect(stranger, wire) == nil)
        #expect(Self.unprotect(core, wire) != nil)
        #expect(Self.unprotect(core, wire) == nil, "a replay")
        // Out of order within the window is fine; far behind it is not.
        let tooOld = try Self.protect(sender, Self.rtp(seq: 200))  // protected now, delivered last
        let late = try Self.protect(sender, Self.rtp(seq: 1500))
        let later = try Self.protect(sender, Self.rtp(seq: 2000))
        #expect(Self.unprotect(core, later) != nil)
        #expect(Self.unprotect(core, late) != nil)
        #expect(Self.unprotect(core, tooOld) == nil)
        // Truncated and garbage input.
        #expect(Self.unprotect(core, Array(wire.prefix(11))) == nil)
        #expect(Self.unprotect(core, [0x80, 0x6F] + Array(repeating: 0, count: 40)) == nil)
        #expect(Self.unprotect(core, Array(repeating: 0x81, count: 30), rtcp: true) == nil)
    }
}
