"""A faulty network between one WebRTC peer and the server, in user space.

This machine kind's kernel has no netem, so the faults are put in the path by
a small UDP relay on 127.0.0.1: the peer is given the relay's client-facing
address as the server's only candidate, the server is given the relay's
server-facing address as the peer's only candidate, and every datagram
(STUN, DTLS, SRTP, SRTCP) crosses the relay both ways. Each direction can
drop with a probability, delay by mean ± jitter (so packets reorder),
duplicate, or be cut entirely for a while. Nothing leaves loopback.

    relay = FaultyPath(seed=7)
    relay.set(loss=0.10, delay_ms=30, jitter_ms=10)          # both directions
    relay.set(loss=0.10, direction="to_server")               # one direction
    relay.cut(); ...; relay.restore()                         # an outage
"""
import collections
import heapq
import re
import random
import select
import socket
import threading
import time


class Direction:
    """Fault settings and counters of one direction."""

    def __init__(self):
        self.loss = 0.0
        self.delay_ms = 0.0
        self.jitter_ms = 0.0
        self.duplicate = 0.0
        self.cut = False
        # A bottleneck link (like `tc ... tbf`): rate in kbit/s (0: none) and the
        # longest a datagram may wait in its queue before it is dropped.
        self.rate_kbps = 0.0
        self.queue_ms = 300.0
        self.link_free_at = 0.0
        self.received = 0
        self.forwarded = 0
        self.dropped = 0
        self.drop_stun = False  # drop only STUN (checks and their responses), keep the rest
        self.rtp = 0          # RTP/RTCP datagrams forwarded (first byte 128..191)
        self.stun = 0         # STUN datagrams forwarded (first byte 0..3)
        self.rtp_times = []   # arrival times of forwarded RTP/RTCP, for rates per second
        # RTP packets by payload type (RTCP excluded): as they reached the relay, and as it delivered them.
        self.arrived_by_pt = collections.Counter()
        self.delivered_by_pt = collections.Counter()


