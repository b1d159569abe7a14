import COpenSSL
import Foundation
public import JSONRPC

/// Why a room token was refused.
public enum RoomTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed, unsupportedAlgorithm(String), badSignature, expired, notYetValid, missingExpiry
    case wrongAudience, wrongIssuer, missingClaim(String), unusableKey(String)

    public var description: String {
        switch self {
        case .malformed: "not a JWT (header.payload.signature, base64url)"
        case .unsupportedAlgorithm(let a): "algorithm \(a) is not accepted here"
        case .badSignature: "the signature does not match"
        case .expired: "the token has expired"
        case .notYetValid: "the token is not valid yet (nbf)"
        case .missingExpiry: "the token has no expiry (exp), which this server requires"
        case .wrongAudience: "the token is for another audience (aud)"
        case .wrongIssuer: "the token is from another issuer (iss)"
        case .missingClaim(let c): "claim '\(c)' is missing or invalid"
        case .unusableKey(let why): "the key cannot be used: \(why)"
        }
    }
}

/// How this server checks room tokens (the `rooms.token*` config keys).
public struct TokenPolicy: Sendable {
    /// HS256 shared key.
    public var hmacKey: String?
    /// ES256 public key (PEM text): tokens signed by whoever holds the private key.
    public var publicKeyPEM: String?
    /// Tokens without `exp` are refused unless this is off.
    public var requireExpiry = true
    /// When set, `aud` must be (or contain) this.
    public var audience: String?
    /// When set, `iss` must be this.
    public var issuer: String?
    /// Clock skew allowed on `exp` and `nbf`, seconds.
    public var leeway: Int64 = 30

    public init() {}
    /// Whether tokens are required at all (a key of either kind is set).
    public var enabled: Bool { hmacKey != nil || publicKeyPEM != nil }
}

/// Room tokens: JWTs (RFC 7519) signed with HS256 (shared key) or ES256 (P-256
/// key pair), carrying the grant: `room` (a name, or `*` for any), `user`,
/// `role` (moderator | publisher | subscriber), optional `publish`,
/// `subscribe` and `record` booleans (defaults from the role), and the
/// registered claims `exp`, `nbf`, `aud`, `iss`.
public enum RoomToken {
    public struct Claims: Sendable, Equatable {
        public var room: String
        public var user: String
        public var role: RoomRole
        public var canPublish: Bool
        public var canSubscribe: Bool
        public var canRecord: Bool

        /// Whether this grant lets its holder into `name`.
        public func allows(room name: String) -> Bool { room == "*" || room == name }
    }

