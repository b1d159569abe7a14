import Foundation
import JSONRPC
import TestSupport
import Testing
@testable import Rooms

/// setLayout / layoutChanged (§10.4) and the speaking notifications (§10.6).
@Suite struct RoomLayoutTests {
    let ext: [String: JSONValue] = ["extensions": ["layout", "speaking", "mode"]]

    func port(_ h: RoomHarness, _ n: Int) -> String {
        h.media.made("createHubPort")[n]
    }

    @Test func gridFollowsPublishersAndCarriesGeometry() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ext.merging(["mode": "mcu"]) { a, _ in a })
        _ = await h.join("bob", extra: ext)
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        let changes = h.notifications("alice").filter { $0.0 == "layoutChanged" }
        #expect(changes.count == 2)
        let last = changes.last!.1
        #expect(last["layout"] == "grid" && last["revision"] == 2)
        #expect(last["canvas"] == ["width": 1280, "height": 720, "frameRate": 30])
        let tiles = last["tiles"]!.arrayValue!
        #expect(tiles.map { $0["id"]!.stringValue! } == ["alice", "bob"])
        // Two tiles side by side: each half the width.
        #expect(tiles[0]["x"]?.doubleValue == 0 && tiles[1]["x"]?.doubleValue == 0.5 && tiles[0]["w"]?.doubleValue == 0.5)
        #expect(h.media.calls.last { $0.hasPrefix("setLayout") } == "setLayout(composite-2, grid, \(port(h, 0)),\(port(h, 1)))")
    }

    @Test func setLayoutValidatesAndNeedsAModerator() async {
        var options = RoomOptions()
        options.jwtKey = "k"
        let h = RoomHarness(options: options)
        _ = await h.join("alice", extra: ext.merging(["mode": "mcu", "token": .string(RoomToken.sign(room: "demo", user: "alice", role: .moderator, key: "k", expires: 4_000_000_000))]) { a, _ in a })
        _ = await h.join("bob", extra: ["token": .string(RoomToken.sign(room: "demo", user: "bob", role: .publisher, key: "k", expires: 4_000_000_000))])
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        #expect(await h.errorCode("bob", "setLayout", ["layout": "grid"]) == 401)
        #expect(await h.errorCode("alice", "setLayout", ["layout": "mosaic"]) == 309)
        #expect(await h.errorCode("alice", "setLayout", ["layout": "custom"]) == 309)
        #expect(await h.errorCode("alice", "setLayout", ["layout": "custom", "tiles": [["id": "bob", "x": 0.8, "y": 0, "w": 0.5, "h": 0.5]]]) == 309)
        _ = h.notifications("alice")
        let r = await h.result("alice", "setLayout", ["layout": "custom", "tiles": [
            ["id": "bob", "x": 0.0, "y": 0.0, "w": 1.0, "h": 1.0, "z": 0], ["id": "alice", "x": 0.7, "y": 0.7, "w": 0.25, "h": 0.25, "z": 1],
        ]])
        #expect(r["layout"] == "custom")
        let change = h.notifications("alice").last { $0.0 == "layoutChanged" }!.1
        #expect(change["tiles"]?.arrayValue?.map { $0["id"]!.stringValue! } == ["bob", "alice"])
        #expect(change["tiles"]?[1]?["z"] == 1)
        #expect(h.media.calls.last { $0.hasPrefix("setLayout") }?.hasPrefix("setLayout(composite-2, custom, \(port(h, 1)),\(port(h, 0))") == true)
    }

    /// A participant who joins a mixing room late learns at once what the events
    /// before it said: the tiles, who speaks, and a recording running.
    @Test func aLateJoinerGetsTheTilesSpeakersAndRecordingInItsAnswer() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ext.merging(["mode": "mcu", "extensions": ["layout", "speaking", "mode", "recording"]]) { _, b in b })
        _ = await h.join("bob", extra: ext)
        for u in ["alice", "bob"] { _ = await h.publish(u) }
        await h.service.deliver(RoomMediaEvent(objectID: "composite-2", type: "SpeakersChanged", data: [
            "speaking": .array([.string(port(h, 1))]), "dominant": .string(port(h, 1)), "levels": [port(h, 1): -20],
        ]))
        #expect(await h.result("alice", "startRecording", ["target": "composite"])["id"] != nil)
        let room = await h.join("carol", extra: ext)["result"]?["room"]
        let tiles = room?["layout"]?["tiles"]?.arrayValue ?? []
        #expect(tiles.map { $0["id"]!.stringValue! } == ["alice", "bob"])
        #expect(tiles.map { $0["key"]!.stringValue! } == ["alice", "bob"])
        #expect(room?["layout"]?["canvas"]?["width"] == 1280)
        #expect(room?["speakers"] == ["bob"] && room?["dominantSpeaker"] == "bob")
        #expect(room?["recording"]?["id"] != nil)
        // Without the extensions, none of it.
        let plain = await h.join("dave")["result"]?["room"]
        #expect(plain?["layout"] == .null && plain?["speakers"] == .null && plain?["dominantSpeaker"] == .null)
    }

    @Test func speakingEdgesDominantSpeakerAndSpeakerLayout() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ext.merging(["mode": "mcu"]) { a, _ in a })
        _ = await h.join("bob", extra: ext)
        _ = await h.join("carol")  // no extensions: hears nothing of this
        for u in ["alice", "bob", "carol"] { _ = await h.publish(u) }
        _ = await h.result("alice", "setLayout", ["layout": "speaker"])
        _ = h.notifications("alice"); _ = h.notifications("bob"); _ = h.notifications("carol")
        let (pa, pb) = (port(h, 0), port(h, 1))
        await h.service.deliver(RoomMediaEvent(objectID: "composite-2", type: "SpeakersChanged", data: [
            "speaking": .array([.string(pb)]), "dominant": .string(pb), "levels": [pb: -20],
        ]))
        let seen = h.notifications("alice")
        #expect(seen.map(\.0) == ["participantSpeaking", "dominantSpeakerChanged", "layoutChanged"])
        #expect(seen[0].1 == ["id": "bob", "speaking": true, "level": -20])
        #expect(seen[1].1["id"] == "bob" && seen[1].1["silence"] == false)
        #expect(seen[2].1["tiles"]?[0]?["id"] == "bob")  // the dominant speaker takes the big tile
        #expect(h.notifications("carol").isEmpty)
        await h.service.deliver(RoomMediaEvent(objectID: "composite-2", type: "SpeakersChanged", data: [
            "speaking": .array([.string(pa)]), "dominant": .string(pa), "levels": [pa: -18, pb: -70],
        ]))
        let next = h.notifications("bob")
        #expect(next.contains { $0.0 == "participantSpeaking" && $0.1["id"] == "bob" && $0.1["speaking"] == false })
        #expect(next.contains { $0.0 == "dominantSpeakerChanged" && $0.1["id"] == "alice" && $0.1["previous"] == ["bob"] })
    }

    /// SFU rooms do not mix: speaking events come from the publishers' own
    /// endpoints (`SpeakingChanged`, from the RFC 6464 levels they send).
    @Test func sfuSpeakingComesFromThePublishersEndpoints() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ext)
        _ = await h.join("bob", extra: ext)
        _ = await h.join("carol")
        for u in ["alice", "bob", "carol"] { _ = await h.publish(u) }
        _ = h.notifications("alice"); _ = h.notifications("bob"); _ = h.notifications("carol")
        let publisher = { (n: Int) in h.media.made("createWebRtcEndpoint")[n] }
        let (ea, eb, ec) = (publisher(0), publisher(1), publisher(2))
        func voice(_ e: String, _ speaking: Bool, _ level: Double) async {
            await h.service.deliver(RoomMediaEvent(objectID: e, type: "SpeakingChanged", data: ["speaking": .bool(speaking), "level": .double(level)]))
        }
        await voice(eb, true, -30)
        var seen = h.notifications("alice")
        #expect(seen.map(\.0) == ["participantSpeaking", "dominantSpeakerChanged"])
        #expect(seen[0].1 == ["id": "bob", "speaking": true, "level": .double(-30)])
        #expect(seen[1].1 == ["id": "bob", "previous": [], "silence": false])
        #expect(h.notifications("carol").isEmpty)
        // carol starts, but not 6 dB louder: bob stays dominant.
        await voice(ec, true, -27)
        #expect(h.notifications("alice").map(\.0) == ["participantSpeaking"])
        // carol's next report is much louder: she takes over.
        await voice(ec, true, -15)
        seen = h.notifications("alice")
        #expect(seen.map(\.0) == ["dominantSpeakerChanged"] && seen[0].1["id"] == "carol" && seen[0].1["previous"] == ["bob"])
        await voice(eb, false, -80)
        #expect(h.notifications("alice").map { "\($0.0) \($0.1["id"]?.stringValue ?? "") \($0.1["speaking"]?.boolValue ?? true)" }
                == ["participantSpeaking bob false"])
        // carol unpublishes while speaking: her speaking ends with her stream.
        _ = await h.request("carol", "unpublishVideo")
        #expect(h.notifications("alice").contains { $0.0 == "participantSpeaking" && $0.1["id"] == "carol" && $0.1["speaking"] == false })
        // A subscriber endpoint's report (not a publisher's) is ignored, as is anything in MCU mode.
        _ = await h.request("alice", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        await voice(sub, true, -10)
        #expect(h.notifications("alice").isEmpty)
        _ = ea
    }
}

