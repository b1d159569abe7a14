import MediaPlane
public import JSONRPC

/// Every error the Kurento protocol can answer with, in one place.
///
/// Codes and symbols are those of Kurento's `KurentoException.hpp` (see
/// `shared/spec/kurento-protocol.md` §2); `rpcError` is the only place where a
/// Kurento error becomes a JSON-RPC error object. Clients branch on `code`,
/// never on the message, but messages follow KMS's wording where it has one.
public struct KurentoError: Error, Sendable, Hashable {
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public enum Code: Int, Sendable, CaseIterable {
        // JSON-RPC 2.0 reserved codes (no data.type, except -32602).
        case parseError = -32700
        case invalidRequest = -32600
        case methodNotFound = -32601
        case invalidParams = -32602
        case internalError = -32603
        /// Missing or ill-typed top-level member (`object`, `type`, ...).
        case serverError = -32000
        // Generic (40000-40099)
        case marshallError = 40001
        case unexpectedError = 40003
        case connectError = 40004
        case unsupportedMediaType = 40005
        case notImplemented = 40006
        case invalidSession = 40007
        case malformedTransaction = 40008
        case notEnoughResources = 40009
        // Media objects (40100-40199)
        case mediaObjectTypeNotFound = 40100
        case mediaObjectNotFound = 40101
        case mediaObjectConstructorNotFound = 40104
        case mediaObjectMethodNotFound = 40105
        case mediaObjectEventNotSupported = 40106
        case mediaObjectIllegalParamError = 40107
        case mediaObjectNotAvailable = 40108
        case mediaObjectNotFoundTransactionNoCommit = 40109
        case mediaObjectTagKeyNotFound = 40110
        case mediaObjectOperationNotSupported = 40111
        // SDP (40200-40299)
        case sdpCreateError = 40200
        case sdpParseError = 40201
        case sdpEndPointNoLocalSdpError = 40202
        case sdpEndPointNoRemoteSdpError = 40203
        case sdpEndPointGenerateOfferError = 40204
        case sdpEndPointProcessOfferError = 40205
        case sdpEndPointProcessAnswerError = 40206
        case sdpConfigurationError = 40207
        case sdpEndPointAlreadyNegotiated = 40208
        case sdpEndPointNotOfferGenerated = 40209
        case sdpEndPointAnswerAlreadyProcessed = 40210
        case sdpEndPointCannotCreateSession = 40211
        // HTTP, ICE, server manager, URI, player
        case httpEndPointRegistrationError = 40300
        case iceGatherCandidatesError = 40400
        case iceAddCandidateError = 40401
        case serverManagerUndefined = 40500
        case uriPathFileNotFound = 40600
        case playerSeekFail = 40700

        /// The `data.type` symbol KMS sends, spelling quirks included; nil
        /// where KMS sends no `data` at all.
        public var symbol: String? {
            switch self {
            case .parseError, .invalidRequest, .methodNotFound, .internalError, .serverError: nil
            case .invalidParams: "INVALID_PARAMS"
            case .marshallError: "MARSHALL_ERROR"
            case .unexpectedError: "UNEXPECTED_ERROR"
            case .connectError: "CONNECT_ERROR"
            case .unsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE"
            case .notImplemented: "NOT_IMPLEMENTED"
            case .invalidSession: "INVALID_SESSION"
            case .malformedTransaction: "MALFORMED_TRANSACTION"
            case .notEnoughResources: "NOT_ENOUGH_RESOURCES"
            case .mediaObjectTypeNotFound: "MEDIA_OBJECT_TYPE_NOT_FOUND"
            case .mediaObjectNotFound: "MEDIA_OBJECT_NOT_FOUND"
            case .mediaObjectConstructorNotFound: "MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND"
            case .mediaObjectMethodNotFound: "MEDIA_OBJECT_METHOD_NOT_FOUND"
            case .mediaObjectEventNotSupported: "MEDIA_OBJECT_EVENT_NOT_SUPPORTED"
            case .mediaObjectIllegalParamError: "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR"
            case .mediaObjectNotAvailable: "MEDIA_OBJECT_NOT_AVAILABLE"
            case .mediaObjectNotFoundTransactionNoCommit: "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT"
            case .mediaObjectTagKeyNotFound: "MEDIA_OBJECT_TAG_KEY_NOT_FOUND"
            case .mediaObjectOperationNotSupported: "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED"
            case .sdpCreateError: "SDP_CREATE_ERROR"
            case .sdpParseError: "SDP_PARSE_ERROR"
            case .sdpEndPointNoLocalSdpError: "SDP_END_POINT_NO_LOCAL_SDP_ERROR"
            case .sdpEndPointNoRemoteSdpError: "SDP_END_POINT_NO_REMOTE_SDP_ERROR"
            case .sdpEndPointGenerateOfferError: "SDP_END_POINT_GENERATE_OFFER_ERROR"
            case .sdpEndPointProcessOfferError: "SDP_END_POINT_PROCESS_OFFER_ERROR"
            case .sdpEndPointProcessAnswerError: "SDP_END_POINT_PROCESS_ANSWER_ERROR"
            case .sdpConfigurationError: "SDP_CONFIGURATION_ERROR"
            case .sdpEndPointAlreadyNegotiated: "SDP_END_POINT_ALREADY_NEGOTIATED"
            case .sdpEndPointNotOfferGenerated: "SDP_END_POINT_NOT_OFFER_GENERATED"
            case .sdpEndPointAnswerAlreadyProcessed: "SDP_END_POINT_ANSWER_ALREADY_PROCCESED"
            case .sdpEndPointCannotCreateSession: "SDP_END_POINT_CANNOT_CREATE_SESSON"
            case .httpEndPointRegistrationError: "HTTP_END_POINT_REGISTRATION_ERROR"
            case .iceGatherCandidatesError: "ICE_GATHER_CANDIDATES_ERROR"
            case .iceAddCandidateError: "ICE_ADD_CANDIDATE_ERROR"
            case .serverManagerUndefined: "UNDEFINED"
            case .uriPathFileNotFound: "URI_PATH_FILE_NOT_FOUND"
            case .playerSeekFail: "PLAYER_SEEK_FAIL"
            }
        }
    }

