/// Who is speaking in a room and who is the dominant speaker (§10.6), as
/// plain state: the room service feeds it reports and sends the edges it
/// returns. Two sources: the composite's own report while the room mixes
/// audio, and each publisher's RFC 6464 levels (its endpoint's
/// `SpeakingChanged`) in SFU mode.
struct SpeakerTracker {
    /// What changed with one report: who started and stopped speaking (sorted),
    /// and the new dominant speaker with the ones before it, if it changed.
    struct Change: Equatable {
        var started: [String] = []
        var stopped: [String] = []
        var dominant: String?
        var previous: [String] = []
        var silence = false
    }

    /// How much louder (dB) another speaker must be to take over from a
    /// dominant speaker that is still speaking (the mixer's switch margin).
    static let switchMargin = 6.0
    /// How many earlier dominant speakers `dominantSpeakerChanged` lists.
    static let historyLength = 3

    private(set) var speaking: Set<String> = []
    private(set) var dominant: String?
    private(set) var previousDominants: [String] = []
    /// Publishers' own reports, by user (SFU mode's source).
    private(set) var voices: [String: (speaking: Bool, level: Double)] = [:]

    /// A new speaking set and dominant speaker (nil keeps the current one).
    mutating func report(speaking now: Set<String>, dominant candidate: String?) -> Change {
        var change = Change(started: now.subtracting(speaking).sorted(), stopped: speaking.subtracting(now).sorted())
        speaking = now
        if let candidate, candidate != dominant {
            if let old = dominant { previousDominants.insert(old, at: 0) }
            previousDominants = Array(previousDominants.filter { $0 != candidate }.prefix(Self.historyLength))
            dominant = candidate
            change.dominant = candidate
            change.previous = previousDominants
            change.silence = now.isEmpty
        }
        return change
    }

    /// A publisher's own report (or its end, when `level` is nil).
    mutating func setVoice(_ user: String, speaking: Bool, level: Double?) {
        if let level { voices[user] = (speaking, level) } else { voices[user] = nil }
    }

    /// The speaking set and dominant speaker the publishers' reports give: the
    /// dominant speaker changes when it stops speaking, or when another
    /// speaker is louder by `switchMargin`.
    func fromVoices() -> (speaking: Set<String>, dominant: String?) {
        let speaking = Set(voices.filter { $0.value.speaking }.keys)
        var next = dominant
        // Loudest first; equal levels broken by name, so the choice does not depend on hashing.
        if let loudest = speaking.max(by: { (voices[$0]!.level, $1) < (voices[$1]!.level, $0) }) {
            let current = dominant.flatMap { voices[$0] }
            if current?.speaking != true || voices[loudest]!.level > current!.level + Self.switchMargin { next = loudest }
        }
        return (speaking, next)
    }

    /// `user` left the room: it speaks no more (without an edge: the room says it left).
    mutating func forget(_ user: String) {
        voices[user] = nil
        speaking.remove(user)
    }
}
