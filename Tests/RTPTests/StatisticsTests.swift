import RTP
import Testing

@Suite("Sequence and timestamp unwrapping")
struct UnwrapperTests {
    @Test(arguments: [
        ("in order across the wrap", [65534, 65535, 0, 1] as [UInt16], [65534, 65535, 65536, 65537] as [Int64]),
        ("reordered across the wrap", [65535, 1, 0, 65534, 2], [65535, 65537, 65536, 65534, 65538]),
        ("older than the first packet", [5, 65535, 6], [5, -1, 6]),
        ("largest forward step", [0, 32767], [0, 32767]),
        ("half-range step is taken as older", [0, 32768], [0, -32768]),
        ("duplicates", [7, 7, 7], [7, 7, 7]),
    ])
    func sequences(name: String, input: [UInt16], expected: [Int64]) {
        var unwrapper = SequenceUnwrapper()
        #expect(input.map { unwrapper.unwrap($0) } == expected, "\(name)")
    }

    @Test func manyWraps() {
        var unwrapper = SequenceUnwrapper()
        var previous: Int64 = -1
        for step in 0..<1000 {
            let value = Int64(step) * 1000 + 3
            let unwrapped = unwrapper.unwrap(UInt16(truncatingIfNeeded: value))
            #expect(unwrapped == value)
            #expect(unwrapped > previous)
            previous = unwrapped
        }
        #expect(unwrapper.highest == 999_003)
        #expect(unwrapper.peek(UInt16(truncatingIfNeeded: 998_000)) == 998_000)
        unwrapper.reset()
        #expect(unwrapper.highest == nil)
    }

    @Test func timestamps() {
        var unwrapper = TimestampUnwrapper()
        #expect(unwrapper.unwrap(0xFFFF_FF00) == 0xFFFF_FF00)
        #expect(unwrapper.unwrap(0x100) == 0x1_0000_0100)
        #expect(unwrapper.unwrap(0xFFFF_FFF0) == 0xFFFF_FFF0)  // reordered, before the wrap
        // Exactly half the range ahead is ambiguous and read as older...
        #expect(unwrapper.unwrap(0x8000_0100) == 0x8000_0100)
        // ...one less is ahead.
        #expect(unwrapper.unwrap(0x8000_00FF) == 0x1_8000_00FF)
    }

    @Test func serialOrdering() {
        #expect(isNewerSequenceNumber(1, than: 65535))
        #expect(!isNewerSequenceNumber(65535, than: 1))
        #expect(!isNewerSequenceNumber(5, than: 5))
        #expect(!isNewerSequenceNumber(32768, than: 0))
    }
}

@Suite("Receive statistics (RFC 3550 A.1, A.3, A.8)")
struct ReceiveStatisticsTests {
    @Test func noLossConstantTransit() {
        var stats = ReceiveStatistics(ssrc: 42)
        for seq in 0..<10 as Range<UInt32> {
            stats.received(sequenceNumber: UInt16(seq), rtpTimestamp: seq * 3000, arrival: seq * 3000 + 500)
        }
        let block = stats.makeReportBlock(now: .zero)
        #expect(block == ReportBlock(ssrc: 42, highestSequence: 9))
        #expect(stats.expected == 10 && stats.packetsReceived == 10)
    }

    @Test func lossAndFractionPerInterval() {
        var stats = ReceiveStatistics(ssrc: 1)
        for seq: UInt16 in [0, 1, 2, 5, 6] {
            stats.received(sequenceNumber: seq, rtpTimestamp: 0, arrival: 0)
        }
        #expect(stats.expected == 7)
        #expect(stats.cumulativeLost == 2)
        var block = stats.makeReportBlock(now: .zero)
        #expect(block.fractionLost == 73)  // (2 << 8) / 7
        #expect(block.cumulativeLost == 2)
        #expect(block.highestSequence == 6)
        for seq: UInt16 in [7, 8, 9] {
            stats.received(sequenceNumber: seq, rtpTimestamp: 0, arrival: 0)
        }
        block = stats.makeReportBlock(now: .zero)
        #expect(block.fractionLost == 0)  // nothing lost in this interval
        #expect(block.cumulativeLost == 2)
    }

