import Synchronization

/// Packets on their way from a media loop to a mixer thread, coalesced: the
/// media loop appends (one copy into a shared byte buffer, no allocation per
/// packet once the buffers have grown) and never wakes the mixer thread; the
/// mixer takes everything at the start of each of its own ticks (every 20 ms
/// for audio, every frame for video). Input waits at most one tick, which the
/// jitter buffers absorb, and the two threads wake each other only for the
/// ticks' output.
package final class PacketInbox: Sendable {
    package struct Entry {
        var port: Int
        var video: Bool
        var audioLevelID: UInt8?
        var start: Int
        var count: Int
        /// When the media loop received it (its loop's clock).
        var arrival: Duration
    }

    package struct Batch {
        var bytes: [UInt8] = []
        var entries: [Entry] = []
    }

    private struct State {
        var pending = Batch()
        /// The buffers of the last drain, handed back for reuse.
        var spare = Batch()
    }

    private let state = Mutex(State())

    /// At most this many packets wait for one tick (about 300 ms of a 1,000-person
    /// room): a mixer thread that stalls longer loses input rather than memory.
    package static let capacity = 16_384

    /// Queues a copy of `packet` for the mixer's next tick; false if the inbox is full.
    @discardableResult
    package func append(port: Int, video: Bool, audioLevelID: UInt8?, packet: UnsafeRawBufferPointer, arrival: Duration) -> Bool {
        state.withLock { s in
            guard s.pending.entries.count < Self.capacity else { return false }
            let start = s.pending.bytes.count
            s.pending.bytes.append(contentsOf: packet)
            s.pending.entries.append(Entry(port: port, video: video, audioLevelID: audioLevelID, start: start, count: packet.count, arrival: arrival))
            return true
        }
    }

    /// Takes everything queued (on the mixer thread); give the batch back with `recycle`.
    package func take() -> Batch {
        state.withLock { s in
            var out = Batch()
            swap(&out, &s.spare)
            swap(&out, &s.pending)
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
