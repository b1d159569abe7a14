// Receive side of transport-wide congestion control: remembering when each
// packet with a transport-wide sequence number arrived, and turning that into
// feedback every ~100 ms.
//
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3 (the feedback) and
// §2 (the header extension: one 16-bit sequence number across all media).
//
// Each feedback covers the packets from the first one not yet reported up to
// the highest seen, with nil for the gaps; packets arriving after their range
// was reported are left out (the sender has already counted them lost, as
// libwebrtc's receiver also does for late packets beyond its window).

public struct TransportCCRecorder: Sendable {
    private var unwrapper = SequenceUnwrapper()
    /// Arrival time (µs) by unwrapped sequence number, for the unreported range.
    private var arrivals: [Int64: Int64] = [:]
    /// First unwrapped sequence number the next feedback starts at.
    private var nextBase: Int64?
    private var highest: Int64?
    private var feedbackCount: UInt8 = 0
    /// Most packets one feedback describes; older ones are skipped (reported lost).
    public static let maxPacketsPerFeedback: Int64 = 2000

    public init() {}

    /// Notes one packet's transport-wide sequence number and arrival time.
    public mutating func received(sequenceNumber: UInt16, arrivalMicroseconds: Int64) {
        let seq = unwrapper.unwrap(sequenceNumber)
        if let base = nextBase, seq < base { return }  // already reported
        if nextBase == nil { nextBase = seq }
        if arrivals[seq] == nil { arrivals[seq] = arrivalMicroseconds }
        if highest.map({ seq > $0 }) ?? true { highest = seq }
    }

    /// Feedback for everything since the last one, or nil when nothing new arrived.
    public mutating func makeFeedback(senderSSRC: UInt32, mediaSSRC: UInt32) -> TransportCCFeedback? {
        guard var base = nextBase, let top = highest, top >= base else { return nil }
        if top - base + 1 > Self.maxPacketsPerFeedback { base = top - Self.maxPacketsPerFeedback + 1 }
        let times: [Int64?] = (base...top).map { arrivals[$0] }
        arrivals = arrivals.filter { $0.key > top }
        nextBase = top + 1
        let count = feedbackCount
        feedbackCount &+= 1
        // A gap beyond what a delta can carry (a stall of over 8 s): report only the tail after it.
        var start = 0
        while start < times.count {
            let slice = Array(times[start...])
            if let feedback = try? TransportCCFeedback.build(
                senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, feedbackPacketCount: count,
                baseSequenceNumber: UInt16(truncatingIfNeeded: base + Int64(start)), arrivalTimes: slice)
            {
                return feedback
            }
            start += 1
            while start < times.count, times[start] == nil { start += 1 }
        }
        return nil
    }
}
