import JSONRPC
import Transport

/// kmd `RtpEndpoint`: plain RTP/RTCP over UDP. The SdpEndpoint,
/// BaseRtpEndpoint and SessionEndpoint members come from the bindings
/// WebRtcEndpoint defines for them; the media half is a `PlainRtpSession`.
final class RtpEndpoint: RtpElement {
    static let rtpBinding = ClassBinding(
        className: "RtpEndpoint",
        factory: { ctx, args, set throws(KurentoError) in
            guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
            // SDES-SRTP (RTP/SAVPF with a=crypto) is not implemented: refuse
            // rather than silently sending in clear what the client wants encrypted.
            if let crypto = ctx.rawParams["crypto"], crypto != .null, crypto != [:] {
                throw KurentoError(.notImplemented, "RtpEndpoint 'crypto' (SDES-SRTP) is not supported: Tessera sends plain RTP only")
            }
            if ctx.rawParams["useIpv6"]?.boolValue == true {
                throw KurentoError(.notImplemented, "RtpEndpoint 'useIpv6' is not supported: plain RTP is IPv4 only")
            }
            let media = try set.mediaContext()
            let loop = pipeline.assignLoop(media.loops)
            let session = PlainRtpSession(loop: loop, objectID: ctx.id, context: media)
            return RtpEndpoint(context: ctx, loop: loop, node: session)
        }
    )
}
