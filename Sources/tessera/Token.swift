import ArgumentParser
import Foundation
import JSONRPC
import Rooms

/// `tessera token`: prints a room token, as `lk token create` does for LiveKit.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a room token (JWT) for joinRoom.",
        discussion: "Signed HS256 with --key (or TESSERA_ROOM_TOKEN_KEY), or ES256 with --private-key (a PEM P-256 private key whose "
            + "public key the server has in rooms.tokenPublicKey). Grants default from the role: moderators may do everything, "
            + "publishers publish and subscribe, subscribers only subscribe.")

    @Option(help: "Room name, or * for every room.") var room: String
    @Option(help: "User name.") var user: String
    @Option(help: "moderator, publisher or subscriber.") var role: String = "publisher"
    @Option(help: "Lifetime: seconds, or with a unit (90s, 30m, 1h, 7d); 0 = no expiry.") var ttl: String = "1h"
    @Option(help: "HS256 key (default: TESSERA_ROOM_TOKEN_KEY).") var key: String?
    @Option(help: "PEM file of a P-256 private key: sign ES256 instead.") var privateKey: String?
    @Option(help: "aud claim.") var audience: String?
    @Option(help: "iss claim.") var issuer: String?
    @Option(help: "Override the role's grant: may publish (true/false).") var publish: Bool?
    @Option(help: "Override the role's grant: may subscribe (true/false).") var subscribe: Bool?
    @Option(help: "Override the role's grant: may record (true/false).") var record: Bool?

    func run() throws {
        guard let role = RoomRole(rawValue: role) else { throw ValidationError("--role must be moderator, publisher or subscriber") }
        guard let seconds = Self.seconds(ttl) else { throw ValidationError("--ttl '\(ttl)' is not a duration (such as 3600, 90s, 30m, 1h, 7d)") }
        let now = Int64(Date().timeIntervalSince1970)
        var extra: [String: JSONValue] = ["iat": .int(now)]
        if let audience { extra["aud"] = .string(audience) }
        if let issuer { extra["iss"] = .string(issuer) }
        if let publish { extra["publish"] = .bool(publish) }
        if let subscribe { extra["subscribe"] = .bool(subscribe) }
        if let record { extra["record"] = .bool(record) }
        let expires = seconds > 0 ? now + seconds : nil
        let token: String
        if let privateKey {
            guard let pem = try? String(contentsOfFile: privateKey, encoding: .utf8) else { throw ValidationError("cannot read \(privateKey)") }
            do { token = try RoomToken.signES256(room: room, user: user, role: role, privateKeyPEM: pem, expires: expires, extra: extra) } catch {
                throw ValidationError("\(privateKey): \(error)")
            }
        } else {
            guard let key = key ?? ProcessInfo.processInfo.environment["TESSERA_ROOM_TOKEN_KEY"], !key.isEmpty else {
                throw ValidationError("give --key, TESSERA_ROOM_TOKEN_KEY or --private-key")
            }
            token = RoomToken.sign(room: room, user: user, role: role, key: key, expires: expires, extra: extra)
        }
        print(token)
    }

    /// "3600", "90s", "30m", "1h", "7d" as seconds.
    static func seconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let n = Int64(text), n >= 0 { return n }
        guard let unit = text.last, let factor = units[unit], let n = Int64(text.dropLast()), n >= 0 else { return nil }
        return n * factor
    }
}
