import Synchronization

/// Packets on their way from a media loop to a mixer thread, coalesced: the
/// media loop appends (one copy into a shared byte buffer, no allocation per
/// packet once the buffers have grown), and only the append that finds the
/// inbox idle posts a drain to the mixer thread. A receive batch of many
/// packets then costs the mixer thread one wake-up instead of one per packet.
package final class PacketInbox: Sendable {
    package struct Entry {
        var port: Int
        var video: Bool
        var audioLevelID: UInt8?
        var start: Int
        var count: Int
    }

    package struct Batch {
        var bytes: [UInt8] = []
        var entries: [Entry] = []
    }

    private struct State {
        var pending = Batch()
        /// A drain was posted and has not run yet.
        var scheduled = false
        /// The buffers of the last drain, handed back for reuse.
        var spare = Batch()
    }

    private let state = Mutex(State())

    /// Queues a copy of `packet`; true when the caller must post a drain.
    package func append(port: Int, video: Bool, audioLevelID: UInt8?, packet: UnsafeRawBufferPointer) -> Bool {
        state.withLock { s in
            let start = s.pending.bytes.count
            s.pending.bytes.append(contentsOf: packet)
            s.pending.entries.append(Entry(port: port, video: video, audioLevelID: audioLevelID, start: start, count: packet.count))
            if s.scheduled { return false }
            s.scheduled = true
            return true
        }
    }

    /// Takes everything queued (on the mixer thread); give the batch back with `recycle`.
    package func take() -> Batch {
        state.withLock { s in
            var out = Batch()
            swap(&out, &s.spare)
            swap(&out, &s.pending)
            s.scheduled = false
            return out
        }
    }

    /// Returns a processed batch's buffers for reuse (capacity kept, contents dropped).
    package func recycle(_ batch: consuming Batch) {
        var b = batch
        b.bytes.removeAll(keepingCapacity: true)
        b.entries.removeAll(keepingCapacity: true)
        state.withLock { s in
            if s.spare.bytes.capacity < b.bytes.capacity { s.spare = b }
        }
    }
}
