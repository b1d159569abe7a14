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

    /// The participant's own port: its first stream's input, and its mix-minus output.
    func ensureHubPort(_ room: Room, _ p: Participant) async throws(RoomError) -> String {
        try await ensurePort(room, current: { p.hubPort }, store: { p.hubPort = $0 })
    }

    /// The input port of one of `p`'s extra streams.
    func ensureHubPort(_ room: Room, _ extra: ExtraStream) async throws(RoomError) -> String {
        try await ensurePort(room, current: { extra.hubPort }, store: { extra.hubPort = $0 })
    }

    /// A HubPort of the room's composite, made on first use and kept where
    /// `current` reads it and `store` writes it; one made while another call
    /// already made one (the awaits let it in) is released.
    private func ensurePort(_ room: Room, current: () -> String?, store: (String) -> Void) async throws(RoomError) -> String {
        if let port = current() { return port }
        try await ensureComposite(room)
        guard let composite = room.composite else { throw RoomError(.mediaMixer, "The room has no mixer") }
        do {
            let port = try await media.createHubPort(hub: composite)
            if let existing = current() { await media.release(port); return existing }
            store(port)
            // The new port may be a muted sender's, an extra stream its owner must not hear, or a listener's with mutes.
            await applyAllMixExclusions(room)
            return port
        } catch {
            throw RoomError(.mediaMixer, "The mixer could not add a port: \(error.message)")
        }
    }

    /// Feeds `p`'s published media into its composite ports as `mode` wants:
    /// the first stream into the participant's own port, each extra stream
    /// into a port of its own (made here when missing).
    func wireIntoMixer(_ room: Room, _ p: Participant, mode: RoomMode) async throws(RoomError) {
        // On a hosting node of a cascaded room, the owner's mix carries everyone not here.
        guard mode != .sfu, room.owner == nil || p.origin == nil else { return }
        if let publisher = p.publisher {
            let port = try await ensureHubPort(room, p)
            await feed(publisher, into: port, mode: mode, audio: p.audioActive, video: p.videoActive)
        }
        for extra in p.extras {
            let port = try await ensureHubPort(room, extra)
            // A participant's video mute is its camera's; its audio mute silences every stream.
            await feed(extra.endpoint, into: port, mode: mode, audio: p.audioActive, video: true)
        }
    }

    /// Connects `endpoint` to `port`: both kinds in MCU mode, audio only in
    /// hybrid mode (video is forwarded there); a kind turned off stays off.
    private func feed(_ endpoint: String, into port: String, mode: RoomMode, audio: Bool, video: Bool) async {
        switch mode {
        case .sfu:
            return
        case .mcu:
            try? await media.connect(endpoint, port, kind: audio ? nil : .video)
            if !audio { try? await media.disconnect(endpoint, port, kind: .audio) }
            if !video { try? await media.disconnect(endpoint, port, kind: .video) }
        case .hybrid:
            if audio { try? await media.connect(endpoint, port, kind: .audio) } else { try? await media.disconnect(endpoint, port, kind: .audio) }
            try? await media.disconnect(endpoint, port, kind: .video)
        }
    }

    /// Releases the ports of `p`'s extra streams (the room stopped mixing, or they stopped).
    func releaseExtraPorts(of p: Participant) async {
        for extra in p.extras {
            if let port = extra.hubPort {
                extra.hubPort = nil
                await media.release(port)
            }
        }
    }

    /// Tells the mixer which ports `p` does not hear: those of the senders it
    /// muted for itself (all their streams), and its own extra streams (a
    /// shared screen's sound is not played back to the one sharing it).
    func applyMixExclusions(_ room: Room, for p: Participant) async {
        guard room.mode != .sfu, let composite = room.composite, let port = p.hubPort else { return }
        var exclude: [String] = []
        for sender in p.mutedInMix.sorted() {
            if let s = room.participants[sender] { exclude += s.inputPorts }
        }
        exclude += p.extras.compactMap(\.hubPort)
        try? await media.setMixExclusions(composite: composite, port: port, exclude: exclude)
    }

    /// After ports were made (a join, a publish, a switch to a mixing mode): every listener's exclusions again.
    func applyAllMixExclusions(_ room: Room) async {
        for link in room.links.values where link.mixPort != nil { await applyNodeMixExclusions(room, link) }
        for p in room.members where !p.mutedInMix.isEmpty || p.extras.contains(where: { $0.hubPort != nil }) {
            await applyMixExclusions(room, for: p)
        }
    }

    /// What a subscription of `viewer` to `source` (its first stream, or
    /// `extra`) carries: each kind the source sends (not turned off by itself or
    /// a moderator) and the viewer did not mute for itself; no audio in hybrid
    /// mode, where the audio is in the room's mix. A participant's video mute
    /// is its first stream's: a shared screen stays on with the camera off.
    func forwardedKinds(_ room: Room, from source: Participant, _ extra: ExtraStream? = nil, to viewer: Participant) -> Set<RoomMediaKind> {
        var kinds: Set<RoomMediaKind> = []
        if source.audioActive, room.mode != .hybrid, !viewer.mutedInMix.contains(source.name) { kinds.insert(.audio) }
        if source.videoActive || extra != nil, !viewer.mutedVideo.contains(source.name) { kinds.insert(.video) }
        return kinds
    }

    /// Connects a new subscription endpoint to its source for `forwardedKinds`.
    func connectSubscription(
        _ room: Room, from source: Participant, _ extra: ExtraStream? = nil, to viewer: Participant, endpoint: String
    ) async throws(RoomMediaError) {
        guard let publisher = extra?.endpoint ?? source.publisher else { return }
        let kinds = forwardedKinds(room, from: source, extra, to: viewer)
        // Both kinds: one connect for all media, data included (an endpoint without
        // data channels drops what it cannot send). Otherwise kind by kind, with
        // the publisher's data channel messages when both ends have data channels.
        if kinds.count == 2 { return try await media.connect(publisher, endpoint, kind: nil) }
        if extra == nil, source.dataChannels, viewer.dataChannels { try await media.connect(publisher, endpoint, kind: .data) }
        for kind in kinds { try await media.connect(publisher, endpoint, kind: kind) }
    }

    /// Wires each of `viewer`'s current subscriptions to `source`'s streams
    /// again: connects what `forwardedKinds` says, disconnects the rest.
    func rewire(_ room: Room, from source: Participant, to viewer: Participant) async throws(RoomMediaError) {
        var pairs: [(publisher: String, sink: String, extra: ExtraStream?)] = []
        if let publisher = source.publisher, let sink = viewer.subscriptions[source.name]?.endpoint { pairs.append((publisher, sink, nil)) }
        for extra in source.extras {
            if let sink = viewer.subscriptions[source.key(of: extra)]?.endpoint { pairs.append((extra.endpoint, sink, extra)) }
        }
        for (publisher, sink, extra) in pairs {
            let kinds = forwardedKinds(room, from: source, extra, to: viewer)
            for kind in [RoomMediaKind.audio, .video] {
                if kinds.contains(kind) { try await media.connect(publisher, sink, kind: kind) } else { try? await media.disconnect(publisher, sink, kind: kind) }
            }
        }
    }
}
