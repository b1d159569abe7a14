import Foundation
public import JSONRPC
public import MediaPlane
import Transport
public import Logging

/// The registry of every media object and of the sessions that reference
/// them (Kurento's MediaSet). It implements the object-model semantics of the
/// protocol: creation, lookup, operation dispatch, subscriptions, events,
/// release cascades and garbage collection of abandoned sessions.
///
/// Not Sendable: owned by `KurentoService` (an actor) and touched only there.
/// Every method is synchronous, so tests drive it directly with a fake clock.
public final class MediaSet {
    public let catalog: KMDCatalog
    public let serverID: String
    public let logger: Logger
    public let clock: any TimeSource
    /// Text of the config's `metadata` section (`ServerManager.metadata`).
    public let metadata: String
    public let serverManager: ServerManager
    let startedAt: Date

    /// Live objects by id, the ServerManager included.
    public private(set) var objects: [String: MediaObject] = [:]
    var sessions: [String: SessionRecord] = [:]
    var subscriptions = SubscriptionTable()
    private var media: MediaContext?
    /// Events waiting to be delivered: (session, onEvent text). Drained by the protocol handler.
    var outbox: [(session: String, text: String)] = []

    struct SessionRecord {
        var objects: Set<String> = []
        var lastSeen: Duration
        var connected: Bool
    }

    /// What one server holds at most (the `limits.*` config keys); a `create`
    /// past one answers NOT_ENOUGH_RESOURCES (40009) naming it.
    public struct Limits: Sendable {
        public var maxSessions = 10_000
        public var maxPipelines = 1_000
        public var maxObjectsPerSession = 10_000
        /// Sessions of the server's own clients (the room layer): no per-client limit applies.
        public var exemptSessions: Set<String> = []
        public init() {}
    }
    public var limits = Limits()
    /// Told the config key of every limit that refused a request (for /metrics).
    public var limitRefused: @Sendable (String) -> Void = { _ in }

    /// Throws when creating a `className` for `session` would pass a limit.
    func checkLimits(creating className: String, session: String) throws(KurentoError) {
        func refuse(_ key: String, _ value: Int, _ what: String) -> KurentoError {
            limitRefused(key)
            return KurentoError(.notEnoughResources, "\(what): \(key) (\(value)) reached")
        }
        let record = sessions[session]
        let exempt = limits.exemptSessions.contains(session)
        if !exempt, record?.objects.isEmpty ?? true, sessions.values.count(where: { !$0.objects.isEmpty }) >= limits.maxSessions {
            throw refuse("limits.maxSessions", limits.maxSessions, "Too many sessions hold objects")
        }
        if !exempt, (record?.objects.count ?? 0) >= limits.maxObjectsPerSession {
            throw refuse("limits.maxObjectsPerSession", limits.maxObjectsPerSession, "This session holds too many objects")
        }
        if className == "MediaPipeline", objects.values.count(where: { $0 is MediaPipeline }) >= limits.maxPipelines {
            throw refuse("limits.maxPipelines", limits.maxPipelines, "Too many pipelines")
        }
    }

    public init(
        catalog: KMDCatalog = .bundled, clock: any TimeSource = SystemTimeSource(),
        metadata: String = "", logger: Logger = Logger(label: "tessera.signalling"), media: MediaContext? = nil
    ) {
        self.media = media
        self.catalog = catalog
        self.clock = clock
        self.metadata = metadata
        self.logger = logger
        self.serverID = UUID().uuidString.lowercased()
        self.startedAt = Date()
        self.serverManager = ServerManager(
            id: ServerManager.objectID, className: "ServerManager", parent: nil,
            creationTime: clock.wallClockMillis / 1000)
        objects[ServerManager.objectID] = serverManager
    }

    /// Whether `media` was made here (on first use) rather than given: then this set stops it.
    private var ownsMedia = false

    deinit {
        // Nodes hold their context and the context's tables hold the nodes: a context
        // whose objects were never released is only freed by its shutdown.
        if ownsMedia { media?.shutdown() }
    }

    /// The media plane; made with defaults on first use when none was given.
    public func mediaContext() throws(KurentoError) -> MediaContext {
        if let media { return media }
        do {
            let m = try MediaContext(loopCount: 1)
            media = m
            ownsMedia = true
            return m
        } catch {
            throw KurentoError(.notEnoughResources, "cannot start the media plane: \(error)")
        }
    }

    // MARK: Queries

    public var pipelines: [MediaPipeline] {
        objects.values.compactMap { $0 as? MediaPipeline }.sorted { $0.creationTime < $1.creationTime || ($0.creationTime == $1.creationTime && $0.id < $1.id) }
    }

