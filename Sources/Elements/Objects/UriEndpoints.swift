import MediaPlane
import Dispatch
import JSONRPC
import Recording
import Transport

/// kmd `UriEndpoint`: the recorder and the player. The state (STOP, START,
/// PAUSE) lives here, on the signalling side, and changes with the methods;
/// every change raises `UriEndpointStateChanged`.
class UriEndpoint: MediaElement {
    let uri: String
    private(set) var state = "STOP"

    init(context: CreationContext, media: MediaContext, loop: MediaLoop, uri: String, make: @escaping @Sendable (NodeTable) -> MediaNode) {
        self.uri = uri
        super.init(context: context, media: media, loop: loop, make: make)
    }

    func setState(_ new: String, _ set: MediaSet) {
        guard new != state else { return }
        state = new
        set.raise("UriEndpointStateChanged", from: self, data: ["state": .string(new)])
    }

    /// Subclasses do the work of `pause` and `stop`.
    func pauseMedia(_ set: MediaSet) throws(KurentoError) {}
    func stopMedia(_ set: MediaSet) throws(KurentoError) {}

    static let uriBinding = ClassBinding(
        className: "UriEndpoint",
        methods: [
            "pause": { obj, _, set throws(KurentoError) in
                try (obj as! UriEndpoint).pauseMedia(set)  // bound to UriEndpoint subclasses only
                return .void
            },
            "stop": { obj, _, set throws(KurentoError) in
                try (obj as! UriEndpoint).stopMedia(set)
                return .void
            },
        ],
        getters: [
            "uri": { obj, _ in .string((obj as! UriEndpoint).uri) },
            "state": { obj, _ in .string((obj as! UriEndpoint).state) },
        ],
        events: ["UriEndpointStateChanged"]
    )

    static func illegal(_ problem: MediaURIProblem) -> KurentoError {
        KurentoError(problem.kind == .notFound ? .uriPathFileNotFound : .mediaObjectIllegalParamError, problem.message)
    }
}

/// kmd `RecorderEndpoint`: writes what it receives into a WebM/Matroska file
/// inside the recording directory (docs/decisions.md, "Recording and playback").
final class RecorderEndpoint: UriEndpoint {
    /// Runs `work` on the loop with the recorder's node, if it still exists.
    private func onRecorder(_ work: @escaping @Sendable (RecorderNode) -> Void) {
        node.post { work($0 as! RecorderNode) }  // a RecorderEndpoint's node is always a RecorderNode
    }

    override func pauseMedia(_ set: MediaSet) throws(KurentoError) {
        guard state == "START" else { return }
        setState("PAUSE", set)
        onRecorder { $0.pause() }
    }

    /// Tessera extension (TesseraExtensions): `kind` AUDIO, `muted` bool. Muted audio is
    /// written as Opus silence at the same timestamps, so the file keeps its timeline and
    /// its other track keeps flowing; the publisher's sound is not recorded.
    static let setMuted: ClassBinding.Method = { obj, args, _ throws(KurentoError) in
        let recorder = obj as! RecorderEndpoint  // registered for RecorderEndpoint only
        guard args["kind"]?.stringValue == "AUDIO" else {
            throw KurentoError(.mediaObjectIllegalParamError, "'kind' must be AUDIO (video cannot be muted inside a recording)")
        }
        guard let muted = args["muted"]?.boolValue else { throw .missingParam("muted") }
        recorder.onRecorder { $0.audioMuted = muted }
        return .void
    }

    override func stopMedia(_ set: MediaSet) throws(KurentoError) {
        setState("STOP", set)
        onRecorder { $0.stop() }
    }

    static let unsupportedProfiles: [String: String] = [
        "MP4": "MP4 recording is not supported yet (Opus and VP8 are written to WebM/Matroska without re-encoding); use WEBM or MKV",
        "MP4_VIDEO_ONLY": "MP4 recording is not supported yet; use WEBM_VIDEO_ONLY or MKV_VIDEO_ONLY",
        "MP4_AUDIO_ONLY": "MP4 recording is not supported yet; use WEBM_AUDIO_ONLY or MKV_AUDIO_ONLY",
        "JPEG_VIDEO_ONLY": "JPEG snapshots need decoding and are not supported",
        "KURENTO_SPLIT_RECORDER": "split recordings are not supported; use WEBM",
        "FLV": "FLV recording is not supported (no VP8/Opus in FLV); use WEBM",
    ]

