import MediaPlane
import JSONRPC
import RTP
import Transport

/// The signalling half shared by the SDP endpoints (WebRtcEndpoint,
/// RtpEndpoint): the BaseRtpEndpoint / SdpEndpoint settings as the client
/// set them. Getters answer from here; setters store here and post the new
/// value to the media half (`RtpSession`), which applies it from then on.
class RtpElement: MediaElement {
    var bandwidth = VideoBandwidthLimits()
    var maxAudioRecvKbps = 0
    var rembParams = REMBParameters()
    var mtu = 1200

    private static func element(_ obj: MediaObject) -> RtpElement { obj as! RtpElement }  // bound to SDP endpoints only

    /// Stores a change and posts it to the RtpSession.
    private static func update(_ obj: MediaObject, _ change: (RtpElement) -> Void) {
        let e = element(obj)
        change(e)
        let bandwidth = e.bandwidth, audio = e.maxAudioRecvKbps, remb = e.rembParams, mtu = e.mtu
        e.node.post { node in
            guard let s = node as? RtpSession else { return }
            s.bandwidth = bandwidth
            s.maxAudioRecvKbps = audio
            s.rembParams = remb
            s.mtu = mtu
        }
    }

    /// Tessera extension (TesseraExtensions): `quality` low, medium, high or auto.
    static let setReceiveQuality: ClassBinding.Method = { obj, args, _ throws(KurentoError) in
        guard let text = args["quality"]?.stringValue, let quality = SimulcastQuality(rawValue: text) else {
            throw KurentoError(.mediaObjectIllegalParamError, "'quality' must be one of low, medium, high, auto")
        }
        element(obj).node.post { node in (node as? RtpSession)?.setReceiveQuality(quality) }
        return .void
    }

    static func kbps(_ value: JSONValue, _ name: String) throws(KurentoError) -> Int {
        guard let v = value.intValue, v >= 0, v <= 10_000_000 else {
            throw KurentoError(.mediaObjectIllegalParamError, "'\(name)' must be a bandwidth in kbps, 0 or more")
        }
        return Int(v)
    }

    /// A kbps property: getter and setter over one field.
    private static func kbpsProperty(
        _ name: String, _ field: any WritableKeyPath<VideoBandwidthLimits, Int> & Sendable
    ) -> (ClassBinding.Getter, ClassBinding.Setter) {
        (
            { obj, _ in .int(Int64(element(obj).bandwidth[keyPath: field])) },
            { obj, value, _ throws(KurentoError) in
                let v = try kbps(value, name)
                update(obj) { $0.bandwidth[keyPath: field] = v }
            }
        )
    }

    static let sdpGetters: [String: ClassBinding.Getter] = [
        "maxAudioRecvBandwidth": { obj, _ in .int(Int64(element(obj).maxAudioRecvKbps)) },
        "maxVideoRecvBandwidth": { obj, _ in .int(Int64(element(obj).bandwidth.maxRecvKbps)) },
    ]
    static let sdpSetters: [String: ClassBinding.Setter] = [
        "maxAudioRecvBandwidth": { obj, value, _ throws(KurentoError) in
            let v = try kbps(value, "maxAudioRecvBandwidth")
            update(obj) { $0.maxAudioRecvKbps = v }
        },
        "maxVideoRecvBandwidth": kbpsProperty("maxVideoRecvBandwidth", \.maxRecvKbps).1,
    ]

    static let baseRtpGetters: [String: ClassBinding.Getter] = [
        "minVideoRecvBandwidth": kbpsProperty("minVideoRecvBandwidth", \.minRecvKbps).0,
        "minVideoSendBandwidth": kbpsProperty("minVideoSendBandwidth", \.minSendKbps).0,
        "maxVideoSendBandwidth": kbpsProperty("maxVideoSendBandwidth", \.maxSendKbps).0,
        "mtu": { obj, _ in .int(Int64(element(obj).mtu)) },
        "rembParams": { obj, _ in rembJSON(element(obj).rembParams) },
    ]
    static let baseRtpSetters: [String: ClassBinding.Setter] = [
        "minVideoRecvBandwidth": kbpsProperty("minVideoRecvBandwidth", \.minRecvKbps).1,
        "minVideoSendBandwidth": kbpsProperty("minVideoSendBandwidth", \.minSendKbps).1,
        "maxVideoSendBandwidth": kbpsProperty("maxVideoSendBandwidth", \.maxSendKbps).1,
        "mtu": { obj, value, _ throws(KurentoError) in
            // 576: the smallest datagram every IPv4 host accepts (RFC 791); 9000: jumbo frames.
            guard let v = value.intValue, (576...9000).contains(v) else {
                throw KurentoError(.mediaObjectIllegalParamError, "'mtu' must be between 576 and 9000 bytes")
            }
            update(obj) { $0.mtu = Int(v) }
        },
        "rembParams": { obj, value, _ throws(KurentoError) in
            let p = try rembParams(value, base: element(obj).rembParams)
            update(obj) { $0.rembParams = p }
        },
    ]

    static func rembJSON(_ p: REMBParameters) -> JSONValue {
        var o: [String: JSONValue] = [
            "__module__": "kurento", "__type__": "RembParams",
            "packetsRecvIntervalTop": .int(Int64(p.packetsRecvIntervalTop)), "exponentialFactor": .double(p.exponentialFactor),
            "linealFactorGrade": .double(p.linealFactorGrade), "decrementFactor": .double(p.decrementFactor),
            "thresholdFactor": .double(p.thresholdFactor), "upLosses": .int(Int64(p.upLosses)),
            "rembOnConnect": .int(Int64(p.rembOnConnect)),
        ]
        if let m = p.linealFactorMin { o["linealFactorMin"] = .int(Int64(m)) }
        return .object(o)
    }

    /// A RembParams register: fields given replace those of `base`; every field is optional.
    static func rembParams(_ value: JSONValue, base: REMBParameters) throws(KurentoError) -> REMBParameters {
        guard let o = value.objectValue else { throw .wrongParam("rembParams", "a RembParams") }
        var p = base
        func int(_ key: String, _ range: ClosedRange<Int64>) throws(KurentoError) -> Int? {
            guard let v = o[key], v != .null else { return nil }
            guard let i = v.intValue, range.contains(i) else {
                throw KurentoError(.mediaObjectIllegalParamError, "RembParams '\(key)' out of range \(range)")
            }
            return Int(i)
        }
        func double(_ key: String, _ range: ClosedRange<Double>) throws(KurentoError) -> Double? {
            guard let v = o[key], v != .null else { return nil }
            guard let d = v.doubleValue, range.contains(d) else {
                throw KurentoError(.mediaObjectIllegalParamError, "RembParams '\(key)' out of range \(range)")
            }
            return d
        }
        if let v = try int("packetsRecvIntervalTop", 1...100_000) { p.packetsRecvIntervalTop = v }
        if let v = try double("exponentialFactor", 0...10) { p.exponentialFactor = v }
        if let v = try int("linealFactorMin", 0...100_000_000) { p.linealFactorMin = v }
        if let v = try double("linealFactorGrade", 0.001...100_000) { p.linealFactorGrade = v }
        if let v = try double("decrementFactor", 0...1) { p.decrementFactor = v }
        if let v = try double("thresholdFactor", 0...1) { p.thresholdFactor = v }
        if let v = try int("upLosses", 0...255) { p.upLosses = v }
        if let v = try int("rembOnConnect", 0...100_000_000) { p.rembOnConnect = v }
        return p
    }
}
