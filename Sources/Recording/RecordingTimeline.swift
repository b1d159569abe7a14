// Presentation timestamps for a recording (sans-IO).
//
// Every stream (audio at 48 kHz, video at 90 kHz) is anchored once against a
// wall clock shared by all streams: the first frame of a stream gets the
// file time at which it arrived, measured from the recording's origin (the
// first frame written at all). After that a stream advances by its own RTP
// timestamps, so arrival jitter and packet loss do not move its frames.
// Pausing stops the file clock: the paused wall time is taken out, and every
// stream is anchored again on its first frame after the pause, so the file
// runs on without a gap and without overlap. A stream is anchored again as
// well when its RTP clock jumps (a new SSRC, or its timestamps drift from the
// wall clock by more than `maxDrift`, as when a sender restarts).

public struct RecordingTimeline: Sendable {
    public enum Stream: Int, Sendable, CaseIterable {
        case audio = 0, video = 1

        public var clockRate: Int64 { self == .audio ? 48_000 : 90_000 }
    }

    private struct Anchor: Sendable {
        var ssrc: UInt32
        var lastRTP: UInt32
        /// RTP ticks since the anchor (unwrapped).
        var ticks: Int64
        var anchorPTS: Int64
    }

    /// How far a stream's RTP time may run from the wall clock before it is anchored again.
    public var maxDrift: Int64
    /// Wall time (ns) of the first frame written; nil until then.
    public private(set) var origin: Int64?
    /// Wall time spent paused so far (ns).
    public private(set) var pausedTotal: Int64 = 0
    /// Wall time (ns) the current pause began, if paused.
    public private(set) var pausedAt: Int64?
    private var anchors: [Anchor?] = [nil, nil]
    /// Last PTS handed out per stream: PTS never go backwards within a stream.
    private var lastPTS: [Int64?] = [nil, nil]
    /// The last spacing between frames per stream: a stream anchored again starts at least this far after its last frame.
    private var lastStep: [Int64] = [20_000_000, 33_333_333]

    public init(maxDrift: Int64 = 2_000_000_000) {
        self.maxDrift = maxDrift
    }

    public var isPaused: Bool { pausedAt != nil }

    /// The file time (ns) of a frame of `stream` with RTP timestamp `rtp`
    /// that arrived at wall time `now` (ns); nil when it must not be written
    /// (paused, or not after the stream's previous frame).
    public mutating func pts(_ stream: Stream, ssrc: UInt32, rtp: UInt32, now: Int64) -> Int64? {
        guard pausedAt == nil else { return nil }
        if origin == nil { origin = now }
        let wall = now - origin! - pausedTotal
        let i = stream.rawValue
        var pts: Int64
        var fresh = false
        if var a = anchors[i], a.ssrc == ssrc {
            a.ticks += Int64(Int32(bitPattern: rtp &- a.lastRTP))
            a.lastRTP = rtp
            pts = a.anchorPTS + a.ticks * 1_000_000_000 / stream.clockRate
            if abs(pts - wall) > maxDrift {
                a = Anchor(ssrc: ssrc, lastRTP: rtp, ticks: 0, anchorPTS: wall)
                pts = wall
                fresh = true
            }
            anchors[i] = a
        } else {
            pts = max(wall, 0)
            anchors[i] = Anchor(ssrc: ssrc, lastRTP: rtp, ticks: 0, anchorPTS: pts)
            fresh = true
        }
        if let last = lastPTS[i] {
            if fresh, pts < last + lastStep[i] {
                // A stream anchored again (after a pause, a new source) goes
                // on one frame after its last frame: no overlap.
                pts = last + lastStep[i]
                anchors[i]?.anchorPTS = pts
            } else if pts <= last {
                return nil  // reordered or duplicated: at or before the previous frame
            } else {
                lastStep[i] = min(pts - last, stream == .audio ? 60_000_000 : 100_000_000)
            }
        }
        lastPTS[i] = pts
        return pts
    }

    /// Stops the file clock at wall time `now` (ns).
    public mutating func pause(now: Int64) {
        guard pausedAt == nil else { return }
        pausedAt = now
    }

    /// Starts the file clock again: the paused time is left out of the file.
    public mutating func resume(now: Int64) {
        guard let at = pausedAt else { return }
        pausedAt = nil
        if origin != nil { pausedTotal += max(0, now - at) }
        anchors = [nil, nil]
    }

    /// The file time (ns) that wall time `now` corresponds to (nil before the first frame).
    public func fileTime(now: Int64) -> Int64? {
        guard let origin else { return nil }
        let end = pausedAt ?? now
        return end - origin - pausedTotal
    }
}

/// RTP timestamps for frames read from a file (sans-IO): they follow the
/// file's timestamps while playback is continuous, and continue from where
/// they were, by the wall time that passed, after a seek, a pause or any jump.
public struct PlaybackClock: Sendable {
    private var anchorPTS: Int64 = 0
    private var anchorRTP: UInt32
    private var lastRTP: UInt32
    private var lastWall: Int64?
    private var lastPTS: Int64?
    private var broken = true
    public let clockRate: Int64

    public init(clockRate: Int64, initial: UInt32) {
        self.clockRate = clockRate
        anchorRTP = initial
        lastRTP = initial
    }

    /// Playback continuity is broken (seek, pause, restart): the next frame
    /// is placed by wall time instead of by the file's timestamps.
    public mutating func discontinuity() { broken = true }

    /// The RTP timestamp of a frame with file time `pts` (ns) sent at wall time `now` (ns).
    public mutating func rtp(pts: Int64, now: Int64) -> UInt32 {
        let jumped = lastPTS.map { pts < $0 || pts - $0 > 2_000_000_000 } ?? true
        if broken || jumped {
            var advance: Int64 = 1
            if let lastWall { advance = max(1, (now - lastWall) * clockRate / 1_000_000_000) }
            anchorRTP = lastWall == nil ? lastRTP : lastRTP &+ UInt32(truncatingIfNeeded: advance)
            anchorPTS = pts
            broken = false
        }
        let ts = anchorRTP &+ UInt32(truncatingIfNeeded: (pts - anchorPTS) * clockRate / 1_000_000_000)
        lastRTP = ts
        lastWall = now
        lastPTS = pts
        return ts
    }
}
