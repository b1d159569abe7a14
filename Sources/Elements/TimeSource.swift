import Foundation

/// Where the signalling plane reads time. Timers (session grace period, the
/// request cache) compare monotonic readings; events carry wall-clock
/// milliseconds. Tests pass a fake (`TestSupport.FakeClock`).
public protocol TimeSource: Sendable {
    /// Monotonic time since an arbitrary origin.
    var monotonicNow: Duration { get }
    /// Milliseconds since the Unix epoch.
    var wallClockMillis: Int64 { get }
}

public struct SystemTimeSource: TimeSource {
    private let origin = ContinuousClock.now

    public init() {}

    public var monotonicNow: Duration { ContinuousClock.now - origin }

    public var wallClockMillis: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
