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

// ---- Video: the compositor's change detection and tile scaling ----

/// One 8-bit I420 picture (even width and height).
typedef struct tessera_i420 {
    const uint8_t *y, *u, *v;
    int stride_y, stride_uv;
    int width, height;
} tessera_i420;

/// Compares the 16x16 macroblocks [c0, c1] x [r0, r1] (inclusive) of `a` with
/// `b` (same size). A macroblock whose squared difference over its luma and
/// both chroma blocks (clipped at the picture's edges) exceeds `mean_square`
/// per sample is marked: flags[row * cols + col] = 1. Macroblocks already
/// marked are not compared again; unmarked ones that match stay 0. Stops
/// comparing a macroblock once its sum is over (checked every few lines: a
/// moving picture costs a fraction of a full comparison). Returns how many
/// it marked.
size_t tessera_mark_changed_blocks(const tessera_i420 *a, const tessera_i420 *b, int c0, int c1, int r0, int r1,
                                   int mean_square, uint8_t *flags, int cols);

/// Bilinear scale of a whole `src_w` x `src_h` plane to `dst_w` x `dst_h`, of
/// which only the pixels [x0, x1) x [y0, y1) are computed and written (`dst`
/// is the scaled picture's origin). Each pixel depends only on its position,
/// so drawing a picture in pieces gives the same pixels as drawing it whole.
/// Sample centres are aligned: source position (d + 0.5) * src / dst - 0.5.
/// `row` is scratch of at least src_w + 4 bytes, `xpos` of at least x1 - x0
/// entries.
void tessera_scale_plane_region(const uint8_t *src, int src_stride, int src_w, int src_h, uint8_t *dst,
                                int dst_stride, int dst_w, int dst_h, int x0, int y0, int x1, int y1,
                                uint8_t *row, int32_t *xpos);

#endif
