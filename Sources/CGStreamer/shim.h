// GStreamer: recording and playback, reached only through appsrc/appsink.
//
// Swift cannot call variadic C functions (g_object_set) or expand GStreamer's
// accessor macros (GST_BUFFER_PTS, GST_MESSAGE_TYPE, casts), so the few that
// Tessera needs are wrapped here as typed inline functions.
#ifndef TESSERA_CGSTREAMER_SHIM_H
#define TESSERA_CGSTREAMER_SHIM_H
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <gst/pbutils/pbutils.h>

// MARK: Properties

static inline void tessera_gst_set_string(GstElement *e, const char *name, const char *value) {
    g_object_set(G_OBJECT(e), name, value, NULL);
}
static inline void tessera_gst_set_bool(GstElement *e, const char *name, gboolean value) {
    g_object_set(G_OBJECT(e), name, value, NULL);
}
static inline void tessera_gst_set_uint64(GstElement *e, const char *name, guint64 value) {
    g_object_set(G_OBJECT(e), name, value, NULL);
}
static inline void tessera_gst_set_int(GstElement *e, const char *name, gint value) {
    g_object_set(G_OBJECT(e), name, value, NULL);
}

// MARK: Elements

/// The child named `name` of a bin (a new reference), or NULL.
static inline GstElement *tessera_gst_bin_child(GstElement *bin, const char *name) {
    return gst_bin_get_by_name(GST_BIN(bin), name);
}
static inline GstBus *tessera_gst_element_bus(GstElement *e) {
    return gst_element_get_bus(e);
}
static inline void tessera_gst_object_unref(void *object) {
    gst_object_unref(object);
}
static inline gchar *tessera_gst_dot(GstElement *bin) {
    return gst_debug_bin_to_dot_data(GST_BIN(bin), GST_DEBUG_GRAPH_SHOW_MEDIA_TYPE);
}

// MARK: appsrc

/// Copies `size` bytes into a new buffer stamped with `pts` (nanoseconds),
/// flagged as a delta unit unless it is a keyframe, and pushes it (takes the buffer).
static inline GstFlowReturn tessera_appsrc_push(
    GstElement *src, const void *data, gsize size, guint64 pts, gboolean delta)
{
    GstBuffer *buffer = gst_buffer_new_memdup(data, size);
    GST_BUFFER_PTS(buffer) = pts;
    GST_BUFFER_DTS(buffer) = pts;
    if (delta) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    return gst_app_src_push_buffer(GST_APP_SRC(src), buffer);
}
static inline void tessera_appsrc_set_caps(GstElement *src, const char *caps) {
    GstCaps *c = gst_caps_from_string(caps);
    gst_app_src_set_caps(GST_APP_SRC(src), c);
    gst_caps_unref(c);
}
static inline GstFlowReturn tessera_appsrc_end(GstElement *src) {
    return gst_app_src_end_of_stream(GST_APP_SRC(src));
}

// MARK: appsink

typedef void (*tessera_sample_fn)(void *context, const guint8 *data, gsize size, guint64 pts, gboolean delta);

struct tessera_sink_hook {
    tessera_sample_fn fn;
    void *context;
};

static inline GstFlowReturn tessera_appsink_new_sample_(GstAppSink *sink, gpointer user) {
    struct tessera_sink_hook *hook = (struct tessera_sink_hook *)user;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample) return GST_FLOW_EOS;
    GstBuffer *buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
        hook->fn(hook->context, map.data, map.size, GST_BUFFER_PTS(buffer),
                 GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT));
        gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

static inline void tessera_appsink_hook_free_(gpointer user) {
    g_free(user);
}

/// Calls `fn(context, ...)` from the sink's streaming thread for every buffer.
/// `context` must stay valid until the pipeline is disposed.
static inline void tessera_appsink_on_sample(GstElement *sink, tessera_sample_fn fn, void *context) {
    struct tessera_sink_hook *hook = g_new0(struct tessera_sink_hook, 1);
    hook->fn = fn;
    hook->context = context;
    GstAppSinkCallbacks callbacks = {0};
    callbacks.new_sample = tessera_appsink_new_sample_;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, hook, tessera_appsink_hook_free_);
}

// MARK: Bus

typedef void (*tessera_bus_fn)(void *context, int kind, const char *text);
#define TESSERA_BUS_EOS 1
#define TESSERA_BUS_ERROR 2
#define TESSERA_BUS_WARNING 3

struct tessera_bus_hook {
    tessera_bus_fn fn;
    void *context;
};

static inline GstBusSyncReply tessera_bus_sync_(GstBus *bus, GstMessage *msg, gpointer user) {
    (void)bus;
    struct tessera_bus_hook *hook = (struct tessera_bus_hook *)user;
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_EOS:
        hook->fn(hook->context, TESSERA_BUS_EOS, NULL);
        break;
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING: {
        GError *error = NULL;
        gchar *debug = NULL;
        int kind = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR ? TESSERA_BUS_ERROR : TESSERA_BUS_WARNING;
        if (kind == TESSERA_BUS_ERROR) gst_message_parse_error(msg, &error, &debug);
        else gst_message_parse_warning(msg, &error, &debug);
        gchar *text = g_strdup_printf("%s (%s)", error ? error->message : "unknown error",
                                      GST_MESSAGE_SRC_NAME(msg) ? GST_MESSAGE_SRC_NAME(msg) : "?");
        hook->fn(hook->context, kind, text);
        g_free(text);
        if (error) g_error_free(error);
        g_free(debug);
        break;
    }
    default:
        break;
    }
    // A sync handler that drops a message owns it and must unref it (GstBusSyncHandler's
    // contract). Without this every message leaked, and each held its source element:
    // the whole pipeline, its bus and the bus's socket pair outlived every recording.
    gst_message_unref(msg);
    return GST_BUS_DROP;  // nothing accumulates on the bus
}

static inline void tessera_bus_hook_free_(gpointer user) {
    g_free(user);
}

/// Handles EOS, errors and warnings synchronously in the posting thread and
/// drops every message. `context` must stay valid until the pipeline is disposed.
static inline void tessera_bus_watch(GstElement *pipeline, tessera_bus_fn fn, void *context) {
    struct tessera_bus_hook *hook = g_new0(struct tessera_bus_hook, 1);
    hook->fn = fn;
    hook->context = context;
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, tessera_bus_sync_, hook, tessera_bus_hook_free_);
    gst_object_unref(bus);
}

/// Ends the watch and drops whatever waits on the bus: a queued message holds
/// its source element, which holds the pipeline, which holds the bus (and the
/// bus its socket pair), so one left behind keeps the whole pipeline alive.
static inline void tessera_bus_unwatch(GstElement *pipeline) {
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_flushing(bus, TRUE);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_object_unref(bus);
}

// MARK: Queries

static inline gint64 tessera_gst_position(GstElement *pipeline) {
    gint64 position = -1;
    if (!gst_element_query_position(pipeline, GST_FORMAT_TIME, &position)) return -1;
    return position;
}

static inline gboolean tessera_gst_seek(GstElement *pipeline, gint64 position) {
    return gst_element_seek_simple(pipeline, GST_FORMAT_TIME,
                                   (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT), position);
}

static inline gboolean tessera_gst_has_element(const char *factory) {
    GstElementFactory *f = gst_element_factory_find(factory);
    if (!f) return FALSE;
    gst_object_unref(f);
    return TRUE;
}

#endif
