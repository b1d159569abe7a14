"""WebRTC data channels (RFC 8831/8832) against aiortc's SCTP stack: a
WebRtcEndpoint made with useDataChannels and connected to itself echoes every
message on the channel it came on (Kurento's data channel tutorial); channels
the server opens (createDataChannel) reach the peer with their label and
reliability, closing works from both sides, with DataChannelOpened/Closed
events, and a message bigger than a datagram crosses intact."""
import asyncio

from conftest import Client, Server
from media import negotiate, peer_connection, wait_for, ToneTrack


def create_endpoint(kurento, pipeline, data=True):
    params = {"mediaPipeline": pipeline}
    if data:
        params["useDataChannels"] = True
    w = kurento.result("create", {"type": "WebRtcEndpoint", "constructorParams": params})["value"]
    for event in ["IceCandidateFound", "IceGatheringDone", "DataChannelOpened", "DataChannelClosed"]:
        kurento.result("subscribe", {"object": w, "type": event})
    return w


def invoke(kurento, obj, operation, **params):
    return kurento.request("invoke", {"object": obj, "operation": operation, "operationParams": params})


def test_loopback_echoes_messages_and_server_channels_open_and_close(server):
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = create_endpoint(kurento, p)
        kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})

        pc = peer_connection()
        pc.addTrack(ToneTrack(440))  # media beside the data m-line, in one BUNDLE group
        chat = pc.createDataChannel("chat")
        fast = pc.createDataChannel("fast", ordered=False, maxRetransmits=0)
        echoes = {"chat": [], "fast": []}
        chat.on("message", lambda m: echoes["chat"].append(m))
        fast.on("message", lambda m: echoes["fast"].append(m))
        from_server = []
        pc.on("datachannel", lambda c: from_server.append(c))

        answer = await negotiate(kurento, w, pc)
        assert "m=application" in answer and "webrtc-datachannel" in answer and "a=sctp-port:5000" in answer, answer
        assert await wait_for(lambda: chat.readyState == "open" and fast.readyState == "open", 15), (chat.readyState, fast.readyState)
        # The peer opened two channels: the server says so, with their ids.
        opened = [await asyncio.to_thread(kurento.wait_event, "DataChannelOpened", 10, w) for _ in range(2)]
        ids = sorted(e["params"]["value"]["data"]["channelId"] for e in opened)
        assert ids == sorted([chat.id, fast.id]), (ids, chat.id, fast.id)

        texts = [f"message {i}" for i in range(30)]
        for t in texts:
            chat.send(t)
        blob = bytes(range(256)) * 256  # 64 KiB: many SCTP chunks, many DTLS records
        chat.send(blob)
        chat.send(b"")
        for i in range(10):
            fast.send(f"fast {i}")
        assert await wait_for(lambda: len(echoes["chat"]) == len(texts) + 2, 15), len(echoes["chat"])
        assert echoes["chat"][:len(texts)] == texts  # ordered, text stays text
        assert echoes["chat"][len(texts)] == blob  # binary stays binary, whole
        assert echoes["chat"][-1] == b""
        # Unordered and unreliable on loopback: everything comes back, in any order.
        assert await wait_for(lambda: len(echoes["fast"]) == 10, 10), echoes["fast"]
        assert sorted(echoes["fast"]) == sorted(f"fast {i}" for i in range(10))

        # getStats for DATA: one RTCDataChannelStats per open channel, counting both ways.
        stats = kurento.result("invoke", {"object": w, "operation": "getStats", "operationParams": {"mediaType": "DATA"}})["value"]
        channels = {s["label"]: s for s in stats.values() if s["__type__"] == "RTCDataChannelStats"}
        assert set(channels) == {"chat", "fast"}, stats
        assert not [s for s in stats.values() if "RTPStreamStats" in s["__type__"]], stats
        chat_stats = channels["chat"]
        assert chat_stats["datachannelid"] == chat.id and chat_stats["state"] == "open" and chat_stats["type"] == "datachannel"
        assert chat_stats["messagesReceived"] == len(texts) + 2 == chat_stats["messagesSent"], chat_stats
        assert chat_stats["bytesReceived"] == sum(len(t) for t in texts) + len(blob) == chat_stats["bytesSent"], chat_stats

        # A channel the server opens reaches the peer with what was asked for.
        r = invoke(kurento, w, "createDataChannel", label="server", ordered=False, maxRetransmits=3, protocol="json")
        assert "result" in r, r
        assert await wait_for(lambda: len(from_server) == 1, 10)
        theirs = from_server[0]
        assert (theirs.label, theirs.ordered, theirs.maxRetransmits, theirs.protocol) == ("server", False, 3, "json")
        event = await asyncio.to_thread(kurento.wait_event, "DataChannelOpened", 10, w)
        server_id = event["params"]["value"]["data"]["channelId"]
        assert server_id == theirs.id and server_id % 2 == 1  # the DTLS server takes odd ids (RFC 8832 §6)
        # What the peer sends on it comes back on it too (a loopback echoes per channel).
        got = []
        theirs.on("message", lambda m: got.append(m))
        await wait_for(lambda: theirs.readyState == "open", 5)
        theirs.send("to the server")
        assert await wait_for(lambda: got == ["to the server"], 10), got

        # Closing from the server: the peer's channel closes, and the event comes.
        assert "result" in invoke(kurento, w, "closeDataChannel", channelId=server_id)
        assert await wait_for(lambda: theirs.readyState == "closed", 10), theirs.readyState
        event = await asyncio.to_thread(kurento.wait_event, "DataChannelClosed", 10, w)
        assert event["params"]["value"]["data"]["channelId"] == server_id
        # Closing from the peer.
        chat.close()
        event = await asyncio.to_thread(kurento.wait_event, "DataChannelClosed", 10, w)
        assert event["params"]["value"]["data"]["channelId"] == chat.id
        # Errors: an unknown channel, and an endpoint made without data channels.
        r = invoke(kurento, w, "closeDataChannel", channelId=chat.id)
        assert r["error"]["code"] == 40107, r
        plain = create_endpoint(kurento, p, data=False)
        r = invoke(kurento, plain, "createDataChannel", label="x")
        assert r["error"]["code"] == 40111, r
        # The server's stats and the peer agree that the other channel still works.
        fast.send("still here")
        assert await wait_for(lambda: "still here" in echoes["fast"], 10)
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())


