public import Elements
public import MediaPlane
public import Rooms
import Transport
import Foundation
import JSONRPC
public import Cluster
public import Hummingbird
import HummingbirdWebSocket
import HummingbirdCore
import HTTPTypes
import Logging
import Metrics
import CoreMetrics
public import Prometheus
import ServiceLifecycle
import UnixSignals

/// Builds the HTTP/WebSocket application: `/kurento` (Kurento protocol),
/// `GET /health`, `GET /metrics`, plus the garbage-collection service.
public struct TesseraServer {
    public let config: TesseraConfig
    public let service: KurentoService
    public let rooms: RoomService
    public let registry: PrometheusCollectorRegistry
    public let media: MediaContext
    /// This node's part in a cluster (`cluster.databaseURL` set), else nil.
    public let cluster: ClusterNode?
    let logger: Logger
    /// Counts a refusal by the limit named (its config key) in /metrics.
    let limitRefused: @Sendable (String) -> Void
    let connections = ConnectionCount()
    /// Room sockets this node relays to other nodes now (+1/-1; `tessera_cluster_relayed_sockets`).
    let relayed: @Sendable (Int) -> Void

    public init(
        config: TesseraConfig, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        clock: any TimeSource = SystemTimeSource()
    ) throws {
        self.config = config
        self.registry = registry
        self.logger = Logger(label: "tessera.http")
        var buckets = PrometheusMetricsFactory(registry: registry)
        // Buckets that fit what is measured: mixer ticks take a fraction of a millisecond to a few;
        // jitter and RTT are milliseconds to seconds; loss is a fraction.
        let fine: [Duration] = [50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000, 50000, 100_000].map { .microseconds($0) }
        buckets.durationHistogramBuckets["tessera_mixer_tick_seconds"] = fine
        buckets.durationHistogramBuckets["tessera_mixer_encode_seconds"] = fine
        buckets.valueHistogramBuckets["tessera_rtp_jitter_seconds"] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5]
        buckets.valueHistogramBuckets["tessera_rtt_seconds"] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
        buckets.valueHistogramBuckets["tessera_rtp_fraction_lost"] = [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]
        let metricsFactory = buckets
        let limitRefused: @Sendable (String) -> Void = { key in
            metricsFactory.makeCounter(label: "tessera_limit_refusals_total", dimensions: [("limit", key)]).increment(by: 1)
        }
        self.limitRefused = limitRefused
        let relayedCount = ConnectionCount()
        relayed = { delta in
            if delta > 0 { relayedCount.opened() } else { relayedCount.closed() }
            metricsFactory.makeRecorder(label: "tessera_cluster_relayed_sockets", dimensions: [], aggregate: false)
                .record(Int64(relayedCount.current))
        }
        // Recordings need their directory: made at start (with its parents) rather
        // than failing the first startRecording of a fresh install.
        if !FileManager.default.fileExists(atPath: config.recordingDirectory) {
            do {
                try FileManager.default.createDirectory(atPath: config.recordingDirectory, withIntermediateDirectories: true)
                logger.notice("created the recording directory", metadata: ["path": "\(config.recordingDirectory)"])
            } catch {
                logger.error("cannot create the recording directory: \(error)", metadata: ["path": "\(config.recordingDirectory)"])
            }
        }
        if !config.rooms.tokens.enabled {
            logger.warning("rooms.tokenKey and rooms.tokenPublicKey are empty: an open server, where anyone who reaches the room WebSocket may join any room as a moderator")
        }
        var ice = ICESettings()
        ice.hostAddresses = config.iceHostAddresses
        ice.portRange = config.udpPortRange
        ice.consentTimeout = config.iceConsentTimeout
        ice.mode = config.iceMode
        ice.udpPort = config.iceUDPPort
        ice.stunServer = config.stunServers.first
        if config.stunServers.count > 1 {
            // libnice asks a single STUN server per agent; TURN relays are all used.
            logger.warning("only the first STUN server is used", metadata: [
                "used": "\(config.stunServers[0])", "ignored": "\(config.stunServers.dropFirst().joined(separator: ","))"])
        }
        ice.turnServers = config.turnServers
        media = try MediaContext(
            loopCount: config.mediaLoops, mixerThreads: config.mixerThreads, mixer: config.mixer, ice: ice, logger: Logger(label: "tessera.media"),
            recordingDirectory: config.recordingDirectory, metrics: MediaMetrics(factory: metricsFactory))
        let mediaSet = MediaSet(
            clock: clock, metadata: config.metadata, logger: Logger(label: "tessera.signalling"), media: media)
        mediaSet.limits = config.kurentoLimits
        mediaSet.limitRefused = limitRefused
        var options = KurentoProtocolHandler.Options()
        options.gracePeriod = config.gracePeriod
        options.requestCacheTTL = config.requestCacheTTL
        let handler = KurentoProtocolHandler(
            mediaSet: mediaSet, options: options, metrics: SignallingMetrics(factory: metricsFactory))
        self.service = KurentoService(handler: handler)
        var roomOptions = config.rooms
        roomOptions.limitRefused = limitRefused
        roomOptions.requestDone = { method, outcome, duration in
            metricsFactory.makeCounter(label: "tessera_room_requests_total", dimensions: [("method", method), ("outcome", outcome)]).increment(by: 1)
            CoreMetrics.Timer(label: "tessera_room_request_duration_seconds", dimensions: [("method", method)], factory: metricsFactory).record(duration)
        }
        roomOptions.census = { byMode in
            for (mode, count) in byMode {
                metricsFactory.makeRecorder(label: "tessera_rooms", dimensions: [("mode", mode.rawValue)], aggregate: false).record(Int64(count.rooms))
                metricsFactory.makeRecorder(label: "tessera_room_participants", dimensions: [("mode", mode.rawValue)], aggregate: false)
                    .record(Int64(count.participants))
            }
        }
        let rooms = RoomService(media: KurentoRoomMedia(service: service), options: roomOptions, clock: clock)
        self.rooms = rooms
        if let settings = config.cluster {
            let clusterLogger = Logger(label: "tessera.rooms")
            let store = try PostgresClusterStore(url: settings.databaseURL, logger: clusterLogger)
            let report: @Sendable (Int, Int, Bool) -> Void = { nodes, rooms, ok in
                metricsFactory.makeRecorder(label: "tessera_cluster_nodes", dimensions: [], aggregate: false).record(Int64(nodes))
                metricsFactory.makeRecorder(label: "tessera_cluster_rooms_held", dimensions: [], aggregate: false).record(Int64(rooms))
                if !ok { metricsFactory.makeCounter(label: "tessera_cluster_heartbeat_failures_total", dimensions: []).increment(by: 1) }
            }
            cluster = ClusterNode(settings: settings, store: store, logger: clusterLogger, report: report) {
                let load = await rooms.load
                return NodeLoad(participants: load.participants, rooms: load.rooms, mixers: load.mixers)
            }
        } else {
            cluster = nil
        }
    }

    /// The Hummingbird application; `onServerRunning` reports the bound port (tests use port 0).
    public func makeApplication(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        let rooms = self.rooms
        let service = self.service
        let registry = self.registry
        let cluster = self.cluster
        let relayed = self.relayed
        router.get("/health") { _, _ -> Response in
            let (sessions, objects, media) = await service.withMediaSet { ($0.sessionIDs.count, $0.objects.count - 1, try? $0.mediaContext()) }
            // Media-plane nodes alive on the loops: 0 again once every element is released.
            let nodes = await media?.nodeCount() ?? 0
            var body = "{\"status\":\"ok\",\"sessions\":\(sessions),\"objects\":\(objects),\"nodes\":\(nodes)"
            if let cluster { body += ",\"cluster\":" + JSONWriter.string(await Self.describe(cluster)) }
            body += "}"
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        // The meeting page (built on the room client below) and its files, from the bundle.
        for (name, file) in BundledFiles(bundle: .module, folder: "Demo", names: DemoPage.names).files {
            let headers: HTTPFields = [
                .contentType: file.contentType, .contentSecurityPolicy: DemoPage.contentSecurityPolicy,
                .xContentTypeOptions: "nosniff", .referrerPolicy: "no-referrer", .cacheControl: "no-cache",
            ]
            let paths = name == "index.html" ? ["/demo"] : name == "favicon.svg" ? ["/demo/\(name)", "/favicon.ico"] : ["/demo/\(name)"]
            Self.serve(file, headers: headers, at: paths, on: router)
        }
        // The room API's JavaScript client (an ES module) and its types. Other origins may load it.
        for (name, file) in BundledFiles(bundle: .module, folder: "SDK", names: ["tessera-room.js", "tessera-room.d.ts"]).files {
            let headers: HTTPFields = [
                .contentType: file.contentType, .accessControlAllowOrigin: "*", .xContentTypeOptions: "nosniff", .cacheControl: "no-cache",
            ]
            Self.serve(file, headers: headers, at: ["/sdk/\(name)"], on: router)
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }

        AdminAPI.register(on: router, rooms: rooms, cluster: cluster, key: config.adminKey, logger: Logger(label: "tessera.http"))

        let socketLimits = SocketLimits(limits: config.connectionLimits, connections: connections, refused: limitRefused)
        let wsRouter = Router(context: BasicWebSocketRequestContext.self)
        let wsLogger = Logger(label: "tessera.signalling")
        wsRouter.ws(RouterPath(stringLiteral: config.kurentoPath)) { inbound, outbound, _ in
            await KurentoWebSocket.run(inbound: inbound, outbound: outbound, service: service, limits: socketLimits, logger: wsLogger)
        }
        wsRouter.ws(RouterPath(stringLiteral: config.roomPath)) { inbound, outbound, _ in
            await RoomWebSocket.run(
                inbound: inbound, outbound: outbound, rooms: rooms, cluster: cluster, relayed: relayed, limits: socketLimits, logger: wsLogger)
        }
        // A plain GET of a WebSocket path: an upgrade the gate refused (401/403 and the
        // reason), or a client that did not ask for a WebSocket (426).
        for path in [config.kurentoPath, config.roomPath] {
            router.get(RouterPath(stringLiteral: path)) { request, _ -> Response in
                if let refusal = request.headers[HTTPField.Name(UpgradeGateHandler.refusalHeader)!] {
                    let status = Int(refusal.prefix { $0 != " " }) ?? 403
                    var response = Self.text(HTTPResponse.Status(code: status), String(refusal.drop { $0 != " " }.dropFirst()) + "\n")
                    if status == 401 { response.headers[.wwwAuthenticate] = "Bearer" }
                    return response
                }
                return Self.text(.upgradeRequired, "this path is a WebSocket: connect with ws:// (or wss://)\n")
            }
        }
        // Who may connect (server.kurentoAllow, kurentoSecret, allowedOrigins) is checked
        // by a handler in front of the upgrade, which answers refusals with 401 or 403.
        let access = config.access
        let gatePaths = [config.kurentoPath: true, config.roomPath: false]
        let wsResponder = wsRouter.buildResponder()
        let certificates = config.tls
        let serverBuilder = HTTPServerBuilder { responder -> any ServerChildChannel in
            let plain = GatedWebSocketChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: wsResponder,
                    configuration: .init(ws: .init(maxFrameSize: socketLimits.limits.hardMessageCap))),
                makeGate: { UpgradeGateHandler(policy: access, paths: gatePaths, limits: socketLimits, logger: wsLogger) })
            guard let certificates else { return plain }
            return TLSServerChannel(base: plain, certificates: certificates)
        }

        let gc = GarbageCollector(service: service, interval: Self.gcInterval(grace: config.gracePeriod))
        let events = MediaEventPump(service: service, media: media)
        return Application(
            router: router,
            server: serverBuilder,
            configuration: .init(address: .hostname(config.address, port: config.port), serverName: "Tessera"),
            // Shut down in reverse order: the HTTP server first, the media last.
            services: [MediaShutdown(service: service), gc, events, RoomClock(rooms: rooms)]
                + (cluster.map { [ClusterHeartbeat(node: $0, rooms: rooms, maxFrame: socketLimits.limits.hardMessageCap)] as [any Service] } ?? [])
                + (certificates.map { [TLSReloader(certificates: $0, logger: logger)] as [any Service] } ?? []),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Runs the server until SIGINT or SIGTERM, then shuts down gracefully (in a
    /// cluster, after draining: `ClusterDrain`).
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = makeApplication(onServerRunning: onServerRunning)
        // Services stop in reverse order: the drain, listed last, runs before the server stops.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if let cluster, cluster.settings.drain > .zero {
            services.append(.init(service: ClusterDrain(node: cluster, rooms: rooms, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Sessions are checked several times per grace period, at most every 10 s.
    static func gcInterval(grace: Duration) -> Duration {
        min(max(grace / 8, .milliseconds(200)), .seconds(10))
    }
}

/// On SIGTERM/SIGINT, after the server has stopped taking requests: releases
/// every media object and waits for running recordings to become complete
/// files (muxer drained, index written), so a stopped server leaves nothing
/// half-written.
struct MediaShutdown: Service {
    let service: KurentoService

    func run() async throws {
        try? await gracefulShutdown()
        _ = await service.shutdown(timeout: .seconds(15))
    }
}

/// Carries media-plane events to the signalling actor.
struct MediaEventPump: Service {
    let service: KurentoService
    let media: MediaContext

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await service.runMediaEvents(media)
        }
    }
}

/// The room layer's timers (ping watchdog, reconnection grace, switch
/// timeouts) and its media events.
/// Joins the cluster (schema, first heartbeat: the server does not start
/// without its database), heartbeats, and leaves it at shutdown.
struct ClusterHeartbeat: Service {
    let node: ClusterNode
    let rooms: RoomService
    let maxFrame: Int

    func run() async throws {
        try await node.start()
        // Cascaded rooms: links from hosting nodes are taken, and made to owners (docs/cluster.md).
        let node = self.node, rooms = self.rooms, maxFrame = self.maxFrame, logger = Logger(label: "tessera.rooms")
        var cascade = CascadeSettings(
            node: node.settings.nodeID, secret: await node.secret, maxParticipantsPerNode: node.settings.maxParticipantsPerNode,
            connect: { room, owner in
                try await CascadeLink.connect(room: room, owner: owner, cluster: node, rooms: rooms, maxFrame: maxFrame, logger: logger)
            },
            place: { room in
                switch try await node.place(room: room) {
                case .here: return node.settings.nodeID
                case .elsewhere(let other): return other.id
                }
            })
        cascade.participantsPerNode = node.settings.participantsPerNode
        await rooms.enableCascade(cascade)
        await cancelWhenGracefulShutdown { await node.run() }
    }
}

/// Draining (docs/cluster.md): waits for the shutdown signal, then takes the
/// node out of placement, sends its participants to another node and keeps
/// their media for `cluster.drainSeconds`, before the server itself stops.
struct ClusterDrain: Service {
    let node: ClusterNode
    let rooms: RoomService
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        let target = await node.drain()
        let url = target.map { node.settings.roomURL(of: $0) }
        let me = node.settings.nodeID
        let closed = await rooms.evacuate { room in
            var params: [String: JSONValue] = ["room": .string(room), "node": .string(me), "reason": "draining"]
            if let url { params["url"] = .string(url) }
            return .object(params)
        }
        logger.notice("draining: participants sent away, media kept meanwhile", metadata: [
            "sockets": "\(closed)", "seconds": "\(node.settings.drain)"])
        if closed > 0 { try? await Task.sleep(for: node.settings.drain) }
    }
}

extension TesseraServer {
    /// GET of each of `paths` answers `file` with `headers`.
    static func serve(_ file: BundledFiles.File, headers: HTTPFields, at paths: [String], on router: Router<BasicRequestContext>) {
        let body = ByteBuffer(bytes: file.data)
        for path in paths {
            router.get(RouterPath(stringLiteral: path)) { _, _ -> Response in
                Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
            }
        }
    }

    /// The cluster as this node sees it, for /health: its nodes with their load and the rooms each holds.
    static func describe(_ cluster: ClusterNode) async -> JSONValue {
        let nodes = await cluster.nodes
        let rooms = (try? await cluster.rooms()) ?? [:]
        let error = await cluster.lastError
        return [
            "node": .string(cluster.settings.nodeID),
            "database": .string(error == nil ? "ok" : "failing: \(error!)"),
            "nodes": .array(nodes.map { n in
                [
                    "id": .string(n.id), "url": .string(n.advertiseURL), "participants": .int(Int64(n.participants)),
                    "rooms": .array(rooms.filter { $0.value == n.id }.keys.sorted().map { .string($0) }),
                    "cpu": .double(n.cpu), "mixers": .int(Int64(n.mixers)), "draining": .bool(n.draining),
                    "heartbeatAge": .double((n.heartbeatAge * 1000).rounded() / 1000),
                ]
            }),
        ]
    }
}

struct RoomClock: Service {
    let rooms: RoomService

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await rooms.runMediaEvents() }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(500))
                        await rooms.tick()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}

/// Periodically drops sessions past their grace period (protocol §1.3).
struct GarbageCollector: Service {
    let service: KurentoService
    let interval: Duration

    func run() async throws {
        // Sleeping is cancelled on graceful shutdown so the server stops at once.
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: interval)
                await service.collectGarbage()
            }
        }
    }
}
