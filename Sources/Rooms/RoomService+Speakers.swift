import Foundation
import Elements
import JSONRPC

// Active speakers (§10.6): from the mixer while the room mixes, from the publishers' RFC 6464 levels in SFU mode.
extension RoomService {
    // MARK: §10.6 active speaker

    /// The composite's speakers changed: `speaking` ports, the `dominant` one,
    /// levels in dBov. The source of speaking events while the room mixes audio.
    func speakersChanged(_ room: Room, _ data: [String: JSONValue]) async {
        guard room.mode != .sfu else { return }  // an SFU room being recorded: its publishers report themselves
        guard room.owner == nil else { return }  // a hosting node: the owner's mixer hears everyone (`speakers`)
        // A participant's extra streams (a shared screen's sound) speak for it too.
        var userOfPort: [String: String] = [:]
        for p in room.members {
            if let port = p.hubPort { userOfPort[port] = p.name }
            for extra in p.extras { if let port = extra.hubPort { userOfPort[port] = p.name } }
        }
        let speaking = Set((data["speaking"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { userOfPort[$0] } })
        let levels = data["levels"]?.objectValue ?? [:]
        let dominant = data["dominant"]?.stringValue.flatMap { userOfPort[$0] }
        if !room.links.isEmpty {
            var named: [String: JSONValue] = [:]
            for (port, user) in userOfPort { if let l = levels[port] { named[user] = l } }
            cascadeSend(["op": "speakers", "speaking": .array(speaking.sorted().map { .string($0) }),
                         "dominant": dominant.map { .string($0) } ?? .null, "levels": .object(named)], in: room, except: nil)
        }
        await announceSpeakers(room, speaking: speaking, dominant: dominant) { user in
            guard let port = room.participants[user]?.hubPort, let l = levels[port] else { return .null }
            return l
        }
    }

    /// A publisher's endpoint reported its speech (from the RFC 6464 levels it
    /// sends), or stopped publishing (`level` nil): in SFU mode the room's
    /// speaking events come from these.
    func voiceChanged(_ room: Room, user: String, speaking: Bool, level: Double?) async {
        room.speakers.setVoice(user, speaking: speaking, level: level)
        await sfuSpeakersChanged(room)
    }

    /// The publishers' own reports decide (SFU mode only).
    func sfuSpeakersChanged(_ room: Room) async {
        guard room.mode == .sfu else { return }
        let (speaking, dominant) = room.speakers.fromVoices()
        let voices = room.speakers.voices
        await announceSpeakers(room, speaking: speaking, dominant: dominant) { user in
            voices[user].map { .double($0.level) } ?? .null
        }
    }

    /// Sends the speaking edges and a dominant speaker change to clients that
    /// asked for `speaking`; a new dominant speaker moves the speaker layouts.
    func announceSpeakers(_ room: Room, speaking: Set<String>, dominant: String?, level: (String) -> JSONValue) async {
        let change = room.speakers.report(speaking: speaking, dominant: dominant)
        for user in change.started {
            broadcast("participantSpeaking", ["id": .string(user), "speaking": true, "level": level(user)], in: room, feature: "speaking")
        }
        for user in change.stopped where room.participants[user] != nil {
            broadcast("participantSpeaking", ["id": .string(user), "speaking": false, "level": level(user)], in: room, feature: "speaking")
        }
        if let dominant = change.dominant {
            broadcast("dominantSpeakerChanged", [
                "id": .string(dominant), "previous": .array(change.previous.map { .string($0) }), "silence": .bool(change.silence),
            ], in: room, feature: "speaking")
            if room.layout == "speaker" || room.layout == "pip" { await applyLayout(room) }
        }
    }
}
