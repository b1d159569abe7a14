public import JSONRPC

/// One configuration setting: its key in `Config/tessera.json`, the
/// environment variable and command-line flag that override it, its kind and
/// default. This table is the single source for loading, overriding and the
/// documentation check (`Tests/TesseraServerTests/ConfigTests.swift`).
public struct ConfigSetting: Sendable {
    public enum Kind: Sendable {
        case string
        /// A URL path beginning with "/".
        case path
        case int(ClosedRange<Int64>)
        /// A list of strings; from env or a flag, comma separated.
        case stringList
        case logLevel
        /// An object of area name -> log level.
        case logLevels
        /// Free-form JSON object passed through (`metadata`).
        case object
        /// A colour as `#RRGGBB`.
        case colour
        /// One of a fixed set of strings.
        case choice([String])
        /// A string that may be empty.
        case optionalString
    }

    public var key: String
    public var env: String
    public var flag: String?
    public var kind: Kind
    public var defaultValue: JSONValue
    public var summary: String

    public static let logAreas = ["signalling", "http", "ice", "dtls", "rtp", "media", "mixer", "recording", "rooms"]
    static let logLevelNames = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Every setting. Built from one table per section: a single literal of
    /// this size compiles (in debug builds) to a stack frame too large for the
    /// 512 KiB threads Swift concurrency runs on.
    public static let all: [ConfigSetting] = server + media + mixer + rooms + ice + recording + sessions + admin + cluster + limits + logging + metadata

    private static let server: [ConfigSetting] = [
        .init(key: "server.address", env: "TESSERA_ADDRESS", flag: "address", kind: .string, defaultValue: "0.0.0.0",
              summary: "Address the HTTP/WebSocket listener binds to."),
        .init(key: "server.port", env: "TESSERA_PORT", flag: "port", kind: .int(1...65535), defaultValue: 8888,
              summary: "TCP port of the HTTP/WebSocket listener."),
        .init(key: "server.kurentoPath", env: "TESSERA_KURENTO_PATH", flag: "kurento-path", kind: .path, defaultValue: "/kurento",
              summary: "WebSocket path of the Kurento protocol."),
        .init(key: "server.roomPath", env: "TESSERA_ROOM_PATH", flag: "room-path", kind: .path, defaultValue: "/room",
              summary: "WebSocket path of the room protocol."),
        .init(key: "server.tls.certificate", env: "TESSERA_TLS_CERTIFICATE", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "PEM file of the listener's certificate chain; with server.tls.privateKey, the port speaks HTTPS and wss:// (reloaded on SIGHUP)."),
        .init(key: "server.tls.privateKey", env: "TESSERA_TLS_PRIVATE_KEY", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "PEM file of the certificate's private key."),
        .init(key: "server.kurentoAllow", env: "TESSERA_KURENTO_ALLOW", flag: nil, kind: .stringList, defaultValue: ["127.0.0.0/8", "::1/128"],
              summary: "Networks (CIDR) that may open the Kurento WebSocket; others get HTTP 403. Default: loopback only."),
        .init(key: "server.kurentoSecret", env: "TESSERA_KURENTO_SECRET", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "Shared secret the Kurento WebSocket requires (Authorization: Bearer, or ?secret=); empty = none."),
        .init(key: "server.allowedOrigins", env: "TESSERA_ALLOWED_ORIGINS", flag: nil, kind: .stringList, defaultValue: [],
              summary: "Browser origins allowed on both WebSockets besides the server's own and loopback ones; \"*\" = any."),
    ]

    private static let media: [ConfigSetting] = [
        .init(key: "media.loops", env: "TESSERA_MEDIA_LOOPS", flag: "media-loops", kind: .int(0...256), defaultValue: 0,
              summary: "Number of media loop threads; 0 means one per CPU core."),
        .init(key: "media.mixerThreads", env: "TESSERA_MIXER_THREADS", flag: "mixer-threads", kind: .int(0...256), defaultValue: 0,
              summary: "Number of mixer worker threads for codec work; 0 means one per CPU core."),
    ]

