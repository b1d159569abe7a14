// Batched UDP I/O for the media loops' shared sockets: recvmmsg/sendmmsg
// (Linux), behind plain C functions because Swift's Glibc module does not
// declare them (they need _GNU_SOURCE).
#ifndef TESSERA_CNETIO_H
#define TESSERA_CNETIO_H
#include <stdint.h>
#include <netinet/in.h>

/// One datagram slot: the caller owns `data` (capacity bytes). After a
/// receive, `length` is the datagram's size (larger than `capacity` when it
/// was truncated) and `peer` its sender; before a send, `length` bytes of
/// `data` go to `peer`.
typedef struct {
    uint8_t *data;
    uint32_t capacity;
    uint32_t length;
    struct sockaddr_in peer;
} tessera_datagram;

/// The most slots one call handles.
#define TESSERA_NETIO_BATCH 64

/// Reads up to `count` ready datagrams without blocking. Returns how many
/// were read (0 when none is ready), or -errno on another error.
int tessera_udp_recv_batch(int fd, tessera_datagram *slots, int count);

/// Sends `count` datagrams; returns how many the kernel took (the rest were
/// refused, e.g. a full send buffer: the caller drops them, as UDP may), or
/// -errno when the first one failed.
int tessera_udp_send_batch(int fd, const tessera_datagram *slots, int count);

/// Opens a non-blocking, close-on-exec IPv4 UDP socket bound to
/// `address:port` (network order), with `buffer_bytes` of receive and send
/// buffer asked for. Returns the fd or -errno.
int tessera_udp_open(uint32_t address, uint16_t port, int buffer_bytes);
#endif
