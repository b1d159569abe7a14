// STUN messages as ICE uses them (RFC 8489, RFC 8445 §7): the header, the
// attributes an ICE-lite responder reads (USERNAME, PRIORITY, USE-CANDIDATE,
// ICE-CONTROLLING/-CONTROLLED) and writes (XOR-MAPPED-ADDRESS, ERROR-CODE),
// MESSAGE-INTEGRITY (HMAC-SHA1 with the short-term password) and FINGERPRINT.
//
// Sans-IO: bytes in, values out. The HMAC is the caller's (Transport has
// OpenSSL); CRC-32 is here.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |0 0|     STUN Message Type     |         Message Length        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Magic Cookie                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     Transaction ID (96 bits)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// https://www.rfc-editor.org/rfc/rfc8489#section-5

public struct STUNError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A parsed STUN message. Attribute values are slices of the original bytes.
public struct STUNMessage: Sendable {
    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerLength = 20

    public enum MessageType: UInt16, Sendable {
        case bindingRequest = 0x0001
        case bindingIndication = 0x0011
        case bindingSuccess = 0x0101
        case bindingError = 0x0111
    }

    public enum Attribute: UInt16, Sendable {
        case mappedAddress = 0x0001
        case username = 0x0006
        case messageIntegrity = 0x0008
        case errorCode = 0x0009
        case unknownAttributes = 0x000A
        case xorMappedAddress = 0x0020
        case priority = 0x0024
        case useCandidate = 0x0025
        case software = 0x8022
        case fingerprint = 0x8028
        case iceControlled = 0x8029
        case iceControlling = 0x802A
    }

    /// The raw 14-bit type (class and method).
    public var type: UInt16
    public var transactionID: [UInt8]
    /// In wire order; duplicates kept (the first one counts).
    public var attributes: [(type: UInt16, value: ArraySlice<UInt8>)]
    /// Offset of the MESSAGE-INTEGRITY attribute's header, when present.
    public var integrityOffset: Int?
    /// Offset of the FINGERPRINT attribute's header, when present.
    public var fingerprintOffset: Int?

    public var messageType: MessageType? { MessageType(rawValue: type) }

    /// Parses one datagram. Attributes after MESSAGE-INTEGRITY other than
    /// FINGERPRINT are ignored (RFC 8489 §14.5), as is anything after
    /// FINGERPRINT.
    public static func parse(_ bytes: [UInt8]) throws(STUNError) -> STUNMessage {
        guard bytes.count >= headerLength else { throw STUNError("shorter than a STUN header") }
        guard bytes[0] & 0xC0 == 0 else { throw STUNError("first two bits are not zero") }
        let type = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let length = Int(UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        guard length % 4 == 0 else { throw STUNError("length \(length) is not a multiple of 4") }
        guard headerLength + length == bytes.count else {
            throw STUNError("length \(length) does not match the datagram (\(bytes.count - headerLength) bytes after the header)")
        }
        guard readUInt32(bytes, 4) == magicCookie else { throw STUNError("no magic cookie") }
        var message = STUNMessage(type: type, transactionID: Array(bytes[8..<20]), attributes: [])
        var offset = headerLength
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { throw STUNError("truncated attribute header") }
            let attrType = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let attrLength = Int(UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3]))
            let valueStart = offset + 4
            guard valueStart + attrLength <= bytes.count else { throw STUNError("attribute 0x\(String(attrType, radix: 16)) overruns the message") }
            let value = bytes[valueStart..<(valueStart + attrLength)]
            if message.fingerprintOffset != nil { break }
            if attrType == Attribute.fingerprint.rawValue {
                guard attrLength == 4 else { throw STUNError("FINGERPRINT is not 4 bytes") }
                message.fingerprintOffset = offset
            } else if attrType == Attribute.messageIntegrity.rawValue {
                guard attrLength == 20 else { throw STUNError("MESSAGE-INTEGRITY is not 20 bytes") }
                if message.integrityOffset == nil { message.integrityOffset = offset }
            } else if message.integrityOffset != nil {
                // After MESSAGE-INTEGRITY only FINGERPRINT counts.
            } else {
                message.attributes.append((attrType, value))
            }
            offset = valueStart + (attrLength + 3) & ~3
        }
        return message
    }

    public func value(_ attribute: Attribute) -> ArraySlice<UInt8>? {
        attributes.first { $0.type == attribute.rawValue }?.value
    }

    public var username: String? { value(.username).map { String(decoding: $0, as: UTF8.self) } }
    public var useCandidate: Bool { value(.useCandidate) != nil }
    public var priority: UInt32? {
        guard let v = value(.priority), v.count == 4 else { return nil }
        return STUNMessage.readUInt32(Array(v), 0)
    }
    /// The sender's tie-breaker when it claims the controlling role.
    public var iceControlling: UInt64? { tieBreaker(.iceControlling) }
    public var iceControlled: UInt64? { tieBreaker(.iceControlled) }

    private func tieBreaker(_ a: Attribute) -> UInt64? {
        guard let v = value(a), v.count == 8 else { return nil }
        let b = Array(v)
        return UInt64(STUNMessage.readUInt32(b, 0)) << 32 | UInt64(STUNMessage.readUInt32(b, 4))
    }

    /// Comprehension-required attributes (type < 0x8000) this parser does not
    /// know: a request carrying one gets a 420 answer (RFC 8489 §6.3.1).
    public var unknownRequiredAttributes: [UInt16] {
        attributes.compactMap { $0.type < 0x8000 && Attribute(rawValue: $0.type) == nil ? $0.type : nil }
    }

    /// Whether FINGERPRINT is present and matches (`bytes` is what was parsed).
    public func fingerprintMatches(_ bytes: [UInt8]) -> Bool {
        guard let at = fingerprintOffset, at + 8 <= bytes.count else { return false }
        let expected = STUNMessage.readUInt32(bytes, at + 4)
        return STUNMessage.fingerprint(of: bytes[0..<at], lengthUpTo: at + 8) == expected
    }

    /// What MESSAGE-INTEGRITY covers: the message up to that attribute, with
    /// the header's length counting up to the end of it (RFC 8489 §14.5).
    /// nil when the message has none.
    public func integrityInput(_ bytes: [UInt8]) -> (covered: [UInt8], mac: ArraySlice<UInt8>)? {
        guard let at = integrityOffset, at + 24 <= bytes.count else { return nil }
        var covered = Array(bytes[0..<at])
        let length = at + 24 - STUNMessage.headerLength
        covered[2] = UInt8(truncatingIfNeeded: length >> 8)
        covered[3] = UInt8(truncatingIfNeeded: length)
        return (covered, bytes[(at + 4)..<(at + 24)])
    }

    // MARK: Helpers

    static func readUInt32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// CRC-32 of the message so far with the header's length set to end at
    /// `lengthUpTo`, XORed with 0x5354554e (RFC 8489 §14.7).
    static func fingerprint(of prefix: ArraySlice<UInt8>, lengthUpTo end: Int) -> UInt32 {
        var head = Array(prefix.prefix(4))
        let length = end - headerLength
        head[2] = UInt8(truncatingIfNeeded: length >> 8)
        head[3] = UInt8(truncatingIfNeeded: length)
        var crc = CRC32()
        crc.update(head[...])
        crc.update(prefix.dropFirst(4))
        return crc.value ^ 0x5354_554E
    }
}

