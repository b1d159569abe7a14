import JSONRPC
import TestSupport
import Testing
@testable import Rooms

/// A mute stays a mute: for a participant who joins later, through mode
/// switches, and when the other side of a mute changes (production issue:
/// "a muted participant is heard again").
@Suite struct RoomMuteKeptTests {
    /// Every connection from `source` to `sink`, as kinds.
    func kinds(_ h: RoomHarness, _ source: String, _ sink: String) -> Set<String> {
        Set(h.media.connections.filter { $0.hasPrefix("\(source)>\(sink):") }.map { String($0.split(separator: ":").last!) })
    }

    func subscribe(_ h: RoomHarness, _ viewer: String, to sender: String) async -> String {
        _ = await h.result(viewer, "receiveVideoFrom", ["sender": .string("\(sender)_webcam"), "sdpOffer": "o"])
        return h.media.made("createWebRtcEndpoint").last!
    }

    @Test func aSelfMutedPublisherIsNotHeardBySomeoneWhoJoinsLater() async {
        let h = RoomHarness()
        _ = await h.join("carol")
        _ = await h.publish("carol")
        let carol = h.media.made("createWebRtcEndpoint").last!
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        _ = await h.join("dave")
        let sub = await subscribe(h, "dave", to: "carol")
        #expect(kinds(h, carol, sub) == ["VIDEO"])
        // She unmutes: dave hears her.
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": true])
        #expect(kinds(h, carol, sub) == ["AUDIO", "VIDEO"])
        // Camera off: a later viewer gets her audio only.
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "videoActive", "newValue": false])
        #expect(kinds(h, carol, sub) == ["AUDIO"])
        _ = await h.join("erin")
        let late = await subscribe(h, "erin", to: "carol")
        #expect(kinds(h, carol, late) == ["AUDIO"])
    }

    @Test(arguments: [RoomMode.mcu, .hybrid])
    func aMuteSurvivesASwitchToSFU(from mode: RoomMode) async {
        let h = RoomHarness()
        _ = await h.join("carol", extra: ["mode": .string(mode.rawValue)])
        _ = await h.join("bob")
        _ = await h.publish("carol")
        _ = await h.publish("bob")
        let carol = h.media.made("createWebRtcEndpoint")[0]
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        // In the mixer, carol's port gets no audio.
        let port = h.media.made("createHubPort")[0]
        #expect(!kinds(h, carol, port).contains("AUDIO"))
        _ = await h.result("bob", "setRoomMode", ["mode": "sfu"])
        let sub = await subscribe(h, "bob", to: "carol")
        #expect(kinds(h, carol, sub) == ["VIDEO"])
    }

    @Test func hybridForwardsNoAudioWhenThePublisherUnmutes() async {
        let h = RoomHarness()
        _ = await h.join("carol", extra: ["mode": "hybrid"])
        _ = await h.join("bob")
        _ = await h.publish("carol")
        let carol = h.media.made("createWebRtcEndpoint")[0]
        let sub = await subscribe(h, "bob", to: "carol")
        #expect(kinds(h, carol, sub) == ["VIDEO"])
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": true])
        // Her audio reaches bob through the mix, not a second time on the forwarded stream.
        #expect(kinds(h, carol, sub) == ["VIDEO"])
        let port = h.media.made("createHubPort")[0]
        #expect(kinds(h, carol, port) == ["AUDIO"])
    }

    @Test func aViewersOwnMuteOutlivesThePublishersToggles() async {
        let h = RoomHarness()
        _ = await h.join("carol")
        _ = await h.join("bob", extra: ["extensions": ["mute"]])
        _ = await h.publish("carol")
        let carol = h.media.made("createWebRtcEndpoint")[0]
        let sub = await subscribe(h, "bob", to: "carol")
        _ = await h.result("bob", "muteSubscribedMedia", ["sender": "carol_webcam", "kind": "video"])
        _ = await h.result("bob", "muteSubscribedMedia", ["sender": "carol_webcam", "kind": "audio"])
        #expect(kinds(h, carol, sub).isEmpty)
        for property in ["videoActive", "audioActive"] {
            _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": .string(property), "newValue": false])
            _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": .string(property), "newValue": true])
        }
        #expect(kinds(h, carol, sub).isEmpty)
        // Unmuting for himself while she is muted gives him nothing of hers either.
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        _ = await h.result("bob", "unmuteSubscribedMedia", ["sender": "carol_webcam"])
        #expect(kinds(h, carol, sub) == ["VIDEO"])
    }

    @Test func aLateJoinerIsToldWhoIsMuted() async {
        let h = RoomHarness()
        _ = await h.join("carol")
        _ = await h.join("bob")
        _ = await h.publish("carol")
        _ = await h.publish("bob")
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        _ = await h.result("carol", "muteParticipant", ["target": "bob", "kind": "video", "muted": true])
        let join = await h.join("dave")
        #expect(join["result"] != nil)
        let told = h.notifications("dave").filter { $0.0 == "streamPropertyChanged" }.map(\.1)
        #expect(told == [
            ["id": "carol", "streamId": "webcam", "property": "audioActive", "newValue": false, "reason": "publishAudio"],
            ["id": "bob", "streamId": "webcam", "property": "videoActive", "newValue": false, "reason": "forceMute"],
        ])
    }

    @Test func aMutedPublisherIsSilentInItsOwnRecording() async {
        let h = RoomHarness()
        _ = await h.join("carol")
        _ = await h.publish("carol")
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        _ = h.media.takeCalls()
        _ = await h.result("carol", "startRecording", ["target": "participants"])
        let recorder = h.media.made("createRecorder").last!
        #expect(h.media.calls.contains("setRecorderAudioMuted(\(recorder), true)"))
        _ = await h.result("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": true])
        #expect(h.media.calls.last { $0.hasPrefix("setRecorderAudioMuted") } == "setRecorderAudioMuted(\(recorder), false)")
    }

    @Test func aSecondJoinOnTheSameSocketLeavesTheFirstIntact() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        #expect(await h.join("alice")["error"]?["code"] == 104)
        #expect(await h.join("alice", room: "other")["error"]?["code"] == 104)
        #expect(await h.request("alice", "joinRoom", ["user": "alicia", "room": "demo"])["error"]?["code"] == 104)
        #expect(await h.publish("alice")["result"]?["sdpAnswer"] != nil)
        _ = await h.join("bob")
        let seen = h.notifications("bob").map(\.0)
        #expect(!seen.contains("participantLeft"))
        #expect(await h.service.describe(room: "demo")?["participants"]?.arrayValue?.count == 2)
        #expect(await h.service.roomNames == ["demo"])
    }
}

/// Names that would be markup in a page, control characters or too long are refused.
@Suite struct RoomNameTests {
    @Test(arguments: ["<img src=x onerror=alert(1)>", "bob\u{0}", "eve\nmallory", "a\u{202E}b", "x\"y", "o'neil", "tick`", "a&b",
                      String(repeating: "n", count: 65)])
    func refused(_ name: String) async {
        let h = RoomHarness()
        let r = await h.join(name)
        #expect(r["error"]?["code"] == 999, "\(name)")
        let room = await h.request(name, "joinRoom", ["user": "alice", "room": .string(name)])
        #expect(room["error"]?["code"] == 999)
        #expect(await h.service.roomNames.isEmpty)
    }

    @Test(arguments: ["alice", "José María", "李小龙", "d-ave.9", String(repeating: "n", count: 64), "👩‍💻 ana"])
    func accepted(_ name: String) async {
        let h = RoomHarness()
        #expect(await h.join(name)["result"] != nil, "\(name)")
    }
}
