import Mixer
import Testing

/// `SpeakingDetector`: speech edges from RFC 6464 levels, packet by packet on a fake clock.
@Suite struct SpeakingDetectorTests {
    /// Feeds `count` packets of `level` (-dBov) 20 ms apart from `start`; returns the edges seen.
    func feed(_ d: inout SpeakingDetector, level: UInt8, count: Int, from start: Int64) -> [(Int64, Bool)] {
        var edges: [(Int64, Bool)] = []
        for i in 0..<count {
            let t = start + Int64(i) * 20
            if d.packet(level: level, nowMillis: t) { edges.append((t, d.speaking)) }
        }
        return edges
    }

    @Test func silenceAndBackgroundNoiseAreNotSpeech() {
        var d = SpeakingDetector()
        #expect(feed(&d, level: 127, count: 200, from: 0).isEmpty)
        #expect(feed(&d, level: 70, count: 200, from: 4000).isEmpty)  // -70 dBov: a quiet room
        #expect(!d.speaking && d.level < -60)
    }

    @Test func speechStartsWithinAFewPacketsAndEndsAfterTheHangover() {
        var d = SpeakingDetector()
        _ = feed(&d, level: 127, count: 50, from: 0)
        let on = feed(&d, level: 20, count: 100, from: 1000)  // -20 dBov talk for 2 s
        #expect(on.count == 1 && on[0].1)
        #expect(on[0].0 - 1000 <= 100)  // fast attack
        #expect(abs(d.level - -20) < 1)
        // A short pause (300 ms of silence) is not an edge.
        #expect(feed(&d, level: 127, count: 15, from: 3000).isEmpty)
        #expect(feed(&d, level: 20, count: 20, from: 3300).isEmpty)
        // Real silence: off once the smoothed level stayed under -60 dBov for the hangover.
        let off = feed(&d, level: 127, count: 200, from: 3700)
        #expect(off.count == 1 && !off[0].1)
        #expect(off[0].0 - 3700 >= d.settings.hangoverMillis)
        #expect(off[0].0 - 3700 < 3000)
    }

    @Test func aStreamThatStopsSendingFallsSilent() {
        var d = SpeakingDetector()
        _ = feed(&d, level: 10, count: 20, from: 0)
        #expect(d.speaking)
        let early = d.tick(nowMillis: 400 + 100)  // last packet at 380: not yet
        let late = d.tick(nowMillis: 380 + 500)
        #expect(!early && late)
        #expect(!d.speaking && d.level == -127)
        let again = d.tick(nowMillis: 2000)
        #expect(!again)  // one edge only
    }

    @Test func theLevelByteIsClamped() {
        var d = SpeakingDetector()
        _ = d.packet(level: 255, nowMillis: 0)
        #expect(d.level >= -127)
    }
}
