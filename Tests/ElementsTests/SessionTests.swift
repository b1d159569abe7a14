import Elements
import Foundation
import JSONRPC
import TestSupport
import Testing

/// Sessions, reconnection, garbage collection, the retry cache, events and
/// transactions, with a fake clock (no sleeping).
@Suite struct SessionTests {
    @Test func reconnectWithOldSessionKeepsObjectsAndEvents() throws {
        let h = ProtocolHarness()
        let c1 = h.connect()
        let r = try #require(h.result("create", ["type": "MediaPipeline"], on: c1))
        let session = try #require(r["sessionId"]?.stringValue)
        let p = try #require(r["value"]?.stringValue)
        _ = h.result("subscribe", ["object": .string(p), "type": "Error"], on: c1)
        h.disconnect(c1)
        h.clock.advance(by: .seconds(100))
        h.handler.collectGarbage()

        let c2 = h.connect()
        let c = try #require(h.result("connect", ["sessionId": .string(session)], on: c2))
        #expect(c["sessionId"] == .string(session))
        #expect(c["serverId"] == .string(h.mediaSet.serverID))
        #expect(h.result("invoke", ["object": .string(p), "operation": "getName"], on: c2)?["value"] == .string(p))
        // Events for the session now reach the new socket.
        h.mediaSet.raiseError(on: try h.mediaSet.object(p), type: "UNEXPECTED_PIPELINE_ERROR", description: "boom", code: 7)
        h.handler.deliverEvents()
        let events = h.sinks[c2]!.takeJSON()
        #expect(events.count == 1)
        let value = events.first?["params"]?["value"]
        #expect(value?["type"] == "Error")
        #expect(value?["object"] == .string(p))
        #expect(value?["data"]?["type"] == "UNEXPECTED_PIPELINE_ERROR")
        #expect(value?["data"]?["errorCode"] == 7)
        #expect(value?["data"]?["source"] == .string(p))
        #expect(value?["data"]?["timestampMillis"] == .string(String(h.clock.wallClockMillis)))
    }

    @Test func connectWithoutSessionStartsANewOne() throws {
        let h = ProtocolHarness()
        h.connect()
        let r = try #require(h.result("connect"))
        #expect(r["sessionId"]?.stringValue?.count == 36)
        #expect(h.handler.boundSession(of: 1) == r["sessionId"]?.stringValue)
    }

    @Test func abandonedSessionIsCollectedAfterGracePeriod() throws {
        let h = ProtocolHarness(gracePeriod: .seconds(240))
        let c1 = h.connect()
        let r = try #require(h.result("create", ["type": "MediaPipeline"], on: c1))
        let session = try #require(r["sessionId"]?.stringValue)
        let watcher = h.connect()
        _ = h.result("subscribe", ["object": "manager_ServerManager", "type": "ObjectDestroyed", "sessionId": "w"], on: watcher)
        h.disconnect(c1)
        h.clock.advance(by: .seconds(239))
        h.handler.collectGarbage()
        #expect(h.mediaSet.pipelines.count == 1)
        h.clock.advance(by: .seconds(1))
        h.handler.collectGarbage()
        #expect(h.mediaSet.pipelines.isEmpty)
        #expect(h.sinks[watcher]!.takeJSON().first?["params"]?["value"]?["type"] == "ObjectDestroyed")
        let c2 = h.connect()
        #expect(h.errorCode("connect", ["sessionId": .string(session)], on: c2) == 40007)
    }

    @Test func connectedSessionIsNeverCollected() {
        let h = ProtocolHarness(gracePeriod: .seconds(10))
        h.connect()
        _ = h.result("create", ["type": "MediaPipeline"])
        h.clock.advance(by: .seconds(3600))
        h.handler.collectGarbage()
        #expect(h.mediaSet.pipelines.count == 1)
    }

    @Test func objectSharedWithALiveSessionSurvivesCollection() throws {
        let h = ProtocolHarness(gracePeriod: .seconds(10))
        let c1 = h.connect(), c2 = h.connect()
        let p = try #require(h.result("create", ["type": "MediaPipeline"], on: c1)?["value"]?.stringValue)
        _ = h.result("describe", ["object": .string(p)], on: c2)
        h.disconnect(c1)
        h.clock.advance(by: .seconds(11))
        h.handler.collectGarbage()
        #expect(h.mediaSet.objects[p] != nil)
    }

    @Test func retriedRequestIsAnsweredFromCacheWithoutRunningTwice() throws {
        let h = ProtocolHarness(requestCacheTTL: .seconds(20))
        h.connect()
        let req = #"{"jsonrpc":"2.0","id":42,"method":"create","params":{"type":"MediaPipeline","sessionId":"S"}}"#
        let first = h.sendRaw(req)
        let second = h.sendRaw(req)
        #expect(first == second)
        #expect(h.mediaSet.pipelines.count == 1)
        h.clock.advance(by: .seconds(21))
        let third = h.sendRaw(req)
        #expect(third != first)
        #expect(h.mediaSet.pipelines.count == 2)
        // Another session with the same id is not confused with S.
        _ = h.sendRaw(req.replacingOccurrences(of: "\"S\"", with: "\"T\""))
        #expect(h.mediaSet.pipelines.count == 3)
    }

