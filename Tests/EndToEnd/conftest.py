"""Fixtures for end-to-end tests against the real `tessera` binary on loopback.

TESSERA_BIN names the binary (the Makefile passes the debug build). Each
server gets a free port and a temporary recording directory; nothing here
talks to anything but 127.0.0.1.
"""
import json
import os
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest
import websocket

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("TESSERA_BIN", os.path.join(REPO, ".build", "debug", "tessera"))
# The suite runs once per ICE mode (`make test-e2e` and `make test-e2e-full`);
# servers inherit TESSERA_ICE_MODE from the environment.
ICE_MODE = os.environ.get("TESSERA_ICE_MODE", "lite")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running tessera process."""

    def __init__(self, env_overrides=None, args=(), port=None, tls_ca=None, host="127.0.0.1", prefix=()):
        # `host` and `prefix`: a server in a network namespace (`ip netns exec NS`) on its own address.
        self.host = host
        self.port = port or free_port()
        # With TLS on, the health checks go over https, trusting this CA.
        self.tls_ca = tls_ca
        self.tmp = tempfile.TemporaryDirectory(prefix="tessera-e2e-")
        env = dict(os.environ)
        env.update({
            "TESSERA_ADDRESS": host,
            "TESSERA_PORT": str(self.port),
            "TESSERA_RECORDING_DIR": self.tmp.name,
            "TESSERA_LOG_LEVEL": "warning",
            "TESSERA_ICE_HOST_ADDRESSES": host,
            # Shared media ports chosen by the kernel: servers run side by side here.
            "TESSERA_ICE_UDP_PORT": "0",
        })
        env.update(env_overrides or {})
        self.log = open(os.path.join(self.tmp.name, "server.log"), "w")
        self.proc = subprocess.Popen(
            [*prefix, BIN, "--config", os.path.join(REPO, "Config", "tessera.json"), *args],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.tmp.name)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("tessera exited early: " + self.log_text())
            try:
                self.health()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tessera did not start: " + self.log_text())

    @property
    def url(self):
        return f"ws://{self.host}:{self.port}/kurento"

    def health(self):
        if self.tls_ca:
            context = ssl.create_default_context(cafile=self.tls_ca)
            with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/health", timeout=2, context=context) as r:
                return json.loads(r.read())
        with urllib.request.urlopen(f"http://{self.host}:{self.port}/health", timeout=2) as r:
            return json.loads(r.read())

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return r.read().decode()

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def log_text(self):
        self.log.flush()
        with open(os.path.join(self.tmp.name, "server.log")) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is not None:
            # The server died during the tests: show why.
            print(f"tessera exited with {self.proc.returncode}; log tail:\n" + self.log_text()[:6000])
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.tmp.cleanup()


class Client:
    """A raw Kurento protocol client: one WebSocket, requests by id, events kept aside."""

    def __init__(self, url, timeout=10):
        self.ws = websocket.create_connection(url, timeout=timeout)
        self.next_id = 0
        self.events = []
        self.transcript = []

    def send_raw(self, text):
        self.transcript.append(("C>", text))
        self.ws.send(text)

    def recv(self):
        text = self.ws.recv()
        self.transcript.append(("S<", text))
        return json.loads(text)

    def request(self, method, params=None, id=None):
        """Sends a request and returns the full response object; events seen meanwhile are kept."""
        if id is None:
            self.next_id += 1
            id = self.next_id
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_raw(json.dumps(msg))
        return self.wait_response(id)

    def wait_response(self, id):
        while True:
            m = self.recv()
            if m.get("method") == "onEvent":
                self.events.append(m)
                continue
            if m.get("id") == id:
                return m

    def result(self, method, params=None):
        r = self.request(method, params)
        assert "result" in r, f"{method} failed: {r}"
        return r["result"]

    def error(self, method, params=None):
        r = self.request(method, params)
        assert "error" in r, f"{method} unexpectedly succeeded: {r}"
        return r["error"]

    def wait_event(self, type_, timeout=5, object_=None, types=None):
        """Removes and returns the first event of `type_` (or any of `types`), optionally on `object_`."""
        wanted = set(types or [type_])
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                v = e["params"]["value"]
                if v["type"] in wanted and (object_ is None or v["object"] == object_):
                    return self.events.pop(i)
            self.ws.settimeout(max(0.05, deadline - time.time()))
            try:
                m = self.recv()
            except websocket.WebSocketTimeoutException:
                break
            if m.get("method") == "onEvent":
                self.events.append(m)
        raise AssertionError(f"no {sorted(wanted)} event")

    def close(self):
        self.ws.close()


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def client(server):
    c = Client(server.url)
    yield c
    c.close()
