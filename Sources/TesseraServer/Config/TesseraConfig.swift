import Foundation
public import Elements
public import MediaPlane
import JSONRPC
public import Logging
public import Rooms
public import Transport
public import Cluster

/// The server's settings after defaults, config file, environment and flags.
public struct TesseraConfig: Sendable {
    public var address: String
    public var port: Int
    public var kurentoPath: String
    public var roomPath: String
    /// Who may open the WebSockets (server.kurentoAllow, kurentoSecret, allowedOrigins).
    public var access: AccessPolicy
    /// PEM files of the listener's certificate chain and key; nil = plain HTTP.
    /// The listener's certificate and key, read from their PEM files (server.tls.*); nil = plain HTTP.
    public var tls: TLSCertificates?
    /// Bearer key of the admin API (admin.key); nil = no admin API.
    public var adminKey: String?
    /// limits.maxConnections, requestsPerSecond, maxMessageBytes.
    public var connectionLimits: ConnectionLimits
    /// limits.maxSessions, maxPipelines, maxObjectsPerSession.
    public var kurentoLimits: MediaSet.Limits
    public var mediaLoops: Int
    public var mixerThreads: Int
    public var mixer: MixerSettings
    public var rooms: RoomOptions
    public var stunServers: [String]
    public var turnServers: [String]
    public var iceHostAddresses: [String]
    public var udpPortRange: ClosedRange<Int>
    public var iceConsentTimeout: Duration
    public var iceMode: ICEMode
    public var iceUDPPort: Int
    public var recordingDirectory: String
    public var gracePeriod: Duration
    public var requestCacheTTL: Duration
    public var logLevel: Logger.Level
    public var logAreas: [String: Logger.Level]
    /// `metadata` as JSON text.
    public var metadata: String
    /// Cluster membership (`cluster.*`); nil: a single node.
    public var cluster: ClusterSettings? = nil

    /// Defaults only (what an empty config file gives).
    public static var defaults: TesseraConfig {
        // The defaults in the table are valid by construction.
        try! ConfigLoader().resolve()
    }

    public func logLevel(for area: String) -> Logger.Level { logAreas[area] ?? logLevel }
}

/// A config problem, reported as one line naming the key; the executable
/// exits with status 2.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var key: String
    public var problem: String
    public var description: String { "config error: \(source): key '\(key)': \(problem)" }
}

/// Loads settings: defaults, then a JSON file, then `TESSERA_*` environment
/// variables, then command-line overrides, each checked against
/// `ConfigSetting.all`.
public struct ConfigLoader {
    private var values: [String: JSONValue] = [:]
    private var sources: [String: String] = [:]

    public init() {
        for s in ConfigSetting.all { values[s.key] = s.defaultValue }
    }

