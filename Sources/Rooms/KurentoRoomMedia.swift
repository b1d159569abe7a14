public import Elements
public import JSONRPC
import Synchronization

/// `RoomMedia` over the Kurento protocol, spoken in process to the server's
/// own `KurentoService`: the room layer is one more Kurento client, with its
/// own session, and gets exactly the checks, events and release semantics
/// any external client gets.
public final class KurentoRoomMedia: RoomMedia {
    private let service: KurentoService
    private let router: Router
    /// Opened on the service actor; every call waits for it first.
    private let connection: Task<ConnectionID, Never>
    public let events: AsyncStream<RoomMediaEvent>
    /// Events the rooms follow on every endpoint they make.
    static let endpointEvents = ["IceCandidateFound", "MediaFlowOutStateChanged", "MediaFlowInStateChanged", "SpeakingChanged", "Error", "IceComponentStateChanged"]

    public init(service: KurentoService) {
        self.service = service
        let (stream, continuation) = AsyncStream.makeStream(of: RoomMediaEvent.self)
        events = stream
        let router = Router(events: continuation)
        self.router = router
        connection = Task { await service.openConnection(sink: router, serverOwned: true) }
    }

    /// Sends one request and waits for its response.
    private func call(_ method: String, _ params: JSONValue) async throws(RoomMediaError) -> JSONValue {
        let (id, promise) = router.register()
        let text = JSONWriter.string(RPCRequest(id: .int(id), method: method, params: params).json)
        await service.handle(text, from: await connection.value)
        switch await promise.value() {
        case .success(let v): return v
        case .failure(let e): throw e
        }
    }

    private func create(_ type: String, _ params: JSONValue) async throws(RoomMediaError) -> String {
        let result = try await call("create", ["type": .string(type), "constructorParams": params])
        guard let id = result["value"]?.stringValue else { throw RoomMediaError(code: -1, message: "create \(type): no object id") }
        return id
    }

    private func invoke(_ object: String, _ operation: String, _ params: JSONValue = [:]) async throws(RoomMediaError) -> JSONValue {
        try await call("invoke", ["object": .string(object), "operation": .string(operation), "operationParams": params])
    }

    public func createPipeline() async throws(RoomMediaError) -> String {
        try await create("MediaPipeline", [:])
    }

    public func createWebRtcEndpoint(pipeline: String, dataChannels: Bool) async throws(RoomMediaError) -> String {
        var params: [String: JSONValue] = ["mediaPipeline": .string(pipeline)]
        if dataChannels { params["useDataChannels"] = true }
        let id = try await create("WebRtcEndpoint", .object(params))
        for event in Self.endpointEvents {
            _ = try await call("subscribe", ["object": .string(id), "type": .string(event)])
        }
        return id
    }

    public func createComposite(pipeline: String) async throws(RoomMediaError) -> String {
        let id = try await create("Composite", ["mediaPipeline": .string(pipeline)])
        _ = try await call("subscribe", ["object": .string(id), "type": "SpeakersChanged"])
        return id
    }

    public func createLinkEndpoint(pipeline: String) async throws(RoomMediaError) -> String {
        let id = try await create("RtpEndpoint", [
            "mediaPipeline": .string(pipeline),
            "crypto": ["__module__": "kurento", "__type__": "SDES", "crypto": "AES_128_CM_HMAC_SHA1_80"],
        ])
        for event in ["MediaFlowOutStateChanged", "MediaFlowInStateChanged", "SpeakingChanged", "Error"] {
            _ = try await call("subscribe", ["object": .string(id), "type": .string(event)])
        }
        return id
    }

    public func generateOffer(_ endpoint: String) async throws(RoomMediaError) -> String {
        try await invoke(endpoint, "generateOffer")["value"]?.stringValue ?? ""
    }

    public func answerLink(_ endpoint: String, offer: String) async throws(RoomMediaError) -> String {
        try await invoke(endpoint, "processOffer", ["offer": .string(offer)])["value"]?.stringValue ?? ""
    }

    public func processAnswer(_ endpoint: String, answer: String) async throws(RoomMediaError) {
        _ = try await invoke(endpoint, "processAnswer", ["answer": .string(answer)])
    }

    public func stats(_ endpoint: String) async throws(RoomMediaError) -> [String: JSONValue] {
        try await invoke(endpoint, "getStats")["value"]?.objectValue ?? [:]
    }

    public func setRecorderAudioMuted(_ recorder: String, muted: Bool) async throws(RoomMediaError) {
        _ = try await invoke(recorder, "setMuted", ["kind": "AUDIO", "muted": .bool(muted)])
    }

    public func setReceiveQuality(_ endpoint: String, quality: String) async throws(RoomMediaError) {
        _ = try await invoke(endpoint, "setReceiveQuality", ["quality": .string(quality)])
    }

