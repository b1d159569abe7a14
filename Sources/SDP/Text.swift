// Small string helpers: the module avoids Foundation, so trimming and
// splitting are written here against the standard library only.

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (SDP separates
    /// fields with single spaces, RFC 8866 §5, but peers add stray ones).
    var sdpTrimmed: Substring {
        var sub = Substring(self)
        while let first = sub.first, first == " " || first == "\t" { sub = sub.dropFirst() }
        while let last = sub.last, last == " " || last == "\t" { sub = sub.dropLast() }
        return sub
    }

    /// Space-separated fields, ignoring repeated or surrounding spaces.
    var sdpFields: [Substring] {
        Substring(self).split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    /// Splits at the first occurrence of `separator`: `("a", "b:c")` for
    /// `"a:b:c"`, `("abc", nil)` when there is none.
    func sdpSplitOnce(_ separator: Character) -> (head: Substring, tail: Substring?) {
        let sub = Substring(self)
        guard let index = sub.firstIndex(of: separator) else { return (sub, nil) }
        return (sub[sub.startIndex..<index], sub[sub.index(after: index)...])
    }

    /// Case-insensitive equality for ASCII tokens (codec names, algorithms).
    func sdpEqualsIgnoringCase(_ other: some StringProtocol) -> Bool {
        lowercased() == other.lowercased()
    }
}
