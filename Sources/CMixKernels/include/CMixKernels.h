// Inner loops of the audio mixer, written in C so the compiler vectorises
// them (built with -O3 even in debug builds; see Package.swift).
//
// Samples are interleaved Int16 PCM; a block is one 20 ms frame of every
// channel (960 or 1920 samples at 48 kHz), but any count works.
#ifndef TESSERA_CMIXKERNELS_H
#define TESSERA_CMIXKERNELS_H
#include <stdint.h>
#include <stddef.h>

/// total[i] = in[i] (the first input of a mix).
void tessera_mix_first(int32_t *restrict total, const int16_t *restrict in, size_t count);
/// total[i] += in[i].
void tessera_mix_add(int32_t *restrict total, const int16_t *restrict in, size_t count);

/// total[i] -= in[i]: takes one input back out of a sum (a listener's own
/// exclusions from the mix).
void tessera_mix_sub(int32_t *restrict total, const int16_t *restrict in, size_t count);

/// dst[i] = src[i].
void tessera_mix_copy(int32_t *restrict dst, const int32_t *restrict src, size_t count);
/// total[i] = 0 (a mix of nobody).
void tessera_mix_zero(int32_t *total, size_t count);

/// Per-output soft limiter state, owned by the caller (one per output stream).
///
/// The gain follows an envelope computed once per block: when the block's
/// peak times the current gain would pass `threshold`, the gain drops to
/// `threshold / peak` within `attack_samples` (ramped, no step); otherwise it
/// releases towards 1 by the fraction `release` of the remaining distance per
/// block. Above `knee` a smooth saturation curve bends samples towards, and
/// never past, `ceiling`, catching whatever the envelope ramp lets through.
typedef struct tessera_limiter {
    float gain;            // current gain, 0 < gain <= 1
    float threshold;       // target block peak after gain (samples)
    float knee;            // start of the saturation curve (samples)
    float ceiling;         // asymptote of the curve, at most 32767
    float release;         // 0...1, fraction of (1 - gain) recovered per block
    uint32_t attack_samples;
} tessera_limiter;

/// Defaults: threshold -1 dBFS, knee -2 dBFS, ceiling 32767, release time
/// constant about 200 ms for 20 ms blocks, 1 ms attack ramp at 48 kHz.
void tessera_limiter_init(tessera_limiter *state);

/// out[i] = limit(total[i] - own[i]); `own` may be NULL (the whole mix).
/// Returns the block peak before limiting (absolute, in samples).
int32_t tessera_mix_out(int16_t *restrict out, const int32_t *restrict total, const int16_t *restrict own,
                        size_t count, tessera_limiter *state);

/// The saturation curve alone, for tests: |x| <= knee passes, above it
/// knee + r * e / (r + e) with r = ceiling - knee, e = |x| - knee.
float tessera_soft_saturate(float x, float knee, float ceiling);

/// Fade in: pcm[i] *= min(1, (i + 1) / ramp) (a speaker entering the mix
/// mid-word starts without a click). Interleaved stereo: pass ramp in samples.
void tessera_fade_in_i16(int16_t *pcm, size_t count, size_t ramp);

/// Largest |in[i]| (32768 for INT16_MIN).
int32_t tessera_peak_i16(const int16_t *in, size_t count);
/// Sum of in[i]^2 (level detection without an RFC 6464 header).
uint64_t tessera_energy_i16(const int16_t *in, size_t count);

#endif
