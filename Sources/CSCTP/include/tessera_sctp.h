// A thin C layer over usrsctp for WebRTC data channels (RFC 8831): one SCTP
// association per DTLS transport, in usrsctp's AF_CONN mode (we carry the
// packets ourselves, over DTLS). The union- and sockopt-heavy setup stays
// in C; Swift sees plain functions and three callbacks.
#ifndef TESSERA_SCTP_H
#define TESSERA_SCTP_H

#include <stddef.h>
#include <stdint.h>

/// An SCTP packet to send over DTLS for association `id`. Any thread.
typedef void (*tessera_sctp_output_fn)(uintptr_t id, const void *data, size_t length);
/// A message (or part of one when `complete` is 0) on stream `sid`. Any thread.
typedef void (*tessera_sctp_message_fn)(uintptr_t id, uint16_t sid, uint32_t ppid, int complete, const void *data, size_t length);
/// An event: see TESSERA_SCTP_EVENT_*. Any thread.
typedef void (*tessera_sctp_event_fn)(uintptr_t id, int event, uint16_t sid);

enum {
    TESSERA_SCTP_EVENT_UP = 1,             // association established
    TESSERA_SCTP_EVENT_DOWN = 2,           // association lost or shut down
    TESSERA_SCTP_EVENT_INCOMING_RESET = 3, // the peer reset its outgoing stream `sid` (closes a channel)
    TESSERA_SCTP_EVENT_OUTGOING_RESET = 4, // our reset of stream `sid` completed
};

/// Starts usrsctp once (idempotent) with these callbacks.
void tessera_sctp_init(tessera_sctp_output_fn output, tessera_sctp_message_fn message, tessera_sctp_event_fn event);

/// Creates the association's socket, bound to `local_port`, and connects to
/// `remote_port` (both ends connect: SCTP allows the simultaneous open that
/// WebRTC relies on). Returns an opaque handle, or NULL.
void *tessera_sctp_open(uintptr_t id, uint16_t local_port, uint16_t remote_port, uint32_t mtu);

/// One SCTP packet received over DTLS for association `id`.
void tessera_sctp_input(uintptr_t id, const void *data, size_t length);

/// Sends a message. `pr_policy`: 0 reliable, 1 limited retransmissions, 2
/// limited lifetime (ms), with `pr_value`. Returns 0, or an errno value.
int tessera_sctp_send(void *handle, uint16_t sid, uint32_t ppid, int unordered, int pr_policy, uint32_t pr_value,
                      const void *data, size_t length);

/// Resets our outgoing stream `sid` (RFC 6525), which closes a data channel (RFC 8831 §6.7).
int tessera_sctp_reset_stream(void *handle, uint16_t sid);

/// Closes the socket and forgets association `id`; no callback for it after this returns.
void tessera_sctp_close(void *handle, uintptr_t id);

#endif
