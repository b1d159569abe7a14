"""A room protocol client that behaves like KurentoRoom.js (auto-subscribes to
every advertised stream, drops a participant on participantUnpublished or
participantLeft, honours recvAudio/recvVideo), with aiortc peers that send a
known colour and tone and record what they receive."""
import asyncio
import json
import queue
import select
import threading

import websocket
from aiortc import RTCSessionDescription

from media import ColourTrack, Recorder, ToneTrack, add_remote_candidate, peer_connection


class RoomSocket:
    """JSON-RPC over one WebSocket; a reader thread sorts responses from notifications."""

    def __init__(self, url, timeout=15):
        self.ws = websocket.create_connection(url, timeout=timeout)
        # One OpenSSL connection must not read and write from two threads at once: over
        # wss the reader waits for data without the lock and reads a frame holding it,
        # and requests send holding it (keepalive pings come from another thread).
        self.tls = url.startswith("wss://")
        self.io = threading.Lock()
        self.next_id = 0
        self.lock = threading.Lock()
        self.responses = {}
        self.cond = threading.Condition()
        self.notifications = queue.Queue()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                if self.tls:
                    sock = self.ws.sock
                    if sock is None:
                        break
                    if not sock.pending() and not select.select([sock], [], [], 0.05)[0]:
                        continue
                    with self.io:
                        text = self.ws.recv()
                else:
                    text = self.ws.recv()
            except Exception:
                break
            if not text:
                break
            msg = json.loads(text)
            if "id" in msg and msg["id"] is not None and "method" not in msg:
                with self.cond:
                    self.responses[msg["id"]] = msg
                    self.cond.notify_all()
            else:
                self.notifications.put(msg)
        self.closed = True
        self.notifications.put(None)

    def request(self, method, params=None, timeout=20):
        with self.lock:
            self.next_id += 1
            rid = self.next_id
        with self.io:
            self.ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}))
        with self.cond:
            if not self.cond.wait_for(lambda: rid in self.responses, timeout):
                raise TimeoutError(f"{method}: no response")
            return self.responses.pop(rid)

    def result(self, method, params=None):
        r = self.request(method, params)
        assert "result" in r, r
        return r["result"]

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