    private static let mixer: [ConfigSetting] = [
        .init(key: "mixer.width", env: "TESSERA_MIXER_WIDTH", flag: nil, kind: .int(16...3840), defaultValue: 1280,
              summary: "Composite canvas width when the constructor gives none."),
        .init(key: "mixer.height", env: "TESSERA_MIXER_HEIGHT", flag: nil, kind: .int(16...2160), defaultValue: 720,
              summary: "Composite canvas height when the constructor gives none."),
        .init(key: "mixer.fps", env: "TESSERA_MIXER_FPS", flag: nil, kind: .int(1...60), defaultValue: 30,
              summary: "Composite output frame rate when the constructor gives none."),
        .init(key: "mixer.videoBitrateKbps", env: "TESSERA_MIXER_VIDEO_KBPS", flag: nil, kind: .int(50...20000), defaultValue: 1500,
              summary: "Bitrate of the composed VP8 stream, kbit/s."),
        .init(key: "mixer.audioBitrateKbps", env: "TESSERA_MIXER_AUDIO_KBPS", flag: nil, kind: .int(6...510), defaultValue: 32,
              summary: "Bitrate of each mixed Opus stream, kbit/s."),
        .init(key: "mixer.maxSpeakers", env: "TESSERA_MIXER_MAX_SPEAKERS", flag: nil, kind: .int(1...32), defaultValue: 3,
              summary: "Loudest speakers mixed into the audio; the others are not decoded."),
        .init(key: "mixer.encoderThreads", env: "TESSERA_MIXER_ENCODER_THREADS", flag: nil, kind: .int(1...16), defaultValue: 1,
              summary: "Threads of each composite's VP8 encoder."),
        .init(key: "mixer.cpuUsed", env: "TESSERA_MIXER_CPU_USED", flag: nil, kind: .int((-16)...(-1)), defaultValue: -8,
              summary: "libvpx realtime speed of the composite encoder (negative: fixed speed; -16 fastest)."),
        .init(key: "mixer.background", env: "TESSERA_MIXER_BACKGROUND", flag: nil, kind: .colour, defaultValue: "#101010",
              summary: "Canvas background colour as #RRGGBB."),
        .init(key: "mixer.qualities", env: "TESSERA_MIXER_QUALITIES", flag: nil, kind: .stringList, defaultValue: [],
              summary: "Lower qualities of every composite, each WIDTHxHEIGHT@KBPS (e.g. 640x360@500, 320x180@150), encoded beside the main one; each viewer gets the one its bandwidth allows. Empty: one quality."),
    ]

    private static let rooms: [ConfigSetting] = [
        .init(key: "rooms.defaultMode", env: "TESSERA_ROOM_MODE", flag: "room-mode", kind: .choice(["sfu", "mcu", "hybrid"]), defaultValue: "sfu",
              summary: "Mode of a room whose first joinRoom names none: sfu, mcu or hybrid."),
        .init(key: "rooms.reconnectGraceSeconds", env: "TESSERA_ROOM_GRACE", flag: nil, kind: .int(1...3600), defaultValue: 10,
              summary: "Seconds a participant whose socket dropped keeps its place; connect with its sessionId within them resumes it."),
        .init(key: "rooms.autoMcuThreshold", env: "TESSERA_ROOM_AUTO_MCU", flag: nil, kind: .int(0...10000), defaultValue: 0,
              summary: "An SFU room switches itself to MCU when it reaches this many participants; 0 = never."),
        .init(key: "rooms.maxParticipants", env: "TESSERA_ROOM_MAX_PARTICIPANTS", flag: nil, kind: .int(1...10000), defaultValue: 100,
              summary: "Participants a room accepts."),
        .init(key: "rooms.tokenKey", env: "TESSERA_ROOM_TOKEN_KEY", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "HS256 key of room tokens (JWT); with no tokenPublicKey either, an open server where every participant is a moderator."),
        .init(key: "rooms.tokenPublicKey", env: "TESSERA_ROOM_TOKEN_PUBLIC_KEY", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "Path of a PEM P-256 public key: room tokens signed ES256 with its private key are accepted."),
        .init(key: "rooms.tokenExpiry", env: "TESSERA_ROOM_TOKEN_EXPIRY", flag: nil, kind: .choice(["required", "optional"]), defaultValue: "required",
              summary: "Whether a room token must carry exp."),
        .init(key: "rooms.tokenAudience", env: "TESSERA_ROOM_TOKEN_AUDIENCE", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "When set, a room token's aud must be (or list) this."),
        .init(key: "rooms.tokenIssuer", env: "TESSERA_ROOM_TOKEN_ISSUER", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "When set, a room token's iss must be this."),
        .init(key: "rooms.tokenLeewaySeconds", env: "TESSERA_ROOM_TOKEN_LEEWAY", flag: nil, kind: .int(0...3600), defaultValue: 30,
              summary: "Clock skew allowed on exp and nbf, seconds."),
    ]

