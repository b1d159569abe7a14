// SDES key exchange for SRTP (RFC 4568): the a=crypto attribute of an
// RTP/SAVP(F) m-line, which carries the key its sender protects with in the
// clear. Used by the RtpEndpoint's `crypto` setting (plain RTP peers such as
// SIP gateways); WebRTC uses DTLS-SRTP instead.

/// One `a=crypto:<tag> <suite> inline:<key||salt base64>[|lifetime][|MKI:length]`.
public struct SDESCrypto: Sendable, Equatable {
    public var tag: Int
    /// The suite as SDP names it (RFC 4568 §6.2, RFC 6188 §7.1), e.g. AES_CM_128_HMAC_SHA1_80.
    public var suite: String
    /// Master key followed by master salt.
    public var keyAndSalt: [UInt8]

    /// Suites we implement, and the master key + salt length each needs.
    public static let keyLengths: [String: Int] = [
        "AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30,
        "AES_256_CM_HMAC_SHA1_80": 46, "AES_256_CM_HMAC_SHA1_32": 46,
    ]

    public init(tag: Int, suite: String, keyAndSalt: [UInt8]) {
        self.tag = tag
        self.suite = suite
        self.keyAndSalt = keyAndSalt
    }

    /// Parses an attribute value; nil when malformed, or for a suite, key
    /// length or session parameter we do not handle (MKIs, several keys).
    public init?(attributeValue value: String) {
        let fields = value.sdpFields
        guard fields.count >= 3, let tag = Int(fields[0]), tag >= 0, tag <= 999_999_999 else { return nil }
        let suite = String(fields[1]).uppercased()
        guard let length = Self.keyLengths[suite] else { return nil }
        let keyParams = fields[2].split(separator: ";")
        guard keyParams.count == 1, keyParams[0].hasPrefix("inline:") else { return nil }
        let parts = keyParams[0].dropFirst("inline:".count).split(separator: "|", omittingEmptySubsequences: false)
        guard let key = Base64.decode(String(parts[0])), key.count == length else { return nil }
        // A lifetime may follow; an MKI means keys change in-band, which we do not follow.
        for part in parts.dropFirst() where part.contains(":") { return nil }
        self.init(tag: tag, suite: suite, keyAndSalt: key)
    }

    public var attributeValue: String { "\(tag) \(suite) inline:\(Base64.encode(keyAndSalt))" }
}

extension MediaDescription {
    /// The SDES crypto lines of this m-line that we can use, in the order given.
    public var cryptos: [SDESCrypto] {
        otherAttributes.filter { $0.name == "crypto" }.compactMap { $0.value.flatMap(SDESCrypto.init(attributeValue:)) }
    }

    /// True for the SDES-SRTP profiles: "RTP/SAVP" and "RTP/SAVPF" (any case).
    public var isSDESProfile: Bool {
        let upper = proto.uppercased()
        return upper == "RTP/SAVP" || upper == "RTP/SAVPF"
    }
}

/// Base64 (RFC 4648 §4) without Foundation: the SDP module is pure Swift.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0 else { return nil }  // data after padding
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            default: return nil
            }
        }
        guard padding <= 2, (values.count + padding) % 4 == 0 || padding == 0, values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            if i + 2 < values.count { out.append((values[i + 1] & 0x0F) << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append((values[i + 2] & 0x03) << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }
}
