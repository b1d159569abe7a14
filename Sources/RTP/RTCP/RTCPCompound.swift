// Compound RTCP packets: several RTCP packets back to back in one datagram.
//
// RFC 3550 §6.1, https://www.rfc-editor.org/rfc/rfc3550#section-6.1
// RFC 5506 (reduced-size RTCP), https://www.rfc-editor.org/rfc/rfc5506#section-3
//
//  if encrypted: random 32-bit integer
//  |
//  |[--------- packet --------][---------- packet ----------][-packet-]
//  |
//  |                receiver            chunk        chunk
//  V                reports           item  item   item  item
//  --------------------------------------------------------------------
//  R[SR #sendinfo #site1#site2][SDES #CNAME PHONE #CNAME LOC][BYE##why]
//  --------------------------------------------------------------------
//  |                                                                  |
//  |<-----------------------  compound packet ----------------------->|
//  |<--------------------------  UDP packet ------------------------->|
//
// Each packet's length field says where the next starts (common header in
// RTCPHeader.swift). The framing is validated strictly, because a wrong
// length desynchronizes everything after it. The "must start with SR/RR"
// rule of RFC 3550 is not enforced: RFC 5506 reduced-size packets (a lone
// PLI or transport-cc) are what browsers send most of the time.

/// One parsed RTCP packet.
public enum RTCPPacket: Sendable, Equatable, Hashable {
    case senderReport(SenderReport)
    case receiverReport(ReceiverReport)
    case sdes(SourceDescription)
    case bye(Goodbye)
    case nack(GenericNACK)
    case pli(PictureLossIndication)
    case fir(FullIntraRequest)
    case remb(REMB)
    case transportCC(TransportCCFeedback)
    /// A packet type or feedback format this module does not decode (APP,
    /// XR, other AFB messages, ...). `count` is the 5-bit RC/SC/FMT field.
    case unknown(type: UInt8, count: UInt8)

    /// Appends the packet. `.unknown` carries no body and writes nothing;
    /// forward unknown packets as raw bytes (see `RTCPCompound.packetRanges`).
    public func serialize(into buffer: inout [UInt8]) {
        switch self {
        case .senderReport(let message): message.serialize(into: &buffer)
        case .receiverReport(let message): message.serialize(into: &buffer)
        case .sdes(let message): message.serialize(into: &buffer)
        case .bye(let message): message.serialize(into: &buffer)
        case .nack(let message): message.serialize(into: &buffer)
        case .pli(let message): message.serialize(into: &buffer)
        case .fir(let message): message.serialize(into: &buffer)
        case .remb(let message): message.serialize(into: &buffer)
        case .transportCC(let message): message.serialize(into: &buffer)
        case .unknown: break
        }
    }
}

public enum RTCPCompound {
    /// Splits a compound packet into the headers and byte ranges of its
    /// packets without decoding them: for forwarding or counting packets
    /// (e.g. passing through types this module does not know).
    public static func packetRanges(_ bytes: Span<UInt8>) throws(RTCPError) -> [(header: RTCPHeader, range: Range<Int>)] {
        var result: [(header: RTCPHeader, range: Range<Int>)] = []
        var offset = 0
        while offset < bytes.count {
            let header = try RTCPHeader.parse(bytes.extracting(offset...))
            result.append((header, offset..<(offset + header.packetLength)))
            offset += header.packetLength
        }
        return result
    }

    public static func packetRanges(_ bytes: [UInt8]) throws(RTCPError) -> [(header: RTCPHeader, range: Range<Int>)] {
        try packetRanges(bytes.span)
    }

    /// Parses every packet of a compound. Any framing error or malformed
    /// packet rejects the whole datagram: after SRTCP authentication such a
    /// packet comes from a buggy peer, and half-applied feedback is harder to
    /// reason about than none. An empty buffer is `truncated`.
    public static func parse(_ bytes: Span<UInt8>) throws(RTCPError) -> [RTCPPacket] {
        guard !bytes.isEmpty else { throw .truncated }
        var packets: [RTCPPacket] = []
        var offset = 0
        while offset < bytes.count {
            let rest = bytes.extracting(offset...)
            let header = try RTCPHeader.parse(rest)
            let packet = rest.extracting(0..<header.packetLength)
            packets.append(try parsePacket(packet, header: header))
            offset += header.packetLength
        }
        return packets
    }

    public static func parse(_ bytes: [UInt8]) throws(RTCPError) -> [RTCPPacket] {
        try parse(bytes.span)
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(RTCPError) -> [RTCPPacket] {
        try unsafe withByteSpan(bytes) { (span) throws(RTCPError) -> [RTCPPacket] in try parse(span) }
    }

    /// Decodes one packet whose header was already read.
    static func parsePacket(_ packet: Span<UInt8>, header: RTCPHeader) throws(RTCPError) -> RTCPPacket {
        switch (header.packetType, header.count) {
        case (RTCPPacketType.senderReport, _):
            return .senderReport(try SenderReport.parse(packet))
        case (RTCPPacketType.receiverReport, _):
            return .receiverReport(try ReceiverReport.parse(packet))
        case (RTCPPacketType.sourceDescription, _):
            return .sdes(try SourceDescription.parse(packet))
        case (RTCPPacketType.goodbye, _):
            return .bye(try Goodbye.parse(packet))
        case (RTCPPacketType.transportFeedback, RTCPFeedbackFormat.genericNACK):
            return .nack(try GenericNACK.parse(packet))
        case (RTCPPacketType.transportFeedback, RTCPFeedbackFormat.transportCC):
            return .transportCC(try TransportCCFeedback.parse(packet))
        case (RTCPPacketType.payloadFeedback, RTCPFeedbackFormat.pictureLoss):
            return .pli(try PictureLossIndication.parse(packet))
        case (RTCPPacketType.payloadFeedback, RTCPFeedbackFormat.fullIntraRequest):
            return .fir(try FullIntraRequest.parse(packet))
        case (RTCPPacketType.payloadFeedback, RTCPFeedbackFormat.applicationLayer) where REMB.matches(packet):
            return .remb(try REMB.parse(packet))
        default:
            return .unknown(type: header.packetType, count: header.count)
        }
    }

    /// Appends every packet; the result is a valid compound as long as the
    /// caller put an SR or RR first where RFC 3550 requires it.
    public static func serialize(_ packets: [RTCPPacket], into buffer: inout [UInt8]) {
        for packet in packets { packet.serialize(into: &buffer) }
    }

    public static func serialize(_ packets: [RTCPPacket]) -> [UInt8] {
        var buffer: [UInt8] = []
        serialize(packets, into: &buffer)
        return buffer
    }
}
