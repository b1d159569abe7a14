// The VP8 encoder (libvpx), set up for real-time conferencing: one pass,
// realtime deadline, CBR, error resilient, no lag, fixed speed.

public import CVPX

public enum VP8Error: Error, Sendable, Equatable {
    case initFailed(Int32)
    case configFailed(Int32)
    case encodeFailed(Int32)
    case wrongFrameSize
}

/// The libvpx settings a configuration stands for, in one place for the
/// encoder and for the benchmark floor that calls libvpx directly.
extension VP8EncoderConfiguration {
    public func libvpxConfig() throws(VP8Error) -> vpx_codec_enc_cfg_t {
        var config = vpx_codec_enc_cfg_t()
        let status = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &config, 0)
        guard status == VPX_CODEC_OK else { throw .configFailed(Int32(status.rawValue)) }
        config.g_w = UInt32(width)
        config.g_h = UInt32(height)
        config.g_timebase = vpx_rational(num: 1, den: Int32(max(1, fps)))
        config.g_threads = UInt32(max(1, threads))
        config.g_lag_in_frames = 0
        config.g_error_resilient = vpx_codec_er_flags_t(VPX_ERROR_RESILIENT_DEFAULT)
        config.g_pass = VPX_RC_ONE_PASS
        config.rc_end_usage = VPX_CBR
        config.rc_target_bitrate = UInt32(max(1, bitrate / 1000))
        config.rc_min_quantizer = 2
        config.rc_max_quantizer = 56
        config.rc_undershoot_pct = 100
        config.rc_overshoot_pct = 15
        config.rc_buf_initial_sz = 500
        config.rc_buf_optimal_sz = 600
        config.rc_buf_sz = 1000
        config.rc_dropframe_thresh = 0
        config.rc_resize_allowed = 0
        config.kf_mode = VPX_KF_AUTO
        config.kf_min_dist = 0
        config.kf_max_dist = UInt32(max(1, keyframeMaxDistance))
        return config
    }

    /// Encoder controls applied after init.
    public var libvpxControls: [(vp8e_enc_control_id, Int32)] {
        [
            (VP8E_SET_CPUUSED, Int32(cpuUsed)),
            (VP8E_SET_STATIC_THRESHOLD, 1),
            (VP8E_SET_NOISE_SENSITIVITY, 0),
            (VP8E_SET_TOKEN_PARTITIONS, Int32(VP8_ONE_TOKENPARTITION.rawValue)),
            (VP8E_SET_MAX_INTRA_BITRATE_PCT, 900),
        ]
    }
}

public struct VP8EncoderConfiguration: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var fps: Int
    /// Target bitrate, bits/s.
    public var bitrate: Int
    /// Negative: fixed speed |cpuUsed| (the cost floor); positive lets libvpx
    /// slow down while under its time budget (see PERF-FLOOR.md).
    public var cpuUsed: Int
    public var threads: Int
    public var keyframeMaxDistance: Int

    public init(
        width: Int, height: Int, fps: Int = 30, bitrate: Int = 1_500_000, cpuUsed: Int = -8, threads: Int = 1,
        keyframeMaxDistance: Int = 3_000
    ) {
        self.width = width
        self.height = height
        self.fps = fps
        self.bitrate = bitrate
        self.cpuUsed = cpuUsed
        self.threads = threads
        self.keyframeMaxDistance = keyframeMaxDistance
    }
}

/// One encoded frame. `data` shares the encoder's buffer: drop it before
/// the next `encode` and the encoder reuses that buffer without allocating.
public struct VP8EncodedFrame: Sendable {
    public var data: [UInt8]
    public var isKeyframe: Bool
}

/// Owns one libvpx VP8 encoder context. Not thread-safe; one owner at a time.
public final class VP8Encoder {
    public let configuration: VP8EncoderConfiguration
    private var context = vpx_codec_ctx_t()
    private var config = vpx_codec_enc_cfg_t()
    private var image = vpx_image_t()
    private var pts: vpx_codec_pts_t = 0
    private var buffer: [UInt8] = []

