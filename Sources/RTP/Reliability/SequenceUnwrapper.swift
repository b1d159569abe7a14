// Extending wrapping RTP counters to 64 bits.
//
// RTP sequence numbers (16 bits, RFC 3550 §5.1) wrap every 65536 packets:
// about 22 minutes of 50 packet/s audio, seconds of 4K video. Timestamps
// (32 bits) wrap after 13 hours at 90 kHz. Anything that sorts, subtracts
// or keys on them (loss statistics, NACK lists, jitter buffers) wants a
// monotonic value instead.
//
// Each new value is placed at the position nearest to the highest value
// seen so far: a forward step of less than half the range moves ahead (and
// across a wrap), anything else is taken as a reordered older packet. A
// value exactly half the range away is ambiguous; it is taken as older,
// which keeps a burst of garbage from racing the reference forward.
//
// https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1

/// Extends 16-bit RTP sequence numbers to monotonic `Int64` values.
public struct SequenceUnwrapper: Sendable, Equatable {
    @usableFromInline var reference: Int64?

    /// Highest extended value returned so far, nil before the first packet.
    @inlinable public var highest: Int64? { reference }

    public init() {}

    /// The extended value of `sequenceNumber`. The first packet maps to its
    /// own value; a reordered packet from before it may map below zero.
    @inlinable
    public mutating func unwrap(_ sequenceNumber: UInt16) -> Int64 {
        let value = peek(sequenceNumber)
        if value > reference ?? .min { reference = value }
        return value
    }

    /// What `unwrap` would return, without moving the reference.
    @inlinable
    public func peek(_ sequenceNumber: UInt16) -> Int64 {
        guard let highest = reference else { return Int64(sequenceNumber) }
        let step = Int16(bitPattern: sequenceNumber &- UInt16(truncatingIfNeeded: highest))
        // Int16 covers -32768...32767: the half-range tie is read as older.
        return highest + Int64(step)
    }

    /// Forgets the reference (e.g. after an SSRC change).
    public mutating func reset() { reference = nil }
}

/// Extends 32-bit RTP timestamps to monotonic `Int64` values.
public struct TimestampUnwrapper: Sendable, Equatable {
    @usableFromInline var reference: Int64?

    @inlinable public var highest: Int64? { reference }

    public init() {}

    @inlinable
    public mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        let value = peek(timestamp)
        if value > reference ?? .min { reference = value }
        return value
    }

    @inlinable
    public func peek(_ timestamp: UInt32) -> Int64 {
        guard let highest = reference else { return Int64(timestamp) }
        let step = Int32(bitPattern: timestamp &- UInt32(truncatingIfNeeded: highest))
        return highest + Int64(step)
    }

    public mutating func reset() { reference = nil }
}

/// Wrap-aware ordering of 16-bit sequence numbers (RFC 1982 serial number
/// arithmetic), for code that compares two values without an unwrapper.
@inlinable
public func isNewerSequenceNumber(_ a: UInt16, than b: UInt16) -> Bool {
    a != b && (a &- b) < 0x8000
}