    public var sessionIDs: [String] { sessions.keys.sorted() }

    /// Live objects other than the ServerManager, counted by class.
    public var objectCounts: [String: Int] {
        var out: [String: Int] = [:]
        for o in objects.values where o !== serverManager { out[o.className, default: 0] += 1 }
        return out
    }

    public func object(_ id: String) throws(KurentoError) -> MediaObject {
        if let o = objects[id] { return o }
        if id.hasPrefix("newref:") {
            throw KurentoError(.mediaObjectNotFoundTransactionNoCommit, "Object '\(id)' not found: newref is only valid inside a transaction")
        }
        throw .objectNotFound(id)
    }

    var marshaller: Marshaller {
        Marshaller(catalog: catalog) { (id) throws(KurentoError) -> String in try self.object(id).className }
    }

    // MARK: Sessions

    /// Marks a session as in use now, creating it if new (KMS adopts any id).
    func touch(session: String) {
        let now = clock.monotonicNow
        if sessions[session] == nil {
            sessions[session] = SessionRecord(lastSeen: now, connected: true)
        } else {
            sessions[session]!.lastSeen = now  // checked just above
        }
    }

    func isKnown(session: String) -> Bool { sessions[session] != nil }

    func setConnected(session: String, _ connected: Bool) {
        guard sessions[session] != nil else { return }
        sessions[session]!.connected = connected  // checked just above
        sessions[session]!.lastSeen = clock.monotonicNow
    }

    func ref(_ obj: MediaObject, session: String) {
        guard obj !== serverManager else { return }
        obj.referencingSessions.insert(session)
        sessions[session, default: SessionRecord(lastSeen: clock.monotonicNow, connected: true)].objects.insert(obj.id)
    }

    /// Drops one session's reference; an object nobody references is released.
    func unref(_ obj: MediaObject, session: String) {
        obj.referencingSessions.remove(session)
        sessions[session]?.objects.remove(obj.id)
        if obj.referencingSessions.isEmpty, obj !== serverManager { release(obj) }
    }

    /// Drops a session: its references go, and objects no other session holds are released.
    func dropSession(_ session: String, releaseAll: Bool = false) {
        guard let record = sessions.removeValue(forKey: session) else { return }
        subscriptions.removeAll(session: session)
        for id in record.objects.sorted(by: { $0.count > $1.count }) {  // children (longer ids) first
            guard let obj = objects[id] else { continue }
            obj.referencingSessions.remove(session)
            if releaseAll || obj.referencingSessions.isEmpty { release(obj) }
        }
    }

    /// Garbage collection (protocol §1.3): a session with no open socket whose
    /// last use is older than `gracePeriod` is dropped. Returns the dropped ids.
    @discardableResult
    public func collectGarbage(gracePeriod: Duration) -> [String] {
        let now = clock.monotonicNow
        let stale = sessions.filter { !$0.value.connected && now - $0.value.lastSeen >= gracePeriod }.keys.sorted()
        for s in stale {
            logger.info("session expired after grace period", metadata: ["session": "\(s)"])
            dropSession(s)
        }
        return stale
    }

    // MARK: Creation and release

    /// The slow step `create(type:...)` would run first, with its arguments
    /// (nil when the class has none); the arguments are checked here.
    public func preparation(type: String, params: [String: JSONValue]?) throws(KurentoError) -> (ClassBinding.Prepare, Arguments)? {
        guard let className = catalog.className(forType: type), let kmd = catalog.classes[className],
            let prepare = Bindings.all[className]?.prepare
        else { return nil }
        return (prepare, try marshaller.arguments(kmd.constructorParams ?? [], from: params))
    }

