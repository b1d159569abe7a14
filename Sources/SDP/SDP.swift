// SDP: parse, print and the offer/answer model (sans-IO).
//
// Module map:
// - SDPError.swift           typed parse/negotiation errors (Kurento error text)
// - Attributes.swift         small value types: Attribute, MediaKind, Direction, ...
// - Codec.swift              Codec and the RFC 3551 static payload table
// - MediaDescription.swift   one m= section
// - SessionDescription.swift the whole description
// - Parser.swift / ParserMedia.swift   text -> model (RFC 8866 §5)
// - Serializer.swift         model -> text (CRLF, RFC 8866 §5 order)
// - Capabilities.swift       what the server supports; negotiation results
// - Negotiation*.swift       JSEP answer, offer, answer processing (RFC 8829)
//
// Everything here is pure Swift standard library: no Foundation, no I/O, and no
// input may trap. Network input is untrusted.
