public import JSONRPC

/// Checks JSON values against module-descriptor types and normalises them.
///
/// Leniency follows KMS (jsoncpp's `isConvertibleTo`, protocol §1.8): numbers
/// and booleans pass where a String is expected, booleans and null pass where
/// a number is expected, but a string never passes for a number or boolean.
/// Registers accept missing `__type__`/`__module__` and ignore unknown members.
public struct Marshaller {
    public let catalog: KMDCatalog
    /// Resolves an object id to its class name, or throws 40101/40109.
    public let resolveObject: (String) throws(KurentoError) -> String

    public init(catalog: KMDCatalog, resolveObject: @escaping (String) throws(KurentoError) -> String) {
        self.catalog = catalog
        self.resolveObject = resolveObject
    }

    /// Checks a parameter list: required ones present, all well typed,
    /// defaults filled in. Unknown keys are ignored (pyforkurento sends some).
    public func arguments(_ params: [KMDParam], from given: [String: JSONValue]?) throws(KurentoError) -> Arguments {
        var values: [String: JSONValue] = [:]
        for p in params {
            if let v = given?[p.name], !(v.isNull && p.optional) {
                values[p.name] = try convert(v, to: p.type, name: p.name)
            } else if let d = p.defaultValue {
                values[p.name] = d
            } else if !p.optional {
                throw .missingParam(p.name)
            }
        }
        return Arguments(values)
    }

    public func convert(_ value: JSONValue, to type: KMDType, name: String) throws(KurentoError) -> JSONValue {
        switch type {
        case .list(let inner):
            guard case .array(let items) = value else { throw .wrongParam(name, "an array") }
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try convert(item, to: inner, name: name)) }
            return .array(out)
        case .map(let inner):
            guard case .object(let members) = value else { throw .wrongParam(name, "an object") }
            var out: [String: JSONValue] = [:]
            for (k, v) in members { out[k] = try convert(v, to: inner, name: name) }
            return .object(out)
        case .named(let typeName):
            return try convertNamed(value, typeName, name: name)
        }
    }

    private func convertNamed(_ value: JSONValue, _ typeName: String, name: String) throws(KurentoError) -> JSONValue {
        switch typeName {
        case "String":
            switch value {
            case .string: return value
            case .int(let i): return .string(String(i))
            case .double(let d): return .string(String(d))
            case .bool(let b): return .string(b ? "true" : "false")
            default: throw .wrongParam(name, "a string")
            }
        case "int", "int64":
            switch value {
            case .int: return value
            case .double: if let i = value.intValue { return .int(i) }
            case .bool(let b): return .int(b ? 1 : 0)
            case .null: return .int(0)
            default: break
            }
            throw .wrongParam(name, "an integer")
        case "float", "double":
            switch value {
            case .int(let i): return .double(Double(i))
            case .double: return value
            case .bool(let b): return .double(b ? 1 : 0)
            case .null: return .double(0)
            default: throw .wrongParam(name, "a number")
            }
        case "boolean":
            switch value {
            case .bool: return value
            case .int(let i): return .bool(i != 0)
            case .double(let d): return .bool(d != 0)
            case .null: return .bool(false)
            default: throw .wrongParam(name, "a boolean")
            }
        default:
            break
        }
        if let complex = catalog.complexTypes[typeName] {
            switch complex.format {
            case .enumeration(let values):
                guard case .string(let s) = value, values.contains(s) else {
                    throw KurentoError(.marshallError, "Invalid value for '\(typeName)'")
                }
                return value
            case .register:
                return try convertRegister(value, typeName, name: name)
            }
        }
        if catalog.classes[typeName] != nil {
            guard case .string(let id) = value else { throw .wrongParam(name, "a string") }
            let actual = try resolveObject(id)
            guard catalog.isSubclass(actual, of: typeName) else {
                throw .wrongParam(name, "a \(typeName)")
            }
            return value
        }
        throw KurentoError(.unexpectedError, "Unknown type '\(typeName)' for '\(name)'")
    }

    private func convertRegister(_ value: JSONValue, _ declared: String, name: String) throws(KurentoError) -> JSONValue {
        guard case .object(let members) = value else { throw .wrongParam(name, "an object") }
        var concrete = declared
        if let t = members["__type__"] {
            guard case .string(let s) = t, catalog.isRegister(s, subtypeOf: declared) else {
                throw KurentoError(.unexpectedError, "Unknown type '\(t)' for '\(name)'")
            }
            concrete = s
        }
        if let m = members["__module__"], m != .string("kurento") {
            throw KurentoError(.unexpectedError, "Unknown module '\(m)' for '\(name)'")
        }
        var out: [String: JSONValue] = ["__module__": "kurento", "__type__": .string(concrete)]
        for p in catalog.registerProperties(of: concrete) ?? [] {
            if let v = members[p.name], !v.isNull {
                out[p.name] = try convert(v, to: p.type, name: p.name)
            } else if let d = p.defaultValue {
                out[p.name] = d
            } else if !p.optional {
                throw .missingParam(p.name)
            }
        }
        return .object(out)
    }
}

/// Checked arguments of an operation or constructor, defaults filled in.
public struct Arguments: Sendable {
    public var values: [String: JSONValue]

    public init(_ values: [String: JSONValue] = [:]) { self.values = values }

    public subscript(name: String) -> JSONValue? { values[name] }

    public func string(_ name: String) -> String? { values[name]?.stringValue }
    public func int(_ name: String) -> Int64? { values[name]?.intValue }
    public func bool(_ name: String) -> Bool? { values[name]?.boolValue }
}
