package import Transport

/// What a node tells the object model, as plain values: the Kurento object
/// model mirrors the states it answers getters from and writes the events
/// (names and JSON) its clients subscribe to.
package enum MediaSignal: Sendable {
    /// The first media of `kind` came in (went out). Nodes never report the reverse.
    case flowingIn(MediaKindKey)
    case flowingOut(MediaKindKey)
    /// Transport up or down (ICE + DTLS for WebRTC, a latched peer for plain RTP).
    case connection(connected: Bool)
    /// RTCP from the peer arrives, or stopped arriving for 5 s.
    case mediaState(connected: Bool)
    case sessionStarted
    case sessionTerminated
    /// Voice activity of the peer (from its audio-level extension); `level` in dBov, rounded.
    case speaking(Bool, level: Double)
    /// A Composite's speakers, by hub port object id; levels in dBov, rounded.
    case speakers(speaking: [String], dominant: String?, levels: [String: Double])
    case iceCandidate(String, mid: String)
    case iceGatheringDone
    /// `consentExpired`: FAILED because nothing authenticated came from the peer for too long.
    case iceState(ICEState, consentExpired: Bool = false)
    case candidatePairSelected(local: String, remote: String)
    case dtlsState(DTLSState)
    /// A data channel opened or closed (Kurento's DataChannelOpened / DataChannelClosed).
    case dataChannelOpened(UInt16)
    case dataChannelClosed(UInt16)
    /// RecorderEndpoint: the file is being written, is paused, was finished.
    case recording
    case paused
    case stopped
    /// PlayerEndpoint: the file was played to its end.
    case endOfStream
    /// Something failed in the element (Kurento's UNEXPECTED_ELEMENT_ERROR).
    case failure(String)
}
