// GStreamer: recording and playback, reached only through appsrc/appsink.
#ifndef TESSERA_CGSTREAMER_SHIM_H
#define TESSERA_CGSTREAMER_SHIM_H
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <gst/pbutils/pbutils.h>
#endif
