import Foundation
import JSONRPC
import Synchronization
import TestSupport
import Testing
@testable import Rooms

/// MCU and hybrid rooms, the `$mcu` pseudo-participant, make-before-break
/// mode switches and mute (shared/spec/room-protocol.md §10).
@Suite struct RoomModeTests {
    let ext: [String: JSONValue] = ["extensions": ["mode", "mute"]]

    @Test func mcuRoomAdvertisesOnlyTheComposite() async {
        let h = RoomHarness()
        let a = await h.join("alice", extra: ["mode": "mcu"])
        #expect(a["result"]?["value"]?[0]?["id"] == "$mcu")
        #expect(a["result"]?["room"]?["composite"]?["sender"] == "$mcu_composite")
        _ = await h.publish("alice")
        let b = await h.join("bob")
        // alice publishes, but in MCU mode only $mcu carries streams.
        #expect(b["result"]?["value"] == [
            ["id": "$mcu", "streams": [["id": "composite", "composite": true, "kind": "audio+video"]]], ["id": "alice"],
        ])
        #expect(h.notifications("bob").isEmpty)
        // alice's publisher feeds her port; her composite subscription comes out of the same port (mix-minus).
        let port = h.media.made("createHubPort").first!
        #expect(h.media.connections.contains("webrtc-3>\(port):AUDIO") && h.media.connections.contains("webrtc-3>\(port):VIDEO"))
        _ = await h.request("alice", "receiveVideoFrom", ["sender": "$mcu_composite", "sdpOffer": "o"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.connections.contains("\(port)>\(sub):AUDIO") && h.media.connections.contains("\(port)>\(sub):VIDEO"))
        // bob does not publish: he gets a port of his own for output only.
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "$mcu_audio", "sdpOffer": "o"])
        #expect(h.media.calls.filter { $0.hasPrefix("createHubPort") }.count == 2)
        #expect(await h.errorCode("bob", "receiveVideoFrom", ["sender": "$mcu_hologram", "sdpOffer": "o"]) == 105)
    }

    @Test func hybridForwardsVideoAndMixesAudio() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ["mode": "hybrid"])
        _ = await h.publish("alice")
        let b = await h.join("bob")
        #expect(b["result"]?["value"]?[1] == ["id": "alice", "streams": [["id": "webcam", "recvAudio": false]]])
        #expect(b["result"]?["value"]?[0]?["streams"]?[0]?["id"] == "audio")
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.connections.contains("webrtc-3>\(sub):VIDEO") && !h.media.connections.contains("webrtc-3>\(sub):AUDIO"))
        let port = h.media.made("createHubPort").first!
        #expect(h.media.connections.contains("webrtc-3>\(port):AUDIO") && !h.media.connections.contains("webrtc-3>\(port):VIDEO"))
    }

    @Test func sfuToMcuIsMakeBeforeBreak() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ext)
        _ = await h.join("bob")
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let bobSubToAlice = h.media.made("createWebRtcEndpoint").last!
        _ = await h.request("alice", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"])
        _ = h.notifications("alice"); _ = h.notifications("bob")

        let r = await h.result("alice", "setRoomMode", ["mode": "mcu"])
        #expect(r["mode"] == "mcu" && r["previousMode"] == "sfu" && r["switchId"]?.stringValue?.hasPrefix("sw-") == true)
        #expect(await h.errorCode("alice", "setRoomMode", ["mode": "hybrid"]) == 206)  // one switch at a time
        let toAlice = h.notifications("alice")
        #expect(toAlice.map(\.0) == ["roomModeChanged", "participantPublished"])
        #expect(toAlice[0].1["phase"] == "started")
        #expect(toAlice[1].1["id"] == "$mcu")
        #expect(h.notifications("bob").map(\.0) == ["participantPublished"])  // bob did not ask for the "mode" extension
        // Nothing is torn down before the new streams flow.
        #expect(h.media.live.contains(bobSubToAlice))
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "$mcu_composite", "sdpOffer": "o"])
        let bobComposite = h.media.made("createWebRtcEndpoint").last!
        await h.service.deliver(RoomMediaEvent(objectID: bobComposite, type: "MediaFlowOutStateChanged", data: ["state": "FLOWING"]))
        #expect(h.notifications("bob") .map { "\($0.0) \($0.1["name"]?.stringValue ?? "")" } == ["participantUnpublished alice"])
        #expect(!h.media.live.contains(bobSubToAlice))
        // alice never subscribes: the switch timeout completes her part.
        h.clock.advance(by: .seconds(6))
        await h.service.tick()
        let done = h.notifications("alice")
        #expect(done.map(\.0) == ["participantUnpublished", "roomModeChanged"])
        #expect(done.last?.1["phase"] == "completed")
        #expect(await h.service.describe(room: "demo")?["mode"] == "mcu")
    }

    /// A timer tick that lands while the switch is still wiring the mixer must
    /// not complete it: the old streams stay until the new ones flow.
    @Test func aTickDuringWiringDoesNotCompleteTheSwitch() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ext)
        _ = await h.join("bob")
        _ = await h.publish("alice")
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let bobSubToAlice = h.media.made("createWebRtcEndpoint").last!
        _ = h.notifications("alice"); _ = h.notifications("bob")
        let service = h.service
        h.media.duringCreateComposite.withLock { $0 = { await service.tick() } }
        _ = await h.result("alice", "setRoomMode", ["mode": "mcu"])
        h.media.duringCreateComposite.withLock { $0 = nil }  // the hook holds the service: no cycle left behind
        #expect(h.notifications("alice").map { "\($0.0) \($0.1["phase"]?.stringValue ?? "")" } == ["roomModeChanged started", "participantPublished "])
        #expect(h.media.live.contains(bobSubToAlice))
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "$mcu_composite", "sdpOffer": "o"])
        let bobComposite = h.media.made("createWebRtcEndpoint").last!
        await h.service.deliver(RoomMediaEvent(objectID: bobComposite, type: "MediaFlowOutStateChanged", data: ["state": "FLOWING"]))
        #expect(h.notifications("bob").map(\.0) == ["participantPublished", "participantUnpublished"])
        #expect(!h.media.live.contains(bobSubToAlice))
        h.clock.advance(by: .seconds(6))
        await h.service.tick()
        #expect(h.notifications("alice").map { "\($0.0) \($0.1["phase"]?.stringValue ?? "")" } == ["roomModeChanged completed"])
    }

    @Test func mcuBackToSfuReleasesTheMixerPorts() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ["mode": "mcu"])
        _ = await h.publish("alice")
        _ = await h.join("bob")
        _ = await h.publish("bob")
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "$mcu_composite", "sdpOffer": "o"])
        _ = h.notifications("bob")
        _ = await h.result("alice", "setRoomMode", ["mode": "sfu"])
        #expect(h.notifications("bob").contains { $0.0 == "participantPublished" && $0.1["id"] == "alice" })
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        await h.service.deliver(RoomMediaEvent(objectID: sub, type: "MediaFlowOutStateChanged", data: ["state": "FLOWING"]))
        #expect(h.notifications("bob").contains { $0.0 == "participantUnpublished" && $0.1["name"] == "$mcu" })
        h.clock.advance(by: .seconds(6))
        await h.service.tick()
        #expect(h.media.live.filter { $0.hasPrefix("port") }.isEmpty)
    }

    @Test func selfAndModeratorMute() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ext)
        _ = await h.join("bob", extra: ext)
        _ = await h.publish("bob")
        _ = await h.request("alice", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"])
        _ = h.notifications("alice"); _ = h.notifications("bob")
        _ = await h.result("bob", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        #expect(h.notifications("alice").first?.1 == [
            "id": "bob", "streamId": "webcam", "property": "audioActive", "newValue": false, "reason": "publishAudio",
        ])
        _ = await h.result("alice", "muteParticipant", ["target": "bob", "kind": "video", "muted": true])
        #expect(h.notifications("bob").last?.1["reason"] == "forceMute")
        #expect(await h.errorCode("bob", "streamPropertyChanged", ["streamId": "webcam", "property": "videoActive", "newValue": true]) == 307)
        #expect(await h.errorCode("alice", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false]) == 105)
        #expect(await h.errorCode("alice", "muteParticipant", ["target": "zed", "kind": "audio", "muted": true]) == 102)
    }

    @Test func autoMcuAboveThreshold() async {
        var options = RoomOptions()
        options.autoMCUThreshold = 3
        let h = RoomHarness(options: options)
        _ = await h.join("a")
        _ = await h.join("b")
        #expect(await h.service.describe(room: "demo")?["mode"] == "sfu")
        _ = await h.join("c")
        for _ in 0..<50 where await h.service.describe(room: "demo")?["mode"] != "mcu" { await Task.yield() }
        #expect(await h.service.describe(room: "demo")?["mode"] == "mcu")
    }
}

