import Elements
import JSONRPC
import TestSupport
import Testing

/// The server methods of the Kurento protocol, driven through the sans-IO
/// handler with a fake clock and recording connections (no sockets).
@Suite struct ProtocolMethodTests {
    let h = ProtocolHarness()
    init() { h.connect() }

    func createPipeline(on c: ConnectionID = 1) -> String {
        h.result("create", ["type": "MediaPipeline", "constructorParams": .object([:]), "properties": .object([:])], on: c)?["value"]?.stringValue ?? ""
    }

    @Test func pingWithoutSessionHasNoSessionId() {
        #expect(h.result("ping", ["interval": 5000]) == ["value": "pong"])
        #expect(h.result("ping") == ["value": "pong"])
    }

    @Test func pingEchoesGivenSession() {
        #expect(h.result("ping", ["sessionId": "abc"]) == ["value": "pong", "sessionId": "abc"])
    }

    @Test func createAssignsSessionAndKMSStyleID() throws {
        let r = try #require(h.result("create", ["type": "MediaPipeline"]))
        let session = try #require(r["sessionId"]?.stringValue)
        let id = try #require(r["value"]?.stringValue)
        #expect(id.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_kurento\.MediaPipeline/) != nil)
        #expect(h.handler.boundSession(of: 1) == session)
        // Later requests on the socket get the bound session injected.
        #expect(h.result("ping") == ["value": "pong", "sessionId": .string(session)])
        #expect(h.result("invoke", ["object": .string(id), "operation": "getId"])?["sessionId"] == .string(session))
    }

    @Test func clientChosenSessionIsAdopted() {
        let r = h.result("create", ["type": "kurento.MediaPipeline", "sessionId": "1111"])
        #expect(r?["sessionId"] == "1111")
        #expect(h.mediaSet.sessionIDs == ["1111"])
    }

    @Test func describeGivesTypeAndHierarchy() {
        let p = createPipeline()
        let r = h.result("describe", ["object": .string(p)])
        #expect(r?["type"] == "MediaPipeline")
        #expect(r?["qualifiedType"] == "kurento.MediaPipeline")
        #expect(r?["hierarchy"] == ["kurento.MediaObject"])
        let m = h.result("describe", ["object": "manager_ServerManager"])
        #expect(m?["type"] == "ServerManager")
        #expect(m?["hierarchy"] == ["kurento.MediaObject"])
    }

    @Test func mediaObjectProperties() {
        let p = createPipeline()
        func get(_ op: String) -> JSONValue? { h.result("invoke", ["object": .string(p), "operation": .string(op)])?["value"] }
        #expect(get("getId") == .string(p))
        #expect(get("getName") == .string(p))
        #expect(get("getMediaPipeline") == .string(p))
        #expect(get("getParent") == .null)
        #expect(get("getChildren") == [])
        #expect(get("getChilds") == [])  // KMS 6.x alias
        #expect(get("getCreationTime") == .int(h.clock.wallClockMillis / 1000))
        #expect(get("getSendTagsInEvents") == false)
        #expect(get("getLatencyStats") == false)
        #expect(h.result("invoke", ["object": .string(p), "operation": "setName", "operationParams": ["name": "room-1"]])?["value"] == .null)
        #expect(get("getName") == "room-1")
        _ = h.result("invoke", ["object": .string(p), "operation": "setLatencyStats", "operationParams": ["latencyStats": true]])
        #expect(get("getLatencyStats") == true)
        #expect(get("getGstreamerDot")?.stringValue?.hasPrefix("digraph \"room-1\"") == true)
        #expect(h.result("invoke", ["object": .string(p), "operation": "dumpGstreamerDot"])?["value"] == .null)
    }

