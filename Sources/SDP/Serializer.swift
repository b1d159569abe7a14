// SessionDescription -> text. Lines end in CRLF (RFC 8866 §5) and appear in
// the mandated order: v= o= s= [c=] t= then session a= lines, then each
// media section as m= [c=] [b=] a=... (RFC 8866 §5, §5.14).

extension SessionDescription {
    /// The description as SDP text with `\r\n` line ends.
    public func serialize() -> String {
        var out = SDPWriter()
        out.line("v=0")
        let username = originUsername.isEmpty ? "-" : originUsername
        out.line("o=\(username) \(sessionID) \(sessionVersion) IN \(Self.addressType(originAddress)) \(originAddress)")
        out.line("s=\(sessionName.isEmpty ? "-" : sessionName)")
        if let connectionAddress {
            out.line("c=IN \(Self.addressType(connectionAddress)) \(connectionAddress)")
        }
        out.line("t=0 0")
        if iceLite { out.line("a=ice-lite") }
        for group in bundleGroups {
            out.line((["a=group:BUNDLE"] + group).joined(separator: " "))
        }
        if let iceUfrag { out.line("a=ice-ufrag:\(iceUfrag)") }
        if let icePwd { out.line("a=ice-pwd:\(icePwd)") }
        if !iceOptions.isEmpty { out.line("a=ice-options:" + iceOptions.joined(separator: " ")) }
        for fingerprint in fingerprints { out.line("a=fingerprint:\(fingerprint.algorithm) \(fingerprint.value)") }
        if let setup { out.line("a=setup:\(setup.rawValue)") }
        for attribute in otherAttributes { out.attribute(attribute) }
        for section in media { section.write(to: &out) }
        return out.text
    }

    /// IP6 for IPv6 literals, IP4 otherwise (also for FQDNs, which RFC 8866
    /// §5.7 allows under either).
    static func addressType(_ address: String) -> String {
        address.contains(":") ? "IP6" : "IP4"
    }
}

extension MediaDescription {
    /// Attribute order follows what browsers emit (RFC 8829 §5.2.1 does not
    /// mandate one): transport, mid, extmaps, direction, msid, rtcp, codecs,
    /// ssrcs, then candidates last.
    func write(to out: inout SDPWriter) {
        out.line((["m=\(kind.rawValue) \(port) \(proto)"] + formats).joined(separator: " "))
        if let connectionAddress {
            out.line("c=IN \(SessionDescription.addressType(connectionAddress)) \(connectionAddress)")
        }
        if let bandwidthAS { out.line("b=AS:\(bandwidthAS)") }
        if let iceUfrag { out.line("a=ice-ufrag:\(iceUfrag)") }
        if let icePwd { out.line("a=ice-pwd:\(icePwd)") }
        if !iceOptions.isEmpty { out.line("a=ice-options:" + iceOptions.joined(separator: " ")) }
        for fingerprint in fingerprints { out.line("a=fingerprint:\(fingerprint.algorithm) \(fingerprint.value)") }
        if let setup { out.line("a=setup:\(setup.rawValue)") }
        if let mid { out.line("a=mid:\(mid)") }
        if bundleOnly { out.line("a=bundle-only") }
        for extmap in extmaps {
            var text = "a=extmap:\(extmap.id)"
            if let direction = extmap.direction { text += "/\(direction.rawValue)" }
            text += " \(extmap.uri)"
            if let attributes = extmap.attributes { text += " \(attributes)" }
            out.line(text)
        }
        out.line("a=\(direction.rawValue)")
        if let msid { out.line("a=msid:\(msid)") }
        if rtcpMux { out.line("a=rtcp-mux") }
        if rtcpRsize { out.line("a=rtcp-rsize") }
        for attribute in otherAttributes { out.attribute(attribute) }
        for codec in codecs {
            var map = "a=rtpmap:\(codec.payloadType) \(codec.name)/\(codec.clockRate)"
            if let channels = codec.channels { map += "/\(channels)" }
            out.line(map)
            for value in codec.feedback { out.line("a=rtcp-fb:\(codec.payloadType) \(value)") }
            if let fmtp = codec.fmtp { out.line("a=fmtp:\(codec.payloadType) \(fmtp)") }
        }
        for group in ssrcGroups {
            out.line((["a=ssrc-group:\(group.semantics)"] + group.ssrcs.map { String($0) }).joined(separator: " "))
        }
        for ssrc in ssrcs {
            if let value = ssrc.value { out.line("a=ssrc:\(ssrc.ssrc) \(ssrc.name):\(value)") } else {
                out.line("a=ssrc:\(ssrc.ssrc) \(ssrc.name)")
            }
        }
        for candidate in candidates {
            // Stored as "candidate:..."; the SDP line is "a=candidate:...".
            out.line(candidate.hasPrefix("candidate:") ? "a=" + candidate : "a=candidate:" + candidate)
        }
        if endOfCandidates { out.line("a=end-of-candidates") }
    }
}

/// Accumulates CRLF-terminated lines.
struct SDPWriter {
    private(set) var text = ""

    mutating func line(_ value: String) {
        text += value
        text += "\r\n"
    }

    mutating func attribute(_ attribute: Attribute) {
        if let value = attribute.value { line("a=\(attribute.name):\(value)") } else { line("a=\(attribute.name)") }
    }
}