@Suite struct RoomMuteTests {
    @Test func muteRoomAndReceiverSideMute() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        _ = await h.join("bob", extra: ["extensions": ["mute"]])
        _ = await h.join("carol")
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        _ = await h.publish("carol")
        _ = h.notifications("bob")
        // Everyone is a moderator on an open server; exceptModerators: false mutes everyone.
        let r = await h.result("alice", "muteRoom", ["kind": "audio", "muted": true, "exceptModerators": false])
        #expect(r["participants"] == ["alice", "bob", "carol"])
        #expect(h.notifications("bob").filter { $0.0 == "streamPropertyChanged" && $0.1["reason"] == "forceMute" }.count == 3)
        #expect(await h.errorCode("bob", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": true]) == 307)
        _ = await h.result("alice", "muteRoom", ["kind": "audio", "muted": false, "exceptModerators": false])
        #expect(await h.errorCode("alice", "muteRoom", ["kind": "smell", "muted": true]) == -32602)

        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.connections.contains("webrtc-2>\(sub):AUDIO"))
        _ = await h.result("bob", "muteSubscribedMedia", ["sender": "alice_webcam", "kind": "audio"])
        #expect(!h.media.connections.contains("webrtc-2>\(sub):AUDIO") && h.media.connections.contains("webrtc-2>\(sub):VIDEO"))
        _ = await h.result("bob", "unmuteSubscribedMedia", ["sender": "alice_webcam"])
        #expect(h.media.connections.contains("webrtc-2>\(sub):AUDIO"))
        #expect(await h.errorCode("bob", "muteSubscribedMedia", ["sender": "carol_webcam"]) == 102)
    }

    /// §10.5: in a mixing room, muteSubscribedMedia takes the sender out of the caller's own mix.
    @Test func receiverSideMuteInMcuMode() async {
        let h = RoomHarness()
        _ = await h.join("alice", extra: ["mode": "mcu"])
        _ = await h.join("bob")
        _ = await h.join("carol")
        for u in ["alice", "bob", "carol"] { _ = await h.publish(u) }
        let ports = h.media.made("createHubPort")
        let composite = h.media.made("createComposite").first!
        _ = h.media.takeCalls()
        let r = await h.result("alice", "muteSubscribedMedia", ["sender": "bob_webcam", "kind": "audio"])
        #expect(r["sender"] == "bob_webcam" && r["muted"] == true)
        #expect(h.media.takeCalls() == ["setMixExclusions(\(composite), \(ports[0]), \(ports[1]))"])
        _ = await h.result("alice", "muteSubscribedMedia", ["sender": "carol", "kind": "audio"])
        #expect(h.media.takeCalls() == ["setMixExclusions(\(composite), \(ports[0]), \(ports[1]),\(ports[2]))"])
        // One picture for everyone: a tile cannot be hidden for one viewer.
        #expect(await h.errorCode("alice", "muteSubscribedMedia", ["sender": "bob_webcam", "kind": "video"]) == 307)
        #expect(h.media.takeCalls().isEmpty)  // nothing changed
        _ = await h.result("alice", "muteSubscribedMedia", ["sender": "carol_webcam"])  // all kinds: the mix only
        #expect(h.media.takeCalls() == ["setMixExclusions(\(composite), \(ports[0]), \(ports[1]),\(ports[2]))"])
        #expect(await h.errorCode("alice", "muteSubscribedMedia", ["sender": "$mcu_composite", "kind": "audio"]) == 307)
        #expect(await h.errorCode("alice", "muteSubscribedMedia", ["sender": "nobody_webcam", "kind": "audio"]) == 102)
        _ = await h.result("alice", "unmuteSubscribedMedia", ["sender": "bob_webcam"])
        #expect(h.media.takeCalls() == ["setMixExclusions(\(composite), \(ports[0]), \(ports[2]))"])
        // Through a switch to SFU and back the mute stays: the new ports get it again.
        _ = await h.result("alice", "setRoomMode", ["mode": "sfu"])
        h.clock.advance(by: .seconds(6))
        await h.service.tick()
        #expect(h.media.live.filter { $0.hasPrefix("port") }.isEmpty)
        _ = h.media.takeCalls()
        _ = await h.result("alice", "setRoomMode", ["mode": "mcu"])
        let newPorts = h.media.made("createHubPort")
        #expect(h.media.calls.last { $0.hasPrefix("setMixExclusions") } == "setMixExclusions(\(composite), \(newPorts[0]), \(newPorts[2]))")
        // Back in SFU mode, a subscription to carol carries her video only.
        _ = await h.result("alice", "setRoomMode", ["mode": "sfu"])
        h.clock.advance(by: .seconds(6))
        await h.service.tick()
        _ = await h.request("alice", "receiveVideoFrom", ["sender": "carol_webcam", "sdpOffer": "o"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.connections.contains { $0.hasSuffix(">\(sub):VIDEO") } && !h.media.connections.contains { $0.hasSuffix(">\(sub):AUDIO") })
    }
}