class FaultyPath:
    TO_SERVER = "to_server"
    TO_PEER = "to_peer"

    def __init__(self, seed=1):
        self.random = random.Random(seed)
        self.peer_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.peer_side.bind(("127.0.0.1", 0))
        self.server_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.server_side.bind(("127.0.0.1", 0))
        for s in (self.peer_side, self.server_side):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.setblocking(False)
        self.peer_address = None      # learned from the first datagram the peer sends
        self.server_address = None    # from the server's candidate (set_server_candidate)
        self.retired = []             # server-facing sockets replaced by rebind(), no longer read
        self.directions = {self.TO_SERVER: Direction(), self.TO_PEER: Direction()}
        self.lock = threading.Lock()
        self.queue = []               # (due time, order, socket, bytes, address)
        self.order = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, name="faulty-path", daemon=True)
        self.thread.start()

    # Addresses

    @property
    def peer_facing(self):
        return self.peer_side.getsockname()

    @property
    def server_facing(self):
        return self.server_side.getsockname()

    def learn_server_candidate(self, candidate):
        """Takes the server's candidate as the relay's target, once; false if
        it was not a UDP candidate or the target is already known."""
        fields = candidate.split()
        if self.server_address is not None or len(fields) < 8 or fields[2].lower() != "udp":
            return False
        self.server_address = (fields[4], int(fields[5]))
        return True

    def peer_facing_candidate(self, foundation="relaypeer"):
        """The candidate the peer should be given for the server (the relay's peer side)."""
        ip, port = self.peer_facing
        return f"candidate:{foundation} 1 udp 2130706431 {ip} {port} typ host"

    def set_server_candidate(self, candidate):
        """Takes the server's host candidate ('candidate:... udp prio ip port typ host')
        and returns the candidate the peer should be given instead (the relay's)."""
        fields = candidate.split()
        self.server_address = (fields[4], int(fields[5]))
        fields[4], fields[5] = self.peer_facing[0], str(self.peer_facing[1])
        return " ".join(fields)

    def peer_candidate(self, foundation="relaypath"):
        """The candidate the server should be given for the peer (the relay's server side)."""
        ip, port = self.server_facing
        return f"candidate:{foundation} 1 udp 2130706431 {ip} {port} typ host"

    def rebind(self):
        """The peer 'moves' (a NAT rebinding): from now on everything it sends
        reaches the server from a new source port, and the server's datagrams
        to the old one are lost."""
        new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        new.bind(("127.0.0.1", 0))
        new.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        new.setblocking(False)
        with self.lock:
            self.retired.append(self.server_side)
            self.server_side = new

    # Faults

    def set(self, loss=None, delay_ms=None, jitter_ms=None, duplicate=None, drop_stun=None, direction=None,
            rate_kbps=None, queue_ms=None):
        names = [direction] if direction else list(self.directions)
        with self.lock:
            for name in names:
                d = self.directions[name]
                if rate_kbps is not None:
                    d.rate_kbps = rate_kbps
                if queue_ms is not None:
                    d.queue_ms = queue_ms
                if drop_stun is not None:
                    d.drop_stun = drop_stun
                if loss is not None:
                    d.loss = loss
                if delay_ms is not None:
                    d.delay_ms = delay_ms
                if jitter_ms is not None:
                    d.jitter_ms = jitter_ms
                if duplicate is not None:
                    d.duplicate = duplicate

    def clear(self):
        self.set(loss=0.0, delay_ms=0.0, jitter_ms=0.0, duplicate=0.0, drop_stun=False)
        self.restore()

    def cut(self, direction=None):
        with self.lock:
            for name in ([direction] if direction else list(self.directions)):
                self.directions[name].cut = True

    def restore(self, direction=None):
        with self.lock:
            for name in ([direction] if direction else list(self.directions)):
                self.directions[name].cut = False

    def counts(self, direction, pt):
        """(arrived, delivered) RTP packets of payload type `pt` in `direction` so far."""
        d = self.directions[direction]
        with self.lock:
            return d.arrived_by_pt[pt], d.delivered_by_pt[pt]

    def rtp_rate(self, direction, since, until):
        """RTP/RTCP datagrams per second forwarded in `direction` between two times."""
        d = self.directions[direction]
        with self.lock:
            n = sum(1 for t in d.rtp_times if since <= t < until)
        return n / max(until - since, 1e-6)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.peer_side.close()
        self.server_side.close()
        for s in self.retired:
            s.close()

    # The relay thread

    def _take(self, sock, name, out_sock, now):
        while True:
            try:
                data, source = sock.recvfrom(2048)
            except BlockingIOError:
                return
            except OSError:
                return
            if name == self.TO_SERVER:
                self.peer_address = source
                target = self.server_address
            else:
                target = self.peer_address
            with self.lock:
                d = self.directions[name]
                d.received += 1
                pt = _rtp_payload_type(data)
                if pt is not None:
                    d.arrived_by_pt[pt] += 1
                stun = bool(data) and data[0] <= 3
                if target is None or d.cut or (d.drop_stun and stun) or self.random.random() < d.loss:
                    d.dropped += 1
                    continue
                copies = 2 if self.random.random() < d.duplicate else 1
                departs = now
                if d.rate_kbps > 0:
                    # Serialised at the link's rate behind what is queued; a full queue drops (tail drop).
                    start = max(now, d.link_free_at)
                    departs = start + len(data) * 8 / (d.rate_kbps * 1000)
                    if departs - now > d.queue_ms / 1000:
                        d.dropped += 1
                        continue
                    d.link_free_at = departs
                for _ in range(copies):
                    delay = (departs - now) + max(0.0, d.delay_ms + self.random.uniform(-d.jitter_ms, d.jitter_ms)) / 1000
                    self.order += 1
                    heapq.heappush(self.queue, (now + delay, self.order, out_sock, data, target, name))

    def _run(self):
        while self.running:
            now = time.monotonic()
            with self.lock:
                timeout = 0.05 if not self.queue else max(0.0, min(0.05, self.queue[0][0] - now))
            readable, _, _ = select.select([self.peer_side, self.server_side], [], [], timeout)
            now = time.monotonic()
            if self.peer_side in readable:
                self._take(self.peer_side, self.TO_SERVER, self.server_side, now)
            if self.server_side in readable:
                self._take(self.server_side, self.TO_PEER, self.peer_side, now)
            now = time.monotonic()
            while True:
                with self.lock:
                    if not self.queue or self.queue[0][0] > now:
                        break
                    _, _, out_sock, data, target, name = heapq.heappop(self.queue)
                    d = self.directions[name]
                    d.forwarded += 1
                    if data and 128 <= data[0] <= 191:
                        d.rtp += 1
                        d.rtp_times.append(now)
                        pt = _rtp_payload_type(data)
                        if pt is not None:
                            d.delivered_by_pt[pt] += 1
                    elif data and data[0] <= 3:
                        d.stun += 1
                try:
                    out_sock.sendto(data, target)
                except OSError:
                    pass


