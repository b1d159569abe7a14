import Foundation
import Synchronization

/// Where the code on a media loop reads the time: one clock per loop, which
/// tests replace with a `ManualMediaClock` to move time on without waiting.
/// Timers (`LoopTimer`) still fire on GLib's own monotonic time; a test that
/// moves the clock calls the periodic work itself.
public protocol MediaClock: Sendable {
    /// Monotonic time since an arbitrary origin.
    var now: Duration { get }
    /// Wall-clock time, in seconds since 1970 (for NTP timestamps in RTCP).
    var wallSeconds: Double { get }
}

extension MediaClock {
    /// `now` in nanoseconds.
    public var nanoseconds: Int64 {
        let c = now.components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}

/// The machine's clocks: Swift's ContinuousClock (monotonic) and the wall clock.
public struct SystemMediaClock: MediaClock {
    private static let origin = ContinuousClock.now

    public init() {}

    public var now: Duration { ContinuousClock.now - Self.origin }

    public var wallSeconds: Double { Date().timeIntervalSince1970 }
}

/// A clock that moves only when told to (tests).
public final class ManualMediaClock: MediaClock {
    private let state: Mutex<(now: Duration, wall: Double)>

    public init(now: Duration = .seconds(1000), wallSeconds: Double = 1_800_000_000) {
        state = Mutex((now, wallSeconds))
    }

    public var now: Duration { state.withLock { $0.now } }
    public var wallSeconds: Double { state.withLock { $0.wall } }

    public func advance(by d: Duration) {
        state.withLock {
            $0.now += d
            $0.wall += Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
    }
}
