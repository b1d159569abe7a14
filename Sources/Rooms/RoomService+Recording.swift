import Foundation
import Elements
import JSONRPC

/// One file of a `participants` recording: one publisher's stream as sent (no re-encode).
struct ParticipantFile {
    /// The publisher's name.
    var user: String
    /// Which of its streams: nil for the first one, else an extra stream's id.
    var stream: String?
    var recorder: String
    var uri: String
    var path: String
    var startedAt: Duration
    var endedAt: Duration?

    /// The subscription-style key of the stream written: `user` or `user_stream`.
    var key: String { stream.map { "\(user)_\($0)" } ?? user }
}

struct Recording {
    var id: String
    var name: String
    /// `composite` (the server's mix, one file) or `participants` (one file per publisher).
    var target: String = "composite"
    /// Composite target: its recorder and the HubPort feeding it.
    var recorder: String?
    var port: String?
    var uri: String
    var path: String
    var startedAt: Duration
    var createdAt: Int64
    /// Participants target: what a new file gets, and every file so far.
    var format = "webm"
    var profile = "WEBM"
    var files: [ParticipantFile] = []

    var isComposite: Bool { target == "composite" }
}

// Recording a room (§10.7): the composite in one file, or one file per publisher.
extension RoomService {
    // MARK: §10.7 recording

    func startRecording(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let (room, p) = try member(session)
        guard p.grant.canRecord else { throw RoomError(.unauthorized, "This participant's token does not allow recording") }
        return try await startRecording(in: room, params)
    }

    /// Starts recording `room` as `params` say (a moderator's request or the admin API).
    func startRecording(in room: Room, _ params: [String: JSONValue]) async throws(RoomError) -> JSONValue {
        let target = params["target"]?.stringValue ?? "composite"
        guard target == "composite" || target == "participants" else {
            throw RoomError(.recordingStart, "target must be 'composite' (one file of the mixed meeting) or 'participants' (one file per publisher)")
        }
        let format = params["format"]?.stringValue ?? "webm"
        guard ["webm", "mkv"].contains(format) else { throw RoomError(.recordingStart, "format must be webm or mkv") }
        guard room.recording == nil else { throw RoomError(.recordingInProgress, "The room is already being recorded (\(room.recording?.id ?? ""))") }
        let hasAudio = params["hasAudio"]?.boolValue ?? true, hasVideo = params["hasVideo"]?.boolValue ?? true
        guard hasAudio || hasVideo else { throw RoomError(.recordingStart, "hasAudio and hasVideo cannot both be false") }
        let profile = (format == "mkv" ? "MKV" : "WEBM") + (hasAudio && hasVideo ? "" : hasAudio ? "_AUDIO_ONLY" : "_VIDEO_ONLY")
        let id = "rec-\(nextRecording)"
        nextRecording += 1
        let rawName = params["name"]?.stringValue ?? id
        let base = "\(options.recordingDirectory)/\(Self.fileSafe(room.name))-\(Self.fileSafe(rawName))-\(id)"
        guard let pipeline = room.pipeline else { throw RoomError(.recordingStart, "The room has no pipeline") }
        let created = clock.wallClockMillis

        if target == "participants" {
            // One recorder per publisher, fed by its own endpoint: what it sends, as it sends it.
            room.recording = Recording(
                id: id, name: rawName, target: target, uri: "file://\(options.recordingDirectory)/", path: base,
                startedAt: clock.monotonicNow, createdAt: created, format: format, profile: profile)
            for other in room.members where other.publishesAnything {
                do {
                    if other.publishing { try await startParticipantFile(room, other) }
                    for extra in other.extras { try await startParticipantFile(room, other, stream: extra) }
                } catch {
                    await finishRecording(room, reason: "mediaError", notify: false)
                    throw error
                }
            }
            broadcast("recordingStarted", ["id": .string(id), "name": .string(rawName)], in: room, feature: "recording")
            return ["id": .string(id), "name": .string(rawName), "status": "started", "createdAt": .int(created),
                    "target": "participants", "uri": .string("file://\(options.recordingDirectory)/")]
        }

        let path = "\(base).\(format)"
        let uri = "file://\(path)"
        // The recorder takes the composite's own output (no second encode) through a port of its own.
        var recorder: String?
        var port: String?
        do {
            try await ensureComposite(room)
            guard let composite = room.composite else { throw RoomError(.mediaMixer, "The room has no mixer") }
            let r = try await media.createRecorder(pipeline: pipeline, uri: uri, profile: profile)
            recorder = r
            let hp = try await media.createHubPort(hub: composite)
            port = hp
            try await media.connect(hp, r, kind: nil)
            try await media.record(r)
        } catch {
            // Nothing half-made stays behind.
            if let port { await media.release(port) }
            if let recorder { await media.release(recorder) }
            let detail = (error as? RoomMediaError)?.message ?? (error as? RoomError)?.message ?? "\(error)"
            throw RoomError(.recordingStart, "The recorder could not start: \(detail)")
        }
        guard let recorder, let port else { throw RoomError(.recordingStart, "The recorder could not start") }
        room.recording = Recording(id: id, name: rawName, recorder: recorder, port: port, uri: uri, path: path,
                                   startedAt: clock.monotonicNow, createdAt: created)
        // An SFU room now mixes for the recorder: feed the publishers in and lay out the grid.
        for other in room.members where other.publishesAnything { try? await wireIntoMixer(room, other, mode: room.mixerMode) }
        room.appliedLayout = ""
        await applyLayout(room)
        broadcast("recordingStarted", ["id": .string(id), "name": .string(rawName)], in: room, feature: "recording")
        return ["id": .string(id), "name": .string(rawName), "status": "started", "createdAt": .int(created), "uri": .string(uri)]
    }

