@testable import Cluster
import Logging
import Testing

@Suite struct PlacementTests {
    func node(_ id: String, participants: Int = 0, cpu: Double = 0, draining: Bool = false) -> NodeInfo {
        NodeInfo(id: id, advertiseURL: "ws://\(id):8888", participants: participants, cpu: cpu, draining: draining)
    }

    @Test func theReceivingNodeTakesTheRoomWhileItHasRoom() {
        let nodes = [node("a", participants: 10), node("b", participants: 400), node("c", participants: 3)]
        #expect(Placement.choose(receivedBy: "b", nodes: nodes, participantsPerNode: 500)?.id == "b")
    }

    @Test func pastItsShareTheLeastLoadedNodeTakesIt() {
        let nodes = [node("a", participants: 10), node("b", participants: 500), node("c", participants: 3)]
        #expect(Placement.choose(receivedBy: "b", nodes: nodes, participantsPerNode: 500)?.id == "c")
        // Ties: the least CPU, then the lowest id, so every node decides alike.
        let tied = [node("a", participants: 3, cpu: 0.5), node("b", participants: 900), node("c", participants: 3, cpu: 0.2)]
        #expect(Placement.choose(receivedBy: "b", nodes: tied, participantsPerNode: 500)?.id == "c")
        let even = [node("d", participants: 3), node("b", participants: 900), node("c", participants: 3)]
        #expect(Placement.choose(receivedBy: "b", nodes: even, participantsPerNode: 500)?.id == "c")
    }

    @Test func drainingNodesTakeNoRooms() {
        let nodes = [node("a", participants: 50), node("b", draining: true)]
        #expect(Placement.choose(receivedBy: "b", nodes: nodes, participantsPerNode: 500)?.id == "a")
        #expect(Placement.choose(receivedBy: "b", nodes: [node("b", draining: true)], participantsPerNode: 500) == nil)
    }

    @Test func databaseURLs() {
        let a = DatabaseAddress("postgres://tessera:s%40cret@db.example:6543/meetings?sslmode=disable")
        #expect(a == DatabaseAddress(user: "tessera", password: "s@cret", host: "db.example", port: 6543, database: "meetings"))
        let b = DatabaseAddress("postgresql://me@[::1]/x")
        #expect(b?.host == "::1" && b?.port == 5432 && b?.database == "x" && b?.password == nil)
        #expect(DatabaseAddress("postgres://me@localhost")?.database == "me")
        for bad in ["mysql://a@b/c", "postgres://host-without-user/db", "postgres://a@b:99999/c", "postgres://a@b:x/c", ""] {
            #expect(DatabaseAddress(bad) == nil, "\(bad)")
        }
    }
}

extension DatabaseAddress {
    init(user: String, password: String?, host: String, port: Int, database: String) {
        self.init("postgres://x@y")!
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }
}

/// Placement and leases through ClusterNode, on the in-process store (the
/// PostgreSQL store is checked end to end, Tests/EndToEnd/test_cluster.py).
@Suite struct ClusterNodeTests {
    func settings(_ id: String) -> ClusterSettings {
        var s = ClusterSettings(databaseURL: "postgres://t@localhost/t", nodeID: id, advertiseURL: "ws://\(id):8888")
        s.participantsPerNode = 10
        s.nodeTimeout = .seconds(5)
        return s
    }

    final class Load: @unchecked Sendable {
        var value = NodeLoad()
    }

    func node(_ id: String, _ store: MemoryClusterStore, _ load: Load) -> ClusterNode {
        ClusterNode(settings: settings(id), store: store, logger: Logger(label: "test")) { load.value }
    }