/// startRecording / stopRecording (§10.7) on the media double.
@Suite struct RoomRecordingTests {
    @Test func recordingTheCompositeOfAnSfuRoom() async {
        var options = RoomOptions()
        options.recordingDirectory = "/rec"
        let h = RoomHarness(options: options)
        _ = await h.join("alice", extra: ["extensions": ["recording"]])
        _ = await h.join("bob")
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        #expect(await h.errorCode("alice", "startRecording", ["target": "everyone"]) == 310)
        #expect(await h.errorCode("alice", "startRecording", ["format": "mp4"]) == 310)
        let r = await h.result("alice", "startRecording", ["name": "weekly sync", "format": "webm"])
        #expect(r["id"] == "rec-1" && r["status"] == "started" && r["name"] == "weekly sync")
        #expect(r["uri"] == "file:///rec/demo-weekly_sync-rec-1.webm")
        #expect(h.media.calls.contains("createRecorder(file:///rec/demo-weekly_sync-rec-1.webm, WEBM) -> recorder-5"))
        // An SFU room mixes for the recorder: both publishers feed their ports, the recorder has its own.
        let ports = h.media.made("createHubPort")
        #expect(ports.count == 3)
        #expect(h.media.connections.contains("\(ports[0])>recorder-5:VIDEO"))
        #expect(h.media.connections.contains("webrtc-2>\(ports[1]):AUDIO") && h.media.connections.contains("webrtc-3>\(ports[2]):VIDEO"))
        #expect(h.notifications("alice").contains { $0.0 == "recordingStarted" && $0.1 == ["id": "rec-1", "name": "weekly sync"] })
        #expect(await h.errorCode("alice", "startRecording") == 312)
        #expect(await h.errorCode("bob", "stopRecording", ["id": "rec-9"]) == 311)
        let stopped = await h.result("alice", "stopRecording", ["id": "rec-1"])
        #expect(stopped["status"] == "stopped" && stopped["uri"] == "file:///rec/demo-weekly_sync-rec-1.webm")
        #expect(h.media.calls.contains("stopRecorder(recorder-5)"))
        #expect(h.notifications("alice").contains { $0.0 == "recordingStopped" && $0.1["reason"] == "stoppedByUser" })
        // Back to plain SFU: the ports are gone.
        #expect(h.media.live.filter { $0.hasPrefix("port") || $0.hasPrefix("recorder") }.isEmpty)
    }

