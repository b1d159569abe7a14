// The compositor's per-pixel loops: which macroblocks of a picture changed,
// and a bilinear scaler that can draw any part of a tile on its own.
#include "CMixKernels.h"

/// Sum of squared differences of `n` samples (n <= 16: one macroblock line).
static inline uint32_t line_ssd(const uint8_t *restrict a, const uint8_t *restrict b, int n) {
    uint32_t sum = 0;
    if (n == 16) {
        for (int i = 0; i < 16; i++) {
            int d = (int)a[i] - (int)b[i];
            sum += (uint32_t)(d * d);
        }
    } else if (n == 8) {
        for (int i = 0; i < 8; i++) {
            int d = (int)a[i] - (int)b[i];
            sum += (uint32_t)(d * d);
        }
    } else {
        for (int i = 0; i < n; i++) {
            int d = (int)a[i] - (int)b[i];
            sum += (uint32_t)(d * d);
        }
    }
    return sum;
}

/// The general case: any macroblock, clipped at the picture's edges.
static int block_changed_clipped(const tessera_i420 *a, const tessera_i420 *b, int col, int row, int mean_square) {
    const int x = col * 16, y0 = row * 16;
    const int y1 = (y0 + 16 < a->height) ? y0 + 16 : a->height;
    const int w = (a->width - x < 16) ? a->width - x : 16;
    const int cx = x / 2, cw = (w + 1) / 2, cy0 = y0 / 2, cy1 = (y1 + 1) / 2;
    const uint32_t limit = (uint32_t)mean_square * (uint32_t)(w * (y1 - y0) + 2 * cw * (cy1 - cy0));
    uint32_t sum = 0;
    for (int y = y0; y < y1; y++) {
        sum += line_ssd(a->y + (size_t)y * a->stride_y + x, b->y + (size_t)y * b->stride_y + x, w);
        if (sum > limit) return 1;
    }
    for (int y = cy0; y < cy1; y++) {
        sum += line_ssd(a->u + (size_t)y * a->stride_uv + cx, b->u + (size_t)y * b->stride_uv + cx, cw);
        sum += line_ssd(a->v + (size_t)y * a->stride_uv + cx, b->v + (size_t)y * b->stride_uv + cx, cw);
        if (sum > limit) return 1;
    }
    return 0;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/// Squared differences of 16 byte pairs, as four 32-bit partial sums.
static inline __m128i ssd16(__m128i a, __m128i b) {
    const __m128i zero = _mm_setzero_si128();
    const __m128i d = _mm_or_si128(_mm_subs_epu8(a, b), _mm_subs_epu8(b, a));
    const __m128i lo = _mm_unpacklo_epi8(d, zero), hi = _mm_unpackhi_epi8(d, zero);
    return _mm_add_epi32(_mm_madd_epi16(lo, lo), _mm_madd_epi16(hi, hi));
}

static inline uint32_t lanes(__m128i v) {
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return (uint32_t)_mm_cvtsi128_si32(v);
}

/// A whole 16x16 macroblock: luma four lines at a time, then both chroma
/// blocks (a U line and a V line in one vector), checked against the limit
/// after each step.
static int block_changed_whole(const tessera_i420 *a, const tessera_i420 *b, int col, int row, int mean_square) {
    const uint32_t limit = (uint32_t)mean_square * 384;
    const uint8_t *ay = a->y + (size_t)row * 16 * a->stride_y + col * 16;
    const uint8_t *by = b->y + (size_t)row * 16 * b->stride_y + col * 16;
    __m128i acc = _mm_setzero_si128();
    for (int group = 0; group < 4; group++) {
        for (int line = 0; line < 4; line++) {
            acc = _mm_add_epi32(acc, ssd16(_mm_loadu_si128((const __m128i *)ay), _mm_loadu_si128((const __m128i *)by)));
            ay += a->stride_y;
            by += b->stride_y;
        }
        if (lanes(acc) > limit) return 1;
    }
    const size_t ca = (size_t)row * 8 * a->stride_uv + col * 8, cb = (size_t)row * 8 * b->stride_uv + col * 8;
    const uint8_t *au = a->u + ca, *av = a->v + ca, *bu = b->u + cb, *bv = b->v + cb;
    for (int line = 0; line < 8; line++) {
        const __m128i va = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)au), _mm_loadl_epi64((const __m128i *)av));
        const __m128i vb = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)bu), _mm_loadl_epi64((const __m128i *)bv));
        acc = _mm_add_epi32(acc, ssd16(va, vb));
        au += a->stride_uv;
        av += a->stride_uv;
        bu += b->stride_uv;
        bv += b->stride_uv;
    }
    return lanes(acc) > limit;
}

static int block_changed(const tessera_i420 *a, const tessera_i420 *b, int col, int row, int mean_square) {
    if ((col + 1) * 16 <= a->width && (row + 1) * 16 <= a->height) return block_changed_whole(a, b, col, row, mean_square);
    return block_changed_clipped(a, b, col, row, mean_square);
}
#else
static int block_changed(const tessera_i420 *a, const tessera_i420 *b, int col, int row, int mean_square) {
    return block_changed_clipped(a, b, col, row, mean_square);
}
#endif

size_t tessera_mark_changed_blocks(const tessera_i420 *a, const tessera_i420 *b, int c0, int c1, int r0, int r1,
                                   int mean_square, uint8_t *flags, int cols) {
    size_t marked = 0;
    for (int row = r0; row <= r1; row++) {
        uint8_t *line = flags + (size_t)row * cols;
        for (int col = c0; col <= c1; col++) {
            if (line[col]) continue;
            if (block_changed(a, b, col, row, mean_square)) {
                line[col] = 1;
                marked++;
            }
        }
    }
    return marked;
}