    @Test func jitterKnownAnswer() {
        // Transit times 0, 100, 0, 100: |D| is 100 each time. With J += (|D| - J)/16
        // the exact values are 6.25, 12.11, 17.60; the integer form of A.8
        // reports 6, 12, 17.
        var stats = ReceiveStatistics(ssrc: 1)
        let packets: [(UInt16, UInt32, UInt32)] = [(0, 0, 0), (1, 3000, 3100), (2, 6000, 6000), (3, 9000, 9100)]
        var jitters: [UInt32] = []
        for (seq, timestamp, arrival) in packets {
            stats.received(sequenceNumber: seq, rtpTimestamp: timestamp, arrival: arrival)
            jitters.append(stats.jitter)
        }
        #expect(jitters == [0, 6, 12, 17])
    }

    @Test func jitterAcrossClockWrap() {
        var stats = ReceiveStatistics(ssrc: 1)
        stats.received(sequenceNumber: 0, rtpTimestamp: 0xFFFF_FF00, arrival: 0xFFFF_FFF0)
        stats.received(sequenceNumber: 1, rtpTimestamp: 0x0000_0100, arrival: 0x0000_01F0 &+ 160)
        // Transit grew by 160: J = 160/16 = 10.
        #expect(stats.jitter == 10)
    }

    @Test func sequenceWrap() {
        var stats = ReceiveStatistics(ssrc: 1)
        for i in 0..<12 {
            stats.received(sequenceNumber: UInt16(truncatingIfNeeded: 65530 + i), rtpTimestamp: 0, arrival: 0)
        }
        #expect(stats.extendedHighestSequence == 0x1_0005)
        #expect(stats.expected == 12)
        #expect(stats.cumulativeLost == 0)
    }

    @Test func duplicatesAndReordering() {
        var stats = ReceiveStatistics(ssrc: 1)
        for seq: UInt16 in [0, 2, 1, 1] {
            stats.received(sequenceNumber: seq, rtpTimestamp: 0, arrival: 0)
        }
        #expect(stats.expected == 3)
        #expect(stats.cumulativeLost == -1)  // a duplicate counts as received
        #expect(stats.makeReportBlock(now: .zero).cumulativeLost == -1)
    }

    @Test func largeJumpNeedsConfirmation() {
        var stats = ReceiveStatistics(ssrc: 1)
        for seq: UInt16 in [0, 1, 2] { stats.received(sequenceNumber: seq, rtpTimestamp: 0, arrival: 0) }
        #expect(stats.received(sequenceNumber: 10_000, rtpTimestamp: 0, arrival: 0) == false)
        #expect(stats.expected == 3)
        // The next packet confirms the jump: the source restarted.
        #expect(stats.received(sequenceNumber: 10_001, rtpTimestamp: 0, arrival: 0) == true)
        #expect(stats.expected == 1)
        #expect(stats.extendedHighestSequence == 10_001)
    }

    @Test func lastSenderReport() {
        var stats = ReceiveStatistics(ssrc: 1)
        stats.received(sequenceNumber: 0, rtpTimestamp: 0, arrival: 0)
        #expect(stats.makeReportBlock(now: .seconds(1)).lastSR == 0)
        stats.receivedSenderReport(ntpTimestamp: 0x1122_3344_5566_7788, at: .seconds(10))
        let block = stats.makeReportBlock(now: .seconds(11) + .milliseconds(500))
        #expect(block.lastSR == 0x3344_5566)
        #expect(block.delaySinceLastSR == 0x0001_8000)
    }

    @Test func clockUnits() {
        #expect(ReceiveStatistics.clockUnits(.milliseconds(1500), clockRate: 90000) == 135_000)
        #expect(ReceiveStatistics.clockUnits(.microseconds(20_833), clockRate: 48000) == 999)
        var stats = ReceiveStatistics(ssrc: 1)
        stats.received(sequenceNumber: 0, rtpTimestamp: 0, arrival: .zero, clockRate: 90000)
        stats.received(sequenceNumber: 1, rtpTimestamp: 3000, arrival: .milliseconds(50), clockRate: 90000)
        // Arrived 1500 ticks later than the timestamps say: J = 1500/16.
        #expect(stats.jitter == 93)
    }
}