class Participant:
    def __init__(self, url, name, room, colour=None, hz=None, extensions=(), mode=None, token=None, amplitude=0.25,
                 network=None, data_channels=False):
        self.url, self.name, self.room = url, name, room
        # As KurentoRoom.js with `dataChannels: true`: joinRoom says so, and every
        # PeerConnection carries a data channel labelled "chat".
        self.data_channels = data_channels
        self.chat = None  # the publisher's channel
        self.chat_received = {}  # sender user -> messages that came on the subscription to it
        self.colour, self.hz, self.amplitude = colour, hz, amplitude
        self.extensions, self.mode, self.token = list(extensions), mode, token
        self.aware = "streams" in self.extensions
        self.socket = None
        self.publisher = None
        # Extension `streams`: each stream of a participant is a PeerConnection of its own;
        # subscriptions are then keyed `user_stream`, and extra published streams by id.
        self.aware = "streams" in self.extensions
        self.extra_publishers = {}  # stream id -> pc
        self.subscriptions = {}  # sender user (or user_stream when aware) -> (pc, recorder, stream)
        self.notes = []  # every notification seen, in order
        self.pump_task = None
        self.keepalive_task = None
        self.tasks = set()
        # With a netfault.FaultyNetwork, every PeerConnection reaches the server
        # through a relay path of its own (keyed by endpoint name, as iceCandidate names it).
        self.network = network
        self.paths = {}

    async def join(self):
        self.socket = await asyncio.to_thread(RoomSocket, self.url)
        await asyncio.to_thread(self.socket.result, "ping", {"interval": 3000})
        params = {"user": self.name, "room": self.room, "extensions": self.extensions}
        if self.mode:
            params["mode"] = self.mode
        if self.token:
            params["token"] = self.token
        if self.data_channels:
            params["dataChannels"] = True
        result = await asyncio.to_thread(self.socket.result, "joinRoom", params)
        self.join_result = result
        self.pump_task = asyncio.ensure_future(self._pump())
        self.keepalive_task = asyncio.ensure_future(self._keepalive())
        for peer in result["value"]:
            for stream in peer.get("streams", []):
                self._spawn(self.subscribe(peer["id"], stream))
        return result

    async def _keepalive(self):
        """As KurentoRoom.js: a ping well within the announced interval (3 s), or
        the server's watchdog closes the socket after three silent intervals."""
        while self.socket and not self.socket.closed:
            await asyncio.sleep(1.5)
            try:
                await asyncio.to_thread(self.socket.request, "ping", {}, 5)
            except Exception:
                return

    def _spawn(self, coro):
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def publish(self):
        pc = peer_connection()
        pc.addTrack(ColourTrack(self.colour))
        pc.addTrack(ToneTrack(self.hz, amplitude=self.amplitude))
        if self.data_channels:
            self.chat = pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        offer = self._route(self.name, pc.localDescription.sdp)
        result = await asyncio.to_thread(self.socket.result, "publishVideo", {"sdpOffer": offer, "doLoopback": False})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=self._answer(result["sdpAnswer"]), type="answer"))
        self.publisher = pc
        await self._routed(self.name, pc)

    async def publish_stream(self, stream_id, colour, source=None, size=(640, 360), hz=None):
        """Extension `streams`: another stream beside the first (a screen share:
        `colour` video of `size`, and a tone when `hz` is given), on a PeerConnection of its own."""
        pc = peer_connection()
        pc.addTrack(ColourTrack(colour, width=size[0], height=size[1]))
        if hz:
            pc.addTrack(ToneTrack(hz, amplitude=self.amplitude))
        await pc.setLocalDescription(await pc.createOffer())
        name = f"{self.name}_{stream_id}"
        offer = self._route(name, pc.localDescription.sdp)
        params = {"sdpOffer": offer, "doLoopback": False, "streamId": stream_id}
        if source:
            params["source"] = source
        result = await asyncio.to_thread(self.socket.result, "publishVideo", params)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=self._answer(result["sdpAnswer"]), type="answer"))
        self.extra_publishers[stream_id] = pc
        await self._routed(name, pc)
        return result

    async def unpublish_stream(self, stream_id):
        await asyncio.to_thread(self.socket.result, "unpublishVideo", {"streamId": stream_id})
        pc = self.extra_publishers.pop(stream_id, None)
        if pc:
            await pc.close()

    def _key(self, user, stream_id):
        return f"{user}_{stream_id}" if self.aware else user

    def _route(self, endpoint, offer):
        """Through the faulty network: a new relay path for `endpoint`, and an
        offer without the peer's own candidates (the relay is its only one)."""
        if self.network is None:
            return offer
        from netfault import payload_type, strip_candidates
        path = self.network.path()
        path.audio_pt = payload_type(offer, "opus")
        self.paths[endpoint] = path
        return strip_candidates(offer)

    def _answer(self, sdp):
        if self.network is None:
            return sdp
        from netfault import strip_candidates
        return strip_candidates(sdp)

    async def _routed(self, endpoint, pc):
        path = self.paths.get(endpoint)
        if self.network is None or path is None:
            return
        from aiortc.sdp import candidate_from_sdp
        c = candidate_from_sdp(path.peer_facing_candidate().split(":", 1)[1])
        c.sdpMid, c.sdpMLineIndex = pc.getTransceivers()[0].mid, 0
        await pc.addIceCandidate(c)
        await asyncio.to_thread(self.socket.request, "onIceCandidate", {
            "endpointName": endpoint, "candidate": path.peer_candidate(), "sdpMid": c.sdpMid, "sdpMLineIndex": 0})

    async def subscribe(self, user, stream):
        """As KurentoRoom.js: a new recv-only PeerConnection per stream; replaces an older one."""
        pc = peer_connection()
        rec = Recorder()
        pc.on("track", rec.attach)
        if stream.get("recvVideo", True):
            pc.addTransceiver("video", direction="recvonly")
        if stream.get("recvAudio", True):
            pc.addTransceiver("audio", direction="recvonly")
        if self.data_channels:
            received = self.chat_received.setdefault(user, [])
            pc.createDataChannel("chat").on("message", received.append)
        await pc.setLocalDescription(await pc.createOffer())
        key = self._key(user, stream["id"])
        old = self.subscriptions.get(key)
        self.subscriptions[key] = (pc, rec, stream["id"])
        offer = self._route(key, pc.localDescription.sdp)
        response = await asyncio.to_thread(self.socket.request, "receiveVideoFrom", {
            "sender": f"{user}_{stream['id']}", "sdpOffer": offer})
        if "result" not in response:
            self.subscriptions.pop(key, None) if self.subscriptions.get(key, (None,))[0] is pc else None
            await pc.close()
            return
        await pc.setRemoteDescription(RTCSessionDescription(sdp=self._answer(response["result"]["sdpAnswer"]), type="answer"))
        await self._routed(key, pc)
        if old:
            old[1].stop()
            await old[0].close()

    async def _drop(self, user):
        sub = self.subscriptions.pop(user, None)
        if sub:
            sub[1].stop()
            await sub[0].close()

    async def _pump(self):
        while True:
            msg = await asyncio.to_thread(self.socket.notifications.get)
            if msg is None:
                return
            self.notes.append(msg)
            method, params = msg.get("method"), msg.get("params", {})
            if method == "participantPublished":
                for stream in params.get("streams", []):
                    # A stream-aware client is told every stream again when one is added.
                    if self.aware and self._key(params["id"], stream["id"]) in self.subscriptions:
                        continue
                    self._spawn(self.subscribe(params["id"], stream))
            elif method == "participantUnpublished" and self.aware and "streamId" in params:
                self._spawn(self._drop(self._key(params["name"], params["streamId"])))
            elif method in ("participantUnpublished", "participantLeft"):
                for key in [k for k in self.subscriptions if k == params["name"] or k.startswith(params["name"] + "_")]:
                    self._spawn(self._drop(key))
            elif method == "iceCandidate" and self.network is not None:
                path = self.paths.get(self._candidate_key(params))
                if path is not None:
                    path.learn_server_candidate(params["candidate"])
            elif method == "iceCandidate":
                name = self._candidate_key(params)
                if name == self.name or (self.aware and name == f"{self.name}_{self.publisher_stream}"):
                    pc = self.publisher
                elif name.startswith(self.name + "_"):
                    pc = self.extra_publishers.get(name[len(self.name) + 1:])
                else:
                    pc = (self.subscriptions.get(name) or (None,))[0]
                    if pc is None and self.aware and "_" not in name:
                        # Sent before the server knew which stream: the only subscription to that sender.
                        mine = [v for k, v in self.subscriptions.items() if k.startswith(name + "_")]
                        pc = mine[0][0] if len(mine) == 1 else None
                if pc is not None:
                    try:
                        await add_remote_candidate(pc, params)
                    except Exception:
                        pass

    publisher_stream = "webcam"

    def _candidate_key(self, params):
        """Which of our PeerConnections an iceCandidate is for: its endpointName,
        made `user_stream` with the `streamId` the server adds for stream-aware clients."""
        name = params["endpointName"]
        if self.aware and "_" not in name and "streamId" in params and name != self.name:
            return f"{name}_{params['streamId']}"
        return name

    def recorder(self, user):
        sub = self.subscriptions.get(user)
        return sub[1] if sub else None

    def note_methods(self):
        return [n.get("method") for n in self.notes]

    async def rejoin(self, url=None, timeout=30):
        """What a client does when its room's node is lost (a cluster): drop every
        PeerConnection, join again on a new socket (to `url`, or the same node),
        retrying while the cluster still names the lost node, then publish again."""
        for t in list(self.tasks):
            t.cancel()
        for key in list(self.subscriptions):
            await self._drop(key)
        if self.publisher:
            await self.publisher.close()
            self.publisher = None
        for task in (self.pump_task, self.keepalive_task):
            if task:
                task.cancel()
        if self.socket:
            self.socket.close()
        self.url = url or self.url
        deadline = asyncio.get_event_loop().time() + timeout
        while True:
            try:
                await self.join()
                break
            except (AssertionError, OSError, TimeoutError, websocket.WebSocketException) as e:
                if self.socket:
                    self.socket.close()
                if asyncio.get_event_loop().time() > deadline:
                    raise AssertionError(f"{self.name} could not rejoin within {timeout} s: {e}")
                await asyncio.sleep(0.5)
        if self.colour is not None:
            await self.publish()

    async def close(self, leave=True):
        if leave and self.socket and not self.socket.closed:
            try:
                await asyncio.to_thread(self.socket.request, "leaveRoom", {}, 5)
            except Exception:
                pass
        for t in list(self.tasks):
            t.cancel()
        for user in list(self.subscriptions):
            await self._drop(user)
        if self.publisher:
            await self.publisher.close()
        for pc in self.extra_publishers.values():
            await pc.close()
        if self.socket:
            self.socket.close()
        if self.pump_task:
            self.pump_task.cancel()
        if self.keepalive_task:
            self.keepalive_task.cancel()
