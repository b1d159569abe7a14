import COpus

/// Owns one libopus encoder (48 kHz, mono or stereo, 20 ms frames by default).
/// Not thread-safe: one owner drives it.
public final class OpusEncoder {
    public enum Application: Sendable {
        /// `OPUS_APPLICATION_VOIP`: speech, the WebRTC default.
        case voip
        /// `OPUS_APPLICATION_AUDIO`: music and mixes that need fidelity.
        case audio
        /// `OPUS_APPLICATION_RESTRICTED_LOWDELAY`: CELT only.
        case lowDelay

        var code: Int32 {
            switch self {
            case .voip: OPUS_APPLICATION_VOIP
            case .audio: OPUS_APPLICATION_AUDIO
            case .lowDelay: OPUS_APPLICATION_RESTRICTED_LOWDELAY
            }
        }
    }

    public enum Signal: Sendable {
        case auto, voice, music

        var code: Int32 {
            switch self {
            case .auto: tessera_opus_auto()
            case .voice: tessera_opus_signal_voice()
            case .music: tessera_opus_signal_music()
            }
        }
    }

    public let channels: Int
    private let handle: OpaquePointer

    public init(
        channels: Int = 1, application: Application = .voip, bitrate: Int = 32_000, complexity: Int = 5,
        fec: Bool = false, dtx: Bool = false, packetLossPercent: Int = 0
    ) throws(OpusError) {
        precondition(channels == 1 || channels == 2, "Opus encoder: 1 or 2 channels")
        var error: Int32 = 0
        guard let handle = opus_encoder_create(Int32(Opus.sampleRate), Int32(channels), application.code, &error),
            error == OPUS_OK
        else { throw OpusError(code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error) }
        self.handle = handle
        self.channels = channels
        try setBitrate(bitrate)
        try setComplexity(complexity)
        try setFEC(fec)
        try setDTX(dtx)
        try setPacketLossPercent(packetLossPercent)
    }

    deinit { opus_encoder_destroy(handle) }

    public func setBitrate(_ bitsPerSecond: Int) throws(OpusError) {
        try OpusError.check(tessera_opus_set_bitrate(handle, Int32(bitsPerSecond)))
    }

    public func setComplexity(_ complexity: Int) throws(OpusError) {
        try OpusError.check(tessera_opus_set_complexity(handle, Int32(complexity)))
    }

    /// In-band FEC (LBRR): each packet also carries a coarse copy of the previous frame.
    public func setFEC(_ on: Bool) throws(OpusError) {
        try OpusError.check(tessera_opus_set_inband_fec(handle, on ? 1 : 0))
    }

    /// Discontinuous transmission: near-silent frames become 1-2 byte packets.
    public func setDTX(_ on: Bool) throws(OpusError) {
        try OpusError.check(tessera_opus_set_dtx(handle, on ? 1 : 0))
    }

    /// Expected loss; FEC is only produced when this is above 0.
    public func setPacketLossPercent(_ percent: Int) throws(OpusError) {
        try OpusError.check(tessera_opus_set_packet_loss_perc(handle, Int32(percent)))
    }

    public func setSignal(_ signal: Signal) throws(OpusError) {
        try OpusError.check(tessera_opus_set_signal(handle, signal.code))
    }

    public func setVBR(_ on: Bool) throws(OpusError) {
        try OpusError.check(tessera_opus_set_vbr(handle, on ? 1 : 0))
    }

    /// Forgets all history, as if newly created (settings are kept).
    public func reset() {
        _ = tessera_opus_encoder_reset(handle)
    }

    /// Encodes one frame of interleaved PCM (`samplesPerChannel * channels`
    /// samples; 960 per channel for 20 ms) into `output`. Returns the packet
    /// length in bytes. Allocates nothing.
    public func encode(
        _ pcm: UnsafePointer<Int16>, samplesPerChannel: Int = Opus.samplesPerFrame,
        into output: UnsafeMutableRawBufferPointer
    ) throws(OpusError) -> Int {
        guard let base = output.baseAddress else { throw OpusError(code: OPUS_BUFFER_TOO_SMALL) }
        let result = opus_encode(
            handle, pcm, Int32(samplesPerChannel), base.assumingMemoryBound(to: UInt8.self),
            Int32(min(output.count, Int(Int32.max))))
        try OpusError.check(result)
        return Int(result)
    }

    /// Convenience for tests and tools: encodes one frame into a new array.
    public func encode(_ pcm: [Int16]) throws(OpusError) -> [UInt8] {
        precondition(pcm.count % channels == 0)
        var packet = [UInt8](repeating: 0, count: Opus.maxPacketBytes)
        let length = try pcm.withUnsafeBufferPointer { (samples) throws(OpusError) -> Int in
            try packet.withUnsafeMutableBufferPointer { (bytes) throws(OpusError) -> Int in
                try encode(
                    samples.baseAddress!, samplesPerChannel: samples.count / channels,
                    into: UnsafeMutableRawBufferPointer(bytes))
            }
        }
        packet.removeLast(packet.count - length)
        return packet
    }
}