    static let recorderBinding = ClassBinding(
        className: "RecorderEndpoint",
        methods: [
            "record": { obj, _, set throws(KurentoError) in
                let rec = obj as! RecorderEndpoint  // bound to RecorderEndpoint only
                rec.setState("START", set)
                rec.onRecorder { $0.record() }
                return .void
            },
            "stopAndWait": { obj, _, set throws(KurentoError) in
                let rec = obj as! RecorderEndpoint
                rec.setState("STOP", set)
                let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
                rec.node.lookup { node in
                    guard let recorder = node as? RecorderNode else { return continuation.finish() }  // released meanwhile
                    recorder.stop {
                        continuation.yield()
                        continuation.finish()
                    }
                }
                return .deferred {
                    for await _ in stream { return .success(.null) }
                    return .success(.null)
                }
            },
        ],
        events: ["Recording", "Paused", "Stopped"],
        factory: { ctx, args, set throws(KurentoError) in
            guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
            guard let uri = args.string("uri") else { throw .missingParam("uri") }
            let profile = args.string("mediaProfile") ?? "WEBM"
            guard let format = RecordingFormat.profile(profile) else {
                throw KurentoError(
                    .mediaObjectIllegalParamError,
                    unsupportedProfiles[profile] ?? "unknown mediaProfile '\(profile)'")
            }
            let media = try set.mediaContext()
            let path: String
            do throws(MediaURIProblem) {
                path = try MediaURI.recordingPath(uri, directory: media.recordingDirectory)
            } catch {
                throw UriEndpoint.illegal(error)
            }
            guard GStreamer.hasElement(format.container == .webm ? "webmmux" : "matroskamux") else {
                throw KurentoError(.notEnoughResources, "GStreamer's matroska plugin (gstreamer1.0-plugins-good) is not installed")
            }
            let loop = pipeline.assignLoop(media.loops)
            let id = ctx.id
            return RecorderEndpoint(context: ctx, media: media, loop: loop, uri: uri) { _ in
                RecorderNode(loop: loop, objectID: id, context: media, path: path, format: format)
            }
        }
    )
}

/// kmd `PlayerEndpoint`: reads a WebM/Matroska file or stream (VP8, Opus)
/// with GStreamer and feeds its frames, as RTP, to the connected elements.
final class PlayerEndpoint: UriEndpoint {
    let source: PlaybackSource
    let info: PlaybackInfo
    private var playback: PlaybackPipeline?
    private var generation = 0
    private let media: MediaContext

    init(context: CreationContext, loop: MediaLoop, uri: String, source: PlaybackSource, info: PlaybackInfo, media: MediaContext) {
        self.source = source
        self.info = info
        self.media = media
        let id = context.id
        super.init(context: context, media: media, loop: loop, uri: uri) { _ in PlayerNode(loop: loop, objectID: id, context: media) }
    }

    /// Runs `work` on the loop with the player's node, if it still exists.
    private func onPlayer(_ work: @escaping @Sendable (PlayerNode) -> Void) {
        node.post { work($0 as! PlayerNode) }  // a PlayerEndpoint's node is always a PlayerNode
    }

    private func play(_ set: MediaSet) throws(KurentoError) {
        if state == "START" { return }
        let ref = node
        if playback == nil {
            generation += 1
            let gen = generation, id = self.id, media = self.media, loop = self.loop
            do throws(MediaPipelineError) {
                playback = try PlaybackPipeline(
                    source: source, info: info,
                    deliver: { video, frame, pts, _ in
                        ref.post { ($0 as? PlayerNode)?.deliver(video: video, frame: frame, pts: pts, generation: gen) }
                    },
                    onEOS: { media.raise(.endOfStream, on: id) },
                    onError: { message in
                        media.raise(.failure("playback failed: \(message)"), on: id)
                    })
            } catch {
                throw KurentoError(.unexpectedError, error.description)
            }
            onPlayer {
                $0.generation = gen
                $0.discontinuity()
            }
        } else {
            onPlayer { $0.discontinuity() }
        }
        guard playback?.play() == true else {
            dropPipeline()
            throw KurentoError(.unexpectedError, "cannot start playing '\(uri)'")
        }
        setState("START", set)
    }

    override func pauseMedia(_ set: MediaSet) throws(KurentoError) {
        guard state == "START", let playback else { return }
        playback.pause()
        setState("PAUSE", set)
    }

