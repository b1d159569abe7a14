import MediaPlane
import Foundation
import JSONRPC
import SDP
import Transport

/// kmd `RtpEndpoint`: RTP/RTCP over UDP, in the clear or with SDES-SRTP
/// (`crypto`). The SdpEndpoint, BaseRtpEndpoint and SessionEndpoint members
/// come from the bindings WebRtcEndpoint defines for them; the media half is
/// a `PlainRtpSession`.
final class RtpEndpoint: RtpElement {
    static let rtpBinding = ClassBinding(
        className: "RtpEndpoint",
        factory: { ctx, args, set throws(KurentoError) in
            guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
            let sdes = try sdesCrypto(ctx.rawParams["crypto"])
            if ctx.rawParams["useIpv6"]?.boolValue == true {
                throw KurentoError(.notImplemented, "RtpEndpoint 'useIpv6' is not supported: plain RTP is IPv4 only")
            }
            let media = try set.mediaContext()
            let loop = pipeline.assignLoop(media.loops)
            let id = ctx.id
            return RtpEndpoint(context: ctx, media: media, loop: loop) { _ in
                PlainRtpSession(loop: loop, objectID: id, context: media, sdes: sdes)
            }
        }
    )

    /// The kmd `SDES` constructor param as our side's a=crypto: the suite
    /// (kmd `CryptoSuite` names, AES_128_CM_HMAC_SHA1_80 by default) and the
    /// master key + salt from `key` (plain text), `keyBase64`, or random.
    /// Nil (no encryption) when the param is absent or empty.
    static func sdesCrypto(_ value: JSONValue?) throws(KurentoError) -> SDESCrypto? {
        guard let value, value != .null, let fields = value.objectValue else {
            if let value, value != .null { throw .wrongParam("crypto", "an SDES object") }
            return nil
        }
        let given = fields.filter { !$0.key.hasPrefix("__") }
        guard !given.isEmpty else { return nil }
        let suites = [
            "AES_128_CM_HMAC_SHA1_80": "AES_CM_128_HMAC_SHA1_80", "AES_128_CM_HMAC_SHA1_32": "AES_CM_128_HMAC_SHA1_32",
            "AES_256_CM_HMAC_SHA1_80": "AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32": "AES_256_CM_HMAC_SHA1_32",
        ]
        let name = given["crypto"]?.stringValue ?? "AES_128_CM_HMAC_SHA1_80"
        guard let suite = suites[name], let length = SDESCrypto.keyLengths[suite] else {
            throw KurentoError(.mediaObjectIllegalParamError, "unknown crypto suite '\(name)': one of \(suites.keys.sorted().joined(separator: ", "))")
        }
        var key: [UInt8]
        if let text = given["key"]?.stringValue {
            key = Array(text.utf8)
        } else if let b64 = given["keyBase64"]?.stringValue {
            guard let data = Data(base64Encoded: b64) else {
                throw KurentoError(.mediaObjectIllegalParamError, "'keyBase64' is not valid base64")
            }
            key = Array(data)
        } else {
            key = (0..<length).map { _ in UInt8.random(in: 0...255) }
        }
        guard key.count == length else {
            throw KurentoError(.mediaObjectIllegalParamError,
                               "the SDES key for \(name) must be \(length) bytes (master key and salt), not \(key.count)")
        }
        return SDESCrypto(tag: 1, suite: suite, keyAndSalt: key)
    }
}
