/// Which parts of the Kurento API (the module descriptors) the server
/// implements, and the one explicit list of what it does not implement yet,
/// each with its reason. `Tests/ElementsTests/KurentoCoverageTests.swift`
/// fails for any kmd member that is in neither, and for any entry here that
/// has since been implemented; `make coverage-page` writes
/// `docs/kurento-coverage.md` from `report`.
public enum KurentoCoverage {
    /// Keys: `Class` (the whole class: every member not bound) or
    /// `Class.member` (a method, property accessor `Class.getX`/`Class.setX`, or event).
    public static let notYetSupported: [String: String] = [
        // Media plane (WebRTC endpoints and forwarding hubs): issue 3.
        "RtpEndpoint.OnKeySoftLimit": "SDES keys are never renegotiated: libsrtp would signal the soft limit only after about 2^48 packets under one key, and that signal is not wired to the event",
        // WebRTC endpoint members not done yet (issue 3 continues).
        "MediaElement.setAudioFormat": "KMS documents these as not implemented; forwarding elements never transcode",
        "MediaElement.setVideoFormat": "KMS documents these as not implemented; forwarding elements never transcode",
        "MediaElement.getEncoderBitrate": "encoder settings apply to transcoding elements (the mixer, issue 4)",
        "MediaElement.setEncoderBitrate": "encoder settings apply to transcoding elements (the mixer, issue 4)",
        "MediaElement.getMinEncoderBitrate": "encoder settings apply to transcoding elements (the mixer, issue 4)",
        "MediaElement.setMinEncoderBitrate": "encoder settings apply to transcoding elements (the mixer, issue 4)",
        "MediaElement.getMaxEncoderBitrate": "encoder settings apply to transcoding elements (the mixer, issue 4)",
        "MediaElement.setMaxEncoderBitrate": "encoder settings apply to transcoding elements (the mixer, issue 4)",
        "MediaElement.MediaTranscodingStateChanged": "raised by transcoding elements (the mixer, issue 4)",
        "WebRtcEndpoint.getIceTcp": "ICE-TCP is not supported (UDP only)",
        "WebRtcEndpoint.setIceTcp": "ICE-TCP is not supported (UDP only)",
        // Mixer: issue 4.
        "AlphaBlending": "positioned layouts come after the grid compositor (issue 4)",
        "Mixer": "per-media routing hub; not planned before the Composite mixer exists (issue 4)",
        // Not planned for now.
        "HttpEndpoint": "HTTP ingest is not planned: browsers publish over WebRTC",
        "HttpPostEndpoint": "HTTP ingest is not planned: browsers publish over WebRTC",
        "GStreamerFilter": "arbitrary GStreamer filters need decoded media in the graph; after the mixer (issue 4)",
        "FaceOverlayFilter": "computer-vision filters (OpenCV) are out of scope for a conference server",
        "ImageOverlayFilter": "computer-vision filters (OpenCV) are out of scope for a conference server",
        "ZBarFilter": "barcode detection (zbar) is out of scope for a conference server",
    ]

    /// Constructor params the factories refuse (an error naming the reason),
    /// keyed `Class.param`. Params are not members, so they are listed apart.
    public static let refusedConstructorParams: [String: String] = [
        "RtpEndpoint.useIpv6": "plain RTP sockets are IPv4 only for now",
    ]

    public enum Status: Equatable, Sendable {
        case implemented
        case notYet(String)
        /// Neither bound nor listed: the coverage test fails on these.
        case missing
    }

    public struct Entry: Sendable {
        public var className: String
        public var kind: String  // constructor, method, getter, setter, event
        public var member: String
        public var status: Status
    }

