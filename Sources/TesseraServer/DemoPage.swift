import Foundation
import HTTPTypes

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

/// The meeting page (`/demo`) and its files, read from the bundle once, and
/// the Content-Security-Policy they are served with: scripts and styles from
/// this server only (no inline ones), WebSockets back to it only, media from
/// the page's own streams, nothing framed or fetched from elsewhere.
struct DemoPage: Sendable {
    struct File: Sendable {
        let data: Data
        let contentType: String
    }

    /// Path under `/demo/` -> file. The page itself is `index.html`, served at `/demo`.
    let files: [String: File]

    static let contentSecurityPolicy = [
        "default-src 'none'",
        // The page's module and the room client it imports (/sdk/tessera-room.js).
        "script-src 'self'",
        "style-src 'self'",
        // 'self' covers ws:// and wss:// to the page's own host and port.
        "connect-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob: mediastream:",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static let types = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml",
    ]

    /// Reads `names` (files of the bundle's `Demo` folder).
    init(bundle: Bundle, names: [String] = ["index.html", "meeting.js", "meeting.css", "favicon.svg"]) {
        var files: [String: File] = [:]
        for name in names {
            let base = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
            guard let url = bundle.url(forResource: "Demo/\(base)", withExtension: ext), let data = try? Data(contentsOf: url) else { continue }
            files[name] = File(data: data, contentType: Self.types[ext] ?? "application/octet-stream")
        }
        self.files = files
    }
}