def test_without_use_data_channels_the_data_m_line_is_refused(server):
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = create_endpoint(kurento, p, data=False)
        pc = peer_connection()
        pc.addTrack(ToneTrack(440))
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        answer = kurento.result("invoke", {"object": w, "operation": "processOffer", "operationParams": {"offer": pc.localDescription.sdp}})["value"]
        data_line = [line for line in answer.splitlines() if line.startswith("m=application")]
        assert data_line and data_line[0].split()[1] == "0", data_line  # rejected: port 0
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())


def test_data_flows_from_one_endpoint_to_another(server):
    """A → B connected (DATA included): what A's peer sends reaches B's peer on
    B's channel of the same label."""
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        a, b = create_endpoint(kurento, p), create_endpoint(kurento, p)
        kurento.result("invoke", {"object": a, "operation": "connect", "operationParams": {"sink": b, "mediaType": "DATA"}})
        pa, pb = peer_connection(), peer_connection()
        ca, cb = pa.createDataChannel("room"), pb.createDataChannel("room")
        got = []
        cb.on("message", lambda m: got.append(m))
        await negotiate(kurento, a, pa)
        await negotiate(kurento, b, pb)
        assert await wait_for(lambda: ca.readyState == "open" and cb.readyState == "open", 15)
        for i in range(5):
            ca.send(f"hello {i}")
        assert await wait_for(lambda: len(got) == 5, 10), got
        assert got == [f"hello {i}" for i in range(5)]
        # A channel B's peer has no counterpart for (another label, another id): dropped, and counted.
        def dropped():
            line = [l for l in server.metrics().splitlines() if l.startswith("tessera_datachannel_messages_dropped_total")]
            return float(line[0].split()[-1]) if line else 0.0
        before = dropped()
        other = pa.createDataChannel("elsewhere")
        assert await wait_for(lambda: other.readyState == "open", 10)
        for i in range(3):
            other.send(f"nowhere {i}")
        assert await wait_for(lambda: dropped() >= before + 3, 10), (before, dropped())
        assert got == [f"hello {i}" for i in range(5)]
        # Nothing goes back the other way: B is not connected to A.
        back = []
        ca.on("message", lambda m: back.append(m))
        cb.send("unheard")
        await asyncio.sleep(1)
        assert back == []
        await pa.close()
        await pb.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())