/// Builds a STUN message attribute by attribute; `finish` adds
/// MESSAGE-INTEGRITY (with the caller's HMAC-SHA1) and FINGERPRINT.
public struct STUNMessageBuilder: Sendable {
    public private(set) var bytes: [UInt8]

    public init(type: STUNMessage.MessageType, transactionID: [UInt8]) {
        precondition(transactionID.count == 12, "a transaction id is 12 bytes")
        bytes = [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 0, 0x21, 0x12, 0xA4, 0x42]
        bytes.reserveCapacity(96)
        bytes.append(contentsOf: transactionID)
    }

    public mutating func append(_ attribute: STUNMessage.Attribute, _ value: [UInt8]) {
        append(type: attribute.rawValue, value)
    }

    public mutating func append(type: UInt16, _ value: [UInt8]) {
        bytes.append(UInt8(type >> 8))
        bytes.append(UInt8(type & 0xFF))
        bytes.append(UInt8(truncatingIfNeeded: value.count >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value.count))
        bytes.append(contentsOf: value)
        while bytes.count % 4 != 0 { bytes.append(0) }
        setLength(bytes.count)
    }

    /// XOR-MAPPED-ADDRESS of an IPv4 address (4 bytes, network order) and port.
    public mutating func appendXorMappedAddress(ipv4: [UInt8], port: UInt16) {
        precondition(ipv4.count == 4, "an IPv4 address is 4 bytes")
        let xport = port ^ 0x2112
        let cookie: [UInt8] = [0x21, 0x12, 0xA4, 0x42]
        append(.xorMappedAddress, [0, 0x01, UInt8(xport >> 8), UInt8(xport & 0xFF)] + (0..<4).map { ipv4[$0] ^ cookie[$0] })
    }

    /// ERROR-CODE (RFC 8489 §14.8): class and number from `code`, with a reason phrase.
    public mutating func appendErrorCode(_ code: Int, reason: String) {
        append(.errorCode, [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(reason.utf8))
    }

    /// Adds MESSAGE-INTEGRITY when `hmacSHA1` is given (it receives the
    /// covered bytes and returns the 20-byte MAC) and then FINGERPRINT.
    public mutating func finish(hmacSHA1: (([UInt8]) -> [UInt8])? = nil) -> [UInt8] {
        if let hmacSHA1 {
            setLength(bytes.count + 24)
            let mac = hmacSHA1(bytes)
            precondition(mac.count == 20, "HMAC-SHA1 is 20 bytes")
            bytes += [0x00, 0x08, 0x00, 20] + mac
        }
        let end = bytes.count + 8
        let crc = STUNMessage.fingerprint(of: bytes[...], lengthUpTo: end)
        bytes += [0x80, 0x28, 0x00, 0x04, UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        setLength(bytes.count)
        return bytes
    }

    private mutating func setLength(_ total: Int) {
        let length = total - STUNMessage.headerLength
        bytes[2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: length)
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as FINGERPRINT uses.
public struct CRC32: Sendable {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    private var crc: UInt32 = 0xFFFF_FFFF
    public init() {}
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        for b in bytes { crc = CRC32.table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    }
    public var value: UInt32 { crc ^ 0xFFFF_FFFF }
}
