import Foundation
import HTTPTypes

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

/// Files served as they are from a folder of the bundle (the meeting page,
/// the room client), read once at start.
struct BundledFiles: Sendable {
    struct File: Sendable {
        let data: Data
        let contentType: String
    }

    /// File name -> file.
    let files: [String: File]

    static let types = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "ts": "application/typescript; charset=utf-8",
    ]

    /// Reads `names` from the bundle's `folder`; a name the bundle lacks is left out.
    init(bundle: Bundle, folder: String, names: [String]) {
        var files: [String: File] = [:]
        for name in names {
            let base = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
            guard let url = bundle.url(forResource: "\(folder)/\(base)", withExtension: ext), let data = try? Data(contentsOf: url) else { continue }
            files[name] = File(data: data, contentType: Self.types[ext] ?? "application/octet-stream")
        }
        self.files = files
    }
}

/// The meeting page (`/demo`): its files, and the Content-Security-Policy they
/// are served with: scripts and styles from this server only (no inline ones),
/// WebSockets back to it only, media from the page's own streams, nothing
/// framed or fetched from elsewhere.
enum DemoPage {
    /// The page itself is `index.html`, served at `/demo`; the others under `/demo/`.
    static let names = ["index.html", "meeting.js", "meeting.css", "favicon.svg"]

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
}