def test_room_data_channels_reach_every_subscriber_that_has_them():
    """joinRoom with dataChannels (KurentoRoom.js's option): a publisher's
    messages on its data channel reach each subscriber's PeerConnection to it
    that has one; a participant who joined without data channels is served as
    before."""
    from room_client import Participant
    from test_rooms import room_url
    server = Server()
    try:
        async def run():
            url = room_url(server)
            alice = Participant(url, "alice", "chat-room", (200, 40, 40), 440, data_channels=True)
            bob = Participant(url, "bob", "chat-room", (40, 200, 40), 550, data_channels=True)
            dave = Participant(url, "dave", "chat-room", (40, 40, 200), 660)
            for p in (alice, bob, dave):
                await p.join()
                await p.publish()
            assert await wait_for(lambda: alice.chat.readyState == "open" and bob.chat.readyState == "open", 15)
            assert await wait_for(lambda: "alice" in bob.subscriptions and "bob" in alice.subscriptions, 15)
            # Each subscription's own channel must be open before messages can be forwarded to it.
            await asyncio.sleep(2)
            for i in range(5):
                alice.chat.send(f"alice says {i}")
                bob.chat.send(f"bob says {i}")
            assert await wait_for(lambda: len(bob.chat_received.get("alice", [])) == 5 and len(alice.chat_received.get("bob", [])) == 5, 10), \
                (bob.chat_received, alice.chat_received)
            assert bob.chat_received["alice"] == [f"alice says {i}" for i in range(5)]
            assert alice.chat_received["bob"] == [f"bob says {i}" for i in range(5)]
            # dave has no data channels, yet sees and is seen as usual.
            assert await wait_for(lambda: "alice" in dave.subscriptions and dave.recorder("alice").video_frames > 10, 15)
            assert await wait_for(lambda: "dave" in bob.subscriptions and bob.recorder("dave").video_frames > 10, 15)
            for p in (alice, bob, dave):
                await p.close()
        asyncio.run(run())
    finally:
        server.stop()


def test_chromium_datachannel_loopback_and_server_channel(server, tmp_path):
    """The same with Chromium's SCTP stack (dcsctp): echo on its channel, a
    64 KiB binary message intact, a server channel opened and closed."""
    import os
    from test_chromium import CHROME, run_page
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    result = run_page("datachannel.html", f"ws=ws://127.0.0.1:{server.port}/kurento", tmp_path)
    assert result is not None, "the page reported nothing"
    print("chromium:", result)
    assert "error" not in result, result
    assert result["sctp"] == "connected" and result["chatState"] == "open", result
    assert result["texts"] and result["echoed"] == 21 and result["binaryOk"], result
    channel = result["serverChannel"]
    assert channel and channel["label"] == "server" and channel["ordered"] is False and channel["maxRetransmits"] == 2, result
    assert channel["id"] % 2 == 1 and channel["closedState"] == "closed", result
    events = [tuple(e) for e in result["events"]]
    assert ("DataChannelOpened", result["chatId"]) in events and ("DataChannelOpened", channel["id"]) in events, events
    assert ("DataChannelClosed", channel["id"]) in events, events


def test_server_offers_a_data_channel_line_and_opens_a_channel(server):
    """generateOffer on a useDataChannels endpoint carries the data m-line;
    aiortc answers (it becomes the DTLS client), the server opens a channel,
    the peer echoes on it through the loopback and both ends see it close."""
    from aiortc import RTCSessionDescription
    from media import trickle_from_server

    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        w = create_endpoint(kurento, p)
        kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
        offer = kurento.result("invoke", {"object": w, "operation": "generateOffer"})["value"]
        import re
        assert re.search(r"m=application \d+ UDP/DTLS/SCTP webrtc-datachannel", offer) and "a=sctp-port:5000" in offer, offer
        pc = peer_connection()
        channels = []
        pc.on("datachannel", channels.append)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        kurento.result("invoke", {"object": w, "operation": "processAnswer", "operationParams": {"answer": pc.localDescription.sdp}})
        await trickle_from_server(kurento, w, pc)
        # Asked for before DTLS is up: it opens once the association starts.
        r = invoke(kurento, w, "createDataChannel", label="from-offer")
        assert "result" in r, r
        assert await wait_for(lambda: len(channels) == 1 and channels[0].readyState == "open", 15), channels
        c = channels[0]
        assert c.label == "from-offer" and c.id % 2 == 1  # aiortc answered active: the server is the DTLS server
        got = []
        c.on("message", got.append)
        c.send("round trip")
        assert await wait_for(lambda: got == ["round trip"], 10), got
        c.close()
        event = await asyncio.to_thread(kurento.wait_event, "DataChannelClosed", 10, w)
        assert event["params"]["value"]["data"]["channelId"] == c.id
        await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(asyncio.wait_for(run(), 60))


