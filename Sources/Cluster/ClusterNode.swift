import Foundation
public import Logging

/// Where a room lives, as a node that received a join sees it.
public enum RoomPlacement: Sendable, Equatable {
    case here
    case elsewhere(NodeInfo)
}

public struct ClusterError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// This node's part in the cluster: it registers, heartbeats its load (and so
/// renews its rooms' leases), places rooms on their first join, and keeps the
/// live nodes as of its last heartbeat (docs/cluster.md).
public actor ClusterNode {
    public nonisolated let settings: ClusterSettings
    let store: any ClusterStore
    let logger: Logger
    /// This node's load, asked at each heartbeat.
    let load: @Sendable () async -> NodeLoad
    /// The live nodes at the last heartbeat, this one included.
    public private(set) var nodes: [NodeInfo] = []
    /// Why the last heartbeat failed, nil after a good one.
    public private(set) var lastError: String?
    public private(set) var draining = false
    /// Room sessions that joined through this node but live on another one:
    /// session id -> that node, so that a reconnect (`connect {sessionId}`)
    /// here finds its room again.
    private var relayedSessions: [String: (node: String, at: ContinuousClock.Instant)] = [:]
    private let cpu = CPUSampler()
    /// The cluster's shared secret (read at start), for cascade links.
    public private(set) var secret = ""

    /// After each heartbeat: live nodes, rooms held here, whether it worked (metrics).
    let report: @Sendable (_ nodes: Int, _ roomsHeld: Int, _ ok: Bool) -> Void

    public init(
        settings: ClusterSettings, store: any ClusterStore, logger: Logger,
        report: @escaping @Sendable (_ nodes: Int, _ roomsHeld: Int, _ ok: Bool) -> Void = { _, _, _ in },
        load: @escaping @Sendable () async -> NodeLoad
    ) {
        self.settings = settings
        self.store = store
        self.logger = logger
        self.report = report
        self.load = load
    }

    var me: NodeInfo { NodeInfo(id: settings.nodeID, advertiseURL: settings.advertiseURL, draining: draining) }

    /// Schema, then a first heartbeat: the node is in the cluster when this
    /// returns. Throws if the database does not answer within `timeout`.
    public func start(timeout: Duration = .seconds(10)) async throws {
        let store = self.store
        let address = DatabaseAddress(settings.databaseURL).map { " at \($0.host):\($0.port)" } ?? ""
        let message = "the cluster database\(address) did not answer within \(timeout) (cluster.databaseURL)"
        try await withDeadline(timeout, message) { try await store.migrate() }
        try await withDeadline(timeout, message) { try await self.beat() }
        secret = try await withDeadline(timeout, message) { try await store.secret() }
        try? await store.announce("joined", from: settings.nodeID)
        logger.notice("joined the cluster", metadata: ["node": "\(settings.nodeID)", "nodes": "\(nodes.map(\.id))"])
    }

    /// Heartbeats until cancelled, then leaves the cluster (its rooms' rows go with it).
    /// Meanwhile it listens to the other nodes: one that joins, drains or
    /// leaves is seen at once, not at the next heartbeat.
    public func run() async {
        let listener = Task { [store, settings] in
            for await text in store.announcements() {
                let parts = text.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[1] != settings.nodeID else { continue }
                await self.heard(String(parts[0]), from: String(parts[1]))
            }
        }
        defer { listener.cancel() }
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.heartbeat)
            if Task.isCancelled { break }
            do {
                try await beat()
            } catch {
                if lastError == nil { logger.error("cluster heartbeat failed: \(error)") }
                lastError = "\(error)"
                report(nodes.count, 0, false)
            }
        }
        // The shutdown cancelled this task: leave from one that is not cancelled.
        let store = self.store, node = settings.nodeID, logger = self.logger
        await Task {
            do {
                try await withDeadline(Self.requestTimeout, "the cluster database did not answer") {
                    try await store.leave(node: node)
                    try await store.announce("left", from: node)
                }
            } catch {
                logger.warning("could not leave the cluster: \(error)")
            }
        }.value
    }

    /// Another node joined, drains or left: the node list is read again now.
    func heard(_ event: String, from node: String) async {
        logger.info("cluster: node \(event)", metadata: ["node": "\(node)"])
        do {
            try await beat()
        } catch {
            logger.warning("cluster: could not read the nodes after an announcement: \(error)")
        }
    }

    /// One heartbeat: load out, live nodes back (abandoned after a node timeout).
    public func beat() async throws {
        try await withDeadline(settings.nodeTimeout, "the cluster database did not answer within \(settings.nodeTimeout)") {
            try await self.beatNow()
        }
    }

    private func beatNow() async throws {
        var l = await load()
        l.cpu = cpu.sample()
        nodes = try await store.heartbeat(node: me, load: l, settings: settings)
        report(nodes.count, l.rooms.count, true)
        if lastError != nil { logger.notice("cluster heartbeat works again") }
        lastError = nil
        let cutoff = ContinuousClock.now - .seconds(3600)
        relayedSessions = relayedSessions.filter { $0.value.at > cutoff }
    }

    /// Drains (SIGTERM with `cluster.drainSeconds`): from now on the node takes
    /// no new room, says so at once, and lets its rooms go, so that their next
    /// join places them on another node. Returns the node its participants are
    /// best sent to (the one placement would choose), if any.
    public func drain() async -> NodeInfo? {
        draining = true
        do {
            try await beat()
            try await withDeadline(Self.requestTimeout, "the cluster database did not answer") { [store, settings] in
                try await store.release(roomsOf: settings.nodeID)
                try await store.announce("draining", from: settings.nodeID)
            }
        } catch {
            logger.error("draining: the cluster database did not answer (\(error)); rooms move when this node's leases run out")
        }
        let others = nodes.filter { $0.id != settings.nodeID }
        let target = Placement.choose(receivedBy: "", nodes: others, participantsPerNode: settings.participantsPerNode)
        logger.notice("draining: no new rooms here", metadata: ["node": "\(settings.nodeID)", "sendTo": "\(target?.id ?? "none")"])
        return target
    }

    /// The least loaded live node, not draining, other than this one and
    /// `excluding`: where a join goes that this node is too full to host.
    public func otherNode(excluding: String? = nil) -> NodeInfo? {
        let others = nodes.filter { $0.id != settings.nodeID && $0.id != excluding }
        return Placement.choose(receivedBy: "", nodes: others, participantsPerNode: settings.participantsPerNode)
    }

    /// Where `room` is, placing it if no node holds it (the placement rule of
    /// docs/cluster.md). Throws when the store cannot be reached: a join must
    /// not open a second copy of a room that lives elsewhere.
    public func place(room: String) async throws -> RoomPlacement {
        try await withDeadline(Self.requestTimeout, "the cluster database did not answer within \(Self.requestTimeout)") {
            try await self.placeNow(room: room)
        }
    }

    /// How long a join waits for the database before it is refused.
    static let requestTimeout: Duration = .seconds(3)

    private func placeNow(room: String) async throws -> RoomPlacement {
        if let holder = try await store.holder(of: room, settings: settings) { return try await locate(holder) }
        if nodes.isEmpty { try await beat() }
        var candidates = nodes
        if let i = candidates.firstIndex(where: { $0.id == settings.nodeID }) { candidates[i].draining = draining }
        guard let choice = Placement.choose(receivedBy: settings.nodeID, nodes: candidates, participantsPerNode: settings.participantsPerNode)
        else { throw ClusterError("no node can take a room now (all draining)") }
        let holder = try await store.claim(room: room, for: choice.id, settings: settings)
        if holder != settings.nodeID {
            logger.info("room placed on another node", metadata: ["room": "\(room)", "node": "\(holder)"])
        }
        return try await locate(holder)
    }

    private func locate(_ id: String) async throws -> RoomPlacement {
        if id == settings.nodeID { return .here }
        if let node = nodes.first(where: { $0.id == id }) { return .elsewhere(node) }
        try await beat()  // a node that joined since our last heartbeat
        guard let node = nodes.first(where: { $0.id == id }) else { throw ClusterError("node \(id) holds the room but is not live") }
        return .elsewhere(node)
    }

    /// Rooms with a running lease and their holders (for /health).
    public func rooms() async throws -> [String: String] { try await store.rooms(settings: settings) }

    public func noteRelayedSession(_ session: String, on node: String) {
        relayedSessions[session] = (node, .now)
    }

    /// The node a session that joined through here lives on, if it is live.
    public func nodeOfRelayedSession(_ session: String) -> NodeInfo? {
        guard let id = relayedSessions[session]?.node else { return nil }
        return nodes.first { $0.id == id }
    }
}

/// The process's CPU use between two samples, in cores (Linux /proc/self/stat).
final class CPUSampler: @unchecked Sendable {
    private var last: (cpu: Double, wall: ContinuousClock.Instant)?
    private let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    func sample() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        let cpu = (user + system) / ticks
        let now = ContinuousClock.now
        defer { last = (cpu, now) }
        guard let last else { return 0 }
        let wall = now - last.wall
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        return seconds > 0 ? ((cpu - last.cpu) / seconds * 100).rounded() / 100 : 0
    }
}

/// Runs `body`, or throws `ClusterError(message)` once `limit` has passed
/// (the body is cancelled then). Every wait on another machine in the cluster
/// code goes through it: the database here, another node's WebSocket in the relay.
public func withDeadline<T: Sendable>(_ limit: Duration, _ message: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw ClusterError(message) }
        return value
    }
}
