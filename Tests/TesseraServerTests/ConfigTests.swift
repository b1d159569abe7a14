import Foundation
import Logging
import Testing
import TesseraServer
import Transport

struct ConfigTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func load(file text: String? = nil, env: [String: String] = [:]) throws(ConfigError) -> TesseraConfig {
        var loader = ConfigLoader()
        if let text {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID()).json").path
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            defer { try? FileManager.default.removeItem(atPath: path) }
            try loader.apply(fileAt: path)
        }
        try loader.apply(environment: env)
        return try loader.resolve()
    }

    @Test func shippedConfigLoadsWithDocumentedDefaults() throws {
        var loader = ConfigLoader()
        try loader.apply(fileAt: Self.repoRoot.appendingPathComponent("Config/tessera.json").path)
        let c = try loader.resolve()
        #expect(c.address == "0.0.0.0")
        #expect(c.port == 8888)
        #expect(c.kurentoPath == "/kurento")
        #expect(c.roomPath == "/room")
        #expect(c.gracePeriod == .seconds(240))
        #expect(c.udpPortRange == 40100...49999)
        #expect(c.iceMode == .lite)
        #expect(c.iceUDPPort == 40000)
        #expect(c.iceHostAddresses.isEmpty)
        #expect(c.logLevel(for: "ice") == .warning)
        #expect(c.logLevel(for: "mixer") == .info)
    }

    @Test func environmentOverridesFile() throws {
        let c = try load(file: #"{"server":{"port":9000}}"#, env: [
            "TESSERA_PORT": "9100", "TESSERA_RECORDING_DIR": "/tmp/rec",
            "TESSERA_ICE_HOST_ADDRESSES": "127.0.0.1, 10.0.0.2", "TESSERA_LOG_AREAS": "ice=debug,rtp=trace",
            "TESSERA_GRACE_PERIOD": "5", "TESSERA_METADATA": #"{"site":"lab"}"#,
        ])
        #expect(c.port == 9100)
        #expect(c.recordingDirectory == "/tmp/rec")
        #expect(c.iceHostAddresses == ["127.0.0.1", "10.0.0.2"])
        #expect(c.logLevel(for: "ice") == .debug)
        #expect(c.logLevel(for: "rtp") == .trace)
        #expect(c.gracePeriod == .seconds(5))
        #expect(c.metadata == #"{"site":"lab"}"#)
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var name: String
        var file: String?
        var env: [String: String] = [:]
        var key: String
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "port not a number", file: #"{"server":{"port":"abc"}}"#, key: "server.port"),
        BadCase(name: "port out of range", file: #"{"server":{"port":70000}}"#, key: "server.port"),
        BadCase(name: "unknown key", file: #"{"server":{"prot":1}}"#, key: "server.prot"),
        BadCase(name: "unknown section", file: #"{"video":{}}"#, key: "video"),
        BadCase(name: "path without slash", file: #"{"server":{"kurentoPath":"kurento"}}"#, key: "server.kurentoPath"),
        BadCase(name: "list of non-strings", file: #"{"ice":{"hostAddresses":[1]}}"#, key: "ice.hostAddresses"),
        BadCase(name: "bad log level", file: #"{"logging":{"level":"loud"}}"#, key: "logging.level"),
        BadCase(name: "unknown log area", file: #"{"logging":{"areas":{"video":"info"}}}"#, key: "logging.areas.video"),
        BadCase(name: "inverted port range", file: #"{"ice":{"udpPortMin":50000,"udpPortMax":40000}}"#, key: "ice.udpPortMax"),
        BadCase(name: "same paths", file: #"{"server":{"roomPath":"/kurento"}}"#, key: "server.roomPath"),
        BadCase(name: "not JSON", file: #"{"server":"#, key: "(file)"),
        BadCase(name: "bad env", file: nil, env: ["TESSERA_PORT": "x"], key: "server.port"),
    ]

    @Test(arguments: badCases)
    func badConfigNamesTheKey(_ c: BadCase) {
        do {
            _ = try load(file: c.file, env: c.env)
            Issue.record("accepted a bad config")
        } catch {
            #expect(error.key == c.key)
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains("'\(c.key)'"))
        }
    }

    /// Every setting, its variable and its flag are documented in Config/README.md
    /// and present in the shipped Config/tessera.json.
    @Test func everySettingIsDocumented() throws {
        let doc = try String(contentsOf: Self.repoRoot.appendingPathComponent("Config/README.md"), encoding: .utf8)
        let shipped = try String(contentsOf: Self.repoRoot.appendingPathComponent("Config/tessera.json"), encoding: .utf8)
        for s in ConfigSetting.all {
            #expect(doc.contains("`\(s.key)`"), "\(s.key) undocumented")
            #expect(doc.contains("`\(s.env)`"), "\(s.env) undocumented")
            if let flag = s.flag { #expect(doc.contains("`--\(flag)`"), "--\(flag) undocumented") }
            #expect(shipped.contains("\"\(s.key.split(separator: ".").last!)\""), "\(s.key) missing from tessera.json")
        }
    }
}
