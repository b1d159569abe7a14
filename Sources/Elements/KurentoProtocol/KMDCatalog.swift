import Foundation
import JSONRPC

/// All module descriptors the server implements, with the lookups the
/// protocol needs: class chains for `describe`, operations, properties and
/// events including inherited ones, complex types for marshalling.
public final class KMDCatalog: Sendable {
    public let modules: [KMDModule]
    public let classes: [String: KMDClass]
    public let complexTypes: [String: KMDComplexType]
    public let events: [String: KMDEvent]

    /// The descriptors bundled with the server (`Sources/Elements/KMD`).
    public static let bundled: KMDCatalog = {
        do {
            return try KMDCatalog(moduleTexts: ["core", "elements", "filters"].map(bundledText))
        } catch {
            // The bundle is part of the build; a broken one is a packaging bug.
            fatalError("bundled kmd descriptors are unreadable: \(error)")
        }
    }()

    static func bundledText(_ module: String) throws -> String {
        guard let url = Bundle.module.url(forResource: "\(module).kmd", withExtension: "json", subdirectory: "KMD")
        else { throw KMDModule.FormatError(description: "missing \(module).kmd.json in bundle") }
        return try String(contentsOf: url, encoding: .utf8)
    }

    public init(moduleTexts: [String]) throws {
        let modules = try moduleTexts.map { try KMDModule(text: $0) }
        self.modules = modules
        var classes: [String: KMDClass] = [:]
        var types: [String: KMDComplexType] = [:]
        var events: [String: KMDEvent] = [:]
        for m in modules {
            for c in m.classes { classes[c.name] = c }
            for t in m.complexTypes { types[t.name] = t }
            for e in m.events { events[e.name] = e }
        }
        self.classes = classes
        self.complexTypes = types
        self.events = events
    }

    public func module(named name: String) -> KMDModule? { modules.first { $0.name == name } }

    /// The class and its ancestors, nearest first: `[C, parent, ..., MediaObject]`.
    public func chain(of className: String) -> [KMDClass] {
        var out: [KMDClass] = []
        var next: String? = className
        while let n = next, let c = classes[n], out.count < 32 {
            out.append(c)
            next = c.extends
        }
        return out
    }

    /// What `describe` returns as `hierarchy`: qualified ancestor names, nearest first.
    public func hierarchy(of className: String) -> [String] {
        chain(of: className).dropFirst().map { "kurento.\($0.name)" }
    }

    public func isSubclass(_ className: String, of ancestor: String) -> Bool {
        chain(of: className).contains { $0.name == ancestor }
    }

    /// Resolves `WebRtcEndpoint` or `kurento.WebRtcEndpoint` to a class name.
    public func className(forType type: String) -> String? {
        let bare = type.hasPrefix("kurento.") ? String(type.dropFirst("kurento.".count)) : type
        return classes[bare] != nil ? bare : nil
    }

    public func method(_ name: String, in className: String) -> (KMDClass, KMDMethod)? {
        for c in chain(of: className) {
            if let m = c.methods.first(where: { $0.name == name }) { return (c, m) }
        }
        return nil
    }

    public func property(_ name: String, in className: String) -> (KMDClass, KMDProperty)? {
        for c in chain(of: className) {
            if let p = c.properties.first(where: { $0.name == name }) { return (c, p) }
        }
        return nil
    }

    public func allProperties(of className: String) -> [KMDProperty] {
        chain(of: className).flatMap(\.properties)
    }

    public func allEvents(of className: String) -> [String] {
        chain(of: className).flatMap(\.events)
    }

    /// The register type and its ancestors' properties, base first.
    public func registerProperties(of typeName: String) -> [KMDProperty]? {
        guard let t = complexTypes[typeName], case .register(let ext, let props) = t.format else { return nil }
        let inherited = ext.flatMap { registerProperties(of: $0) } ?? []
        return inherited + props
    }

    public func isRegister(_ name: String, subtypeOf base: String) -> Bool {
        var next: String? = name
        var steps = 0
        while let n = next, steps < 32 {
            if n == base { return true }
            guard let t = complexTypes[n], case .register(let ext, _) = t.format else { return false }
            next = ext
            steps += 1
        }
        return false
    }

    /// Event properties including those of the base events (`RaiseBase`, `Media`).
    public func eventProperties(of name: String) -> [KMDProperty] {
        guard let e = events[name] else { return [] }
        return (e.extends.map { eventProperties(of: $0) } ?? []) + e.properties
    }
}
