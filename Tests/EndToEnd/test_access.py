"""Who may open the WebSockets: /kurento from allowed networks only and with the
secret when one is set; browsers only from allowed origins (HTTP 401/403 at the upgrade)."""
import http.client
import os
import socket
import subprocess
import urllib.parse

import pytest
import websocket

from conftest import BIN, REPO, Server


def own_address():
    """The machine's first non-loopback IPv4 address (traffic to it stays on this host)."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    for a in out:
        try:
            socket.inet_aton(a)
        except OSError:
            continue
        if not a.startswith("127."):
            return a
    return None


def status_of(url, **kw):
    """101 when the WebSocket opens (and answers a ping), else the HTTP status of
    the refusal, with its body read by a plain HTTP request of the same upgrade."""
    try:
        ws = websocket.create_connection(url, timeout=5, **kw)
    except websocket.WebSocketBadStatusException as e:
        return e.status_code, refusal_body(url, kw)
    ws.send('{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}')
    assert "pong" in ws.recv()
    ws.close()
    return 101, ""


def refusal_body(url, kw):
    parsed = urllib.parse.urlparse(url)
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    if "origin" in kw:
        headers["Origin"] = kw["origin"]
    for h in kw.get("header", []):
        name, value = h.split(": ", 1)
        headers[name] = value
    c = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
    c.request("GET", parsed.path + ("?" + parsed.query if parsed.query else ""), headers=headers)
    body = c.getresponse().read().decode()
    c.close()
    return body


def test_kurento_is_refused_from_a_network_that_is_not_allowed():
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = Server(env_overrides={"TESSERA_ADDRESS": "0.0.0.0"})
    try:
        assert status_of(f"ws://127.0.0.1:{server.port}/kurento")[0] == 101
        status, body = status_of(f"ws://{address}:{server.port}/kurento")
        assert status == 403 and "kurentoAllow" in body, (status, body)
        # The room WebSocket is for browsers anywhere (tokens guard it).
        assert status_of(f"ws://{address}:{server.port}/room")[0] == 101
        assert "refused a WebSocket upgrade" in server.log_text()
    finally:
        server.stop()
    # Allowed explicitly, the same address connects.
    server = Server(env_overrides={"TESSERA_ADDRESS": "0.0.0.0", "TESSERA_KURENTO_ALLOW": f"127.0.0.0/8,{address}/32"})
    try:
        assert status_of(f"ws://{address}:{server.port}/kurento")[0] == 101
    finally:
        server.stop()


def test_kurento_needs_the_secret_when_one_is_set():
    server = Server(env_overrides={"TESSERA_KURENTO_SECRET": "open sesame"})
    try:
        url = f"ws://127.0.0.1:{server.port}/kurento"
        assert status_of(url)[0] == 401
        assert status_of(url, header=["Authorization: Bearer wrong"])[0] == 401
        assert status_of(url, header=["Authorization: Bearer open sesame"])[0] == 101
        assert status_of(url + "?secret=open%20sesame")[0] == 101
        assert status_of(url + "?secret=open")[0] == 401
        # The room WebSocket does not take the Kurento secret.
        assert status_of(f"ws://127.0.0.1:{server.port}/room")[0] == 101
    finally:
        server.stop()


def test_browsers_connect_only_from_allowed_origins():
    server = Server(env_overrides={"TESSERA_ALLOWED_ORIGINS": "https://meet.example.org"})
    try:
        for path in ("room", "kurento"):
            url = f"ws://127.0.0.1:{server.port}/{path}"
            status, body = status_of(url, origin="https://evil.example")
            assert status == 403 and "evil.example" in body, (path, status, body)
            assert status_of(url, origin="https://meet.example.org")[0] == 101
            assert status_of(url, origin=f"http://127.0.0.1:{server.port}")[0] == 101  # its own
            assert status_of(url, origin="http://localhost:3000")[0] == 101  # loopback
    finally:
        server.stop()


def test_a_bad_network_in_the_config_stops_the_server_with_one_line():
    env = dict(os.environ, TESSERA_KURENTO_ALLOW="10.0.0.0/33")
    r = subprocess.run([BIN, "--config", os.path.join(REPO, "Config", "tessera.json")], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "server.kurentoAllow" in r.stderr and "10.0.0.0/33" in r.stderr, r.stderr
