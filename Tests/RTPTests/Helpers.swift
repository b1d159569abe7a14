// Shared helpers for the RTP tests: annotated hex literals and a
// deterministic PRNG.

import FuzzSupport

/// Bytes from a hex string. Whitespace and `|` separate groups, `#` starts
/// a comment to the end of the line, so test vectors can be annotated field
/// by field exactly as they sit on the wire.
func hex(_ text: String) -> [UInt8] {
    var digits: [UInt8] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for character in code where character.isHexDigit {
            digits.append(UInt8(character.hexDigitValue!))
        }
    }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        .joined()
}

/// The shared deterministic PRNG under the name these tests use.
typealias SplitMix64 = SeededRandom
