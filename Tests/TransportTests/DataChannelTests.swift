import Foundation
import Testing
@testable import Transport

/// DCEP (RFC 8832) parsing. The association itself is tested end to end
/// against aiortc (test_datachannel.py): two associations in one usrsctp
/// stack, each connected to its own AF_CONN address, do not find each other.
@Suite(.serialized) struct DataChannelTests {
    @Test func dcepOpenAndAckRoundTrip() {
        let open = DCEPMessage.open(channelType: 0x81, priority: 256, reliabilityParameter: 3, label: "chat ✓", protocol: "json")
        #expect(DCEPMessage(open.bytes) == open)
        #expect(DCEPMessage(DCEPMessage.ack.bytes) == .ack)
        // Truncated, lying lengths, unknown types: nil, never a crash.
        let bytes = open.bytes
        for n in 0..<bytes.count where DCEPMessage(Array(bytes[0..<n])) != nil && n > 1 {
            Issue.record("a truncated OPEN of \(n) bytes parsed")
        }
        #expect(DCEPMessage([0x03, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]) == nil)
        #expect(DCEPMessage([0x07]) == nil && DCEPMessage([]) == nil)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var b = bytes
            for _ in 0..<3 { b[Int.random(in: 0..<b.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = DCEPMessage(Array(b.prefix(Int.random(in: 0...b.count, using: &generator))))
        }
    }

    @Test func channelTypesMapToReliability() {
        let cases: [(Bool, SCTPAssociation.Reliability)] = [
            (true, .reliable), (false, .reliable), (true, .maxRetransmits(2)), (false, .maxLifetime(milliseconds: 500)),
        ]
        for (ordered, reliability) in cases {
            let (type, parameter) = DCEPMessage.channelType(ordered: ordered, reliability: reliability)
            let back = DCEPMessage.reliability(channelType: type, parameter: parameter)
            #expect(back.ordered == ordered && back.1 == reliability)
        }
    }
}
