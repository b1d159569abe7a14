@testable import MediaPlane
import Testing

/// The pacer spreads a burst over time at 2.5 times the rate, keeps order,
/// and never holds a packet longer than `maxWait`.
@Suite struct PacerTests {
    static func burst(_ count: Int, size: Int = 1200) -> [[UInt8]] {
        (0..<count).map { i in [UInt8](repeating: UInt8(i & 0xFF), count: size) }
    }

    /// Feeds `packets` at `t0`, then drains every 5 ms; returns (leave time in ms, first byte) per packet.
    static func run(_ pacer: inout Pacer, _ packets: [[UInt8]], t0: Duration) -> [(Double, UInt8)] {
        var out: [(Double, UInt8)] = []
        for p in packets {
            if pacer.admit(size: p.count, at: t0) { out.append((0, p[0])) } else { pacer.enqueue(p, transportOffset: nil, at: t0) }
        }
        var t = t0
        while !pacer.isEmpty {
            t += Pacer.interval
            for w in pacer.due(at: t) { out.append(((t - t0) / .milliseconds(1), w.bytes[0])) }
        }
        return out
    }

    @Test func aKeyframeBurstIsSpreadInOrder() {
        var pacer = Pacer()
        let t0: Duration = .seconds(50)
        pacer.update(estimate: 2_000_000, videoBytesSent: 0, at: t0 - .seconds(1))  // 5 Mbit/s pacing
        let out = Self.run(&pacer, Self.burst(50), t0: t0)
        #expect(out.map(\.1) == (0..<50).map { UInt8($0) })  // in order
        let atOnce = out.filter { $0.0 == 0 }.count
        #expect(atOnce >= 1 && atOnce <= 12, "\(atOnce) left at once")  // about 20 ms of budget
        // 60 kB at 5 Mbit/s: about 96 ms, less what left at once.
        let last = out.last!.0
        #expect(last >= 60 && last <= 110, "the last left after \(last) ms")
        #expect(pacer.packetsDelayed == UInt64(50 - atOnce))
    }

    @Test func whatWaitsTooLongLeavesAtOnce() {
        var pacer = Pacer()
        let t0: Duration = .seconds(50)
        pacer.update(estimate: 50_000, videoBytesSent: 0, at: t0 - .seconds(1))  // the floor: 100 kbit/s
        let out = Self.run(&pacer, Self.burst(100), t0: t0)
        #expect(out.count == 100)
        #expect(out.last!.0 <= Pacer.maxWait / .milliseconds(1) + 5)
    }

    @Test func withoutAnEstimateNothingWaits() {
        var pacer = Pacer()
        pacer.update(estimate: nil, videoBytesSent: 0, at: .seconds(1))
        #expect(Self.burst(100).allSatisfy { pacer.admit(size: $0.count, at: .seconds(2)) })
    }

    @Test func theRateFollowsWhatIsSentWhenThatIsMore() {
        var pacer = Pacer()
        // 2.5 Mbit/s sent while the estimate says 300 kbit/s: pacing follows what is sent.
        for i in 0...25 { pacer.update(estimate: 300_000, videoBytesSent: UInt64(i) * 12_500, at: .seconds(10) + .milliseconds(40 * i)) }
        #expect(abs(pacer.sendRate - 2_500_000) < 100_000, "\(pacer.sendRate)")
        #expect(abs(pacer.rate - 2_500_000 * Pacer.factor) < 250_000, "\(pacer.rate)")
    }
}
