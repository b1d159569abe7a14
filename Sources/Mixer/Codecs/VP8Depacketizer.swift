// VP8 over RTP, receiver side (RFC 7741 §4): reassembles frames from the
// packets of one input.
//
// A frame is complete when its packets run without a gap from the one with
// S=1/PID=0 to the one with the marker bit, all with the same timestamp.
// Packets are kept in a small ring indexed by the unwrapped sequence number,
// so reordering within `reorderWindow` packets is absorbed. When a packet
// is still missing after `reorderWindow` newer ones arrived, the frame is
// lost: it is dropped, and every frame after it is dropped as well until a
// keyframe arrives (a delta frame after a loss would decode to garbage).

import RTP

public struct VP8AssembledFrame {
    /// The VP8 frame (the payload descriptors removed). Valid only during the callback.
    public var data: UnsafeRawBufferPointer
    public var timestamp: UInt32
    public var isKeyframe: Bool
}

public struct VP8FrameAssembler {
    public struct PushResult: Sendable, Equatable {
        /// A frame was declared lost with this packet.
        public var lost = false
        /// The packet could not be parsed as RTP/VP8.
        public var malformed = false
        /// Frames handed to the callback.
        public var framesCompleted = 0
    }

    private struct Slot {
        var sequence: Int64 = -1
        var timestamp: UInt32 = 0
        var marker = false
        var frameStart = false
        var keyStart = false
        var payload: [UInt8] = []
    }

    /// Packets that may arrive out of order before a gap counts as loss.
    public let reorderWindow: Int
    private var slots: [Slot]
    private let mask: Int
    /// Highest unwrapped sequence number seen.
    private var highest: Int64 = -1
    /// Where the next frame must start (nil: wait for a frame start).
    private var expected: Int64?
    /// Packets below this are old (already used or dropped).
    private var floor: Int64 = 0
    private var waitingForKeyframe = true
    private var frameBuffer: [UInt8] = []
    /// A packet far from the stream (more than the ring ahead, or four rings
    /// behind), held back: alone it is dropped (corrupt, forged or stray), so one bad
    /// sequence number cannot throw the stream away; when the next far packet
    /// follows it closely, the sender restarted its numbering and both are used.
    private var stray: (sequence: UInt16, packet: [UInt8])?

    public private(set) var framesLost = 0

