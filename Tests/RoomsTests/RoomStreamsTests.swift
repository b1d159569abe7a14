import Foundation
import JSONRPC
import TestSupport
import Testing
@testable import Rooms

/// Extension `streams`: several published streams per participant (camera,
/// screen, extra audio), each on its own endpoint; legacy clients see the first.
@Suite struct RoomStreamsTests {
    let aware: [String: JSONValue] = ["extensions": ["streams", "layout"]]

    func publishScreen(_ h: RoomHarness, _ user: String, id: String = "screen") async -> JSONValue {
        await h.request(user, "publishVideo", ["sdpOffer": "offer", "doLoopback": false, "streamId": .string(id)])
    }

    @Test func aScreenBesideTheCameraIsSeenByAwareClientsOnly() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: aware)
        _ = await h.join("bob", extra: aware)
        _ = await h.join("carol")  // legacy
        _ = await h.publish("alice")
        _ = h.notifications("bob")
        _ = h.notifications("carol")
        let r = await publishScreen(h, "alice")
        #expect(r["result"]?["streamId"] == "screen" && r["result"]?["sdpAnswer"] != nil)
        let bobSaw = h.notifications("bob").filter { $0.0 == "participantPublished" }
        #expect(bobSaw.count == 1)
        #expect(bobSaw.first?.1 == ["id": "alice", "streams": [["id": "webcam", "source": "camera"], ["id": "screen", "source": "screen"]]])
        #expect(!h.notifications("carol").contains { $0.0 == "participantPublished" })
        // A late joiner: aware clients get both streams, legacy ones the first only.
        let dave = await h.join("dave", extra: aware)
        #expect(dave["result"]?["value"]?.arrayValue?.first { $0["id"] == "alice" }?["streams"]?.arrayValue?.count == 2)
        let erin = await h.join("erin")
        #expect(erin["result"]?["value"]?.arrayValue?.first { $0["id"] == "alice" }?["streams"] == [["id": "webcam"]])
    }

    @Test func subscribingToEachStreamConnectsItsOwnEndpoint() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: aware)
        _ = await h.join("bob", extra: aware)
        _ = await h.publish("alice")  // webrtc-2
        _ = await publishScreen(h, "alice")  // webrtc-3
        #expect(await h.result("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])["sdpAnswer"] != nil)  // webrtc-4
        #expect(await h.result("bob", "receiveVideoFrom", ["sender": "alice_screen", "sdpOffer": "o"])["sdpAnswer"] != nil)  // webrtc-5
        #expect(h.media.connections.contains("webrtc-2>webrtc-4:AUDIO") && h.media.connections.contains("webrtc-3>webrtc-5:VIDEO"))
        #expect(await h.errorCode("bob", "receiveVideoFrom", ["sender": "alice_slides", "sdpOffer": "o"]) == nil)  // unknown id: the first stream, as legacy clients name it
        // ICE: the publisher names its screen endpoint alice_screen, the subscriber alice_screen too.
        _ = h.media.takeCalls()
        _ = await h.request("alice", "onIceCandidate", ["endpointName": "alice_screen", "candidate": "c1", "sdpMid": "0", "sdpMLineIndex": 0])
        _ = await h.request("bob", "onIceCandidate", ["endpointName": "alice_screen", "candidate": "c2", "sdpMid": "0", "sdpMLineIndex": 0])
        _ = await h.request("alice", "onIceCandidate", ["endpointName": "alice", "candidate": "c3", "sdpMid": "0", "sdpMLineIndex": 0])
        #expect(h.media.calls.contains("addIceCandidate(webrtc-3, c1)"))
        #expect(h.media.calls.contains("addIceCandidate(webrtc-5, c2)"))
        #expect(h.media.calls.contains("addIceCandidate(webrtc-2, c3)"))
        // The camera off leaves the screen on for its viewer.
        _ = await h.request("alice", "streamPropertyChanged", ["property": "videoActive", "newValue": false])
        #expect(h.media.connections.contains("webrtc-3>webrtc-5:VIDEO"))
        // Unpublishing the screen: its subscribers are told with the stream id, its endpoints go.
        _ = h.notifications("bob")
        #expect(await h.request("alice", "unpublishVideo", ["streamId": "screen"])["error"] == nil)
        #expect(h.notifications("bob").contains { $0.0 == "participantUnpublished" && $0.1 == ["name": "alice", "streamId": "screen"] })
        #expect(!h.media.live.contains("webrtc-3") && !h.media.live.contains("webrtc-5") && h.media.live.contains("webrtc-2"))
        #expect(await h.errorCode("alice", "unpublishVideo", ["streamId": "screen"]) == 105)
    }

    @Test func publishingRulesAndLimits() async {
        var options = RoomOptions()
        options.maxStreamsPerParticipant = 3
        let h = RoomHarness(options: options)
        _ = await h.join("alice", extra: aware)
        _ = await h.publish("alice")
        // A second stream needs a name; the same name twice is refused.
        #expect(await h.errorCode("alice", "publishVideo", ["sdpOffer": "o"]) == 302)
        #expect(await h.errorCode("alice", "publishVideo", ["sdpOffer": "o", "streamId": "webcam"]) == 302)
        #expect(await h.errorCode("alice", "publishVideo", ["sdpOffer": "o", "streamId": "a_b"]) == -32602)
        #expect(await h.errorCode("alice", "publishVideo", ["sdpOffer": "o", "streamId": "x", "source": "hologram"]) == -32602)
        #expect(await publishScreen(h, "alice")["result"] != nil)
        #expect(await h.errorCode("alice", "publishVideo", ["sdpOffer": "o", "streamId": "screen"]) == 302)
        #expect(await h.request("alice", "publishVideo", ["sdpOffer": "o", "streamId": "mic2", "source": "audio"])["result"] != nil)
        #expect(await h.errorCode("alice", "publishVideo", ["sdpOffer": "o", "streamId": "cam2"]) == 208)  // three streams held
        // unpublishVideo without a streamId stops every stream.
        #expect(await h.request("alice", "unpublishVideo")["error"] == nil)
        #expect(h.media.live.filter { $0.hasPrefix("webrtc") }.isEmpty)
        #expect(await h.errorCode("alice", "unpublishVideo") == 105)
    }

    @Test func leavingReleasesEveryStream() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: aware.merging(["mode": "mcu"]) { a, _ in a })
        _ = await h.join("bob", extra: aware)
        _ = await h.publish("alice")
        _ = await publishScreen(h, "alice")
        _ = await h.publish("bob")
        _ = await h.request("bob", "leaveRoom")
        _ = await h.request("alice", "leaveRoom")
        #expect(h.media.live.isEmpty, "left: \(h.media.live.sorted())")
    }

    @Test func aScreenInAMixingRoomGetsAPortAndThePresentationLayout() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: aware.merging(["mode": "mcu"]) { a, _ in a })
        _ = await h.join("bob", extra: aware)
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        let ports = h.media.made("createHubPort")
        #expect(ports.count == 2)
        _ = h.notifications("alice")
        _ = await publishScreen(h, "bob")
        let screenPort = h.media.made("createHubPort").last!
        #expect(h.media.made("createHubPort").count == 3)
        // The screen feeds its own port, both kinds (MCU); bob does not hear his own screen.
        let screenEndpoint = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.connections.contains("\(screenEndpoint)>\(screenPort):VIDEO"))
        #expect(h.media.calls.contains("setMixExclusions(composite-2, \(ports[1]), \(screenPort))"))
        // The default grid becomes a presentation: the screen first, large.
        #expect(h.media.calls.last { $0.hasPrefix("setLayout") } == "setLayout(composite-2, presentation, \(screenPort),\(ports[0]),\(ports[1]))")
        let change = h.notifications("alice").last { $0.0 == "layoutChanged" }!.1
        #expect(change["layout"] == "presentation")
        let tiles = change["tiles"]!.arrayValue!
        #expect(tiles.map { $0["streamId"]!.stringValue! } == ["screen", "webcam", "webcam"])
        #expect(tiles[0]["id"] == "bob" && tiles[0]["source"] == "screen" && tiles[0]["w"]?.doubleValue == 0.8)
        // The screen stops: a grid again, and its port is gone.
        _ = await h.request("bob", "unpublishVideo", ["streamId": "screen"])
        #expect(h.media.calls.last { $0.hasPrefix("setLayout") } == "setLayout(composite-2, grid, \(ports[0]),\(ports[1]))")
        #expect(!h.media.live.contains(screenPort))
        // A moderator's choice sticks: a grid chosen stays a grid while a screen is shared.
        _ = await h.result("alice", "setLayout", ["layout": "grid"])
        _ = await publishScreen(h, "bob")
        #expect(h.media.calls.last { $0.hasPrefix("setLayout") }?.hasPrefix("setLayout(composite-2, grid,") == true)
        _ = await h.result("alice", "setLayout", ["layout": "presentation"])
        #expect(h.media.calls.last { $0.hasPrefix("setLayout") }?.hasPrefix("setLayout(composite-2, presentation, \(h.media.made("createHubPort").last!)") == true)
    }

    @Test func aModeSwitchCarriesTheExtraStreams() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: aware.merging(["mode": "mcu"]) { a, _ in a })
        _ = await h.join("bob", extra: aware)
        _ = await h.join("carol")  // legacy
        _ = await h.publish("alice")
        _ = await publishScreen(h, "alice")
        _ = h.notifications("bob")
        _ = h.notifications("carol")
        _ = await h.result("alice", "setRoomMode", ["mode": "sfu"])
        #expect(h.notifications("bob").contains { $0.0 == "participantPublished" && $0.1["streams"]?.arrayValue?.count == 2 })
        #expect(h.notifications("carol").contains { $0.0 == "participantPublished" && $0.1["streams"] == [["id": "webcam"]] })
        // Back in SFU mode nothing is mixed: every port, the screen's too, is gone.
        h.clock.advance(by: .seconds(10))
        await h.service.tick()
        #expect(h.media.live.filter { $0.hasPrefix("port") }.isEmpty)
    }

    @Test func participantsRecordingWritesAFilePerStream() async {
        var options = RoomOptions()
        options.recordingDirectory = "/rec"
        let h = RoomHarness(options: options)
        _ = await h.join("alice", extra: aware)
        _ = await h.publish("alice")
        _ = await publishScreen(h, "alice")
        _ = await h.result("alice", "startRecording", ["target": "participants", "name": "talk"])
        #expect(h.media.calls.contains { $0.hasPrefix("createRecorder(file:///rec/demo-talk-rec-1-alice.webm") })
        #expect(h.media.calls.contains { $0.hasPrefix("createRecorder(file:///rec/demo-talk-rec-1-alice-screen.webm") })
        let stopped = await h.result("alice", "stopRecording", ["id": "rec-1"])
        #expect(stopped["files"]?.arrayValue?.map { $0["streamId"] ?? .null } == [.null, "screen"])
    }
}
