// Generic NACK: transport layer feedback asking for retransmissions.
//
// RFC 4585 §6.2.1, https://www.rfc-editor.org/rfc/rfc4585#section-6.2.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|  FMT=1  |    PT=205     |          length               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of packet sender                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  SSRC of media source                         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |            PID                |             BLP               |  FCI, one
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  or more
//
// PID is a lost sequence number; bit i of BLP (least significant first)
// reports PID+i+1 lost as well, so one item covers 17 packets.

public struct GenericNACK: RTCPMessage, Hashable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    /// Lost sequence numbers, in the order the items list them.
    public var lostSequenceNumbers: [UInt16]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lostSequenceNumbers: [UInt16]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.lostSequenceNumbers = lostSequenceNumbers
    }

    /// Common feedback header: RTCP header plus the two SSRCs.
    static let fixedLength = 12

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> GenericNACK {
        let bounds = try RTCPPacketBounds.open(
            packet, type: RTCPPacketType.transportFeedback, format: RTCPFeedbackFormat.genericNACK)
        let fciLength = bounds.end - fixedLength
        // RFC 4585 §6.2.1: at least one item, and items are whole words.
        guard fciLength >= 4, fciLength % 4 == 0 else { throw .malformed }
        var lost: [UInt16] = []
        lost.reserveCapacity(fciLength / 4 * 2)
        var offset = fixedLength
        while offset < bounds.end {
            let pid = packet.be16(offset)
            var blp = packet.be16(offset + 2)
            lost.append(pid)
            var bit: UInt16 = 1
            while blp != 0 {
                if blp & 1 != 0 { lost.append(pid &+ bit) }
                blp &>>= 1
                bit &+= 1
            }
            offset += 4
        }
        return GenericNACK(senderSSRC: packet.be32(4), mediaSSRC: packet.be32(8), lostSequenceNumbers: lost)
    }

    /// Packs sequence numbers into PID/BLP items. Each number either falls in
    /// the 16 after the current PID (and becomes a BLP bit) or starts a new
    /// item; so ascending input (in wrap-around order, as `NACKGenerator`
    /// produces) gives the fewest items, and any order is still correct.
    public static func items(for sequenceNumbers: [UInt16]) -> [(pid: UInt16, blp: UInt16)] {
        var items: [(pid: UInt16, blp: UInt16)] = []
        for seq in sequenceNumbers {
            if let last = items.last {
                let distance = seq &- last.pid
                if distance == 0 { continue }
                if distance <= 16 {
                    items[items.count - 1].blp |= 1 &<< (distance - 1)
                    continue
                }
            }
            items.append((seq, 0))
        }
        return items
    }

    public func serialize(into buffer: inout [UInt8]) {
        let start = beginPacket(
            count: RTCPFeedbackFormat.genericNACK, type: RTCPPacketType.transportFeedback, into: &buffer)
        buffer.appendBE32(senderSSRC)
        buffer.appendBE32(mediaSSRC)
        for item in Self.items(for: lostSequenceNumbers) {
            buffer.appendBE16(item.pid)
            buffer.appendBE16(item.blp)
        }
        finishPacket(startingAt: start, in: &buffer)
    }
}
