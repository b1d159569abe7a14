import Elements
import JSONRPC
import TestSupport
import Testing

/// BaseRtpEndpoint, SdpEndpoint and WebRtcEndpoint properties through the
/// protocol: defaults, round trips, validation, and ICE settings refused once
/// gathering started.
@Suite struct EndpointSettingsTests {
    let h = ProtocolHarness()
    init() { h.connect() }

    func endpoint() -> String {
        let p = h.result("create", ["type": "MediaPipeline"])?["value"]?.stringValue ?? ""
        return h.result("create", ["type": "WebRtcEndpoint", "constructorParams": ["mediaPipeline": .string(p)]])?["value"]?.stringValue ?? ""
    }

    func get(_ w: String, _ op: String) -> JSONValue? {
        h.result("invoke", ["object": .string(w), "operation": .string(op)])?["value"]
    }

    func set(_ w: String, _ op: String, _ params: JSONValue) -> Int64? {
        h.errorCode("invoke", ["object": .string(w), "operation": .string(op), "operationParams": params])
    }

    @Test func bandwidthDefaultsAndRoundTrips() {
        let w = endpoint()
        #expect(get(w, "getMaxVideoSendBandwidth") == 500)
        #expect(get(w, "getMinVideoSendBandwidth") == 100)
        #expect(get(w, "getMinVideoRecvBandwidth") == 0)
        #expect(get(w, "getMaxVideoRecvBandwidth") == 0)
        #expect(get(w, "getMaxAudioRecvBandwidth") == 0)
        #expect(get(w, "getMtu") == 1200)
        #expect(set(w, "setMaxVideoSendBandwidth", ["maxVideoSendBandwidth": 2000]) == nil)
        #expect(set(w, "setMaxVideoRecvBandwidth", ["maxVideoRecvBandwidth": 300]) == nil)
        #expect(set(w, "setMaxAudioRecvBandwidth", ["maxAudioRecvBandwidth": 64]) == nil)
        #expect(set(w, "setMtu", ["mtu": 1400]) == nil)
        #expect(get(w, "getMaxVideoSendBandwidth") == 2000)
        #expect(get(w, "getMaxVideoRecvBandwidth") == 300)
        #expect(get(w, "getMaxAudioRecvBandwidth") == 64)
        #expect(get(w, "getMtu") == 1400)
        #expect(set(w, "setMinVideoRecvBandwidth", ["minVideoRecvBandwidth": -1]) == 40107)
        #expect(set(w, "setMtu", ["mtu": 20]) == 40107)
    }

    @Test func rembParamsMergeAndValidate() {
        let w = endpoint()
        #expect(get(w, "getRembParams")?["rembOnConnect"] == 300_000)
        #expect(get(w, "getRembParams")?["__type__"] == "RembParams")
        let params: JSONValue = ["rembParams": ["__module__": "kurento", "__type__": "RembParams", "rembOnConnect": 800_000, "upLosses": 20]]
        #expect(set(w, "setRembParams", params) == nil)
        let r = get(w, "getRembParams")
        #expect(r?["rembOnConnect"] == 800_000 && r?["upLosses"] == 20 && r?["decrementFactor"] == 0.5)
        #expect(set(w, "setRembParams", ["rembParams": ["upLosses": 999]]) == 40107)
    }

    @Test func iceSettingsRoundTripAndValidation() {
        let w = endpoint()
        #expect(get(w, "getTurnUrl") == "")
        #expect(get(w, "getStunServerPort") == 3478)
        #expect(set(w, "setStunServerAddress", ["stunServerAddress": "192.0.2.10"]) == nil)
        #expect(set(w, "setStunServerPort", ["stunServerPort": 3479]) == nil)
        #expect(set(w, "setTurnUrl", ["turnUrl": "u:p@127.0.0.1:3478?transport=udp"]) == nil)
        #expect(set(w, "setExternalIPv4", ["externalIPv4": "198.51.100.7"]) == nil)
        #expect(set(w, "setExternalIPv6", ["externalIPv6": "2001:db8::7"]) == nil)
        #expect(set(w, "setNetworkInterfaces", ["networkInterfaces": "lo"]) == nil)
        #expect(get(w, "getStunServerAddress") == "192.0.2.10")
        #expect(get(w, "getStunServerPort") == 3479)
        #expect(get(w, "getTurnUrl") == "u:p@127.0.0.1:3478?transport=udp")
        #expect(get(w, "getExternalIPv4") == "198.51.100.7")
        #expect(get(w, "getExternalIPv6") == "2001:db8::7")
        #expect(get(w, "getNetworkInterfaces") == "lo")
        #expect(set(w, "setStunServerAddress", ["stunServerAddress": "stun.example.org"]) == 40107)
        #expect(set(w, "setTurnUrl", ["turnUrl": "127.0.0.1:3478"]) == 40107)
        #expect(set(w, "setExternalIPv4", ["externalIPv4": "2001:db8::7"]) == 40107)
        #expect(set(w, "setNetworkInterfaces", ["networkInterfaces": "no-such-interface0"]) == 40107)
        #expect(set(w, "setTurnUrl", ["turnUrl": ""]) == nil)
        #expect(get(w, "getTurnUrl") == "")
    }

    @Test func iceSettingsAreRefusedOnceGatheringStarted() {
        let w = endpoint()
        _ = h.call("invoke", ["object": .string(w), "operation": "gatherCandidates"])
        // Asked to gather but not negotiating yet: still allowed.
        #expect(set(w, "setExternalIPv4", ["externalIPv4": "198.51.100.7"]) == nil)
        _ = h.call("invoke", ["object": .string(w), "operation": "generateOffer"])
        #expect(set(w, "setTurnUrl", ["turnUrl": "u:p@127.0.0.1:3478"]) == 40107)
        #expect(get(w, "getTurnUrl") == "")
        // Bandwidth settings stay changeable.
        #expect(set(w, "setMaxVideoSendBandwidth", ["maxVideoSendBandwidth": 1000]) == nil)
    }
}
