import JSONRPC
import TestSupport
import Testing
@testable import Rooms

/// Extension `simulcast`: a subscriber picks the quality it wants of a
/// sender's simulcast video, at receiveVideoFrom or later.
@Suite struct RoomSimulcastTests {
    @Test func theQualityAskedForReachesTheSubscribersEndpoint() async {
        let h = RoomHarness()
        _ = await h.join("carol", extra: ["extensions": ["simulcast"]])
        _ = await h.publish("carol")
        _ = await h.join("dave")
        _ = await h.result("dave", "receiveVideoFrom", ["sender": "carol_webcam", "sdpOffer": "o", "quality": "low"])
        let sub = h.media.made("createWebRtcEndpoint").last!
        #expect(h.media.calls.contains("setReceiveQuality(\(sub), low)"))
        _ = await h.result("dave", "setSubscriptionQuality", ["sender": "carol_webcam", "quality": "high"])
        #expect(h.media.calls.last { $0.hasPrefix("setReceiveQuality") } == "setReceiveQuality(\(sub), high)")
    }

    @Test func autoIsTheDefaultAndNeedsNoCall() async {
        let h = RoomHarness()
        _ = await h.join("carol")
        _ = await h.publish("carol")
        _ = await h.join("dave")
        _ = await h.result("dave", "receiveVideoFrom", ["sender": "carol_webcam", "sdpOffer": "o"])
        #expect(!h.media.calls.contains { $0.hasPrefix("setReceiveQuality") })
    }

    @Test func badQualitiesAndUnknownSubscriptionsAreRefused() async {
        let h = RoomHarness()
        _ = await h.join("carol")
        _ = await h.publish("carol")
        _ = await h.join("dave")
        #expect(await h.errorCode("dave", "receiveVideoFrom", ["sender": "carol_webcam", "sdpOffer": "o", "quality": "ultra"]) == -32602)
        #expect(await h.errorCode("dave", "setSubscriptionQuality", ["sender": "carol_webcam", "quality": "low"]) == 102)
        _ = await h.result("dave", "receiveVideoFrom", ["sender": "carol_webcam", "sdpOffer": "o"])
        #expect(await h.errorCode("dave", "setSubscriptionQuality", ["sender": "carol_webcam"]) == -32602)
        #expect(await h.errorCode("dave", "setSubscriptionQuality", ["sender": "carol_webcam", "quality": 3]) == -32602)
    }
}
