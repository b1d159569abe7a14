// The common header every RTCP packet starts with.
//
// RFC 3550 §6.4.1, https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
// RFC 4585 §6.1 (feedback packets), https://www.rfc-editor.org/rfc/rfc4585#section-6.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|  count  |      PT       |             length            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// `count` is the report count (SR/RR), source count (SDES/BYE) or feedback
// message type FMT (RTPFB/PSFB). `length` is the packet length in 32-bit
// words minus one, header included, padding included. With P=1 the last
// byte of the packet counts the padding bytes, itself included.
//
// Feedback messages (RFC 4585 §6.1) continue with two SSRCs, then the FCI:
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|   FMT   |       PT      |          length               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of packet sender                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of media source                         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// :            Feedback Control Information (FCI)                 :

/// RTCP packet type numbers (RFC 3550 §12.1, RFC 4585 §6.1).
public enum RTCPPacketType {
    public static let senderReport: UInt8 = 200
    public static let receiverReport: UInt8 = 201
    public static let sourceDescription: UInt8 = 202
    public static let goodbye: UInt8 = 203
    public static let application: UInt8 = 204
    /// Transport layer feedback (NACK, transport-cc).
    public static let transportFeedback: UInt8 = 205
    /// Payload-specific feedback (PLI, FIR, REMB).
    public static let payloadFeedback: UInt8 = 206
}

/// FMT values of the feedback messages this module understands.
public enum RTCPFeedbackFormat {
    /// RTPFB: Generic NACK (RFC 4585 §6.2.1).
    public static let genericNACK: UInt8 = 1
    /// RTPFB: transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
    public static let transportCC: UInt8 = 15
    /// PSFB: Picture Loss Indication (RFC 4585 §6.3.1).
    public static let pictureLoss: UInt8 = 1
    /// PSFB: Full Intra Request (RFC 5104 §4.3.1).
    public static let fullIntraRequest: UInt8 = 4
    /// PSFB: application layer feedback, used by REMB (draft-alvestrand-rmcat-remb-03).
    public static let applicationLayer: UInt8 = 15
}

/// The decoded common header.
public struct RTCPHeader: Sendable, Equatable, Hashable {
    public var hasPadding: Bool
    /// RC, SC or FMT, depending on the packet type (5 bits).
    public var count: UInt8
    public var packetType: UInt8
    /// The raw length field: 32-bit words minus one.
    public var length: UInt16

    public static let size = 4

    public init(hasPadding: Bool = false, count: UInt8, packetType: UInt8, length: UInt16) {
        self.hasPadding = hasPadding
        self.count = count
        self.packetType = packetType
        self.length = length
    }

    /// Whole packet length in bytes, header and padding included.
    public var packetLength: Int { (Int(length) + 1) * 4 }

    /// Decodes the 4 header bytes and checks the version and that the
    /// announced length fits in `bytes`.
    public static func parse(_ bytes: Span<UInt8>) throws(RTCPError) -> RTCPHeader {
        guard bytes.count >= size else { throw .truncated }
        let b0 = bytes[0]
        let version = b0 &>> 6
        guard version == 2 else { throw .badVersion(version) }
        let header = RTCPHeader(
            hasPadding: b0 & 0x20 != 0, count: b0 & 0x1F, packetType: bytes[1], length: bytes.be16(2))
        guard header.packetLength <= bytes.count else { throw .truncated }
        return header
    }

    /// Appends the header; `length` must already be right.
    public func write(into buffer: inout [UInt8]) {
        buffer.append(0x80 | (hasPadding ? 0x20 : 0) | (count & 0x1F))
        buffer.append(packetType)
        buffer.appendBE16(length)
    }
}

/// What every message parser first needs: the header, checked to be of the
/// expected type, and where the content ends once padding is removed.
struct RTCPPacketBounds {
    var header: RTCPHeader
    /// Offset one past the last content byte (padding excluded).
    var end: Int

    /// Opens the first packet in `bytes`; `format` nil accepts any count.
    static func open(_ bytes: Span<UInt8>, type: UInt8, format: UInt8? = nil) throws(RTCPError) -> Self {
        let header = try RTCPHeader.parse(bytes)
        guard header.packetType == type, format == nil || format == header.count else {
            throw .wrongType(packetType: header.packetType, format: header.count)
        }
        var end = header.packetLength
        if header.hasPadding {
            let padding = Int(bytes[end - 1])
            guard padding > 0, padding <= end - RTCPHeader.size else { throw .badPadding }
            end -= padding
        }
        return RTCPPacketBounds(header: header, end: end)
    }
}

/// Starts a packet in `buffer` with a placeholder length; `finishPacket`
/// pads the body to a word and patches the length once the body is written.
/// This keeps each serializer from computing its size twice.
func beginPacket(count: UInt8, type: UInt8, into buffer: inout [UInt8]) -> Int {
    let start = buffer.count
    RTCPHeader(count: count, packetType: type, length: 0).write(into: &buffer)
    return start
}

func finishPacket(startingAt start: Int, in buffer: inout [UInt8]) {
    buffer.padToWord(from: start)
    let words = (buffer.count - start) / 4 - 1
    buffer.putBE16(UInt16(clamping: words), at: start + 2)
}

/// A message with its own parse and serialize, so generic helpers (array and
/// unsafe buffer entry points, round trips in tests) work for every type.
public protocol RTCPMessage: Sendable, Equatable {
    /// Parses the first RTCP packet in `packet` (trailing bytes are ignored).
    static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> Self
    /// Appends the packet, header and word padding included.
    func serialize(into buffer: inout [UInt8])
}

extension RTCPMessage {
    public static func parse(_ packet: [UInt8]) throws(RTCPError) -> Self {
        try parse(packet.span)
    }

    public static func parse(_ packet: UnsafeRawBufferPointer) throws(RTCPError) -> Self {
        try unsafe withByteSpan(packet) { (span) throws(RTCPError) -> Self in try parse(span) }
    }

    /// The serialized packet in a new array.
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        serialize(into: &buffer)
        return buffer
    }
}