    @Test func aRoomLivesOnOneNodeWhicheverNodeIsAsked() async throws {
        let store = MemoryClusterStore()
        let la = Load(), lb = Load()
        let a = node("a", store, la), b = node("b", store, lb)
        try await a.start()
        try await b.start()
        #expect(try await a.place(room: "r1") == .here)
        guard case .elsewhere(let holder) = try await b.place(room: "r1") else { Issue.record("r1 placed twice"); return }
        #expect(holder.id == "a" && holder.advertiseURL == "ws://a:8888")
        // a is full: a new room asked of a goes to b; b's heartbeat keeps it.
        la.value = NodeLoad(participants: 10, rooms: ["r1"])
        try await a.beat()
        guard case .elsewhere(let other) = try await a.place(room: "r2") else { Issue.record("r2 stayed on a full node"); return }
        #expect(other.id == "b")
        lb.value = NodeLoad(participants: 1, rooms: ["r2"])
        try await b.beat()
        #expect(try await store.rooms(settings: settings("a")) == ["r1": "a", "r2": "b"])
    }

    @Test func aSilentNodesRoomsGoToTheNextJoin() async throws {
        let store = MemoryClusterStore()
        let la = Load(), lb = Load()
        let a = node("a", store, la), b = node("b", store, lb)
        try await a.start()
        try await b.start()
        la.value = NodeLoad(participants: 2, rooms: ["r"])
        #expect(try await a.place(room: "r") == .here)
        // a stops beating; b goes on. Within the lease the room stays a's...
        await store.advance(by: .seconds(3))
        try await b.beat()
        #expect(try await b.place(room: "r") != .here)
        // ...past it, b takes the room at its next join.
        await store.advance(by: .seconds(3))
        try await b.beat()
        #expect(try await b.place(room: "r") == .here)
        #expect(await b.nodes.map(\.id) == ["b"])
    }

    @Test func aClaimNeverOpenedIsDroppedAfterALease() async throws {
        let store = MemoryClusterStore()
        let la = Load()
        let a = node("a", store, la)
        try await a.start()
        #expect(try await a.place(room: "r") == .here)
        try await a.beat()
        #expect(try await store.rooms(settings: settings("a")) == ["r": "a"])  // young: kept though not open yet
        await store.advance(by: .seconds(6))
        try await a.beat()
        #expect(try await store.rooms(settings: settings("a")).isEmpty)
    }

    @Test func leavingTakesTheNodeAndItsRooms() async throws {
        let store = MemoryClusterStore()
        let la = Load(), lb = Load()
        let a = node("a", store, la), b = node("b", store, lb)
        try await a.start()
        try await b.start()
        la.value = NodeLoad(participants: 1, rooms: ["r"])
        _ = try await a.place(room: "r")
        try await store.leave(node: "a")
        try await b.beat()
        #expect(try await b.place(room: "r") == .here)
    }

    @Test func nodesHearOfEachOtherAtOnceNotAtTheNextHeartbeat() async throws {
        let store = MemoryClusterStore()
        var slow = settings("b")
        slow.heartbeat = .seconds(60)
        let a = node("a", store, Load())
        let b = ClusterNode(settings: slow, store: store, logger: Logger(label: "test")) { NodeLoad() }
        try await b.start()
        let running = Task { await b.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .milliseconds(50))  // b listens
        try await a.start()  // "joined"
        #expect(await waitFor { await b.nodes.map(\.id) == ["a", "b"] })
        _ = await a.drain()  // "draining"
        #expect(await waitFor { await b.nodes.first { $0.id == "a" }?.draining == true })
        // b places a new room on itself, not on the draining node.
        #expect(try await b.place(room: "r") == .here)
    }

    func waitFor(_ check: () async -> Bool) async -> Bool {
        for _ in 0..<100 {
            if await check() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await check()
    }

    @Test func relayedSessionsAreFoundAgain() async throws {
        let store = MemoryClusterStore()
        let a = node("a", store, Load()), b = node("b", store, Load())
        try await a.start()
        try await b.start()
        try await a.beat()
        await a.noteRelayedSession("s-1", on: "b")
        #expect(await a.nodeOfRelayedSession("s-1")?.id == "b")
        #expect(await a.nodeOfRelayedSession("s-2") == nil)
    }
}
