import Elements
public import JSONRPC

// Administration: the operator's view and actions (the HTTP admin API,
// docs/admin-api.yaml) and the moderator's `kickParticipant` and `closeRoom`
// (room protocol extension `admin`, docs/room-protocol.md).
extension RoomService {
    // MARK: Moderator requests

    func kickParticipant(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let target = try string(params, "target")
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may remove participants") }
        guard target != p.name else { throw RoomError(.generic, "Use leaveRoom to leave the room yourself") }
        return try await remove(target, from: room)
    }

    /// Removes `user` on purpose: `participantEvicted {reason: "kicked"}` to it, `participantLeft` to the rest.
    func remove(_ user: String, from room: Room) async throws(RoomError) -> JSONValue {
        guard let target = room.participants[user] else { throw RoomError(.userNotFound, "User '\(user)' not found in room '\(room.name)'") }
        if let origin = target.origin, let link = room.links[origin] {
            // Another node's participant: its node removes it, and the room hears it leave.
            link.transport.send(["op": "kick", "name": .string(user)])
            return ["removed": .string(user)]
        }
        await evict(room: room.name, user: user, notifyEvicted: true, reason: "kicked")
        return ["removed": .string(user)]
    }

    func closeRoom(session: Session) async throws(RoomError) -> JSONValue {
        let (room, p) = try member(session)
        guard p.role == .moderator else { throw RoomError(.unauthorized, "Only a moderator may close the room") }
        let count = await close(room)
        return ["room": .string(room.name), "participants": .int(Int64(count))]
    }

    /// Closes `room`: new joins are refused (203), everyone is told `roomClosed`, the
    /// recording is finished and every participant evicted. Returns how many there were.
    func close(_ room: Room) async -> Int {
        room.closing = true
        let people = room.members
        // A cascaded room closes on every node.
        cascadeSend(["op": "close"], in: room, except: nil)
        broadcast("roomClosed", ["room": .string(room.name)], in: room)
        await finishRecording(room, reason: "roomClosed")
        for p in people { await evict(room: room.name, user: p.name, notifyEvicted: true, reason: "roomClosed") }
        return people.count
    }

    // MARK: Admin API (operators)

    /// Every room: name, mode, participants, publishers, whether it records.
    public func adminRooms() -> JSONValue {
        .array(rooms.values.sorted { $0.name < $1.name }.map { r in
            [
                "name": .string(r.name), "mode": .string(r.mode.rawValue), "participants": .int(Int64(r.members.count)),
                "publishers": .int(Int64(r.members.filter(\.publishesAnything).count)), "recording": .bool(r.recording != nil),
            ]
        })
    }

    /// One room in detail, or nil when there is none of that name.
    public func adminRoom(_ name: String) -> JSONValue? {
        guard let r = rooms[name] else { return nil }
        var recording: JSONValue = .null
        if let rec = r.recording {
            recording = [
                "id": .string(rec.id), "name": .string(rec.name), "target": .string(rec.target), "uri": .string(rec.uri),
                "seconds": .double(seconds(clock.monotonicNow - rec.startedAt)),
            ]
        }
        return [
            "name": .string(r.name), "mode": .string(r.mode.rawValue), "layout": .string(r.layout),
            "switching": r.switchID.map { .string($0) } ?? .null, "recording": recording,
            "dominantSpeaker": r.speakers.dominant.map { .string($0) } ?? .null,
            "participants": .array(r.members.map { p in
                [
                    "name": .string(p.name), "role": .string(p.role.rawValue), "connected": .bool(sessions[p.session]?.connection != nil),
                    "publishing": .bool(p.publishing),
                    "streams": .array((p.publishing ? [["id": .string(p.primaryStream), "source": .string(p.primarySource)]] : [])
                        + p.extras.map { ["id": .string($0.id), "source": .string($0.source)] }),
                    "audioActive": .bool(p.audioActive), "videoActive": .bool(p.videoActive),
                    "forceMuted": .array(p.forceMuted.sorted().map { .string($0) }),
                    "speaking": .bool(r.speakers.speaking.contains(p.name)),
                    "subscriptions": .array(p.subscriptions.keys.sorted().map { .string($0) }),
                ]
            }),
        ]
    }

