import JSONRPC
import Logging
import Transport

/// kmd `MediaPipeline`: the container of elements and hubs. Releasing it
/// releases everything inside (protocol §1.10).
public final class MediaPipeline: MediaObject {
    /// When set, elements add latency figures to `getStats` (kmd `latencyStats`).
    public var latencyStats = false
    /// The media loop every element of this pipeline runs on, chosen when the first one is created.
    private(set) var mediaLoop: MediaLoop?

    func assignLoop(_ group: MediaLoopGroup) -> MediaLoop {
        if let l = mediaLoop { return l }
        let l = group.nextLoop()
        mediaLoop = l
        return l
    }

    /// Its elements' memory goes back to the kernel once their nodes have closed.
    override public func didRelease() {
        MemoryTrim.request()
    }

    /// A Graphviz description of the pipeline's objects, nested by ownership.
    /// Kurento returns GStreamer's graph here; ours is the element graph,
    /// which is what a user debugging a meeting wants to see.
    func graphDOT() -> String {
        var lines = ["digraph \"\(name)\" {", "  rankdir=LR;", "  node [shape=box];"]
        func emit(_ obj: MediaObject, indent: String) {
            if obj.children.isEmpty {
                lines.append("\(indent)\"\(obj.id)\" [label=\"\(obj.className)\\n\(obj.name)\"];")
            } else {
                lines.append("\(indent)subgraph \"cluster_\(obj.id)\" {")
                lines.append("\(indent)  label=\"\(obj.className)\\n\(obj.name)\";")
                lines.append("\(indent)  \"\(obj.id)\" [label=\"\(obj.className)\"];")
                for c in obj.children { emit(c, indent: indent + "  ") }
                lines.append("\(indent)}")
            }
        }
        for c in children { emit(c, indent: "  ") }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// `getGstreamerDot` / `dumpGstreamerDot`, which MediaPipeline, MediaElement
    /// and Hub all declare: each answers with the graph of its pipeline.
    static let graphMethods: [String: ClassBinding.Method] = [
        "getGstreamerDot": { obj, _, _ throws(KurentoError) in
            .value(.string(obj.mediaPipeline?.graphDOT() ?? "digraph {}"))
        },
        "dumpGstreamerDot": { obj, _, set throws(KurentoError) in
            let pipeline = obj.mediaPipeline
            set.logger.info("pipeline graph\n\(pipeline?.graphDOT() ?? "")", metadata: ["pipeline": "\(pipeline?.id ?? "")"])
            return .void
        },
    ]

    static let pipelineBinding = ClassBinding(
        className: "MediaPipeline",
        methods: graphMethods,
        getters: ["latencyStats": { obj, _ in .bool((obj as! MediaPipeline).latencyStats) }],
        setters: [
            "latencyStats": { obj, value, _ throws(KurentoError) in
                (obj as! MediaPipeline).latencyStats = value.boolValue ?? false
            }
        ],
        factory: { ctx, _, _ throws(KurentoError) in
            MediaPipeline(id: ctx.id, className: ctx.className, parent: nil, creationTime: ctx.creationTime)
        }
    )
}
