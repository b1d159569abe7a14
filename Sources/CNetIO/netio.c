#define _GNU_SOURCE
#include "CNetIO.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <malloc.h>

/// One message of a batch: a single buffer and the address slot.
static void set_message(struct mmsghdr *m, struct iovec *iov, void *data, size_t len, struct sockaddr_in *name) {
    iov->iov_base = data;
    iov->iov_len = len;
    memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
    m->msg_hdr.msg_iov = iov;
    m->msg_hdr.msg_iovlen = 1;
    m->msg_hdr.msg_name = name;
    m->msg_hdr.msg_namelen = sizeof(*name);
    m->msg_len = 0;
}

static struct sockaddr_in to_sockaddr(tessera_peer peer) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = peer.address;
    a.sin_port = peer.port;
    return a;
}

int tessera_udp_recv_batch(int fd, tessera_datagram *slots, int count) {
    if (count > TESSERA_NETIO_BATCH) count = TESSERA_NETIO_BATCH;
    struct mmsghdr msgs[TESSERA_NETIO_BATCH];
    struct iovec iov[TESSERA_NETIO_BATCH];
    struct sockaddr_in from[TESSERA_NETIO_BATCH];
    for (int i = 0; i < count; i++) set_message(&msgs[i], &iov[i], slots[i].data, slots[i].capacity, &from[i]);
    int n = recvmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t len = msgs[i].msg_len;
        int v4 = msgs[i].msg_hdr.msg_namelen == sizeof(struct sockaddr_in) && from[i].sin_family == AF_INET;
        // A truncated or non-IPv4 datagram is marked too long, so the caller drops it.
        if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || !v4) len = slots[i].capacity + 1;
        slots[i].length = len;
        slots[i].peer.address = v4 ? from[i].sin_addr.s_addr : 0;
        slots[i].peer.port = v4 ? from[i].sin_port : 0;
        slots[i].peer.ipv4 = (uint16_t)v4;
    }
    return n;
}

int tessera_udp_send_batch(int fd, const tessera_datagram *slots, int count) {
    if (count > TESSERA_NETIO_BATCH) count = TESSERA_NETIO_BATCH;
    struct mmsghdr msgs[TESSERA_NETIO_BATCH];
    struct iovec iov[TESSERA_NETIO_BATCH];
    struct sockaddr_in to[TESSERA_NETIO_BATCH];
    for (int i = 0; i < count; i++) {
        to[i] = to_sockaddr(slots[i].peer);
        set_message(&msgs[i], &iov[i], slots[i].data, slots[i].length, &to[i]);
    }
    // sendmmsg stops at the first datagram the kernel refuses (an ICMP error
    // queued from an earlier send, a full buffer): that one is dropped, as UDP
    // may, and the rest go on.
    int next = 0, taken = 0;
    while (next < count) {
        int n = sendmmsg(fd, msgs + next, (unsigned)(count - next), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // buffer full: the rest is dropped
            if (taken == 0 && next == count - 1) return -errno;
            next += 1;
            continue;
        }
        next += n;
        taken += n;
    }
    return taken;
}

int tessera_udp_open(uint32_t address, uint16_t port, int buffer_bytes) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (buffer_bytes > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
    }
    struct sockaddr_in a = to_sockaddr((tessera_peer){.address = address, .port = port, .ipv4 = 1});
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int tessera_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int tessera_epoll_add(int epfd, int fd) {
    struct epoll_event e;
    memset(&e, 0, sizeof(e));
    e.events = EPOLLIN;
    e.data.fd = fd;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) == 0 ? 0 : -errno;
}

int tessera_epoll_remove(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

int tessera_epoll_ready(int epfd, int *fds, int max) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, events, max, 0);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) fds[i] = events[i].data.fd;
    return n;
}

int tessera_udp_send_one(int fd, const void *data, int length, tessera_peer peer) {
    struct sockaddr_in to = to_sockaddr(peer);
    ssize_t n = sendto(fd, data, (size_t)length, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
    return n < 0 ? -errno : (int)n;
}

int tessera_udp_local_port(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0) return -errno;
    return ntohs(a.sin_port);
}

int tessera_release_free_memory(void) { return malloc_trim(0); }