def test_data_channel_endpoints_leave_nothing_behind():
    """30 cycles of an endpoint with data channels: negotiated, a channel
    opened both ways and used, released. Objects, fds and threads come back
    (usrsctp's own threads start once and stay)."""
    import os
    server = Server()
    try:
        async def cycle(kurento):
            p = kurento.result("create", {"type": "MediaPipeline"})["value"]
            w = create_endpoint(kurento, p)
            kurento.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
            pc = peer_connection()
            chat = pc.createDataChannel("chat")
            got = []
            chat.on("message", got.append)
            await negotiate(kurento, w, pc)
            assert await wait_for(lambda: chat.readyState == "open", 10)
            assert "result" in invoke(kurento, w, "createDataChannel", label="server")
            chat.send("ping")
            assert await wait_for(lambda: got == ["ping"], 10), got
            await pc.close()
            kurento.result("release", {"object": p})

        async def run():
            kurento = Client(server.url)
            await cycle(kurento)  # warm-up: usrsctp's threads, pools
            pid = server.proc.pid
            fds, threads = len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))
            for _ in range(30):
                await cycle(kurento)
            assert await wait_for(lambda: server.health()["objects"] == 0, 10), server.health()
            await asyncio.sleep(1)
            fds_after, threads_after = len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))
            print("fds", fds, "->", fds_after, "threads", threads, "->", threads_after)
            assert fds_after <= fds + 2 and threads_after <= threads, (fds, fds_after, threads, threads_after)
            kurento.close()
        asyncio.run(run())
    finally:
        server.stop()


def test_two_chromium_peers_and_aiortc_talk_through_the_server(server, tmp_path):
    """Messages both ways between two Chromium participants (each its own
    browser, its own endpoint, the endpoints connected to each other for
    DATA), and both ways between aiortc and Chromium."""
    import os
    import threading
    from test_chromium import CHROME, run_page
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    kurento = Client(server.url)
    p = kurento.result("create", {"type": "MediaPipeline"})["value"]
    ws = f"ws://127.0.0.1:{server.port}/kurento"

    def link(x, y):
        for a, b in ((x, y), (y, x)):
            kurento.result("invoke", {"object": a, "operation": "connect", "operationParams": {"sink": b, "mediaType": "DATA"}})

    # Two Chromium browsers.
    a, b = create_endpoint(kurento, p), create_endpoint(kurento, p)
    link(a, b)
    results = {}

    def page(name, endpoint):
        os.makedirs(tmp_path / name, exist_ok=True)
        results[name] = run_page("datachannel-peer.html", f"ws={ws}&endpoint={endpoint}&name={name}&seconds=6", tmp_path / name)
    threads = [threading.Thread(target=page, args=(n, e)) for n, e in (("ann", a), ("ben", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print("chromium to chromium:", results)
    for me, other in (("ann", "ben"), ("ben", "ann")):
        r = results[me]
        assert r and "error" not in r and r["opened"] == "open", results
        heard = [m for m in r["received"] if m.startswith(other + " ")]
        # In order, none missing from the first one heard (the other side may have opened later).
        assert len(heard) >= 5, results
        numbers = [int(m.split()[1]) for m in heard]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), results

    # aiortc and Chromium.
    c, d = create_endpoint(kurento, p), create_endpoint(kurento, p)
    link(c, d)

    async def run():
        pc = peer_connection()
        chat = pc.createDataChannel("chat")
        got = []
        chat.on("message", got.append)
        await negotiate(kurento, d, pc)
        page_result = asyncio.ensure_future(asyncio.to_thread(
            run_page, "datachannel-peer.html", f"ws={ws}&endpoint={c}&name=cara&seconds=6", tmp_path / "cara"))
        assert await wait_for(lambda: chat.readyState == "open", 15)
        sent = 0
        while not page_result.done():
            chat.send(f"dan {sent}")
            sent += 1
            await asyncio.sleep(0.5)
        r = await page_result
        print("chromium and aiortc:", r, "aiortc got", got)
        assert r and "error" not in r and r["opened"] == "open", r
        assert len([m for m in r["received"] if m.startswith("dan ")]) >= 5, r
        assert len([m for m in got if m.startswith("cara ")]) >= 5, got
        await pc.close()
    os.makedirs(tmp_path / "cara", exist_ok=True)
    asyncio.run(run())
    kurento.result("release", {"object": p})
    kurento.close()
