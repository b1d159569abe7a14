/// Why an SDP or ICE step of a session failed. The media plane says what
/// went wrong; the Kurento object model maps each kind to its error code.
package struct NegotiationError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable {
        case alreadyNegotiated, answerAlreadyProcessed, noOfferGenerated, cannotCreateSession
        case sdpParse, processOffer, generateOffer, processAnswer
        case iceGatherCandidates, iceAddCandidate, notImplemented
        /// Data channels off or not negotiated; a channel id that is not open.
        case dataChannel, dataChannelParam
    }

    package var kind: Kind
    package var description: String

    package init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