    /// The JSON-RPC error object sent on the wire.
    public var rpcError: RPCError {
        RPCError(code: code.rawValue, message: message, data: code.symbol.map { ["type": .string($0)] })
    }
}

extension KurentoError {
    // Constructors for the errors raised from more than one place, so the
    // wording stays the same everywhere.
    static func objectNotFound(_ id: String) -> KurentoError {
        KurentoError(.mediaObjectNotFound, "Object '\(id)' not found")
    }
    static func missingMember(_ name: String) -> KurentoError {
        KurentoError(.serverError, "'\(name)' parameter is required")
    }
    static func wrongMember(_ name: String, _ expected: String) -> KurentoError {
        KurentoError(.serverError, "'\(name)' parameter should be \(expected)")
    }
    static func missingParam(_ name: String) -> KurentoError {
        KurentoError(.marshallError, "'\(name)' parameter is required")
    }
    static func wrongParam(_ name: String, _ expected: String) -> KurentoError {
        KurentoError(.marshallError, "'\(name)' parameter should be \(expected)")
    }
}

extension KurentoError {
    /// A session's negotiation failure, with the code Kurento gives that step.
    init(_ failure: NegotiationError) {
        let code: Code
        switch failure.kind {
        case .alreadyNegotiated: code = .sdpEndPointAlreadyNegotiated
        case .answerAlreadyProcessed: code = .sdpEndPointAnswerAlreadyProcessed
        case .noOfferGenerated: code = .sdpEndPointNotOfferGenerated
        case .cannotCreateSession: code = .sdpEndPointCannotCreateSession
        case .sdpParse: code = .sdpParseError
        case .processOffer: code = .sdpEndPointProcessOfferError
        case .generateOffer: code = .sdpEndPointGenerateOfferError
        case .processAnswer: code = .sdpEndPointProcessAnswerError
        case .iceGatherCandidates: code = .iceGatherCandidatesError
        case .iceAddCandidate: code = .iceAddCandidateError
        case .notImplemented: code = .notImplemented
        case .dataChannel: code = .mediaObjectOperationNotSupported
        case .dataChannelParam: code = .mediaObjectIllegalParamError
        }
        self.init(code, failure.description)
    }
}
