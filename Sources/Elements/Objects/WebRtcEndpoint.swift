import MediaPlane
import Foundation
import JSONRPC
import RTP
import Transport

/// kmd `WebRtcEndpoint` (with the members of SdpEndpoint, BaseRtpEndpoint and
/// SessionEndpoint it implements). The signalling half: every operation is
/// posted to the media loop, where `WebRtcSession` does the work.
final class WebRtcEndpoint: RtpElement {
    /// The server's ICE settings with this endpoint's overrides (the
    /// stunServerAddress, turnUrl, ... properties), mirrored to the session.
    var ice = ICESettings()
    private var stunAddress: String?
    private var stunPort = 3478
    /// Gathering starts once the client asked for it and negotiation began
    /// (processOffer or generateOffer), in either order; from then on ICE
    /// settings are refused (docs/decisions.md).
    private var negotiationStarted = false
    private var gatherAsked = false
    var gatheringStarted: Bool { negotiationStarted && gatherAsked }

    private static func endpoint(_ obj: MediaObject) -> WebRtcEndpoint { obj as! WebRtcEndpoint }  // bound to WebRtcEndpoint only

    /// Adopts the server's settings at creation.
    func adopt(_ settings: ICESettings) {
        ice = settings
        if let stun = settings.stunServer, let (host, port) = ICEAgent.hostPort(stun) {
            stunAddress = host
            stunPort = port
        }
    }

    /// Applies one ICE setting: refused once gathering started, then posted to the session.
    private static func updateICE(_ obj: MediaObject, _ name: String, _ change: (WebRtcEndpoint) throws(KurentoError) -> Void) throws(KurentoError) {
        let e = endpoint(obj)
        guard !e.gatheringStarted else {
            throw KurentoError(.mediaObjectIllegalParamError, "'\(name)' cannot change after ICE gathering started; set it before gatherCandidates")
        }
        try change(e)
        e.ice.stunServer = e.stunAddress.map { "\($0):\(e.stunPort)" }
        let settings = e.ice
        e.node.post { ($0 as! WebRtcSession).iceSettings = settings }  // the node of a WebRtcEndpoint is always a WebRtcSession
    }

    private static func string(_ value: JSONValue, _ name: String) throws(KurentoError) -> String {
        guard let s = value.stringValue else { throw .wrongParam(name, "a String") }
        return s.trimmingCharacters(in: .whitespaces)
    }

    private static func illegal(_ message: String) -> KurentoError { KurentoError(.mediaObjectIllegalParamError, message) }

    static let iceGetters: [String: ClassBinding.Getter] = [
        "stunServerAddress": { obj, _ in .string(endpoint(obj).stunAddress ?? "") },
        "stunServerPort": { obj, _ in .int(Int64(endpoint(obj).stunPort)) },
        "turnUrl": { obj, _ in .string(endpoint(obj).ice.turnServer ?? "") },
        "externalIPv4": { obj, _ in .string(endpoint(obj).ice.externalIPv4 ?? "") },
        "externalIPv6": { obj, _ in .string(endpoint(obj).ice.externalIPv6 ?? "") },
        "networkInterfaces": { obj, _ in .string(endpoint(obj).ice.networkInterfaces.joined(separator: ",")) },
    ]

