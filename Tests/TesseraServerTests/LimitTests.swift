import Elements
import JSONRPC
import TestSupport
import Testing
@testable import TesseraServer

@Suite struct LimitTests {
    @Test func theTokenBucketAllowsOneSecondsBurstThenTheRate() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(rate: 10, now: start)
        var granted = 0
        for _ in 0..<11 where bucket.take(now: start) { granted += 1 }
        #expect(granted == 10)
        // 100 ms later one token is back, not more.
        let back = bucket.take(now: start + .milliseconds(100)), more = bucket.take(now: start + .milliseconds(100))
        #expect(back && !more)
        // A long silence refills one second's worth at most.
        let later = start + .seconds(60)
        granted = 0
        for _ in 0..<20 where bucket.take(now: later) { granted += 1 }
        #expect(granted == 10)
    }

    @Test func theLimiterRefusesFastRequestsAndClosesOnHugeOnes() {
        var limits = ConnectionLimits()
        limits.requestsPerSecond = 2
        limits.maxMessageBytes = 1024
        let refusals = RecordingSink()
        var limiter = InboundLimiter(limits: limits, refused: { refusals.send($0) })
        // Kurento connections are not rate limited unless configured.
        var kurento = InboundLimiter(limits: limits, kurento: true, refused: { refusals.send($0) })
        var delivered = 0
        for _ in 0..<100 where kurento.check("{}") == .deliver { delivered += 1 }
        #expect(delivered == 100)
        let now = ContinuousClock.now
        let ping = #"{"jsonrpc":"2.0","id":7,"method":"ping"}"#
        let first = limiter.check(ping, now: now), second = limiter.check(ping, now: now)
        #expect(first == .deliver && second == .deliver)
        guard case .refuse(let id, let key, let message) = limiter.check(ping, now: now) else { Issue.record("not refused"); return }
        #expect(id == 7 && key == "limits.requestsPerSecond" && message.contains("limits.requestsPerSecond (2)"))
        // A notification has no id to answer.
        let notification = limiter.check(#"{"jsonrpc":"2.0","method":"ping"}"#, now: now)
        #expect(notification == .refuse(id: nil, key: "limits.requestsPerSecond", message: "Too many requests: limits.requestsPerSecond (2) exceeded"))
        let huge = String(repeating: "x", count: 2000)
        guard case .close(let reply) = limiter.check(huge, now: now + .seconds(5)) else { Issue.record("not closed"); return }
        let answer = try? JSONParser.parse(reply)
        #expect(answer?["id"] == .null && answer?["error"]?["code"] == -32600)
        #expect(answer?["error"]?["message"]?.stringValue?.contains("limits.maxMessageBytes (1024)") == true)
        #expect(refusals.take() == ["limits.requestsPerSecond", "limits.requestsPerSecond", "limits.maxMessageBytes"])
    }

    @Test func kurentoLimitsAnswerNotEnoughResources() {
        let h = ProtocolHarness()
        h.connect()
        let refused = RecordingSink()
        h.mediaSet.limits.maxPipelines = 2
        h.mediaSet.limits.maxObjectsPerSession = 3
        h.mediaSet.limitRefused = { refused.send($0) }
        let p1 = h.result("create", ["type": "MediaPipeline"])?["value"]?.stringValue ?? ""
        _ = h.result("create", ["type": "MediaPipeline"])
        let third = h.call("create", ["type": "MediaPipeline"]).response
        #expect(third["error"]?["code"] == 40009 && third["error"]?["data"]?["type"] == "NOT_ENOUGH_RESOURCES")
        #expect(third["error"]?["message"]?.stringValue?.contains("limits.maxPipelines (2)") == true)
        _ = h.result("create", ["type": "PassThrough", "constructorParams": ["mediaPipeline": .string(p1)]])
        let fourth = h.call("create", ["type": "PassThrough", "constructorParams": ["mediaPipeline": .string(p1)]]).response
        #expect(fourth["error"]?["message"]?.stringValue?.contains("limits.maxObjectsPerSession (3)") == true)
        // Released objects make room again.
        _ = h.result("release", ["object": .string(p1)])
        #expect(h.result("create", ["type": "MediaPipeline"]) != nil)
        #expect(refused.take() == ["limits.maxPipelines", "limits.maxObjectsPerSession"])
        // One more session than allowed.
        h.mediaSet.limits.maxSessions = 1
        let other = h.connect()
        let r = h.call("create", ["type": "MediaPipeline"], on: other).response
        #expect(r["error"]?["message"]?.stringValue?.contains("limits.maxSessions (1)") == true)
        // The server's own client (the rooms) is not a client the session limits are for
        // (pipelines stay server-wide).
        h.mediaSet.limits.maxPipelines = 100
        let rooms = RecordingSink()
        h.handler.open(99, sink: rooms, serverOwned: true)
        h.sinks[99] = rooms
        for _ in 0..<4 { #expect(h.result("create", ["type": "MediaPipeline"], on: 99) != nil) }
    }
}
