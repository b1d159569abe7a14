import Testing
import STUN

@Suite struct STUNMessageTests {
    /// A binding request written by aioice 0.13 (an independent STUN
    /// implementation): USERNAME "srvUfrag:peer", PRIORITY, ICE-CONTROLLING,
    /// USE-CANDIDATE, MESSAGE-INTEGRITY keyed with "serverPasswordServerPass",
    /// FINGERPRINT.
    static let aioiceRequest = hex(
        "0001004c2112a4420102030405060708090a0b0c0006000d73727655667261673a70656572000000002400046e7f00ff"
            + "802a0008010203040506070800250000000800141d148dcd02d51d3e3f9cd2979a5787769f74bc5b80280004287f1dbb")

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func parsesAnICECheckFromAnotherImplementation() throws {
        let bytes = Self.aioiceRequest
        let m = try STUNMessage.parse(bytes)
        #expect(m.messageType == .bindingRequest)
        #expect(m.transactionID == Array(1...12))
        #expect(m.username == "srvUfrag:peer")
        #expect(m.priority == 1_853_817_087)
        #expect(m.iceControlling == 0x0102_0304_0506_0708)
        #expect(m.iceControlled == nil)
        #expect(m.useCandidate)
        #expect(m.fingerprintMatches(bytes))
        #expect(m.unknownRequiredAttributes.isEmpty)
        let (covered, mac) = try #require(m.integrityInput(bytes))
        // The MAC itself is checked with OpenSSL in TransportTests; here the covered bytes:
        // everything before MESSAGE-INTEGRITY, the length counting up to its end.
        #expect(covered.count == 20 + (4 + 13 + 3) + 8 + 12 + 4)  // header, USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE
        #expect(Int(covered[2]) << 8 | Int(covered[3]) == covered.count - 20 + 24)
        #expect(mac.count == 20)
    }

    @Test func aFlippedBitBreaksTheFingerprint() throws {
        var bytes = Self.aioiceRequest
        bytes[30] ^= 0x01
        let m = try STUNMessage.parse(bytes)
        #expect(!m.fingerprintMatches(bytes))
    }

    @Test func builderOutputParsesBackWithAValidFingerprint() throws {
        var b = STUNMessageBuilder(type: .bindingSuccess, transactionID: Array(repeating: 7, count: 12))
        b.appendXorMappedAddress(ipv4: [127, 0, 0, 1], port: 5000)
        let bytes = b.finish { _ in Array(repeating: 0xAB, count: 20) }
        let m = try STUNMessage.parse(bytes)
        #expect(m.messageType == .bindingSuccess)
        #expect(m.fingerprintMatches(bytes))
        #expect(m.integrityOffset == bytes.count - 32)
        let xma = try #require(m.value(.xorMappedAddress))
        let v = Array(xma)
        #expect(v[1] == 1)
        #expect((UInt16(v[2]) << 8 | UInt16(v[3])) ^ 0x2112 == 5000)
        #expect(v[4] ^ 0x21 == 127 && v[5] ^ 0x12 == 0 && v[6] ^ 0xA4 == 0 && v[7] ^ 0x42 == 1)
        // 20 header + 12 XOR-MAPPED-ADDRESS + 24 MESSAGE-INTEGRITY + 8 FINGERPRINT
        #expect(bytes.count == 64)
    }

    @Test func errorResponsesCarryClassAndNumber() throws {
        var b = STUNMessageBuilder(type: .bindingError, transactionID: Array(repeating: 1, count: 12))
        b.appendErrorCode(401, reason: "Unauthorized")
        let bytes = b.finish()
        let m = try STUNMessage.parse(bytes)
        let v = Array(try #require(m.value(.errorCode)))
        #expect(v[2] == 4 && v[3] == 1)
        #expect(String(decoding: v[4...], as: UTF8.self) == "Unauthorized")
        #expect(m.integrityOffset == nil && m.fingerprintMatches(bytes))
    }

    @Test func malformedInputIsRejectedNotTrapped() {
        let good = Self.aioiceRequest
        #expect(throws: STUNError.self) { try STUNMessage.parse(Array(good.prefix(19))) }
        var badCookie = good
        badCookie[4] = 0
        #expect(throws: STUNError.self) { try STUNMessage.parse(badCookie) }
        var badLength = good
        badLength[3] = 0x50
        #expect(throws: STUNError.self) { try STUNMessage.parse(badLength) }
        var overrun = good
        overrun[22] = 0x7F  // USERNAME claims more bytes than the message has
        #expect(throws: STUNError.self) { try STUNMessage.parse(overrun) }
        // Every truncation and every single-byte change either parses or throws.
        for n in 0..<good.count { _ = try? STUNMessage.parse(Array(good.prefix(n))) }
        for i in good.indices {
            for v: UInt8 in [0, 0xFF, 0x80, 0x03] {
                var m = good
                m[i] = v
                if let parsed = try? STUNMessage.parse(m) {
                    _ = parsed.fingerprintMatches(m)
                    _ = parsed.integrityInput(m)
                    _ = parsed.username
                }
            }
        }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        var c = CRC32()
        c.update(Array("123456789".utf8)[...])
        #expect(c.value == 0xCBF4_3926)
    }
}
