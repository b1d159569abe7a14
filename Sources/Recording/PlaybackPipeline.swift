// file or http(s) -> matroskademux -> appsink (VP8) + appsink (Opus).
//
// The player does not decode: it plays WebM/Matroska files whose video is VP8
// and whose audio is Opus, and hands the frames as they are to the media
// loop. The appsinks synchronise on the pipeline clock, so frames leave in
// real time; pausing and seeking are GStreamer state changes and seeks.

import CGStreamer
import Foundation

/// What discovery found in a file or stream.
public struct PlaybackInfo: Sendable, Equatable {
    /// Nanoseconds; nil when unknown (live streams).
    public var duration: Int64?
    public var seekable: Bool
    public var hasVideo: Bool
    public var hasAudio: Bool
}

public enum PlaybackDiscovery {
    /// Reads the container and codecs of `source`; refuses what the player cannot play as is.
    public static func discover(_ source: PlaybackSource, timeoutSeconds: Int = 5) throws(MediaURIProblem) -> PlaybackInfo {
        GStreamer.initialize()
        let uri: String
        switch source {
        case .http(let u):
            uri = u
        case .file(let path):
            var error: UnsafeMutablePointer<GError>?
            guard let u = gst_filename_to_uri(path, &error) else {
                if let error { g_error_free(error) }
                throw MediaURIProblem(.illegal, "'\(path)' cannot be turned into a URI")
            }
            uri = String(cString: u)
            g_free(u)
        }
        var error: UnsafeMutablePointer<GError>?
        guard let discoverer = gst_discoverer_new(GstClockTime(timeoutSeconds) * 1_000_000_000, &error) else {
            let m = error.map { String(cString: $0.pointee.message) } ?? "?"
            if let error { g_error_free(error) }
            throw MediaURIProblem(.illegal, "cannot inspect media: \(m)")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(discoverer)) }
        let info = gst_discoverer_discover_uri(discoverer, uri, &error)
        defer { if let info { g_object_unref(UnsafeMutableRawPointer(info)) } }
        let message = error.map { String(cString: $0.pointee.message) }
        if let error { g_error_free(error) }
        guard let info, gst_discoverer_info_get_result(info) == GST_DISCOVERER_OK else {
            let result = info.map { gst_discoverer_info_get_result($0) }
            if result == GST_DISCOVERER_TIMEOUT {
                throw MediaURIProblem(.illegal, "'\(uri)' could not be read within \(timeoutSeconds) s")
            }
            if result == GST_DISCOVERER_URI_INVALID {
                throw MediaURIProblem(.notFound, "'\(uri)' not found: \(message ?? "")")
            }
            throw MediaURIProblem(.illegal, "'\(uri)' cannot be played: \(message ?? "not a media file")")
        }
        func capsString(_ stream: OpaquePointer?) -> String {
            guard let stream, let caps = gst_discoverer_stream_info_get_caps(stream) else { return "" }
            defer { gst_caps_unref(caps) }
            guard let s = gst_caps_to_string(caps) else { return "" }
            defer { g_free(s) }
            return String(cString: s)
        }
        func streams(_ list: UnsafeMutablePointer<GList>?) -> [String] {
            var out: [String] = []
            var node = list
            while let n = node {
                out.append(capsString(OpaquePointer(n.pointee.data)))
                node = n.pointee.next
            }
            gst_discoverer_stream_info_list_free(list)
            return out
        }
        let top = gst_discoverer_info_get_stream_info(info)
        let container = capsString(top)
        if let top { g_object_unref(UnsafeMutableRawPointer(top)) }
        let video = streams(gst_discoverer_info_get_video_streams(info))
        let audio = streams(gst_discoverer_info_get_audio_streams(info))
        let containerName = container.split(separator: ",").first.map(String.init) ?? "none"
        guard containerName == "video/webm" || containerName == "video/x-matroska" || containerName == "audio/webm"
            || containerName == "audio/x-matroska"
        else {
            throw MediaURIProblem(
                .illegal, "the player plays WebM/Matroska files with VP8 and Opus; this one is '\(containerName)'")
        }
        func codec(_ caps: String) -> String { caps.split(separator: ",").first.map(String.init) ?? caps }
        if let bad = video.first(where: { codec($0) != "video/x-vp8" }) {
            throw MediaURIProblem(.illegal, "the player plays VP8 video without transcoding; this file has '\(codec(bad))'")
        }
        if let bad = audio.first(where: { codec($0) != "audio/x-opus" }) {
            throw MediaURIProblem(.illegal, "the player plays Opus audio without transcoding; this file has '\(codec(bad))'")
        }
        guard !video.isEmpty || !audio.isEmpty else {
            throw MediaURIProblem(.illegal, "'\(uri)' has neither video nor audio")
        }
        let d = gst_discoverer_info_get_duration(info)
        return PlaybackInfo(
            duration: d == GstClockTime.max ? nil : Int64(d), seekable: gst_discoverer_info_get_seekable(info) != 0,
            hasVideo: !video.isEmpty, hasAudio: !audio.isEmpty)
    }
}

