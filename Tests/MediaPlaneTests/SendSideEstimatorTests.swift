@testable import MediaPlane
import RTP
import Testing

/// The delay-based detector against a simulated bottleneck: a FIFO link of a
/// given capacity, video frames sent as bursts at 30 fps (as we forward them),
/// transport-wide feedback every 100 ms with arrival times in 250 µs ticks.
@Suite struct SendSideEstimatorTests {
    struct Link {
        var capacity: Double  // bit/s
        var propagationMicros: Int64 = 20_000
        var jitterMicros: Int64 = 0
        var free: Int64 = 0  // when the link finishes what it holds
        var seed: UInt64 = 7

        /// When a packet of `size` bytes handed to the link at `t` reaches the viewer.
        mutating func arrival(sentAt t: Int64, size: Int) -> Int64 {
            free = max(free, t) + Int64(Double(size * 8) / capacity * 1_000_000)
            var jitter: Int64 = 0
            if jitterMicros > 0 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                jitter = Int64((seed >> 33) % UInt64(2 * jitterMicros + 1)) - jitterMicros
            }
            return free + propagationMicros + jitter
        }
    }

    struct Run {
        var readings: [SendSideEstimator.Reading] = []
        /// Seconds into the run of the first overuse reading, if any.
        var firstOveruse: Double?
        var estimator: SendSideEstimator
    }

    /// Sends `bitrate` for `seconds` through `link`, and feeds the estimator back.
    static func run(bitrate: Double, seconds: Double, link: Link) -> Run {
        var link = link
        var estimator = SendSideEstimator()
        var inFlight: [(sequence: UInt16, arrival: Int64)] = []
        var run = Run(estimator: estimator)
        let frameBytes = Int(bitrate / 8 / 30)
        var count: UInt8 = 0
        var t: Int64 = 0
        var nextFeedback: Int64 = 100_000
        while Double(t) < seconds * 1_000_000 {
            // One frame: packets of up to 1,200 bytes, back to back.
            var left = frameBytes
            while left > 0 {
                let size = min(1200, left)
                left -= size
                let sequence = estimator.sent(size: size, atMicros: t)
                inFlight.append((sequence, link.arrival(sentAt: t, size: size)))
            }
            t += 33_333
            while nextFeedback <= t {
                let arrived = inFlight.filter { $0.arrival <= nextFeedback }.sorted { $0.sequence < $1.sequence }
                inFlight.removeAll { $0.arrival <= nextFeedback }
                if let first = arrived.first {
                    let reference = first.arrival / TransportCCFeedback.referenceTimeTickMicroseconds
                    var previous = reference * TransportCCFeedback.referenceTimeTickMicroseconds
                    var results: [TransportCCFeedback.PacketResult] = []
                    for p in arrived {
                        let delta = (p.arrival - previous) / 250 * 250
                        previous += delta
                        results.append(.init(sequenceNumber: p.sequence, deltaMicroseconds: delta))
                    }
                    let message = TransportCCFeedback(
                        senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: first.sequence, referenceTime: Int32(reference),
                        feedbackPacketCount: count, packets: results)
                    count &+= 1
                    let reading = estimator.feedback(message, atMicros: nextFeedback)
                    run.readings.append(reading)
                    if reading.usage == .overusing, run.firstOveruse == nil { run.firstOveruse = Double(nextFeedback) / 1_000_000 }
                }
                nextFeedback += 100_000
            }
        }
        run.estimator = estimator
        return run
    }

    @Test func belowTheLinksCapacityThereIsNoOveruse() {
        let r = Self.run(bitrate: 800_000, seconds: 10, link: Link(capacity: 2_000_000))
        #expect(r.firstOveruse == nil)
        #expect(r.estimator.overuses == 0)
        // What was acknowledged is what was sent.
        let acked = Double(r.readings.last?.ackedBitrate ?? 0)
        #expect(abs(acked - 800_000) < 100_000, "acked \(acked)")
    }

    @Test func arrivalJitterAloneIsNoOveruse() {
        var link = Link(capacity: 3_000_000)
        link.jitterMicros = 3_000
        let r = Self.run(bitrate: 1_000_000, seconds: 15, link: link)
        #expect(r.estimator.overuses == 0, "\(r.estimator.overuses) overuse episodes, first at \(r.firstOveruse ?? -1) s")
    }

    @Test func aRateAboveTheCapacityIsSeenSoon() throws {
        let r = Self.run(bitrate: 1_500_000, seconds: 5, link: Link(capacity: 1_000_000))
        let first = try #require(r.firstOveruse)
        print("overuse first read at \(first) s; acked then \(r.readings.first { $0.usage == .overusing }?.ackedBitrate ?? 0); trend \(r.estimator.modifiedTrend)")
        // 20 groups (two thirds of a second at 30 fps) fill the trendline's window first.
        #expect(first < 1.5, "overuse first read at \(first) s")
        // What got through is the link's rate: the estimate falls to 85 % of it.
        let acked = Double(r.readings.last { $0.usage == .overusing }?.ackedBitrate ?? 0)
        #expect(abs(acked - 1_000_000) < 150_000, "acked \(acked)")
        // Nothing was lost: the link's queue only grew.
        #expect(r.readings.allSatisfy { $0.lost == 0 })
    }

    @Test func overuseLowersTheViewersEstimateOncePerInterval() {
        var b = ViewerBandwidth()
        let t0: Duration = .seconds(100)
        // Clean reports grow it first.
        for i in 0..<5 { b.report(fractionLost: 0, bytesSent: UInt64(i) * 125_000, at: t0 + .seconds(i)) }
        let grown = b.estimate ?? 0
        #expect(grown > ViewerBandwidth.initial)
        let overuse = SendSideEstimator.Reading(usage: .overusing, ackedBitrate: 400_000, lost: 0, received: 40)
        b.transportFeedback(overuse, at: t0 + .seconds(5))
        #expect(b.estimate == 340_000)
        // Again 100 ms later: within the interval, no second decrease.
        b.transportFeedback(SendSideEstimator.Reading(usage: .overusing, ackedBitrate: 200_000, lost: 0, received: 40), at: t0 + .milliseconds(5_100))
        #expect(b.estimate == 340_000)
        #expect(b.delayDecreases == 1)
        // While the detector reads overuse, clean receiver reports do not grow it.
        b.report(fractionLost: 0, bytesSent: 800_000, at: t0 + .seconds(6))
        #expect(b.estimate == 340_000)
        b.transportFeedback(SendSideEstimator.Reading(usage: .normal, ackedBitrate: 330_000, lost: 0, received: 40), at: t0 + .milliseconds(6_100))
        b.report(fractionLost: 0, bytesSent: 850_000, at: t0 + .seconds(7))
        #expect((b.estimate ?? 0) > 340_000)
    }
}