/// Source position of destination sample `d`, 16.16 fixed point, clamped to the plane.
static inline int32_t source_position(int d, int src, int dst) {
    int64_t p = (((int64_t)(2 * d + 1) * src) << 16) / (2 * (int64_t)dst) - 32768;
    const int64_t last = (int64_t)(src - 1) << 16;
    if (p < 0) p = 0;
    if (p > last) p = last;
    return (int32_t)p;
}

/// One output line of the horizontal pass: out[i] = row[ix] and row[ix + 1]
/// weighted by the 16-bit fraction of xpos[i].
static void horizontal_line(const uint8_t *restrict row, const int32_t *restrict xpos, uint8_t *restrict out, int n) {
    for (int i = 0; i < n; i++) {
        const int32_t px = xpos[i];
        const int ix = px >> 16;
        const int32_t fx = px & 0xffff;
        const int32_t l = row[ix], r = row[ix + 1];
        out[i] = (uint8_t)(((l << 16) + (r - l) * fx + 32768) >> 16);
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

/// The same, eight outputs at a time: one gather fetches each output's pair
/// (as the low bytes of a 32-bit load; `row` has 4 bytes of slack).
__attribute__((target("avx2"))) static void horizontal_line_avx2(const uint8_t *restrict row, const int32_t *restrict xpos,
                                                                 uint8_t *restrict out, int n) {
    const __m256i byte = _mm256_set1_epi32(0xff), fraction = _mm256_set1_epi32(0xffff), half = _mm256_set1_epi32(32768);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i px = _mm256_loadu_si256((const __m256i *)(xpos + i));
        const __m256i pair = _mm256_i32gather_epi32((const int *)row, _mm256_srli_epi32(px, 16), 1);
        const __m256i l = _mm256_and_si256(pair, byte);
        const __m256i r = _mm256_and_si256(_mm256_srli_epi32(pair, 8), byte);
        __m256i v = _mm256_add_epi32(_mm256_slli_epi32(l, 16), _mm256_mullo_epi32(_mm256_sub_epi32(r, l), _mm256_and_si256(px, fraction)));
        v = _mm256_srai_epi32(_mm256_add_epi32(v, half), 16);
        const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(out + i), _mm_packus_epi16(words, words));
    }
    horizontal_line(row, xpos + i, out + i, n - i);
}

static int has_avx2(void) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx2") ? 1 : 0;
    return known;
}
#define HORIZONTAL(row, xpos, out, n) (has_avx2() ? horizontal_line_avx2(row, xpos, out, n) : horizontal_line(row, xpos, out, n))
#else
#define HORIZONTAL(row, xpos, out, n) horizontal_line(row, xpos, out, n)
#endif

/// row[i] = a[i] and b[i] weighted (fa + fy = 256), for i in [from, to).
static void vertical_line(const uint8_t *restrict a, const uint8_t *restrict b, uint8_t *restrict row, int from, int to,
                          uint16_t fa, uint16_t fy) {
    int i = from;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128(), wa = _mm_set1_epi16((short)fa), wb = _mm_set1_epi16((short)fy);
    const __m128i half = _mm_set1_epi16(128);
    for (; i + 16 <= to; i += 16) {
        const __m128i va = _mm_loadu_si128((const __m128i *)(a + i)), vb = _mm_loadu_si128((const __m128i *)(b + i));
        const __m128i lo = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(_mm_unpacklo_epi8(va, zero), wa),
                                                                      _mm_mullo_epi16(_mm_unpacklo_epi8(vb, zero), wb)), half), 8);
        const __m128i hi = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(_mm_unpackhi_epi8(va, zero), wa),
                                                                      _mm_mullo_epi16(_mm_unpackhi_epi8(vb, zero), wb)), half), 8);
        _mm_storeu_si128((__m128i *)(row + i), _mm_packus_epi16(lo, hi));
    }
#endif
    for (; i < to; i++) row[i] = (uint8_t)((uint16_t)(a[i] * fa + b[i] * fy + 128) >> 8);
}

void tessera_scale_plane_region(const uint8_t *src, int src_stride, int src_w, int src_h, uint8_t *dst,
                                int dst_stride, int dst_w, int dst_h, int x0, int y0, int x1, int y1,
                                uint8_t *row, int32_t *xpos) {
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > dst_w) x1 = dst_w;
    if (y1 > dst_h) y1 = dst_h;
    if (x1 <= x0 || y1 <= y0 || src_w <= 0 || src_h <= 0) return;
    const int n = x1 - x0;
    for (int i = 0; i < n; i++) xpos[i] = source_position(x0 + i, src_w, dst_w);
    // The source columns this region reads: [s0, s1], plus s1 + 1 when inside.
    const int s0 = xpos[0] >> 16;
    int s1 = (xpos[n - 1] >> 16) + 1;
    if (s1 > src_w - 1) s1 = src_w - 1;
    for (int y = y0; y < y1; y++) {
        const int32_t py = source_position(y, src_h, dst_h);
        const int iy = py >> 16;
        const uint16_t fy = (uint16_t)((py >> 8) & 255);
        const uint8_t *restrict a = src + (size_t)iy * src_stride;
        const uint8_t *restrict b = (iy + 1 < src_h) ? a + src_stride : a;
        const uint16_t fa = (uint16_t)(256 - fy);
        vertical_line(a, b, row, s0, s1 + 1, fa, fy);
        // Read with weight 0 past the last column (and by the gather's 32-bit loads).
        row[s1 + 1] = row[s1 + 2] = row[s1 + 3] = row[s1];
        HORIZONTAL(row, xpos, dst + (size_t)y * dst_stride + x0, n);
    }
}
