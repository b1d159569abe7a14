import Foundation
import Elements
import JSONRPC

// Switching a room between SFU, MCU and hybrid while people talk (§10.8).
extension RoomService {
    // MARK: §10.8 mode switch

    func setRoomMode(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let modeName = try string(params, "mode")
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may change the room mode") }
        if let owner = room.owner, let link = room.links[owner] {
            // A hosting node of a cascaded room: the owner switches, and this node follows.
            guard let mode = RoomMode(rawValue: modeName), options.modes.contains(mode) else {
                throw RoomError(.roomModeNotSupported, "Room mode '\(modeName)' is not supported")
            }
            link.transport.send(["op": "setMode", "mode": .string(mode.rawValue)])
            return ["mode": .string(mode.rawValue), "previousMode": .string(room.mode.rawValue), "switchId": .null, "node": .string(owner)]
        }
        return try await setMode(of: room, to: modeName)
    }

    /// Switches `room` to the mode named `modeName` (a moderator's request or the admin API).
    func setMode(of room: Room, to modeName: String) async throws(RoomError) -> JSONValue {
        guard let mode = RoomMode(rawValue: modeName), options.modes.contains(mode) else {
            throw RoomError(.roomModeNotSupported, "Room mode '\(modeName)' is not supported")
        }
        guard room.switchID == nil else { throw RoomError(.roomModeSwitchInProgress, "A mode switch is in progress (\(room.switchID ?? ""))") }
        let previous = room.mode
        guard mode != previous else { return ["mode": .string(mode.rawValue), "previousMode": .string(previous.rawValue), "switchId": .null] }
        let id = try await switchMode(room.name, to: mode)
        return ["mode": .string(mode.rawValue), "previousMode": .string(previous.rawValue), "switchId": .string(id)]
    }

    /// Make-before-break (§10.8): wire the new mode, advertise its streams,
    /// and drop each subscriber's old streams once its new ones flow.
    @discardableResult
    func switchMode(_ roomName: String, to mode: RoomMode) async throws(RoomError) -> String {
        guard let room = rooms[roomName], room.switchID == nil, room.mode != mode else { return "" }
        let id = "sw-\(nextSwitch)"
        nextSwitch += 1
        room.switchID = id
        room.switchAdvertised = false
        room.switchFrom = room.mode
        room.switchEpoch += 1
        let previous = room.mode
        room.mode = mode
        if mode != .sfu {
            do { try await ensureComposite(room) } catch {
                room.mode = previous
                room.switchID = nil
                throw error
            }
        }
        for p in room.members where p.publishesAnything { try? await wireIntoMixer(room, p, mode: room.mixerMode) }
        room.appliedLayout = ""
        await applyLayout(room)
        var started: [String: JSONValue] = [
            "mode": .string(mode.rawValue), "previousMode": .string(previous.rawValue), "switchId": .string(id), "phase": "started",
        ]
        if mode != .sfu { started["composite"] = room.compositeDescription }
        broadcast("roomModeChanged", .object(started), in: room, feature: "mode")
        // Advertise what the new mode offers; clients subscribe as usual.
        if let streams = room.mcuStreams {
            broadcast("participantPublished", Room.peer(mcuName, streams), in: room)
        }
        if mode != .mcu {
            for publisher in room.members where publisher.publishesAnything { announce(publisher, in: room) }
        }
        // Participants of other nodes switch there.
        for p in room.locals { p.switchPending = true }
        await cascadeModeChanged(room, completed: false)
        room.switchAdvertised = true
        room.switchStartedAt = clock.monotonicNow
        await progressSwitch(room)
        return id
    }

    /// `participantUnpublished` params for a subscription key: `{name}` for a
    /// first stream or the mixer, `{name, streamId}` for an extra stream.
    static func unpublishedNote(key: String) -> JSONValue {
        let parts = key.split(separator: "_", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return ["name": .string(key)] }
        return ["name": .string(parts[0]), "streamId": .string(parts[1])]
    }

    /// Completes the switch for every participant whose new streams flow
    /// (or who waited longer than the switch timeout).
    func progressSwitch(_ room: Room) async {
        guard let id = room.switchID, room.switchAdvertised else { return }
        let timedOut = clock.monotonicNow - room.switchStartedAt >= options.switchTimeout
        for p in room.members where p.switchPending {
            let expected = room.expectedSenders(for: p)
            let ready = expected.allSatisfy { sender in
                guard let s = p.subscriptions[sender] else { return false }
                return s.epoch == room.switchEpoch && s.flowing
            }
            guard ready || timedOut else { continue }
            p.switchPending = false
            // Old streams that the new mode does not carry go away.
            for (sender, s) in p.subscriptions where !expected.contains(sender) {
                p.subscriptions[sender] = nil
                send("participantUnpublished", Self.unpublishedNote(key: sender), to: p)
                await releaseEndpoint(s.endpoint)
            }
            for (sender, olds) in p.retiring {
                p.retiring[sender] = nil
                for old in olds { await releaseEndpoint(old) }
            }
        }
        guard room.members.allSatisfy({ !$0.switchPending }) else { return }
        await applyLayout(room)
        // Nothing is fed into the mixer in SFU mode (unless it records): unwire the publishers.
        if room.mixerMode == .sfu {
            for p in room.members {
                if let port = p.hubPort {
                    p.hubPort = nil
                    await media.release(port)
                }
                await releaseExtraPorts(of: p)
            }
        }
        room.switchID = nil
        await cascadeModeChanged(room, completed: true)
        await sfuSpeakersChanged(room)  // back to SFU: the publishers' own reports take over
        broadcast("roomModeChanged", [
            "mode": .string(room.mode.rawValue), "previousMode": .string(room.switchFrom.rawValue), "switchId": .string(id), "phase": "completed",
        ], in: room, feature: "mode")
    }
}
