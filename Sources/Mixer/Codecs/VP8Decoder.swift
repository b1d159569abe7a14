// The VP8 decoder (libvpx). `decode(_:pool:)` copies each decoded picture out
// of libvpx into an I420Frame taken from a FramePool, so the frame stays valid
// for as long as the caller keeps it (libvpx reuses its own buffers on the next
// call); `decodeImage` leaves it there, for a caller that takes only part of it.

public import CMixKernels
import CVPX
import RTP

public enum VP8DecodeResult {
    /// A decoded picture, owned by the caller (give it back to the pool when done).
    case frame(I420Frame)
    /// The data decoded but produced no picture (e.g. a frame not meant for display).
    case noFrame
    /// libvpx rejected the data or flagged the picture as corrupt: a keyframe is needed.
    case corrupt
}

/// Owns one libvpx VP8 decoder context. Not thread-safe; one owner at a time.
public final class VP8Decoder {
    private var context = vpx_codec_ctx_t()
    /// Keyframes announcing a larger picture are refused before libvpx sees
    /// them: a publisher cannot make the mixer allocate and decode a
    /// 16383x16383 picture (VP8's largest) by writing it in a header.
    public let maxPixels: Int

    /// 4096x2304 by default: above any camera a conference carries.
    public static let defaultMaxPixels = 4096 * 2304

    public init(threads: Int = 1, maxPixels: Int = VP8Decoder.defaultMaxPixels) throws(VP8Error) {
        self.maxPixels = maxPixels
        var config = vpx_codec_dec_cfg_t(threads: UInt32(max(1, threads)), w: 0, h: 0)
        let status = tessera_vpx_dec_init(&context, &config, 0)
        guard status == VPX_CODEC_OK else { throw .initFailed(Int32(status.rawValue)) }
    }

    deinit { vpx_codec_destroy(&context) }

    /// Decodes one complete VP8 frame; the picture stays in libvpx's buffers,
    /// valid until the next call (the compositor takes from it only what changed).
    public func decodeImage(_ data: UnsafeRawBufferPointer) -> VP8ImageResult {
        guard let start = data.baseAddress, data.count > 0 else { return .corrupt }
        if let size = VP8Header.keyframeSize(data), size.width * size.height > maxPixels { return .corrupt }
        let status = vpx_codec_decode(
            &context, start.assumingMemoryBound(to: UInt8.self), UInt32(data.count), nil, 0)
        guard status == VPX_CODEC_OK else { return .corrupt }
        var corrupted: Int32 = 0
        if tessera_vpx_control_intptr(&context, Int32(VP8D_GET_FRAME_CORRUPTED.rawValue), &corrupted)
            == VPX_CODEC_OK, corrupted != 0
        {
            return .corrupt
        }
        var iterator: vpx_codec_iter_t? = nil
        guard let image = vpx_codec_get_frame(&context, &iterator) else { return .noFrame }
        let img = image.pointee
        guard img.fmt == VPX_IMG_FMT_I420, let py = img.planes.0, let pu = img.planes.1, let pv = img.planes.2
        else { return .corrupt }
        let width = Int(img.d_w), height = Int(img.d_h)
        guard width > 0, height > 0 else { return .corrupt }
        return .image(VP8Image(planes: tessera_i420(
            y: py, u: pu, v: pv, stride_y: img.stride.0, stride_uv: img.stride.1, width: Int32(width), height: Int32(height))))
    }

    /// Decodes one complete VP8 frame and copies the picture into a frame
    /// from `pool`.
    public func decode(_ data: UnsafeRawBufferPointer, pool: FramePool) -> VP8DecodeResult {
        switch decodeImage(data) {
        case .corrupt: return .corrupt
        case .noFrame: return .noFrame
        case .image(let image):
            let frame = pool.acquire(width: image.width, height: image.height)
            image.draw(into: frame)
            return .frame(frame)
        }
    }

    public func decode(_ data: [UInt8], pool: FramePool) -> VP8DecodeResult {
        data.withUnsafeBytes { decode($0, pool: pool) }
    }
}

/// A decoded picture still in the decoder's buffers (valid until its next decode).
public struct VP8Image {
    public let planes: tessera_i420
    public var width: Int { Int(planes.width) }
    public var height: Int { Int(planes.height) }

    /// Copies the picture into `frame` (odd sizes: the frame is one pixel larger, and scaling keeps it filled).
    public func draw(into frame: I420Frame) {
        I420Frame.scale(
            y: planes.y, u: planes.u, v: planes.v, strideY: Int(planes.stride_y), strideUV: Int(planes.stride_uv),
            width: width, height: height, into: frame, rect: frame.bounds)
    }
}

public enum VP8ImageResult {
    case image(VP8Image)
    case noFrame
    case corrupt
}
