// Video bandwidth limits of one endpoint (Kurento's BaseRtpEndpoint
// min/maxVideoRecvBandwidth and min/maxVideoSendBandwidth) and how they
// bound the REMB (draft-alvestrand-rmcat-remb) of forwarded media.
//
//   viewer V1 REMB --clamp(V1 send limits)--+
//   viewer V2 REMB --clamp(V2 send limits)--+--> min --clamp(P recv limits)--> REMB to publisher P
//   (no viewer estimate: the ceiling)-------+
//
// Forwarding never re-encodes, so the only lever is what we ask the
// publisher for; docs/decisions.md explains the choice.

/// Limits in kbit/s, as the Kurento API sets them; 0 means "no limit" for
/// the maxima and "no floor" for the minima.
public struct VideoBandwidthLimits: Sendable, Equatable {
    public var minRecvKbps: Int = 0
    public var maxRecvKbps: Int = 0
    /// Kurento's defaults: 100 and 500 kbit/s.
    public var minSendKbps: Int = 100
    public var maxSendKbps: Int = 500 {
        didSet { maxSendSet = true }
    }
    /// The client set `maxSendKbps` (simulcast layer choice ignores the default, docs/simulcast.md).
    public private(set) var maxSendSet = false

    /// Kurento never asks for less than 30 kbit/s, whatever minRecv says.
    public static let recvFloorKbps = 30

    public init(minRecvKbps: Int = 0, maxRecvKbps: Int = 0, minSendKbps: Int = 100, maxSendKbps: Int = 500) {
        self.minRecvKbps = minRecvKbps
        self.maxRecvKbps = maxRecvKbps
        self.minSendKbps = minSendKbps
        self.maxSendKbps = maxSendKbps
        self.maxSendSet = maxSendKbps != 500
    }

    /// `bps` within [min, max] kbit/s; a zero bound is absent, and when both
    /// are set but cross, the maximum wins.
    static func clamp(_ bps: UInt64, minKbps: Int, maxKbps: Int) -> UInt64 {
        var value = bps
        if minKbps > 0 { value = Swift.max(value, UInt64(minKbps) * 1000) }
        if maxKbps > 0 { value = Swift.min(value, UInt64(maxKbps) * 1000) }
        return value
    }

    /// What a viewer's estimate (its REMB, in bit/s) counts for in the
    /// aggregation towards the publisher: bounded by this (the viewer's)
    /// endpoint's send limits.
    public func viewerEstimate(_ bps: UInt64) -> UInt64 {
        Self.clamp(bps, minKbps: minSendKbps, maxKbps: maxSendKbps)
    }

    /// The REMB this (the publisher's) endpoint sends for `estimate`:
    /// bounded by its receive limits, never below 30 kbit/s.
    public func publisherREMB(_ estimate: UInt64) -> UInt64 {
        Self.clamp(estimate, minKbps: Swift.max(minRecvKbps, Self.recvFloorKbps), maxKbps: maxRecvKbps)
    }

    /// The slowest viewer decides; with no viewer estimate, `ceiling` (the
    /// viewers' own send limits bound them, so the ceiling does not).
    public static func aggregate(_ viewerEstimates: [UInt64], ceiling: UInt64) -> UInt64 {
        viewerEstimates.min() ?? ceiling
    }
}

/// Kurento's RembParams register. Tessera has no loss-based REMB controller,
/// so only `rembOnConnect` is applied (see docs/decisions.md); the others are
/// kept so that a client reads back what it set.
public struct REMBParameters: Sendable, Equatable {
    public var packetsRecvIntervalTop: Int = 100
    public var exponentialFactor: Double = 0.04
    public var linealFactorMin: Int? = nil
    public var linealFactorGrade: Double = 30
    public var decrementFactor: Double = 0.5
    public var thresholdFactor: Double = 0.8
    public var upLosses: Int = 12
    /// bit/s counted for a newly connected viewer until its first REMB arrives.
    public var rembOnConnect: Int = 300_000

    public init() {}
}