    @Test func subscriptionsDeduplicatePerSession() throws {
        let h = ProtocolHarness()
        h.connect()
        let other = h.connect()
        let s1 = try #require(h.result("subscribe", ["object": "manager_ServerManager", "type": "ObjectCreated", "sessionId": "A"])?["value"]?.stringValue)
        let s2 = try #require(h.result("subscribe", ["object": "manager_ServerManager", "type": "ObjectCreated"])?["value"]?.stringValue)
        #expect(s1 != s2)
        _ = h.result("subscribe", ["object": "manager_ServerManager", "type": "ObjectCreated", "sessionId": "B"], on: other)
        let (_, events) = h.call("create", ["type": "MediaPipeline"])
        #expect(events.count == 1)  // once for session A, despite two subscriptions
        let created = events.first?["params"]?["value"]
        #expect(created?["type"] == "ObjectCreated")
        #expect(created?["data"]?["object"]?.stringValue?.hasSuffix("MediaPipeline") == true)
        #expect(created?["data"]?["type"] == nil)  // RaiseBase events carry no type
        #expect(h.sinks[other]!.takeJSON().count == 1)  // and once for session B
        _ = h.result("unsubscribe", ["subscription": .string(s1)])
        #expect(h.call("create", ["type": "MediaPipeline"]).others.count == 1)
        _ = h.result("unsubscribe", ["subscription": .string(s2)])
        #expect(h.call("create", ["type": "MediaPipeline"]).others.isEmpty)
        #expect(h.result("unsubscribe", ["subscription": "unknown"]) != nil)  // silently accepted
    }

    @Test func eventsCarryTagsWhenAsked() throws {
        let h = ProtocolHarness()
        h.connect()
        let p = try #require(h.result("create", ["type": "MediaPipeline"])?["value"]?.stringValue)
        _ = h.result("subscribe", ["object": .string(p), "type": "Error"])
        _ = h.result("invoke", ["object": .string(p), "operation": "addTag", "operationParams": ["key": "room", "value": "7"]])
        _ = h.result("invoke", ["object": .string(p), "operation": "setSendTagsInEvents", "operationParams": ["sendTagsInEvents": true]])
        h.mediaSet.raiseError(on: try h.mediaSet.object(p), type: "STREAM_ERROR_FAILED", description: "x")
        h.handler.deliverEvents()
        let data = h.sinks[1]!.takeJSON().first?["params"]?["value"]?["data"]
        #expect(data?["tags"] == [["__module__": "kurento", "__type__": "Tag", "key": "room", "value": "7"]])
    }

    @Test func transactionWithNewRefs() throws {
        let h = ProtocolHarness()
        h.connect()
        let r = try #require(h.result("transaction", [
            "operations": [
                ["jsonrpc": "2.0", "id": 0, "method": "create", "params": ["type": "MediaPipeline", "constructorParams": .object([:]), "properties": .object([:])]],
                ["jsonrpc": "2.0", "id": 1, "method": "invoke", "params": ["object": "newref:0", "operation": "setName", "operationParams": ["name": "t"]]],
                ["jsonrpc": "2.0", "id": 2, "method": "invoke", "params": ["object": "newref:0", "operation": "getName"]],
                ["jsonrpc": "2.0", "id": 3, "method": "invoke", "params": ["object": "newref:0", "operation": "fly"]],
                ["jsonrpc": "2.0", "id": 4, "method": "release", "params": ["object": "newref:0"]],
            ],
            "sessionId": "S", "object": "ignored",
        ]))
        let ops = try #require(r["value"]?.arrayValue)
        #expect(ops.count == 4)  // stops after the failing op
        #expect(ops[0]["id"] == 0)
        #expect(ops[0]["result"]?["sessionId"] == "S")
        #expect(ops[2]["result"]?["value"] == "t")
        #expect(ops[3]["error"]?["code"] == 40008)
        #expect(h.mediaSet.pipelines.count == 1)  // not rolled back, not released
        #expect(h.result("transaction", ["operations": []])?["value"] == [])
    }
}

extension SessionTests {
    /// pyforkurento resends an unanswered request with the same id; its first
    /// `create` has no sessionId, and by the retry the socket is bound.
    @Test func retryOfFirstCreateWithoutSessionMakesOneObject() {
        let h = ProtocolHarness()
        h.connect()
        let req = #"{"id":77,"method":"create","params":{"type":"MediaPipeline","constructorParams":{},"properties":{}},"jsonrpc":"2.0"}"#
        let first = h.sendRaw(req)
        let second = h.sendRaw(req)
        #expect(first == second)
        #expect(h.mediaSet.pipelines.count == 1)
    }
}

extension SessionTests {
    /// A different request reusing an id (a client that restarted its counter)
    /// runs normally instead of getting the old answer.
    @Test func reusedIDWithDifferentRequestRuns() {
        let h = ProtocolHarness()
        h.connect()
        let create = h.sendRaw(#"{"jsonrpc":"2.0","id":2,"method":"create","params":{"type":"MediaPipeline","sessionId":"S"}}"#)
        let ping = h.sendRaw(#"{"jsonrpc":"2.0","id":2,"method":"ping","params":{"sessionId":"S"}}"#)
        #expect(create.first?["result"]?["value"] != ping.first?["result"]?["value"])
        #expect(ping.first?["result"]?["value"] == "pong")
    }
}
