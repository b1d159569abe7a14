import Foundation
public import Logging
import PostgresNIO

/// The cluster's state in PostgreSQL (docs/cluster.md, "Schema"). Times are
/// the database's own clock (`now()`), so nodes need not agree on theirs.
public final class PostgresClusterStore: ClusterStore {
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    /// The schema, one step per version, applied in order at start under an
    /// advisory lock (several nodes may start at once). Steps are never edited
    /// once released; a change is a new step.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE tessera_nodes (
                node_id text PRIMARY KEY,
                advertise_url text NOT NULL,
                participants integer NOT NULL DEFAULT 0,
                rooms integer NOT NULL DEFAULT 0,
                cpu double precision NOT NULL DEFAULT 0,
                mixers integer NOT NULL DEFAULT 0,
                draining boolean NOT NULL DEFAULT false,
                started_at timestamptz NOT NULL DEFAULT now(),
                heartbeat_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE tessera_rooms (
                room text PRIMARY KEY,
                node_id text NOT NULL,
                lease_until timestamptz NOT NULL,
                claimed_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX tessera_rooms_node ON tessera_rooms (node_id)",
        ],
        [
            // One row: the secret nodes show each other when they link a cascaded room.
            "CREATE TABLE tessera_secret (id integer PRIMARY KEY CHECK (id = 1), secret text NOT NULL)",
            "INSERT INTO tessera_secret VALUES (1, md5(random()::text || clock_timestamp()::text) || md5(random()::text || pg_backend_pid()::text))",
        ],
    ]

    /// An arbitrary constant: the advisory lock that serialises migrations.
    static let migrationLock: Int64 = 0x7465_7373_6572_61

    public init(url: String, logger: Logger) throws {
        guard let address = DatabaseAddress(url) else {
            throw ClusterError("cluster.databaseURL is not postgres://user[:password]@host[:port][/database]")
        }
        var config = PostgresClient.Configuration(
            host: address.host, port: address.port, username: address.user, password: address.password, database: address.database,
            tls: .disable)
        config.options.connectTimeout = .seconds(3)
        config.options.maximumConnections = 4
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    /// Stops the connection pool.
    public func shutdown() { runner.cancel() }

    public func migrate() async throws {
        try await client.withTransaction(logger: logger) { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await db.query(
                "CREATE TABLE IF NOT EXISTS tessera_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var current = 0
            for try await version in try await db.query("SELECT coalesce(max(version), 0) FROM tessera_schema", logger: logger).decode(Int.self) {
                current = version
            }
            for (index, step) in Self.migrations.enumerated() where index + 1 > current {
                for statement in step { try await db.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await db.query("INSERT INTO tessera_schema (version) VALUES (\(index + 1))", logger: logger)
                logger.notice("cluster schema migrated", metadata: ["version": "\(index + 1)"])
            }
        }
    }

    public func secret() async throws -> String {
        let rows = try await client.query("SELECT secret FROM tessera_secret WHERE id = 1", logger: logger)
        for try await secret in rows.decode(String.self) { return secret }
        throw ClusterError("the cluster database has no secret (tessera_secret)")
    }

    public func heartbeat(node: NodeInfo, load: NodeLoad, settings: ClusterSettings) async throws -> [NodeInfo] {
        let lease = Self.seconds(settings.nodeTimeout)
        try await client.query(
            """
            INSERT INTO tessera_nodes (node_id, advertise_url, participants, rooms, cpu, mixers, draining, heartbeat_at)
            VALUES (\(node.id), \(node.advertiseURL), \(load.participants), \(load.rooms.count), \(load.cpu), \(load.mixers), \(node.draining), now())
            ON CONFLICT (node_id) DO UPDATE SET advertise_url = EXCLUDED.advertise_url, participants = EXCLUDED.participants,
                rooms = EXCLUDED.rooms, cpu = EXCLUDED.cpu, mixers = EXCLUDED.mixers, draining = EXCLUDED.draining, heartbeat_at = now()
            """, logger: logger)
        // Leases of the rooms open here run on; claims made for this node that never
        // became a room here (or whose room closed) go once they are a lease old.
        try await client.query(
            """
            UPDATE tessera_rooms SET lease_until = now() + \(lease) * interval '1 second'
            WHERE node_id = \(node.id) AND room = ANY(\(load.rooms))
            """, logger: logger)
        try await client.query(
            """
            DELETE FROM tessera_rooms
            WHERE node_id = \(node.id) AND NOT (room = ANY(\(load.rooms))) AND claimed_at < now() - \(lease) * interval '1 second'
            """, logger: logger)
        var nodes: [NodeInfo] = []
        let rows = try await client.query(
            """
            SELECT node_id, advertise_url, participants, rooms, cpu, mixers, draining,
                   extract(epoch FROM now() - heartbeat_at)::double precision
            FROM tessera_nodes WHERE heartbeat_at > now() - \(lease) * interval '1 second' ORDER BY node_id
            """, logger: logger)
        for try await (id, url, participants, rooms, cpu, mixers, draining, age) in rows.decode((String, String, Int, Int, Double, Int, Bool, Double).self) {
            nodes.append(NodeInfo(id: id, advertiseURL: url, participants: participants, rooms: rooms, cpu: cpu, mixers: mixers,
                                  draining: draining, heartbeatAge: age))
        }
        return nodes
    }

    public func claim(room: String, for candidate: String, settings: ClusterSettings) async throws -> String {
        let lease = Self.seconds(settings.nodeTimeout)
        // One statement: the row is taken when free, its lease ran out, or its node is
        // gone; otherwise it stays, and the holder is read back either way.
        let rows = try await client.query(
            """
            WITH taken AS (
                INSERT INTO tessera_rooms AS r (room, node_id, lease_until, claimed_at)
                VALUES (\(room), \(candidate), now() + \(lease) * interval '1 second', now())
                ON CONFLICT (room) DO UPDATE SET node_id = EXCLUDED.node_id, lease_until = EXCLUDED.lease_until, claimed_at = now()
                WHERE r.lease_until < now()
                   OR NOT EXISTS (SELECT 1 FROM tessera_nodes n
                                  WHERE n.node_id = r.node_id AND n.heartbeat_at > now() - \(lease) * interval '1 second')
                RETURNING node_id
            )
            SELECT node_id FROM taken
            UNION ALL
            SELECT node_id FROM tessera_rooms WHERE room = \(room) AND NOT EXISTS (SELECT 1 FROM taken)
            """, logger: logger)
        for try await holder in rows.decode(String.self) { return holder }
        throw ClusterError("claiming room '\(room)' returned no holder")
    }

    public func holder(of room: String, settings: ClusterSettings) async throws -> String? {
        let lease = Self.seconds(settings.nodeTimeout)
        let rows = try await client.query(
            """
            SELECT r.node_id FROM tessera_rooms r JOIN tessera_nodes n ON n.node_id = r.node_id
            WHERE r.room = \(room) AND r.lease_until > now() AND n.heartbeat_at > now() - \(lease) * interval '1 second'
            """, logger: logger)
        for try await holder in rows.decode(String.self) { return holder }
        return nil
    }

    public func rooms(settings: ClusterSettings) async throws -> [String: String] {
        let lease = Self.seconds(settings.nodeTimeout)
        let rows = try await client.query(
            """
            SELECT r.room, r.node_id FROM tessera_rooms r JOIN tessera_nodes n ON n.node_id = r.node_id
            WHERE r.lease_until > now() AND n.heartbeat_at > now() - \(lease) * interval '1 second'
            """, logger: logger)
        var out: [String: String] = [:]
        for try await (room, node) in rows.decode((String, String).self) { out[room] = node }
        return out
    }

    /// The channel nodes announce themselves on.
    static let channel = "tessera_cluster"

    public func announce(_ event: String, from node: String) async throws {
        try await client.query("SELECT pg_notify(\(Self.channel), \(event + " " + node))", logger: logger)
    }

    /// LISTENs on a connection of its own, again after a lost connection (a
    /// second later); what was announced meanwhile is missed, and the
    /// heartbeats make up for it.
    public func announcements() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let client = self.client, logger = self.logger
        let task = Task {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            for try await n in notifications { continuation.yield(n.payload) }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.info("cluster LISTEN ended, again in a second: \(String(reflecting: error))")
                }
                try? await Task.sleep(for: .seconds(1))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func release(roomsOf node: String) async throws {
        try await client.query("DELETE FROM tessera_rooms WHERE node_id = \(node)", logger: logger)
    }

    public func leave(node: String) async throws {
        try await client.query("DELETE FROM tessera_rooms WHERE node_id = \(node)", logger: logger)
        try await client.query("DELETE FROM tessera_nodes WHERE node_id = \(node)", logger: logger)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