    /// `target: participants`: one file per publisher, straight from its endpoint (no mixer).
    @Test func recordingEachParticipant() async {
        var options = RoomOptions()
        options.recordingDirectory = "/rec"
        let h = RoomHarness(options: options)
        _ = await h.join("alice", extra: ["extensions": ["recording"]])
        _ = await h.join("bob")
        _ = await h.join("carol")
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        let r = await h.result("alice", "startRecording", ["target": "participants", "name": "standup", "format": "mkv", "hasVideo": false])
        #expect(r["status"] == "started" && r["target"] == "participants" && r["uri"] == "file:///rec/")
        #expect(h.media.calls.contains("createRecorder(file:///rec/demo-standup-rec-1-alice.mkv, MKV_AUDIO_ONLY) -> recorder-4"))
        #expect(h.media.calls.contains("createRecorder(file:///rec/demo-standup-rec-1-bob.mkv, MKV_AUDIO_ONLY) -> recorder-5"))
        #expect(h.media.connections.contains("webrtc-2>recorder-4:AUDIO") && !h.media.connections.contains("webrtc-2>recorder-4:VIDEO"))
        #expect(!h.media.calls.contains { $0.hasPrefix("createComposite") })  // nothing is mixed
        // carol publishes later: her file starts; bob stops: his ends; he publishes again: a second file.
        _ = await h.publish("carol")
        #expect(h.media.calls.contains { $0.hasPrefix("createRecorder(file:///rec/demo-standup-rec-1-carol.mkv") })
        _ = await h.request("bob", "unpublishVideo")
        #expect(h.media.calls.contains("stopRecorder(recorder-5)") && !h.media.live.contains("recorder-5"))
        _ = await h.publish("bob")
        #expect(h.media.calls.contains { $0.hasPrefix("createRecorder(file:///rec/demo-standup-rec-1-bob-2.mkv") })
        let stopped = await h.result("alice", "stopRecording", ["id": "rec-1"])
        let users = stopped["files"]?.arrayValue?.compactMap { $0["user"]?.stringValue }
        #expect(users == ["alice", "bob", "carol", "bob"])
        #expect(stopped["files"]?[3]?["uri"] == "file:///rec/demo-standup-rec-1-bob-2.mkv")
        #expect(h.media.live.filter { $0.hasPrefix("recorder") || $0.hasPrefix("port") }.isEmpty)
        #expect(h.notifications("alice").contains { $0.0 == "recordingStopped" && $0.1["reason"] == "stoppedByUser" })
    }

    @Test func theLastOneLeavingStopsTheRecording() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ["mode": "mcu"])
        _ = await h.publish("alice")
        _ = await h.result("alice", "startRecording")
        _ = await h.result("alice", "leaveRoom")
        #expect(h.media.calls.contains { $0.hasPrefix("stopRecorder(") })
        #expect(h.media.live.isEmpty)
    }
}
