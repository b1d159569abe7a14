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
        subcommands: [AudioRoom.self, VideoRoom.self, Kurento.self, JanusAudioBridge.self, JanusVideoRoom.self])
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
    @Option(help: "Address the generator's ICE agents gather on (auto: 127.0.0.1, or the first non-loopback IPv4 address for Janus, which never uses loopback).")
    var localAddress = "auto"
    @Option(help: "Joins started per second.") var joinRate = 50
    @Option(help: "Participants whose received audio is decoded and checked for the talkers' tones.")
    var decodeSample = 2
    enum ICEAgentKind: String, ExpressibleByArgument, CaseIterable { case builtin, libnice }
    @Option(help: "The peers' ICE agent: builtin (ours: full ICE, controlling, every socket of a loop behind one epoll fd) or libnice (one GLib source per socket).")
    var iceAgent: ICEAgentKind = .builtin

    mutating func validate() throws {
        guard ["ws://", "wss://", "http://", "https://"].contains(where: url.hasPrefix) else {
            throw ValidationError("--url must start with ws:// or wss:// (http:// for Janus's API), got '\(url)'")
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
    @Option(help: "Prefix of the participants' names (load0, load1, ...); generators sharing one room need different ones.")
    var namePrefix = "load"
    @Option(help: "Tone index of the first talker (talker i sends 300 + 40 x (first + i) Hz); generators sharing one room give theirs different tones.")
    var firstTone = 0

    mutating func validate() throws {
        guard common.url.hasPrefix("ws://") || common.url.hasPrefix("wss://") else {
            throw ValidationError("--url must start with ws:// or wss://, got '\(common.url)'")
        }
        guard talkers >= 0, talkers <= common.peers else { throw ValidationError("--talkers must be between 0 and --peers") }
    }

    func run() async throws {
        let logger = LoadRun.logger
        let run = try LoadRun(common: common, logger: logger)
        let roomName = common.room ?? "load-\(UInt32.random(in: 0...UInt32.max))"
        let url = common.endpoint("/room")
        var clips: [AudioClip] = []
        for i in 0..<talkers { clips.append(try AudioClip.make(hz: AudioClip.talkerFrequency(firstTone + i))) }
        let silence = try AudioClip.make(hz: 0)
        let participants = (0..<common.peers).map { i in
            RoomParticipant(
                name: "\(namePrefix)\(i)", loop: run.loops[i % run.loops.count], registry: run.registry,
                certificate: run.certificate, settings: run.settings,
                clip: i < talkers ? clips[i] : silence, decode: i < common.decodeSample,
                subscribeToPeers: mode != .mcu, logger: logger)
        }
        let talkerFrequencies = clips.map(\.hz) + listenFor
        let report = await run.drive(
            participants: participants, scenario: "audio-room", mode: mode.rawValue, room: roomName, url: url,
            frequencies: talkerFrequencies,
            ownFrequency: { i in i < clips.count ? clips[i].hz : nil })
        try run.finish(report)
    }
}

/// The same audio load against Janus's AudioBridge (Debian's `janus`), for
/// side-by-side figures: one HTTP API session, a handle per participant.
struct JanusAudioBridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "janus-audiobridge",
        abstract: "N participants in a Janus AudioBridge room (HTTP API, e.g. --url http://127.0.0.1:8088), publishing and receiving as in audio-room.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Participants who talk at once (the others send silence, marked as such).") var talkers = 3
    @Option(help: "A tone (Hz) that someone else in the room sends, checked for in the decoded sample (repeatable).")
    var listenFor: [Int] = []

    func run() async throws {
        let logger = LoadRun.logger
        let run = try LoadRun(common: common, logger: logger, defaultAddress: LocalAddress.firstNonLoopbackIPv4() ?? "127.0.0.1")
        let session = try await JanusSession.open(common)
        var clips: [AudioClip] = []
        for i in 0..<min(talkers, common.peers) { clips.append(try AudioClip.make(hz: AudioClip.talkerFrequency(i))) }
        let silence = try AudioClip.make(hz: 0)
        let participants: [any LoadParticipant] = (0..<common.peers).map { i in
            JanusParticipant(
                name: "load\(i)", session: session, loop: run.loops[i % run.loops.count], registry: run.registry,
                certificate: run.certificate, settings: run.settings, clip: i < clips.count ? clips[i] : silence,
                decode: i < common.decodeSample, logger: logger)
        }
        let report = await run.drive(
            participants: participants, scenario: "janus-audiobridge", mode: "mcu", room: common.room ?? "1234", url: session.base,
            frequencies: clips.map(\.hz) + listenFor, ownFrequency: { i in i < clips.count ? clips[i].hz : nil })
        await session.close()
        try run.finish(report)
    }
}

