import CMixKernels
import Foundation
import Testing

/// Scalar Swift reference of the C limiter (same float math).
private func referenceMixOut(total: [Int32], own: [Int16]?, state: inout tessera_limiter) -> [Int16] {
    let count = total.count
    var peak: Int32 = 0
    for i in 0..<count {
        let v = total[i] - Int32(own?[i] ?? 0)
        peak = max(peak, abs(v))
    }
    let g0 = state.gain
    let target: Float = Float(peak) > state.threshold ? state.threshold / Float(peak) : 1
    let released = g0 + (1 - g0) * state.release
    let g1 = min(released, target)
    let ramp = max(1, min(count, g1 < g0 ? Int(state.attack_samples) : count))
    let step = (g1 - g0) / Float(ramp)
    var out = [Int16](repeating: 0, count: count)
    for i in 0..<count {
        let v = Float(total[i] - Int32(own?[i] ?? 0))
        let x = v * (g0 + step * Float(min(i + 1, ramp)))
        let y = tessera_soft_saturate(x, state.knee, state.ceiling)
        out[i] = Int16((y + (y < 0 ? -0.5 : 0.5)).rounded(.towardZero))
    }
    state.gain = g1
    return out
}

private func runMixOut(total: [Int32], own: [Int16]?, state: inout tessera_limiter) -> [Int16] {
    var out = [Int16](repeating: 0, count: total.count)
    out.withUnsafeMutableBufferPointer { o in
        total.withUnsafeBufferPointer { t in
            if let own {
                own.withUnsafeBufferPointer { _ = tessera_mix_out(o.baseAddress!, t.baseAddress!, $0.baseAddress!, t.count, &state) }
            } else {
                _ = tessera_mix_out(o.baseAddress!, t.baseAddress!, nil, t.count, &state)
            }
        }
    }
    return out
}

private struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    mutating func sample() -> Int16 { Int16(truncatingIfNeeded: next()) }
}

@Test func audioKernelSumMatchesScalarReference() {
    var random = Generator(state: 42)
    let count = 963  // not a multiple of any vector width
    let inputs = (0..<5).map { _ in (0..<count).map { _ in random.sample() } + [Int16.min, Int16.max, -1] }
    var total = [Int32](repeating: 7, count: count + 3)
    total.withUnsafeMutableBufferPointer { t in
        inputs[0].withUnsafeBufferPointer { tessera_mix_first(t.baseAddress!, $0.baseAddress!, t.count) }
        for input in inputs.dropFirst() {
            input.withUnsafeBufferPointer { tessera_mix_add(t.baseAddress!, $0.baseAddress!, t.count) }
        }
    }
    for i in 0..<(count + 3) {
        #expect(total[i] == inputs.reduce(Int32(0)) { $0 + Int32($1[i]) })
    }
    #expect(total[count] == 5 * Int32(Int16.min))
    total.withUnsafeMutableBufferPointer { tessera_mix_zero($0.baseAddress!, $0.count) }
    #expect(total.allSatisfy { $0 == 0 })
}

@Test func audioKernelPeakAndEnergy() {
    let samples: [Int16] = [0, 3, -4, Int16.min, Int16.max, 12]
    let peak = samples.withUnsafeBufferPointer { tessera_peak_i16($0.baseAddress!, $0.count) }
    #expect(peak == 32768)
    let energy = samples.withUnsafeBufferPointer { tessera_energy_i16($0.baseAddress!, $0.count) }
    #expect(energy == samples.reduce(UInt64(0)) { $0 + UInt64(Int64($1) * Int64($1)) })
    let empty: [Int16] = [0, 0]
    #expect(empty.withUnsafeBufferPointer { tessera_energy_i16($0.baseAddress!, $0.count) } == 0)
}

