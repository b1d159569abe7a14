import Elements
import Foundation
import Testing

/// Walks every remote class, method, property and event of the Kurento
/// module descriptors (`Sources/Elements/KMD`, the Apache-2.0 kmd files) and
/// fails for any that is neither implemented nor listed, with a reason, in
/// `KurentoCoverage.notYetSupported`.
struct KurentoCoverageTests {
    @Test func everyMemberIsImplementedOrListed() {
        let missing = KurentoCoverage.entries().filter { $0.status == .missing }
        #expect(missing.isEmpty, "not implemented and not listed: \(missing.map { "\($0.className).\($0.member)" })")
    }

    @Test func noStaleNotYetEntries() {
        #expect(KurentoCoverage.staleEntries().isEmpty)
    }

    @Test func catalogHasAllThreeModules() {
        let catalog = KMDCatalog.bundled
        #expect(catalog.modules.map(\.name) == ["core", "elements", "filters"])
        #expect(catalog.classes.count == 29)
        #expect(catalog.hierarchy(of: "WebRtcEndpoint") == [
            "kurento.BaseRtpEndpoint", "kurento.SdpEndpoint", "kurento.SessionEndpoint", "kurento.Endpoint",
            "kurento.MediaElement", "kurento.MediaObject",
        ])
    }

    /// docs/kurento-coverage.md is generated from the same data; it must be current.
    @Test func coveragePageIsUpToDate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = root.appendingPathComponent("docs/kurento-coverage.md")
        let report = KurentoCoverage.report() + "\n"
        if let target = ProcessInfo.processInfo.environment["TESSERA_WRITE_COVERAGE"] {
            try report.write(toFile: target, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: page, encoding: .utf8)
        #expect(committed == report, "docs/kurento-coverage.md is stale: run `make coverage-page`")
    }
}
