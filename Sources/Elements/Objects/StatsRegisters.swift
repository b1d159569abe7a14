import JSONRPC
import MediaPlane

/// Kurento's Stats registers (`getStats`): one ElementStats or EndpointStats
/// per element, plus an RTCInbound/OutboundRTPStreamStats per RTP stream,
/// keyed by their stats ids, built from the media plane's plain numbers.
enum StatsRegisters {
    /// The object's own uuid (before the `_kurento.` suffix), which prefixes its stats ids.
    static func prefix(of objectID: String) -> String {
        let leaf = objectID.split(separator: "/").last.map(String.init) ?? objectID
        return String(leaf.prefix { $0 != "_" })
    }

    static func json(_ stats: NodeStats, objectID: String, timestampMillis: Int64) -> [String: JSONValue] {
        let id = "\(prefix(of: objectID))_element"
        var out: [String: JSONValue] = [:]
        out[id] = stats.isEndpoint
            ? ["__module__": "kurento", "__type__": "EndpointStats", "id": .string(id), "type": "endpoint",
               "timestampMillis": .int(timestampMillis), "inputLatency": [], "E2ELatency": []]
            : ["__module__": "kurento", "__type__": "ElementStats", "id": .string(id), "type": "element",
               "timestampMillis": .int(timestampMillis), "inputLatency": []]
        for s in stats.inbound {
            let (id, common) = stream("inbound", s.kind, s.ssrc, timestampMillis)
            var layer: [String: JSONValue] = [:]
            if let rid = s.rid {
                // Beyond Kurento's register: a simulcast layer's rid, picture size and bitrate.
                layer = ["rid": .string(rid), "frameWidth": .int(Int64(s.width)), "frameHeight": .int(Int64(s.height)),
                         "bitrate": .int(Int64(s.bitrate)), "temporalLayers": .int(Int64(s.temporalLayers))]
            }
            out[id] = .object(common.merging(layer) { a, _ in a }.merging([
                "firCount": 0, "pliCount": .int(Int64(s.plisSent)), "nackCount": .int(Int64(s.nacksSent)), "sliCount": 0,
                "remb": .int(Int64(s.rembSent)),
                // Beyond Kurento's register: transport-cc feedback packets sent (transport-wide, on video).
                "transportFeedbackSent": .int(Int64(s.transportFeedbackSent)),
                // Beyond Kurento's register: copies of packets already received (a sender's RTX probes), dropped.
                "packetsDuplicated": .int(Int64(s.packetsDuplicated)),
                "packetsLost": .int(s.packetsLost), "fractionLost": .double(s.fractionLost),
                "packetsReceived": .int(Int64(s.packetsReceived)), "bytesReceived": .int(Int64(s.bytesReceived)),
                "jitter": .double(s.jitter),
            ]) { a, _ in a })
        }
        for s in stats.outbound {
            let (id, common) = stream("outbound", s.kind, s.ssrc, timestampMillis)
            out[id] = .object(common.merging([
                "firCount": .int(Int64(s.firsReceived)), "pliCount": .int(Int64(s.plisReceived)),
                "nackCount": .int(Int64(s.nacksReceived)), "sliCount": 0,
                "remb": .int(Int64(s.remb)), "packetsLost": .int(s.packetsLost),
                "fractionLost": .double(s.fractionLost), "packetsSent": .int(Int64(s.packetsSent)),
                "bytesSent": .int(Int64(s.bytesSent)), "targetBitrate": .int(Int64(s.targetBitrate)), "layerSwitches": .int(Int64(s.layerSwitches)), "roundTripTime": .double(s.roundTripTime),
                // Tessera: the VP8 temporal cap this viewer is under (3: none) and the packets it left out.
                "temporalLayerCap": .int(Int64(s.temporalLayerCap)), "temporalPacketsDropped": .int(Int64(s.temporalDropped)),
                // Tessera: send-side estimation from transport-wide feedback (docs/simulcast.md).
                "transportFeedbackReceived": .int(Int64(s.transportFeedbackReceived)),
                "delayOveruses": .int(Int64(s.delayOveruses)), "delayBasedDecreases": .int(Int64(s.delayDecreases)),
                "pacedPackets": .int(Int64(s.pacedPackets)), "pacerLongestWait": .double(s.pacerLongestWait),
                // Beyond Kurento's register (names from W3C webrtc-stats): resends, and how many as RTX.
                "retransmittedPacketsSent": .int(Int64(s.retransmitted)), "rtxPacketsSent": .int(Int64(s.rtxSent)),
            ]) { a, _ in a })
        }
        for c in stats.dataChannels {
            let id = "datachannel-\(c.id)"
            out[id] = [
                "__module__": "kurento", "__type__": "RTCDataChannelStats", "id": .string(id), "type": "datachannel",
                "timestampMillis": .int(timestampMillis), "label": .string(c.label), "protocol": .string(c.protocol),
                "datachannelid": .int(Int64(c.id)), "state": .string(c.state),
                "messagesSent": .int(Int64(c.messagesSent)), "bytesSent": .int(Int64(c.bytesSent)),
                "messagesReceived": .int(Int64(c.messagesReceived)), "bytesReceived": .int(Int64(c.bytesReceived)),
            ]
        }
        return out
    }

    /// The stats id and the fields every RTCInbound/OutboundRTPStreamStats register shares;
    /// `direction` is "inbound" or "outbound".
    private static func stream(
        _ direction: String, _ kind: MediaKindKey, _ ssrc: UInt32, _ timestampMillis: Int64
    ) -> (id: String, fields: [String: JSONValue]) {
        let id = "\(direction)-\(kind == .audio ? "audio" : "video")-\(ssrc)"
        let type = direction == "inbound" ? "RTCInboundRTPStreamStats" : "RTCOutboundRTPStreamStats"
        return (id, [
            "__module__": "kurento", "__type__": .string(type), "id": .string(id), "type": .string("\(direction)rtp"),
            "timestampMillis": .int(timestampMillis), "ssrc": .string(String(ssrc)), "associateStatsId": "",
            "isRemote": false, "mediaTrackId": .string(kind.kurentoName), "transportId": "transport", "codecId": "",
        ])
    }
}
