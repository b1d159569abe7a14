import JSONRPC
import Testing
@testable import Rooms

/// Room tokens: HS256 and ES256, expiry, not-before, audience, issuer, grants.
@Suite struct RoomTokenTests {
    // A throwaway P-256 key pair made for this test (and a P-384 key, which ES256 must refuse).
    static let privateKey = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbKG4dqH8ygIBtQyA
TiR/tGMhIb/S53MECjUXRgF7v0mhRANCAASf2YMMEJEU8PVrQxFMFvAUsN9p/3bn
YTzxmsMQaNEYiVxy7Eg09f+yGeu2J9DxSWY8mG7lFKtOf3yhOwtoFcQp
-----END PRIVATE KEY-----
"""
    static let publicKey = """
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEn9mDDBCRFPD1a0MRTBbwFLDfaf92
52E88ZrDEGjRGIlccuxINPX/shnrtifQ8UlmPJhu5RSrTn98oTsLaBXEKQ==
-----END PUBLIC KEY-----
"""
    static let p384PublicKey = """
-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEC3EX0cKpVTbsALHBu3Z3HeX34pj3OQGr
Nudq1vKwi3Ipvbyg16TQ6ygTKBQkE5xEkimpSZlRWROxMjQNM87cMrDkCxFZup1I
BSoyak75FJ6hU0tQYLvvkpmUw4vIE9tG
-----END PUBLIC KEY-----
"""

    let now: Int64 = 1_800_000_000
    var hmac: TokenPolicy {
        var p = TokenPolicy()
        p.hmacKey = "s3cret"
        return p
    }

    func refusal(_ token: String, _ policy: TokenPolicy) -> RoomTokenError? {
        do { _ = try RoomToken.verify(token, policy: policy, now: now); return nil } catch { return error }
    }

    @Test func everyFailureHasItsReason() {
        let p = hmac
        let ok = RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now + 60)
        #expect(refusal(ok, p) == nil)
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "wrong", expires: now + 60), p) == .badSignature)
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now - 31), p) == .expired)
        // Within the 30 s leeway an expired token still passes (clocks differ).
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now - 29), p) == nil)
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret"), p) == .missingExpiry)
        var lax = p
        lax.requireExpiry = false
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret"), lax) == nil)
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now + 60, extra: ["nbf": .int(now + 120)]), p) == .notYetValid)
        var strict = p
        strict.audience = "tessera"
        strict.issuer = "https://auth.example.com"
        let claims: [String: JSONValue] = ["aud": ["other", "tessera"], "iss": "https://auth.example.com"]
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now + 60, extra: claims), strict) == nil)
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now + 60, extra: ["aud": "other", "iss": "https://auth.example.com"]), strict) == .wrongAudience)
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now + 60, extra: ["aud": "tessera"]), strict) == .wrongIssuer)
        #expect(refusal("a.b", p) == .malformed)
        #expect(refusal(ok + "x", p) == .badSignature || refusal(ok + "x", p) == .malformed)
        let none = RoomToken.base64URLEncode(Array(#"{"alg":"none"}"#.utf8)) + "." + ok.split(separator: ".")[1] + "."
        #expect(refusal(none, p) == .unsupportedAlgorithm("none"))
        // An HS256 token where only ES256 is configured (the classic key-confusion attack) is refused.
        var es = TokenPolicy()
        es.publicKeyPEM = Self.publicKey
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: Self.publicKey, expires: now + 60), es) == .unsupportedAlgorithm("HS256"))
        #expect(refusal(RoomToken.sign(room: "r", user: "u", role: .publisher, key: "s3cret", expires: now + 60, extra: ["publish": "yes"]), p) == .missingClaim("publish"))
    }

    @Test func es256RoundTrip() throws {
        var p = TokenPolicy()
        p.publicKeyPEM = Self.publicKey
        let token = try RoomToken.signES256(room: "*", user: "bot", role: .subscriber, privateKeyPEM: Self.privateKey, expires: now + 60,
                                            extra: ["record": true])
        let claims = try RoomToken.verify(token, policy: p, now: now)
        #expect(claims.allows(room: "anything") && claims.user == "bot" && claims.role == .subscriber)
        #expect(!claims.canPublish && claims.canSubscribe && claims.canRecord)
        // One bit off and the signature fails; a P-384 key cannot verify ES256.
        var bytes = Array(token.utf8)
        bytes[bytes.count - 5] = bytes[bytes.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(refusal(String(decoding: bytes, as: UTF8.self), p) == .badSignature)
        var wrongCurve = TokenPolicy()
        wrongCurve.publicKeyPEM = Self.p384PublicKey
        #expect(refusal(token, wrongCurve) == .unusableKey("rooms.tokenPublicKey is not a P-256 public key"))
        #expect(throws: RoomTokenError.self) { try RoomToken.signES256(room: "r", user: "u", role: .publisher, privateKeyPEM: "junk") }
    }

    @Test func grantsFollowTheRoleUnlessTheTokenSays() throws {
        let p = hmac
        let sub = try RoomToken.verify(RoomToken.sign(room: "r", user: "u", role: .subscriber, key: "s3cret", expires: now + 60), policy: p, now: now)
        #expect(!sub.canPublish && sub.canSubscribe && !sub.canRecord && !sub.allows(room: "other"))
        let mod = try RoomToken.verify(RoomToken.sign(room: "r", user: "u", role: .moderator, key: "s3cret", expires: now + 60,
                                                      extra: ["record": false, "subscribe": false]), policy: p, now: now)
        #expect(mod.canPublish && !mod.canSubscribe && !mod.canRecord)
    }
}
