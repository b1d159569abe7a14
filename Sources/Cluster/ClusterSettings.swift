/// What a node needs to take part in a cluster (`cluster.*` in the config;
/// docs/cluster.md). A server with no `databaseURL` is a single node, as
/// before clusters existed.
public struct ClusterSettings: Sendable, Equatable {
    /// `postgres://user:password@host:port/database`.
    public var databaseURL: String
    /// This node's name in the cluster: unique, stable across restarts.
    public var nodeID: String
    /// The `ws://` or `wss://` base other nodes and clients reach this node at
    /// (its room path is appended).
    public var advertiseURL: String
    /// The room WebSocket path, the same on every node.
    public var roomPath = "/room"
    /// How often the node writes its heartbeat (and renews its rooms' leases).
    public var heartbeat: Duration = .seconds(1)
    /// A node whose heartbeat is older than this is gone; its rooms' leases
    /// are as long, so another node may take them then.
    public var nodeTimeout: Duration = .seconds(5)
    /// Participants past which the node that received a room's first join
    /// gives the room to the least loaded node instead of taking it.
    public var participantsPerNode = 500
    /// Participants of one room a node hosts; a join past it is hosted by
    /// another node, which links to the room's node (a cascaded room). 0: a
    /// room is never spread over nodes.
    public var maxParticipantsPerNode = 0
    /// On SIGTERM: how long a draining node keeps its media for participants
    /// moving to other nodes; zero: no drain, the node stops at once.
    public var drain: Duration = .seconds(10)

    public init(databaseURL: String, nodeID: String, advertiseURL: String) {
        self.databaseURL = databaseURL
        self.nodeID = nodeID
        self.advertiseURL = advertiseURL
    }

    /// The URL of `node`'s room WebSocket.
    public func roomURL(of node: NodeInfo) -> String {
        var base = node.advertiseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + roomPath
    }
}

/// A node as the cluster's table shows it.
public struct NodeInfo: Sendable, Equatable {
    public var id: String
    public var advertiseURL: String
    public var participants: Int
    public var rooms: Int
    /// Share of one core the node's process used over its last heartbeat, 0...cores.
    public var cpu: Double
    /// Mixers (MCU composites) the node runs.
    public var mixers: Int
    public var draining: Bool
    /// Seconds since its last heartbeat.
    public var heartbeatAge: Double

    public init(id: String, advertiseURL: String, participants: Int = 0, rooms: Int = 0, cpu: Double = 0, mixers: Int = 0,
                draining: Bool = false, heartbeatAge: Double = 0) {
        self.id = id
        self.advertiseURL = advertiseURL
        self.participants = participants
        self.rooms = rooms
        self.cpu = cpu
        self.mixers = mixers
        self.draining = draining
        self.heartbeatAge = heartbeatAge
    }
}

/// What a node reports of itself with each heartbeat.
public struct NodeLoad: Sendable, Equatable {
    public var participants = 0
    public var rooms: [String] = []
    public var cpu = 0.0
    public var mixers = 0
    public init(participants: Int = 0, rooms: [String] = [], cpu: Double = 0, mixers: Int = 0) {
        self.participants = participants
        self.rooms = rooms
        self.cpu = cpu
        self.mixers = mixers
    }
}

/// Where a room's first join puts the room (docs/cluster.md, "Placement"):
/// on the node that received the join while it is not draining and holds
/// fewer than `participantsPerNode` participants; otherwise on the live,
/// not draining node with the fewest participants (then the least CPU, then
/// the lowest id, so that every node decides alike). Nil when no node can
/// take it.
public enum Placement {
    public static func choose(receivedBy me: String, nodes: [NodeInfo], participantsPerNode: Int) -> NodeInfo? {
        let open = nodes.filter { !$0.draining }
        if let mine = open.first(where: { $0.id == me }), mine.participants < participantsPerNode { return mine }
        return open.min { a, b in
            if a.participants != b.participants { return a.participants < b.participants }
            if a.cpu != b.cpu { return a.cpu < b.cpu }
            return a.id < b.id
        }
    }
}

/// The parts of a `postgres://` URL (RFC 3986 userinfo, host, port, path).
public struct DatabaseAddress: Sendable, Equatable {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    /// Nil unless `text` is `postgres://` or `postgresql://`, with a user and
    /// a host; the port defaults to 5432 and the database to the user's name.
    public init?(_ text: String) {
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { text.hasPrefix($0) }) else { return nil }
        var rest = Substring(text.dropFirst(scheme.count))
        if let q = rest.firstIndex(of: "?") { rest = rest[..<q] }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        guard let at = rest.lastIndex(of: "@") else { return nil }
        let userinfo = rest[..<at], hostport = rest[rest.index(after: at)...]
        if let colon = userinfo.firstIndex(of: ":") {
            user = Self.decode(userinfo[..<colon])
            password = Self.decode(userinfo[userinfo.index(after: colon)...])
        } else {
            user = Self.decode(userinfo)
            password = nil
        }
        if hostport.hasPrefix("[") {  // [IPv6]:port
            guard let close = hostport.firstIndex(of: "]") else { return nil }
            host = String(hostport[hostport.index(after: hostport.startIndex)..<close])
            let after = hostport[hostport.index(after: close)...]
            if after.isEmpty { port = 5432 } else {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = hostport.lastIndex(of: ":") {
            host = String(hostport[..<colon])
            guard let p = Int(hostport[hostport.index(after: colon)...]) else { return nil }
            port = p
        } else {
            host = String(hostport)
            port = 5432
        }
        guard !user.isEmpty, !host.isEmpty, (1...65535).contains(port) else { return nil }
        database = path.isEmpty ? user : Self.decode(Substring(path))
    }

    /// Percent-decoding of one URL part.
    static func decode(_ part: Substring) -> String {
        var bytes: [UInt8] = []
        var i = part.utf8.startIndex
        let utf8 = part.utf8
        while i != utf8.endIndex {
            let c = utf8[i]
            if c == UInt8(ascii: "%"), let h = utf8.index(i, offsetBy: 2, limitedBy: utf8.endIndex), h != utf8.endIndex,
                let v = UInt8(String(decoding: utf8[utf8.index(after: i)...h], as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                i = utf8.index(after: h)
            } else {
                bytes.append(c)
                i = utf8.index(after: i)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
