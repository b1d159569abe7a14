import Foundation
import SDP
import Testing
import FuzzSupport

/// Structure-aware fuzzing of what peers send us: the captured offers and
/// answers (Fixtures/), mutated line by line and character by character, go
/// through the parser and, when they parse, through answer generation. Any
/// outcome but a trap is fine; what we answer must parse back to itself.
@Suite struct SDPFuzzTests {
    typealias Rng = SeededRandom

    static let oddValues = [
        "", " ", "0", "-1", "65536", "4294967296", "99999999999999999999", "1e9", "NaN", "*", "/", ":", "é", "\u{0}",
        "\u{202E}", "IN IP6 ::1", "IN IP4 999.1.1.1", "UDP/TLS/RTP/SAVPF", "actpass", "sha-256 00", "x-unknown:",
        String(repeating: "9", count: 400), String(repeating: "a=", count: 50),
    ]

    static func mutate(_ text: String, _ rng: inout Rng) -> String {
        var lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        for _ in 0...rng.below(4) where !lines.isEmpty {
            let i = rng.below(lines.count)
            switch rng.below(9) {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: rng.below(lines.count))
            case 2: lines.swapAt(i, rng.below(lines.count))
            case 3:  // replace one space-separated field
                var fields = lines[i].components(separatedBy: " ")
                fields[rng.below(fields.count)] = oddValues[rng.below(oddValues.count)]
                lines[i] = fields.joined(separator: " ")
            case 4:  // replace the value after "="
                if let eq = lines[i].firstIndex(of: "=") {
                    lines[i] = String(lines[i][...eq]) + oddValues[rng.below(oddValues.count)]
                }
            case 5:  // cut the line
                let chars = Array(lines[i])
                lines[i] = String(chars.prefix(rng.below(chars.count + 1)))
            case 6:  // one character changed
                var chars = Array(lines[i])
                if !chars.isEmpty { chars[rng.below(chars.count)] = Character(UnicodeScalar(UInt8(32 + rng.below(95)))) }
                lines[i] = String(chars)
            case 7:  // a line from elsewhere in the same description, under another media section
                lines.append(lines[i])
            default:  // line endings: bare LF or none
                lines[i] += rng.below(2) == 0 ? "\n" : ""
            }
        }
        return lines.joined(separator: rng.below(8) == 0 ? "\n" : "\r\n") + "\r\n"
    }

    static func acceptedOnly(_ d: SessionDescription) -> SessionDescription {
        var d = d
        for i in d.media.indices where d.media[i].port == 0 { d.media[i].codecs = [] }
        return d
    }

    @Test(arguments: Fixture.all)
    func mutatedCapturesNeverTrap(name: String) throws {
        let original = try Fixture.text(name)
        var rng = Rng(seed: UInt64(name.utf8.count) &* 7_919)
        var parsed = 0, answered = 0
        for _ in 0..<400 {
            let text = Self.mutate(original, &rng)
            guard let offer = try? SessionDescription.parse(text) else { continue }
            parsed += 1
            _ = offer.serialize()
            for streams in [Local.sendrecv, Local.recvonly, Local.sendonly] {
                guard let (answer, media) = try? Local.answer(offer, streams: streams) else { continue }
                answered += 1
                #expect(media.count == offer.media.count)
                // A rejected section (port 0) lists formats without rtpmaps; parsing it back infers the
                // static payload types (0 = PCMU ...), so codecs are compared for accepted sections only.
                let again = try? SessionDescription.parse(answer.serialize())
                #expect(again.map(Self.acceptedOnly) == Self.acceptedOnly(answer), "our answer to a mutated \(name) does not parse back")
            }
        }
        // Mutations must leave enough valid descriptions to reach negotiation.
        #expect(parsed > 50, "only \(parsed) mutated \(name) parsed")
        #expect(answered > 0 || !Fixture.offers.contains(name))
    }
}
