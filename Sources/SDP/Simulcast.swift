// Simulcast in SDP: RTP stream identifiers (RFC 8851) and the simulcast
// attribute (RFC 8853), as browsers write them.
//
//   a=rid:<rid-id> <send|recv> [pt=<fmt>,...;max-width=...]      RFC 8851 §10
//   a=simulcast:<send|recv> <alt-list>;<alt-list> [<recv|send> ...] RFC 8853 §5.1
//
// Each ';'-separated entry of a simulcast list is one stream; ',' separates
// alternatives of that stream and a leading '~' marks a stream the sender
// starts paused. We receive one stream per entry (its first alternative) and
// never send simulcast ourselves, so the answer to `simulcast:send a;b;c` is
// `simulcast:recv a;b;c` with a `rid:x recv` line per stream.
//
// Older clients signal simulcast with an SSRC group instead
// (`a=ssrc-group:SIM <ssrc-low> <ssrc-mid> <ssrc-high>`, the draft that
// preceded RFC 8853); its SSRCs come lowest resolution first.

/// One `a=rid` line.
public struct RIDDescription: Sendable, Equatable {
    public var id: String
    /// true for `send` (the peer sends this stream), false for `recv`.
    public var sends: Bool
    /// Restrictions after the direction (`pt=...;max-width=...`), as written.
    public var restrictions: String?

    public init(id: String, sends: Bool, restrictions: String? = nil) {
        self.id = id
        self.sends = sends
        self.restrictions = restrictions
    }

    /// Parses the value of `a=rid:`; nil when it is not one (RFC 8851 §10: rid-id is 1*(alpha-numeric / "-" / "_")).
    public init?(value: String) {
        let fields = value.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard fields.count >= 2, Self.isValidID(fields[0]) else { return nil }
        switch fields[1] {
        case "send": sends = true
        case "recv": sends = false
        default: return nil
        }
        id = String(fields[0])
        restrictions = fields.count > 2 ? String(fields[2]) : nil
    }

    static func isValidID(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 255 && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }
}

/// The streams of one direction of `a=simulcast`, in the order written.
public struct SimulcastStreams: Sendable, Equatable {
    /// One entry per stream: its alternatives (rid ids) and whether it starts paused.
    public var streams: [(rids: [String], paused: Bool)]

    public init(streams: [(rids: [String], paused: Bool)]) { self.streams = streams }

    public static func == (a: Self, b: Self) -> Bool {
        a.streams.count == b.streams.count && zip(a.streams, b.streams).allSatisfy { $0.rids == $1.rids && $0.paused == $1.paused }
    }

    /// Parses `a;b,c;~d`.
    init?(list: Substring) {
        var streams: [(rids: [String], paused: Bool)] = []
        for entry in list.split(separator: ";", omittingEmptySubsequences: false) {
            var paused = false
            var rids: [String] = []
            for alternative in entry.split(separator: ",", omittingEmptySubsequences: false) {
                var id = alternative
                if id.hasPrefix("~") {
                    paused = true
                    id = id.dropFirst()
                }
                guard RIDDescription.isValidID(id) else { return nil }
                rids.append(String(id))
            }
            guard !rids.isEmpty else { return nil }
            streams.append((rids, paused))
        }
        guard !streams.isEmpty else { return nil }
        self.streams = streams
    }

    var serialized: String {
        streams.map { s in s.rids.enumerated().map { (i, r) in (i == 0 && s.paused ? "~" : "") + r }.joined(separator: ",") }
            .joined(separator: ";")
    }
}

/// `a=simulcast`: what the peer sends and what it receives as simulcast.
public struct SimulcastDescription: Sendable, Equatable {
    public var send: SimulcastStreams?
    public var recv: SimulcastStreams?

    public init(send: SimulcastStreams? = nil, recv: SimulcastStreams? = nil) {
        self.send = send
        self.recv = recv
    }

    /// Parses the value of `a=simulcast:` (RFC 8853 §5.1); nil when malformed.
    public init?(value: String) {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2 || fields.count == 4 else { return nil }
        var i = 0
        while i < fields.count {
            guard let streams = SimulcastStreams(list: fields[i + 1]) else { return nil }
            switch fields[i] {
            case "send" where send == nil: send = streams
            case "recv" where recv == nil: recv = streams
            default: return nil
            }
            i += 2
        }
    }

    public var serialized: String {
        var parts: [String] = []
        if let send { parts.append("send " + send.serialized) }
        if let recv { parts.append("recv " + recv.serialized) }
        return parts.joined(separator: " ")
    }
}

extension MediaDescription {
    /// The `a=rid` lines of this section that parse.
    public var rids: [RIDDescription] {
        otherAttributes.compactMap { $0.name == "rid" ? $0.value.flatMap(RIDDescription.init(value:)) : nil }
    }

    /// The first `a=simulcast` line, when it parses.
    public var simulcast: SimulcastDescription? {
        otherAttributes.first { $0.name == "simulcast" }?.value.flatMap(SimulcastDescription.init(value:))
    }

    /// The rid of each stream the peer sends as simulcast, in the order the
    /// `a=simulcast` line lists them (first alternative of each entry, only
    /// rids announced with `a=rid:<id> send`). Empty without simulcast or
    /// with a single stream (nothing to choose from).
    public var offeredSimulcastRIDs: [String] {
        guard let send = simulcast?.send else { return [] }
        let announced = Set(rids.filter(\.sends).map(\.id))
        var seen = Set<String>()
        let ids = send.streams.compactMap { s in s.rids.first { announced.contains($0) } }.filter { seen.insert($0).inserted }
        return ids.count >= 2 ? ids : []
    }

    /// SSRCs of an `a=ssrc-group:SIM` line (lowest resolution first), when
    /// it lists at least two.
    public var simulcastSSRCGroup: [UInt32] {
        guard let group = ssrcGroups.first(where: { $0.semantics == "SIM" }), group.ssrcs.count >= 2 else { return [] }
        return group.ssrcs
    }
}
