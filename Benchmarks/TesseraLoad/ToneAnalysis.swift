import Foundation

/// Which tones are in a decoded second of audio: the Goertzel filter at each
/// frequency over a Hann window, as the amplitude of that sine in full-scale
/// units (a tone sent at 0.25 of full scale reads about 0.25 when heard alone).
///
/// A loopback run analyses every participant's tone in every decoded
/// participant's audio (N x N filters over 48,000 samples), and the end-to-end
/// tests run the debug build: so the loops walk raw pointers (whose accessors
/// are inlined even unoptimised, unlike an array's) and run four filters per
/// pass over the samples.
enum ToneAnalysis {
    static func levels(_ samples: [Int16], frequencies: [Int], rate: Double = 48_000) -> [Int: Double] {
        let n = samples.count
        guard n > 0 else { return [:] }
        let windowed = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { windowed.deallocate() }
        samples.withUnsafeBufferPointer { pcm in
            guard let x = pcm.baseAddress else { return }
            var i = 0
            while i < n {
                let w = 0.5 - 0.5 * cos(2 * .pi * Double(i) / Double(n - 1))
                windowed[i] = Double(x[i]) / 32_768 * w
                i += 1
            }
        }
        // |X| of a Hann-windowed sine of amplitude A is A * n / 4.
        func amplitude(_ s1: Double, _ s2: Double, _ k: Double) -> Double {
            ((s1 * s1 + s2 * s2 - k * s1 * s2).squareRoot() * 4) / Double(n)
        }
        var out: [Int: Double] = [:]
        let wanted = Array(Set(frequencies))
        var next = 0
        while next < wanted.count {
            // Four at a time (the last group repeats its final frequency).
            let f = (0..<4).map { wanted[min(next + $0, wanted.count - 1)] }
            let k = f.map { 2 * cos(2 * .pi * Double($0) / rate) }
            let k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3]
            var a1 = 0.0, a2 = 0.0, b1 = 0.0, b2 = 0.0, c1 = 0.0, c2 = 0.0, d1 = 0.0, d2 = 0.0
            var i = 0
            while i < n {
                let x = windowed[i]
                let a = x + k0 * a1 - a2
                a2 = a1; a1 = a
                let b = x + k1 * b1 - b2
                b2 = b1; b1 = b
                let c = x + k2 * c1 - c2
                c2 = c1; c1 = c
                let d = x + k3 * d1 - d2
                d2 = d1; d1 = d
                i += 1
            }
            out[f[0]] = amplitude(a1, a2, k0)
            out[f[1]] = amplitude(b1, b2, k1)
            out[f[2]] = amplitude(c1, c2, k2)
            out[f[3]] = amplitude(d1, d2, k3)
            next += 4
        }
        return out
    }
}
