// appsrc (VP8) + appsrc (Opus) -> webmmux / matroskamux -> filesink.
//
// The muxer closes a cluster at least every second and indexes every second,
// and the segment size stays "unknown" until the end: a file cut short (the
// server killed) still demuxes up to its last complete cluster. A normal end
// (`finish`) sends EOS, lets the muxer write duration and cues, and closes.

import CGStreamer
import Foundation

public struct RecordingFormat: Sendable, Equatable {
    public enum Container: Sendable { case webm, matroska }
    public var container: Container
    public var audio: Bool
    public var video: Bool

    public init(container: Container, audio: Bool, video: Bool) {
        self.container = container
        self.audio = audio
        self.video = video
    }

    /// The formats of Kurento's MediaProfileSpecType this server writes.
    public static func profile(_ name: String) -> RecordingFormat? {
        switch name {
        case "WEBM": RecordingFormat(container: .webm, audio: true, video: true)
        case "WEBM_AUDIO_ONLY": RecordingFormat(container: .webm, audio: true, video: false)
        case "WEBM_VIDEO_ONLY": RecordingFormat(container: .webm, audio: false, video: true)
        case "MKV": RecordingFormat(container: .matroska, audio: true, video: true)
        case "MKV_AUDIO_ONLY": RecordingFormat(container: .matroska, audio: true, video: false)
        case "MKV_VIDEO_ONLY": RecordingFormat(container: .matroska, audio: false, video: true)
        default: nil
        }
    }
}

public final class RecordingPipeline: @unchecked Sendable {
    // Sendable: `push` is called from one thread (the media loop) until
    // `finish`, which runs on another once the loop has stopped pushing;
    // appsrc itself is thread-safe.
    private let pipeline: OwnedPipeline
    private let videoSource: UnsafeMutablePointer<GstElement>?
    private let audioSource: UnsafeMutablePointer<GstElement>?
    public let path: String

    public var hasVideo: Bool { videoSource != nil }
    public var hasAudio: Bool { audioSource != nil }

    /// Opens `path` and starts the muxer. `videoSize` (from the first keyframe)
    /// adds a VP8 track; `audio` an Opus track. Errors later are reported to `onError`.
    public init(
        path: String, container: RecordingFormat.Container, videoSize: (width: Int, height: Int)?, audio: Bool,
        onError: @escaping @Sendable (String) -> Void
    ) throws(MediaPipelineError) {
        precondition(videoSize != nil || audio, "a recording needs a track")
        self.path = path
        let mux = container == .webm ? "webmmux" : "matroskamux"
        var description = "\(mux) name=mux max-cluster-duration=1000000000 min-index-interval=1000000000 "
            + "writing-app=Tessera ! filesink name=sink sync=false async=false"
        if let size = videoSize {
            description += " appsrc name=vsrc format=time max-bytes=0 "
                + "caps=\"video/x-vp8,width=\(size.width),height=\(size.height),framerate=0/1\" ! mux.video_0"
        }
        if audio {
            description += " appsrc name=asrc format=time max-bytes=0 "
                + "caps=\"audio/x-opus,channels=2,rate=48000,channel-mapping-family=0\" ! mux.audio_0"
        }
        pipeline = try OwnedPipeline(description: description)
        videoSource = videoSize == nil ? nil : pipeline.child("vsrc")
        audioSource = audio ? pipeline.child("asrc") : nil
        guard let sink = pipeline.child("sink") else { throw MediaPipelineError("no filesink") }
        tessera_gst_set_string(sink, "location", path)
        if pipeline.setState(GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE {
            let why = pipeline.bus.firstError ?? "cannot start"
            pipeline.dispose()
            throw MediaPipelineError("cannot record to '\(path)': \(why)")
        }
        pipeline.bus.onError = onError
    }

    /// Copies one VP8 frame into the pipeline.
    public func pushVideo(_ frame: UnsafeRawBufferPointer, pts: Int64, keyframe: Bool) {
        guard let videoSource, let base = frame.baseAddress else { return }
        _ = tessera_appsrc_push(videoSource, base, gsize(frame.count), guint64(pts), keyframe ? 0 : 1)
    }

    /// Copies one Opus packet into the pipeline.
    public func pushAudio(_ packet: UnsafeRawBufferPointer, pts: Int64) {
        guard let audioSource, let base = packet.baseAddress else { return }
        _ = tessera_appsrc_push(audioSource, base, gsize(packet.count), guint64(pts), 0)
    }

    /// Ends the streams, waits until the muxer has written everything and the
    /// file is closed (blocking; call off the media loop). Returns an error
    /// description when the file could not be completed.
    public func finish(timeout: Double = 10) -> String? {
        if let videoSource { _ = tessera_appsrc_end(videoSource) }
        if let audioSource { _ = tessera_appsrc_end(audioSource) }
        let ended = pipeline.bus.waitForEnd(timeout: timeout)
        let error = pipeline.bus.firstError
        pipeline.dispose()
        if let error { return error }
        return ended ? nil : "the muxer did not finish within \(Int(timeout)) s"
    }

    /// Stops at once without finishing the file (used only when abandoning it).
    public func abort() { pipeline.dispose() }
}
