// Network byte order reads and writes shared by every parser and writer.
//
// Parsers read through `Span<UInt8>`: it is bounds checked (a bug traps
// instead of reading foreign memory) yet costs no allocation, and it can be
// made from an array, an unsafe buffer or a slice of either. Every parser
// checks lengths *before* reading, so the bounds checks never fire on hostile
// input; they are the safety net, not the validation.

extension Span where Element == UInt8 {
    @inlinable @inline(__always)
    func be16(_ offset: Int) -> UInt16 {
        UInt16(self[offset]) &<< 8 | UInt16(self[offset &+ 1])
    }

    @inlinable @inline(__always)
    func be24(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) &<< 16 | UInt32(self[offset &+ 1]) &<< 8 | UInt32(self[offset &+ 2])
    }

    @inlinable @inline(__always)
    func be32(_ offset: Int) -> UInt32 {
        UInt32(be16(offset)) &<< 16 | UInt32(be16(offset &+ 2))
    }

    @inlinable @inline(__always)
    func be64(_ offset: Int) -> UInt64 {
        UInt64(be32(offset)) &<< 32 | UInt64(be32(offset &+ 4))
    }

    /// Copies `count` bytes starting at `offset` (caller checked the range).
    @inlinable
    func copyBytes(_ offset: Int, _ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for i in offset..<(offset + count) { out.append(self[i]) }
        return out
    }
}

extension MutableSpan where Element == UInt8 {
    @inlinable @inline(__always)
    mutating func put16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value &>> 8)
        self[offset &+ 1] = UInt8(truncatingIfNeeded: value)
    }

    @inlinable @inline(__always)
    mutating func put32(_ value: UInt32, at offset: Int) {
        put16(UInt16(truncatingIfNeeded: value &>> 16), at: offset)
        put16(UInt16(truncatingIfNeeded: value), at: offset &+ 2)
    }
}

extension Array where Element == UInt8 {
    @inlinable @inline(__always)
    mutating func appendBE16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value &>> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable @inline(__always)
    mutating func appendBE24(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value &>> 16))
        appendBE16(UInt16(truncatingIfNeeded: value))
    }

    @inlinable @inline(__always)
    mutating func appendBE32(_ value: UInt32) {
        appendBE16(UInt16(truncatingIfNeeded: value &>> 16))
        appendBE16(UInt16(truncatingIfNeeded: value))
    }

    @inlinable @inline(__always)
    mutating func appendBE64(_ value: UInt64) {
        appendBE32(UInt32(truncatingIfNeeded: value &>> 32))
        appendBE32(UInt32(truncatingIfNeeded: value))
    }

    /// Overwrites two bytes already in the array (used to patch length fields).
    @inlinable @inline(__always)
    mutating func putBE16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value &>> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    /// Appends zero bytes until the array length (from `start`) is a multiple of 4.
    @inlinable
    mutating func padToWord(from start: Int) {
        while (count - start) & 3 != 0 { append(0) }
    }
}

/// Views an unsafe buffer as a span for the duration of `body`. The caller
/// vouches that the buffer is valid, exactly as for any use of the pointer.
@inlinable @inline(__always)
func withByteSpan<R, E: Error>(
    _ bytes: UnsafeRawBufferPointer, _ body: (Span<UInt8>) throws(E) -> R
) throws(E) -> R {
    try body(unsafe bytes.assumingMemoryBound(to: UInt8.self).span)
}

extension Array where Element == UInt8 {
    /// Appends `span[range]` in one copy (the caller checked the range).
    @inlinable
    mutating func append(_ span: Span<UInt8>, _ range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= span.count)
        unsafe span.withUnsafeBufferPointer { source in
            unsafe append(contentsOf: UnsafeBufferPointer(rebasing: source[range]))
        }
    }
}
