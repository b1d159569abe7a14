// libnice: ICE agents attached to the media loops' GLib main contexts.
#ifndef TESSERA_CNICE_SHIM_H
#define TESSERA_CNICE_SHIM_H
#include <glib.h>
#include <glib-object.h>
#include <nice/agent.h>
#include <nice/interfaces.h>
#include <gio/gio.h>
#include <glib-unix.h>

// The OS name of the calling thread (what top -H and /proc/<pid>/task/*/comm show;
// Foundation's Thread.name does not reach the kernel). glibc declares
// pthread_setname_np only under _GNU_SOURCE, which Swift's Glibc module lacks.
#include <pthread.h>
extern int pthread_setname_np(pthread_t thread, const char *name);
static inline void tessera_set_thread_name(const char *name) {
    (void)pthread_setname_np(pthread_self(), name);
}

// g_signal_connect is a macro; Swift needs a function to call.
static inline gulong tessera_g_signal_connect(gpointer instance, const gchar *signal, GCallback handler, gpointer data) {
    return g_signal_connect_data(instance, signal, handler, data, NULL, (GConnectFlags)0);
}

// g_object_set is variadic; Swift cannot call it. One typed setter per value kind.
static inline void tessera_g_object_set_bool(gpointer object, const gchar *name, gboolean value) {
    g_object_set(object, name, value, NULL);
}
static inline void tessera_g_object_set_uint(gpointer object, const gchar *name, guint value) {
    g_object_set(object, name, value, NULL);
}
static inline void tessera_g_object_set_string(gpointer object, const gchar *name, const gchar *value) {
    g_object_set(object, name, value, NULL);
}

// A GLib source that calls `func` when `fd` is readable; GSourceFunc is cast
// here because Swift cannot cast between C function pointer types.
static inline GSource *tessera_fd_read_source(int fd, GUnixFDSourceFunc func, gpointer data) {
    GSource *source = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(source, (GSourceFunc)func, data, NULL);
    return source;
}
// The same, with a destroy notify for `data` (called when the source goes away).
static inline GSource *tessera_fd_read_source_full(int fd, GUnixFDSourceFunc func, gpointer data, GDestroyNotify notify) {
    GSource *source = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(source, (GSourceFunc)func, data, notify);
    return source;
}
#endif