def _rtp_payload_type(data):
    """The payload type of an RTP packet (header in the clear under SRTP), None for RTCP and the rest."""
    if len(data) < 12 or not 128 <= data[0] <= 191 or 192 <= data[1] <= 223:
        return None
    return data[1] & 0x7F


def payload_type(sdp, codec):
    """The payload type `sdp` gives `codec` (e.g. 'opus'), or None."""
    m = re.search(r"a=rtpmap:(\d+) " + codec + "/", sdp, re.IGNORECASE)
    return int(m.group(1)) if m else None


def strip_candidates(sdp):
    return "".join(line + "\r\n" for line in sdp.splitlines() if line and not line.startswith("a=candidate:")
                   and not line.startswith("a=end-of-candidates"))


async def negotiate_through(kurento, endpoint, pc, path):
    """Kurento-style offer/answer like media.negotiate, but with every datagram
    crossing `path`: the server learns only the relay as the peer's candidate
    and the peer only the relay as the server's."""
    import asyncio
    from aiortc import RTCSessionDescription
    from media import add_remote_candidate

    await pc.setLocalDescription(await pc.createOffer())
    answer = await asyncio.to_thread(kurento.result, "invoke", {
        "object": endpoint, "operation": "processOffer",
        "operationParams": {"offer": strip_candidates(pc.localDescription.sdp)}})
    await asyncio.to_thread(kurento.result, "invoke", {
        "object": endpoint, "operation": "addIceCandidate",
        "operationParams": {"candidate": {"__module__": "kurento", "__type__": "IceCandidate",
                                          "candidate": path.peer_candidate(), "sdpMid": "0", "sdpMLineIndex": 0}}})
    await pc.setRemoteDescription(RTCSessionDescription(sdp=strip_candidates(answer["value"]), type="answer"))
    await asyncio.to_thread(kurento.result, "invoke", {"object": endpoint, "operation": "gatherCandidates"})
    given = False
    while True:
        event = await asyncio.to_thread(
            kurento.wait_event, None, 10, endpoint, ["IceCandidateFound", "IceGatheringDone"])
        value = event["params"]["value"]
        if value["type"] == "IceGatheringDone":
            break
        candidate = dict(value["data"]["candidate"])
        if given or " udp " not in candidate["candidate"].lower():
            continue
        candidate["candidate"] = path.set_server_candidate(candidate["candidate"])
        await add_remote_candidate(pc, candidate)
        given = True
    assert given, "the server gathered no UDP candidate to relay"
    return answer["value"]


class FaultyNetwork:
    """Several FaultyPaths with the same faults: one per PeerConnection of a
    room participant (each reaches its own server port)."""

    def __init__(self, seed=1):
        self.seed = seed
        self.paths = []
        self.settings = {}
        self.is_cut = False

    def path(self):
        p = FaultyPath(seed=self.seed + len(self.paths))
        if self.settings:
            p.set(**self.settings)
        if self.is_cut:
            p.cut()
        self.paths.append(p)
        return p

    def set(self, **settings):
        self.settings.update(settings)
        for p in self.paths:
            p.set(**settings)

    def clear(self):
        self.settings = {}
        self.is_cut = False
        for p in self.paths:
            p.clear()

    def cut(self):
        self.is_cut = True
        for p in self.paths:
            p.cut()

    def restore(self):
        self.is_cut = False
        for p in self.paths:
            p.restore()

    def close(self):
        for p in self.paths:
            p.close()
