import Testing
@testable import Rooms

/// The speaking set and dominant speaker as plain state (§10.6).
@Suite struct SpeakerTrackerTests {
    @Test func edgesAndDominantHistory() {
        var t = SpeakerTracker()
        var c = t.report(speaking: ["bob", "alice"], dominant: "alice")
        #expect(c == .init(started: ["alice", "bob"], stopped: [], dominant: "alice", previous: [], silence: false))
        c = t.report(speaking: ["bob"], dominant: nil)
        #expect(c == .init(started: [], stopped: ["alice"]))  // no dominant change without a candidate
        for next in ["bob", "carol", "dave", "erin", "bob"] { c = t.report(speaking: [], dominant: next) }
        // The last dominant speakers before bob, newest first, bob himself not repeated, three at most.
        #expect(c.dominant == "bob" && c.previous == ["erin", "dave", "carol"] && c.silence)
        #expect(t.report(speaking: [], dominant: "bob") == .init())
    }

    @Test func publishersReportsPickTheDominantWithAMargin() {
        var t = SpeakerTracker()
        t.setVoice("alice", speaking: true, level: -30)
        var (speaking, dominant) = t.fromVoices()
        #expect(speaking == ["alice"] && dominant == "alice")
        _ = t.report(speaking: speaking, dominant: dominant)
        // bob louder but within the margin: alice stays; beyond it: bob takes over.
        t.setVoice("bob", speaking: true, level: -25)
        (speaking, dominant) = t.fromVoices()
        #expect(speaking == ["alice", "bob"] && dominant == "alice")
        t.setVoice("bob", speaking: true, level: -20)
        #expect(t.fromVoices().dominant == "bob")
        // alice stops: the loudest speaker takes over whatever its level.
        t.setVoice("bob", speaking: true, level: -50)
        t.setVoice("alice", speaking: false, level: -60)
        #expect(t.fromVoices().dominant == "bob")
        // Equal levels: the choice does not depend on hashing.
        var u = SpeakerTracker()
        u.setVoice("x", speaking: true, level: -30)
        u.setVoice("y", speaking: true, level: -30)
        #expect(u.fromVoices().dominant == "x")
        // Gone: no longer speaking, no voice.
        u.forget("x")
        u.setVoice("y", speaking: false, level: nil)
        #expect(u.fromVoices().speaking.isEmpty && u.voices.isEmpty)
    }
}
