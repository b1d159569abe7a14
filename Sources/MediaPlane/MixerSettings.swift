public import Mixer

/// Server-wide defaults of every Composite (the `mixer.*` config keys). A
/// Composite's constructor may still set its own canvas size and frame rate.
public struct MixerSettings: Sendable, Equatable {
    public var width = 1280
    public var height = 720
    public var fps = 30
    public var videoBitrate = 1_500_000
    public var audioBitrate = 32_000
    /// Loudest speakers mixed into the audio (the rest are not decoded).
    public var maxSpeakers = 3
    /// Threads of each composite's VP8 encoder.
    public var encoderThreads = 1
    /// libvpx realtime speed (negative = fixed speed, DESIGN.md).
    public var cpuUsed = -8
    /// Canvas background, as 0xRRGGBB.
    public var background: UInt32 = 0x101010
    /// Lower qualities encoded beside the main one (`mixer.qualities`); empty: one quality.
    public var qualities: [VideoQuality] = []

    public init() {}

    /// Adds a quality written `WxH@kbps`; false when it is not one.
    public mutating func addQuality(_ text: String) -> Bool {
        guard let q = VideoQuality(text) else { return false }
        qualities.append(q)
        return true
    }

    package func audioConfiguration() -> AudioMixerConfiguration {
        var c = AudioMixerConfiguration()
        c.maxSpeakers = maxSpeakers
        c.bitrate = audioBitrate
        return c
    }

    package func videoConfiguration(width: Int?, height: Int?, fps: Int?) -> VideoCompositorConfiguration {
        var c = VideoCompositorConfiguration()
        // I420 needs even dimensions.
        c.width = (width ?? self.width) & ~1
        c.height = (height ?? self.height) & ~1
        c.fps = fps ?? self.fps
        c.bitrate = videoBitrate
        c.threads = encoderThreads
        c.cpuUsed = cpuUsed
        // Only qualities smaller than the canvas.
        c.extraQualities = qualities.filter { $0.width < c.width && $0.height <= c.height || $0.height < c.height && $0.width <= c.width }
        c.background = YUVColor(
            red: UInt8(background >> 16 & 0xFF), green: UInt8(background >> 8 & 0xFF), blue: UInt8(background & 0xFF))
        return c
    }
}
