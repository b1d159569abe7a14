import COpenSSL
import Foundation
import JSONRPC

/// Why a room token was refused.
public enum RoomTokenError: Error, Sendable, CustomStringConvertible {
    case malformed, unsupportedAlgorithm(String), badSignature, expired, missingClaim(String)

    public var description: String {
        switch self {
        case .malformed: "not a JWT (header.payload.signature, base64url)"
        case .unsupportedAlgorithm(let a): "algorithm \(a) is not accepted (HS256 only)"
        case .badSignature: "the signature does not match"
        case .expired: "the token has expired"
        case .missingClaim(let c): "claim '\(c)' is missing or invalid"
        }
    }
}

/// Room tokens: JWTs (RFC 7519) signed with HS256 and the server's key,
/// carrying `room`, `user`, `role` (moderator | publisher | subscriber) and
/// optionally `exp` (seconds since the epoch).
public enum RoomToken {
    public struct Claims: Sendable, Equatable {
        public var room: String
        public var user: String
        public var role: RoomRole
    }

    public static func verify(_ token: String, key: String, now: Int64) throws(RoomTokenError) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = base64URLDecode(parts[0]), let payloadBytes = base64URLDecode(parts[1]),
            let signature = base64URLDecode(parts[2]),
            let header = try? JSONParser.parse(String(decoding: headerBytes, as: UTF8.self)),
            let payload = try? JSONParser.parse(String(decoding: payloadBytes, as: UTF8.self))
        else { throw .malformed }
        let alg = header["alg"]?.stringValue ?? "?"
        guard alg == "HS256" else { throw .unsupportedAlgorithm(alg) }
        let expected = hmacSHA256(key: Array(key.utf8), message: Array("\(parts[0]).\(parts[1])".utf8))
        guard constantTimeEqual(expected, signature) else { throw .badSignature }
        if let exp = payload["exp"]?.intValue, exp <= now { throw .expired }
        guard let room = payload["room"]?.stringValue else { throw .missingClaim("room") }
        guard let user = payload["user"]?.stringValue else { throw .missingClaim("user") }
        guard let role = RoomRole(rawValue: payload["role"]?.stringValue ?? "publisher") else { throw .missingClaim("role") }
        return Claims(room: room, user: user, role: role)
    }

    /// Makes a token (for tests, the demo page's helper and operators' scripts).
    public static func sign(room: String, user: String, role: RoomRole, key: String, expires: Int64? = nil) -> String {
        let header = base64URLEncode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        var claims: [String: JSONValue] = ["room": .string(room), "user": .string(user), "role": .string(role.rawValue)]
        if let expires { claims["exp"] = .int(expires) }
        let payload = base64URLEncode(Array(JSONWriter.string(.object(claims)).utf8))
        let signature = hmacSHA256(key: Array(key.utf8), message: Array("\(header).\(payload)".utf8))
        return "\(header).\(payload).\(base64URLEncode(signature))"
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

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
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
