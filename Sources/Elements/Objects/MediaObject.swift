import JSONRPC

/// The root of the Kurento object model (kmd `MediaObject`).
///
/// Objects live in a `MediaSet` and are touched only by its owner (the
/// signalling actor), so they are plain non-Sendable classes. Ownership is a
/// tree: the set owns pipelines, a pipeline owns its elements and hubs, a hub
/// owns its ports; `parent` points back up without owning.
open class MediaObject {
    /// KMS form: `<uuid>_kurento.<Type>` for roots, `<parentId>/<uuid>_kurento.<Type>` for children.
    public let id: String
    /// The kmd class name (`MediaPipeline`, `WebRtcEndpoint`, ...).
    public let className: String
    public private(set) weak var parent: MediaObject?
    /// Children in creation order (elements of a pipeline, ports of a hub).
    public internal(set) var children: [MediaObject] = []
    public var name: String
    public var sendTagsInEvents = false
    /// Insertion order is kept so `getTags` is stable.
    public internal(set) var tags: [(key: String, value: String)] = []
    /// Seconds since the Unix epoch.
    public let creationTime: Int64
    /// Sessions holding a reference (protocol §1.3). Owned by the MediaSet.
    var referencingSessions: Set<String> = []
    public internal(set) var isReleased = false

    public init(id: String, className: String, parent: MediaObject?, creationTime: Int64) {
        self.id = id
        self.className = className
        self.parent = parent
        self.name = id
        self.creationTime = creationTime
    }

    /// The pipeline this object belongs to; a pipeline is its own.
    public var mediaPipeline: MediaPipeline? {
        var node: MediaObject? = self
        while let n = node {
            if let p = n as? MediaPipeline { return p }
            node = n.parent
        }
        return nil
    }

    /// Called once when the object is released, children first. Subclasses
    /// that own media resources free them here.
    open func didRelease() {}

    func setTag(_ key: String, _ value: String) {
        if let i = tags.firstIndex(where: { $0.key == key }) {
            tags[i].value = value
        } else {
            tags.append((key, value))
        }
    }

    var tagsJSON: JSONValue {
        .array(
            tags.map {
                ["__module__": "kurento", "__type__": "Tag", "key": .string($0.key), "value": .string($0.value)]
            })
    }
}

extension MediaObject {
    static let kmdBinding = ClassBinding(
        className: "MediaObject",
        methods: [
            "addTag": { obj, args, _ throws(KurentoError) in
                obj.setTag(args.string("key") ?? "", args.string("value") ?? "")
                return .void
            },
            "removeTag": { obj, args, _ throws(KurentoError) in
                obj.tags.removeAll { $0.key == args.string("key") }
                return .void
            },
            "getTag": { obj, args, _ throws(KurentoError) in
                let key = args.string("key") ?? ""
                guard let t = obj.tags.first(where: { $0.key == key }) else {
                    throw KurentoError(.mediaObjectTagKeyNotFound, "Tag key not found")
                }
                return .value(.string(t.value))
            },
            "getTags": { obj, _, _ throws(KurentoError) in .value(obj.tagsJSON) },
        ],
        getters: [
            "mediaPipeline": { obj, _ in obj.mediaPipeline.map { .string($0.id) } ?? .null },
            "parent": { obj, _ in obj.parent.map { .string($0.id) } ?? .null },
            "id": { obj, _ in .string(obj.id) },
            "children": { obj, _ in .array(obj.children.map { .string($0.id) }) },
            "name": { obj, _ in .string(obj.name) },
            "sendTagsInEvents": { obj, _ in .bool(obj.sendTagsInEvents) },
            "creationTime": { obj, _ in .int(obj.creationTime) },
        ],
        setters: [
            "name": { obj, value, _ throws(KurentoError) in obj.name = value.stringValue ?? obj.name },
            "sendTagsInEvents": { obj, value, _ throws(KurentoError) in
                obj.sendTagsInEvents = value.boolValue ?? false
            },
        ],
        // `Error` is raised through MediaSet.raiseError by any object whose
        // media fails; the pipeline raises UNEXPECTED_PIPELINE_ERROR.
        events: ["Error"]
    )
}
