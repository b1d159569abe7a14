import Foundation
import JSONRPC
import TestSupport
import Testing
@testable import Rooms

/// The room protocol (shared/spec/room-protocol.md §1-9) against a media
/// double: every request, notification and error code, without media.
@Suite struct RoomProtocolTests {
    @Test func joinWrapsValueAndSessionAndAnnouncesTheNewcomer() async {
        let h = RoomHarness()
        let a = await h.join("alice")
        #expect(a["result"]?["value"] == [])
        #expect(a["result"]?["sessionId"]?.stringValue?.isEmpty == false)
        #expect(a["result"]?["room"]?["mode"] == "sfu")
        #expect(a["result"]?["role"] == "moderator")
        _ = await h.publish("alice")
        let b = await h.join("bob")
        #expect(b["result"]?["value"] == [["id": "alice", "streams": [["id": "webcam"]]]])
        let seen = h.notifications("alice").filter { $0.0 == "participantJoined" }
        #expect(seen.count == 1 && seen[0].1 == ["id": "bob"])
        #expect(h.notifications("bob").isEmpty)
        #expect(h.media.calls.filter { $0.hasPrefix("createPipeline") }.count == 1)
    }

    @Test func joinErrors() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        #expect(await h.join("alice")["error"]?["code"] == 104)  // same session joins again
        await h.connect("alice2")
        #expect(await h.errorCode("alice2", "joinRoom", ["user": "alice", "room": "demo"]) == 104)
        #expect(await h.errorCode("alice2", "joinRoom", ["user": "", "room": "demo"]) == 999)
        #expect(await h.errorCode("alice2", "joinRoom", ["user": "john_doe", "room": "demo"]) == 999)
        #expect(await h.errorCode("alice2", "joinRoom", ["user": "$mcu", "room": "demo"]) == 999)
        #expect(await h.errorCode("alice2", "joinRoom", ["user": "carol"]) == -32602)
        #expect(await h.errorCode("alice2", "joinRoom", ["user": "carol", "room": "demo", "mode": "p2p"]) == 205)
        let err = await h.request("alice2", "joinRoom", ["room": "demo"])
        #expect(err["error"]?["message"] == "Request element 'user' is missing")
        #expect(err["error"]?["data"]?["sessionId"] != nil)
        #expect(err["error"]?["data"]?["stack"] == nil)
        // The room carries on.
        #expect(await h.join("carol")["result"]?["value"] == [["id": "alice"]])
    }

    @Test func publishAnswersAndAnnounces() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        _ = await h.join("bob")
        _ = h.notifications("alice")
        let r = await h.publish("alice")
        #expect(r["result"]?["sdpAnswer"] == "answer(offer-alice)")
        #expect(h.notifications("bob").map(\.0) == ["participantPublished"])
        #expect(h.notifications("alice").isEmpty)
        #expect(await h.errorCode("alice", "publishVideo", ["sdpOffer": "x", "doLoopback": false]) == 302)  // already publishing
        #expect(await h.errorCode("bob", "publishVideo", ["sdpOffer": "bad", "doLoopback": false]) == 302)
        // The failed endpoint is released; bob is not publishing.
        #expect(h.media.live.filter { $0.hasPrefix("webrtc") }.count == 1)
        #expect(await h.errorCode("bob", "unpublishVideo") == 105)
        await h.connect("nobody")
        #expect(await h.errorCode("nobody", "publishVideo", ["sdpOffer": "x", "doLoopback": false]) == 102)
        #expect(await h.errorCode("nobody", "publishVideo", ["doLoopback": false]) == -32602)
    }

    @Test func loopbackConnectsThePublisherToItself() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        _ = await h.request("alice", "publishVideo", ["sdpOffer": "o", "doLoopback": true])
        #expect(h.media.calls.contains { $0.hasPrefix("connect(webrtc-2, webrtc-2") })
    }

    @Test func subscribeRulesAndReplacement() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        _ = await h.join("bob")
        #expect(await h.errorCode("bob", "receiveVideoFrom", ["sender": "carol_webcam", "sdpOffer": "o"]) == 102)
        #expect(await h.errorCode("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"]) == 105)
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        #expect(await h.errorCode("bob", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"]) == 105)
        #expect(await h.errorCode("bob", "receiveVideoFrom", ["sender": "alice_webcam"]) == -32602)
        let r = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "sub"])
        #expect(r["result"]?["sdpAnswer"] == "answer(sub)")
        let alicePublisher = "webrtc-2"
        let first = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.connections.contains("\(alicePublisher)>\(first):VIDEO"))
        // A second subscription replaces the first once it flows (§10.8).
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "sub2"])
        let second = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.live.contains(first) && h.media.live.contains(second))
        await h.service.deliver(RoomMediaEvent(objectID: second, type: "MediaFlowOutStateChanged", data: ["state": "FLOWING", "mediaType": "VIDEO"]))
        #expect(!h.media.live.contains(first) && h.media.live.contains(second))
        // Unsubscribe releases it; a second unsubscribe is an error.
        #expect(await h.result("bob", "unsubscribeFromVideo", ["sender": "alice_webcam"])["sessionId"] != nil)
        #expect(!h.media.live.contains(second))
        #expect(await h.errorCode("bob", "unsubscribeFromVideo", ["sender": "alice_webcam"]) == 102)
    }

    @Test func iceCandidatesBothWays() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        // Trickled before the endpoint exists: kept and applied when it is made.
        _ = await h.request("alice", "onIceCandidate", ["endpointName": "alice", "candidate": "c1", "sdpMid": "0", "sdpMLineIndex": 0])
        _ = await h.publish("alice")
        #expect(h.media.calls.contains("addIceCandidate(webrtc-2, c1)"))
        _ = await h.request("alice", "onIceCandidate", ["endpointName": "alice", "candidate": "c2", "sdpMid": "audio", "sdpMLineIndex": 0])
        #expect(h.media.calls.contains("addIceCandidate(webrtc-2, c2)"))
        #expect(await h.errorCode("alice", "onIceCandidate", ["endpointName": "alice", "candidate": "c3", "sdpMid": "0"]) == -32602)
        await h.service.deliver(RoomMediaEvent(objectID: "webrtc-2", type: "IceCandidateFound", data: [
            "candidate": ["candidate": "candidate:1 1 UDP 1 127.0.0.1 40000 typ host", "sdpMid": "0", "sdpMLineIndex": 0],
        ]))
        let n = h.notifications("alice").filter { $0.0 == "iceCandidate" }
        #expect(n.count == 1 && n[0].1["endpointName"] == "alice" && n[0].1["candidate"] == "candidate:1 1 UDP 1 127.0.0.1 40000 typ host")
        // A subscriber endpoint is named after the sender it receives.
        _ = await h.join("bob")
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        await h.service.deliver(RoomMediaEvent(objectID: sub, type: "IceCandidateFound", data: ["candidate": ["candidate": "x", "sdpMid": "0", "sdpMLineIndex": 0]]))
        #expect(h.notifications("bob").first { $0.0 == "iceCandidate" }?.1["endpointName"] == "alice")
        await h.service.deliver(RoomMediaEvent(objectID: sub, type: "Error", data: ["type": "MEDIA_ERROR", "description": "boom", "errorCode": 7]))
        #expect(h.notifications("bob").first { $0.0 == "mediaError" }?.1 == ["error": "MEDIA_ERROR: boom(errCode=7)"])
    }

    /// RFC 7675: an endpoint whose peer stayed silent past the consent window
    /// reports FAILED with reason consentExpired; the room lets the owner go.
    /// Any other FAILED (e.g. libnice's own, during connection) changes nothing.
    @Test(arguments: ["publisher", "subscription"])
    func consentExpiryEvictsTheParticipant(_ which: String) async {
        let h = RoomHarness()
        _ = await h.join("alice")
        _ = await h.join("bob")
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        let bobPublisher = h.media.made("createWebRtcEndpoint").last!
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let bobSubscription = h.media.made("createWebRtcEndpoint").last!
        let endpoint = which == "publisher" ? bobPublisher : bobSubscription
        await h.service.deliver(RoomMediaEvent(objectID: endpoint, type: "IceComponentStateChanged", data: ["state": "FAILED"]))
        #expect(!h.notifications("alice").contains { $0.0 == "participantLeft" })
        await h.service.deliver(RoomMediaEvent(objectID: endpoint, type: "IceComponentStateChanged", data: [
            "state": "FAILED", "reason": "consentExpired"]))
        #expect(h.notifications("alice").contains { $0.0 == "participantLeft" && $0.1["name"] == "bob" })
        #expect(h.notifications("bob").contains { $0.0 == "participantEvicted" })
        #expect(h.media.calls.contains("release(\(bobPublisher))"))
        #expect(h.media.calls.contains("release(\(bobSubscription))"))
    }

    @Test func unpublishAndLeaveReleaseEverything() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        _ = await h.join("bob")
        _ = await h.publish("alice")
        _ = await h.publish("bob")
        _ = await h.request("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        _ = await h.request("alice", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"])
        _ = h.notifications("alice"); _ = h.notifications("bob")
        #expect(await h.result("alice", "unpublishVideo")["sessionId"] != nil)
        #expect(h.notifications("bob").map(\.0) == ["participantUnpublished"])
        #expect(h.media.live.filter { $0.hasPrefix("webrtc") }.count == 2)  // bob's publisher + alice's subscription to bob
        _ = await h.result("alice", "leaveRoom")
        #expect(h.clients["alice"]!.conn.isClosed)
        #expect(h.notifications("bob").map { $0.0 } == ["participantLeft"])
        #expect(h.media.live.filter { $0.hasPrefix("webrtc") }.count == 1)
        _ = await h.result("bob", "leaveRoom")
        #expect(h.media.live.isEmpty)  // last one out: pipeline released
        #expect(await h.service.roomNames.isEmpty)
    }

    @Test func chatGoesToEveryoneIncludingTheSender() async {
        let h = RoomHarness()
        _ = await h.join("alice")
        _ = await h.join("bob")
        _ = h.notifications("alice")
        _ = await h.result("bob", "sendMessage", ["message": "hi all", "userMessage": "bob", "roomMessage": "demo"])
        for c in ["alice", "bob"] {
            #expect(h.notifications(c).first { $0.0 == "sendMessage" }?.1 == ["room": "demo", "user": "bob", "message": "hi all"])
        }
        #expect(await h.errorCode("bob", "sendMessage", ["message": "x", "userMessage": "alice", "roomMessage": "demo"]) == 102)
        #expect(await h.errorCode("bob", "sendMessage", ["message": "x", "userMessage": "bob", "roomMessage": "other"]) == 202)
    }

    @Test func unknownMethodsMalformedJSONAndCustomRequests() async {
        let h = RoomHarness()
        await h.connect("x")
        #expect(await h.errorCode("x", "teleport") == -32601)
        #expect(await h.errorCode("x", "customRequest", ["hat": true]) == 999)
        let c = h.clients["x"]!
        await h.service.handle("{not json", from: c.id)
        #expect(c.conn.take().first?["error"]?["code"] == -32700)
        await h.service.handle(#"{"jsonrpc":"2.0","method":"ping"}"#, from: c.id)  // a notification: no answer
        #expect(c.conn.take().isEmpty)
        let pong = await h.request("x", "ping", ["interval": 3000])
        #expect(pong["result"]?["value"] == "pong")
    }

    @Test func pingWatchdogEvictsAfterTheGracePeriod() async {
        var options = RoomOptions()
        options.reconnectGrace = .seconds(5)
        let h = RoomHarness(options: options)
        _ = await h.join("alice")
        _ = await h.join("bob")
        _ = await h.publish("alice")
        _ = await h.request("alice", "ping", ["interval": 1000])
        _ = await h.request("bob", "ping", ["interval": 1000])
        _ = h.notifications("bob")
        h.clock.advance(by: .seconds(2))
        _ = await h.request("bob", "ping")
        h.clock.advance(by: .milliseconds(1500))
        await h.service.tick()
        #expect(h.clients["alice"]!.conn.isClosed)  // 3.5 s without a ping from alice
        #expect(!h.clients["bob"]!.conn.isClosed)
        #expect(h.notifications("bob").isEmpty)  // still in the grace period
        h.clock.advance(by: .seconds(5))
        _ = await h.request("bob", "ping")
        await h.service.tick()
        #expect(h.notifications("bob").map(\.0) == ["participantLeft"])
        #expect(h.media.live.filter { $0.hasPrefix("webrtc") }.isEmpty)
    }

    @Test func reconnectWithinTheGracePeriodResumes() async {
        let h = RoomHarness()
        let joined = await h.join("alice")
        let session = joined["result"]!["sessionId"]!
        _ = await h.join("bob")
        await h.service.closeConnection(h.clients["alice"]!.id)
        await h.connect("alice-again")
        #expect(await h.errorCode("alice-again", "connect", ["sessionId": "no-such-session"]) == 40007)
        let r = await h.request("alice-again", "connect", ["sessionId": session])
        #expect(r["result"]?["value"] == "reconnection successful")
        #expect(r["result"]?["sessionId"] == session)
        h.clock.advance(by: .seconds(60))
        await h.service.tick()
        #expect(h.notifications("bob").filter { $0.0 == "participantLeft" }.isEmpty)
        // The resumed client acts as alice.
        #expect(await h.result("alice-again", "publishVideo", ["sdpOffer": "o", "doLoopback": false])["sdpAnswer"] == "answer(o)")
    }

    /// What was sent while the socket was gone reaches the resumed socket, after the answer, in order.
    @Test func aResumedSessionGetsWhatItMissed() async {
        let h = RoomHarness()
        let session = (await h.join("alice"))["result"]!["sessionId"]!
        _ = await h.join("bob")
        await h.service.closeConnection(h.clients["alice"]!.id)
        _ = await h.result("bob", "sendMessage", ["message": "while you were away", "userMessage": "bob", "roomMessage": "demo"])
        _ = await h.result("bob", "publishVideo", ["sdpOffer": "o", "doLoopback": false])
        await h.connect("alice-again")
        let r = await h.request("alice-again", "connect", ["sessionId": session])
        #expect(r["result"]?["value"] == "reconnection successful")
        let missed = h.notifications("alice-again")
        #expect(missed.map(\.0) == ["sendMessage", "participantPublished"], "\(missed)")
        #expect(missed.first?.1["message"] == "while you were away")
    }

    @Test func tokensGateJoinsAndModeratorRequests() async {
        var options = RoomOptions()
        options.jwtKey = "s3cret"
        let h = RoomHarness(options: options)
        let now = h.clock.wallClockMillis / 1000
        await h.connect("alice")
        #expect(await h.errorCode("alice", "joinRoom", ["user": "alice", "room": "demo"]) == 401)
        let forged = RoomToken.sign(room: "demo", user: "alice", role: .moderator, key: "wrong", expires: now + 600)
        #expect(await h.errorCode("alice", "joinRoom", ["user": "alice", "room": "demo", "token": .string(forged)]) == 401)
        let otherRoom = RoomToken.sign(room: "other", user: "alice", role: .moderator, key: "s3cret", expires: now + 600)
        #expect(await h.errorCode("alice", "joinRoom", ["user": "alice", "room": "demo", "token": .string(otherRoom)]) == 401)
        let expired = RoomToken.sign(room: "demo", user: "alice", role: .moderator, key: "s3cret", expires: now - 31)
        #expect(await h.errorCode("alice", "joinRoom", ["user": "alice", "room": "demo", "token": .string(expired)]) == 401)
        let good = RoomToken.sign(room: "demo", user: "alice", role: .moderator, key: "s3cret", expires: now + 60)
        #expect(await h.join("alice", extra: ["token": .string(good)])["result"]?["role"] == "moderator")
        let bobToken = RoomToken.sign(room: "demo", user: "bob", role: .publisher, key: "s3cret", expires: now + 600)
        _ = await h.join("bob", extra: ["token": .string(bobToken)])
        let carolToken = RoomToken.sign(room: "demo", user: "carol", role: .subscriber, key: "s3cret", expires: now + 600)
        _ = await h.join("carol", extra: ["token": .string(carolToken)])
        #expect(await h.errorCode("bob", "setRoomMode", ["mode": "mcu"]) == 401)
        #expect(await h.errorCode("bob", "muteParticipant", ["target": "alice", "kind": "audio", "muted": true]) == 401)
        #expect(await h.errorCode("carol", "publishVideo", ["sdpOffer": "o", "doLoopback": false]) == 401)
        #expect(await h.result("alice", "setRoomMode", ["mode": "mcu"])["mode"] == "mcu")
    }

}
