import Foundation

/// Which tones are in a decoded second of audio: the Goertzel filter at each
/// frequency over a Hann window, as the amplitude of that sine in full-scale
/// units (a tone sent at 0.25 of full scale reads about 0.25 when heard alone).
enum ToneAnalysis {
    static func levels(_ samples: [Int16], frequencies: [Int], rate: Double = 48_000) -> [Int: Double] {
        let n = samples.count
        guard n > 0 else { return [:] }
        var windowed = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let w = 0.5 - 0.5 * cos(2 * .pi * Double(i) / Double(n - 1))
            windowed[i] = Double(samples[i]) / 32_768 * w
        }
        var out: [Int: Double] = [:]
        for f in Set(frequencies) {
            let k = 2 * cos(2 * .pi * Double(f) / rate)
            var s1 = 0.0, s2 = 0.0
            for x in windowed {
                let s = x + k * s1 - s2
                s2 = s1
                s1 = s
            }
            let power = s1 * s1 + s2 * s2 - k * s1 * s2
            // |X| of a Hann-windowed sine of amplitude A is A * n / 4.
            out[f] = (power.squareRoot() * 4) / Double(n)
        }
        return out
    }
}