    public static func verify(_ token: String, policy: TokenPolicy, now: Int64) throws(RoomTokenError) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = base64URLDecode(parts[0]), let payloadBytes = base64URLDecode(parts[1]),
            let signature = base64URLDecode(parts[2]),
            let header = try? JSONParser.parse(String(decoding: headerBytes, as: UTF8.self)),
            let payload = try? JSONParser.parse(String(decoding: payloadBytes, as: UTF8.self)), payload.objectValue != nil
        else { throw .malformed }
        let alg = header["alg"]?.stringValue ?? "?"
        let signed = Array("\(parts[0]).\(parts[1])".utf8)
        switch alg {
        case "HS256":
            guard let key = policy.hmacKey else { throw .unsupportedAlgorithm(alg) }
            guard constantTimeEqual(hmacSHA256(key: Array(key.utf8), message: signed), signature) else { throw .badSignature }
        case "ES256":
            guard let pem = policy.publicKeyPEM else { throw .unsupportedAlgorithm(alg) }
            guard signature.count == 64 else { throw .badSignature }
            switch es256Verify(pem: pem, message: signed, signature: signature) {
            case 1: break
            case 0: throw .badSignature
            default: throw .unusableKey("rooms.tokenPublicKey is not a P-256 public key")
            }
        default:
            throw .unsupportedAlgorithm(alg)  // "none" among them
        }
        if let exp = payload["exp"]?.intValue {
            guard now < exp + policy.leeway else { throw .expired }
        } else if policy.requireExpiry {
            throw .missingExpiry
        }
        if let nbf = payload["nbf"]?.intValue, now + policy.leeway < nbf { throw .notYetValid }
        if let audience = policy.audience {
            let aud = payload["aud"]
            let ok = aud?.stringValue == audience || (aud?.arrayValue?.contains(.string(audience)) ?? false)
            guard ok else { throw .wrongAudience }
        }
        if let issuer = policy.issuer, payload["iss"]?.stringValue != issuer { throw .wrongIssuer }
        guard let room = payload["room"]?.stringValue, !room.isEmpty else { throw .missingClaim("room") }
        guard let user = payload["user"]?.stringValue, !user.isEmpty else { throw .missingClaim("user") }
        guard let role = RoomRole(rawValue: payload["role"]?.stringValue ?? "publisher") else { throw .missingClaim("role") }
        func grant(_ name: String, _ byRole: Bool) throws(RoomTokenError) -> Bool {
            guard let v = payload[name] else { return byRole }
            guard let b = v.boolValue else { throw .missingClaim(name) }
            return b
        }
        return Claims(
            room: room, user: user, role: role,
            canPublish: try grant("publish", role != .subscriber), canSubscribe: try grant("subscribe", true),
            canRecord: try grant("record", role == .moderator))
    }

    /// Makes an HS256 token with `key` (for `tessera token`, tests and operators'
    /// scripts). `extra` adds claims (`nbf`, `aud`, `iss`, grants).
    public static func sign(
        room: String, user: String, role: RoomRole, key: String, expires: Int64? = nil, extra: [String: JSONValue] = [:]
    ) -> String {
        let (header, payload) = encode(alg: "HS256", room: room, user: user, role: role, expires: expires, extra: extra)
        return "\(header).\(payload).\(base64URLEncode(hmacSHA256(key: Array(key.utf8), message: Array("\(header).\(payload)".utf8))))"
    }

    /// Makes an ES256 token with a P-256 private key (PEM).
    public static func signES256(
        room: String, user: String, role: RoomRole, privateKeyPEM: String, expires: Int64? = nil, extra: [String: JSONValue] = [:]
    ) throws(RoomTokenError) -> String {
        let (header, payload) = encode(alg: "ES256", room: room, user: user, role: role, expires: expires, extra: extra)
        guard let signature = es256Sign(pem: privateKeyPEM, message: Array("\(header).\(payload)".utf8)) else {
            throw .unusableKey("not a P-256 private key in PEM")
        }
        return "\(header).\(payload).\(base64URLEncode(signature))"
    }

    static func encode(
        alg: String, room: String, user: String, role: RoomRole, expires: Int64?, extra: [String: JSONValue]
    ) -> (header: String, payload: String) {
        var claims: [String: JSONValue] = ["room": .string(room), "user": .string(user), "role": .string(role.rawValue)]
        if let expires { claims["exp"] = .int(expires) }
        claims.merge(extra) { _, b in b }
        return (base64URLEncode(Array(#"{"alg":"\#(alg)","typ":"JWT"}"#.utf8)), base64URLEncode(Array(JSONWriter.string(.object(claims)).utf8)))
    }

    static func es256Verify(pem: String, message: [UInt8], signature: [UInt8]) -> Int32 {
        message.withUnsafeBufferPointer { m in
            signature.withUnsafeBufferPointer { s in tessera_es256_verify(pem, m.baseAddress, m.count, s.baseAddress) }
        }
    }

    static func es256Sign(pem: String, message: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 64)
        let ok = message.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { o in tessera_es256_sign(pem, m.baseAddress, m.count, o.baseAddress) }
        }
        return ok == 1 ? out : nil
    }

    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, o.baseAddress, &length)
                }
            }
        }
        return Array(out.prefix(Int(length)))
    }

    /// Compares secrets without stopping at the first difference, nor at a length
    /// difference (the one comparison for signatures, the Kurento secret and the admin key).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }

    static func base64URLEncode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}
