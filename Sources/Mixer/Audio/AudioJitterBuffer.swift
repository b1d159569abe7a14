/// The jitter buffer of one input: a ring of `slots` packets indexed by
/// extended sequence number. It reorders within the window, drops late and
/// duplicate packets, waits `delayTicks` before the first playout, and says
/// per tick what to play: a packet, a loss (with the next packet for FEC
/// when it is there), or an underrun. Storage is allocated once.
struct AudioJitterBuffer {
    enum Insert: Equatable { case stored, late, duplicate, tooLarge, restarted }
    enum Playout: Equatable {
        /// Nothing to play yet (no stream, or still buffering).
        case waiting
        /// Play the packet in `slot`.
        case packet(slot: Int)
        /// The packet is missing but later ones arrived: conceal, using the
        /// packet in `nextSlot` for FEC when present.
        case lost(nextSlot: Int?)
        /// Nothing newer has arrived (pause, DTX or delay): conceal or be silent.
        case underrun
    }

    let slotCount: Int
    let slotBytes: Int
    let delayTicks: Int
    private(set) var storage: [UInt8]
    private(set) var lengths: [Int]
    private(set) var sequences: [Int64]
    private(set) var levels: [Int16]
    private var filled: [Bool]

    private(set) var started = false
    private(set) var playing = false
    private var countdown = 0
    private(set) var nextSequence: Int64 = 0
    private(set) var highestSequence: Int64 = 0

    init(slots: Int, slotBytes: Int, delayTicks: Int) {
        precondition(slots >= 2)
        slotCount = slots
        self.slotBytes = slotBytes
        self.delayTicks = max(0, delayTicks)
        storage = [UInt8](repeating: 0, count: slots * slotBytes)
        lengths = [Int](repeating: 0, count: slots)
        sequences = [Int64](repeating: -1, count: slots)
        levels = [Int16](repeating: -1, count: slots)
        filled = [Bool](repeating: false, count: slots)
    }

    /// Forget every packet; the next one starts a new stream.
    mutating func reset() {
        for i in 0..<slotCount { filled[i] = false }
        started = false
        playing = false
    }

    /// Extends a 16-bit sequence number next to the highest one seen.
    func extend(_ sequence: UInt16) -> Int64 {
        guard started else { return Int64(sequence) }
        let delta = Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highestSequence))
        return highestSequence + Int64(delta)
    }

    @inline(__always) private func slot(_ sequence: Int64) -> Int {
        Int(sequence % Int64(slotCount) + Int64(slotCount)) % slotCount
    }

    /// The first packet of a possible jump: the jump is taken when the next
    /// far packet follows it within the window.
    private var jumpCandidate: UInt16?

    private mutating func confirmsJump(_ raw: UInt16) -> Bool {
        if let c = jumpCandidate, raw &- c != 0, raw &- c < UInt16(slotCount) {
            jumpCandidate = nil
            return true
        }
        jumpCandidate = raw
        return false
    }

    /// Stores one packet's payload. `level` is its RFC 6464 level, or -1.
    mutating func insert(sequence raw: UInt16, payload: UnsafeRawBufferPointer, level: Int16) -> Insert {
        guard payload.count <= slotBytes else { return .tooLarge }
        var result = Insert.stored
        var sequence = extend(raw)
        if !started {
            start(at: Int64(raw))
            sequence = Int64(raw)
        } else if sequence < nextSequence {
            let behind = nextSequence - sequence
            if !playing && highestSequence - sequence < Int64(slotCount) {
                nextSequence = sequence  // an earlier packet arrived while buffering
            } else if behind > 1_000 {
                guard confirmsJump(raw) else { return .late }
                restart(at: Int64(raw))
                sequence = Int64(raw)
                result = .restarted
            } else {
                return .late
            }
        } else if sequence - nextSequence >= Int64(slotCount) {
            // Beyond the window: the sender jumped (or we stalled); start over there,
            // once a second packet confirms it (one stray number must not reset the stream).
            guard confirmsJump(raw) else { return .late }
            restart(at: Int64(raw))
            sequence = Int64(raw)
            result = .restarted
        }
        jumpCandidate = nil
        let index = slot(sequence)
        if filled[index] && sequences[index] == sequence { return .duplicate }
        filled[index] = true
        sequences[index] = sequence
        lengths[index] = payload.count
        levels[index] = level
        if payload.count > 0 {
            storage.withUnsafeMutableBytes { bytes in
                bytes.baseAddress!.advanced(by: index * slotBytes).copyMemory(
                    from: payload.baseAddress!, byteCount: payload.count)
            }
        }
        if sequence > highestSequence { highestSequence = sequence }
        return result
    }

    private mutating func start(at sequence: Int64) {
        started = true
        playing = false
        countdown = delayTicks
        nextSequence = sequence
        highestSequence = sequence
    }

    private mutating func restart(at sequence: Int64) {
        reset()
        start(at: sequence)
    }

    /// What to play this tick. A returned slot stays readable until the next insert.
    mutating func next() -> Playout {
        guard started else { return .waiting }
        if !playing {
            if countdown > 0 {
                countdown -= 1
                return .waiting
            }
            playing = true
        }
        let index = slot(nextSequence)
        if filled[index] && sequences[index] == nextSequence {
            filled[index] = false
            nextSequence += 1
            return .packet(slot: index)
        }
        guard highestSequence > nextSequence else { return .underrun }
        nextSequence += 1
        let following = slot(nextSequence)
        return .lost(nextSlot: filled[following] && sequences[following] == nextSequence ? following : nil)
    }

    /// The payload in `slot`.
    func withPayload<R>(slot index: Int, _ body: (UnsafeRawBufferPointer) throws(OpusError) -> R) throws(OpusError) -> R {
        try storage.withUnsafeBufferPointer { (bytes) throws(OpusError) -> R in
            let start = bytes.baseAddress! + index * slotBytes
            return try body(UnsafeRawBufferPointer(start: start, count: lengths[index]))
        }
    }
}
