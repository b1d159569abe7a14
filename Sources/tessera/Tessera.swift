import ArgumentParser
import Foundation
import Logging
import TesseraServer

/// `tessera`: read the config (file, then TESSERA_* environment, then flags),
/// bootstrap logging, run the server until SIGINT/SIGTERM.
/// `tessera token`: print a room token.
@main
struct Tessera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Tessera media server: Kurento protocol, MCU and SFU.",
        discussion: "Settings come from the config file, then TESSERA_* environment variables, then these flags. "
            + "Without --config, Config/tessera.json is read when it exists and built-in defaults are used otherwise. "
            + "Every setting is described in Config/README.md. A bad setting prints one line naming the key and exits with status 2. "
            + "`tessera token` prints a room token.",
        subcommands: [Token.self])

    /// Read when it exists and no `--config` names another file.
    static let defaultConfig = "Config/tessera.json"

    @Option(name: .shortAndLong, help: "Config file (JSON); a file named here must exist. Default: \(Tessera.defaultConfig) if present.")
    var config: String?

    @Option(help: "Listen address (server.address).") var address: String?
    @Option(help: "Listen port (server.port).") var port: String?
    @Option(help: "Kurento WebSocket path (server.kurentoPath).") var kurentoPath: String?
    @Option(help: "Room WebSocket path (server.roomPath).") var roomPath: String?
    @Option(help: "Media loop threads, 0 = cores (media.loops).") var mediaLoops: String?
    @Option(help: "Mixer worker threads, 0 = cores (media.mixerThreads).") var mixerThreads: String?
    @Option(help: "Mode of new rooms: sfu, mcu or hybrid (rooms.defaultMode).") var roomMode: String?
    @Option(help: "STUN server host:port, repeatable (ice.stunServers).") var stunServer: [String] = []
    @Option(help: "TURN server user:pass@host:port, repeatable (ice.turnServers).") var turnServer: [String] = []
    @Option(help: "Host address to advertise, repeatable (ice.hostAddresses).") var iceHostAddress: [String] = []
    @Option(help: "Lowest media UDP port (ice.udpPortMin).") var udpPortMin: String?
    @Option(help: "Highest media UDP port (ice.udpPortMax).") var udpPortMax: String?
    @Option(help: "Recording directory (recording.directory).") var recordingDir: String?
    @Option(help: "Session grace period in seconds (sessions.gracePeriodSeconds).") var gracePeriod: String?
    @Option(help: "Request cache lifetime in seconds (sessions.requestCacheSeconds).") var requestCacheSeconds: String?
    @Option(help: "Default log level (logging.level).") var logLevel: String?
    @Option(help: "Area log level as area=level, repeatable (logging.areas).") var logArea: [String] = []
    @Option(help: "PostgreSQL of the cluster, postgres://user:pass@host:port/db (cluster.databaseURL).") var clusterDatabaseUrl: String?
    @Option(help: "This node's name in the cluster (cluster.nodeId).") var clusterNodeId: String?
    @Option(help: "ws:// base other nodes reach this node at (cluster.advertiseURL).") var clusterAdvertiseUrl: String?

    func run() async throws {
        let settings: TesseraConfig
        do {
            settings = try loadConfig()
        } catch {
            FileHandle.standardError.write(Data("tessera: \(error)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSetup.bootstrap(settings)
        let logger = Logger(label: "tessera")
        let server: TesseraServer
        do {
            server = try TesseraServer(config: settings)
        } catch {
            FileHandle.standardError.write(Data("tessera: cannot start the media plane: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try await server.run { port in
            logger.notice("listening", metadata: ["address": "\(settings.address)", "port": "\(port)", "kurento": "\(settings.kurentoPath)"])
        }
    }

    func loadConfig() throws(ConfigError) -> TesseraConfig {
        var loader = ConfigLoader()
        if let config {
            try loader.apply(fileAt: config)
        } else if FileManager.default.fileExists(atPath: Self.defaultConfig) {
            try loader.apply(fileAt: Self.defaultConfig)
        }
        try loader.apply(environment: ProcessInfo.processInfo.environment)
        let single: [(String, String?)] = [
            ("server.address", address), ("server.port", port), ("server.kurentoPath", kurentoPath),
            ("server.roomPath", roomPath), ("media.loops", mediaLoops), ("media.mixerThreads", mixerThreads), ("rooms.defaultMode", roomMode),
            ("ice.udpPortMin", udpPortMin), ("ice.udpPortMax", udpPortMax), ("recording.directory", recordingDir),
            ("sessions.gracePeriodSeconds", gracePeriod), ("sessions.requestCacheSeconds", requestCacheSeconds),
            ("logging.level", logLevel), ("cluster.databaseURL", clusterDatabaseUrl), ("cluster.nodeId", clusterNodeId),
            ("cluster.advertiseURL", clusterAdvertiseUrl),
        ]
        for (key, value) in single {
            if let value { try loader.set(key: key, text: value, source: "command line") }
        }
        let lists: [(String, [String])] = [
            ("ice.stunServers", stunServer), ("ice.turnServers", turnServer), ("ice.hostAddresses", iceHostAddress),
            ("logging.areas", logArea),
        ]
        for (key, values) in lists where !values.isEmpty {
            try loader.set(key: key, text: values.joined(separator: ","), source: "command line")
        }
        return try loader.resolve()
    }
}