    override func stopMedia(_ set: MediaSet) throws(KurentoError) {
        dropPipeline()
        setState("STOP", set)
    }

    /// Frees the GStreamer pipeline off the signalling actor (joining its threads blocks).
    private func dropPipeline() {
        guard let playback else { return }
        self.playback = nil
        generation += 1
        let gen = generation
        onPlayer { $0.generation = gen }
        DispatchQueue.global(qos: .utility).async { playback.dispose() }
    }

    /// The media plane reported the end of the stream.
    func reachedEndOfStream(_ set: MediaSet) {
        guard let playback, playback.reachedEOS else { return }  // from an older pipeline
        dropPipeline()
        setState("STOP", set)
    }

    override func didRelease() {
        dropPipeline()
        super.didRelease()
    }

    private var positionMillis: Int64 {
        playback?.position.map { $0 / 1_000_000 } ?? 0
    }

    static let playerBinding = ClassBinding(
        className: "PlayerEndpoint",
        methods: [
            "play": { obj, _, set throws(KurentoError) in
                try (obj as! PlayerEndpoint).play(set)  // bound to PlayerEndpoint only
                return .void
            }
        ],
        getters: [
            "position": { obj, _ in .int((obj as! PlayerEndpoint).positionMillis) },
            "videoInfo": { obj, _ in
                let info = (obj as! PlayerEndpoint).info
                let duration = (info.duration ?? 0) / 1_000_000
                return [
                    "__module__": "kurento", "__type__": "VideoInfo", "isSeekable": .bool(info.seekable),
                    "seekableInit": 0, "seekableEnd": .int(info.seekable ? duration : 0), "duration": .int(duration),
                ]
            },
            "elementGstreamerDot": { obj, _ in
                let player = obj as! PlayerEndpoint
                return .string(player.playback?.dot ?? player.mediaPipeline?.graphDOT() ?? "digraph {}")
            },
        ],
        setters: [
            "position": { obj, value, _ throws(KurentoError) in
                let player = obj as! PlayerEndpoint
                guard let millis = value.intValue, millis >= 0 else {
                    throw KurentoError(.mediaObjectIllegalParamError, "'position' must be a non-negative number of milliseconds")
                }
                guard let playback = player.playback, player.state != "STOP" else {
                    throw KurentoError(.playerSeekFail, "seek needs a playing or paused player")
                }
                guard player.info.seekable else { throw KurentoError(.playerSeekFail, "'\(player.uri)' is not seekable") }
                if let d = player.info.duration, millis * 1_000_000 > d {
                    throw KurentoError(.playerSeekFail, "position \(millis) ms is beyond the end (\(d / 1_000_000) ms)")
                }
                guard playback.seek(to: millis * 1_000_000) else { throw KurentoError(.playerSeekFail, "seek to \(millis) ms failed") }
                player.onPlayer { $0.discontinuity() }
            }
        ],
        events: ["EndOfStream"],
        // Reading the file's header can take seconds for http:// (up to the
        // discoverer's 5 s limit): done off the signalling actor.
        prepare: { args throws(KurentoError) in
            guard let uri = args.string("uri") else { throw .missingParam("uri") }
            do throws(MediaURIProblem) {
                let source = try MediaURI.playbackSource(uri, httpAvailable: GStreamer.hasElement("souphttpsrc"))
                return try PlaybackDiscovery.discover(source)
            } catch {
                throw UriEndpoint.illegal(error)
            }
        },
        factory: { ctx, args, set throws(KurentoError) in
            guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
            guard let uri = args.string("uri") else { throw .missingParam("uri") }
            guard let info = ctx.prepared as? PlaybackInfo else { throw KurentoError(.unexpectedError, "player was not prepared") }
            let source: PlaybackSource
            do throws(MediaURIProblem) {
                source = try MediaURI.playbackSource(uri, httpAvailable: GStreamer.hasElement("souphttpsrc"))
            } catch {
                throw UriEndpoint.illegal(error)
            }
            guard GStreamer.hasElement("matroskademux") else {
                throw KurentoError(.notEnoughResources, "GStreamer's matroska plugin (gstreamer1.0-plugins-good) is not installed")
            }
            let media = try set.mediaContext()
            let loop = pipeline.assignLoop(media.loops)
            return PlayerEndpoint(context: ctx, loop: loop, uri: uri, source: source, info: info, media: media)
        }
    )
}