    /// Creates an object. `prepared` is the result of the class's `prepare`
    /// when the caller ran it already (off the actor); otherwise it runs here.
    public func create(
        type: String, params: [String: JSONValue]?, session: String, prepared: (any Sendable)? = nil
    ) throws(KurentoError) -> MediaObject {
        guard let className = catalog.className(forType: type), let kmd = catalog.classes[className],
            !kmd.isAbstract, let binding = Bindings.all[className], let factory = binding.factory
        else {
            throw KurentoError(.mediaObjectNotAvailable, "Factory '\(type)' not found")
        }
        try checkLimits(creating: className, session: session)
        let args = try marshaller.arguments(kmd.constructorParams ?? [], from: params)
        var prepared = prepared
        if prepared == nil, let prepare = binding.prepare { prepared = try prepare(args) }
        // A hub port hangs under its hub; every other element under its pipeline.
        var parent: MediaObject?
        if let hub = args.string("hub") {
            parent = try object(hub)
        } else if let pipe = args.string("mediaPipeline") {
            parent = try object(pipe)
        }
        let uuid = UUID().uuidString.lowercased()
        let leaf = "\(uuid)_kurento.\(className)"
        let ctx = CreationContext(
            id: parent.map { "\($0.id)/\(leaf)" } ?? leaf, className: className, parent: parent,
            creationTime: clock.wallClockMillis / 1000, rawParams: params ?? [:], prepared: prepared)
        let obj = try factory(ctx, args, self)
        objects[obj.id] = obj
        parent?.children.append(obj)
        // The new object and its ancestors are referenced by the creating session.
        var node: MediaObject? = obj
        while let n = node {
            ref(n, session: session)
            node = n.parent
        }
        logger.debug("created", metadata: ["object": "\(obj.id)", "session": "\(session)"])
        raise("ObjectCreated", from: serverManager, data: ["object": .string(obj.id)])
        return obj
    }

    /// Releases every object (server shutdown): recordings are finished, not
    /// abandoned, since releasing a recorder stops it cleanly. Returns how many
    /// top-level objects went.
    @discardableResult
    public func releaseEverything() -> Int {
        let roots = objects.values.filter { $0.parent == nil && $0 !== serverManager }
        for obj in roots { release(obj) }
        return roots.count
    }

    /// Releases an object and, recursively, its children (protocol §1.10).
    /// The ServerManager cannot be released; unknown ids are ignored.
    public func release(_ obj: MediaObject) {
        guard obj !== serverManager, !obj.isReleased else { return }
        for child in obj.children { release(child) }
        if let element = obj as? MediaElement { disconnectAll(element) }
        obj.isReleased = true
        objects[obj.id] = nil
        for s in obj.referencingSessions { sessions[s]?.objects.remove(obj.id) }
        obj.referencingSessions.removeAll()
        subscriptions.removeAll(object: obj.id)
        if let parent = obj.parent { parent.children.removeAll { $0 === obj } }
        obj.didRelease()
        logger.debug("released", metadata: ["object": "\(obj.id)"])
        raise("ObjectDestroyed", from: serverManager, data: ["objectId": .string(obj.id)])
    }

    // MARK: Operations

    /// Runs `operation` on `obj`: a kmd method, or a property getter/setter
    /// (`getName`, `setName`) from the class or its ancestors (protocol §1.7).
    public func invoke(_ obj: MediaObject, operation: String, params: [String: JSONValue]?) throws(KurentoError) -> Reply {
        let chain = catalog.chain(of: obj.className)
        if let (_, method) = catalog.method(operation, in: obj.className) {
            if params == nil, method.params.contains(where: { !$0.optional && $0.defaultValue == nil }) {
                throw KurentoError(.marshallError, "'operationParams' is required")
            }
            let args = try marshaller.arguments(method.params, from: params)
            for c in chain {
                if let m = Bindings.all[c.name]?.methods[operation] { return try m(obj, args, self) }
            }
            throw notImplemented(operation, obj)
        }
        if let (prop, isSetter) = accessor(operation, className: obj.className) {
            if isSetter {
                guard let v = params?[prop.name] else { throw .missingParam(prop.name) }
                let value = try marshaller.convert(v, to: prop.type, name: prop.name)
                for c in chain {
                    if let s = Bindings.all[c.name]?.setters[prop.name] {
                        try s(obj, value, self)
                        return .void
                    }
                }
            } else {
                for c in chain {
                    if let g = Bindings.all[c.name]?.getters[prop.name] { return .value(g(obj, self)) }
                }
            }
            throw notImplemented(operation, obj)
        }
        for c in chain {
            if let m = TesseraExtensions.methods[c.name]?[operation] { return try m(obj, Arguments(params ?? [:]), self) }
        }
        let count = params?.count ?? 0
        throw KurentoError(.malformedTransaction, "Method '\(operation)' with \(count) parameters not found")
    }

    private func notImplemented(_ operation: String, _ obj: MediaObject) -> KurentoError {
        KurentoError(.notImplemented, "Operation '\(operation)' of \(obj.className) is not implemented yet")
    }

