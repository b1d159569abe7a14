import RTP
import Testing

@Suite("Transport-wide feedback from received packets")
struct TransportCCRecorderTests {
    /// Parses what goes on the wire and returns (sequence, arrival µs) pairs.
    func decoded(_ f: TransportCCFeedback) throws -> [(UInt16, Int64?)] {
        try TransportCCFeedback.parse(f.serialized()).arrivalTimes().map { ($0.sequenceNumber, $0.microseconds) }
    }

    @Test func reportsEachRangeOnceWithLossesAndReordering() throws {
        var r = TransportCCRecorder()
        let none = r.makeFeedback(senderSSRC: 1, mediaSSRC: 2)
        #expect(none == nil)
        // 100, 101, (102 lost), 104 before 103.
        for (seq, t) in [(100, 1_000_000), (101, 1_001_000), (104, 1_004_000), (103, 1_003_500)] as [(UInt16, Int64)] {
            r.received(sequenceNumber: seq, arrivalMicroseconds: t)
        }
        let firstMade = r.makeFeedback(senderSSRC: 1, mediaSSRC: 2)
        let first = try #require(firstMade)
        #expect(first.baseSequenceNumber == 100 && first.feedbackPacketCount == 0)
        let d = try decoded(first)
        #expect(d.map(\.0) == [100, 101, 102, 103, 104])
        #expect(d.map { $0.1 == nil } == [false, false, true, false, false])
        for (got, want) in zip(d.compactMap(\.1), [1_000_000, 1_001_000, 1_003_500, 1_004_000] as [Int64]) {
            #expect(abs(got - want) <= 250)  // 250 µs ticks, no drift
        }
        // Nothing new: no feedback. A late 102 after its range was reported is left out.
        let again = r.makeFeedback(senderSSRC: 1, mediaSSRC: 2)
        #expect(again == nil)
        r.received(sequenceNumber: 102, arrivalMicroseconds: 1_010_000)
        r.received(sequenceNumber: 105, arrivalMicroseconds: 1_020_000)
        let secondMade = r.makeFeedback(senderSSRC: 1, mediaSSRC: 2)
        let second = try #require(secondMade)
        #expect(second.baseSequenceNumber == 105 && second.feedbackPacketCount == 1)
        #expect(try decoded(second).map(\.0) == [105])
    }

    @Test func sequenceWrapAndLongRanges() throws {
        var r = TransportCCRecorder()
        for i in 0..<3000 {
            r.received(sequenceNumber: UInt16(truncatingIfNeeded: 64_000 + i), arrivalMicroseconds: 5_000_000 + Int64(i) * 500)
        }
        let fMade = r.makeFeedback(senderSSRC: 1, mediaSSRC: 2)
        let f = try #require(fMade)
        // Only the newest packets fit one feedback; the range crosses 65535 -> 0.
        #expect(f.packets.count == Int(TransportCCRecorder.maxPacketsPerFeedback))
        #expect(f.packets.last?.sequenceNumber == UInt16(truncatingIfNeeded: 64_000 + 2999))
        #expect(f.packets.allSatisfy { $0.received })
        #expect(try TransportCCFeedback.parse(f.serialized()) == f)
    }

    @Test func aStallLongerThanADeltaKeepsTheTail() throws {
        var r = TransportCCRecorder()
        r.received(sequenceNumber: 1, arrivalMicroseconds: 0)
        r.received(sequenceNumber: 2, arrivalMicroseconds: 10_000_000)  // 10 s later: beyond ±8.19 s
        r.received(sequenceNumber: 3, arrivalMicroseconds: 10_001_000)
        let fMade = r.makeFeedback(senderSSRC: 1, mediaSSRC: 2)
        let f = try #require(fMade)
        #expect(f.baseSequenceNumber == 2)
        #expect(try decoded(f).map(\.0) == [2, 3])
    }

    /// The feedback of one of the hand-checked wire cases (TransportCCTests):
    /// the same arrivals fed to the recorder give the same packets on the wire.
    @Test func matchesAKnownFeedback() throws {
        // 8f cd 0006 .. base 10, 3 packets, reference 1 (64 ms), deltas 1 ms, 2 ms, 0 ms.
        let known: [UInt8] = [
            0x8f, 0xcd, 0x00, 0x06, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x00, 0x0a, 0x00, 0x03,
            0x00, 0x00, 0x01, 0x00, 0x20, 0x03, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00,
        ]
        var r = TransportCCRecorder()
        for (seq, t) in [(10, 65_000), (11, 67_000), (12, 67_000)] as [(UInt16, Int64)] {
            r.received(sequenceNumber: seq, arrivalMicroseconds: t)
        }
        let fMade = r.makeFeedback(senderSSRC: 0x1111_1111, mediaSSRC: 0x2222_2222)
        let f = try #require(fMade)
        #expect(f.serialized() == known)
    }
}
