#define _GNU_SOURCE
#include "CNetIO.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fcntl.h>

int tessera_udp_recv_batch(int fd, tessera_datagram *slots, int count) {
    if (count > TESSERA_NETIO_BATCH) count = TESSERA_NETIO_BATCH;
    struct mmsghdr msgs[TESSERA_NETIO_BATCH];
    struct iovec iov[TESSERA_NETIO_BATCH];
    for (int i = 0; i < count; i++) {
        iov[i].iov_base = slots[i].data;
        iov[i].iov_len = slots[i].capacity;
        memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &slots[i].peer;
        msgs[i].msg_hdr.msg_namelen = sizeof(slots[i].peer);
    }
    int n = recvmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t len = msgs[i].msg_len;
        // A truncated datagram reports MSG_TRUNC; mark it too long so the caller drops it.
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) len = slots[i].capacity + 1;
        if (msgs[i].msg_hdr.msg_namelen != sizeof(struct sockaddr_in) || slots[i].peer.sin_family != AF_INET)
            len = slots[i].capacity + 1;  // not IPv4: dropped as well
        slots[i].length = len;
    }
    return n;
}

int tessera_udp_send_batch(int fd, const tessera_datagram *slots, int count) {
    if (count > TESSERA_NETIO_BATCH) count = TESSERA_NETIO_BATCH;
    struct mmsghdr msgs[TESSERA_NETIO_BATCH];
    struct iovec iov[TESSERA_NETIO_BATCH];
    for (int i = 0; i < count; i++) {
        iov[i].iov_base = slots[i].data;
        iov[i].iov_len = slots[i].length;
        memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = (void *)&slots[i].peer;
        msgs[i].msg_hdr.msg_namelen = sizeof(slots[i].peer);
        msgs[i].msg_len = 0;
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
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = address;
    a.sin_port = port;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}
