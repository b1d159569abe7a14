// Elements inside the RTP header extension block.
//
// RFC 8285 §4.2 (one-byte header, profile 0xBEDE),
// https://www.rfc-editor.org/rfc/rfc8285#section-4.2
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |       0xBE    |    0xDE       |           length=3            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  ID   | L=0   |     data      |  ID   |  L=1  |   data...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//       ...data   |    0 (pad)    |    0 (pad)    |  ID   | L=3   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          data                                 |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// L is the data length minus one (1..16 bytes); ID 0 is a padding byte and
// ID 15 is reserved: the parser must stop at it.
//
// RFC 8285 §4.3 (two-byte header, profile 0x100 + 4 "appbits"),
// https://www.rfc-editor.org/rfc/rfc8285#section-4.3
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |       0x10    |    0x00       |           length=3            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      ID       |     L=0       |     ID        |     L=1       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |       data    |    0 (pad)    |       ID      |      L=4      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          data                                 |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Here L is the exact data length (0..255) and a zero ID byte is padding.

/// The two element encodings of RFC 8285.
public enum RTPExtensionForm: Sendable, Equatable {
    case oneByte, twoByte

    /// The "defined by profile" value announcing the one-byte form.
    public static let oneByteProfile: UInt16 = 0xBEDE
    /// The two-byte form's profile, before its 4 low "appbits".
    public static let twoByteProfile: UInt16 = 0x1000

    /// The form announced by a profile value, nil for non-RFC 8285 extensions.
    @inlinable
    public init?(profile: UInt16) {
        if profile == Self.oneByteProfile {
            self = .oneByte
        } else if profile & 0xFFF0 == Self.twoByteProfile {
            self = .twoByte
        } else {
            return nil
        }
    }
}

/// Where one extension element's data sits in the packet buffer.
public struct RTPExtensionElementLocation: Sendable, Equatable, Hashable {
    public var id: UInt8
    public var offset: Int
    public var length: Int

    @inlinable
    public init(id: UInt8, offset: Int, length: Int) {
        self.id = id
        self.offset = offset
        self.length = length
    }
}

extension RTPHeader {
    /// The RFC 8285 form of this packet's extension block, if it has one.
    @inlinable
    public var extensionForm: RTPExtensionForm? {
        hasExtension ? RTPExtensionForm(profile: extensionProfile) : nil
    }

    /// Steps to the next element at or after `position` (an absolute offset
    /// that starts at `extensionOffset`). Returns nil at the end of the block,
    /// at a reserved ID 15, or when an element would overrun the block: a
    /// malformed tail is ignored rather than failing the whole packet, since
    /// the payload is still good.
    @inlinable
    public func nextExtensionElement(
        from position: inout Int, in bytes: Span<UInt8>
    ) -> RTPExtensionElementLocation? {
        guard let form = extensionForm else { return nil }
        let end = extensionOffset + extensionLength
        guard end <= bytes.count else { return nil }
        while position < end {
            let first = bytes[position]
            if first == 0 {
                position += 1  // padding between elements
                continue
            }
            switch form {
            case .oneByte:
                let id = first &>> 4
                if id == 15 { position = end; return nil }
                let data = position + 1
                let length = Int(first & 0x0F) + 1
                guard data + length <= end else { position = end; return nil }
                position = data + length
                return RTPExtensionElementLocation(id: id, offset: data, length: length)
            case .twoByte:
                guard position + 2 <= end else { position = end; return nil }
                let length = Int(bytes[position + 1])
                let data = position + 2
                guard data + length <= end else { position = end; return nil }
                position = data + length
                return RTPExtensionElementLocation(id: first, offset: data, length: length)
            }
        }
        return nil
    }

    /// Offset and length of the data of extension element `id`, or nil when
    /// absent. No allocation: meant for per-packet use (transport-wide
    /// sequence numbers, audio levels, MID/RID).
    @inlinable
    public func extensionElement(id: UInt8, in bytes: Span<UInt8>) -> (offset: Int, length: Int)? {
        guard id != 0 else { return nil }
        var position = extensionOffset
        while let element = nextExtensionElement(from: &position, in: bytes) {
            if element.id == id { return (element.offset, element.length) }
        }
        return nil
    }

    @inlinable
    public func extensionElement(id: UInt8, in bytes: [UInt8]) -> (offset: Int, length: Int)? {
        extensionElement(id: id, in: bytes.span)
    }

    @inlinable
    public func extensionElement(id: UInt8, in bytes: UnsafeRawBufferPointer) -> (offset: Int, length: Int)? {
        unsafe withByteSpan(bytes) { extensionElement(id: id, in: $0) }
    }

    /// Every element in order (allocates; for tests, logging and SDP checks).
    public func extensionElements(in bytes: [UInt8]) -> [RTPExtensionElementLocation] {
        var result: [RTPExtensionElementLocation] = []
        var position = extensionOffset
        let span = bytes.span
        while let element = nextExtensionElement(from: &position, in: span) { result.append(element) }
        return result
    }

    /// The data of element `id` read as a big-endian unsigned integer of its
    /// first `width` bytes (1...8), e.g. 2 for the transport-wide sequence
    /// number, 3 for abs-send-time. Nil when absent or shorter than `width`.
    @inlinable
    public func extensionValue(id: UInt8, width: Int, in bytes: Span<UInt8>) -> UInt64? {
        guard (1...8).contains(width), let (offset, length) = extensionElement(id: id, in: bytes),
            length >= width
        else { return nil }
        var value: UInt64 = 0
        for i in offset..<(offset + width) { value = value &<< 8 | UInt64(bytes[i]) }
        return value
    }

    @inlinable
    public func extensionValue(id: UInt8, width: Int, in bytes: [UInt8]) -> UInt64? {
        extensionValue(id: id, width: width, in: bytes.span)
    }
}
