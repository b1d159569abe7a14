import Foundation
import Elements
import JSONRPC

// Muting (§10.5): a publisher's own, a moderator's, and a subscriber's for itself.
extension RoomService {
    // MARK: §10.5 mute

    func streamPropertyChanged(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let property = try string(params, "property")
        guard let value = params["newValue"]?.boolValue else { throw .missing("newValue") }
        let (room, p) = try member(session)
        guard p.publishesAnything else { throw RoomError(.userNotStreaming, "User '\(p.name)' is not publishing") }
        let kind: String
        switch property {
        case "audioActive": kind = "audio"
        case "videoActive": kind = "video"
        default: throw RoomError(.invalidParams, "property must be audioActive or videoActive")
        }
        if value, p.forceMuted.contains(kind) { throw RoomError(.mediaMute, "A moderator muted your \(kind)") }
        await setActive(room, p, kind: kind, active: value, reason: Self.ownMuteReason(kind))
        return [:]
    }

    func muteParticipant(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let target = try string(params, "target"), kind = try string(params, "kind")
        guard let muted = params["muted"]?.boolValue else { throw .missing("muted") }
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may mute others") }
        try await forceMute(in: room, target: target, kind: kind, muted: muted)
        return [:]
    }

    /// A moderator's (or the admin API's) mute of `target`'s published `kind`, which
    /// `target` cannot undo itself.
    func forceMute(in room: Room, target: String, kind: String, muted: Bool) async throws(RoomError) {
        guard kind == "audio" || kind == "video" else { throw RoomError(.invalidParams, "kind must be audio or video") }
        guard let t = room.participants[target] else { throw RoomError(.userNotFound, "User '\(target)' not found") }
        guard t.publishesAnything else { throw RoomError(.userNotStreaming, "User '\(target)' is not publishing") }
        await setForceMuted(room, t, kind: kind, muted: muted)
    }

    /// Records a moderator's mute (which the participant cannot undo) and applies it.
    func setForceMuted(_ room: Room, _ t: Participant, kind: String, muted: Bool) async {
        if let origin = t.origin, let link = room.links[origin] {
            // Another node's participant: its node mutes it (and tells every node).
            link.transport.send(["op": "forceMute", "name": .string(t.name), "kind": .string(kind), "muted": .bool(muted)])
            return
        }
        if muted { t.forceMuted.insert(kind) } else { t.forceMuted.remove(kind) }
        await setActive(room, t, kind: kind, active: !muted, reason: "forceMute")
    }

    /// Moderator: mute (or unmute) one kind for every publisher, moderators too unless `exceptModerators`.
    func muteRoom(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let kind = try string(params, "kind")
        guard let muted = params["muted"]?.boolValue else { throw .missing("muted") }
        let exceptModerators = params["exceptModerators"]?.boolValue ?? true
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may mute the room") }
        guard kind == "audio" || kind == "video" else { throw RoomError(.invalidParams, "kind must be audio or video") }
        var affected: [JSONValue] = []
        for t in room.members where t.publishesAnything && !(exceptModerators && t.role == .moderator) {
            await setForceMuted(room, t, kind: kind, muted: muted)
            affected.append(.string(t.name))
        }
        return ["muted": .bool(muted), "kind": .string(kind), "participants": .array(affected)]
    }

    /// Receiver side: stop (or resume) receiving one kind of one sender, for this subscriber only.
    func muteSubscribed(_ params: [String: JSONValue], session: Session, muted: Bool) async throws(RoomError) -> JSONValue {
        let sender = try string(params, "sender")
        let (room, p) = try member(session)
        let user = String(sender.prefix { $0 != "_" })
        var kinds: Set<RoomMediaKind>
        let onlyVideo = params["kind"]?.stringValue == "video"
        switch params["kind"]?.stringValue {
        case "audio": kinds = [.audio]
        case "video": kinds = [.video]
        case nil, "all": kinds = [.audio, .video]
        case let other: throw RoomError(.invalidParams, "kind must be audio, video or all, not '\(other ?? "")'")
        }
        guard user != mcuName else {
            throw RoomError(.mediaMute, "Mute the senders inside '\(sender)' by name (muteSubscribedMedia {sender: \"bob\"}); the composite itself is unsubscribed with unsubscribeFromVideo")
        }
        let target = room.participants[user]
        let sub = p.subscriptions[Self.subscriptionKey(sender, in: room)] ?? p.subscriptions[user]
        guard target != nil, sub != nil || room.mixerMode != .sfu else {
            throw RoomError(.userNotFound, "User '\(p.name)' is not subscribed to '\(sender)'")
        }
        // MCU: one picture is encoded for everyone, so a tile cannot be hidden for one
        // viewer. Asked for video alone, that is an error; for all kinds, the mix (audio) is muted.
        if sub == nil, onlyVideo, muted {
            throw RoomError(.mediaMute, "Hiding one tile for one viewer is not supported in MCU mode: the composite picture is shared; use setLayout")
        }
        if sub == nil { kinds.remove(.video) }
        // Both are remembered across mode switches and the sender's own mutes. In a
        // mixing room the sender leaves this listener's own mix only (§10.5); in SFU
        // mode its audio is disconnected from this subscription.
        if kinds.contains(.video) {
            if muted { p.mutedVideo.insert(user) } else { p.mutedVideo.remove(user) }
        }
        if kinds.contains(.audio) {
            if muted { p.mutedInMix.insert(user) } else { p.mutedInMix.remove(user) }
            if room.mode != .sfu { await applyMixExclusions(room, for: p) }
        }
        if let target {
            do { try await rewire(room, from: target, to: p) } catch {
                throw RoomError(.mediaMute, "Cannot \(muted ? "mute" : "unmute") '\(user)': \(error.message)")
            }
        }
        return ["sender": .string(sender), "muted": .bool(muted)]
    }

    /// Stops or resumes mixing and forwarding one kind of `p`'s media (no SDP change):
    /// every subscription to it and its composite port are wired again, each as
    /// its viewer's own mutes and the room's mode allow.
    func setActive(_ room: Room, _ p: Participant, kind: String, active: Bool, reason: String) async {
        if kind == "audio" { p.audioActive = active } else { p.videoActive = active }
        if p.publishesAnything {
            for viewer in room.members where viewer !== p { try? await rewire(room, from: p, to: viewer) }
            if p.hubPort != nil || p.extras.contains(where: { $0.hubPort != nil }) { try? await wireIntoMixer(room, p, mode: room.mixerMode) }
            // Its own files of a participants recording: muted audio is written as silence.
            if kind == "audio" {
                for file in room.recording?.files ?? [] where file.user == p.name && file.endedAt == nil {
                    try? await media.setRecorderAudioMuted(file.recorder, muted: !active)
                }
            }
        }
        broadcast("streamPropertyChanged", Self.propertyNote(p, kind: kind, active: active, reason: reason), in: room)
        cascadeMuted(p, kind: kind, active: active, reason: reason, in: room)
    }

    /// The `reason` of a publisher's own mute or unmute of `kind` (audio or video).
    static func ownMuteReason(_ kind: String) -> String { kind == "audio" ? "publishAudio" : "publishVideo" }

    /// `streamPropertyChanged` params: `p`'s `kind` (audio or video) is now `active`.
    static func propertyNote(_ p: Participant, kind: String, active: Bool, reason: String) -> JSONValue {
        [
            "id": .string(p.name), "streamId": .string(p.primaryStream), "property": .string(kind == "audio" ? "audioActive" : "videoActive"),
            "newValue": .bool(active), "reason": .string(reason),
        ]
    }
}