    private static let ice: [ConfigSetting] = [
        .init(key: "ice.stunServers", env: "TESSERA_STUN_SERVERS", flag: "stun-server", kind: .stringList, defaultValue: [],
              summary: "STUN servers as host:port (IP addresses), used to learn server-reflexive addresses; libnice asks one, so only the first is used (a warning names the rest). Empty: none (nothing leaves the machine)."),
        .init(key: "ice.turnServers", env: "TESSERA_TURN_SERVERS", flag: "turn-server", kind: .stringList, defaultValue: [],
              summary: "TURN servers as user:password@host:port[?transport=udp|tcp|tls]; every one gives a relayed candidate."),
        .init(key: "ice.hostAddresses", env: "TESSERA_ICE_HOST_ADDRESSES", flag: "ice-host-address", kind: .stringList, defaultValue: [],
              summary: "Host addresses to gather and advertise. Empty: every non-loopback interface address. Add 127.0.0.1 for tests on one machine."),
        .init(key: "ice.mode", env: "TESSERA_ICE_MODE", flag: "ice-mode", kind: .choice(["lite", "full"]), defaultValue: "lite",
              summary: "lite: every WebRTC peer of a media loop shares that loop's UDP port (ice.udpPort + loop index) and the server is ICE-lite. full: libnice full ICE with a port per peer from ice.udpPortMin-Max. Endpoints with a STUN or TURN server always use full ICE."),
        .init(key: "ice.udpPort", env: "TESSERA_ICE_UDP_PORT", flag: "ice-udp-port", kind: .int(0...65535), defaultValue: 40000,
              summary: "First shared media port in lite mode: media loop i listens on ice.udpPort + i (open that range in the firewall). 0 = ports the kernel chooses."),
        .init(key: "ice.udpPortMin", env: "TESSERA_UDP_PORT_MIN", flag: "udp-port-min", kind: .int(1024...65535), defaultValue: 40100,
              summary: "Lowest UDP port for per-peer sockets: full-ICE WebRTC endpoints and RtpEndpoints."),
        .init(key: "ice.udpPortMax", env: "TESSERA_UDP_PORT_MAX", flag: "udp-port-max", kind: .int(1024...65535), defaultValue: 49999,
              summary: "Highest UDP port for per-peer sockets."),
        .init(key: "ice.consentTimeoutSeconds", env: "TESSERA_ICE_CONSENT_TIMEOUT", flag: "ice-consent-timeout", kind: .int(5...600), defaultValue: 30,
              summary: "Seconds without authenticated traffic from a WebRTC peer after which its consent has expired (RFC 7675): we stop sending, report ICE FAILED and the session as terminated. Shorter outages only pause the call."),
    ]

    private static let recording: [ConfigSetting] = [
        .init(key: "recording.directory", env: "TESSERA_RECORDING_DIR", flag: "recording-dir", kind: .string, defaultValue: "recordings",
              summary: "Directory RecorderEndpoint may write to (relative paths are relative to the working directory); URIs outside it are refused."),
    ]

    private static let limits: [ConfigSetting] = [
        .init(key: "limits.maxConnections", env: "TESSERA_MAX_CONNECTIONS", flag: nil, kind: .int(1...1_000_000), defaultValue: 10_000,
              summary: "WebSocket connections (both paths) open at once; past it an upgrade gets HTTP 503."),
        .init(key: "limits.maxSessions", env: "TESSERA_MAX_SESSIONS", flag: nil, kind: .int(1...1_000_000), defaultValue: 10_000,
              summary: "Kurento sessions holding objects at once; a create from one more gets 40009."),
        .init(key: "limits.maxPipelines", env: "TESSERA_MAX_PIPELINES", flag: nil, kind: .int(1...1_000_000), defaultValue: 1_000,
              summary: "MediaPipelines at once (rooms' included); one more gets 40009."),
        .init(key: "limits.maxObjectsPerSession", env: "TESSERA_MAX_OBJECTS_PER_SESSION", flag: nil, kind: .int(1...1_000_000), defaultValue: 10_000,
              summary: "Objects one Kurento session may hold; one more gets 40009."),
        .init(key: "limits.maxRooms", env: "TESSERA_MAX_ROOMS", flag: nil, kind: .int(1...1_000_000), defaultValue: 1_000,
              summary: "Rooms at once; a joinRoom that would make one more gets 208."),
        .init(key: "limits.maxStreamsPerParticipant", env: "TESSERA_MAX_STREAMS_PER_PARTICIPANT", flag: nil, kind: .int(1...100_000), defaultValue: 64,
              summary: "Streams (published and subscribed) one room participant may hold; one more gets 208."),
        .init(key: "limits.requestsPerSecond", env: "TESSERA_REQUESTS_PER_SECOND", flag: nil, kind: .int(1...1_000_000), defaultValue: 1_000,
              summary: "Requests one room connection may send per second (bursts of one second's worth); past it 208."),
        .init(key: "limits.kurentoRequestsPerSecond", env: "TESSERA_KURENTO_REQUESTS_PER_SECOND", flag: nil, kind: .int(0...1_000_000), defaultValue: 0,
              summary: "The same for one Kurento connection, past it 40009; 0 = no limit (an application server speaks for all its users on one connection)."),
        .init(key: "limits.maxMessageBytes", env: "TESSERA_MAX_MESSAGE_BYTES", flag: nil, kind: .int(1024...67_108_864), defaultValue: 1_048_576,
              summary: "Largest message; a larger one gets a JSON-RPC error (-32600, id null) and the socket closes (1009)."),
    ]