    static let iceSetters: [String: ClassBinding.Setter] = [
        "stunServerAddress": { obj, value, _ throws(KurentoError) in
            let v = try string(value, "stunServerAddress")
            guard v.isEmpty || ICESettings.isIPAddress(v, v6: false) || ICESettings.isIPAddress(v, v6: true) else {
                throw illegal("'stunServerAddress' must be an IP address (no DNS names), got '\(v)'")
            }
            try updateICE(obj, "stunServerAddress") { $0.stunAddress = v.isEmpty ? nil : v }
        },
        "stunServerPort": { obj, value, _ throws(KurentoError) in
            guard let port = value.intValue, (1...65535).contains(port) else { throw illegal("'stunServerPort' must be 1-65535") }
            try updateICE(obj, "stunServerPort") { $0.stunPort = Int(port) }
        },
        "turnUrl": { obj, value, _ throws(KurentoError) in
            let v = try string(value, "turnUrl")
            if !v.isEmpty {
                guard let relay = ICEAgent.parseTURN(v),
                    ICESettings.isIPAddress(relay.host, v6: false) || ICESettings.isIPAddress(relay.host, v6: true)
                else { throw illegal("'turnUrl' must be user:password@ipaddress:port[?transport=udp|tcp|tls]") }
            }
            try updateICE(obj, "turnUrl") { $0.ice.turnServer = v.isEmpty ? nil : v }
        },
        "externalIPv4": { obj, value, _ throws(KurentoError) in
            let v = try string(value, "externalIPv4")
            guard v.isEmpty || ICESettings.isIPAddress(v, v6: false) else { throw illegal("'externalIPv4' must be an IPv4 address") }
            try updateICE(obj, "externalIPv4") { $0.ice.externalIPv4 = v.isEmpty ? nil : v }
        },
        "externalIPv6": { obj, value, _ throws(KurentoError) in
            let v = try string(value, "externalIPv6")
            guard v.isEmpty || ICESettings.isIPAddress(v, v6: true) else { throw illegal("'externalIPv6' must be an IPv6 address") }
            try updateICE(obj, "externalIPv6") { $0.ice.externalIPv6 = v.isEmpty ? nil : v }
        },
        "networkInterfaces": { obj, value, _ throws(KurentoError) in
            let names = try string(value, "networkInterfaces").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if !names.isEmpty, ICESettings.addresses(ofInterfaces: names).isEmpty {
                throw illegal("'networkInterfaces': no usable address on \(names.joined(separator: ","))")
            }
            try updateICE(obj, "networkInterfaces") { $0.ice.networkInterfaces = names }
        },
    ]
    private static func session(_ node: MediaNode) -> WebRtcSession { node as! WebRtcSession }  // the node of a WebRtcEndpoint is always a WebRtcSession

    /// Runs an SdpEndpoint operation on whichever session the endpoint has
    /// (WebRtcSession or PlainRtpSession).
    static func sdpCall(
        _ obj: MediaObject, _ work: @escaping @Sendable (RtpSession) throws(NegotiationError) -> JSONValue
    ) -> Reply {
        (obj as! MediaElement).loopCall { node in  // bound to SDP endpoints only
            guard let session = node as? RtpSession else { return .failure(KurentoError(.notImplemented, "not an SDP endpoint")) }
            do throws(NegotiationError) { return .success(try work(session)) } catch { return .failure(KurentoError(error)) }
        }
    }

    private static func call(
        _ obj: MediaObject, _ work: @escaping @Sendable (WebRtcSession) throws(NegotiationError) -> JSONValue
    ) -> Reply {
        (obj as! MediaElement).loopCall { node in  // bound to WebRtcEndpoint only
            do throws(NegotiationError) { return .success(try work(session(node))) } catch { return .failure(KurentoError(error)) }
        }
    }

    static let sdpBinding = ClassBinding(
        className: "SdpEndpoint",
        methods: [
            "processOffer": { obj, args, _ throws(KurentoError) in
                let offer = args.string("offer") ?? ""
                (obj as? WebRtcEndpoint)?.negotiationStarted = true
                return sdpCall(obj) { s throws(NegotiationError) in .string(try s.processOffer(offer)) }
            },
            "generateOffer": { obj, args, _ throws(KurentoError) in
                let audio = args["options"]?["offerToReceiveAudio"]?.boolValue ?? true
                let video = args["options"]?["offerToReceiveVideo"]?.boolValue ?? true
                (obj as? WebRtcEndpoint)?.negotiationStarted = true
                return sdpCall(obj) { s throws(NegotiationError) in .string(try s.generateOffer(audio: audio, video: video)) }
            },
            "processAnswer": { obj, args, _ throws(KurentoError) in
                let answer = args.string("answer") ?? ""
                return sdpCall(obj) { s throws(NegotiationError) in .string(try s.processAnswer(answer)) }
            },
            "getLocalSessionDescriptor": { obj, _, _ throws(KurentoError) in
                sdpCall(obj) { s in s.localSDP.map { .string($0) } ?? .null }
            },
            "getRemoteSessionDescriptor": { obj, _, _ throws(KurentoError) in
                sdpCall(obj) { s in s.remoteSDP.map { .string($0) } ?? .null }
            },
        ],
        getters: RtpElement.sdpGetters,
        setters: RtpElement.sdpSetters
    )