/// The frame callback's context: which kind, and where frames go.
final class SampleSink {
    let video: Bool
    let deliver: @Sendable (_ video: Bool, _ frame: [UInt8], _ pts: Int64, _ keyframe: Bool) -> Void

    init(video: Bool, deliver: @escaping @Sendable (Bool, [UInt8], Int64, Bool) -> Void) {
        self.video = video
        self.deliver = deliver
    }

    static let callback: tessera_sample_fn = { context, data, size, pts, delta in
        let sink = Unmanaged<SampleSink>.fromOpaque(context!).takeUnretainedValue()
        guard let data else { return }
        let frame = Array(UnsafeBufferPointer(start: data, count: Int(size)))
        sink.deliver(sink.video, frame, pts == guint64.max ? 0 : Int64(pts), delta == 0)
    }
}

public final class PlaybackPipeline: @unchecked Sendable {
    // Sendable: GStreamer's state, seek and query calls are thread-safe, and
    // OwnedPipeline guards its own disposal.
    private let pipeline: OwnedPipeline

    /// Frames are handed to `deliver` from GStreamer's streaming threads, in real time.
    public init(
        source: PlaybackSource, info: PlaybackInfo,
        deliver: @escaping @Sendable (_ video: Bool, _ frame: [UInt8], _ pts: Int64, _ keyframe: Bool) -> Void,
        onEOS: @escaping @Sendable () -> Void, onError: @escaping @Sendable (String) -> Void
    ) throws(MediaPipelineError) {
        var description: String
        switch source {
        case .file: description = "filesrc name=src"
        case .http: description = "souphttpsrc name=src"
        }
        description += " ! matroskademux name=demux"
        if info.hasVideo {
            description += " demux.video_0 ! queue max-size-time=2000000000 max-size-bytes=0 max-size-buffers=0 ! appsink name=vsink sync=true"
        }
        if info.hasAudio {
            description += " demux.audio_0 ! queue max-size-time=2000000000 max-size-bytes=0 max-size-buffers=0 ! appsink name=asink sync=true"
        }
        pipeline = try OwnedPipeline(description: description)
        guard let src = pipeline.child("src") else { throw MediaPipelineError("no source") }
        switch source {
        case .file(let path): tessera_gst_set_string(src, "location", path)
        case .http(let url): tessera_gst_set_string(src, "location", url)
        }
        for (name, video) in [("vsink", true), ("asink", false)] {
            guard let sink = pipeline.child(name) else { continue }
            let context = SampleSink(video: video, deliver: deliver)
            pipeline.keepAlive.append(context)
            tessera_appsink_on_sample(sink, SampleSink.callback, Unmanaged.passUnretained(context).toOpaque())
        }
        pipeline.bus.onEOS = onEOS
        pipeline.bus.onError = onError
    }

    public var reachedEOS: Bool { pipeline.bus.reachedEOS }

    @discardableResult
    public func play() -> Bool { pipeline.setState(GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE }

    @discardableResult
    public func pause() -> Bool { pipeline.setState(GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE }

    /// Position in nanoseconds, nil when unknown.
    public var position: Int64? {
        guard !pipeline.isDisposed else { return nil }
        let p = tessera_gst_position(pipeline.element)
        return p < 0 ? nil : Int64(p)
    }

    /// Seeks to the keyframe at or before `nanos`.
    public func seek(to nanos: Int64) -> Bool {
        guard !pipeline.isDisposed else { return false }
        return tessera_gst_seek(pipeline.element, gint64(nanos)) != 0
    }

    public var dot: String? {
        guard !pipeline.isDisposed, let s = tessera_gst_dot(pipeline.element) else { return nil }
        defer { g_free(s) }
        return String(cString: s)
    }

    /// Stops the streaming threads and frees the pipeline (blocks; call off the loops).
    public func dispose() { pipeline.dispose() }
}
