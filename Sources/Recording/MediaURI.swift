// Which URIs the recorder may write and the player may read.
//
// Recorder: only `file://` URIs whose path, once `..` and symlinks are
// resolved by the kernel (realpath of the parent directory, then of the file
// itself when it is a symlink), lies inside the configured recording
// directory. Player: `file://` URIs of readable regular files anywhere, and
// `http(s)://` URIs when GStreamer's HTTP source is installed.

import Foundation

/// Why a URI was refused; `message` names the problem for the client.
public struct MediaURIProblem: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The URI or its path is not acceptable (MEDIA_OBJECT_ILLEGAL_PARAM_ERROR).
        case illegal
        /// The file does not exist (URI_PATH_FILE_NOT_FOUND).
        case notFound
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

public enum PlaybackSource: Sendable, Equatable {
    case file(String)
    case http(String)
}

public enum MediaURI {
    /// The local path of a `file://` URI: `file:///abs/path` or
    /// `file://localhost/abs/path`, percent-decoded.
    public static func filePath(_ uri: String) throws(MediaURIProblem) -> String {
        guard let schemeEnd = uri.range(of: "://") else {
            throw MediaURIProblem(.illegal, "'\(uri)' is not a URI: use file:///absolute/path")
        }
        let scheme = uri[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "file" else {
            throw MediaURIProblem(.illegal, "unsupported URI scheme '\(scheme)': use file:///absolute/path")
        }
        var rest = String(uri[schemeEnd.upperBound...])
        if rest.lowercased().hasPrefix("localhost/") { rest.removeFirst("localhost".count) }
        guard rest.hasPrefix("/") else {
            throw MediaURIProblem(.illegal, "'\(uri)' names a host; only local files (file:///absolute/path) are supported")
        }
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = String(rest[..<q]) }
        guard let path = rest.removingPercentEncoding, !path.contains("\0") else {
            throw MediaURIProblem(.illegal, "'\(uri)' has an invalid percent-encoding")
        }
        return path
    }

    /// The kernel's answer for `path` (every `..` and symlink resolved), or nil if it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Where a recording of `uri` goes, checked against `directory`.
    public static func recordingPath(_ uri: String, directory: String) throws(MediaURIProblem) -> String {
        let path = try filePath(uri)
        guard let root = realPath(directory) else {
            throw MediaURIProblem(.illegal, "the recording directory '\(directory)' does not exist")
        }
        let slash = path.lastIndex(of: "/")!  // filePath always starts with "/"
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        let name = String(path[path.index(after: slash)...])
        guard !name.isEmpty, name != ".", name != ".." else {
            throw MediaURIProblem(.illegal, "'\(uri)' names a directory, not a file")
        }
        guard let realParent = realPath(parent) else {
            throw MediaURIProblem(.illegal, "the directory of '\(uri)' does not exist")
        }
        var target = (realParent == "/" ? "" : realParent) + "/" + name
        var info = stat()
        if lstat(target, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFLNK {
                guard let resolved = realPath(target) else {
                    throw MediaURIProblem(.illegal, "'\(uri)' is a symlink to a missing file")
                }
                target = resolved
                _ = stat(target, &info)
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw MediaURIProblem(.illegal, "'\(uri)' exists and is not a regular file")
            }
        }
        guard target.hasPrefix(root == "/" ? "/" : root + "/") else {
            throw MediaURIProblem(
                .illegal, "'\(uri)' is outside the recording directory; recordings go under file://\(root)/")
        }
        return target
    }

    /// What the player reads for `uri`.
    public static func playbackSource(_ uri: String, httpAvailable: Bool) throws(MediaURIProblem) -> PlaybackSource {
        let lower = uri.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard httpAvailable else {
                throw MediaURIProblem(.illegal, "http(s) playback needs GStreamer's souphttpsrc, which is not installed")
            }
            return .http(uri)
        }
        let path = try filePath(uri)
        guard let resolved = realPath(path) else {
            throw MediaURIProblem(.notFound, "file '\(path)' not found")
        }
        var info = stat()
        guard stat(resolved, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw MediaURIProblem(.illegal, "'\(path)' is not a regular file")
        }
        guard access(resolved, R_OK) == 0 else {
            throw MediaURIProblem(.illegal, "file '\(path)' is not readable by the server")
        }
        return .file(resolved)
    }
}