    static let baseRtpBinding = ClassBinding(
        className: "BaseRtpEndpoint",
        methods: [
            "requestKeyframe": { obj, _, _ throws(KurentoError) in
                (obj as! MediaElement).node.post { $0.requestKeyframe() }  // bound to endpoints only
                return .void
            }
        ],
        getters: ([
            "connectionState": { obj, _ in .string((obj as! MediaElement).connectionState) },  // bound to endpoints only
            "mediaState": { obj, _ in .string((obj as! MediaElement).mediaState) },
        ] as [String: ClassBinding.Getter]).merging(RtpElement.baseRtpGetters) { a, _ in a },
        setters: RtpElement.baseRtpSetters,
        events: ["ConnectionStateChanged", "MediaStateChanged"]
    )

    static let sessionBinding = ClassBinding(className: "SessionEndpoint", events: ["MediaSessionStarted", "MediaSessionTerminated"])

    static let webRtcBinding = ClassBinding(
        className: "WebRtcEndpoint",
        methods: [
            "gatherCandidates": { obj, _, _ throws(KurentoError) in
                endpoint(obj).gatherAsked = true
                return call(obj) { s throws(NegotiationError) in try s.gatherCandidates(); return .null }
            },
            "addIceCandidate": { obj, args, _ throws(KurentoError) in
                let candidate = args["candidate"]?["candidate"]?.stringValue ?? ""
                return call(obj) { s throws(NegotiationError) in try s.addIceCandidate(candidate); return .null }
            },
            "createDataChannel": { obj, args, _ throws(KurentoError) in
                let label = args.string("label") ?? "", proto = args.string("protocol") ?? ""
                let ordered = args.bool("ordered") ?? true
                let lifetime = Int(args["maxPacketLifeTime"]?.intValue ?? -1), retransmits = Int(args["maxRetransmits"]?.intValue ?? -1)
                return call(obj) { s throws(NegotiationError) in
                    try s.createDataChannel(label: label, ordered: ordered, maxPacketLifeTime: lifetime, maxRetransmits: retransmits, protocol: proto)
                    return .null
                }
            },
            "closeDataChannel": { obj, args, _ throws(KurentoError) in
                guard let channel = args["channelId"]?.intValue else { throw .wrongParam("channelId", "an int") }
                return call(obj) { s throws(NegotiationError) in try s.closeDataChannel(Int(channel)); return .null }
            },
        ],
        getters: ([
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
        ] as [String: ClassBinding.Getter]).merging(iceGetters) { a, _ in a },
        setters: iceSetters,
        events: ["IceCandidateFound", "IceGatheringDone", "IceComponentStateChanged", "NewCandidatePairSelected",
                 "DtlsConnectionStateChange", "DataChannelOpened", "DataChannelClosed"],
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
            options.useDataChannels = args.bool("useDataChannels") ?? false
            options.keyType = asked == "RSA" ? .rsa : .ecdsa
            let id = ctx.id, chosen = options
            let endpoint = WebRtcEndpoint(context: ctx, media: media, loop: loop) { _ in
                WebRtcSession(loop: loop, objectID: id, context: media, options: chosen)
            }
            endpoint.adopt(media.ice)
            return endpoint
        }
    )
}
