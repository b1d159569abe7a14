"""Resources: many create/release cycles leave nothing behind and memory stays flat;
bad input on one socket does not disturb another."""
import json
import os
import socket
import subprocess

from conftest import BIN, REPO, Client

# Set by `make test-e2e-asan`: the server under test is an AddressSanitizer build.
SANITIZED = bool(os.environ.get("TESSERA_SANITIZED"))


def cycles(c, n):
    for _ in range(n):
        pid = c.result("create", {"type": "MediaPipeline"})["value"]
        c.result("release", {"object": pid})


def test_thousand_create_release_cycles(server):
    c = Client(server.url)
    cycles(c, 300)  # warm up allocator pools and caches
    rss_before = server.rss_kib()
    cycles(c, 1000)
    rss_after = server.rss_kib()
    assert server.health()["objects"] == 0
    assert c.result("invoke", {"object": "manager_ServerManager", "operation": "getPipelines"})["value"] == []
    metrics = server.metrics()
    assert 'tessera_objects{type="MediaPipeline"} 0' in metrics
    # Flat memory: the request cache holds 20 s of responses (2,000 here, well under 1 KiB
    # each); anything beyond a few MiB would be a leak of objects or sessions.
    growth = rss_after - rss_before
    print(f"RSS before {rss_before} KiB, after 1000 cycles {rss_after} KiB, growth {growth} KiB")
    # Under AddressSanitizer freed memory waits in its quarantine (256 MB): RSS says nothing there.
    if not SANITIZED:
        assert growth < 8 * 1024, f"RSS grew by {growth} KiB over 1000 cycles"
    c.close()


def test_garbage_on_one_socket_does_not_disturb_another(server):
    good = Client(server.url)
    pid = good.result("create", {"type": "MediaPipeline"})["value"]
    bad = Client(server.url)
    for junk in ["", "null", "{}", "[]", "\x00\x01\x02", '{"jsonrpc":"2.0","id":[1],"method":"ping"}',
                 "{" * 10000, '{"jsonrpc":"2.0","id":1,"method":"invoke","params":{"object":{}}}',
                 '"just a string"', json.dumps({"jsonrpc": "2.0", "id": 2, "method": "create", "params": {"type": "A" * 100000}})]:
        bad.send_raw(junk)
        r = bad.recv()
        assert "error" in r and "result" not in r, (junk[:40], r)
    bad.ws.send_binary(b"\xff\xfe not json")
    assert "error" in bad.recv()
    assert bad.result("ping")["value"] == "pong"
    assert good.result("invoke", {"object": pid, "operation": "getId"})["value"] == pid
    # a peer that vanishes without a close frame
    raw = socket.create_connection(("127.0.0.1", server.port))
    raw.sendall(b"GET /kurento HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    raw.recv(1024)
    raw.close()
    assert good.result("ping")["value"] == "pong"
    good.result("release", {"object": pid})
    good.close()
    bad.close()


def test_bad_config_file_exits_2_naming_the_key(tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text('{"server": {"port": "eighty"}}')
    p = subprocess.run([BIN, "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "server.port" in lines[0]
    p = subprocess.run([BIN, "--config", str(cfg.with_name("missing.json"))], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    env = dict(os.environ, TESSERA_GRACE_PERIOD="soon")
    p = subprocess.run([BIN, "--config", os.path.join(REPO, "Config", "tessera.json")], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "sessions.gracePeriodSeconds" in p.stderr


def test_help_lists_flags():
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    for flag in ["--config", "--port", "--ice-host-address", "--recording-dir", "--grace-period", "--log-area"]:
        assert flag in p.stdout


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_webrtc_endpoints_release_their_sockets_and_memory(server):
    """200 WebRtcEndpoints that negotiate and gather (each opens a UDP socket)
    are released; file descriptors and threads come back, memory stays flat."""
    import asyncio
    from media import peer_connection

    async def offer_sdp():
        pc = peer_connection()
        pc.addTransceiver("audio")
        pc.addTransceiver("video")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    offer = asyncio.run(offer_sdp())
    c = Client(server.url)

    def cycle(n):
        for _ in range(n):
            p = c.result("create", {"type": "MediaPipeline"})["value"]
            w = c.result("create", {"type": "WebRtcEndpoint", "constructorParams": {"mediaPipeline": p}})["value"]
            c.result("invoke", {"object": w, "operation": "connect", "operationParams": {"sink": w}})
            c.result("invoke", {"object": w, "operation": "processOffer", "operationParams": {"offer": offer}})
            c.result("invoke", {"object": w, "operation": "gatherCandidates"})
            c.result("release", {"object": p})

    cycle(50)
    import time
    time.sleep(0.5)
    fds, rss = fd_count(server.proc.pid), server.rss_kib()
    threads = len(os.listdir(f"/proc/{server.proc.pid}/task"))
    cycle(200)
    time.sleep(0.5)
    fds_after, rss_after = fd_count(server.proc.pid), server.rss_kib()
    threads_after = len(os.listdir(f"/proc/{server.proc.pid}/task"))
    print(f"fds {fds} -> {fds_after}, threads {threads} -> {threads_after}, RSS {rss} -> {rss_after} KiB")
    assert fds_after <= fds + 2
    assert threads_after <= threads + 1
    if not SANITIZED:  # see test_thousand_create_release_cycles
        assert rss_after - rss < 16 * 1024
    assert server.health()["objects"] == 0
    c.close()


def test_recordings_release_their_pipelines(server):
    """Each finished recording frees its GStreamer pipeline: file descriptors
    come back after every one (the pipeline's bus holds a socket pair, so a
    pipeline kept alive by a leaked bus message showed as two fds each)."""
    import time
    c = Client(server.url)

    def record(i):
        p = c.result("create", {"type": "MediaPipeline"})["value"]
        composite = c.result("create", {"type": "Composite", "constructorParams": {"mediaPipeline": p}})["value"]
        port = c.result("create", {"type": "HubPort", "constructorParams": {"hub": composite}})["value"]
        path = os.path.join(server.tmp.name, f"cycle-{i}.webm")
        rec = c.result("create", {"type": "RecorderEndpoint",
                                  "constructorParams": {"mediaPipeline": p, "uri": "file://" + path}})["value"]
        c.result("invoke", {"object": port, "operation": "connect", "operationParams": {"sink": rec}})
        c.result("invoke", {"object": rec, "operation": "record"})
        time.sleep(1.2)  # the composite's grid reaches the recorder and the file starts
        c.result("invoke", {"object": rec, "operation": "stopAndWait"})
        c.result("release", {"object": p})
        assert os.path.getsize(path) > 0

    record(0)
    time.sleep(0.5)
    fds = fd_count(server.proc.pid)
    for i in range(1, 6):
        record(i)
    time.sleep(0.5)
    fds_after = fd_count(server.proc.pid)
    print(f"fds {fds} -> {fds_after} after 5 recordings")
    assert fds_after <= fds + 1, (fds, fds_after)
    assert server.health()["objects"] == 0
    c.close()
