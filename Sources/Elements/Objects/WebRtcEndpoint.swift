import JSONRPC
import Transport

/// kmd `WebRtcEndpoint` (with the members of SdpEndpoint, BaseRtpEndpoint and
/// SessionEndpoint it implements). The signalling half: every operation is
/// posted to the media loop, where `WebRtcSession` does the work.
final class WebRtcEndpoint: MediaElement {
    private static func session(_ node: MediaNode) -> WebRtcSession { node as! WebRtcSession }  // the node of a WebRtcEndpoint is always a WebRtcSession

    /// Runs an SdpEndpoint operation on whichever session the endpoint has
    /// (WebRtcSession or PlainRtpSession).
    static func sdpCall(
        _ obj: MediaObject, _ work: @escaping @Sendable (RtpSession) throws(KurentoError) -> JSONValue
    ) -> Reply {
        (obj as! MediaElement).loopCall { node in  // bound to SDP endpoints only
            guard let session = node as? RtpSession else { return .failure(KurentoError(.notImplemented, "not an SDP endpoint")) }
            do throws(KurentoError) { return .success(try work(session)) } catch { return .failure(error) }
        }
    }

    private static func call(
        _ obj: MediaObject, _ work: @escaping @Sendable (WebRtcSession) throws(KurentoError) -> JSONValue
    ) -> Reply {
        (obj as! MediaElement).loopCall { node in  // bound to WebRtcEndpoint only
            do throws(KurentoError) { return .success(try work(session(node))) } catch { return .failure(error) }
        }
    }

    static let sdpBinding = ClassBinding(
        className: "SdpEndpoint",
        methods: [
            "processOffer": { obj, args, _ throws(KurentoError) in
                let offer = args.string("offer") ?? ""
                return sdpCall(obj) { s throws(KurentoError) in .string(try s.processOffer(offer)) }
            },
            "generateOffer": { obj, args, _ throws(KurentoError) in
                let audio = args["options"]?["offerToReceiveAudio"]?.boolValue ?? true
                let video = args["options"]?["offerToReceiveVideo"]?.boolValue ?? true
                return sdpCall(obj) { s throws(KurentoError) in .string(try s.generateOffer(audio: audio, video: video)) }
            },
            "processAnswer": { obj, args, _ throws(KurentoError) in
                let answer = args.string("answer") ?? ""
                return sdpCall(obj) { s throws(KurentoError) in .string(try s.processAnswer(answer)) }
            },
            "getLocalSessionDescriptor": { obj, _, _ throws(KurentoError) in
                sdpCall(obj) { s in s.localSDP.map { .string($0) } ?? .null }
            },
            "getRemoteSessionDescriptor": { obj, _, _ throws(KurentoError) in
                sdpCall(obj) { s in s.remoteSDP.map { .string($0) } ?? .null }
            },
        ]
    )

    static let baseRtpBinding = ClassBinding(
        className: "BaseRtpEndpoint",
        methods: [
            "requestKeyframe": { obj, _, _ throws(KurentoError) in
                (obj as! MediaElement).onLoop { $0.requestKeyframe() }  // bound to endpoints only
                return .void
            }
        ],
        getters: [
            "connectionState": { obj, _ in .string((obj as! MediaElement).connectionState) },  // bound to endpoints only
            "mediaState": { obj, _ in .string((obj as! MediaElement).mediaState) },
        ],
        events: ["ConnectionStateChanged", "MediaStateChanged"]
    )

    static let sessionBinding = ClassBinding(className: "SessionEndpoint", events: ["MediaSessionStarted", "MediaSessionTerminated"])

    static let webRtcBinding = ClassBinding(
        className: "WebRtcEndpoint",
        methods: [
            "gatherCandidates": { obj, _, _ throws(KurentoError) in
                call(obj) { s throws(KurentoError) in try s.gatherCandidates(); return .null }
            },
            "addIceCandidate": { obj, args, _ throws(KurentoError) in
                let candidate = args["candidate"]?["candidate"]?.stringValue ?? ""
                return call(obj) { s throws(KurentoError) in try s.addIceCandidate(candidate); return .null }
            },
        ],
        getters: [
            "ICECandidatePairs": { obj, _ in .array((obj as! MediaElement).selectedPair.map { [$0] } ?? []) },  // bound to WebRtcEndpoint only
            "IceConnectionState": { obj, _ in
                guard let s = (obj as! MediaElement).iceState else { return [] }
                return [["__module__": "kurento", "__type__": "IceConnection", "streamId": "1", "componentId": 1, "state": .string(s)]]
            },
            "DtlsConnectionState": { obj, _ in
                guard let s = (obj as! MediaElement).dtlsState else { return [] }
                return [["__module__": "kurento", "__type__": "DtlsConnection", "streamId": "1", "componentId": "1",
                         "connectionId": "1", "state": .string(s)]]
            },
        ],
        events: ["IceCandidateFound", "IceGatheringDone", "IceComponentStateChanged", "NewCandidatePairSelected",
                 "DtlsConnectionStateChange"],
        factory: { ctx, args, set throws(KurentoError) in
            guard let pipeline = ctx.parent as? MediaPipeline else { throw .wrongParam("mediaPipeline", "a MediaPipeline") }
            let media = try set.mediaContext()
            let loop = pipeline.assignLoop(media.loops)
            // ECDSA unless the client explicitly asks for RSA (the kmd default is RSA,
            // but aiortc and other ECDSA-only DTLS clients could not connect to it).
            let asked = ctx.rawParams["certificateKeyType"]?.stringValue
            var options = WebRtcSession.Options()
            options.recvonly = args.bool("recvonly") ?? false
            options.sendonly = args.bool("sendonly") ?? false
            options.keyType = asked == "RSA" ? .rsa : .ecdsa
            let session = WebRtcSession(loop: loop, objectID: ctx.id, context: media, options: options)
            return WebRtcEndpoint(context: ctx, loop: loop, node: session)
        }
    )
}