    public init(configuration: VP8EncoderConfiguration) throws(VP8Error) {
        self.configuration = configuration
        let c = configuration
        guard c.width > 0, c.height > 0, c.width & 1 == 0, c.height & 1 == 0 else { throw .wrongFrameSize }
        config = try c.libvpxConfig()
        let status = tessera_vpx_enc_init(&context, &config, 0)
        guard status == VPX_CODEC_OK else { throw .initFailed(Int32(status.rawValue)) }
        for (id, value) in c.libvpxControls {
            let status = tessera_vpx_control_int(&context, Int32(id.rawValue), value)
            guard status == VPX_CODEC_OK else {
                vpx_codec_destroy(&context)
                throw .configFailed(Int32(status.rawValue))
            }
        }
        buffer.reserveCapacity(c.width * c.height / 2)
    }

    deinit { vpx_codec_destroy(&context) }

    /// Changes the target bitrate on the fly (bits/s).
    public func setBitrate(_ bitrate: Int) throws(VP8Error) {
        config.rc_target_bitrate = UInt32(max(1, bitrate / 1000))
        let status = vpx_codec_enc_config_set(&context, &config)
        guard status == VPX_CODEC_OK else { throw .configFailed(Int32(status.rawValue)) }
    }

    public var bitrate: Int { Int(config.rc_target_bitrate) * 1000 }

    private var activeMapOn = false
    /// Macroblocks coded, and kept from the previous frame by the active map, over every frame so far.
    public private(set) var macroblocksActive = 0
    public private(set) var macroblocksKept = 0

    /// Sets libvpx's active map for the next frame; nil turns it off (every macroblock coded).
    private func applyActiveMap(_ map: MacroblockMap?) {
        let cols = (configuration.width + 15) / 16, rows = (configuration.height + 15) / 16
        guard var map, map.cols == cols, map.rows == rows else {
            macroblocksActive += cols * rows
            if activeMapOn {
                _ = tessera_vpx_set_active_map(&context, nil, UInt32(rows), UInt32(cols))
                activeMapOn = false
            }
            return
        }
        let active = map.count
        macroblocksActive += active
        macroblocksKept += rows * cols - active
        map.withFlags { _ = tessera_vpx_set_active_map(&context, $0, UInt32(rows), UInt32(cols)) }
        activeMapOn = true
    }

    /// Encodes one frame (its size must be the configured size). Returns nil
    /// when libvpx produced no frame (never with the frame dropper off).
    /// `active`: the macroblocks that differ from the previous frame given; only
    /// they are coded (the rest keep the previous frame's pixels at almost no
    /// cost). nil: every one. A keyframe codes everything.
    public func encode(_ frame: I420Frame, forceKeyframe: Bool = false, active: MacroblockMap? = nil) throws(VP8Error) -> VP8EncodedFrame? {
        guard frame.width == configuration.width, frame.height == configuration.height else {
            throw .wrongFrameSize
        }
        applyActiveMap(forceKeyframe ? nil : active)
        vpx_img_wrap(&image, VPX_IMG_FMT_I420, UInt32(frame.width), UInt32(frame.height), 1, frame.base)
        image.stride.0 = Int32(frame.strideY)
        image.stride.1 = Int32(frame.strideUV)
        image.stride.2 = Int32(frame.strideUV)
        image.planes.0 = frame.y
        image.planes.1 = frame.u
        image.planes.2 = frame.v
        let flags: vpx_enc_frame_flags_t = forceKeyframe ? vpx_enc_frame_flags_t(VPX_EFLAG_FORCE_KF) : 0
        let status = vpx_codec_encode(&context, &image, pts, 1, flags, UInt(VPX_DL_REALTIME))
        pts += 1
        guard status == VPX_CODEC_OK else { throw .encodeFailed(Int32(status.rawValue)) }
        buffer.removeAll(keepingCapacity: true)
        var keyframe = false
        var produced = false
        var iterator: vpx_codec_iter_t? = nil
        while let packet = vpx_codec_get_cx_data(&context, &iterator) {
            guard packet.pointee.kind == VPX_CODEC_CX_FRAME_PKT else { continue }
            let f = packet.pointee.data.frame
            let bytes = UnsafeRawBufferPointer(start: f.buf, count: f.sz)
            buffer.append(contentsOf: bytes)
            produced = true
            if f.flags & vpx_codec_frame_flags_t(VPX_FRAME_IS_KEY) != 0 { keyframe = true }
        }
        return produced ? VP8EncodedFrame(data: buffer, isKeyframe: keyframe) : nil
    }
}
