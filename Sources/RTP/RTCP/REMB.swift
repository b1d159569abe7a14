// Receiver Estimated Maximum Bitrate (REMB): an application layer
// feedback message (PSFB, FMT=15) carrying the receiver's bandwidth estimate.
//
// draft-alvestrand-rmcat-remb-03 §2.2,
// https://datatracker.ietf.org/doc/html/draft-alvestrand-rmcat-remb-03#section-2.2
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P| FMT=15  |   PT=206      |             length            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of packet sender                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of media source (always 0)              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Unique identifier 'R' 'E' 'M' 'B'                            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Num SSRC     | BR Exp    |  BR Mantissa                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   SSRC feedback                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  ...                                                          |
//
// Bitrate (bits/s) = mantissa (18 bits) << exponent (6 bits). The listed
// SSRCs are the streams the estimate applies to.

public struct REMB: RTCPMessage, Hashable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    /// Estimated maximum bitrate in bits per second. Encoding keeps 18
    /// significant bits, rounding down so a sender is never told more than
    /// the estimate.
    public var bitrate: UInt64
    public var ssrcs: [UInt32]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, bitrate: UInt64, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.bitrate = bitrate
        self.ssrcs = ssrcs
    }

    /// "REMB" in ASCII.
    public static let identifier: UInt32 = 0x5245_4D42
    static let fixedLength = 20

    /// Splits a bitrate into the 6-bit exponent and 18-bit mantissa, with
    /// the smallest exponent that makes the mantissa fit (dropping low bits).
    @inlinable
    public static func encode(bitrate: UInt64) -> (exponent: UInt8, mantissa: UInt32) {
        var exponent: UInt8 = 0
        var mantissa = bitrate
        while mantissa > 0x3_FFFF {
            mantissa >>= 1
            exponent += 1
        }
        return (exponent, UInt32(mantissa))
    }

    /// Rebuilds the bitrate. Exponents past what 64 bits can hold (only a
    /// broken or hostile peer sends them) saturate instead of overflowing.
    @inlinable
    public static func decode(exponent: UInt8, mantissa: UInt32) -> UInt64 {
        let mantissa = UInt64(mantissa & 0x3_FFFF)
        let exponent = UInt64(exponent & 0x3F)
        if mantissa == 0 { return 0 }
        // 18-bit mantissa: a shift of more than 46 may push bits out.
        if exponent > UInt64(mantissa.leadingZeroBitCount) { return .max }
        return mantissa &<< exponent
    }

    /// True when `packet` is a PSFB application-layer message whose FCI
    /// starts with "REMB"; other AFB messages share FMT 15.
    public static func matches(_ packet: Span<UInt8>) -> Bool {
        packet.count >= 16 && packet[1] == RTCPPacketType.payloadFeedback
            && packet[0] & 0x1F == RTCPFeedbackFormat.applicationLayer && packet.be32(12) == identifier
    }

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> REMB {
        let bounds = try RTCPPacketBounds.open(
            packet, type: RTCPPacketType.payloadFeedback, format: RTCPFeedbackFormat.applicationLayer)
        guard bounds.end >= fixedLength, packet.be32(12) == identifier else { throw .malformed }
        let count = Int(packet[16])
        guard fixedLength + 4 * count <= bounds.end else { throw .malformed }
        let field = packet.be24(17)
        let bitrate = decode(exponent: UInt8(field >> 18), mantissa: field & 0x3_FFFF)
        var ssrcs: [UInt32] = []
        ssrcs.reserveCapacity(count)
        for i in 0..<count { ssrcs.append(packet.be32(fixedLength + 4 * i)) }
        return REMB(senderSSRC: packet.be32(4), mediaSSRC: packet.be32(8), bitrate: bitrate, ssrcs: ssrcs)
    }

    /// Appends the REMB; at most 255 SSRCs fit the count field.
    public func serialize(into buffer: inout [UInt8]) {
        let listed = ssrcs.prefix(255)
        let start = beginPacket(
            count: RTCPFeedbackFormat.applicationLayer, type: RTCPPacketType.payloadFeedback, into: &buffer)
        buffer.appendBE32(senderSSRC)
        buffer.appendBE32(mediaSSRC)
        buffer.appendBE32(Self.identifier)
        let (exponent, mantissa) = Self.encode(bitrate: bitrate)
        buffer.append(UInt8(listed.count))
        buffer.appendBE24(UInt32(exponent) << 18 | mantissa)
        for ssrc in listed { buffer.appendBE32(ssrc) }
        finishPacket(startingAt: start, in: &buffer)
    }
}
