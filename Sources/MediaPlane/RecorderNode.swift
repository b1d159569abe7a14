import Foundation
import Dispatch
import Logging
import Mixer
package import RTP
package import Recording
package import Transport

/// RecorderEndpoint's media half, on the pipeline's media loop. It takes the
/// RTP it consumes apart into VP8 frames and Opus packets (no decoding, no
/// encoding), stamps them on one clock (`RecordingTimeline`) and copies them
/// into the GStreamer pipeline's appsrcs. GStreamer muxes and writes in its
/// own threads; finishing a file runs on a background queue.
package final class RecorderNode: MediaNode {
    package enum Phase { case idle, recording, paused, stopped }

    package let context: MediaContext
    package let path: String
    package let format: RecordingFormat
    private(set) var phase = Phase.idle
    private var timeline = RecordingTimeline()
    private var assembler = VP8FrameAssembler(reorderWindow: 8)
    private var pipeline: RecordingPipeline?
    /// Wall time `record()` was called, for giving up on a keyframe.
    private var recordCalledAt: Int64 = 0
    /// Video is dropped until a keyframe is written (at the start, after a pause or a loss).
    private var videoNeedsKeyframe = true
    private var keyframeTimer: LoopTimer?
    private var announced = false
    private var flowing: Set<MediaKindKey> = []
    /// Set while a file is being finished: who waits for it.
    private var finishWaiters: [@Sendable () -> Void]?
    private var failed = false

    /// How long a recording with video waits for a keyframe before it starts without video.
    package static let keyframeWait: Int64 = 3_000_000_000

    package init(loop: MediaLoop, objectID: String, context: MediaContext, path: String, format: RecordingFormat) {
        self.context = context
        self.path = path
        self.format = format
        super.init(loop: loop, objectID: objectID)
    }

    // MARK: Control (posted by the signalling half)

    package func record() {
        guard !isClosed else { return }
        switch phase {
        case .recording:
            return
        case .paused:
            timeline.resume(now: loop.clock.nanoseconds)
        case .idle, .stopped:
            // A new recording (after stop, the file is written anew).
            timeline = RecordingTimeline()
            assembler = VP8FrameAssembler(reorderWindow: 8)
            recordCalledAt = loop.clock.nanoseconds
            failed = false
        }
        phase = .recording
        announced = false
        videoNeedsKeyframe = true
        askForKeyframe()
    }

    package func pause() {
        guard phase == .recording else { return }
        phase = .paused
        timeline.pause(now: loop.clock.nanoseconds)
        keyframeTimer?.cancel()
        keyframeTimer = nil
        context.raise(.paused, on: objectID)
    }

    /// Ends the recording; `done` runs (on any thread) once the file is complete.
    package func stop(done: (@Sendable () -> Void)? = nil) {
        keyframeTimer?.cancel()
        keyframeTimer = nil
        if finishWaiters != nil {
            if let done { finishWaiters?.append(done) }
            return
        }
        let wasActive = phase == .recording || phase == .paused
        phase = .stopped
        guard let pipeline else {
            if wasActive { context.raise(.stopped, on: objectID) }
            done?()
            return
        }
        self.pipeline = nil
        finishWaiters = done.map { [$0] } ?? []
        let context = self.context, id = objectID, loop = self.loop
        // Carried to the finishing thread without a release there: the node's
        // last reference may be this one, and it must drop on the loop.
        let me = Handover(self)
        let finishing = context.finishing
        finishing.enter()
        DispatchQueue.global(qos: .utility).async {
            defer { finishing.leave() }
            let error = pipeline.finish()
            if let error {
                context.logger.error("recording \(pipeline.path) not finished cleanly: \(error)")
                context.raise(.failure("recording not finished cleanly: \(error)"), on: id)
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: pipeline.path)[.size] as? Int64) ?? 0
            context.metrics.recordingEnded(bytes: size, failed: error != nil)
            loop.post {
                let node = me.take()
                let waiters = node.finishWaiters ?? []
                node.finishWaiters = nil
                context.raise(.stopped, on: id)
                for w in waiters { w() }
            }
        }
    }

    package override func close() {
        guard !isClosed else { return }
        super.close()
        // Released while recording: the file is finished, not abandoned.
        stop()
    }

    // MARK: Media

    package override func consume(
        _ packet: UnsafeMutableRawBufferPointer, header: RTPHeader, kind: MediaKindKey, ext: ExtensionMap, from source: MediaNode
    ) {
        guard !isClosed else { return }
        if !flowing.contains(kind) {
            flowing.insert(kind)
            context.raise(.flowingIn(kind), on: objectID)
        }
        let raw = UnsafeRawBufferPointer(packet)
        switch kind {
        case .video:
            guard format.video else { return }
            // Frames are assembled even while paused, so the assembler stays in step.
            var frames: [(data: [UInt8], timestamp: UInt32, key: Bool)] = []
            let result = assembler.push(raw) { f in frames.append((Array(f.data), f.timestamp, f.isKeyframe)) }
            if result.lost { videoNeedsKeyframe = true }
            if phase == .recording, assembler.needsKeyframe { requestKeyframe() }
            for f in frames { writeVideo(f.data, timestamp: f.timestamp, key: f.key, ssrc: header.ssrc) }
        case .audio:
            guard format.audio, header.payloadLength > 0 else { return }
            writeAudio(UnsafeRawBufferPointer(rebasing: raw[header.payloadOffset..<(header.payloadOffset + header.payloadLength)]),
                       timestamp: header.timestamp, ssrc: header.ssrc)
        }
    }

    private func writeVideo(_ frame: [UInt8], timestamp: UInt32, key: Bool, ssrc: UInt32) {
        guard phase == .recording, !failed else { return }
        if videoNeedsKeyframe {
            guard key else { return }
            videoNeedsKeyframe = false
        }
        let now = loop.clock.nanoseconds
        if pipeline == nil {
            let size = frame.withUnsafeBytes { VP8Header.keyframeSize($0) }
            guard let size else { videoNeedsKeyframe = true; return }
            start(videoSize: size)
        }
        guard let pipeline, pipeline.hasVideo, let pts = timeline.pts(.video, ssrc: ssrc, rtp: timestamp, now: now) else { return }
        frame.withUnsafeBytes { pipeline.pushVideo($0, pts: pts, keyframe: key) }
        keyframeWritten()
    }

    /// Set by the room layer while the publisher's audio is muted: written as silence.
    package var audioMuted = false
    /// One 20 ms Opus frame of silence (TOC 0xF8: CELT-only fullband 20 ms, mono, one
    /// frame; 0xFF 0xFE encode silence), the frame WebRTC stacks send for muted tracks.
    static let opusSilence: [UInt8] = [0xF8, 0xFF, 0xFE]

    private func writeAudio(_ payload: UnsafeRawBufferPointer, timestamp: UInt32, ssrc: UInt32) {
        if audioMuted {
            return Self.opusSilence.withUnsafeBytes { writeAudioFrame($0, timestamp: timestamp, ssrc: ssrc) }
        }
        writeAudioFrame(payload, timestamp: timestamp, ssrc: ssrc)
    }

    private func writeAudioFrame(_ payload: UnsafeRawBufferPointer, timestamp: UInt32, ssrc: UInt32) {
        guard phase == .recording, !failed else { return }
        let now = loop.clock.nanoseconds
        if pipeline == nil {
            // With video coming, the file starts on its first keyframe, so
            // audio and video start together; without one in time, audio alone.
            let videoExpected = format.video && source(of: .video) != nil
            if videoExpected, now - recordCalledAt < Self.keyframeWait { return }
            start(videoSize: nil)
        }
        guard let pipeline, pipeline.hasAudio, let pts = timeline.pts(.audio, ssrc: ssrc, rtp: timestamp, now: now) else { return }
        pipeline.pushAudio(payload, pts: pts)
        if !announced, !format.video || pipeline.hasVideo == false { announce() }
    }

    private func start(videoSize: (width: Int, height: Int)?) {
        let audio = format.audio && source(of: .audio) != nil
        guard videoSize != nil || audio else { return }
        do {
            let context = self.context, id = objectID
            pipeline = try RecordingPipeline(
                path: path, container: format.container, videoSize: videoSize, audio: audio,
                onError: { message in
                    context.metrics.recordingFailed()
                    context.logger.error("recording error: \(message)")
                    context.raise(.failure("recording failed: \(message)"), on: id)
                })
            context.metrics.recordingStarted()
            if videoSize == nil, format.video, source(of: .video) != nil {
                context.logger.warning("no keyframe within 3 s: recording \(path) without video")
            }
        } catch {
            failed = true
            context.metrics.recordingFailed()
            context.raise(.failure(error.description), on: objectID)
        }
    }

    private func keyframeWritten() {
        keyframeTimer?.cancel()
        keyframeTimer = nil
        announce()
    }

    private func announce() {
        guard !announced else { return }
        announced = true
        context.raise(.recording, on: objectID)
    }

    /// Asks the video source for a keyframe now and every second until one is written.
    private func askForKeyframe() {
        guard format.video, phase == .recording else { return }
        requestKeyframe()
        keyframeTimer?.cancel()
        keyframeTimer = LoopTimer(loop: loop, after: .seconds(1)) { [weak self] in
            guard let self, self.videoNeedsKeyframe, self.phase == .recording else { return }
            self.askForKeyframe()
        }
    }

    package override func sourceDidChange(kind: MediaKindKey) {
        // A new video source starts with a keyframe in the file.
        if kind == .video, source(of: .video) != nil, phase == .recording {
            videoNeedsKeyframe = true
            assembler = VP8FrameAssembler(reorderWindow: 8)
            askForKeyframe()
        }
    }
}
