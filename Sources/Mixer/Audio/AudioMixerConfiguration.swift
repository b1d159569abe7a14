/// Settings of an `AudioMixer` (docs/mixer.md). The first block is the
/// contract; the rest tunes speaker selection and the jitter buffers.
public struct AudioMixerConfiguration: Sendable {
    /// K: the loudest inputs mixed.
    public var maxSpeakers = 3
    /// Jitter buffer target, in 20 ms ticks: playout of an input starts this
    /// many ticks after its first packet.
    public var playoutDelayTicks = 2
    /// Opus output, bits/s.
    public var bitrate = 32_000
    public var complexity = 5
    /// Of the RTP packets produced.
    public var payloadType: UInt8 = 111
    /// In-band FEC in the output (and used to repair lost input packets,
    /// which is always attempted when the next packet is at hand).
    public var fec = true
    public var dtx = false
    /// Output channels (1 or 2). Inputs are decoded to the same count.
    public var channels = 1

    /// A frame whose RFC 6464 level (in -dBov) is this or higher, or whose
    /// measured level is this quiet, is silent: not decoded (with the header)
    /// and never selected as a speaker.
    public var silenceLevel: UInt8 = 80
    /// A challenger must be this many dB louder (smoothed) than the weakest
    /// mixed speaker, or than the dominant speaker ...
    public var switchMarginDB = 6.0
    /// ... for this many consecutive ticks before it takes its place.
    public var switchHoldTicks = 10
    /// Smoothing of the per-port level: fraction of the difference taken
    /// per tick when the level rises and when it falls.
    public var levelAttack = 0.3
    public var levelRelease = 0.05
    /// Packets held per input (the reorder window), 20 ms each.
    public var jitterSlots = 16
    /// Largest Opus payload accepted, in bytes.
    public var maxPayloadBytes = 1_276
    /// Ticks of concealment when an input's packets stop coming (underrun)
    /// before it is treated as silent.
    public var maxConcealTicks = 5
    /// An input that sent nothing for this long starts over (playout delay again).
    public var idleResetMillis: Int64 = 1_000
    /// Expected loss announced to the encoders when `fec` is on (FEC needs it above 0).
    public var packetLossPercent = 10
    /// Seed of the SSRCs of the produced streams (nil: random). Tests set it.
    public var ssrcSeed: UInt64? = nil

    public init() {}
}

/// The output of one 20 ms tick (docs/mixer.md). The mixer keeps and reuses
/// this storage: drop the returned value (or copy out what you keep) before
/// the next tick, or the next tick has to copy it.
public struct AudioTick {
    /// Complete RTP packets, one per distinct stream: index 0 is the shared
    /// mix (every port not in the mix), then one "mix minus me" per mixed speaker.
    public var packets: [[UInt8]]
    /// Port id -> index into `packets`.
    public var route: [Int: Int]

    public init(packets: [[UInt8]] = [], route: [Int: Int] = [:]) {
        self.packets = packets
        self.route = route
    }
}

/// Counters of one input port, for tests and metrics.
public struct AudioPortStats: Sendable, Equatable {
    /// Packets accepted into the jitter buffer.
    public var received = 0
    /// Frames decoded from a packet.
    public var decoded = 0
    /// Frames rebuilt from the next packet's FEC data.
    public var fecRecovered = 0
    /// Frames concealed by PLC (loss or underrun).
    public var concealed = 0
    /// Frames taken from the buffer and not decoded because the level header said silent.
    public var skippedSilent = 0
    public var dropsLate = 0
    public var dropsDuplicate = 0
    public var dropsMalformed = 0
    /// Restarts: SSRC change, a big sequence jump, or a long pause.
    public var resets = 0
    /// Sequence number (extended) of the last packet played, if any.
    public var lastPlayedSequence: Int64? = nil

    public init() {}
}