@Test func audioKernelMixOutMatchesScalarReference() {
    var random = Generator(state: 7)
    var cState = tessera_limiter()
    tessera_limiter_init(&cState)
    var swiftState = cState
    // Quiet blocks (unity gain), loud blocks (attack), then quiet again (release).
    for block in 0..<30 {
        let scale: Int32 = (10..<15).contains(block) ? 9 : 1
        let own = (0..<960).map { _ in Int16(truncatingIfNeeded: random.next() % 8000) }
        let total = own.map { Int32($0) * scale + Int32(truncatingIfNeeded: random.next() % 6000) - 3000 }
        let useOwn = block % 2 == 0
        let c = runMixOut(total: total, own: useOwn ? own : nil, state: &cState)
        let s = referenceMixOut(total: total, own: useOwn ? own : nil, state: &swiftState)
        let worst = zip(c, s).map { abs(Int($0) - Int($1)) }.max()!
        #expect(worst <= 1, "block \(block): C and Swift differ by \(worst)")
        #expect(abs(cState.gain - swiftState.gain) < 1e-5)
    }
    #expect(cState.gain < 1)  // still releasing
}

@Test func audioKernelSubtractOwnIsExactBelowTheKnee() {
    var state = tessera_limiter()
    tessera_limiter_init(&state)
    let own: [Int16] = (0..<960).map { Int16($0 % 200) - 100 }
    let others: [Int32] = (0..<960).map { Int32(($0 * 37) % 20_000) - 10_000 }
    let total = zip(others, own).map { $0 + Int32($1) }
    let out = runMixOut(total: total, own: own, state: &state)
    #expect(out == others.map { Int16($0) })
    #expect(state.gain == 1)
}

@Test func audioKernelSaturationEdges() {
    var state = tessera_limiter()
    tessera_limiter_init(&state)
    // Extreme sums of 16 full-scale inputs, both signs, and zero.
    let total: [Int32] = (0..<960).map { i in
        switch i % 4 {
        case 0: 16 * 32767
        case 1: 16 * -32768
        case 2: 0
        default: Int32(i) * 500 - 240_000
        }
    }
    for _ in 0..<3 {
        let out = runMixOut(total: total, own: nil, state: &state)
        for (i, sample) in out.enumerated() {
            let expected = total[i]
            #expect(expected == 0 ? sample == 0 : (sample > 0) == (expected > 0), "sign flip at \(i)")
        }
        #expect(out.map { abs(Int($0)) }.max()! < 32767)
    }
    // The curve: identity below the knee, continuous there, monotonic, bounded by the ceiling.
    let knee = state.knee, ceiling = state.ceiling
    #expect(tessera_soft_saturate(1000, knee, ceiling) == 1000)
    #expect(abs(tessera_soft_saturate(knee + 1, knee, ceiling) - (knee + 1)) < 0.01)
    var previous: Float = 0
    for x in stride(from: Float(0), through: 4_000_000, by: 997) {
        let y = tessera_soft_saturate(x, knee, ceiling)
        #expect(y >= previous && y < ceiling)
        #expect(tessera_soft_saturate(-x, knee, ceiling) == -y)
        previous = y
    }
}

@Test func audioKernelLimiterIsSmoothOnSixteenFullScaleSines() {
    var state = tessera_limiter()
    tessera_limiter_init(&state)
    var previous: Int16 = 0
    var worstJump = 0
    let step = 2 * Double.pi * 440 / 48_000
    // What one full-scale sine moves per sample: the most the limited mix may move once the gain has settled.
    let sineJump = Int((32767 * step).rounded(.up))
    for block in 0..<50 {
        let total: [Int32] = (0..<960).map { (i: Int) -> Int32 in
            let phase: Double = step * Double(block * 960 + i)
            return Int32(16 * 32767 * sin(phase))
        }
        let out = runMixOut(total: total, own: nil, state: &state)
        for (i, sample) in out.enumerated() {
            if abs(total[i]) > 16 * 200 { #expect((sample > 0) == (total[i] > 0)) }
            if block > 0 { worstJump = max(worstJump, abs(Int(sample) - Int(previous))) }
            previous = sample
        }
        if block > 0 { #expect(out.map { abs(Int($0)) }.max()! <= 29_300) }
    }
    // After the first block (the attack), the output never moves faster than one full-scale sine.
    #expect(worstJump <= sineJump + 2, "largest sample-to-sample jump \(worstJump), sine \(sineJump)")
}
