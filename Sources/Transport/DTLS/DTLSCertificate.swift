public import COpenSSL
import Foundation

public struct DTLSError: Error, CustomStringConvertible {
    public var description: String

    /// The message of OpenSSL's most recent error, queue cleared.
    static func openSSL(_ what: String) -> DTLSError {
        var text = what
        let code = ERR_get_error()
        if code != 0 {
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            text += ": " + String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
        return DTLSError(description: text)
    }
}

/// The server's self-signed DTLS identity: a key pair, a certificate, its
/// SHA-256 fingerprint for the SDP, and the OpenSSL context every session of
/// this identity is made from.
///
/// ECDSA P-256 is the default: aiortc as DTLS client offers only ECDHE-ECDSA
/// suites (TESTING-PEERS.md). RSA-2048 is made when a WebRtcEndpoint's
/// constructor asks for it (`certificateKeyType: RSA`).
public final class DTLSCertificate: @unchecked Sendable {
    // Sendable: the key, certificate and SSL_CTX are never modified after
    // init; OpenSSL allows SSL_new on one SSL_CTX from several threads.
    public enum KeyType: String, Sendable { case ecdsa = "ECDSA", rsa = "RSA" }

    public let keyType: KeyType
    let key: OpaquePointer  // EVP_PKEY*
    let certificate: OpaquePointer  // X509*
    let context: OpaquePointer  // SSL_CTX*
    /// "sha-256" fingerprint as SDP writes it: upper-case hex pairs joined by ':'.
    public let fingerprintSHA256: String

    public init(keyType: KeyType = .ecdsa) throws(DTLSError) {
        self.keyType = keyType
        guard let pctx = EVP_PKEY_CTX_new_id(keyType == .ecdsa ? EVP_PKEY_EC : EVP_PKEY_RSA, nil) else {
            throw .openSSL("EVP_PKEY_CTX_new_id")
        }
        defer { EVP_PKEY_CTX_free(pctx) }
        guard EVP_PKEY_keygen_init(pctx) == 1 else { throw .openSSL("keygen init") }
        switch keyType {
        case .ecdsa:
            guard EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pctx, NID_X9_62_prime256v1) == 1 else { throw .openSSL("P-256") }
        case .rsa:
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(pctx, 2048) == 1 else { throw .openSSL("RSA bits") }
        }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen(pctx, &pkey) == 1, let pkey else { throw .openSSL("keygen") }
        key = pkey

        guard let x509 = X509_new() else { throw .openSSL("X509_new") }
        certificate = x509
        X509_set_version(x509, 2)
        ASN1_INTEGER_set(X509_get_serialNumber(x509), Int(UInt32.random(in: 1...UInt32.max >> 1)))
        X509_gmtime_adj(X509_getm_notBefore(x509), -86400)
        X509_gmtime_adj(X509_getm_notAfter(x509), 86400 * 365)
        X509_set_pubkey(x509, pkey)
        let name = X509_get_subject_name(x509)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, "tessera", -1, -1, 0)
        X509_set_issuer_name(x509, name)
        guard X509_sign(x509, pkey, EVP_sha256()) > 0 else { throw .openSSL("X509_sign") }
        fingerprintSHA256 = try Self.fingerprint(of: x509, algorithm: "sha-256")

        guard let ctx = SSL_CTX_new(DTLS_method()) else { throw .openSSL("SSL_CTX_new") }
        context = ctx
        _ = tessera_ssl_ctx_set_min_proto_version(ctx, DTLS1_2_VERSION)
        guard SSL_CTX_use_certificate(ctx, x509) == 1, SSL_CTX_use_PrivateKey(ctx, pkey) == 1 else {
            throw .openSSL("load certificate")
        }
        // ECDHE with either certificate type, so we work as client towards RSA peers (GStreamer).
        SSL_CTX_set_cipher_list(
            ctx,
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                + "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA")
        // RFC 8827: the peer's certificate is self-signed; we check its fingerprint
        // against the SDP after the handshake instead of a chain.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
        _ = tessera_ssl_ctx_set_read_ahead(ctx, 1)
        // RFC 5764 profiles, preferred first.
        guard tessera_ssl_ctx_set_srtp_profiles(ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") == 0 else {
            throw .openSSL("use_srtp")
        }
    }

    deinit {
        SSL_CTX_free(context)
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// The certificate fingerprint with `algorithm` ("sha-256", "sha-1", "sha-384", "sha-512").
    static func fingerprint(of x509: OpaquePointer, algorithm: String) throws(DTLSError) -> String {
        let md: OpaquePointer?
        switch algorithm.lowercased() {
        case "sha-1": md = EVP_sha1()
        case "sha-256": md = EVP_sha256()
        case "sha-384": md = EVP_sha384()
        case "sha-512": md = EVP_sha512()
        default: throw DTLSError(description: "unsupported fingerprint algorithm \(algorithm)")
        }
        var buf = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        guard X509_digest(x509, md, &buf, &len) == 1 else { throw .openSSL("X509_digest") }
        return buf.prefix(Int(len)).map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}
