import Foundation
import Rooms

/// An IPv4 or IPv6 network in CIDR form ("10.0.0.0/8", "::1/128"); a bare
/// address is a network of one (/32 or /128).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes.
    let bytes: [UInt8]
    let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let bytes = Self.bytes(of: first) else { return nil }
        let maxPrefix = bytes.count * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { return nil }
            prefix = p
        }
        self.bytes = bytes
        self.prefix = prefix
    }

    public var description: String { "\(Self.text(of: bytes))/\(prefix)" }

    /// Whether `address` (4 or 16 bytes) is in this network. An IPv4-mapped
    /// IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports) is
    /// matched as the IPv4 address it carries.
    public func contains(_ address: [UInt8]) -> Bool {
        var address = address
        if address.count == 16, bytes.count == 4, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xff, address[11] == 0xff {
            address = Array(address[12...])
        }
        guard address.count == bytes.count else { return false }
        var left = prefix
        for i in 0..<bytes.count where left > 0 {
            let bits = min(8, left)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if address[i] & mask != bytes[i] & mask { return false }
            left -= bits
        }
        return true
    }

    /// The bytes of a textual IPv4 or IPv6 address (brackets and a zone allowed), or nil.
    public static func bytes(of text: String) -> [UInt8]? {
        var t = text
        if t.hasPrefix("["), t.hasSuffix("]") { t = String(t.dropFirst().dropLast()) }
        if let zone = t.firstIndex(of: "%") { t = String(t[..<zone]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, t, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, t, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func text(of bytes: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        bytes.withUnsafeBytes { src in _ = inet_ntop(family, src.baseAddress, &out, socklen_t(out.count)) }
        return String(cString: out)
    }

    public static let loopback = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]
}

/// Who may open the signalling WebSockets (docs/security.md): the Kurento
/// protocol is for application servers, from allowed networks and with the
/// shared secret when one is set; browsers (requests with an `Origin`) only
/// from allowed origins. Pure: the listener hands it the request's facts.
public struct AccessPolicy: Sendable {
    /// A refused upgrade: the HTTP status and the reason (also logged).
    public struct Refusal: Sendable, Equatable, Error {
        public var status: Int
        public var reason: String
    }

    public var kurentoAllow: [IPNetwork] = IPNetwork.loopback
    public var kurentoSecret: String?
    /// Origins a browser may connect from besides the server's own and the
    /// loopback ones: exact origins ("https://meet.example.com"), or "*" for any.
    public var allowedOrigins: [String] = []

    public init() {}

    /// `/kurento`: the peer's address must be allowed, and the secret given when one is set
    /// (`Authorization: Bearer SECRET`, or `?secret=SECRET` for clients that cannot set headers).
    public func checkKurento(remote: String?, authorization: String?, querySecret: String?) -> Refusal? {
        guard let remote, let address = IPNetwork.bytes(of: remote), kurentoAllow.contains(where: { $0.contains(address) }) else {
            return Refusal(status: 403, reason: "address \(remote ?? "unknown") is not in server.kurentoAllow")
        }
        guard let secret = kurentoSecret, !secret.isEmpty else { return nil }
        guard let given = Self.bearerToken(authorization) ?? querySecret else {
            return Refusal(status: 401, reason: "the Kurento secret is required")
        }
        guard Self.matches(given, secret) else { return Refusal(status: 401, reason: "wrong Kurento secret") }
        return nil
    }

    /// Both WebSockets: a request without `Origin` is not from a browser and passes; a
    /// browser's must be the server's own origin (same host and port as `Host`), a
    /// loopback one, or listed in `allowedOrigins`.
    public func checkOrigin(_ origin: String?, host: String?) -> Refusal? {
        guard let origin else { return nil }
        if allowedOrigins.contains("*") || allowedOrigins.contains(origin) { return nil }
        // Browsers send http(s) origins; some WebSocket libraries send their ws(s) URL.
        guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https", "ws", "wss"].contains(scheme), let originHost = url.host else {
            return Refusal(status: 403, reason: "origin '\(origin)' is not allowed")
        }
        if originHost == "localhost" { return nil }
        if let address = IPNetwork.bytes(of: originHost), IPNetwork.loopback.contains(where: { $0.contains(address) }) { return nil }
        if let host {
            // WebSocket libraries (the cluster's own relay among them) send the URL they
            // opened, without its port, as their origin: no browser sends a ws(s) origin.
            if scheme == "ws" || scheme == "wss", url.port == nil,
                originHost.lowercased() == Self.splitAuthority(host).host.lowercased()
            { return nil }
            let defaultPort = scheme == "https" || scheme == "wss" ? 443 : 80
            let originAuthority = "\(originHost.lowercased()):\(url.port ?? defaultPort)"
            let hostParts = Self.splitAuthority(host)
            if originAuthority == "\(hostParts.host.lowercased()):\(hostParts.port ?? defaultPort)" { return nil }
        }
        return Refusal(status: 403, reason: "origin '\(origin)' is not allowed (server.allowedOrigins)")
    }

    /// "host:port", "[v6]:port" or "host".
    static func splitAuthority(_ text: String) -> (host: String, port: Int?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            return (String(text[..<colon]), Int(text[text.index(after: colon)...]))
        }
        return (text, nil)
    }

    /// The token of an `Authorization: Bearer TOKEN` header, or nil.
    static func bearerToken(_ authorization: String?) -> String? {
        guard let auth = authorization, auth.lowercased().hasPrefix("bearer ") else { return nil }
        return String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// Whether `given` is `secret`, compared in constant time.
    static func matches(_ given: String, _ secret: String) -> Bool {
        RoomToken.constantTimeEqual(Array(given.utf8), Array(secret.utf8))
    }
}
