/// What a node reports for `getStats`, as plain values: the Kurento object
/// model turns them into its Stats registers.
package struct NodeStats: Sendable {
    /// An endpoint (it has RTP streams of its own), not a plain element.
    package var isEndpoint = false
    package var inbound: [InboundStreamStats] = []
    package var outbound: [OutboundStreamStats] = []
    /// Open data channels (WebRtcEndpoint with useDataChannels).
    package var dataChannels: [DataChannelStats] = []

    package init() {}
}

/// One data channel's counters (Kurento's RTCDataChannelStats).
package struct DataChannelStats: Sendable {
    package var id: UInt16
    package var label: String
    package var `protocol`: String
    package var state: String
    package var messagesSent: UInt64
    package var bytesSent: UInt64
    package var messagesReceived: UInt64
    package var bytesReceived: UInt64
}

/// One RTP stream we receive.
package struct InboundStreamStats: Sendable {
    package var kind: MediaKindKey
    package var ssrc: UInt32
    package var packetsReceived: UInt64
    package var bytesReceived: UInt64
    package var packetsLost: Int64
    /// Since the last report we sent, 0...1.
    package var fractionLost: Double
    /// Interarrival jitter, in seconds.
    package var jitter: Double
    /// Feedback we sent about this stream (video only).
    package var plisSent: UInt64 = 0
    package var nacksSent: UInt64 = 0
    /// Our last REMB estimate, in bit/s (video only).
    package var rembSent: UInt64 = 0
    package var transportFeedbackSent: UInt64 = 0
    /// Retransmitted copies of packets we already had, not passed on (video only).
    package var packetsDuplicated: UInt64 = 0
    /// Simulcast layers: the rid, the picture size of its last keyframe and its bitrate.
    package var rid: String? = nil
    package var width = 0
    package var height = 0
    package var bitrate: UInt64 = 0
    /// Simulcast layer: VP8 temporal layers seen in it (0: its packets carry no TID).
    package var temporalLayers = 0
}

/// One RTP stream we send.
package struct OutboundStreamStats: Sendable {
    package var kind: MediaKindKey
    package var ssrc: UInt32
    package var packetsSent: UInt64
    package var bytesSent: UInt64
    /// Feedback the receiver sent us (video only).
    package var firsReceived: UInt64 = 0
    package var plisReceived: UInt64 = 0
    package var nacksReceived: UInt64 = 0
    /// The receiver's last REMB estimate, in bit/s.
    package var remb: UInt64
    /// From the receiver's reports.
    package var packetsLost: Int64
    package var fractionLost: Double
    /// Seconds; 0 until a report with a delay came back.
    package var roundTripTime: Double
    /// Resends answering NACKs, and how many of them as RTX (video only).
    package var retransmitted: UInt64 = 0
    package var rtxSent: UInt64 = 0
    /// What we estimate the peer can take (video; simulcast layer choice), 0 when unknown.
    package var targetBitrate: UInt64 = 0
    /// Simulcast layer switches done for this viewer.
    package var layerSwitches = 0
    /// The temporal cap this consumer forwards under (3: none) and the packets it left out.
    package var temporalLayerCap = 3
    package var temporalDropped: UInt64 = 0
    /// Send-side estimation (video; transport-cc): feedback messages taken,
    /// overuse episodes the delay detector saw, and the estimate cuts they made.
    package var transportFeedbackReceived: UInt64 = 0
    package var delayOveruses: UInt64 = 0
    package var delayDecreases: UInt64 = 0
    /// Video packets the pacer held back, and the longest any waited (seconds).
    package var pacedPackets: UInt64 = 0
    package var pacerLongestWait: Double = 0
}
