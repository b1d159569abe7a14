// VP8 payload descriptor and the first byte of the VP8 payload header.
//
// RFC 7741 §4.2, https://www.rfc-editor.org/rfc/rfc7741#section-4.2
//
//       0 1 2 3 4 5 6 7
//      +-+-+-+-+-+-+-+-+
//      |X|R|N|S|R| PID | (REQUIRED)
//      +-+-+-+-+-+-+-+-+
// X:   |I|L|T|K| RSV   | (OPTIONAL)
//      +-+-+-+-+-+-+-+-+
// I:   |M| PictureID   | (OPTIONAL)  M=1: 15-bit PictureID, one more byte
//      +-+-+-+-+-+-+-+-+
//      |   PictureID   |
//      +-+-+-+-+-+-+-+-+
// L:   |   TL0PICIDX   | (OPTIONAL)
//      +-+-+-+-+-+-+-+-+
// T/K: |TID|Y| KEYIDX  | (OPTIONAL)  present when T or K is set
//      +-+-+-+-+-+-+-+-+
//
// RFC 7741 §4.3, the VP8 payload header that follows when S=1 and PID=0
// (the first byte of the frame, from the VP8 bitstream, RFC 6386 §9.1):
//
//       0 1 2 3 4 5 6 7
//      +-+-+-+-+-+-+-+-+
//      |Size0|H| VER |P|   P: inverse key frame flag (0 = key frame)
//      +-+-+-+-+-+-+-+-+
//
// An SFU reads this to find keyframes (where a new receiver or a switched
// source can start) and temporal layers, and rewrites PictureID and
// TL0PICIDX in place so that switching sources keeps them continuous for the
// receiver's decoder. All offsets are absolute in the buffer parsed.

public struct VP8PayloadDescriptor: Sendable, Equatable, Hashable {
    /// N: the frame can be discarded without affecting others.
    public let nonReference: Bool
    /// S: this packet starts a VP8 partition.
    public let startOfPartition: Bool
    /// PID: partition index (0...7).
    public let partitionIndex: UInt8
    /// 7- or 15-bit PictureID, when I=1.
    public let pictureID: UInt16?
    /// M: the PictureID field is 15 bits (2 bytes).
    public let pictureIDIs15Bit: Bool
    /// Offset of the first PictureID byte, for rewriting.
    public let pictureIDOffset: Int?
    /// TL0PICIDX, when L=1.
    public let tl0PicIdx: UInt8?
    public let tl0PicIdxOffset: Int?
    /// Temporal layer index, when T=1.
    public let temporalLayer: UInt8?
    /// Y: layer sync bit (meaningful when T=1).
    public let layerSync: Bool
    /// KEYIDX, when K=1.
    public let keyIndex: UInt8?
    /// Offset of the first byte after the descriptor: the VP8 payload (and,
    /// at the start of a frame, the VP8 payload header).
    public let payloadHeaderOffset: Int
    /// Bytes of descriptor (1...6).
    public let descriptorLength: Int
    /// First byte of the VP8 payload.
    public let firstPayloadByte: UInt8

    /// True for the first packet of a key frame: S=1, PID=0 and P=0.
    public var isKeyframeStart: Bool {
        startOfPartition && partitionIndex == 0 && firstPayloadByte & 0x01 == 0
    }

    /// True for the first packet of any frame (S=1, PID=0).
    public var isFrameStart: Bool { startOfPartition && partitionIndex == 0 }