    public init(reorderWindow: Int = 4, capacity: Int = 256) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "capacity must be a power of two")
        precondition(reorderWindow >= 1 && reorderWindow < capacity)
        self.reorderWindow = reorderWindow
        slots = Array(repeating: Slot(), count: capacity)
        mask = capacity - 1
        frameBuffer.reserveCapacity(64 * 1024)
    }

    /// True while frames are being dropped for want of a keyframe and no
    /// keyframe is on its way (its first packet not seen yet).
    public var needsKeyframe: Bool {
        guard waitingForKeyframe else { return false }
        guard let expected, let slot = slot(at: expected) else { return true }
        return !slot.keyStart
    }

    /// Drops frames until the next keyframe (e.g. after a decode error).
    public mutating func requireKeyframe() {
        waitingForKeyframe = true
    }

    /// Takes one RTP packet; calls `onFrame` for every frame it completes.
    public mutating func push(
        _ packet: UnsafeRawBufferPointer, onFrame: (VP8AssembledFrame) -> Void
    ) -> PushResult {
        var result = PushResult()
        guard let header = try? RTPHeader.parse(packet), header.payloadLength > 0,
            let descriptor = try? parseDescriptor(packet, header)
        else {
            result.malformed = true
            return result
        }
        var sequence = unwrap(header.sequenceNumber)
        // Far: beyond the ring ahead, or so far behind (4 rings) that it cannot be a late retransmission.
        if highest >= 0, sequence > highest + Int64(slots.count) || sequence < highest - 4 * Int64(slots.count) {
            guard let held = stray, header.sequenceNumber &- held.sequence != 0,
                header.sequenceNumber &- held.sequence < UInt16(slots.count)
            else {
                stray = (header.sequenceNumber, Array(packet))
                result.malformed = true
                return result
            }
            // Two packets agree: the sender restarted (or a long outage). Start over from the held one.
            stray = nil
            reset()
            result.lost = true
            framesLost += 1
            let first = held.packet.withUnsafeBytes { push($0, onFrame: onFrame) }
            result.framesCompleted += first.framesCompleted
            sequence = unwrap(header.sequenceNumber)
        }
        guard sequence >= floor else { return result }  // late or duplicate
        if sequence > highest { highest = sequence }

        var slot = Slot()
        swap(&slot, &slots[Int(sequence & Int64(mask))])
        slot.sequence = sequence
        slot.timestamp = header.timestamp
        slot.marker = header.marker
        slot.frameStart = descriptor.isFrameStart
        slot.keyStart = descriptor.isKeyframeStart
        slot.payload.removeAll(keepingCapacity: true)
        let payloadEnd = header.payloadOffset + header.payloadLength
        slot.payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: packet[descriptor.payloadHeaderOffset..<payloadEnd]))
        let isStart = slot.frameStart, isKeyStart = slot.keyStart
        swap(&slot, &slots[Int(sequence & Int64(mask))])

        // Synchronise on a frame start: any start when in sync, a keyframe
        // start when waiting for one (jumping over whatever is missing).
        if expected == nil, isStart, !waitingForKeyframe || isKeyStart {
            expected = sequence
        } else if waitingForKeyframe, isKeyStart, let e = expected, sequence > e {
            if let current = self.slot(at: e), current.keyStart {
                // already on a keyframe; keep it
            } else {
                expected = sequence
                floor = sequence
            }
        }

        while let start = expected {
            let state = frameState(from: start)
            if case .complete(let end) = state {
                let first = slots[Int(start & Int64(mask))]
                expected = end + 1
                floor = end + 1
                if first.keyStart { waitingForKeyframe = false }
                if !waitingForKeyframe {
                    frameBuffer.removeAll(keepingCapacity: true)
                    var s = start
                    while s <= end {
                        frameBuffer.append(contentsOf: slots[Int(s & Int64(mask))].payload)
                        s += 1
                    }
                    let timestamp = first.timestamp, key = first.keyStart
                    frameBuffer.withUnsafeBytes {
                        onFrame(VP8AssembledFrame(data: $0, timestamp: timestamp, isKeyframe: key))
                    }
                    result.framesCompleted += 1
                }
                continue
            }
            // Incomplete: lost once the gap is older than the reorder window,
            // or at once when the packets cannot belong to one frame.
            if case .missing(let gap) = state, highest - gap < Int64(reorderWindow) { break }
            result.lost = true
            framesLost += 1
            waitingForKeyframe = true
            expected = nil
            floor = start + 1
            // Resume at the next keyframe start already received, if any.
            var s = start + 1
            while s <= highest {
                if let candidate = self.slot(at: s), candidate.keyStart {
                    expected = s
                    floor = s
                    break
                }
                s += 1
            }
            if expected == nil { floor = highest + 1 }
        }
        return result
    }

    public mutating func push(_ packet: [UInt8], onFrame: (VP8AssembledFrame) -> Void) -> PushResult {
        packet.withUnsafeBytes { push($0, onFrame: onFrame) }
    }

    // MARK: Private

    private func slot(at sequence: Int64) -> Slot? {
        let slot = slots[Int(sequence & Int64(mask))]
        return slot.sequence == sequence ? slot : nil
    }

    private enum FrameState {
        /// Complete up to this marker packet.
        case complete(Int64)
        /// This packet is missing (not arrived yet, or lost).
        case missing(Int64)
        /// The packets present cannot form one frame (no start, mixed timestamps).
        case broken
    }

    private func frameState(from start: Int64) -> FrameState {
        guard let first = slot(at: start) else { return .missing(start) }
        guard first.frameStart else { return .broken }
        var s = start
        while s - start < Int64(slots.count) {
            guard let packet = slot(at: s) else { return .missing(s) }
            if packet.timestamp != first.timestamp || (s > start && packet.frameStart) { return .broken }
            if packet.marker { return .complete(s) }
            s += 1
        }
        return .broken
    }

    private mutating func unwrap(_ sequence: UInt16) -> Int64 {
        guard highest >= 0 else { return Int64(sequence) + 65_536 }
        let last = UInt16(truncatingIfNeeded: highest)
        let delta = Int64(Int16(bitPattern: sequence &- last))
        return highest + delta
    }

    private mutating func reset() {
        for index in slots.indices { slots[index].sequence = -1 }
        highest = -1
        expected = nil
        floor = 0
        waitingForKeyframe = true
    }

    private func parseDescriptor(
        _ packet: UnsafeRawBufferPointer, _ header: RTPHeader
    ) throws(RTPError) -> VP8PayloadDescriptor {
        let bytes = packet.assumingMemoryBound(to: UInt8.self)
        return try VP8PayloadDescriptor.parse(
            bytes.span, payloadOffset: header.payloadOffset, payloadLength: header.payloadLength)
    }
}
