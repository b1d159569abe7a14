// Full Intra Request (FIR): payload-specific feedback commanding a
// decoder refresh point, with a sequence number so retries are idempotent.
//
// RFC 5104 §4.3.1, https://www.rfc-editor.org/rfc/rfc5104#section-4.3.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|  FMT=4  |    PT=206     |          length               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of packet sender                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |             SSRC of media source (unused, SHALL be 0)         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                              SSRC                             |  FCI entry,
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  one per
// | Seq nr.       |    Reserved                                   |  target
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The target SSRC lives in each entry, not in the media source field, so
// one FIR can address several senders.

public struct FullIntraRequest: RTCPMessage, Hashable {
    public struct Entry: Sendable, Equatable, Hashable {
        public var ssrc: UInt32
        /// Incremented by the requester for each new request (RFC 5104 §4.3.1.1).
        public var sequenceNumber: UInt8

        public init(ssrc: UInt32, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }

    public var senderSSRC: UInt32
    /// Kept as received; RFC 5104 says it SHALL be 0, libwebrtc sends 0.
    public var mediaSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }

    static let fixedLength = 12

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> FullIntraRequest {
        let bounds = try RTCPPacketBounds.open(
            packet, type: RTCPPacketType.payloadFeedback, format: RTCPFeedbackFormat.fullIntraRequest)
        let fciLength = bounds.end - fixedLength
        guard fciLength >= 8, fciLength % 8 == 0 else { throw .malformed }
        var entries: [Entry] = []
        entries.reserveCapacity(fciLength / 8)
        var offset = fixedLength
        while offset < bounds.end {
            entries.append(Entry(ssrc: packet.be32(offset), sequenceNumber: packet[offset + 4]))
            offset += 8
        }
        return FullIntraRequest(senderSSRC: packet.be32(4), mediaSSRC: packet.be32(8), entries: entries)
    }

    public func serialize(into buffer: inout [UInt8]) {
        let start = beginPacket(
            count: RTCPFeedbackFormat.fullIntraRequest, type: RTCPPacketType.payloadFeedback, into: &buffer)
        buffer.appendBE32(senderSSRC)
        buffer.appendBE32(mediaSSRC)
        for entry in entries {
            buffer.appendBE32(entry.ssrc)
            buffer.append(entry.sequenceNumber)
            buffer.appendBE24(0)  // reserved
        }
        finishPacket(startingAt: start, in: &buffer)
    }
}
