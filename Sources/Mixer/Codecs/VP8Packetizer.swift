// VP8 over RTP, sender side (RFC 7741 §4).
//
// Every packet carries a 4-byte payload descriptor:
//
//       0 1 2 3 4 5 6 7
//      +-+-+-+-+-+-+-+-+
//      |1|0|0|S|0|0 0 0|   X=1, S=1 on the first packet of the frame, PID=0
//      +-+-+-+-+-+-+-+-+
//      |1|0|0|0|0 0 0 0|   I=1: a PictureID follows
//      +-+-+-+-+-+-+-+-+
//      |1| PictureID   |   M=1: 15-bit PictureID, one per frame
//      +-+-+-+-+-+-+-+-+
//      |   PictureID   |
//      +-+-+-+-+-+-+-+-+
//
// The frame is split into packets of nearly equal size, each payload (the
// descriptor included) at most `mtu` bytes; the marker bit is set on the
// last packet. All packets of a frame share its 90 kHz timestamp.

import RTP

public struct VP8Packetizer: Sendable {
    public var ssrc: UInt32
    public var payloadType: UInt8
    /// Largest RTP payload produced (descriptor included).
    public var mtu: Int
    public private(set) var sequenceNumber: UInt16
    public private(set) var pictureID: UInt16

    public static let descriptorLength = 4

    public init(ssrc: UInt32, payloadType: UInt8, mtu: Int = 1_200, sequenceNumber: UInt16 = 0, pictureID: UInt16 = 0) {
        precondition(mtu > Self.descriptorLength, "mtu too small")
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.mtu = mtu
        self.sequenceNumber = sequenceNumber
        self.pictureID = pictureID & 0x7FFF
    }

    /// Number of packets a frame of `size` bytes takes.
    public func packetCount(frameSize size: Int) -> Int {
        let room = mtu - Self.descriptorLength
        return max(1, (size + room - 1) / room)
    }

    /// Appends the RTP packets of one encoded frame to `packets`.
    public mutating func packetize(
        _ frame: UnsafeRawBufferPointer, timestamp: UInt32, into packets: inout [[UInt8]]
    ) {
        guard frame.count > 0 else { return }
        let count = packetCount(frameSize: frame.count)
        // Equal split: the first `extra` packets carry one byte more.
        let base = frame.count / count, extra = frame.count % count
        var offset = 0
        for index in 0..<count {
            let length = base + (index < extra ? 1 : 0)
            var packet: [UInt8] = []
            packet.reserveCapacity(RTPHeader.fixedHeaderLength + Self.descriptorLength + length)
            let last = index == count - 1
            packet.append(0x80)
            packet.append((last ? 0x80 : 0) | (payloadType & 0x7F))
            packet.append(UInt8(truncatingIfNeeded: sequenceNumber >> 8))
            packet.append(UInt8(truncatingIfNeeded: sequenceNumber))
            appendBE32(timestamp, to: &packet)
            appendBE32(ssrc, to: &packet)
            packet.append(index == 0 ? 0x90 : 0x80)
            packet.append(0x80)
            packet.append(0x80 | UInt8(truncatingIfNeeded: pictureID >> 8))
            packet.append(UInt8(truncatingIfNeeded: pictureID))
            packet.append(contentsOf: UnsafeRawBufferPointer(rebasing: frame[offset..<(offset + length)]))
            offset += length
            sequenceNumber &+= 1
            packets.append(packet)
        }
        pictureID = (pictureID &+ 1) & 0x7FFF
    }

    public mutating func packetize(_ frame: [UInt8], timestamp: UInt32, into packets: inout [[UInt8]]) {
        frame.withUnsafeBytes { packetize($0, timestamp: timestamp, into: &packets) }
    }

    /// The packets of one frame, in a new array.
    public mutating func packetize(_ frame: [UInt8], timestamp: UInt32) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        packetize(frame, timestamp: timestamp, into: &packets)
        return packets
    }

    private func appendBE32(_ value: UInt32, to packet: inout [UInt8]) {
        packet.append(UInt8(truncatingIfNeeded: value >> 24))
        packet.append(UInt8(truncatingIfNeeded: value >> 16))
        packet.append(UInt8(truncatingIfNeeded: value >> 8))
        packet.append(UInt8(truncatingIfNeeded: value))
    }
}
