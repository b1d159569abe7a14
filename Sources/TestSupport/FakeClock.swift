public import Elements
import Synchronization

/// A clock that moves only when a test says so. Timers (session grace period,
/// request cache) are then tested without sleeping.
public final class FakeClock: TimeSource, Sendable {
    private let state: Mutex<(mono: Duration, wallMillis: Int64)>

    public init(wallClockMillis: Int64 = 1_700_000_000_000) {
        state = Mutex((.zero, wallClockMillis))
    }

    public var monotonicNow: Duration { state.withLock { $0.mono } }

    public var wallClockMillis: Int64 { state.withLock { $0.wallMillis } }

    public func advance(by d: Duration) {
        state.withLock {
            $0.mono += d
            $0.wallMillis += d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        }
    }
}