    /// One room's media, summed over every endpoint it holds (publishers and
    /// subscriptions), from their `getStats`: packets and bytes in and out, loss,
    /// the worst jitter, the mean RTT, feedback counts; and each publisher's own
    /// inbound figures. Per room here rather than in /metrics, whose series never go away.
    public func adminRoomMedia(_ name: String) async -> JSONValue? {
        guard let room = rooms[name] else { return nil }
        var owners: [(user: String, endpoint: String, publisher: Bool)] = []
        for p in room.members {
            if let e = p.publisher { owners.append((p.name, e, true)) }
            for x in p.extras { owners.append((p.key(of: x), x.endpoint, true)) }
            for s in p.subscriptions.values { owners.append((p.name, s.endpoint, false)) }
        }
        var total = MediaTotals()
        var publishers: [String: JSONValue] = [:]
        for o in owners {
            guard let registers = try? await media.stats(o.endpoint) else { continue }
            var mine = MediaTotals()
            for value in registers.values { mine.add(value) }
            total.merge(mine)
            if o.publisher { publishers[o.user] = mine.json }
        }
        var out = total.json.objectValue ?? [:]
        out["endpoints"] = .int(Int64(owners.count))
        out["publishers"] = .object(publishers)
        return .object(out)
    }

    func adminTarget(_ name: String) throws(RoomError) -> Room {
        guard let r = rooms[name], !r.closing else { throw RoomError(.roomNotFound, "No room '\(name)'") }
        return r
    }

    /// Closes a room; its participants get `roomClosed` and `participantEvicted`.
    public func adminCloseRoom(_ name: String) async throws(RoomError) -> JSONValue {
        let room = try adminTarget(name)
        return ["room": .string(name), "participants": .int(Int64(await close(room)))]
    }

    /// Removes one participant: `participantEvicted` to it, `participantLeft` to the rest.
    public func adminRemove(room name: String, user: String) async throws(RoomError) -> JSONValue {
        try await remove(user, from: try adminTarget(name))
    }

    /// Mutes (or unmutes) what a participant publishes, as a moderator would.
    public func adminMute(room name: String, user: String, kind: String, muted: Bool) async throws(RoomError) -> JSONValue {
        try await forceMute(in: try adminTarget(name), target: user, kind: kind, muted: muted)
        return ["user": .string(user), "kind": .string(kind), "muted": .bool(muted)]
    }

    public func adminStartRecording(room name: String, _ params: [String: JSONValue]) async throws(RoomError) -> JSONValue {
        try await startRecording(in: try adminTarget(name), params)
    }

    public func adminStopRecording(room name: String) async throws(RoomError) -> JSONValue {
        try await stopRecording(in: try adminTarget(name), id: nil)
    }

    public func adminSetMode(room name: String, mode: String) async throws(RoomError) -> JSONValue {
        try await setMode(of: try adminTarget(name), to: mode)
    }
}

/// Sums of Kurento stats registers (inboundrtp / outboundrtp).
struct MediaTotals {
    var packetsIn: Int64 = 0, bytesIn: Int64 = 0, packetsOut: Int64 = 0, bytesOut: Int64 = 0
    var packetsLost: Int64 = 0, maxJitter = 0.0, rttSum = 0.0, rttCount = 0
    var nacks: Int64 = 0, plis: Int64 = 0, firs: Int64 = 0

    mutating func add(_ register: JSONValue) {
        func int(_ k: String) -> Int64 { register[k]?.intValue ?? 0 }
        switch register["type"]?.stringValue {
        case "inboundrtp":
            packetsIn += int("packetsReceived")
            bytesIn += int("bytesReceived")
            packetsLost += max(0, int("packetsLost"))
            maxJitter = max(maxJitter, register["jitter"]?.doubleValue ?? 0)
        case "outboundrtp":
            packetsOut += int("packetsSent")
            bytesOut += int("bytesSent")
            if let rtt = register["roundTripTime"]?.doubleValue, rtt > 0 { rttSum += rtt; rttCount += 1 }
            nacks += int("nackCount")
            plis += int("pliCount")
            firs += int("firCount")
        default:
            break
        }
    }

    mutating func merge(_ o: MediaTotals) {
        packetsIn += o.packetsIn; bytesIn += o.bytesIn; packetsOut += o.packetsOut; bytesOut += o.bytesOut
        packetsLost += o.packetsLost; maxJitter = max(maxJitter, o.maxJitter); rttSum += o.rttSum; rttCount += o.rttCount
        nacks += o.nacks; plis += o.plis; firs += o.firs
    }

    var json: JSONValue {
        let expected = packetsIn + packetsLost
        return [
            "packetsIn": .int(packetsIn), "bytesIn": .int(bytesIn), "packetsOut": .int(packetsOut), "bytesOut": .int(bytesOut),
            "packetsLost": .int(packetsLost), "lossIn": .double(expected > 0 ? Double(packetsLost) / Double(expected) : 0),
            "maxJitterSeconds": .double(maxJitter), "meanRoundTripSeconds": rttCount > 0 ? .double(rttSum / Double(rttCount)) : .null,
            "nacksReceived": .int(nacks), "plisReceived": .int(plis), "firsReceived": .int(firs),
        ]
    }
}