enum LocalAddress {
    /// The first IPv4 address of an interface other than loopback.
    static func firstNonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, Int32(addr.pointee.sa_family) == AF_INET else { continue }
            var a = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            guard inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil else { continue }
            let s = String(cString: text)
            if !s.hasPrefix("127.") { return s }
        }
        return nil
    }
}

/// Publishers sending VP8 and Opus, viewers receiving them, in one room over /room.
struct VideoRoom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video-room",
        abstract: "N participants in one room over /room: --publishers P send VP8 (640x360, 30 fps, one second encoded at start, its keyframe again on PLI/FIR) and a tone; the rest only watch. Each subscribes to every publisher (SFU, hybrid) or to the composite (MCU).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Room mode: sfu, mcu or hybrid.") var mode: AudioRoom.Mode = .sfu
    @Option(help: "Participants who publish video (the others are receive-only viewers).") var publishers = 1
    @Option(help: "Video bitrate of the pre-encoded clip, bits/s.") var videoBitrate = 600_000

    mutating func validate() throws {
        guard common.url.hasPrefix("ws://") || common.url.hasPrefix("wss://") else {
            throw ValidationError("--url must start with ws:// or wss://, got '\(common.url)'")
        }
        guard publishers >= 1, publishers <= common.peers else { throw ValidationError("--publishers must be between 1 and --peers") }
    }

    func run() async throws {
        let logger = LoadRun.logger
        let run = try LoadRun(common: common, logger: logger)
        let roomName = common.room ?? "load-\(UInt32.random(in: 0...UInt32.max))"
        let (audio, video) = try VideoClip.publishers(publishers, bitrate: videoBitrate)
        let participants: [any LoadParticipant] = (0..<common.peers).map { i in
            RoomParticipant(
                name: "load\(i)", loop: run.loops[i % run.loops.count], registry: run.registry,
                certificate: run.certificate, settings: run.settings,
                clip: i < publishers ? audio[i] : nil, video: i < publishers ? video[i] : nil,
                publishes: i < publishers, receiveVideo: true, decode: false,
                subscribeToPeers: mode != .mcu, logger: logger)
        }
        let report = await run.drive(
            participants: participants, scenario: "video-room", mode: mode.rawValue, room: roomName,
            url: common.endpoint("/room"), frequencies: [], ownFrequency: { _ in nil })
        try run.finish(report)
    }
}

/// The video load against Janus's VideoRoom: publishers publish, the rest subscribe to every feed.
struct JanusVideoRoom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "janus-videoroom",
        abstract: "N participants in a Janus VideoRoom (HTTP API, e.g. --url http://127.0.0.1:8088): --publishers P publish VP8 and Opus as in video-room, the rest subscribe to every publisher.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Participants who publish video (the others are receive-only viewers).") var publishers = 1
    @Option(help: "Video bitrate of the pre-encoded clip, bits/s.") var videoBitrate = 600_000

    func run() async throws {
        let logger = LoadRun.logger
        let run = try LoadRun(common: common, logger: logger, defaultAddress: LocalAddress.firstNonLoopbackIPv4() ?? "127.0.0.1")
        let session = try await JanusSession.open(common)
        let p = min(max(publishers, 1), common.peers)
        let feeds = FeedBoard(expected: p)
        let (audio, video) = try VideoClip.publishers(p, bitrate: videoBitrate)
        let participants: [any LoadParticipant] = (0..<common.peers).map { i in
            JanusVideoParticipant(
                name: "load\(i)", session: session, loop: run.loops[i % run.loops.count], registry: run.registry,
                certificate: run.certificate, settings: run.settings, clip: i < p ? audio[i] : nil,
                video: i < p ? video[i] : nil, feeds: feeds, logger: logger)
        }
        let report = await run.drive(
            participants: participants, scenario: "janus-videoroom", mode: "sfu", room: common.room ?? "1234", url: session.base,
            frequencies: [], ownFrequency: { _ in nil })
        await session.close()
        try run.finish(report)
    }
}

