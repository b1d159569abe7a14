// Batched UDP I/O for the media loops' shared sockets: recvmmsg/sendmmsg
// (Linux), behind plain C functions because Swift's Glibc module does not
// declare them (they need _GNU_SOURCE).
#ifndef TESSERA_CNETIO_H
#define TESSERA_CNETIO_H
#include <stdint.h>

/// An IPv4 address and port in network byte order (a sockaddr_in's fields;
/// the header stays free of system socket headers, which would otherwise be
/// claimed by this module in Swift).
typedef struct {
    uint32_t address;
    uint16_t port;
    uint16_t ipv4;  // 1 when the sender was IPv4
} tessera_peer;

/// One datagram slot: the caller owns `data` (capacity bytes). After a
/// receive, `length` is the datagram's size (larger than `capacity` when it
/// was truncated) and `peer` its sender; before a send, `length` bytes of
/// `data` go to `peer`.
typedef struct {
    uint8_t *data;
    uint32_t capacity;
    uint32_t length;
    tessera_peer peer;
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

/// Sends one datagram now; returns the bytes sent or -errno.
int tessera_udp_send_one(int fd, const void *data, int length, tessera_peer peer);

/// The port a socket is bound to (host order), or -errno.
int tessera_udp_local_port(int fd);

/// Gives free heap memory of every malloc arena back to the kernel
/// (glibc's malloc_trim(0)); returns 1 if some was released.
int tessera_release_free_memory(void);

/// epoll, for a load generator's many sockets behind one pollable fd.
/// tessera_epoll_ready waits for nothing (timeout 0) and writes up to `max`
/// ready fds into `fds`; it returns how many, or -errno.
int tessera_epoll_create(void);
int tessera_epoll_add(int epfd, int fd);
int tessera_epoll_remove(int epfd, int fd);
int tessera_epoll_ready(int epfd, int *fds, int max);
#endif
