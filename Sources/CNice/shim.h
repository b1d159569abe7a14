// libnice: ICE agents attached to the media loops' GLib main contexts.
#ifndef TESSERA_CNICE_SHIM_H
#define TESSERA_CNICE_SHIM_H
#include <glib.h>
#include <glib-object.h>
#include <nice/agent.h>
#include <nice/interfaces.h>

// g_signal_connect is a macro; Swift needs a function to call.
static inline gulong tessera_g_signal_connect(gpointer instance, const gchar *signal, GCallback handler, gpointer data) {
    return g_signal_connect_data(instance, signal, handler, data, NULL, (GConnectFlags)0);
}
#endif