    /// Maps `getX`/`setX` to a property of the class chain; also the KMS 6.x
    /// aliases (`getChilds`, `get/setMin/MaxOutputBitrate` and the typo twins).
    func accessor(_ operation: String, className: String) -> (KMDProperty, isSetter: Bool)? {
        let isSetter: Bool
        if operation.hasPrefix("get") { isSetter = false } else if operation.hasPrefix("set") { isSetter = true } else { return nil }
        var name = String(operation.dropFirst(3))
        guard let first = name.first else { return nil }
        if let alias = Self.propertyAliases[name] { name = alias }
        for candidate in [name, first.lowercased() + name.dropFirst()] {
            if let (_, p) = catalog.property(candidate, in: className) {
                if isSetter && !p.isSettable { return nil }
                return (p, isSetter)
            }
        }
        return nil
    }

    static let propertyAliases: [String: String] = [
        "Childs": "children",
        "MinOutputBitrate": "minEncoderBitrate", "MaxOutputBitrate": "maxEncoderBitrate",
        "MinOuputBitrate": "minEncoderBitrate", "MaxOuputBitrate": "maxEncoderBitrate",
    ]

    // MARK: Events

    /// KMS 6.x event names still used by older clients, with the 7.x event they mean.
    public static let eventAliases: [String: String] = [
        "OnIceCandidate": "IceCandidateFound",
        "OnIceGatheringDone": "IceGatheringDone",
        "OnIceComponentStateChanged": "IceComponentStateChanged",
        "IceComponentStateChange": "IceComponentStateChanged",
        "OnDataChannelOpened": "DataChannelOpened", "DataChannelOpen": "DataChannelOpened",
        "OnDataChannelClosed": "DataChannelClosed", "DataChannelClose": "DataChannelClosed",
        "MediaFlowOutStateChange": "MediaFlowOutStateChanged",
        "MediaFlowInStateChange": "MediaFlowInStateChanged",
        "MediaTranscodingStateChange": "MediaTranscodingStateChanged",
    ]

    public func subscribe(_ obj: MediaObject, event: String, session: String) throws(KurentoError) -> String {
        let canonical = Self.eventAliases[event] ?? event
        let extensions = catalog.chain(of: obj.className).flatMap { TesseraExtensions.events[$0.name] ?? [] }
        guard catalog.allEvents(of: obj.className).contains(canonical) || extensions.contains(canonical) else {
            throw KurentoError(.mediaObjectEventNotSupported, "Event '\(event)' not supported")
        }
        return subscriptions.add(session: session, object: obj.id, event: event)
    }

    public func unsubscribe(_ subscription: String) {
        subscriptions.remove(subscription)
    }

    /// Raises an event (a canonical 7.x name) on `source`. Every session
    /// subscribed to it, or to one of its 6.x aliases, gets one `onEvent`.
    public func raise(_ event: String, from source: MediaObject, data extra: [String: JSONValue] = [:]) {
        let names = [event] + Self.eventAliases.filter { $0.value == event }.keys.sorted()
        let millis = clock.wallClockMillis
        for name in names {
            let sessions = subscriptions.sessions(object: source.id, event: name)
            guard !sessions.isEmpty else { continue }
            var data = extra
            data["source"] = .string(source.id)
            data["timestampMillis"] = .string(String(millis))
            data["timestamp"] = .string(String(millis / 1000))  // KMS 6.x clients read this
            data["tags"] = source.sendTagsInEvents ? source.tagsJSON : .array([])
            // RaiseBase-only events carry no `type`; Error's `type` is the error kind.
            if event != "ObjectCreated", event != "ObjectDestroyed", event != "Error" {
                data["type"] = .string(name)
            }
            let value: JSONValue = ["data": .object(data), "object": .string(source.id), "type": .string(name)]
            let text = RPCCodec.notification(method: "onEvent", params: ["value": value])
            for s in sessions { outbox.append((s, text)) }
        }
    }

    /// Raises the `Error` event: the way a media failure reaches clients.
    public func raiseError(on obj: MediaObject, type: String, description: String, code: Int = 0) {
        raise(
            "Error", from: obj,
            data: ["type": .string(type), "description": .string(description), "errorCode": .int(Int64(code))])
    }

