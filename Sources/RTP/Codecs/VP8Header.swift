// The few facts read from a VP8 frame without decoding it (RFC 6386 §9.1):
// whether it is a keyframe, and a keyframe's picture size (the recorder's
// track size; the mixer's decoder refuses pictures too large to decode).

public enum VP8Header {
    /// True for a keyframe (P bit clear in the frame tag).
    public static func isKeyframe(_ frame: UnsafeRawBufferPointer) -> Bool {
        frame.count >= 3 && frame[0] & 0x01 == 0
    }

    /// Width and height from a keyframe's header, nil for other frames.
    public static func keyframeSize(_ frame: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
        guard frame.count >= 10, isKeyframe(frame), frame[3] == 0x9D, frame[4] == 0x01, frame[5] == 0x2A else { return nil }
        let width = Int(frame[6]) | Int(frame[7] & 0x3F) << 8
        let height = Int(frame[8]) | Int(frame[9] & 0x3F) << 8
        guard width > 0, height > 0 else { return nil }
        return (width, height)
    }
}
