public import JSONRPC

/// A type reference in a module descriptor: `String`, `MediaElement`,
/// `Tag[]` (list) or `String<>` (map keyed by string).
public indirect enum KMDType: Sendable, Hashable, CustomStringConvertible {
    case named(String)
    case list(KMDType)
    case map(KMDType)

    public init(_ text: String) {
        if text.hasSuffix("[]") {
            self = .list(KMDType(String(text.dropLast(2))))
        } else if text.hasSuffix("<>") {
            self = .map(KMDType(String(text.dropLast(2))))
        } else {
            self = .named(text)
        }
    }

    public var description: String {
        switch self {
        case .named(let n): n
        case .list(let t): "\(t)[]"
        case .map(let t): "\(t)<>"
        }
    }
}

public struct KMDParam: Sendable, Hashable {
    public var name: String
    public var type: KMDType
    public var optional: Bool
    public var defaultValue: JSONValue?
}

public struct KMDProperty: Sendable, Hashable {
    public var name: String
    public var type: KMDType
    public var readOnly: Bool
    public var final: Bool
    public var optional: Bool
    public var defaultValue: JSONValue?

    /// `final` and `readOnly` properties have a getter only (protocol §1.7).
    public var isSettable: Bool { !readOnly && !final }
}

public struct KMDMethod: Sendable, Hashable {
    public var name: String
    public var params: [KMDParam]
    public var returnType: KMDType?
}

public struct KMDClass: Sendable, Hashable {
    public var name: String
    public var module: String
    public var extends: String?
    public var isAbstract: Bool
    /// nil when the class declares no constructor (abstract classes).
    public var constructorParams: [KMDParam]?
    public var properties: [KMDProperty]
    public var methods: [KMDMethod]
    public var events: [String]
}

public struct KMDComplexType: Sendable, Hashable {
    public enum Format: Sendable, Hashable {
        case enumeration([String])
        case register(extends: String?, properties: [KMDProperty])
    }
    public var name: String
    public var module: String
    public var format: Format
}

public struct KMDEvent: Sendable, Hashable {
    public var name: String
    public var extends: String?
    public var properties: [KMDProperty]
}

/// One merged module descriptor (`core`, `elements`, `filters`).
public struct KMDModule: Sendable {
    public var name: String
    public var version: String
    public var classes: [KMDClass]
    public var complexTypes: [KMDComplexType]
    public var events: [KMDEvent]
    /// The descriptor text as shipped, returned by `ServerManager.getKmd`.
    public var text: String

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(text: String) throws {
        let root: JSONValue
        do { root = try JSONParser.parse(text) } catch { throw FormatError(description: "kmd: \(error)") }
        guard let name = root["name"]?.stringValue else { throw FormatError(description: "kmd: no module name") }
        self.name = name
        self.version = root["version"]?.stringValue ?? ""
        self.text = text
        func params(_ v: JSONValue?) -> [KMDParam] {
            (v?.arrayValue ?? []).compactMap { p in
                guard let n = p["name"]?.stringValue, let t = p["type"]?.stringValue else { return nil }
                return KMDParam(
                    name: n, type: KMDType(t), optional: p["optional"]?.boolValue ?? false,
                    defaultValue: p["defaultValue"])
            }
        }
        func properties(_ v: JSONValue?) -> [KMDProperty] {
            (v?.arrayValue ?? []).compactMap { p in
                guard let n = p["name"]?.stringValue, let t = p["type"]?.stringValue else { return nil }
                return KMDProperty(
                    name: n, type: KMDType(t), readOnly: p["readOnly"]?.boolValue ?? false,
                    final: p["final"]?.boolValue ?? false, optional: p["optional"]?.boolValue ?? false,
                    defaultValue: p["defaultValue"])
            }
        }
        classes = (root["remoteClasses"]?.arrayValue ?? []).compactMap { c in
            guard let n = c["name"]?.stringValue else { return nil }
            let methods = (c["methods"]?.arrayValue ?? []).compactMap { m -> KMDMethod? in
                guard let mn = m["name"]?.stringValue else { return nil }
                return KMDMethod(
                    name: mn, params: params(m["params"]),
                    returnType: m["return"]?["type"]?.stringValue.map(KMDType.init))
            }
            return KMDClass(
                name: n, module: name, extends: c["extends"]?.stringValue,
                isAbstract: c["abstract"]?.boolValue ?? false,
                constructorParams: c["constructor"].map { params($0["params"]) },
                properties: properties(c["properties"]), methods: methods,
                events: (c["events"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        complexTypes = (root["complexTypes"]?.arrayValue ?? []).compactMap { t in
            guard let n = t["name"]?.stringValue else { return nil }
            if t["typeFormat"]?.stringValue == "ENUM" {
                return KMDComplexType(
                    name: n, module: name, format: .enumeration((t["values"]?.arrayValue ?? []).compactMap(\.stringValue)))
            }
            return KMDComplexType(
                name: n, module: name,
                format: .register(extends: t["extends"]?.stringValue, properties: properties(t["properties"])))
        }
        events = (root["events"]?.arrayValue ?? []).compactMap { e in
            guard let n = e["name"]?.stringValue else { return nil }
            return KMDEvent(name: n, extends: e["extends"]?.stringValue, properties: properties(e["properties"]))
        }
    }
}
