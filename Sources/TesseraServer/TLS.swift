import Foundation
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The listener's certificate and key, read from their PEM files at start and
/// again on SIGHUP: each new connection takes the context current then, so a
/// renewed certificate is served without dropping anyone.
public final class TLSCertificates: Sendable {
    let certificatePath: String
    let privateKeyPath: String
    private let context: NIOLockedValueBox<NIOSSLContext>

    init(certificate: String, privateKey: String) throws {
        certificatePath = certificate
        privateKeyPath = privateKey
        context = NIOLockedValueBox(try Self.load(certificate: certificate, privateKey: privateKey))
    }

    var current: NIOSSLContext { context.withLockedValue { $0 } }

    /// Reads both files again; on failure the context in use stays.
    func reload() throws {
        let fresh = try Self.load(certificate: certificatePath, privateKey: privateKeyPath)
        context.withLockedValue { $0 = fresh }
    }

    static func load(certificate: String, privateKey: String) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate)
        guard !chain.isEmpty else { throw TLSFileError(description: "\(certificate) holds no PEM certificate") }
        let key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}

struct TLSFileError: Error, CustomStringConvertible {
    var description: String
}

/// A connection that starts with TLS (the context current when it was
/// accepted), then is whatever `Base` makes of it.
struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    let certificates: TLSCertificates

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: certificates.current))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Reloads the certificate on SIGHUP until the server stops.
struct TLSReloader: Service {
    let certificates: TLSCertificates
    let logger: Logger

    func run() async throws {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP)
        let certificates = self.certificates, logger = self.logger
        source.setEventHandler {
            do {
                try certificates.reload()
                logger.notice("reloaded the TLS certificate", metadata: ["certificate": "\(certificates.certificatePath)"])
            } catch {
                logger.error("could not reload the TLS certificate; the previous one stays", metadata: ["error": "\(error)"])
            }
        }
        source.resume()
        try? await gracefulShutdown()
        source.cancel()
    }
}
