import JSONRPC
import Synchronization
import TestSupport
import Testing
@testable import Rooms

/// Cascaded rooms (docs/cluster.md) between two room services in one
/// process: `owner` (node n1) holds the room, `host` (node n2) hosts the
/// participants that join it. The link is pumped by hand, so every step is
/// deterministic: `pump()` carries the messages waiting on either side.
@Suite struct RoomCascadeTests {
    /// Messages from the hosting node to the owner, waiting for `pump`.
    final class Outbox: CascadeTransport {
        let queue = Mutex<[JSONValue]>([])
        let closed = Mutex(false)
        func send(_ message: JSONValue) { queue.withLock { $0.append(message) } }
        func close() { closed.withLock { $0 = true } }
        func take() -> [JSONValue] { queue.withLock { q in defer { q = [] }; return q } }
    }

    final class Cluster: @unchecked Sendable {
        let owner: RoomHarness
        let host: RoomHarness
        let outbox = Outbox()
        static let secret = "shared-secret"

        /// `placeAfterLoss`: where the room is placed when the hosting node asks
        /// again (its owner died); nil: nowhere, and the hosting node gives up at once.
        /// `capacity`: the owner's cluster.participantsPerNode (0: none).
        init(limit: Int = 1, capacity: Int = 0, placeAfterLoss: String? = nil) async {
            let options = RoomOptions()
            owner = RoomHarness(options: options)
            host = RoomHarness(options: options)
            await owner.connect("$link")
            let owner = self.owner, outbox = self.outbox
            var ownerSettings = CascadeSettings(node: "n1", secret: Self.secret, maxParticipantsPerNode: limit) { _, _ in
                throw RoomError(.generic, "the owner links to nobody")
            }
            ownerSettings.participantsPerNode = capacity
            await owner.service.enableCascade(ownerSettings)
            var settings = CascadeSettings(node: "n2", secret: Self.secret, maxParticipantsPerNode: limit, connect: { room, _ in
                let answer = await owner.request("$link", "cascadeAttach", ["room": .string(room), "node": "n2", "secret": .string(Self.secret)])
                guard let roster = answer["result"] else { throw RoomError(.unauthorized, "refused: \(answer)") }
                return CascadeAttachment(transport: outbox, roster: roster, start: {})
            }, place: { _ in
                guard let placeAfterLoss else { throw RoomError(.generic, "no node can take the room") }
                return placeAfterLoss
            })
            if placeAfterLoss == nil { settings.reattachFor = .zero }
            await host.service.enableCascade(settings)
        }

        /// Carries every waiting message both ways until none is left.
        func pump() async {
            while true {
                let down = owner.clients["$link"]!.conn.take().filter { $0["method"] == "cascade" }
                let up = outbox.take()
                if down.isEmpty && up.isEmpty { return }
                for m in down { await host.service.cascadeReceived(m["params"]?.objectValue ?? [:], room: "big", from: "n1") }
                for m in up {
                    let text = RPCCodec.notification(method: "cascade", params: m)
                    await owner.service.handle(text, from: owner.clients["$link"]!.id)
                }
            }
        }
    }

    func methods(_ notes: [(String, JSONValue)]) -> [String] { notes.map(\.0) }