    /// A signal from the media plane: mirrors the state the signalling half
    /// answers from, then raises the Kurento event to subscribers.
    public func deliver(_ e: MediaEvent) {
        guard let obj = objects[e.objectID] else { return }  // released meanwhile
        let element = obj as? MediaElement
        func connection(_ connected: Bool) -> [String: JSONValue] {
            ["oldState": connected ? "DISCONNECTED" : "CONNECTED", "newState": connected ? "CONNECTED" : "DISCONNECTED"]
        }
        func flowing(_ kind: MediaKindKey) -> [String: JSONValue] {
            ["state": "FLOWING", "padName": "default", "mediaType": .string(kind.kurentoName)]
        }
        switch e.signal {
        case .flowingIn(let kind):
            element?.flowingIn.insert(kind.kurentoName)
            raise("MediaFlowInStateChanged", from: obj, data: flowing(kind))
        case .flowingOut(let kind):
            element?.flowingOut.insert(kind.kurentoName)
            raise("MediaFlowOutStateChanged", from: obj, data: flowing(kind))
        case .connection(let connected):
            element?.connectionState = connected ? "CONNECTED" : "DISCONNECTED"
            raise("ConnectionStateChanged", from: obj, data: connection(connected))
        case .mediaState(let connected):
            element?.mediaState = connected ? "CONNECTED" : "DISCONNECTED"
            raise("MediaStateChanged", from: obj, data: connection(connected))
        case .sessionStarted:
            raise("MediaSessionStarted", from: obj)
        case .sessionTerminated:
            raise("MediaSessionTerminated", from: obj)
        case .speaking(let speaking, let level):
            // Tessera extension (TesseraExtensions).
            raise("SpeakingChanged", from: obj, data: ["speaking": .bool(speaking), "level": .double(level)])
        case .speakers(let speaking, let dominant, let levels):
            // Tessera extension (TesseraExtensions): hub port ids.
            raise("SpeakersChanged", from: obj, data: [
                "speaking": .array(speaking.map { .string($0) }), "dominant": dominant.map { .string($0) } ?? .null,
                "levels": .object(levels.mapValues { .double($0) }),
            ])
        case .iceCandidate(let candidate, let mid):
            raise("IceCandidateFound", from: obj, data: [
                "candidate": ["__module__": "kurento", "__type__": "IceCandidate", "candidate": .string(candidate),
                              "sdpMid": .string(mid), "sdpMLineIndex": 0],
            ])
        case .iceGatheringDone:
            raise("IceGatheringDone", from: obj)
        case .iceState(let state, let consentExpired):
            element?.iceState = state.rawValue
            var data: [String: JSONValue] = ["streamId": 1, "componentId": 1, "state": .string(state.rawValue)]
            // `reason` is Tessera's addition to Kurento's event: rooms evict on it.
            if consentExpired { data["reason"] = "consentExpired" }
            raise("IceComponentStateChanged", from: obj, data: data)
        case .candidatePairSelected(let local, let remote):
            let pair: JSONValue = [
                "__module__": "kurento", "__type__": "IceCandidatePair", "streamId": "1", "componentId": 1,
                "localCandidate": .string(local), "remoteCandidate": .string(remote),
            ]
            element?.selectedPair = pair
            raise("NewCandidatePairSelected", from: obj, data: ["candidatePair": pair])
        case .dtlsState(let state):
            element?.dtlsState = state.rawValue
            raise("DtlsConnectionStateChange", from: obj, data: [
                "streamId": "1", "componentId": "1", "connectionId": "1", "state": .string(state.rawValue),
            ])
        case .dataChannelOpened(let channel):
            raise("DataChannelOpened", from: obj, data: ["channelId": .int(Int64(channel))])
        case .dataChannelClosed(let channel):
            raise("DataChannelClosed", from: obj, data: ["channelId": .int(Int64(channel))])
        case .recording:
            raise("Recording", from: obj)
        case .paused:
            raise("Paused", from: obj)
        case .stopped:
            raise("Stopped", from: obj)
        case .endOfStream:
            (element as? PlayerEndpoint)?.reachedEndOfStream(self)
            raise("EndOfStream", from: obj)
        case .failure(let description):
            raiseError(on: obj, type: "UNEXPECTED_ELEMENT_ERROR", description: description)
        }
    }

    func takeOutbox() -> [(session: String, text: String)] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
    }

    // MARK: Server info

    func serverInfo() -> JSONValue {
        let generated = ISO8601DateFormatter().string(from: startedAt)
        let modules: [JSONValue] = catalog.modules.map { m in
            let factories = m.classes.filter { !$0.isAbstract && Bindings.all[$0.name]?.factory != nil }.map(\.name)
            return [
                "__module__": "kurento", "__type__": "ModuleInfo", "name": .string(m.name),
                "version": .string(ServerManager.apiVersion), "generationTime": .string(generated),
                "factories": .array(factories.sorted().map { .string($0) }),
            ]
        }
        return [
            "__module__": "kurento", "__type__": "ServerInfo", "version": .string(ServerManager.apiVersion),
            "type": "KMS", "capabilities": ["transactions"], "modules": .array(modules),
        ]
    }
}
