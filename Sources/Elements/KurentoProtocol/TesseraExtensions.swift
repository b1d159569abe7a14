/// Members Tessera adds to Kurento classes, beyond the module descriptors:
/// any Kurento client may call these methods and subscribe to these events
/// (the room layer uses them). Listed on the coverage page as extensions.
enum TesseraExtensions {
    /// Class name -> operation -> implementation. Parameters arrive as sent (no kmd marshalling).
    static let methods: [String: [String: ClassBinding.Method]] = [
        "Composite": ["setLayout": Composite.setLayout, "setMixExclusions": Composite.setMixExclusions],
        "RecorderEndpoint": ["setMuted": RecorderEndpoint.setMuted],
        "BaseRtpEndpoint": ["setReceiveQuality": RtpElement.setReceiveQuality],
    ]

    /// Class name -> events raised besides the kmd's.
    static let events: [String: Set<String>] = [
        "Composite": ["SpeakersChanged"],
        "BaseRtpEndpoint": ["SpeakingChanged"],
    ]

    /// One-line descriptions for the coverage page.
    static let documentation: [(member: String, summary: String)] = [
        ("Composite.setLayout", "layout (grid, speaker, pip, custom), order (HubPort ids, tile order), rects ([x, y, w, h] normalised, custom only)"),
        ("Composite.setMixExclusions", "port (HubPort id), exclude (HubPort ids): that port's listener stops hearing those ports in its mix; [] undoes it"),
        ("RecorderEndpoint.setMuted", "kind (AUDIO), muted (bool): muted audio is written as Opus silence at the same timestamps (the file keeps its timeline; a muted participant is not heard in its own recording)"),
        ("BaseRtpEndpoint.setReceiveQuality", "quality (low, medium, high, auto): which simulcast layer of its video source this endpoint forwards; auto (the default) takes the best its peer's bandwidth estimate allows, the others are ceilings that bandwidth may still lower (docs/simulcast.md)"),
        ("BaseRtpEndpoint.SpeakingChanged", "event: speaking (bool), level (smoothed dBov) of the audio the peer sends, from its RFC 6464 levels (ssrc-audio-level), without decoding; on each edge and every second while speaking"),
        ("Composite.SpeakersChanged", "event: speaking (HubPort ids above the speaking threshold), dominant (HubPort id or null), levels (HubPort id -> dBov)"),
    ]
}
