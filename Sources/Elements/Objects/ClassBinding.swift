public import JSONRPC

/// What an operation hands back to the protocol layer.
public enum Reply: Sendable {
    /// A `void` operation: the response carries `"value": null`.
    case void
    case value(JSONValue)
    /// The answer needs time (for example `getUsedCpu` measuring over an
    /// interval); the work runs off the signalling actor and the response is
    /// sent when it finishes, so other requests are not held up.
    case deferred(@Sendable () async -> Result<JSONValue, KurentoError>)
}

/// The Swift side of one kmd class: which methods, property accessors and
/// events are implemented, and how to construct it. Inherited members come
/// from the ancestors' bindings. The coverage test compares these tables with
/// the descriptors, so "implemented" means "has an entry here".
public struct ClassBinding: Sendable {
    public typealias Method = @Sendable (MediaObject, Arguments, MediaSet) throws(KurentoError) -> Reply
    public typealias Getter = @Sendable (MediaObject, MediaSet) -> JSONValue
    public typealias Setter = @Sendable (MediaObject, JSONValue, MediaSet) throws(KurentoError) -> Void
    /// Builds the object; `parent` is the pipeline or hub named in the constructor params.
    public typealias Factory = @Sendable (CreationContext, Arguments, MediaSet) throws(KurentoError) -> MediaObject
    /// Slow, self-contained checks a constructor needs first (reading a remote
    /// file's header). Blocking code: the protocol layer runs it on a worker
    /// thread, off the signalling actor, so other clients are not held up; the
    /// result reaches the factory as `CreationContext.prepared`.
    public typealias Prepare = @Sendable (Arguments) throws(KurentoError) -> any Sendable

    public var className: String
    public var methods: [String: Method]
    public var getters: [String: Getter]
    public var setters: [String: Setter]
    /// Events this class actually raises (subscribing is allowed to every
    /// event the kmd lists; this set is what the coverage page reports).
    public var events: Set<String>
    public var factory: Factory?
    public var prepare: Prepare?

    public init(
        className: String, methods: [String: Method] = [:], getters: [String: Getter] = [:],
        setters: [String: Setter] = [:], events: Set<String> = [], prepare: Prepare? = nil, factory: Factory? = nil
    ) {
        self.className = className
        self.methods = methods
        self.getters = getters
        self.setters = setters
        self.events = events
        self.factory = factory
        self.prepare = prepare
    }
}

/// Identity and placement of an object being created.
public struct CreationContext {
    public var id: String
    public var className: String
    public var parent: MediaObject?
    public var creationTime: Int64
    /// The constructor params as sent, before defaults were filled in.
    public var rawParams: [String: JSONValue] = [:]
    /// What the binding's `prepare` returned (nil when it has none).
    public var prepared: (any Sendable)?
}

/// All bindings, by kmd class name. Adding a class to the server means adding
/// its binding here.
public enum Bindings {
    public static let all: [String: ClassBinding] = {
        let list: [ClassBinding] = [
            MediaObject.kmdBinding,
            ServerManager.managerBinding,
            MediaPipeline.pipelineBinding,
            MediaElement.elementBinding,
            WebRtcEndpoint.sessionBinding,
            WebRtcEndpoint.sdpBinding,
            WebRtcEndpoint.baseRtpBinding,
            WebRtcEndpoint.webRtcBinding,
            RtpEndpoint.rtpBinding,
            Hub.hubBinding,
            Dispatcher.dispatcherBinding,
            DispatcherOneToMany.oneToManyBinding,
            HubPort.portBinding,
            Composite.compositeBinding,
            PassThrough.passThroughBinding,
            UriEndpoint.uriBinding,
            RecorderEndpoint.recorderBinding,
            PlayerEndpoint.playerBinding,
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.className, $0) })
    }()
}
