import Elements
import JSONRPC
import TestSupport
import Testing
@testable import Rooms

/// Moderators' kickParticipant and closeRoom, and the operator's admin calls.
@Suite struct RoomAdminTests {
    func room(_ h: RoomHarness) async {
        _ = await h.join("alice")
        _ = await h.join("bob")
        _ = await h.join("carol")
        for u in ["alice", "bob", "carol"] { _ = await h.publish(u) }
        for u in ["alice", "bob", "carol"] { _ = h.notifications(u) }
    }

    @Test func aModeratorKicksAParticipant() async {
        let h = RoomHarness()
        await room(h)
        let r = await h.result("alice", "kickParticipant", ["target": "bob"])
        #expect(r["removed"] == "bob")
        #expect(h.notifications("bob").contains { $0.0 == "participantEvicted" && $0.1["reason"] == "kicked" })
        #expect(h.notifications("carol").contains { $0.0 == "participantLeft" && $0.1["name"] == "bob" })
        #expect(await h.service.describe(room: "demo")?["participants"]?.arrayValue?.count == 2)
        // bob's socket stays open: he is simply out of the room.
        #expect(await h.errorCode("bob", "publishVideo", ["sdpOffer": "o"]) == 102)
        #expect(await h.errorCode("alice", "kickParticipant", ["target": "zed"]) == 102)
        #expect(await h.errorCode("alice", "kickParticipant", ["target": "alice"]) == 999)
        #expect(await h.errorCode("alice", "kickParticipant", [:]) == -32602)
    }

    @Test func onlyModeratorsKickOrClose() async {
        var options = RoomOptions()
        options.jwtKey = "k"
        let h = RoomHarness(options: options)
        for (user, role) in [("alice", RoomRole.moderator), ("bob", .publisher)] {
            let token = RoomToken.sign(room: "demo", user: user, role: role, key: "k", expires: 4_000_000_000)
            #expect(await h.join(user, extra: ["token": .string(token)])["result"] != nil)
        }
        #expect(await h.errorCode("bob", "kickParticipant", ["target": "alice"]) == 401)
        #expect(await h.errorCode("bob", "closeRoom") == 401)
        #expect(await h.result("alice", "kickParticipant", ["target": "bob"])["removed"] == "bob")
    }

    @Test func closingARoomEvictsEveryoneAndReleasesItsMedia() async {
        let h = RoomHarness()
        await room(h)
        let r = await h.result("bob", "closeRoom")
        #expect(r["room"] == "demo" && r["participants"] == 3)
        for u in ["alice", "bob", "carol"] {
            let seen = h.notifications(u)
            #expect(seen.contains { $0.0 == "roomClosed" && $0.1["room"] == "demo" }, "\(u)")
            #expect(seen.contains { $0.0 == "participantEvicted" && $0.1["reason"] == "roomClosed" }, "\(u)")
        }
        #expect(await h.service.roomNames.isEmpty)
        #expect(h.media.live.isEmpty)
        // The name is free again.
        #expect(await h.join("alice")["result"] != nil)
    }

    @Test func theOperatorsView() async throws {
        let h = RoomHarness()
        await room(h)
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let rooms = await h.service.adminRooms()
        #expect(rooms == [["name": "demo", "mode": "sfu", "participants": 3, "publishers": 3, "recording": false]])
        let detail = try #require(await h.service.adminRoom("demo"))
        #expect(detail["mode"] == "sfu" && detail["layout"] == "grid" && detail["recording"] == .null)
        let bob = try #require(detail["participants"]?.arrayValue?.first { $0["name"] == "bob" })
        #expect(bob["subscriptions"] == ["alice"] && bob["publishing"] == true && bob["connected"] == true)
        #expect(await h.service.adminRoom("nope") == nil)
        // Media figures summed over the room's 4 endpoints (3 publishers, 1 subscription; fixed fake stats).
        let media = try #require(await h.service.adminRoomMedia("demo"))
        #expect(media["endpoints"] == 4 && media["packetsIn"] == 400 && media["packetsOut"] == 360 && media["packetsLost"] == 8)
        #expect(media["nacksReceived"] == 12 && media["meanRoundTripSeconds"] == 0.02 && media["maxJitterSeconds"] == 0.004)
        #expect(media["publishers"]?["alice"]?["packetsIn"] == 100)
        #expect(await h.service.adminRoomMedia("nope") == nil)

        // Mute, mode, recording, removal, closing: each as a moderator would.
        _ = try await h.service.adminMute(room: "demo", user: "carol", kind: "audio", muted: true)
        #expect(h.notifications("carol").contains { $0.0 == "streamPropertyChanged" && $0.1["reason"] == "forceMute" })
        #expect(await h.errorCode("carol", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": true]) == 307)
        let mode = try await h.service.adminSetMode(room: "demo", mode: "mcu")
        #expect(mode["mode"] == "mcu")
        let rec = try await h.service.adminStartRecording(room: "demo", [:])
        #expect(rec["status"] == "started")
        #expect(await h.service.adminRoom("demo")?["recording"]?["id"] == rec["id"])
        let stopped = try await h.service.adminStopRecording(room: "demo")
        #expect(stopped["status"] == "stopped")
        await #expect(throws: RoomError.self) { try await h.service.adminStopRecording(room: "demo") }
        _ = try await h.service.adminRemove(room: "demo", user: "bob")
        #expect(h.notifications("bob").contains { $0.0 == "participantEvicted" })
        await #expect(throws: RoomError(.userNotFound, "User 'bob' not found in room 'demo'")) {
            try await h.service.adminRemove(room: "demo", user: "bob")
        }
        #expect(try await h.service.adminCloseRoom("demo")["participants"] == 2)
        await #expect(throws: RoomError.self) { try await h.service.adminCloseRoom("demo") }
        #expect(h.media.live.isEmpty)
    }
}

@Suite struct RoomLimitTests {
    @Test func roomsAndStreamsAreCapped() async {
        var options = RoomOptions()
        options.maxRooms = 1
        options.maxStreamsPerParticipant = 2
        let refused = RecordingSink()
        options.limitRefused = { refused.send($0) }
        let h = RoomHarness(options: options)
        _ = await h.join("alice")
        _ = await h.join("bob")
        _ = await h.join("carol")
        let other = await h.join("dave", room: "second")
        #expect(other["error"]?["code"] == 208)
        #expect(other["error"]?["message"]?.stringValue?.contains("limits.maxRooms (1)") == true)
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        _ = await h.publish("carol")
        #expect(await h.request("alice", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"])["result"] != nil)
        // A third stream (one published, one subscribed) is refused; replacing one is not a new one.
        #expect(await h.errorCode("alice", "receiveVideoFrom", ["sender": "carol_webcam", "sdpOffer": "o"]) == 208)
        #expect(await h.request("alice", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"])["result"] != nil)
        #expect(refused.take() == ["limits.maxRooms", "limits.maxStreamsPerParticipant"])
    }
}
