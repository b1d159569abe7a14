import Foundation
import Elements
import JSONRPC

// Feeding publishers into the room's composite, and each listener's own mix.
extension RoomService {
    func ensureComposite(_ room: Room) async throws(RoomError) {
        guard room.composite == nil, let pipeline = room.pipeline else { return }
        do {
            let c = try await media.createComposite(pipeline: pipeline)
            if room.composite == nil { room.composite = c } else { await media.release(c) }
        } catch {
            throw RoomError(.mediaMixer, "The mixer could not start: \(error.message)")
        }
    }

    func ensureHubPort(_ room: Room, _ p: Participant) async throws(RoomError) -> String {
        if let port = p.hubPort { return port }
        try await ensureComposite(room)
        guard let composite = room.composite else { throw RoomError(.mediaMixer, "The room has no mixer") }
        do {
            let port = try await media.createHubPort(hub: composite)
            if let existing = p.hubPort { await media.release(port); return existing }
            p.hubPort = port
            await applyAllMixExclusions(room)  // this port may be someone's muted sender, or a listener with mutes
            return port
        } catch {
            throw RoomError(.mediaMixer, "The mixer could not add a port: \(error.message)")
        }
    }

    /// Feeds `p`'s published media into its composite port as `mode` wants.
    func wireIntoMixer(_ room: Room, _ p: Participant, mode: RoomMode) async throws(RoomError) {
        guard let publisher = p.publisher else { return }
        switch mode {
        case .sfu:
            return
        case .mcu:
            let port = try await ensureHubPort(room, p)
            try? await media.connect(publisher, port, kind: p.audioActive ? nil : .video)
            if !p.audioActive { try? await media.disconnect(publisher, port, kind: .audio) }
            if !p.videoActive { try? await media.disconnect(publisher, port, kind: .video) }
        case .hybrid:
            let port = try await ensureHubPort(room, p)
            if p.audioActive { try? await media.connect(publisher, port, kind: .audio) } else { try? await media.disconnect(publisher, port, kind: .audio) }
            try? await media.disconnect(publisher, port, kind: .video)
        }
    }

    /// Tells the mixer which senders `p` muted for itself (their current ports).
    func applyMixExclusions(_ room: Room, for p: Participant) async {
        guard room.mode != .sfu, let composite = room.composite, let port = p.hubPort else { return }
        let exclude = p.mutedInMix.sorted().compactMap { room.participants[$0]?.hubPort }
        try? await media.setMixExclusions(composite: composite, port: port, exclude: exclude)
    }

    /// After ports were made (a join, a publish, a switch to a mixing mode): every listener's exclusions again.
    func applyAllMixExclusions(_ room: Room) async {
        for p in room.members where !p.mutedInMix.isEmpty { await applyMixExclusions(room, for: p) }
    }

    /// What a subscription of `viewer` to `source` carries: each kind the source
    /// sends (not turned off by itself or a moderator) and the viewer did not mute
    /// for itself; no audio in hybrid mode, where the audio is in the room's mix.
    func forwardedKinds(_ room: Room, from source: Participant, to viewer: Participant) -> Set<RoomMediaKind> {
        var kinds: Set<RoomMediaKind> = []
        if source.audioActive, room.mode != .hybrid, !viewer.mutedInMix.contains(source.name) { kinds.insert(.audio) }
        if source.videoActive, !viewer.mutedVideo.contains(source.name) { kinds.insert(.video) }
        return kinds
    }

    /// Connects a new subscription endpoint to its source for `forwardedKinds`.
    func connectSubscription(_ room: Room, from source: Participant, to viewer: Participant, endpoint: String) async throws(RoomMediaError) {
        guard let publisher = source.publisher else { return }
        let kinds = forwardedKinds(room, from: source, to: viewer)
        // Both kinds: one connect for all media, data included (an endpoint without
        // data channels drops what it cannot send). Otherwise kind by kind, with
        // the publisher's data channel messages when both ends have data channels.
        if kinds.count == 2 { return try await media.connect(publisher, endpoint, kind: nil) }
        if source.dataChannels, viewer.dataChannels { try await media.connect(publisher, endpoint, kind: .data) }
        for kind in kinds { try await media.connect(publisher, endpoint, kind: kind) }
    }

    /// Wires `viewer`'s current subscription to `source` again: connects what
    /// `forwardedKinds` says, disconnects the rest.
    func rewire(_ room: Room, from source: Participant, to viewer: Participant) async throws(RoomMediaError) {
        guard let publisher = source.publisher, let sink = viewer.subscriptions[source.name]?.endpoint else { return }
        let kinds = forwardedKinds(room, from: source, to: viewer)
        for kind in [RoomMediaKind.audio, .video] {
            if kinds.contains(kind) { try await media.connect(publisher, sink, kind: kind) } else { try? await media.disconnect(publisher, sink, kind: kind) }
        }
    }
}
