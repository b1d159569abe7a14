// Building RTP packets: fixed header, CSRCs, RFC 8285 extensions, payload
// and padding.
//
// RFC 3550 §5.1 and §5.3.1, https://www.rfc-editor.org/rfc/rfc3550#section-5.1
// RFC 8285 §4, https://www.rfc-editor.org/rfc/rfc8285#section-4
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
// |                           timestamp                           |
// |                             SSRC                              |
// |                     CSRC list (CC words)                      |
// |  0xBEDE or 0x1000 (profile)   |    length (words of data)     |
// |         extension elements, zero padded to a word             |
// |                            payload                            |
// |               ....            | padding ... | padding count   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The builder appends to a caller-provided array, so a sender that keeps
// one scratch buffer (with reserved capacity) builds packets without
// allocating. Used by tests and by media generated inside the server.

/// One header extension element to put on a packet.
public struct RTPExtensionElement: Sendable, Equatable, Hashable {
    public var id: UInt8
    public var data: [UInt8]

    public init(id: UInt8, data: [UInt8]) {
        self.id = id
        self.data = data
    }

    /// True when this element can use the one-byte form (RFC 8285 §4.2:
    /// ID 1...14, 1...16 bytes of data).
    public var fitsOneByteForm: Bool { (1...14).contains(id) && (1...16).contains(data.count) }
    /// True when this element can use the two-byte form (§4.3: ID 1...255,
    /// 0...255 bytes of data).
    public var fitsTwoByteForm: Bool { id >= 1 && data.count <= 255 }
}

public struct RTPPacketBuilder: Sendable, Equatable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var csrcs: [UInt32]
    public var extensions: [RTPExtensionElement]
    /// Use the two-byte form even when every element would fit the one-byte
    /// form (only legal when extmap-allow-mixed was negotiated).
    public var preferTwoByteExtensions: Bool
    /// Bytes of padding to append (0 for none); the last byte holds the count.
    public var paddingLength: UInt8
    /// "appbits" of the two-byte profile (RFC 8285 §4.3), usually 0.
    public var twoByteAppBits: UInt8

    public init(
        payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32, marker: Bool = false,
        csrcs: [UInt32] = [], extensions: [RTPExtensionElement] = [], preferTwoByteExtensions: Bool = false,
        paddingLength: UInt8 = 0, twoByteAppBits: UInt8 = 0
    ) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.extensions = extensions
        self.preferTwoByteExtensions = preferTwoByteExtensions
        self.paddingLength = paddingLength
        self.twoByteAppBits = twoByteAppBits
    }

    /// The element form that will be used: one-byte when every element fits
    /// it (the form every WebRTC peer understands), else two-byte.
    public func extensionForm() throws(RTPError) -> RTPExtensionForm? {
        if extensions.isEmpty { return nil }
        if !preferTwoByteExtensions && extensions.allSatisfy(\.fitsOneByteForm) { return .oneByte }
        guard extensions.allSatisfy(\.fitsTwoByteForm) else { throw .badExtension }
        return .twoByte
    }

    /// Bytes of extension data (elements plus word padding), without the
    /// 4-byte block header.
    func extensionDataLength(_ form: RTPExtensionForm?) -> Int {
        guard let form else { return 0 }
        let raw = extensions.reduce(0) { $0 + $1.data.count + (form == .oneByte ? 1 : 2) }
        return (raw + 3) & ~3
    }

    /// Length of the header this builder writes (fixed, CSRC, extension).
    public func headerLength() throws(RTPError) -> Int {
        let form = try extensionForm()
        return RTPHeader.fixedHeaderLength + 4 * csrcs.count + (form == nil ? 0 : 4 + extensionDataLength(form))
    }

    /// Appends the packet (header, `payload`, padding) to `buffer`.
    public func write(payload: some Collection<UInt8>, into buffer: inout [UInt8]) throws(RTPError) {
        guard payloadType < 128, csrcs.count <= 15 else { throw .invalidField }
        let form = try extensionForm()
        let extensionData = extensionDataLength(form)
        guard extensionData / 4 <= Int(UInt16.max) else { throw .badExtension }

        var b0: UInt8 = 0x80 | UInt8(csrcs.count)
        if paddingLength > 0 { b0 |= 0x20 }
        if form != nil { b0 |= 0x10 }
        buffer.append(b0)
        buffer.append((marker ? 0x80 : 0) | payloadType)
        buffer.appendBE16(sequenceNumber)
        buffer.appendBE32(timestamp)
        buffer.appendBE32(ssrc)
        for csrc in csrcs { buffer.appendBE32(csrc) }

        if let form {
            let profile =
                form == .oneByte
                ? RTPExtensionForm.oneByteProfile
                : RTPExtensionForm.twoByteProfile | UInt16(twoByteAppBits & 0x0F)
            buffer.appendBE16(profile)
            buffer.appendBE16(UInt16(extensionData / 4))
            let start = buffer.count
            for element in extensions {
                switch form {
                case .oneByte:
                    buffer.append(element.id &<< 4 | UInt8(element.data.count - 1))
                case .twoByte:
                    buffer.append(element.id)
                    buffer.append(UInt8(element.data.count))
                }
                buffer.append(contentsOf: element.data)
            }
            buffer.padToWord(from: start)
        }

        buffer.append(contentsOf: payload)
        if paddingLength > 0 {
            for _ in 1..<paddingLength { buffer.append(0) }
            buffer.append(paddingLength)
        }
    }

    /// Builds the packet into a new array.
    public func build(payload: some Collection<UInt8>) throws(RTPError) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(try headerLength() + payload.count + Int(paddingLength))
        try write(payload: payload, into: &buffer)
        return buffer
    }

    /// Reads the fields of an existing packet back into a builder (extension
    /// elements included), e.g. to re-emit a packet with changes.
    public init(parsing packet: [UInt8]) throws(RTPError) {
        let header = try RTPHeader.parse(packet)
        self.init(
            payloadType: header.payloadType, sequenceNumber: header.sequenceNumber,
            timestamp: header.timestamp, ssrc: header.ssrc, marker: header.marker,
            csrcs: header.csrcs(in: packet),
            extensions: header.extensionElements(in: packet).map {
                RTPExtensionElement(id: $0.id, data: Array(packet[$0.offset..<($0.offset + $0.length)]))
            },
            preferTwoByteExtensions: header.extensionForm == .twoByte,
            paddingLength: UInt8(header.paddingLength),
            twoByteAppBits: header.extensionForm == .twoByte ? UInt8(header.extensionProfile & 0x0F) : 0)
    }
}
