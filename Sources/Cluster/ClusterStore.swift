/// The cluster's shared state (docs/cluster.md): nodes with their heartbeat
/// and load, and which node holds each room under a lease. PostgreSQL holds
/// it in production (`PostgresClusterStore`); tests use `MemoryClusterStore`.
public protocol ClusterStore: Sendable {
    /// Creates or upgrades the schema; safe when several nodes start at once.
    func migrate() async throws
    /// Writes this node's row (a restart of the same id takes it over) and
    /// returns the live nodes.
    func heartbeat(node: NodeInfo, load: NodeLoad, settings: ClusterSettings) async throws -> [NodeInfo]
    /// The room's holder when its lease runs, else gives it to `candidate`
    /// (atomically: of two nodes claiming at once, one wins and both learn
    /// which). Returns the holder's id.
    func claim(room: String, for candidate: String, settings: ClusterSettings) async throws -> String
    /// The room's holder while its lease runs, nil otherwise.
    func holder(of room: String, settings: ClusterSettings) async throws -> String?
    /// Every room with a running lease, and its holder.
    func rooms(settings: ClusterSettings) async throws -> [String: String]
    /// This node leaves: its row and its rooms go (a drain, or a clean stop).
    func leave(node: String) async throws
    /// The node lets its rooms go (it drains): their next join places them anew.
    func release(roomsOf node: String) async throws
    /// Tells every node at once (PostgreSQL NOTIFY): `event` is "joined", "draining" or "left", from `node`.
    func announce(_ event: String, from node: String) async throws
    /// What the nodes announce (LISTEN), as "event node" texts, until the task is cancelled.
    func announcements() -> AsyncStream<String>
    /// The cluster's shared secret, made by the first node that asks: what a
    /// node proves itself with on another node's room socket (cascaded rooms).
    func secret() async throws -> String
}

/// An in-process store: the same rules as PostgreSQL's, for unit tests and
/// for reasoning about them.
public actor MemoryClusterStore: ClusterStore {
    struct Row { var node: NodeInfo; var seen: ContinuousClock.Instant }
    struct Lease { var node: String; var until: ContinuousClock.Instant; var claimed: ContinuousClock.Instant }
    private var nodes: [String: Row] = [:]
    private var leases: [String: Lease] = [:]
    /// Its time stands still unless a test moves it (`advance`): a test that the machine
    /// stalls for a minute must not see its leases run out (one did, on a busy machine).
    private let start = ContinuousClock.now
    public private(set) var skew: Duration = .zero

    public init() {}

    public func advance(by d: Duration) { skew += d }
    private var now: ContinuousClock.Instant { start + skew }

    public func migrate() async throws {}
    private let sharedSecret = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
    public func secret() async throws -> String { sharedSecret }

    public func heartbeat(node: NodeInfo, load: NodeLoad, settings: ClusterSettings) async throws -> [NodeInfo] {
        var n = node
        n.participants = load.participants
        n.rooms = load.rooms.count
        n.cpu = load.cpu
        n.mixers = load.mixers
        nodes[node.id] = Row(node: n, seen: now)
        for (room, lease) in leases where lease.node == node.id {
            if load.rooms.contains(room) {
                leases[room]?.until = now + settings.nodeTimeout
            } else if now - lease.claimed > settings.nodeTimeout {
                leases[room] = nil  // claimed for this node, never opened here (or closed since)
            }
        }
        return live(settings)
    }

    private func live(_ settings: ClusterSettings) -> [NodeInfo] {
        nodes.values.filter { now - $0.seen <= settings.nodeTimeout }.map { row in
            var n = row.node
            n.heartbeatAge = Double((now - row.seen).components.seconds) + Double((now - row.seen).components.attoseconds) / 1e18
            return n
        }.sorted { $0.id < $1.id }
    }

    public func claim(room: String, for candidate: String, settings: ClusterSettings) async throws -> String {
        if let holder = try await holder(of: room, settings: settings) { return holder }
        leases[room] = Lease(node: candidate, until: now + settings.nodeTimeout, claimed: now)
        return candidate
    }

    public func holder(of room: String, settings: ClusterSettings) async throws -> String? {
        guard let lease = leases[room], lease.until > now,
            let row = nodes[lease.node], now - row.seen <= settings.nodeTimeout
        else { return nil }
        return lease.node
    }

    public func rooms(settings: ClusterSettings) async throws -> [String: String] {
        var out: [String: String] = [:]
        for room in leases.keys {
            if let holder = try await holder(of: room, settings: settings) { out[room] = holder }
        }
        return out
    }

    public func leave(node: String) async throws {
        nodes[node] = nil
        leases = leases.filter { $0.value.node != node }
    }

    public func release(roomsOf node: String) async throws {
        leases = leases.filter { $0.value.node != node }
    }

    private var listeners: [AsyncStream<String>.Continuation] = []

    public func announce(_ event: String, from node: String) async throws {
        for l in listeners { l.yield("\(event) \(node)") }
    }

    public nonisolated func announcements() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        Task { await self.addListener(continuation) }
        return stream
    }

    private func addListener(_ c: AsyncStream<String>.Continuation) { listeners.append(c) }
}