    @Test func aParticipantOnTheHostingNodeSeesTheOwnersAndIsSeenThere() async {
        let c = await Cluster()
        _ = await c.owner.join("alice", room: "big")
        _ = await c.owner.publish("alice")
        // n1 hosts one: a second join there is refused as nodeFull.
        #expect(await c.owner.join("eve", room: "big")["error"]?["code"] == 209)
        // bob's join comes to n2, which hosts it for n1.
        await c.host.service.hostRelayRoom("big", owner: "n1")
        let joined = await c.host.join("bob", room: "big")
        #expect(joined["result"]?["value"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["alice"])
        await c.pump()
        // alice's stream crossed: an RtpEndpoint on n1 offered it, one on n2 answered.
        #expect(c.owner.media.calls.contains { $0.hasPrefix("generateOffer(") })
        #expect(c.host.media.calls.contains { $0.hasPrefix("answerLink(") })
        #expect(c.owner.media.calls.contains { $0.hasPrefix("processAnswer(") })
        #expect(methods(c.host.notifications("bob")).contains("participantPublished"))
        #expect(methods(c.owner.notifications("alice")) == ["participantJoined"])
        // bob subscribes to alice on n2: to the RtpEndpoint standing in for her.
        let standIn = c.host.media.made("createLinkEndpoint").first!
        _ = await c.host.result("bob", "receiveVideoFrom", ["sender": "alice_webcam", "sdpOffer": "o"])
        let sub = c.host.media.made("createWebRtcEndpoint").last!
        #expect(c.host.media.connections.contains("\(standIn)>\(sub):VIDEO"))
        // bob publishes: alice is told, and can subscribe on n1.
        _ = await c.host.publish("bob")
        await c.pump()
        #expect(methods(c.owner.notifications("alice")) == ["participantPublished"])
        _ = await c.owner.result("alice", "receiveVideoFrom", ["sender": "bob_webcam", "sdpOffer": "o"])
        #expect(await c.owner.service.describe(room: "big")?["participants"]?.arrayValue?.count == 2)

        // A mute crosses, and so does chat.
        _ = await c.owner.result("alice", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": false])
        _ = await c.host.result("bob", "sendMessage", ["message": "hi", "userMessage": "bob", "roomMessage": "big"])
        await c.pump()
        let bobSaw = c.host.notifications("bob")
        #expect(bobSaw.contains { $0.0 == "streamPropertyChanged" && $0.1["id"] == "alice" && $0.1["newValue"] == false })
        #expect(c.host.media.connections.contains("\(standIn)>\(sub):AUDIO") == false)
        #expect(c.owner.notifications("alice").contains { $0.0 == "sendMessage" && $0.1["message"] == "hi" && $0.1["user"] == "bob" })

        // bob asks for MCU on n2: the owner switches, and n2 follows.
        let answer = await c.host.result("bob", "setRoomMode", ["mode": "mcu"])
        #expect(answer["node"] == "n1")
        await c.pump()
        #expect(await c.owner.service.describe(room: "big")?["mode"] == "mcu")
        #expect(await c.host.service.describe(room: "big")?["mode"] == "mcu")

        // bob leaves: n2 lets the room go and closes its link; alice sees him leave.
        _ = await c.host.result("bob", "leaveRoom")
        await c.pump()
        #expect(c.outbox.closed.withLock { $0 })
        #expect(await c.host.service.roomNames.isEmpty)
        #expect(c.owner.notifications("alice").contains { $0.0 == "participantLeft" && $0.1["name"] == "bob" })
        #expect(await c.owner.service.describe(room: "big")?["participants"]?.arrayValue?.count == 1)
        #expect(c.host.media.live.isEmpty)
    }

    @Test func everyNodeDrawsTheLayoutAModeratorChoseOnAny() async {
        let c = await Cluster()
        _ = await c.owner.join("alice", room: "big", extra: ["mode": "mcu", "extensions": ["layout"]])
        _ = await c.owner.publish("alice")
        await c.host.service.hostRelayRoom("big", owner: "n1")
        _ = await c.host.join("bob", room: "big", extra: ["extensions": ["layout"]])
        _ = await c.host.publish("bob")
        await c.pump()
        // The hosting node took the owner's mode, and puts the owner's participants first.
        #expect(await c.host.service.describe(room: "big")?["mode"] == "mcu")
        #expect(await c.host.service.describe(room: "big")?["participants"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["alice", "bob"])
        _ = c.host.notifications("bob")
        _ = c.owner.notifications("alice")
        // alice (n1) chooses a custom layout: n2 draws it for bob.
        let tiles: JSONValue = [["id": "bob", "x": 0, "y": 0, "w": 1, "h": 1], ["id": "alice", "x": 0.7, "y": 0.7, "w": 0.3, "h": 0.3, "z": 1]]
        _ = await c.owner.result("alice", "setLayout", ["layout": "custom", "tiles": tiles])
        await c.pump()
        let drawn = c.host.notifications("bob").last { $0.0 == "layoutChanged" }?.1
        #expect(drawn?["layout"] == "custom")
        #expect(drawn?["tiles"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["bob", "alice"])
        // bob (n2) asks for pip: the owner chooses it, and both nodes draw it.
        let answer = await c.host.result("bob", "setLayout", ["layout": "pip"])
        #expect(answer["node"] == "n1")
        await c.pump()
        #expect(c.owner.notifications("alice").last { $0.0 == "layoutChanged" }?.1["layout"] == "pip")
        #expect(c.host.notifications("bob").last { $0.0 == "layoutChanged" }?.1["layout"] == "pip")
    }

    @Test func aHostingNodeWhoseOwnerDiedHoldsTheRoomWhenItIsPlacedThere() async {
        let c = await Cluster(limit: 2, placeAfterLoss: "n2")
        _ = await c.owner.join("alice", room: "big")
        await c.host.service.hostRelayRoom("big", owner: "n1")
        _ = await c.host.join("bob", room: "big", extra: ["extensions": ["cluster"]])
        _ = await c.host.publish("bob")
        await c.pump()
        _ = c.host.notifications("bob")
        // n1 is gone: alice leaves bob's room, bob keeps his session and his stream, and n2 holds the room.
        await c.host.service.cascadeLinkEnded(room: "big", node: "n1")
        #expect(await waitUntil { await c.host.service.hostsRelayRoom("big") == false && c.host.clients["bob"]!.conn.isClosed == false })
        let bobSaw = c.host.notifications("bob")
        #expect(bobSaw.contains { $0.0 == "participantLeft" && $0.1["name"] == "alice" })
        #expect(!bobSaw.contains { $0.0 == "roomMoved" })
        #expect(await waitUntil { await c.host.service.describe(room: "big")?["participants"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["bob"] })
        // A join of the room now stays on n2, as on any owner.
        _ = await c.host.join("carol", room: "big")
        #expect(c.host.notifications("bob").contains { $0.0 == "participantJoined" && $0.1["id"] == "carol" })
    }

    @Test func aNodeAtItsCapacityLetsAnotherNodeHostAJoinItOffersToHost() async {
        let c = await Cluster(limit: 0, capacity: 2)
        _ = await c.owner.join("alice", room: "big")
        _ = await c.owner.join("bob", room: "big")
        // At its capacity: a join another node offers to host goes there...
        #expect(await c.owner.join("carol", room: "big", extra: ["cascadeHop": true])["error"]?["code"] == 209)
        // ...and one that nobody else can host is taken (the capacity steers, it does not refuse).
        #expect(await c.owner.join("dave", room: "big")["result"] != nil)
    }

    @Test func aModeratorMutesKicksAndClosesAcrossNodes() async {
        let c = await Cluster(limit: 2)
        _ = await c.owner.join("alice", room: "big")
        _ = await c.owner.join("erin", room: "big")
        await c.host.service.hostRelayRoom("big", owner: "n1")
        _ = await c.host.join("bob", room: "big")
        _ = await c.host.publish("bob")
        _ = await c.host.join("carol", room: "big")
        await c.pump()
        _ = c.owner.notifications("alice")
        _ = c.host.notifications("bob")
        // alice (n1) mutes bob (n2): n2 applies it, bob cannot undo it, and everyone sees why.
        _ = await c.owner.result("alice", "muteParticipant", ["target": "bob", "kind": "audio", "muted": true])
        await c.pump()
        #expect(c.host.notifications("bob").contains { $0.0 == "streamPropertyChanged" && $0.1["reason"] == "forceMute" })
        #expect(await c.host.errorCode("bob", "streamPropertyChanged", ["streamId": "webcam", "property": "audioActive", "newValue": true]) == 307)
        #expect(c.owner.notifications("alice").contains { $0.0 == "streamPropertyChanged" && $0.1["id"] == "bob" && $0.1["reason"] == "forceMute" })
        // alice removes bob: he is told on n2, and leaves the room everywhere.
        _ = await c.owner.result("alice", "kickParticipant", ["target": "bob"])
        await c.pump()
        #expect(c.host.notifications("bob").contains { $0.0 == "participantEvicted" && $0.1["reason"] == "kicked" })
        #expect(c.owner.notifications("alice").contains { $0.0 == "participantLeft" && $0.1["name"] == "bob" })
        // alice closes the room: carol, on n2, is told, and n2 lets the room and its link go.
        _ = await c.owner.result("alice", "closeRoom")
        await c.pump()
        #expect(c.host.notifications("carol").contains { $0.0 == "roomClosed" })
        #expect(await c.host.service.roomNames.isEmpty)
        #expect(await c.owner.service.roomNames.isEmpty)
        #expect(c.outbox.closed.withLock { $0 })
        #expect(c.host.media.live.isEmpty && c.owner.media.live.isEmpty)
    }

    @Test func aScreenSharedBesideTheCameraCrossesToo() async {
        let c = await Cluster()
        _ = await c.owner.join("alice", room: "big", extra: ["extensions": ["streams"]])
        await c.host.service.hostRelayRoom("big", owner: "n1")
        _ = await c.host.join("bob", room: "big", extra: ["extensions": ["streams"]])
        _ = await c.host.publish("bob")
        _ = await c.host.result("bob", "publishVideo", ["sdpOffer": "screen-offer", "streamId": "screen", "source": "screen"])
        await c.pump()
        // alice sees bob's two streams, the screen as a screen, and subscribes to it on n1.
        let published = c.owner.notifications("alice").filter { $0.0 == "participantPublished" }.last?.1
        #expect(published?["streams"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["webcam", "screen"])
        #expect(published?["streams"]?.arrayValue?.last?["source"] == "screen")
        let answer = await c.owner.request("alice", "receiveVideoFrom", ["sender": "bob_screen", "sdpOffer": "o"])
        #expect(answer["result"]?["sdpAnswer"] != nil)
        // bob stops sharing: alice is told which stream went.
        _ = await c.host.result("bob", "unpublishVideo", ["streamId": "screen"])
        await c.pump()
        #expect(c.owner.notifications("alice").contains { $0.0 == "participantUnpublished" && $0.1["streamId"] == "screen" })
        #expect(await c.owner.service.describe(room: "big")?["participants"]?.arrayValue?.last?["streams"] == ["webcam"])
    }

    @Test func theOwnerLosingTheLinkLetsItsParticipantsGo() async {
        let c = await Cluster()
        _ = await c.owner.join("alice", room: "big")
        await c.host.service.hostRelayRoom("big", owner: "n1")
        _ = await c.host.join("bob", room: "big", extra: ["extensions": ["cluster"]])
        await c.pump()
        _ = c.owner.notifications("alice")
        // The hosting node's socket drops: bob leaves the room on n1.
        await c.owner.service.closeConnection(c.owner.clients["$link"]!.id)
        #expect(await waitUntil { await c.owner.service.describe(room: "big")?["participants"]?.arrayValue?.count == 1 })
        #expect(c.owner.notifications("alice").contains { $0.0 == "participantLeft" && $0.1["name"] == "bob" })
        // n2 loses its owner, and the room cannot be placed again: bob is told and let go, and the room ends there.
        await c.host.service.cascadeLinkEnded(room: "big", node: "n1")
        #expect(await waitUntil { await c.host.service.roomNames.isEmpty })
        let bobSaw = c.host.notifications("bob")
        #expect(bobSaw.contains { $0.0 == "roomMoved" && $0.1["reason"] == "nodeLost" })
        #expect(c.host.clients["bob"]!.conn.isClosed)
        #expect(await c.host.service.roomNames.isEmpty)
    }

    @Test func aLinkWithoutTheClustersSecretIsRefused() async {
        let c = await Cluster()
        _ = await c.owner.join("alice", room: "big")
        await c.owner.connect("mallory")
        #expect(await c.owner.errorCode("mallory", "cascadeAttach", ["room": "big", "node": "n9", "secret": "guess"]) == 401)
        #expect(await c.owner.errorCode("mallory", "cascade", ["op": "joined", "name": "ghost"]) == 401)
        #expect(await c.owner.service.describe(room: "big")?["participants"]?.arrayValue?.count == 1)
    }

    /// Polls `condition` (the owner drops a link in a task of its own).
    func waitUntil(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<200 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }
}