    private static let admin: [ConfigSetting] = [
        .init(key: "admin.key", env: "TESSERA_ADMIN_KEY", flag: nil, kind: .optionalString, defaultValue: "",
              summary: "Bearer key of the HTTP admin API under /admin; empty = no admin API (/admin answers 404)."),
    ]

    private static let cluster: [ConfigSetting] = [
        .init(key: "cluster.databaseURL", env: "TESSERA_CLUSTER_DATABASE_URL", flag: "cluster-database-url", kind: .optionalString, defaultValue: "",
              summary: "PostgreSQL the cluster shares (postgres://user:password@host:port/database); empty = a single node, no cluster."),
        .init(key: "cluster.nodeId", env: "TESSERA_CLUSTER_NODE_ID", flag: "cluster-node-id", kind: .optionalString, defaultValue: "",
              summary: "This node's name in the cluster, unique and stable; empty = the host name."),
        .init(key: "cluster.advertiseURL", env: "TESSERA_CLUSTER_ADVERTISE_URL", flag: "cluster-advertise-url", kind: .optionalString, defaultValue: "",
              summary: "The ws:// or wss:// base other nodes and clients reach this node at; empty = ws://(first ice.hostAddresses or host name):(server.port)."),
        .init(key: "cluster.heartbeatMillis", env: "TESSERA_CLUSTER_HEARTBEAT_MS", flag: nil, kind: .int(100...60_000), defaultValue: 1000,
              summary: "How often the node writes its heartbeat and load and renews its rooms' leases."),
        .init(key: "cluster.nodeTimeoutSeconds", env: "TESSERA_CLUSTER_NODE_TIMEOUT", flag: nil, kind: .int(1...3600), defaultValue: 5,
              summary: "A node silent this long is gone, and its rooms may be taken by another (also the length of a room's lease)."),
        .init(key: "cluster.participantsPerNode", env: "TESSERA_CLUSTER_PARTICIPANTS_PER_NODE", flag: nil, kind: .int(1...1_000_000), defaultValue: 500,
              summary: "Past this many participants, the node receiving a new room's first join places it on the least loaded node instead."),
        .init(key: "cluster.maxParticipantsPerNode", env: "TESSERA_CLUSTER_MAX_PARTICIPANTS_PER_NODE", flag: nil, kind: .int(0...1_000_000), defaultValue: 0,
              summary: "Participants of one room a node hosts; joins past it through another node are hosted there, linked to the room's node (a cascaded room); 0 = never."),
        .init(key: "cluster.drainSeconds", env: "TESSERA_CLUSTER_DRAIN_SECONDS", flag: nil, kind: .int(0...3600), defaultValue: 10,
              summary: "On SIGTERM, a node in a cluster takes no new rooms, sends its participants to other nodes and keeps their media this long before it stops; 0 = stop at once."),
    ]

    private static let sessions: [ConfigSetting] = [
        .init(key: "sessions.gracePeriodSeconds", env: "TESSERA_GRACE_PERIOD", flag: "grace-period", kind: .int(1...86400), defaultValue: 240,
              summary: "Seconds a session whose socket dropped keeps its objects; a reconnect with its sessionId within this time resumes it."),
        .init(key: "sessions.requestCacheSeconds", env: "TESSERA_REQUEST_CACHE_SECONDS", flag: "request-cache-seconds", kind: .int(0...600), defaultValue: 20,
              summary: "Seconds a response is kept for a retried request id (0 disables the cache)."),
    ]

    private static let logging: [ConfigSetting] = [
        .init(key: "logging.level", env: "TESSERA_LOG_LEVEL", flag: "log-level", kind: .logLevel, defaultValue: "info",
              summary: "Default log level: trace, debug, info, notice, warning, error or critical."),
        .init(key: "logging.areas", env: "TESSERA_LOG_AREAS", flag: "log-area", kind: .logLevels, defaultValue: [:],
              summary: "Per-area log levels, e.g. {\"ice\": \"debug\"}; from env or flag as area=level pairs. Areas: signalling, http, ice, dtls, rtp, media, mixer, recording, rooms."),
    ]

    private static let metadata: [ConfigSetting] = [
        .init(key: "metadata", env: "TESSERA_METADATA", flag: nil, kind: .object, defaultValue: [:],
              summary: "Free JSON object returned as text by ServerManager.getMetadata."),

    ]
}
