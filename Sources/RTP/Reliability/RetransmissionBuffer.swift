// Send-side store of recently sent packets, to answer NACKs.
//
// RFC 4588 §3 (retransmission in RTP), https://www.rfc-editor.org/rfc/rfc4588#section-3
//
// A fixed ring of `capacity` slots, each `slotSize` bytes, allocated once, on
// the first store: a session that never sends video (every audio-only
// participant) never pays for it (1.5 MB at the default size).
// A packet goes to slot `sequenceNumber % capacity`, so storing never
// allocates or searches, and a newer packet simply overwrites the one
// `capacity` sequence numbers before it. Each slot remembers the sequence
// number it holds, so a lookup for an overwritten (or never stored) number
// misses instead of returning the wrong packet.
//
//   slots:   [ seq 1000 | seq 1001 | seq 1002 | seq  999 ]   capacity 4
//   store 1003 -> overwrites slot 3 (seq 999); get(999) -> nil
//
// Capacity should cover one RTT's worth of packets plus margin (libwebrtc
// keeps up to 600); packets larger than `slotSize` are not stored.

public struct RetransmissionBuffer: Sendable {
    public let capacity: Int
    public let slotSize: Int
    private var storage: [UInt8]
    private var lengths: [Int]
    private var sequenceNumbers: [UInt16]
    private var occupied: [Bool]

    /// Largest packet an RTP sender in this server produces (MTU-sized).
    public static let defaultSlotSize = 1500

    /// `capacity` is clamped to 1...65536 (more would alias sequence numbers).
    public init(capacity: Int, slotSize: Int = RetransmissionBuffer.defaultSlotSize) {
        self.capacity = min(max(capacity, 1), 0x1_0000)
        self.slotSize = max(slotSize, RTPHeader.fixedHeaderLength)
        storage = []
        lengths = []
        sequenceNumbers = []
        occupied = []
    }

    private var allocated: Bool { !occupied.isEmpty }

    private mutating func allocate() {
        storage = [UInt8](repeating: 0, count: capacity * slotSize)
        lengths = [Int](repeating: 0, count: capacity)
        sequenceNumbers = [UInt16](repeating: 0, count: capacity)
        occupied = [Bool](repeating: false, count: capacity)
    }

    private func slot(_ sequenceNumber: UInt16) -> Int { Int(sequenceNumber) % capacity }

    /// Copies a sent RTP packet into its slot, keyed by the sequence number in
    /// its header. Returns false (storing nothing) when the packet is not
    /// RTP-shaped or larger than a slot.
    @discardableResult
    public mutating func store(_ packet: Span<UInt8>) -> Bool {
        guard packet.count >= RTPHeader.fixedHeaderLength, packet.count <= slotSize,
            packet[0] &>> 6 == 2
        else { return false }
        if !allocated { allocate() }
        let sequenceNumber = packet.be16(2)
        let index = slot(sequenceNumber)
        let base = index * slotSize
        // One memcpy into the preallocated slot. The range was checked above:
        // base + packet.count <= (index + 1) * slotSize <= storage.count.
        unsafe storage.withUnsafeMutableBytes { destination in
            unsafe packet.withUnsafeBytes { source in
                unsafe UnsafeMutableRawBufferPointer(rebasing: destination[base..<(base + source.count)])
                    .copyMemory(from: source)
            }
        }
        lengths[index] = packet.count
        sequenceNumbers[index] = sequenceNumber
        occupied[index] = true
        return true
    }

    @discardableResult
    public mutating func store(_ packet: [UInt8]) -> Bool {
        store(packet.span)
    }

    @discardableResult
    public mutating func store(_ packet: UnsafeRawBufferPointer) -> Bool {
        unsafe withByteSpan(packet) { store($0) }
    }

    /// True when the packet with this sequence number is still held.
    public func contains(_ sequenceNumber: UInt16) -> Bool {
        guard allocated else { return false }
        let index = slot(sequenceNumber)
        return occupied[index] && sequenceNumbers[index] == sequenceNumber
    }

    /// A copy of the stored packet, or nil when it was never stored or has
    /// been overwritten.
    public func get(_ sequenceNumber: UInt16) -> [UInt8]? {
        guard contains(sequenceNumber) else { return nil }
        let index = slot(sequenceNumber)
        let base = index * slotSize
        return Array(storage[base..<(base + lengths[index])])
    }

    /// Lends the stored packet's bytes without copying them.
    public func withPacket<R>(_ sequenceNumber: UInt16, _ body: (Span<UInt8>) throws -> R) rethrows -> R? {
        guard contains(sequenceNumber) else { return nil }
        let index = slot(sequenceNumber)
        let base = index * slotSize
        return try body(storage.span.extracting(base..<(base + lengths[index])))
    }

    /// Number of packets currently held.
    public var count: Int { occupied.lazy.filter { $0 }.count }

    /// Empties the buffer (e.g. when the sender's SSRC changes).
    public mutating func removeAll() {
        for i in occupied.indices { occupied[i] = false }
    }
}
