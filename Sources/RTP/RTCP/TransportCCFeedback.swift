// Transport-wide congestion control feedback (RTPFB, FMT=15): per-packet
// arrival times for every packet tagged with a transport-wide sequence
// number, the input of send-side bandwidth estimation (Google CC).
//
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1,
// https://datatracker.ietf.org/doc/html/draft-holmer-rmcat-transport-wide-cc-extensions-01#section-3.1
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|  FMT=15 |    PT=205     |           length              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     SSRC of packet sender                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                      SSRC of media source                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      base sequence number     |      packet status count      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                 reference time                | fb pkt. count |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |          packet chunk         |         packet chunk          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// .                                                               .
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         packet chunk          |  recv delta   |  recv delta   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// .                                                               .
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           recv delta          |  recv delta   | zero padding  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Reference time: signed 24 bits, in 64 ms units. Packet chunks (§3.1.2-4):
//
//   run length:    |0| S |        run length (13 bits)       |
//   1-bit vector:  |1|0|     14 symbols: 0 lost, 1 small delta   |
//   2-bit vector:  |1|1|            7 symbols of 2 bits          |
//
// Symbols: 00 not received, 01 received with a small delta (1 byte,
// unsigned), 10 received with a large or negative delta (2 bytes, signed),
// 11 reserved. Deltas are in 250 µs units, each relative to the previous
// received packet; the first is relative to the reference time.

public struct TransportCCFeedback: RTCPMessage, Hashable {
    /// The status symbol of one packet.
    public enum Status: UInt8, Sendable, Hashable {
        case notReceived = 0
        case smallDelta = 1
        case largeDelta = 2
    }

    /// What the feedback says about one transport-wide sequence number.
    public struct PacketResult: Sendable, Equatable, Hashable {
        public var sequenceNumber: UInt16
        public var status: Status
        /// Receive delta in microseconds (a multiple of 250 once on the wire),
        /// nil when the packet was not received.
        public var deltaMicroseconds: Int64?

        public var received: Bool { status != .notReceived }

        public init(sequenceNumber: UInt16, status: Status, deltaMicroseconds: Int64?) {
            self.sequenceNumber = sequenceNumber
            self.status = status
            self.deltaMicroseconds = deltaMicroseconds
        }

        /// A result whose symbol is chosen from the delta: lost when nil,
        /// small when 0...63.75 ms, large otherwise.
        public init(sequenceNumber: UInt16, deltaMicroseconds: Int64?) {
            let status: Status
            if let delta = deltaMicroseconds {
                status = (0...TransportCCFeedback.smallDeltaMaximum).contains(delta) ? .smallDelta : .largeDelta
            } else {
                status = .notReceived
            }
            self.init(sequenceNumber: sequenceNumber, status: status, deltaMicroseconds: deltaMicroseconds)
        }
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var baseSequenceNumber: UInt16
    /// Signed 24-bit value in 64 ms units.
    public var referenceTime: Int32
    /// Incremented by the receiver for each feedback it sends, so the sender
    /// can tell lost feedback from lost media.
    public var feedbackPacketCount: UInt8
    /// One entry per sequence number from `baseSequenceNumber`, in order.
    public var packets: [PacketResult]

    public static let deltaTickMicroseconds: Int64 = 250
    public static let referenceTimeTickMicroseconds: Int64 = 64_000
    static let smallDeltaMaximum: Int64 = 255 * deltaTickMicroseconds
    static let fixedLength = 20

    public init(
        senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32,
        feedbackPacketCount: UInt8, packets: [PacketResult]
    ) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequenceNumber = baseSequenceNumber
        self.referenceTime = referenceTime
        self.feedbackPacketCount = feedbackPacketCount
        self.packets = packets
    }

    public var packetStatusCount: Int { packets.count }

    /// Arrival time of each packet in microseconds on the receiver's clock
    /// (reference time plus the running sum of deltas); nil when lost.
    public func arrivalTimes() -> [(sequenceNumber: UInt16, microseconds: Int64?)] {
        var now = Int64(referenceTime) * Self.referenceTimeTickMicroseconds
        return packets.map { packet in
            guard let delta = packet.deltaMicroseconds else { return (packet.sequenceNumber, nil) }
            now += delta
            return (packet.sequenceNumber, now)
        }
    }

    // MARK: Parsing

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> TransportCCFeedback {
        let bounds = try RTCPPacketBounds.open(
            packet, type: RTCPPacketType.transportFeedback, format: RTCPFeedbackFormat.transportCC)
        let end = bounds.end
        guard end >= fixedLength else { throw .malformed }
        let base = packet.be16(12)
        let statusCount = Int(packet.be16(14))
        let reference = Int32(bitPattern: packet.be24(16) &<< 8) >> 8  // sign-extend 24 bits

        // Status chunks until every announced packet has a symbol.
        var symbols: [UInt8] = []
        symbols.reserveCapacity(statusCount)
        var offset = fixedLength
        while symbols.count < statusCount {
            guard offset + 2 <= end else { throw .malformed }
            let chunk = packet.be16(offset)
            offset += 2
            let remaining = statusCount - symbols.count
            if chunk & 0x8000 == 0 {
                let symbol = UInt8(truncatingIfNeeded: chunk &>> 13) & 0x03
                let run = min(Int(chunk & 0x1FFF), remaining)
                for _ in 0..<run { symbols.append(symbol) }
            } else if chunk & 0x4000 == 0 {
                for i in 0..<min(14, remaining) {
                    symbols.append(UInt8(truncatingIfNeeded: chunk &>> UInt16(13 - i)) & 0x01)
                }
            } else {
                for i in 0..<min(7, remaining) {
                    symbols.append(UInt8(truncatingIfNeeded: chunk &>> UInt16(12 - 2 * i)) & 0x03)
                }
            }
        }

        // Receive deltas, one per received packet, in the same order.
        var packets: [PacketResult] = []
        packets.reserveCapacity(statusCount)
        for (index, symbol) in symbols.enumerated() {
            let sequenceNumber = base &+ UInt16(truncatingIfNeeded: index)
            switch symbol {
            case 0:
                packets.append(PacketResult(sequenceNumber: sequenceNumber, status: .notReceived, deltaMicroseconds: nil))
            case 1:
                guard offset + 1 <= end else { throw .malformed }
                let ticks = Int64(packet[offset])
                offset += 1
                packets.append(
                    PacketResult(
                        sequenceNumber: sequenceNumber, status: .smallDelta,
                        deltaMicroseconds: ticks * deltaTickMicroseconds))
            case 2:
                guard offset + 2 <= end else { throw .malformed }
                let ticks = Int64(Int16(bitPattern: packet.be16(offset)))
                offset += 2
                packets.append(
                    PacketResult(
                        sequenceNumber: sequenceNumber, status: .largeDelta,
                        deltaMicroseconds: ticks * deltaTickMicroseconds))
            default:
                throw .malformed  // symbol 11 is reserved
            }
        }
        return TransportCCFeedback(
            senderSSRC: packet.be32(4), mediaSSRC: packet.be32(8), baseSequenceNumber: base,
            referenceTime: reference, feedbackPacketCount: packet[19], packets: packets)
    }
}
