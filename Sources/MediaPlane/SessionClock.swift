package import Transport

/// One 40 ms clock per media loop for every RTP session on it (NACKs,
/// transport-wide feedback, speech detection, reports): a single GLib source
/// instead of one timer per session re-created at every tick, which made
/// every wake-up of a loop with hundreds of peers walk hundreds of sources.
/// What the sessions send from the tick leaves in one batch on the shared
/// port. Not Sendable: touched only on its loop.
package final class SessionClock {
    private let loop: MediaLoop
    private weak var context: MediaContext?
    /// Strong references: a session leaves in `stopRTCP` (close, or its
    /// protection gone); weak ones would cost a side-table retain per tick.
    private var sessions: [ObjectIdentifier: RtpSession] = [:]
    private var timer: LoopTimer?

    package init(loop: MediaLoop, context: MediaContext) {
        self.loop = loop
        self.context = context
    }

    package func add(_ session: RtpSession) {
        sessions[ObjectIdentifier(session)] = session
        if timer == nil {
            timer = LoopTimer(loop: loop, every: RtpSession.tickInterval) { [unowned self] in fire() }
        }
    }

    package func remove(_ session: RtpSession) {
        sessions[ObjectIdentifier(session)] = nil
        if sessions.isEmpty {
            timer?.cancel()
            timer = nil
        }
    }

    package var count: Int { sessions.count }

    private func fire() {
        let run = { [self] in
            for (id, s) in sessions {
                guard !s.isClosed else {
                    sessions[id] = nil
                    continue
                }
                s.clockTick()
            }
        }
        if let mux = context?.mux(for: loop) { mux.batch(run) } else { run() }
        if sessions.isEmpty {
            timer?.cancel()
            timer = nil
        }
    }
}
