// libopus: the Opus codec (mixer, audio endpoints).
#ifndef TESSERA_COPUS_SHIM_H
#define TESSERA_COPUS_SHIM_H
#include <opus/opus.h>

// opus_encoder_ctl is variadic with request macros that Swift cannot import;
// these wrappers give the few settings we use a typed entry point.
static inline int tessera_opus_set_bitrate(OpusEncoder *e, opus_int32 bps) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(bps)); }
static inline int tessera_opus_set_inband_fec(OpusEncoder *e, opus_int32 on) { return opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(on)); }
static inline int tessera_opus_set_dtx(OpusEncoder *e, opus_int32 on) { return opus_encoder_ctl(e, OPUS_SET_DTX(on)); }
static inline int tessera_opus_set_packet_loss_perc(OpusEncoder *e, opus_int32 pct) { return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(pct)); }
static inline int tessera_opus_set_complexity(OpusEncoder *e, opus_int32 c) { return opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(c)); }
static inline int tessera_opus_set_signal(OpusEncoder *e, opus_int32 signal) { return opus_encoder_ctl(e, OPUS_SET_SIGNAL(signal)); }
static inline int tessera_opus_set_vbr(OpusEncoder *e, opus_int32 on) { return opus_encoder_ctl(e, OPUS_SET_VBR(on)); }
static inline int tessera_opus_encoder_reset(OpusEncoder *e) { return opus_encoder_ctl(e, OPUS_RESET_STATE); }
static inline int tessera_opus_decoder_reset(OpusDecoder *d) { return opus_decoder_ctl(d, OPUS_RESET_STATE); }
// Constants defined as macros of the form (-1) or via other macros do not import into Swift.
static inline int tessera_opus_signal_voice(void) { return OPUS_SIGNAL_VOICE; }
static inline int tessera_opus_signal_music(void) { return OPUS_SIGNAL_MUSIC; }
static inline int tessera_opus_auto(void) { return OPUS_AUTO; }
#endif
