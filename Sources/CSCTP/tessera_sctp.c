// usrsctp in AF_CONN mode for WebRTC data channels; see tessera_sctp.h.
#include "tessera_sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

static tessera_sctp_output_fn output_fn;
static tessera_sctp_message_fn message_fn;
static tessera_sctp_event_fn event_fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int conn_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df) {
    (void)tos;
    (void)set_df;
    output_fn((uintptr_t)addr, buffer, length);
    return 0;
}

static void start(void) {
    usrsctp_init(0, conn_output, NULL);
    // No SCTP-level checksum offload questions: CRC32c is computed and checked in software.
    usrsctp_sysctl_set_sctp_blackhole(2);
    // RFC 8831 §6.6: no ECN for data channels carried over DTLS/UDP.
    usrsctp_sysctl_set_sctp_ecn_enable(0);
}

void tessera_sctp_init(tessera_sctp_output_fn output, tessera_sctp_message_fn message, tessera_sctp_event_fn event) {
    output_fn = output;
    message_fn = message;
    event_fn = event;
    pthread_once(&once, start);
}

static void notification(uintptr_t id, const union sctp_notification *n, size_t length) {
    if (length < sizeof(n->sn_header)) return;
    switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE:
        switch (n->sn_assoc_change.sac_state) {
        case SCTP_COMM_UP:
            event_fn(id, TESSERA_SCTP_EVENT_UP, 0);
            break;
        case SCTP_COMM_LOST:
        case SCTP_SHUTDOWN_COMP:
        case SCTP_CANT_STR_ASSOC:
            event_fn(id, TESSERA_SCTP_EVENT_DOWN, 0);
            break;
        default:
            break;
        }
        break;
    case SCTP_STREAM_RESET_EVENT: {
        const struct sctp_stream_reset_event *e = &n->sn_strreset_event;
        if (e->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) break;
        if (e->strreset_length < sizeof(*e)) break;
        size_t count = (e->strreset_length - sizeof(*e)) / sizeof(uint16_t);
        for (size_t i = 0; i < count; i++) {
            if (e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
                event_fn(id, TESSERA_SCTP_EVENT_INCOMING_RESET, e->strreset_stream_list[i]);
            if (e->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN)
                event_fn(id, TESSERA_SCTP_EVENT_OUTGOING_RESET, e->strreset_stream_list[i]);
        }
        break;
    }
    default:
        break;
    }
}

static int receive(struct socket *sock, union sctp_sockstore addr, void *data, size_t length, struct sctp_rcvinfo info,
                   int flags, void *ulp_info) {
    (void)sock;
    (void)addr;
    uintptr_t id = (uintptr_t)ulp_info;
    if (data == NULL) {
        event_fn(id, TESSERA_SCTP_EVENT_DOWN, 0);
        return 1;
    }
    if (flags & MSG_NOTIFICATION) {
        notification(id, (const union sctp_notification *)data, length);
    } else {
        message_fn(id, info.rcv_sid, ntohl(info.rcv_ppid), (flags & MSG_EOR) != 0, data, length);
    }
    free(data);  // usrsctp hands the buffer over
    return 1;
}

void *tessera_sctp_open(uintptr_t id, uint16_t local_port, uint16_t remote_port, uint32_t mtu) {
    usrsctp_register_address((void *)id);
    struct socket *sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive, NULL, 0, (void *)id);
    if (sock == NULL) {
        usrsctp_deregister_address((void *)id);
        return NULL;
    }
    usrsctp_set_non_blocking(sock, 1);
    struct linger linger = {.l_onoff = 1, .l_linger = 0};  // close aborts at once
    usrsctp_setsockopt(sock, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    int on = 1;
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    struct sctp_assoc_value reset = {.assoc_id = SCTP_ALL_ASSOC,
                                     .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ | SCTP_ENABLE_CHANGE_ASSOC_REQ};
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset);
    uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
        usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    struct sctp_initmsg init = {.sinit_num_ostreams = 1024, .sinit_max_instreams = 1024};
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);

    struct sockaddr_conn local = {0};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(local_port);
    local.sconn_addr = (void *)id;
    if (usrsctp_bind(sock, (struct sockaddr *)&local, sizeof local) < 0) goto fail;
    struct sockaddr_conn remote = local;
    remote.sconn_port = htons(remote_port);
    if (usrsctp_connect(sock, (struct sockaddr *)&remote, sizeof remote) < 0 && errno != EINPROGRESS) goto fail;
    // Our packets cross DTLS over UDP: a fixed path MTU, no discovery.
    struct sctp_paddrparams params = {0};
    memcpy(&params.spp_address, &remote, sizeof remote);
    params.spp_flags = SPP_PMTUD_DISABLE;
    params.spp_pathmtu = mtu;
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &params, sizeof params);
    return sock;
fail:
    usrsctp_close(sock);
    usrsctp_deregister_address((void *)id);
    return NULL;
}

void tessera_sctp_input(uintptr_t id, const void *data, size_t length) {
    usrsctp_conninput((void *)id, data, length, 0);
}

int tessera_sctp_send(void *handle, uint16_t sid, uint32_t ppid, int unordered, int pr_policy, uint32_t pr_value,
                      const void *data, size_t length) {
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof spa);
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
    if (pr_policy != 0) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = pr_policy == 1 ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = pr_value;
    }
    ssize_t n = usrsctp_sendv((struct socket *)handle, data, length, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    return n < 0 ? errno : 0;
}

int tessera_sctp_reset_stream(void *handle, uint16_t sid) {
    size_t length = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
    struct sctp_reset_streams *r = calloc(1, length);
    if (r == NULL) return ENOMEM;
    r->srs_assoc_id = SCTP_ALL_ASSOC;
    r->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    r->srs_number_streams = 1;
    r->srs_stream_list[0] = sid;
    int result = usrsctp_setsockopt((struct socket *)handle, IPPROTO_SCTP, SCTP_RESET_STREAMS, r, (socklen_t)length);
    free(r);
    return result < 0 ? errno : 0;
}

void tessera_sctp_close(void *handle, uintptr_t id) {
    if (handle != NULL) usrsctp_close((struct socket *)handle);
    usrsctp_deregister_address((void *)id);
}
