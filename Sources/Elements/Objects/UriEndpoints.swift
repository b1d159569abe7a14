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

    init(context: CreationContext, loop: MediaLoop, node: MediaNode, uri: String) {
        self.uri = uri
        super.init(context: context, loop: loop, node: node)
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
/// inside the recording directory (docs/recording.md).
final class RecorderEndpoint: UriEndpoint {
    private var recorder: LoopBound<RecorderNode> { LoopBound(node.value as! RecorderNode) }  // always a RecorderNode

    override func pauseMedia(_ set: MediaSet) throws(KurentoError) {
        guard state == "START" else { return }
        setState("PAUSE", set)
        let r = recorder
        loop.post { r.value.pause() }
    }

    override func stopMedia(_ set: MediaSet) throws(KurentoError) {
        setState("STOP", set)
        let r = recorder
        loop.post { r.value.stop() }
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
                let r = rec.recorder
                rec.loop.post { r.value.record() }
                return .void
            },
            "stopAndWait": { obj, _, set throws(KurentoError) in
                let rec = obj as! RecorderEndpoint
                rec.setState("STOP", set)
                let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
                let r = rec.recorder
                rec.loop.post {
                    r.value.stop {
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
            let node = RecorderNode(loop: loop, objectID: ctx.id, context: media, path: path, format: format)
            return RecorderEndpoint(context: ctx, loop: loop, node: node, uri: uri)
        }
    )
}