    static func fileSafe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(64))
    }

    /// A `participants` recording: a file for `p`'s published stream (a second
    /// publish in the same recording gets a numbered file).
    /// Starts the file of `p`'s first stream, or of `stream`, in the room's
    /// `participants` recording: `<base>-<user>[-<stream>][-<n>].<format>`.
    func startParticipantFile(_ room: Room, _ p: Participant, stream: ExtraStream? = nil) async throws(RoomError) {
        guard var rec = room.recording, !rec.isComposite, let publisher = stream?.endpoint ?? p.publisher, let pipeline = room.pipeline else { return }
        let key = stream.map { p.key(of: $0) } ?? p.name
        guard !rec.files.contains(where: { $0.key == key && $0.endedAt == nil }) else { return }
        let earlier = rec.files.filter { $0.key == key }.count
        let label = Self.fileSafe(p.name) + (stream.map { "-" + Self.fileSafe($0.id) } ?? "")
        let path = "\(rec.path)-\(label)\(earlier == 0 ? "" : "-\(earlier + 1)").\(rec.format)"
        let uri = "file://\(path)"
        let kind: RoomMediaKind? = rec.profile.hasSuffix("_AUDIO_ONLY") ? .audio : rec.profile.hasSuffix("_VIDEO_ONLY") ? .video : nil
        var recorder: String?
        do {
            let r = try await media.createRecorder(pipeline: pipeline, uri: uri, profile: rec.profile)
            recorder = r
            try await media.connect(publisher, r, kind: kind)
            if !p.audioActive { try await media.setRecorderAudioMuted(r, muted: true) }
            try await media.record(r)
        } catch {
            if let recorder { await media.release(recorder) }
            throw RoomError(.recordingStart, "The recorder for '\(key)' could not start: \(error.message)")
        }
        guard let recorder, room.recording?.id == rec.id else {
            if let recorder { await media.release(recorder) }
            return
        }
        rec = room.recording!
        rec.files.append(ParticipantFile(user: p.name, stream: stream?.id, recorder: recorder, uri: uri, path: path, startedAt: clock.monotonicNow))
        room.recording = rec
    }

    /// Ends the open file of a `participants` recording whose key (`user` or
    /// `user_stream`) is `user` (complete when this returns).
    @discardableResult
    func finishParticipantFile(_ room: Room, user: String) async -> Bool {
        guard var rec = room.recording, let i = rec.files.firstIndex(where: { $0.key == user && $0.endedAt == nil }) else { return true }
        rec.files[i].endedAt = clock.monotonicNow
        room.recording = rec
        let recorder = rec.files[i].recorder
        var ok = true
        do { try await media.stopRecorder(recorder) } catch { ok = false }
        await media.release(recorder)
        return ok
    }

    func stopRecording(_ params: [String: JSONValue], session: Session) async throws(RoomError) -> JSONValue {
        let id = try string(params, "id")
        let (room, p) = try member(session)
        guard p.grant.canRecord else { throw RoomError(.unauthorized, "This participant's token does not allow recording") }
        return try await stopRecording(in: room, id: id)
    }

    /// Stops `room`'s recording `id` (any recording when nil); the files are complete when this returns.
    func stopRecording(in room: Room, id: String?) async throws(RoomError) -> JSONValue {
        guard let rec = room.recording?.id, id == nil || rec == id else {
            throw RoomError(.recordingStop, id.map { "No recording '\($0)' in this room" } ?? "The room is not being recorded")
        }
        guard let result = await finishRecording(room, reason: "stoppedByUser") else {
            throw RoomError(.recordingStop, "The recorder could not stop cleanly")
        }
        return result
    }

    /// Seconds, to a tenth.
    func seconds(_ d: Duration) -> Double {
        (d / .seconds(1) * 10).rounded() / 10
    }

    func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    /// Stops the room's recording (the files are complete when this returns) and tells the clients.
    @discardableResult
    func finishRecording(_ room: Room, reason: String, notify: Bool = true) async -> JSONValue? {
        guard let rec = room.recording else { return nil }
        var ok = true
        if rec.isComposite {
            room.recording = nil
            if let recorder = rec.recorder {
                do { try await media.stopRecorder(recorder) } catch { ok = false }
            }
            if let port = rec.port { await media.release(port) }
            if let recorder = rec.recorder { await media.release(recorder) }
        } else {
            for file in rec.files where file.endedAt == nil {
                if !(await finishParticipantFile(room, user: file.key)) { ok = false }
            }
        }
        let final = room.recording ?? rec
        room.recording = nil
        let now = clock.monotonicNow
        if notify {
            broadcast("recordingStopped", ["id": .string(rec.id), "name": .string(rec.name), "reason": .string(reason)], in: room, feature: "recording")
        }
        if room.mixerMode == .sfu {
            for p in room.members {
                if let port = p.hubPort {
                    p.hubPort = nil
                    await media.release(port)
                }
                await releaseExtraPorts(of: p)
            }
        }
        guard ok else { return nil }
        if rec.isComposite {
            return [
                "id": .string(rec.id), "name": .string(rec.name), "status": "stopped",
                "duration": .double(seconds(now - rec.startedAt)), "size": .int(Int64(fileSize(rec.path))), "uri": .string(rec.uri),
            ]
        }
        let files: [JSONValue] = final.files.map { f in
            var entry: [String: JSONValue] = [
                "user": .string(f.user), "uri": .string(f.uri), "size": .int(Int64(fileSize(f.path))),
                "duration": .double(seconds((f.endedAt ?? now) - f.startedAt)),
            ]
            if let stream = f.stream { entry["streamId"] = .string(stream) }
            return .object(entry)
        }
        let total = final.files.reduce(0) { $0 + fileSize($1.path) }
        return [
            "id": .string(rec.id), "name": .string(rec.name), "status": "stopped", "target": "participants",
            "duration": .double(seconds(now - rec.startedAt)), "size": .int(Int64(total)), "uri": .string(rec.uri),
            "files": .array(files),
        ]
    }
}
