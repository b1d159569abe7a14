#include "CMixKernels.h"

void tessera_mix_first(int32_t *restrict total, const int16_t *restrict in, size_t count) {
    for (size_t i = 0; i < count; i++) total[i] = in[i];
}

void tessera_mix_add(int32_t *restrict total, const int16_t *restrict in, size_t count) {
    for (size_t i = 0; i < count; i++) total[i] += in[i];
}

void tessera_mix_sub(int32_t *restrict total, const int16_t *restrict in, size_t count) {
    for (size_t i = 0; i < count; i++) total[i] -= in[i];
}

void tessera_mix_copy(int32_t *restrict dst, const int32_t *restrict src, size_t count) {
    for (size_t i = 0; i < count; i++) dst[i] = src[i];
}

void tessera_mix_zero(int32_t *total, size_t count) {
    for (size_t i = 0; i < count; i++) total[i] = 0;
}

void tessera_limiter_init(tessera_limiter *state) {
    state->gain = 1.0f;
    state->threshold = 29204.0f;   // 32767 * 10^(-1/20)
    state->knee = 26028.0f;        // 32767 * 10^(-2/20)
    state->ceiling = 32767.0f;
    state->release = 0.095f;       // 1 - exp(-20 ms / 200 ms)
    state->attack_samples = 48;
}

float tessera_soft_saturate(float x, float knee, float ceiling) {
    float a = x < 0 ? -x : x;
    float e = a - knee;
    float r = ceiling - knee;
    float y = e > 0 ? knee + r * e / (r + e) : a;
    return x < 0 ? -y : y;
}

static int32_t peak_of_difference(const int32_t *restrict total, const int16_t *restrict own, size_t count) {
    int32_t peak = 0;
    if (own) {
        for (size_t i = 0; i < count; i++) {
            int32_t v = total[i] - own[i];
            int32_t a = v < 0 ? -v : v;
            peak = a > peak ? a : peak;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            int32_t v = total[i];
            int32_t a = v < 0 ? -v : v;
            peak = a > peak ? a : peak;
        }
    }
    return peak;
}

int32_t tessera_mix_out(int16_t *restrict out, const int32_t *restrict total, const int16_t *restrict own,
                        size_t count, tessera_limiter *state) {
    int32_t peak = peak_of_difference(total, own, count);
    float g0 = state->gain;
    float target = peak > 0 && (float)peak > state->threshold ? state->threshold / (float)peak : 1.0f;
    float released = g0 + (1.0f - g0) * state->release;
    float g1 = released < target ? released : target;
    // Attack: reach the new gain within attack_samples and hold it. Release:
    // glide over the whole block. Either way the gain is continuous.
    size_t ramp = g1 < g0 ? (size_t)state->attack_samples : count;
    if (ramp > count) ramp = count;
    if (ramp == 0) ramp = 1;
    float step = (g1 - g0) / (float)ramp;
    float knee = state->knee, r = state->ceiling - state->knee;
    float ramp_f = (float)ramp;
    for (size_t i = 0; i < count; i++) {
        float v = (float)(own ? total[i] - own[i] : total[i]);
        float t = (float)(i + 1);
        t = t < ramp_f ? t : ramp_f;
        float x = v * (g0 + step * t);
        float a = x < 0 ? -x : x;
        float e = a - knee;
        float y = e > 0 ? knee + r * e / (r + e) : a;
        y = x < 0 ? -y : y;
        // |y| < ceiling <= 32767; round half away from zero.
        out[i] = (int16_t)(y + (y < 0 ? -0.5f : 0.5f));
    }
    state->gain = g1;
    return peak;
}

void tessera_fade_in_i16(int16_t *pcm, size_t count, size_t ramp) {
    if (ramp == 0) return;
    size_t n = ramp < count ? ramp : count;
    float step = 1.0f / (float)ramp;
    for (size_t i = 0; i < n; i++) pcm[i] = (int16_t)((float)pcm[i] * step * (float)(i + 1));
}

int32_t tessera_peak_i16(const int16_t *in, size_t count) {
    int32_t peak = 0;
    for (size_t i = 0; i < count; i++) {
        int32_t v = in[i];
        int32_t a = v < 0 ? -v : v;
        peak = a > peak ? a : peak;
    }
    return peak;
}

uint64_t tessera_energy_i16(const int16_t *in, size_t count) {
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) {
        int32_t v = in[i];
        sum += (uint64_t)(v * v);
    }
    return sum;
}