    /// Parses the descriptor of the RTP payload at `payloadOffset` with
    /// `payloadLength` bytes (default: the rest of `bytes`).
    public static func parse(
        _ bytes: Span<UInt8>, payloadOffset: Int = 0, payloadLength: Int? = nil
    ) throws(RTPError) -> VP8PayloadDescriptor {
        guard payloadOffset >= 0, payloadOffset <= bytes.count else { throw .truncated }
        let available = bytes.count - payloadOffset
        let length = payloadLength ?? available
        guard length > 0, length <= available else { throw .truncated }
        let end = payloadOffset + length
        var offset = payloadOffset
        let first = bytes[offset]
        offset += 1
        var pictureID: UInt16?
        var is15Bit = false
        var pictureIDOffset: Int?
        var tl0: UInt8?
        var tl0Offset: Int?
        var temporalLayer: UInt8?
        var layerSync = false
        var keyIndex: UInt8?
        if first & 0x80 != 0 {
            guard offset < end else { throw .truncated }
            let extended = bytes[offset]
            offset += 1
            if extended & 0x80 != 0 {  // I
                guard offset < end else { throw .truncated }
                pictureIDOffset = offset
                let high = bytes[offset]
                if high & 0x80 != 0 {
                    guard offset + 1 < end else { throw .truncated }
                    is15Bit = true
                    pictureID = UInt16(high & 0x7F) << 8 | UInt16(bytes[offset + 1])
                    offset += 2
                } else {
                    pictureID = UInt16(high)
                    offset += 1
                }
            }
            if extended & 0x40 != 0 {  // L
                guard offset < end else { throw .truncated }
                tl0 = bytes[offset]
                tl0Offset = offset
                offset += 1
            }
            if extended & 0x30 != 0 {  // T or K
                guard offset < end else { throw .truncated }
                let byte = bytes[offset]
                offset += 1
                if extended & 0x20 != 0 {
                    temporalLayer = byte >> 6
                    layerSync = byte & 0x20 != 0
                }
                if extended & 0x10 != 0 { keyIndex = byte & 0x1F }
            }
        }
        // A descriptor with no VP8 data after it is not a valid packet.
        guard offset < end else { throw .payloadTooShort }
        return VP8PayloadDescriptor(
            nonReference: first & 0x20 != 0, startOfPartition: first & 0x10 != 0, partitionIndex: first & 0x07,
            pictureID: pictureID, pictureIDIs15Bit: is15Bit, pictureIDOffset: pictureIDOffset,
            tl0PicIdx: tl0, tl0PicIdxOffset: tl0Offset, temporalLayer: temporalLayer, layerSync: layerSync,
            keyIndex: keyIndex, payloadHeaderOffset: offset, descriptorLength: offset - payloadOffset,
            firstPayloadByte: bytes[offset])
    }

    /// Parses the descriptor of an RTP packet whose header is already parsed.
    public static func parse(packet: [UInt8], header: RTPHeader) throws(RTPError) -> VP8PayloadDescriptor {
        try parse(packet.span, payloadOffset: header.payloadOffset, payloadLength: header.payloadLength)
    }

    /// Parses a bare RTP payload held in an array (offsets relative to it).
    public static func parse(_ payload: [UInt8]) throws(RTPError) -> VP8PayloadDescriptor {
        try parse(payload.span)
    }

    // MARK: In-place rewriting

    /// Writes `pictureID` into the existing field, keeping its width: a 7-bit
    /// field keeps the low 7 bits, a 15-bit field the low 15 (receivers
    /// compare PictureIDs modulo the width). False when there is no field or
    /// `bytes` is too short.
    @discardableResult
    public func setPictureID(_ pictureID: UInt16, in bytes: inout MutableSpan<UInt8>) -> Bool {
        guard let offset = pictureIDOffset, offset + (pictureIDIs15Bit ? 2 : 1) <= bytes.count else { return false }
        if pictureIDIs15Bit {
            bytes[offset] = 0x80 | UInt8(truncatingIfNeeded: pictureID >> 8) & 0x7F
            bytes[offset + 1] = UInt8(truncatingIfNeeded: pictureID)
        } else {
            bytes[offset] = UInt8(truncatingIfNeeded: pictureID) & 0x7F
        }
        return true
    }

    @discardableResult
    public func setPictureID(_ pictureID: UInt16, in bytes: inout [UInt8]) -> Bool {
        var span = bytes.mutableSpan
        return setPictureID(pictureID, in: &span)
    }

    @discardableResult
    public func setPictureID(_ pictureID: UInt16, in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        var span = unsafe bytes.assumingMemoryBound(to: UInt8.self).mutableSpan
        return setPictureID(pictureID, in: &span)
    }

    /// Writes TL0PICIDX into the existing field; false when there is none.
    @discardableResult
    public func setTL0PicIdx(_ value: UInt8, in bytes: inout MutableSpan<UInt8>) -> Bool {
        guard let offset = tl0PicIdxOffset, offset < bytes.count else { return false }
        bytes[offset] = value
        return true
    }

    @discardableResult
    public func setTL0PicIdx(_ value: UInt8, in bytes: inout [UInt8]) -> Bool {
        var span = bytes.mutableSpan
        return setTL0PicIdx(value, in: &span)
    }

    @discardableResult
    public func setTL0PicIdx(_ value: UInt8, in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        var span = unsafe bytes.assumingMemoryBound(to: UInt8.self).mutableSpan
        return setTL0PicIdx(value, in: &span)
    }
}
