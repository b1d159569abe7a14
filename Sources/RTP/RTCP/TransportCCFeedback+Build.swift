// Writing transport-cc feedback: choosing packet status chunks and
// quantizing arrival times into receive deltas.
//
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1.1-3.1.5,
// https://datatracker.ietf.org/doc/html/draft-holmer-rmcat-transport-wide-cc-extensions-01#section-3.1
//
//   run length chunk (§3.1.3):
//    0                   1
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |T| S |       Run Length        |   T=0
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//   status vector chunk (§3.1.4):
//    0                   1
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |T|S|       symbol list         |   T=1; S=0: 14 x 1 bit, S=1: 7 x 2 bits
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The encoder is greedy and simple rather than optimal: a run of 14 or more
// equal symbols (or the rest of the list when it is all equal) becomes a
// run length chunk, otherwise a 1-bit vector when the next 14 symbols need
// no large delta, otherwise a 2-bit vector. Every choice is valid; the sizes
// come within a few bytes of libwebrtc's encoder for real traffic.

extension TransportCCFeedback {
    /// Floor division, so negative times quantize the same way as positive.
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    /// Nearest 250 µs tick. The input is first clamped far beyond what any
    /// delta field holds, so absurd values saturate instead of overflowing.
    static func ticks(_ microseconds: Int64) -> Int64 {
        let bounded = min(max(microseconds, -(1 << 40)), 1 << 40)
        return floorDivide(bounded + deltaTickMicroseconds / 2, deltaTickMicroseconds)
    }

    /// Builds feedback for the packets `baseSequenceNumber`,
    /// `baseSequenceNumber+1`, ... from their arrival times in microseconds
    /// (nil: not received). The reference time is the first arrival rounded
    /// down to 64 ms; each delta is measured from the previous *quantized*
    /// time so rounding errors do not accumulate. Throws `valueOutOfRange`
    /// for more than 65535 packets or a gap between arrivals beyond the
    /// ±8.19 s a large delta can carry (start a new feedback instead).
    public static func build(
        senderSSRC: UInt32, mediaSSRC: UInt32, feedbackPacketCount: UInt8, baseSequenceNumber: UInt16,
        arrivalTimes: [Int64?]
    ) throws(RTCPError) -> TransportCCFeedback {
        guard arrivalTimes.count <= Int(UInt16.max) else { throw .valueOutOfRange }
        let first = arrivalTimes.first { $0 != nil } ?? nil
        let referenceTicks = floorDivide(first ?? 0, referenceTimeTickMicroseconds)
        // The field is 24 bits: keep the low bits, read back as signed.
        let referenceField = Int32(truncatingIfNeeded: referenceTicks) & 0xFF_FFFF
        let reference = (referenceField &<< 8) >> 8
        var previous = referenceTicks * referenceTimeTickMicroseconds

        var packets: [PacketResult] = []
        packets.reserveCapacity(arrivalTimes.count)
        for (index, arrival) in arrivalTimes.enumerated() {
            let sequenceNumber = baseSequenceNumber &+ UInt16(truncatingIfNeeded: index)
            guard let arrival else {
                packets.append(PacketResult(sequenceNumber: sequenceNumber, status: .notReceived, deltaMicroseconds: nil))
                continue
            }
            let (gap, overflow) = arrival.subtractingReportingOverflow(previous)
            guard !overflow else { throw .valueOutOfRange }
            let tick = ticks(gap)
            guard (Int64(Int16.min)...Int64(Int16.max)).contains(tick) else { throw .valueOutOfRange }
            let delta = tick * deltaTickMicroseconds
            previous += delta
            packets.append(
                PacketResult(
                    sequenceNumber: sequenceNumber, status: (0...255).contains(tick) ? .smallDelta : .largeDelta,
                    deltaMicroseconds: delta))
        }
        return TransportCCFeedback(
            senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: baseSequenceNumber,
            referenceTime: reference, feedbackPacketCount: feedbackPacketCount, packets: packets)
    }

    /// Appends the status chunks for `symbols` (raw 2-bit values).
    static func writeChunks(_ symbols: [UInt8], into buffer: inout [UInt8]) {
        var index = 0
        let count = symbols.count
        while index < count {
            let symbol = symbols[index]
            var run = 1
            while index + run < count, symbols[index + run] == symbol, run < 0x1FFF { run += 1 }
            if run >= 14 || index + run == count {
                buffer.appendBE16(UInt16(symbol) &<< 13 | UInt16(run))
                index += run
                continue
            }
            let window = symbols[index..<min(index + 14, count)]
            if window.allSatisfy({ $0 <= 1 }) {
                var chunk: UInt16 = 0x8000
                for (i, symbol) in window.enumerated() { chunk |= UInt16(symbol) &<< UInt16(13 - i) }
                buffer.appendBE16(chunk)
                index += window.count
            } else {
                var chunk: UInt16 = 0xC000
                let taken = min(7, count - index)
                for i in 0..<taken { chunk |= UInt16(symbols[index + i]) &<< UInt16(12 - 2 * i) }
                buffer.appendBE16(chunk)
                index += taken
            }
        }
    }

    /// Appends the feedback. Deltas are rounded to 250 µs and clamped to what
    /// their symbol can carry; at most 65535 packets are written.
    public func serialize(into buffer: inout [UInt8]) {
        let written = packets.prefix(Int(UInt16.max))
        let start = beginPacket(
            count: RTCPFeedbackFormat.transportCC, type: RTCPPacketType.transportFeedback, into: &buffer)
        buffer.appendBE32(senderSSRC)
        buffer.appendBE32(mediaSSRC)
        buffer.appendBE16(baseSequenceNumber)
        buffer.appendBE16(UInt16(written.count))
        buffer.appendBE24(UInt32(bitPattern: referenceTime) & 0xFF_FFFF)
        buffer.append(feedbackPacketCount)
        Self.writeChunks(written.map(\.status.rawValue), into: &buffer)
        for packet in written {
            let tick = Self.ticks(packet.deltaMicroseconds ?? 0)
            switch packet.status {
            case .notReceived:
                break
            case .smallDelta:
                buffer.append(UInt8(clamping: tick))
            case .largeDelta:
                buffer.appendBE16(UInt16(bitPattern: Int16(clamping: tick)))
            }
        }
        finishPacket(startingAt: start, in: &buffer)
    }
}
