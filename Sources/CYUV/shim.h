// libyuv: I420 scaling and conversion for the compositor.
// Debian ships no pkg-config file for it, so the module map links `yuv` itself.
#ifndef TESSERA_CYUV_SHIM_H
#define TESSERA_CYUV_SHIM_H
#include <libyuv.h>
#endif
