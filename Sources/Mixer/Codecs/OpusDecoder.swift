import COpus

/// Owns one libopus decoder (48 kHz, mono or stereo output; a stereo stream
/// decoded by a mono decoder is downmixed by libopus). Not thread-safe.
public final class OpusDecoder {
    public let channels: Int
    private let handle: OpaquePointer

    public init(channels: Int = 1) throws(OpusError) {
        precondition(channels == 1 || channels == 2, "Opus decoder: 1 or 2 channels")
        var error: Int32 = 0
        guard let handle = opus_decoder_create(Int32(Opus.sampleRate), Int32(channels), &error), error == OPUS_OK
        else { throw OpusError(code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error) }
        self.handle = handle
        self.channels = channels
    }

    deinit { opus_decoder_destroy(handle) }

    /// Forgets all history (use after a gap the decoder did not see, or a new stream).
    public func reset() {
        _ = tessera_opus_decoder_reset(handle)
    }

    /// Decodes one packet into `output` (interleaved, room for
    /// `samplesPerChannel * channels` samples). `packet` nil (or empty) runs
    /// packet loss concealment for `samplesPerChannel` samples. With `fec`,
    /// `packet` is the packet *after* the lost one and the lost frame is
    /// rebuilt from its in-band FEC data (PLC when it carries none).
    /// Returns the samples per channel written. Allocates nothing.
    public func decode(
        _ packet: UnsafeRawBufferPointer?, into output: UnsafeMutablePointer<Int16>,
        samplesPerChannel: Int = Opus.samplesPerFrame, fec: Bool = false
    ) throws(OpusError) -> Int {
        let bytes = packet.flatMap { $0.count > 0 ? $0.baseAddress : nil }
        let count = bytes == nil ? 0 : Int32(packet!.count)
        let result = opus_decode(
            handle, bytes?.assumingMemoryBound(to: UInt8.self), count, output, Int32(samplesPerChannel),
            fec ? 1 : 0)
        try OpusError.check(result)
        return Int(result)
    }

    /// Convenience for tests and tools: decodes one packet (nil: conceal one 20 ms frame).
    public func decode(_ packet: [UInt8]?, fec: Bool = false) throws(OpusError) -> [Int16] {
        var pcm = [Int16](repeating: 0, count: Opus.samplesPerFrame * channels)
        let written = try pcm.withUnsafeMutableBufferPointer { (out) throws(OpusError) -> Int in
            if let packet {
                return try packet.withUnsafeBufferPointer { (bytes) throws(OpusError) -> Int in
                    try decode(UnsafeRawBufferPointer(bytes), into: out.baseAddress!, fec: fec)
                }
            }
            return try decode(nil, into: out.baseAddress!, fec: fec)
        }
        pcm.removeLast(pcm.count - written * channels)
        return pcm
    }
}
