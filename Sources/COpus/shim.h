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
#endif