    /// Applies a config file. Unknown keys are errors: a typo must not be silently ignored.
    public mutating func apply(fileAt path: String) throws(ConfigError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError(source: path, key: "(file)", problem: "cannot read the file")
        }
        let root: JSONValue
        do { root = try JSONParser.parse(text) } catch {
            throw ConfigError(source: path, key: "(file)", problem: "not valid JSON: \(error)")
        }
        guard case .object(let top) = root else { throw ConfigError(source: path, key: "(file)", problem: "expected a JSON object at the top level") }
        try apply(object: top, prefix: "", source: path)
    }

    private mutating func apply(object: [String: JSONValue], prefix: String, source: String) throws(ConfigError) {
        for (k, v) in object.sorted(by: { $0.key < $1.key }) {
            let key = prefix.isEmpty ? k : "\(prefix).\(k)"
            if let setting = ConfigSetting.all.first(where: { $0.key == key }) {
                values[key] = try Self.check(v, for: setting, source: source)
                sources[key] = source
            } else if case .object(let inner) = v, ConfigSetting.all.contains(where: { $0.key.hasPrefix(key + ".") }) {
                try apply(object: inner, prefix: key, source: source)
            } else {
                throw ConfigError(source: source, key: key, problem: "unknown setting")
            }
        }
    }

    /// Applies `TESSERA_*` variables that name a setting.
    public mutating func apply(environment: [String: String]) throws(ConfigError) {
        for s in ConfigSetting.all {
            guard let text = environment[s.env] else { continue }
            try set(s, text: text, source: "environment \(s.env)")
        }
    }

    /// Applies a value given as text (environment or command line).
    public mutating func set(key: String, text: String, source: String) throws(ConfigError) {
        guard let s = ConfigSetting.all.first(where: { $0.key == key }) else {
            throw ConfigError(source: source, key: key, problem: "unknown setting")
        }
        try set(s, text: text, source: source)
    }

    private mutating func set(_ s: ConfigSetting, text: String, source: String) throws(ConfigError) {
        let value: JSONValue
        switch s.kind {
        case .int:
            guard let i = Int64(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigError(source: source, key: s.key, problem: "expected an integer, got \"\(text)\"")
            }
            value = .int(i)
        case .stringList:
            value = .array(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        case .logLevels:
            var o: [String: JSONValue] = values[s.key]?.objectValue ?? [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else {
                    throw ConfigError(source: source, key: s.key, problem: "expected area=level pairs, got \"\(pair)\"")
                }
                o[parts[0].trimmingCharacters(in: .whitespaces)] = .string(parts[1].trimmingCharacters(in: .whitespaces))
            }
            value = .object(o)
        case .object:
            do { value = try JSONParser.parse(text) } catch {
                throw ConfigError(source: source, key: s.key, problem: "expected a JSON object: \(error)")
            }
        case .string, .path, .logLevel, .colour, .choice, .optionalString:
            value = .string(text)
        }
        values[s.key] = try Self.check(value, for: s, source: source)
        sources[s.key] = source
    }

    static func check(_ v: JSONValue, for s: ConfigSetting, source: String) throws(ConfigError) -> JSONValue {
        func fail(_ problem: String) -> ConfigError { ConfigError(source: source, key: s.key, problem: problem) }
        switch s.kind {
        case .string:
            guard let str = v.stringValue, !str.isEmpty else { throw fail("expected a non-empty string, got \(v)") }
        case .path:
            guard let str = v.stringValue, str.hasPrefix("/"), !str.contains(" ") else {
                throw fail("expected a path beginning with \"/\", got \(v)")
            }
        case .int(let range):
            guard case .int(let i) = v, range.contains(i) else {
                throw fail("expected an integer from \(range.lowerBound) to \(range.upperBound), got \(v)")
            }
        case .stringList:
            guard case .array(let items) = v, items.allSatisfy({ ($0.stringValue ?? "").isEmpty == false }) else {
                throw fail("expected a list of non-empty strings, got \(v)")
            }
        case .logLevel:
            guard let str = v.stringValue, ConfigSetting.logLevelNames.contains(str) else {
                throw fail("expected one of \(ConfigSetting.logLevelNames.joined(separator: ", ")), got \(v)")
            }
        case .logLevels:
            guard case .object(let o) = v else { throw fail("expected an object of area -> level, got \(v)") }
            for (area, level) in o {
                guard ConfigSetting.logAreas.contains(area) else {
                    throw ConfigError(source: source, key: "\(s.key).\(area)", problem: "unknown log area; known: \(ConfigSetting.logAreas.joined(separator: ", "))")
                }
                guard let l = level.stringValue, ConfigSetting.logLevelNames.contains(l) else {
                    throw ConfigError(source: source, key: "\(s.key).\(area)", problem: "expected one of \(ConfigSetting.logLevelNames.joined(separator: ", ")), got \(level)")
                }
            }
        case .object:
            guard case .object = v else { throw fail("expected a JSON object, got \(v)") }
        case .colour:
            guard let str = v.stringValue, Self.colour(str) != nil else { throw fail("expected a colour as #RRGGBB, got \(v)") }
        case .choice(let allowed):
            guard let str = v.stringValue, allowed.contains(str) else {
                throw fail("expected one of \(allowed.joined(separator: ", ")), got \(v)")
            }
        case .optionalString:
            guard v.stringValue != nil else { throw fail("expected a string, got \(v)") }
        }
        return v
    }

    static func colour(_ text: String) -> UInt32? {
        guard text.count == 7, text.first == "#" else { return nil }
        return UInt32(text.dropFirst(), radix: 16)
    }

    /// Builds the typed config; cross-setting checks happen here.
    public func resolve() throws(ConfigError) -> TesseraConfig {
        func str(_ k: String) -> String { values[k]?.stringValue ?? "" }
        func int(_ k: String) -> Int { Int(values[k]?.intValue ?? 0) }
        func list(_ k: String) -> [String] { values[k]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        /// An optional string setting: empty means not set.
        func optional(_ k: String) -> String? { str(k).isEmpty ? nil : str(k) }
        let portMin = int("ice.udpPortMin"), portMax = int("ice.udpPortMax")
        guard portMin <= portMax else {
            throw ConfigError(source: sources["ice.udpPortMax"] ?? "defaults", key: "ice.udpPortMax",
                              problem: "must not be lower than ice.udpPortMin (\(portMin))")
        }
        guard str("server.kurentoPath") != str("server.roomPath") else {
            throw ConfigError(source: sources["server.roomPath"] ?? "defaults", key: "server.roomPath",
                              problem: "must differ from server.kurentoPath")
        }
        var access = AccessPolicy()
        access.kurentoAllow = []
        for text in list("server.kurentoAllow") {
            guard let network = IPNetwork(text) else {
                throw ConfigError(source: sources["server.kurentoAllow"] ?? "defaults", key: "server.kurentoAllow",
                                  problem: "'\(text)' is not a network in CIDR form (such as 10.0.0.0/8 or ::1/128)")
            }
            access.kurentoAllow.append(network)
        }
        access.kurentoSecret = optional("server.kurentoSecret")
        access.allowedOrigins = list("server.allowedOrigins")
        var tls: TLSCertificates?
        let certificate = str("server.tls.certificate"), privateKey = str("server.tls.privateKey")
        if !certificate.isEmpty || !privateKey.isEmpty {
            guard !certificate.isEmpty, !privateKey.isEmpty else {
                let missing = certificate.isEmpty ? "server.tls.certificate" : "server.tls.privateKey"
                throw ConfigError(source: "defaults", key: missing, problem: "TLS needs both the certificate and its private key")
            }
            do { tls = try TLSCertificates(certificate: certificate, privateKey: privateKey) } catch {
                throw ConfigError(source: sources["server.tls.certificate"] ?? "defaults", key: "server.tls.certificate", problem: "\(error)")
            }
        }
        var connectionLimits = ConnectionLimits()
        connectionLimits.maxConnections = int("limits.maxConnections")
        connectionLimits.requestsPerSecond = int("limits.requestsPerSecond")
        connectionLimits.kurentoRequestsPerSecond = int("limits.kurentoRequestsPerSecond")
        connectionLimits.maxMessageBytes = int("limits.maxMessageBytes")
        var kurentoLimits = MediaSet.Limits()
        kurentoLimits.maxSessions = int("limits.maxSessions")
        kurentoLimits.maxPipelines = int("limits.maxPipelines")
        kurentoLimits.maxObjectsPerSession = int("limits.maxObjectsPerSession")
        var areas: [String: Logger.Level] = [:]
        for (area, level) in values["logging.areas"]?.objectValue ?? [:] {
            areas[area] = Logger.Level(rawValue: level.stringValue ?? "info")
        }
        var mixer = MixerSettings()
        mixer.width = int("mixer.width")
        mixer.height = int("mixer.height")
        mixer.fps = int("mixer.fps")
        mixer.videoBitrate = int("mixer.videoBitrateKbps") * 1000
        mixer.audioBitrate = int("mixer.audioBitrateKbps") * 1000
        mixer.maxSpeakers = int("mixer.maxSpeakers")
        mixer.encoderThreads = int("mixer.encoderThreads")
        mixer.cpuUsed = int("mixer.cpuUsed")
        mixer.background = Self.colour(str("mixer.background")) ?? 0x101010
        for text in list("mixer.qualities") {
            guard mixer.addQuality(text) else {
                throw ConfigError(source: sources["mixer.qualities"] ?? "defaults", key: "mixer.qualities",
                                  problem: "'\(text)' is not WIDTHxHEIGHT@KBPS (16-3840 x 16-2160, 50-20000 kbit/s)")
            }
        }
        var rooms = RoomOptions()
        rooms.defaultMode = RoomMode(rawValue: str("rooms.defaultMode")) ?? .sfu
        rooms.reconnectGrace = .seconds(int("rooms.reconnectGraceSeconds"))
        rooms.autoMCUThreshold = int("rooms.autoMcuThreshold")
        rooms.maxParticipants = int("rooms.maxParticipants")
        rooms.maxRooms = int("limits.maxRooms")
        rooms.maxStreamsPerParticipant = int("limits.maxStreamsPerParticipant")
        rooms.jwtKey = optional("rooms.tokenKey")
        if !str("rooms.tokenPublicKey").isEmpty {
            let path = str("rooms.tokenPublicKey")
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8), pem.contains("-----BEGIN PUBLIC KEY-----") else {
                throw ConfigError(source: sources["rooms.tokenPublicKey"] ?? "defaults", key: "rooms.tokenPublicKey",
                                  problem: "cannot read a PEM public key from '\(path)'")
            }
            rooms.tokens.publicKeyPEM = pem
        }
        rooms.tokens.requireExpiry = str("rooms.tokenExpiry") != "optional"
        rooms.tokens.audience = optional("rooms.tokenAudience")
        rooms.tokens.issuer = optional("rooms.tokenIssuer")
        rooms.tokens.leeway = Int64(int("rooms.tokenLeewaySeconds"))
        let recordings = str("recording.directory")
        rooms.recordingDirectory = URL(
            fileURLWithPath: recordings, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        ).standardizedFileURL.resolvingSymlinksInPath().path
        rooms.canvasWidth = mixer.width
        rooms.canvasHeight = mixer.height
        rooms.canvasFPS = mixer.fps
        var cluster: ClusterSettings?
        if let url = optional("cluster.databaseURL") {
            guard DatabaseAddress(url) != nil else {
                throw ConfigError(source: sources["cluster.databaseURL"] ?? "defaults", key: "cluster.databaseURL",
                                  problem: "expected postgres://user[:password]@host[:port][/database]")
            }
            let host = ProcessInfo.processInfo.hostName
            let advertised = optional("cluster.advertiseURL") ?? "ws://\(list("ice.hostAddresses").first ?? host):\(int("server.port"))"
            guard advertised.hasPrefix("ws://") || advertised.hasPrefix("wss://") else {
                throw ConfigError(source: sources["cluster.advertiseURL"] ?? "defaults", key: "cluster.advertiseURL",
                                  problem: "expected a ws:// or wss:// URL, got '\(advertised)'")
            }
            var c = ClusterSettings(databaseURL: url, nodeID: optional("cluster.nodeId") ?? host, advertiseURL: advertised)
            c.roomPath = str("server.roomPath")
            c.heartbeat = .milliseconds(int("cluster.heartbeatMillis"))
            c.nodeTimeout = .seconds(int("cluster.nodeTimeoutSeconds"))
            c.participantsPerNode = int("cluster.participantsPerNode")
            c.maxParticipantsPerNode = int("cluster.maxParticipantsPerNode")
            c.drain = .seconds(int("cluster.drainSeconds"))
            cluster = c
        }
        return TesseraConfig(
            address: str("server.address"), port: int("server.port"),
            kurentoPath: str("server.kurentoPath"), roomPath: str("server.roomPath"), access: access,
            tls: tls, adminKey: optional("admin.key"),
            connectionLimits: connectionLimits, kurentoLimits: kurentoLimits,
            mediaLoops: int("media.loops"), mixerThreads: int("media.mixerThreads"), mixer: mixer, rooms: rooms,
            stunServers: list("ice.stunServers"), turnServers: list("ice.turnServers"),
            iceHostAddresses: list("ice.hostAddresses"), udpPortRange: portMin...portMax,
            iceConsentTimeout: .seconds(int("ice.consentTimeoutSeconds")),
            iceMode: ICEMode(rawValue: str("ice.mode")) ?? .lite, iceUDPPort: int("ice.udpPort"),
            recordingDirectory: str("recording.directory"),
            gracePeriod: .seconds(int("sessions.gracePeriodSeconds")),
            requestCacheTTL: .seconds(int("sessions.requestCacheSeconds")),
            logLevel: Logger.Level(rawValue: str("logging.level")) ?? .info, logAreas: areas,
            metadata: JSONWriter.string(values["metadata"] ?? .object([:])), cluster: cluster)
    }
}