/// The same loads through the Kurento protocol (`/kurento`), on one connection:
/// `--mode mcu` puts every participant on its own HubPort of a Composite (it
/// publishes audio and hears the mix of the others); `--mode sfu` makes the
/// first participant the source of a DispatcherOneToMany (VP8 and a tone) and
/// the others viewers of it.
struct Kurento: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kurento",
        abstract: "N participants through the Kurento protocol: Composite + HubPorts (--mode mcu, audio), one publisher and DispatcherOneToMany to the rest (--mode sfu, VP8 and Opus), or N WebRtcEndpoints each connected to itself (--mode loopback, audio, and with --video-colours VP8 of a colour per participant).")

    enum Mode: String, ExpressibleByArgument { case mcu, sfu, loopback }

    @OptionGroup var common: CommonOptions
    @Option(help: "mcu (Composite), sfu (DispatcherOneToMany) or loopback (each endpoint connected to itself; every participant sends a tone of its own and must hear exactly that tone back).") var mode: Mode = .mcu
    @Option(help: "Participants who talk at once in mcu mode (the others send silence).") var talkers = 3
    @Option(help: "Video bitrate of the publisher's clip in sfu mode, bits/s.") var videoBitrate = 600_000
    @Flag(help: "Loopback mode: each participant also sends VP8 (64x64, 5 fps) of a solid colour of its own; the decode sample decodes the video it gets back and checks the colour of its centre.")
    var videoColours = false

    /// The clips of --video-colours: small and slow, so hundreds of peers cost little.
    static let colourClipSize = 64, colourClipFPS = 5, colourClipBitrate = 100_000

    mutating func validate() throws {
        guard common.url.hasPrefix("ws://") || common.url.hasPrefix("wss://") else {
            throw ValidationError("--url must start with ws:// or wss://, got '\(common.url)'")
        }
        guard !videoColours || mode == .loopback else { throw ValidationError("--video-colours needs --mode loopback") }
    }

    func run() async throws {
        let logger = LoadRun.logger
        let run = try LoadRun(common: common, logger: logger)
        let url = common.endpoint("/kurento")
        let session: KurentoSession
        do { session = try await KurentoSession(url: url, mixing: mode == .mcu, loopback: mode == .loopback, logger: logger) } catch {
            FileHandle.standardError.write("tessera-load: cannot set up the Kurento pipeline at \(url): \(error)\n".data(using: .utf8)!)
            throw ExitCode(1)
        }
        var clips: [AudioClip] = []
        if mode == .loopback {
            for i in 0..<common.peers { clips.append(try AudioClip.make(hz: AudioClip.loopbackFrequency(i))) }
        } else {
            for i in 0..<min(mode == .mcu ? talkers : 1, common.peers) { clips.append(try AudioClip.make(hz: AudioClip.talkerFrequency(i))) }
        }
        let silence = try AudioClip.make(hz: 0)
        let (r, g, b) = VideoClip.colour(0)
        let video = mode == .sfu ? try VideoClip.make(red: r, green: g, blue: b, bitrate: videoBitrate) : nil
        // --video-colours: one small clip per participant, of its own colour.
        var colourClips: [VideoClip] = []
        if videoColours {
            for i in 0..<common.peers {
                let c = ColourGrid.colour(i)
                colourClips.append(try VideoClip.make(
                    red: c.red, green: c.green, blue: c.blue, width: Self.colourClipSize, height: Self.colourClipSize,
                    fps: Self.colourClipFPS, bitrate: Self.colourClipBitrate, movingBar: false))
            }
        }
        let participants: [any LoadParticipant] = (0..<common.peers).map { i in
            KurentoParticipant(
                name: "load\(i)", session: session, loop: run.loops[i % run.loops.count], registry: run.registry,
                certificate: run.certificate, settings: run.settings, clip: i < clips.count ? clips[i] : silence,
                video: i < colourClips.count ? colourClips[i] : video, publishes: mode != .sfu || i == 0,
                watchesVideo: mode == .sfu && i > 0, decode: mode != .sfu && i < common.decodeSample,
                expectColour: i < colourClips.count && i < common.decodeSample ? colourClips[i].colour : nil, logger: logger)
        }
        let report = await run.drive(
            participants: participants, scenario: "kurento", mode: mode.rawValue, room: session.pipeline, url: url,
            frequencies: mode == .mcu ? clips.map(\.hz) : [], ownFrequency: { i in i < clips.count ? clips[i].hz : nil },
            hearsSelf: mode == .loopback)
        await session.close()
        try run.finish(report)
    }
}
