// Source description (SDES).
//
// RFC 3550 §6.5, https://www.rfc-editor.org/rfc/rfc3550#section-6.5
//
//         0                   1                   2                   3
//         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// header |V=2|P|    SC   |  PT=SDES=202  |             length            |
//        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// chunk  |                          SSRC/CSRC_1                          |
//   1    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |                           SDES items                          |
//        |                              ...                              |
//        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
// chunk  |                          SSRC/CSRC_2                          |
//   2    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//        |                           SDES items                          |
//        |                              ...                              |
//        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//
// Each item (RFC 3550 §6.5.1):
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |    CNAME=1    |     length    | user and domain name        ...
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A chunk's item list ends with one or more zero bytes (an item of type 0)
// that also pad the chunk to the next 32-bit boundary; so a chunk whose items
// end exactly on a boundary still needs a whole word of zeros.

public struct SourceDescription: RTCPMessage, Hashable {
    /// One SDES item: a type and up to 255 bytes of (normally UTF-8) text.
    public struct Item: Sendable, Equatable, Hashable {
        public var type: UInt8
        public var text: [UInt8]

        public init(type: UInt8, text: [UInt8]) {
            self.type = type
            self.text = text
        }

        public init(type: UInt8, string: String) {
            self.init(type: type, text: Array(string.utf8))
        }

        /// The text decoded as UTF-8 (invalid sequences become U+FFFD).
        public var string: String { String(decoding: text, as: UTF8.self) }

        // Item types of RFC 3550 §6.5.
        public static let cname: UInt8 = 1
        public static let name: UInt8 = 2
        public static let email: UInt8 = 3
        public static let phone: UInt8 = 4
        public static let location: UInt8 = 5
        public static let tool: UInt8 = 6
        public static let note: UInt8 = 7
        public static let privateExtension: UInt8 = 8
    }

    /// The items describing one source.
    public struct Chunk: Sendable, Equatable, Hashable {
        public var source: UInt32
        public var items: [Item]

        public init(source: UInt32, items: [Item]) {
            self.source = source
            self.items = items
        }
    }

    public var chunks: [Chunk]

    public init(chunks: [Chunk]) {
        self.chunks = chunks
    }

    /// The usual WebRTC SDES: a single chunk with the CNAME.
    public init(source: UInt32, cname: String) {
        self.init(chunks: [Chunk(source: source, items: [Item(type: Item.cname, string: cname)])])
    }

    /// The CNAME given for `source`, if any.
    public func cname(of source: UInt32) -> String? {
        chunks.first { $0.source == source }?.items.first { $0.type == Item.cname }?.string
    }

    public static func parse(_ packet: Span<UInt8>) throws(RTCPError) -> SourceDescription {
        let bounds = try RTCPPacketBounds.open(packet, type: RTCPPacketType.sourceDescription)
        let end = bounds.end
        var chunks: [Chunk] = []
        chunks.reserveCapacity(Int(bounds.header.count))
        var offset = RTCPHeader.size
        for _ in 0..<bounds.header.count {
            guard offset + 4 <= end else { throw .malformed }
            var chunk = Chunk(source: packet.be32(offset), items: [])
            offset += 4
            while true {
                guard offset < end else { throw .malformed }  // no terminating zero byte
                let type = packet[offset]
                if type == 0 {
                    // Skip the terminator and the zeros up to the next word.
                    offset = min((offset + 1 + 3) & ~3, end)
                    break
                }
                guard offset + 2 <= end else { throw .malformed }
                let length = Int(packet[offset + 1])
                guard offset + 2 + length <= end else { throw .malformed }
                chunk.items.append(Item(type: type, text: packet.copyBytes(offset + 2, length)))
                offset += 2 + length
            }
            chunks.append(chunk)
        }
        return SourceDescription(chunks: chunks)
    }

    /// Appends the SDES. At most 31 chunks fit the SC field and item text is
    /// cut to 255 bytes: both are limits of the wire format.
    public func serialize(into buffer: inout [UInt8]) {
        let written = chunks.prefix(31)
        let start = beginPacket(count: UInt8(written.count), type: RTCPPacketType.sourceDescription, into: &buffer)
        for chunk in written {
            let chunkStart = buffer.count
            buffer.appendBE32(chunk.source)
            for item in chunk.items where item.type != 0 {
                let text = item.text.prefix(255)
                buffer.append(item.type)
                buffer.append(UInt8(text.count))
                buffer.append(contentsOf: text)
            }
            buffer.append(0)  // terminator; padToWord adds the rest
            buffer.padToWord(from: chunkStart)
        }
        finishPacket(startingAt: start, in: &buffer)
    }
}