    public func setMixExclusions(composite: String, port: String, exclude: [String]) async throws(RoomMediaError) {
        _ = try await invoke(composite, "setMixExclusions", ["port": .string(port), "exclude": .array(exclude.map { .string($0) })])
    }

    public func setLayout(composite: String, layout: String, order: [String], rects: [[Double]]) async throws(RoomMediaError) {
        _ = try await invoke(composite, "setLayout", [
            "layout": .string(layout), "order": .array(order.map { .string($0) }),
            "rects": .array(rects.map { .array($0.map { .double($0) }) }),
        ])
    }

    public func createHubPort(hub: String) async throws(RoomMediaError) -> String {
        try await create("HubPort", ["hub": .string(hub)])
    }

    public func processOffer(_ endpoint: String, offer: String) async throws(RoomMediaError) -> String {
        let answer = try await invoke(endpoint, "processOffer", ["offer": .string(offer)])
        _ = try await invoke(endpoint, "gatherCandidates")
        return answer["value"]?.stringValue ?? ""
    }

    public func addIceCandidate(_ endpoint: String, candidate: String, sdpMid: String, sdpMLineIndex: Int) async throws(RoomMediaError) {
        _ = try await invoke(endpoint, "addIceCandidate", [
            "candidate": [
                "__module__": "kurento", "__type__": "IceCandidate", "candidate": .string(candidate),
                "sdpMid": .string(sdpMid), "sdpMLineIndex": .int(Int64(sdpMLineIndex)),
            ],
        ])
    }

    public func connect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError) {
        var params: [String: JSONValue] = ["sink": .string(sink)]
        if let kind { params["mediaType"] = .string(kind.rawValue) }
        _ = try await invoke(source, "connect", .object(params))
    }

    public func disconnect(_ source: String, _ sink: String, kind: RoomMediaKind?) async throws(RoomMediaError) {
        var params: [String: JSONValue] = ["sink": .string(sink)]
        if let kind { params["mediaType"] = .string(kind.rawValue) }
        _ = try await invoke(source, "disconnect", .object(params))
    }

    public func createRecorder(pipeline: String, uri: String, profile: String) async throws(RoomMediaError) -> String {
        let id = try await create("RecorderEndpoint", ["mediaPipeline": .string(pipeline), "uri": .string(uri), "mediaProfile": .string(profile)])
        _ = try await call("subscribe", ["object": .string(id), "type": "Error"])
        return id
    }

    public func record(_ recorder: String) async throws(RoomMediaError) {
        _ = try await invoke(recorder, "record")
    }

    public func stopRecorder(_ recorder: String) async throws(RoomMediaError) {
        _ = try await invoke(recorder, "stopAndWait")
    }

    public func release(_ object: String) async {
        _ = try? await call("release", ["object": .string(object)])
    }
}

/// Receives everything the Kurento service sends this client: responses go
/// to the request waiting for them, `onEvent` notifications to the stream.
private final class Router: OutboundSink {
    private let state = Mutex<(next: Int64, pending: [Int64: Promise])>((1, [:]))
    private let eventSink: AsyncStream<RoomMediaEvent>.Continuation

    init(events: AsyncStream<RoomMediaEvent>.Continuation) { eventSink = events }

    func register() -> (Int64, Promise) {
        let promise = Promise()
        let id = state.withLock { s in
            let id = s.next
            s.next += 1
            s.pending[id] = promise
            return id
        }
        return (id, promise)
    }

    func send(_ text: String) {
        switch RPCCodec.decode(text) {
        case .response(let response):
            guard case .int(let id)? = response.id, let promise = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
            switch response.outcome {
            case .result(let v): promise.fulfil(.success(v))
            case .error(let e): promise.fulfil(.failure(RoomMediaError(code: e.code, message: e.message)))
            }
        case .request(let request) where request.method == "onEvent":
            guard let value = request.params?["value"], let type = value["type"]?.stringValue,
                let object = value["object"]?.stringValue ?? value["data"]?["source"]?.stringValue
            else { return }
            eventSink.yield(RoomMediaEvent(objectID: object, type: type, data: value["data"]?.objectValue ?? [:]))
        default:
            return
        }
    }
}

/// A one-shot result that may arrive before or after someone waits for it.
private final class Promise: Sendable {
    private let state = Mutex<(result: Result<JSONValue, RoomMediaError>?, waiter: CheckedContinuation<Result<JSONValue, RoomMediaError>, Never>?)>((nil, nil))

    func fulfil(_ result: Result<JSONValue, RoomMediaError>) {
        let waiter = state.withLock { s -> CheckedContinuation<Result<JSONValue, RoomMediaError>, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.result = result
            return nil
        }
        waiter?.resume(returning: result)
    }

    func value() async -> Result<JSONValue, RoomMediaError> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Result<JSONValue, RoomMediaError>? in
                if let r = s.result { return r }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
