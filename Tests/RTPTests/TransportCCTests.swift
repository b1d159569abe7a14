import FuzzSupport
import RTP
import Testing

@Suite("Transport-wide congestion control feedback")
struct TransportCCTests {
    typealias P = TransportCCFeedback.PacketResult

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let expected: Result<TransportCCFeedback, RTCPError>
        var testDescription: String { name }
    }

    static func feedback(base: UInt16, reference: Int32, count: UInt8 = 0, _ packets: [P]) -> TransportCCFeedback {
        TransportCCFeedback(
            senderSSRC: 0x1111_1111, mediaSSRC: 0x2222_2222, baseSequenceNumber: base, referenceTime: reference,
            feedbackPacketCount: count, packets: packets)
    }

    static let cases: [Case] = [
        Case(
            name: "run length chunk of three small deltas",
            bytes: hex(
                """
                8f          # V=2 P=0 FMT=15
                cd 0006     # PT=205 RTPFB, length 6 (28 bytes)
                11111111 22222222
                000a        # base sequence number 10
                0003        # packet status count 3
                000001      # reference time 1 (64 ms)
                07          # feedback packet count 7
                2003        # run length: T=0, S=01 (small delta), run 3
                04 08 00    # deltas: 1 ms, 2 ms, 0 ms
                000000      # zero padding
                """),
            expected: .success(
                feedback(
                    base: 10, reference: 1, count: 7,
                    [
                        P(sequenceNumber: 10, status: .smallDelta, deltaMicroseconds: 1000),
                        P(sequenceNumber: 11, status: .smallDelta, deltaMicroseconds: 2000),
                        P(sequenceNumber: 12, status: .smallDelta, deltaMicroseconds: 0),
                    ]))),
        Case(
            name: "one-bit status vector across the sequence wrap",
            bytes: hex(
                """
                8f cd 0006 11111111 22222222
                fffe 0005   # base 65534, 5 packets
                000000 00   # reference time 0, count 0
                aa00        # T=1 S=0: 1 0 1 0 1 (then 9 unused zeros)
                01 02 ff    # deltas 250 us, 500 us, 63.75 ms
                000000
                """),
            expected: .success(
                feedback(
                    base: 65534, reference: 0,
                    [
                        P(sequenceNumber: 65534, status: .smallDelta, deltaMicroseconds: 250),
                        P(sequenceNumber: 65535, status: .notReceived, deltaMicroseconds: nil),
                        P(sequenceNumber: 0, status: .smallDelta, deltaMicroseconds: 500),
                        P(sequenceNumber: 1, status: .notReceived, deltaMicroseconds: nil),
                        P(sequenceNumber: 2, status: .smallDelta, deltaMicroseconds: 63750),
                    ]))),
        Case(
            name: "two-bit vector with large and negative deltas, P=1 padding",
            bytes: hex(
                """
                af          # V=2 P=1 FMT=15
                cd 0006 11111111 22222222
                0064 0004   # base 100, 4 packets
                ffffff 01   # reference time -1 (-64 ms), count 1
                d880        # T=1 S=1: 01 small, 10 large, 00 lost, 10 large
                0a          # +2.5 ms
                0400        # +256 ms (1024 ticks)
                fffc        # -1 ms
                01          # padding count 1
                """),
            expected: .success(
                feedback(
                    base: 100, reference: -1, count: 1,
                    [
                        P(sequenceNumber: 100, status: .smallDelta, deltaMicroseconds: 2500),
                        P(sequenceNumber: 101, status: .largeDelta, deltaMicroseconds: 256_000),
                        P(sequenceNumber: 102, status: .notReceived, deltaMicroseconds: nil),
                        P(sequenceNumber: 103, status: .largeDelta, deltaMicroseconds: -1000),
                    ]))),
        Case(
            name: "run length of lost packets longer than the status count",
            bytes: hex(
                """
                8f cd 0005 11111111 22222222
                0001 0002   # base 1, 2 packets
                000000 00
                0005        # run length: S=00 (not received), run 5 (only 2 used)
                0000        # padding
                """),
            expected: .success(
                feedback(
                    base: 1, reference: 0,
                    [
                        P(sequenceNumber: 1, status: .notReceived, deltaMicroseconds: nil),
                        P(sequenceNumber: 2, status: .notReceived, deltaMicroseconds: nil),
                    ]))),
        Case(
            name: "reserved symbol 11 in a run",
            bytes: hex("8f cd 0005 11111111 22222222 | 0001 0001 | 00000000 | 6001 0000"),
            expected: .failure(.malformed)),
        Case(
            name: "missing receive delta",
            bytes: hex("8f cd 0005 11111111 22222222 | 000a 0003 | 00000100 | 2003 0408"),
            expected: .failure(.malformed)),
        Case(
            name: "status count beyond the chunks",
            bytes: hex("8f cd 0005 11111111 22222222 | 000a 0014 | 00000000 | 8000 0000"),
            expected: .failure(.malformed)),
        Case(
            name: "no room for base sequence and reference time",
            bytes: hex("8f cd 0003 11111111 22222222 | 000a 0003"),
            expected: .failure(.malformed)),
    ]

    @Test(arguments: cases)
    func vector(_ testCase: Case) {
        let result = Result { () throws(RTCPError) in try TransportCCFeedback.parse(testCase.bytes) }
        #expect(result == testCase.expected)
        // Through the compound parser the same packet is dispatched here.
        let compound = Result { () throws(RTCPError) in try RTCPCompound.parse(testCase.bytes) }
        #expect(compound == testCase.expected.map { [.transportCC($0)] })
    }

    @Test func exactSerialization() throws {
        // The first vector is exactly what the encoder produces.
        let first = try TransportCCTests.cases[0].expected.get()
        #expect(hexString(first.serialized()) == hexString(TransportCCTests.cases[0].bytes))
        // The two-bit vector case, re-encoded: 4 symbols with a large one
        // stay one 2-bit vector chunk; no P bit, zero padding instead.
        let third = try TransportCCTests.cases[2].expected.get()
        #expect(
            hexString(third.serialized())
                == hexString(hex("8f cd 0006 11111111 22222222 | 0064 0004 | ffffff 01 | d880 | 0a 0400 fffc 00")))
    }

    @Test func buildFromArrivalTimes() throws {
        // Arrival times in microseconds: 1 s + a bit, a loss, then a late
        // packet 300 ms later (large delta), then one 1 ms earlier (negative).
        let arrivals: [Int64?] = [1_000_100, nil, 1_000_700, 1_300_700, 1_299_700]
        let feedback = try TransportCCFeedback.build(
            senderSSRC: 1, mediaSSRC: 2, feedbackPacketCount: 9, baseSequenceNumber: 65535, arrivalTimes: arrivals)
        #expect(feedback.referenceTime == 15)  // 960 ms
        #expect(feedback.packets.map(\.sequenceNumber) == [65535, 0, 1, 2, 3])
        #expect(feedback.packets.map(\.status) == [.smallDelta, .notReceived, .smallDelta, .largeDelta, .largeDelta])
        // 40.1 ms from the reference is 160.4 ticks: rounded to 160 (40 ms);
        // later deltas are measured from the rounded times, so no drift.
        #expect(feedback.packets.map(\.deltaMicroseconds) == [40_000, nil, 750, 300_000, -1000])
        #expect(feedback.arrivalTimes().map(\.microseconds) == [1_000_000, nil, 1_000_750, 1_300_750, 1_299_750])
        let parsed = try TransportCCFeedback.parse(feedback.serialized())
        #expect(parsed == feedback)
    }

    @Test func buildRejectsHugeGaps() {
        #expect(throws: RTCPError.valueOutOfRange) {
            try TransportCCFeedback.build(
                senderSSRC: 1, mediaSSRC: 2, feedbackPacketCount: 0, baseSequenceNumber: 0,
                arrivalTimes: [0, 9_000_000])
        }
    }

    @Test func longRunsUseRunLengthChunks() throws {
        // 20 received, 100 lost, 3 received: run, run, run.
        let arrivals: [Int64?] =
            (0..<20).map { Int64($0) * 1000 } + [Int64?](repeating: nil, count: 100) + [200_000, 201_000, 202_000]
        let feedback = try TransportCCFeedback.build(
            senderSSRC: 1, mediaSSRC: 2, feedbackPacketCount: 0, baseSequenceNumber: 500, arrivalTimes: arrivals)
        let bytes = feedback.serialized()
        // Chunks right after the 20-byte fixed part: the first 20 are small
        // except the 200 ms jump (large), so: run(20 small) run(100 lost)
        // then a 2-bit vector for [large, small, small].
        #expect(Array(bytes[20..<26]) == hex("2014 | 0064 | e500"))
        #expect(try TransportCCFeedback.parse(bytes) == feedback)
    }

    @Test func randomRoundTrips() throws {
        var rng = SplitMix64(seed: 0x7CC)
        for _ in 0..<300 {
            let count = Int.random(in: 0...400, using: &rng)
            var packets: [P] = []
            for i in 0..<count {
                let sequence = UInt16(truncatingIfNeeded: 40_000 + i)
                switch UInt8.random(in: 0...5, using: &rng) {
                case 0, 1:
                    packets.append(P(sequenceNumber: sequence, status: .notReceived, deltaMicroseconds: nil))
                case 2, 3, 4:
                    packets.append(
                        P(sequenceNumber: sequence, status: .smallDelta,
                          deltaMicroseconds: Int64.random(in: 0...255, using: &rng) * 250))
                default:
                    packets.append(
                        P(sequenceNumber: sequence, status: .largeDelta,
                          deltaMicroseconds: Int64.random(in: -32768...32767, using: &rng) * 250))
                }
            }
            let feedback = TransportCCFeedback(
                senderSSRC: 5, mediaSSRC: 6, baseSequenceNumber: 40_000,
                referenceTime: Int32.random(in: -0x80_0000...0x7F_FFFF, using: &rng),
                feedbackPacketCount: UInt8.random(in: 0...255, using: &rng), packets: packets)
            let bytes = feedback.serialized()
            #expect(bytes.count % 4 == 0)
            #expect(try TransportCCFeedback.parse(bytes) == feedback)
        }
    }
}
