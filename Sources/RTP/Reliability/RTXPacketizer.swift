// RTP retransmission payload format: wrapping a stored packet for
// retransmission on the RTX stream, and unwrapping it on receipt.
//
// RFC 4588 §4, https://www.rfc-editor.org/rfc/rfc4588#section-4
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         RTP Header                            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |            OSN                |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
// |                  Original RTP Packet Payload                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The RTX packet keeps the original timestamp, marker, CSRCs and header
// extensions, but uses the RTX payload type (bound to the original one by
// a=fmtp:<rtx> apt=<original>), the RTX SSRC and the RTX stream's own
// sequence numbers; the original sequence number (OSN) leads the payload.
// Padding is dropped on both sides: it belongs to one transmission, and it
// would otherwise sit between the OSN and the end of the packet.

public struct RTXPacketizer: Sendable, Equatable {
    /// Payload type of the RTX stream.
    public var payloadType: UInt8
    /// SSRC of the RTX stream.
    public var ssrc: UInt32
    /// Sequence number the next wrapped packet gets.
    public var nextSequenceNumber: UInt16

    public init(payloadType: UInt8, ssrc: UInt32, initialSequenceNumber: UInt16) {
        self.payloadType = payloadType
        self.ssrc = ssrc
        self.nextSequenceNumber = initialSequenceNumber
    }

    /// Appends the RTX version of `original` and advances the RTX sequence.
    public mutating func wrap(_ original: Span<UInt8>, into buffer: inout [UInt8]) throws(RTPError) {
        try Self.wrap(
            original, payloadType: payloadType, ssrc: ssrc, sequenceNumber: nextSequenceNumber, into: &buffer)
        nextSequenceNumber &+= 1
    }

    public mutating func wrap(_ original: [UInt8], into buffer: inout [UInt8]) throws(RTPError) {
        try wrap(original.span, into: &buffer)
    }

    /// Appends `packet`'s header with PT, sequence number and SSRC replaced
    /// and the P bit cleared; the caller adds the payload.
    private static func appendHeader(
        of packet: Span<UInt8>, header: RTPHeader, payloadType: UInt8, sequenceNumber: UInt16, ssrc: UInt32,
        into buffer: inout [UInt8]
    ) {
        buffer.append(packet[0] & ~0x20)
        buffer.append(packet[1] & 0x80 | payloadType)
        buffer.appendBE16(sequenceNumber)
        buffer.append(packet, 4..<8)  // timestamp, unchanged
        buffer.appendBE32(ssrc)
        buffer.append(packet, RTPHeader.fixedHeaderLength..<header.headerLength)  // CSRCs, extensions
    }

    /// Appends an RTX packet carrying `original` (RFC 4588 §4).
    public static func wrap(
        _ original: Span<UInt8>, payloadType: UInt8, ssrc: UInt32, sequenceNumber: UInt16,
        into buffer: inout [UInt8]
    ) throws(RTPError) {
        guard payloadType < 128 else { throw .invalidField }
        let header = try RTPHeader.parse(original)
        appendHeader(
            of: original, header: header, payloadType: payloadType, sequenceNumber: sequenceNumber, ssrc: ssrc,
            into: &buffer)
        buffer.appendBE16(header.sequenceNumber)
        buffer.append(original, header.payloadRange)
    }

    public static func wrap(
        _ original: [UInt8], payloadType: UInt8, ssrc: UInt32, sequenceNumber: UInt16, into buffer: inout [UInt8]
    ) throws(RTPError) {
        try wrap(original.span, payloadType: payloadType, ssrc: ssrc, sequenceNumber: sequenceNumber, into: &buffer)
    }

    /// The original sequence number an RTX packet carries, without copying.
    public static func originalSequenceNumber(of rtx: Span<UInt8>) throws(RTPError) -> UInt16 {
        let header = try RTPHeader.parse(rtx)
        guard header.payloadLength >= 2 else { throw .payloadTooShort }
        return rtx.be16(header.payloadOffset)
    }

    /// Appends the original packet rebuilt from an RTX packet: OSN as the
    /// sequence number, the original payload type and SSRC (known from the
    /// SDP's apt= and ssrc-group:FID). Padding-only RTX packets (bandwidth
    /// probes) have no OSN and throw `payloadTooShort`.
    public static func unwrap(
        _ rtx: Span<UInt8>, originalPayloadType: UInt8, originalSSRC: UInt32, into buffer: inout [UInt8]
    ) throws(RTPError) {
        guard originalPayloadType < 128 else { throw .invalidField }
        let header = try RTPHeader.parse(rtx)
        guard header.payloadLength >= 2 else { throw .payloadTooShort }
        let originalSequence = rtx.be16(header.payloadOffset)
        appendHeader(
            of: rtx, header: header, payloadType: originalPayloadType, sequenceNumber: originalSequence,
            ssrc: originalSSRC, into: &buffer)
        buffer.append(rtx, (header.payloadOffset + 2)..<header.payloadRange.upperBound)
    }

    public static func unwrap(
        _ rtx: [UInt8], originalPayloadType: UInt8, originalSSRC: UInt32, into buffer: inout [UInt8]
    ) throws(RTPError) {
        try unwrap(rtx.span, originalPayloadType: originalPayloadType, originalSSRC: originalSSRC, into: &buffer)
    }
}
