import ArgumentParser
import Foundation
import JSONRPC
import Logging
import Transport

/// `tessera-load`: many real WebRTC participants from one process, spread over
/// a few media loops (docs/load-generator.md).
@main
struct TesseraLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera-load",
        abstract: "Emulates many real WebRTC participants (full ICE, DTLS, SRTP) against a conference server.",
        subcommands: [AudioRoom.self])
}

/// Options every scenario takes, so scripts can rely on them.
struct CommonOptions: ParsableArguments {
    @Option(help: "Server base URL, e.g. ws://127.0.0.1:8888 (the scenario's path is added when missing).")
    var url = "ws://127.0.0.1:8888"
    @Option(help: "Participants to emulate.") var peers = 10
    @Option(help: "Seconds to measure once everyone joined.") var seconds = 10
    @Option(help: "Room name (default: a fresh one).") var room: String?
    @Option(help: "PID of the server, to report its CPU and memory from /proc.") var serverPid: Int32?
    @Flag(help: "Print one JSON object with the results on stdout.") var json = false
    @Option(help: "Media loops (threads) of the generator; 0 = one per core.") var loops = 0
    @Option(help: "Address the generator's ICE agents gather on.") var localAddress = "127.0.0.1"
    @Option(help: "Joins started per second.") var joinRate = 50
    @Option(help: "Participants whose received audio is decoded and checked for the talkers' tones.")
    var decodeSample = 2

    mutating func validate() throws {
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else {
            throw ValidationError("--url must start with ws:// or wss://, got '\(url)'")
        }
        guard peers > 0 else { throw ValidationError("--peers must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be at least 1") }
        guard joinRate > 0 else { throw ValidationError("--join-rate must be at least 1") }
    }

    /// The URL with `path` when the user gave only host and port.
    func endpoint(_ path: String) -> String {
        let rest = url.drop(while: { $0 != "/" }).dropFirst(2)
        return rest.contains("/") ? url : url + path
    }
}

struct AudioRoom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio-room",
        abstract: "N participants in one room over /room, each publishing Opus (a tone per talker, silence with RFC 6464 levels for the rest) and receiving what the room gives it.")

    enum Mode: String, ExpressibleByArgument, CaseIterable { case mcu, sfu, hybrid }

    @OptionGroup var common: CommonOptions
    @Option(help: "Room mode: mcu, sfu or hybrid.") var mode: Mode = .mcu
    @Option(help: "Participants who talk at once (the others send silence, marked as such).") var talkers = 3
    @Option(help: "A tone (Hz) that someone else in the room sends, checked for in the decoded sample (repeatable).")
    var listenFor: [Int] = []

    mutating func validate() throws {
        guard talkers >= 0, talkers <= common.peers else { throw ValidationError("--talkers must be between 0 and --peers") }
    }

    func run() async throws {
        var logger = Logger(label: "tessera-load")
        logger.logLevel = .error
        let run = try LoadRun(common: common, logger: logger)
        let roomName = common.room ?? "load-\(UInt32.random(in: 0...UInt32.max))"
        let url = common.endpoint("/room")
        var clips: [AudioClip] = []
        for i in 0..<talkers { clips.append(try AudioClip.make(hz: AudioClip.talkerFrequency(i))) }
        let silence = try AudioClip.make(hz: 0)
        let participants = (0..<common.peers).map { i in
            RoomParticipant(
                name: "load\(i)", loop: run.loops[i % run.loops.count], registry: run.registry,
                certificate: run.certificate, settings: run.settings,
                clip: i < talkers ? clips[i] : silence, decode: i < common.decodeSample,
                subscribeToPeers: mode != .mcu, logger: logger)
        }
        let talkerFrequencies = clips.map(\.hz) + listenFor
        let report = await run.drive(
            participants: participants, scenario: "audio-room", mode: mode.rawValue, room: roomName, url: url,
            frequencies: talkerFrequencies,
            ownFrequency: { i in i < clips.count ? clips[i].hz : nil })
        run.finish(report)
        if report.failed > 0 || report.connected == 0 { throw ExitCode(1) }
    }
}
