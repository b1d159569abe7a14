import COpenSSL
import Foundation
import HTTPTypes

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

/// The demo page and the Content-Security-Policy it is served with: scripts
/// and styles only from the page itself (its one inline script and style,
/// allowed by their SHA-256), WebSockets only back to the server, nothing
/// framed or fetched from elsewhere.
struct DemoPage: Sendable {
    let html: Data
    let contentSecurityPolicy: String

    init(html: Data) {
        self.html = html
        let text = String(decoding: html, as: UTF8.self)
        let scripts = Self.blocks(of: "script", in: text).map { "'sha256-\(Self.sha256Base64($0))'" }
        let styles = Self.blocks(of: "style", in: text).map { "'sha256-\(Self.sha256Base64($0))'" }
        contentSecurityPolicy = [
            "default-src 'none'",
            "script-src " + (scripts.isEmpty ? "'none'" : scripts.joined(separator: " ")),
            "style-src " + (styles.isEmpty ? "'none'" : styles.joined(separator: " ")),
            // 'self' covers ws:// and wss:// to the page's own host and port.
            "connect-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob: mediastream:",
            "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    /// The text between each `<tag>` (no attributes) and its `</tag>`, as the browser hashes it.
    static func blocks(of tag: String, in text: String) -> [String] {
        var out: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest[open.upperBound...].range(of: "</\(tag)>") {
            out.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return out
    }

    static func sha256Base64(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &digest) }
        return Data(digest).base64EncodedString()
    }
}