    /// Every kmd member of every class, with its status.
    public static func entries(catalog: KMDCatalog = .bundled) -> [Entry] {
        var out: [Entry] = []
        for module in catalog.modules {
            for c in module.classes {
                let binding = Bindings.all[c.name]
                func status(_ key: String, bound: Bool) -> Status {
                    if bound { return .implemented }
                    if let r = notYetSupported["\(c.name).\(key)"] ?? notYetSupported[c.name] { return .notYet(r) }
                    return .missing
                }
                if !c.isAbstract {
                    out.append(Entry(className: c.name, kind: "constructor", member: "create",
                                     status: status("create", bound: binding?.factory != nil)))
                }
                for m in c.methods {
                    out.append(Entry(className: c.name, kind: "method", member: m.name,
                                     status: status(m.name, bound: binding?.methods[m.name] != nil)))
                }
                for p in c.properties {
                    let getter = "get" + p.name.prefix(1).uppercased() + p.name.dropFirst()
                    out.append(Entry(className: c.name, kind: "getter", member: getter,
                                     status: status(getter, bound: binding?.getters[p.name] != nil)))
                    if p.isSettable {
                        let setter = "set" + p.name.prefix(1).uppercased() + p.name.dropFirst()
                        out.append(Entry(className: c.name, kind: "setter", member: setter,
                                         status: status(setter, bound: binding?.setters[p.name] != nil)))
                    }
                }
                for e in c.events {
                    out.append(Entry(className: c.name, kind: "event", member: e,
                                     status: status(e, bound: binding?.events.contains(e) == true)))
                }
            }
        }
        return out
    }

    /// Table entries that no longer describe anything unimplemented.
    public static func staleEntries(catalog: KMDCatalog = .bundled) -> [String] {
        let all = entries(catalog: catalog)
        return notYetSupported.keys.sorted().filter { key in
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            let matching = all.filter { $0.className == parts[0] && (parts.count == 1 || $0.member == parts[1]) }
            return matching.isEmpty || matching.allSatisfy { $0.status == .implemented }
        }
    }

    /// The coverage page (Markdown).
    public static func report(catalog: KMDCatalog = .bundled) -> String {
        let all = entries(catalog: catalog)
        let done = all.filter { $0.status == .implemented }.count
        let notYet = all.filter { if case .notYet = $0.status { true } else { false } }.count
        var lines = [
            "# Kurento API coverage",
            "",
            "Generated by `make coverage-page` from the module descriptors (`Sources/Elements/KMD`) and the",
            "server's bindings; `Tests/ElementsTests/KurentoCoverageTests.swift` fails when this page is out of date",
            "or when a descriptor member is neither implemented nor listed as not yet supported.",
            "",
            "Members counted: constructors, methods, property getters and setters, and events, per class as",
            "declared in the kmd (inherited members are counted once, on the class that declares them).",
            "",
            "**\(done) implemented, \(notYet) not yet supported, \(all.count) in all.**",
            "",
            "| class | module | implemented | not yet | status |",
            "| --- | --- | --- | --- | --- |",
        ]
        for module in catalog.modules {
            for c in module.classes.sorted(by: { $0.name < $1.name }) {
                let mine = all.filter { $0.className == c.name }
                let d = mine.filter { $0.status == .implemented }.count
                let reason = mine.isEmpty ? "no members of its own" : notYetSupported[c.name].map { "not yet: \($0)" } ?? (d == mine.count ? "complete" : "partial")
                lines.append("| \(c.name) | \(module.name) | \(d) | \(mine.count - d) | \(reason) |")
            }
        }
        lines += ["", "## Members", ""]
        for module in catalog.modules {
            for c in module.classes.sorted(by: { $0.name < $1.name }) {
                let mine = all.filter { $0.className == c.name }
                guard !mine.isEmpty else { continue }
                lines.append("### \(c.name)\(c.isAbstract ? " (abstract)" : "")")
                lines.append("")
                for e in mine {
                    switch e.status {
                    case .implemented: lines.append("- [x] \(e.kind) `\(e.member)`")
                    case .notYet(let r): lines.append("- [ ] \(e.kind) `\(e.member)`: \(r)")
                    case .missing: lines.append("- [ ] \(e.kind) `\(e.member)`: MISSING")
                    }
                }
                lines.append("")
            }
        }
        lines += ["## Tessera extensions", "", "Members beyond the descriptors, open to any Kurento client:", ""]
        for e in TesseraExtensions.documentation { lines.append("- `\(e.member)`: \(e.summary)") }
        lines += ["", "## Constructor params refused", ""]
        for key in refusedConstructorParams.keys.sorted() {
            lines.append("- `\(key)`: \(refusedConstructorParams[key]!)")  // key from the table itself
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }
}
