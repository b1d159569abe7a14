// Picture Loss Indication (PLI): payload-specific feedback asking the
// sender for a new keyframe.
//
// RFC 4585 §6.3.1, https://www.rfc-editor.org/rfc/rfc4585#section-6.3.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|  FMT=1  |    PT=206     |          length=2             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of packet sender                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of media source                         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// PLI has no FCI. Anything after the two SSRCs is ignored rather than
// rejected: a keyframe request is too valuable to drop over trailing bytes.

public struct PictureLossIndication: RTCPMessage, Hashable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32

    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }

    public static let length = 12

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> PictureLossIndication {
        let bounds = try RTCPPacketBounds.open(
            packet, type: RTCPPacketType.payloadFeedback, format: RTCPFeedbackFormat.pictureLoss)
        guard bounds.end >= length else { throw .malformed }
        return PictureLossIndication(senderSSRC: packet.be32(4), mediaSSRC: packet.be32(8))
    }

    public func serialize(into buffer: inout [UInt8]) {
        RTCPHeader(count: RTCPFeedbackFormat.pictureLoss, packetType: RTCPPacketType.payloadFeedback, length: 2)
            .write(into: &buffer)
        buffer.appendBE32(senderSSRC)
        buffer.appendBE32(mediaSSRC)
    }
}