    @Test func tags() {
        let p = createPipeline()
        func invoke(_ op: String, _ params: JSONValue? = nil) -> JSONValue {
            var o: [String: JSONValue] = ["object": .string(p), "operation": .string(op)]
            if let params { o["operationParams"] = params }
            return h.call("invoke", .object(o)).response
        }
        _ = invoke("addTag", ["key": "a", "value": "1"])
        _ = invoke("addTag", ["key": "b", "value": "2"])
        _ = invoke("addTag", ["key": "a", "value": "3"])
        #expect(invoke("getTag", ["key": "a"])["result"]?["value"] == "3")
        #expect(invoke("getTags")["result"]?["value"] == [
            ["__module__": "kurento", "__type__": "Tag", "key": "a", "value": "3"],
            ["__module__": "kurento", "__type__": "Tag", "key": "b", "value": "2"],
        ])
        _ = invoke("removeTag", ["key": "a"])
        _ = invoke("removeTag", ["key": "missing"])  // not an error
        #expect(invoke("getTag", ["key": "a"])["error"]?["code"] == 40110)
    }

    @Test func serverManager() throws {
        let p = createPipeline()
        func get(_ op: String, _ params: JSONValue? = nil) -> JSONValue? {
            var o: [String: JSONValue] = ["object": "manager_ServerManager", "operation": .string(op)]
            if let params { o["operationParams"] = params }
            return h.result("invoke", .object(o))?["value"]
        }
        let info = try #require(get("getInfo"))
        #expect(info["__type__"] == "ServerInfo")
        #expect(info["type"] == "KMS")
        #expect(info["capabilities"] == ["transactions"])
        let names = info["modules"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["core", "elements", "filters"])
        #expect(info["modules"]?.arrayValue?.first?["factories"] == ["HubPort", "MediaPipeline", "PassThrough"])
        #expect(get("getPipelines") == [.string(p)])
        #expect(get("getSessions") == .array(h.mediaSet.sessionIDs.map { .string($0) }))
        #expect(get("getMetadata") == "")
        #expect((get("getCpuCount")?.intValue ?? 0) >= 1)
        #expect((get("getUsedMemory")?.intValue ?? 0) > 0)
        let kmd = try JSONParser.parse(try #require(get("getKmd", ["moduleName": "elements"])?.stringValue))
        #expect(kmd["name"] == "elements")
        let bad = h.call("invoke", ["object": "manager_ServerManager", "operation": "getKmd", "operationParams": ["moduleName": "x"]]).response
        #expect(bad["error"] == ["code": 40500, "message": "Requested kmd module doesn't exist", "data": ["type": "UNDEFINED"]])
    }

    @Test func getUsedCpuIsDeferredNotBlocking() async throws {
        let req = #"{"jsonrpc":"2.0","id":9,"method":"invoke","params":{"object":"manager_ServerManager","operation":"getUsedCpu","operationParams":{"interval":50},"sessionId":"s"}}"#
        let pending = try #require(h.handler.handle(req, from: 1))
        #expect(h.sinks[1]!.take().isEmpty)  // nothing sent yet
        h.handler.complete(pending, with: await pending.work())
        let frames = h.sinks[1]!.takeJSON()
        let value = try #require(frames.first?["result"]?["value"]?.doubleValue)
        #expect(value >= 0 && value <= 100)
        #expect(frames.first?["result"]?["sessionId"] == "s")
    }

    @Test func releaseCascadesAndIsIdempotent() {
        let p = createPipeline()
        _ = h.result("subscribe", ["object": "manager_ServerManager", "type": "ObjectDestroyed"])
        let (r, events) = h.call("release", ["object": .string(p)])
        #expect(r["result"]?["sessionId"] != nil)
        #expect(events.count == 1)
        #expect(events.first?["params"]?["value"]?["data"]?["objectId"] == .string(p))
        #expect(h.errorCode("invoke", ["object": .string(p), "operation": "getName"]) == 40101)
        #expect(h.result("release", ["object": .string(p)]) != nil)  // silent
        #expect(h.result("release", ["object": "manager_ServerManager"]) != nil)
        #expect(h.result("invoke", ["object": "manager_ServerManager", "operation": "getPipelines"])?["value"] == [])
    }

    @Test func unknownConstructorParamsAndPropertiesAreIgnored() {
        let r = h.result("create", [
            "type": "MediaPipeline", "properties": ["x": 1],
            "constructorParams": ["mediaPipeline": "whatever", "recvonly": false, "uri": "file:///x"],
        ])
        #expect(r?["value"]?.stringValue?.hasSuffix("_kurento.MediaPipeline") == true)
    }

    @Test func notificationGetsNoResponse() {
        #expect(h.sendRaw(#"{"jsonrpc":"2.0","method":"ping"}"#).isEmpty)
        #expect(h.sendRaw(#"{"jsonrpc":"2.0","method":"create","params":{"type":"MediaPipeline","sessionId":"n"}}"#).isEmpty)
        #expect(h.mediaSet.pipelines.count == 1)  // but it ran
    }

    @Test func refAndUnref() {
        let p = createPipeline()
        let other = h.connect()
        _ = h.result("ref", ["object": .string(p), "sessionId": "other"], on: other)
        _ = h.result("unref", ["object": .string(p)])  // first session lets go
        #expect(h.mediaSet.pipelines.count == 1)
        _ = h.result("unref", ["object": .string(p)], on: other)  // last reference
        #expect(h.mediaSet.pipelines.isEmpty)
    }

    @Test func closeSessionReleasesWhatOnlyItHolds() {
        let mine = createPipeline()
        let shared = createPipeline()
        let other = h.connect()
        _ = h.result("describe", ["object": .string(shared), "sessionId": "other"], on: other)
        let r = h.call("closeSession", .object([:])).response
        #expect(r["result"] == .null)
        #expect(h.mediaSet.objects[mine] == nil)
        #expect(h.mediaSet.objects[shared] != nil)
        _ = h.call("closeSession", ["sessionId": "other", "release": true], on: other)
        #expect(h.mediaSet.objects[shared] == nil)
    }

    @Test func keepAlive() {
        #expect(h.errorCode("keepAlive", ["sessionId": "never-seen"]) == 40007)
        _ = createPipeline()
        #expect(h.result("keepAlive", .object([:]))?["sessionId"] != nil)
    }

    @Test func thousandCreateReleaseCyclesLeaveNothing() {
        for _ in 0..<1000 {
            let p = createPipeline()
            _ = h.result("release", ["object": .string(p)])
        }
        #expect(h.mediaSet.objects.count == 1)  // the ServerManager
        #expect(h.mediaSet.pipelines.isEmpty)
    }

    /// Events a request raises reach the client before its answer: `ElementDisconnected`
    /// of a released element never arrives after the `release` answer.
    @Test func eventsOfAReleaseGoBeforeItsAnswer() {
        let p = createPipeline()
        let a = h.result("create", ["type": "PassThrough", "constructorParams": ["mediaPipeline": .string(p)]])?["value"]?.stringValue ?? ""
        let b = h.result("create", ["type": "PassThrough", "constructorParams": ["mediaPipeline": .string(p)]])?["value"]?.stringValue ?? ""
        _ = h.result("subscribe", ["object": .string(a), "type": "ElementDisconnected"])
        _ = h.result("invoke", ["object": .string(a), "operation": "connect", "operationParams": ["sink": .string(b)]])
        let frames = h.sendRaw(#"{"jsonrpc":"2.0","id":900,"method":"release","params":{"object":"\#(b)"}}"#)
        let kinds = frames.map { $0["id"] == 900 ? "answer" : $0["params"]?["value"]?["type"]?.stringValue ?? "?" }
        #expect(kinds == ["ElementDisconnected", "ElementDisconnected", "ElementDisconnected", "answer"])
    }
}
