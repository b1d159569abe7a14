/// Speech activity of one audio stream from the RFC 6464 levels its sender
/// puts in every packet, without decoding anything: what an SFU room uses for
/// `participantSpeaking` and `dominantSpeakerChanged` (docs/room-protocol.md).
///
/// The level is smoothed per packet with a fast attack and a slow release (the
/// mixer's constants, so a room reports alike in every mode). Speaking starts
/// when the smoothed level reaches `startDBov`; it stops once it has stayed
/// below `stopDBov` for `hangoverMillis`, or when packets stop coming for
/// `silenceAfterMillis` (DTX, a muted track, a peer gone). Pure: time is an
/// argument.
public struct SpeakingDetector: Sendable {
    public struct Settings: Sendable {
        public var startDBov = -50.0
        public var stopDBov = -60.0
        public var hangoverMillis: Int64 = 800
        public var silenceAfterMillis: Int64 = 500
        /// Fraction of the difference taken per packet when the level rises / falls:
        /// the mixer's own per-tick smoothing (one packet is one 20 ms tick).
        public var attack = AudioMixerConfiguration().levelAttack
        public var release = AudioMixerConfiguration().levelRelease
        public init() {}
    }

    public let settings: Settings
    /// Smoothed level in dBov (-127 silence ... 0 loudest).
    public private(set) var level = -127.0
    public private(set) var speaking = false
    private var quietSince: Int64?
    private var lastPacket: Int64?

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// One packet's RFC 6464 level (0 = 0 dBov ... 127 = -127 dBov) arrived at
    /// `nowMillis`. Returns true when `speaking` changed.
    public mutating func packet(level raw: UInt8, nowMillis: Int64) -> Bool {
        lastPacket = nowMillis
        let x = -Double(min(raw, 127))
        level += (x > level ? settings.attack : settings.release) * (x - level)
        if speaking {
            if level >= settings.stopDBov {
                quietSince = nil
                return false
            }
            let since = quietSince ?? nowMillis
            quietSince = since
            guard nowMillis - since >= settings.hangoverMillis else { return false }
            speaking = false
            quietSince = nil
            return true
        }
        guard level >= settings.startDBov else { return false }
        speaking = true
        quietSince = nil
        return true
    }

    /// Time passes: a stream that stopped sending is silent. Returns true when
    /// `speaking` changed.
    public mutating func tick(nowMillis: Int64) -> Bool {
        guard let last = lastPacket, nowMillis - last >= settings.silenceAfterMillis else { return false }
        level = -127
        lastPacket = nil
        quietSince = nil
        guard speaking else { return false }
        speaking = false
        return true
    }
}
