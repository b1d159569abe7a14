import Mixer
import RTP
import Recording
package import Transport

/// PlayerEndpoint's media half, on the pipeline's media loop: frames read by
/// GStreamer (in real time, from its appsinks) are packetised here into RTP,
/// VP8 per RFC 7741 and Opus one frame per packet, and handed to the
/// connected elements like any source's packets.
///
/// Keyframe requests cannot be honoured (the file's VP8 is what it is): a
/// viewer who joins late decodes from the file's next keyframe.
package final class PlayerNode: MediaNode {
    package let context: MediaContext
    private var vp8: VP8Packetizer
    private var videoClock: PlaybackClock
    private var audioClock: PlaybackClock
    private let audioSSRC: UInt32
    private var audioSequence: UInt16
    private var flowingOut: Set<MediaKindKey> = []
    private let noExtensions = ExtensionMap()
    private var packets: [[UInt8]] = []
    /// Bumped on stop: frames still queued from the old pipeline are dropped.
    package var generation = 0

    package static let videoPayloadType: UInt8 = 96
    package static let audioPayloadType: UInt8 = 111

    package init(loop: MediaLoop, objectID: String, context: MediaContext) {
        self.context = context
        let videoSSRC = UInt32.random(in: 1...UInt32.max)
        audioSSRC = UInt32.random(in: 1...UInt32.max)
        vp8 = VP8Packetizer(
            ssrc: videoSSRC, payloadType: Self.videoPayloadType, sequenceNumber: UInt16.random(in: 0...UInt16.max),
            pictureID: UInt16.random(in: 0...0x7FFF))
        audioSequence = UInt16.random(in: 0...UInt16.max)
        videoClock = PlaybackClock(clockRate: 90_000, initial: UInt32.random(in: 0...UInt32.max))
        audioClock = PlaybackClock(clockRate: 48_000, initial: UInt32.random(in: 0...UInt32.max))
        super.init(loop: loop, objectID: objectID)
    }

    /// Playback jumped (seek, pause, a new start): timestamps continue by wall time.
    package func discontinuity() {
        videoClock.discontinuity()
        audioClock.discontinuity()
    }

    package func deliver(video: Bool, frame: [UInt8], pts: Int64, generation: Int) {
        guard !isClosed, generation == self.generation, !frame.isEmpty else { return }
        let now = loop.clock.nanoseconds
        let kind: MediaKindKey = video ? .video : .audio
        packets.removeAll(keepingCapacity: true)
        if video {
            let ts = videoClock.rtp(pts: pts, now: now)
            vp8.packetize(frame, timestamp: ts, into: &packets)
        } else {
            let ts = audioClock.rtp(pts: pts, now: now)
            var p: [UInt8] = [0x80, Self.audioPayloadType, UInt8(audioSequence >> 8), UInt8(audioSequence & 0xFF)]
            for v in [ts, audioSSRC] { p += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
            p += frame
            audioSequence &+= 1
            packets.append(p)
        }
        for i in packets.indices {
            packets[i].withUnsafeMutableBytes { buf in
                guard let header = try? RTPHeader.parse(UnsafeRawBufferPointer(buf)) else { return }
                forward(buf, header: header, kind: kind, ext: noExtensions)
            }
        }
        if !flowingOut.contains(kind) {
            flowingOut.insert(kind)
            context.raise(.flowingOut(kind), on: objectID)
        }
    }

    /// Nothing upstream to ask: the file's keyframes come when they come.
    package override func requestKeyframe() {}
    package override func requestStartKeyframe() {}
}
