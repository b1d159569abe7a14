// libvpx: VP8 encode/decode for the compositor.
#ifndef TESSERA_CVPX_SHIM_H
#define TESSERA_CVPX_SHIM_H
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

// vpx_codec_enc_init / dec_init are macros that pass the ABI version; Swift
// cannot import function-like macros, so wrap them.
static inline vpx_codec_err_t tessera_vpx_enc_init(vpx_codec_ctx_t *ctx, const vpx_codec_enc_cfg_t *cfg, vpx_codec_flags_t flags) {
    return vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), cfg, flags);
}
static inline vpx_codec_err_t tessera_vpx_dec_init(vpx_codec_ctx_t *ctx, const vpx_codec_dec_cfg_t *cfg, vpx_codec_flags_t flags) {
    return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), cfg, flags);
}
// vpx_codec_control is a variadic macro as well.
static inline vpx_codec_err_t tessera_vpx_control_int(vpx_codec_ctx_t *ctx, int id, int value) {
    return vpx_codec_control_(ctx, id, value);
}
// VP8E_SET_ACTIVEMAP: one byte per 16x16 macroblock (1 encode, 0 keep the previous
// frame's); a NULL map turns the active map off.
static inline vpx_codec_err_t tessera_vpx_set_active_map(vpx_codec_ctx_t *ctx, unsigned char *map, unsigned int rows, unsigned int cols) {
    vpx_active_map_t active = { map, rows, cols };
    return vpx_codec_control_(ctx, VP8E_SET_ACTIVEMAP, &active);
}
// Controls that take a pointer (VP8D_GET_FRAME_CORRUPTED, VP8D_GET_LAST_REF_UPDATES).
static inline vpx_codec_err_t tessera_vpx_control_intptr(vpx_codec_ctx_t *ctx, int id, int *value) {
    return vpx_codec_control_(ctx, id, value);
}
#endif
