"""TLS on the listener: a CA made here signs the server's certificate; aiortc
peers meet over wss, the demo page runs in Chromium over https, and SIGHUP
swaps the certificate without dropping an open connection."""
import asyncio
import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import websocket

from conftest import Server
from media import centre_colour, colour_close, wait_for, wait_for_sync
from room_client import Participant
from test_demo_page import demo_page_meets_aiortc


def make_ca(folder):
    def run(*args):
        subprocess.run(args, check=True, capture_output=True)
    ca_key, ca_cert = f"{folder}/ca.key", f"{folder}/ca.pem"
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key,
        "-out", ca_cert, "-days", "2", "-subj", "/CN=Tessera test CA")
    return ca_key, ca_cert


def issue(folder, ca_key, ca_cert, name):
    """A server certificate for 127.0.0.1 with common name `name`, signed by the CA."""
    key, csr, cert, ext = f"{folder}/{name}.key", f"{folder}/{name}.csr", f"{folder}/{name}.pem", f"{folder}/{name}.ext"
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", csr, "-subj", f"/CN={name}"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                    "-days", "2", "-extfile", ext], check=True, capture_output=True)
    return key, cert


def spki_hash(cert):
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True, capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True, capture_output=True).stdout
    return base64.b64encode(digest).decode()


def peer_name(port, ca_cert):
    context = ssl.create_default_context(cafile=ca_cert)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return dict(x[0] for x in tls.getpeercert()["subject"])["commonName"]


def test_wss_rooms_demo_page_and_certificate_reload(tmp_path):
    folder = str(tmp_path)
    ca_key, ca_cert = make_ca(folder)
    key, cert = issue(folder, ca_key, ca_cert, "first")
    server = Server(env_overrides={"TESSERA_TLS_CERTIFICATE": cert, "TESSERA_TLS_PRIVATE_KEY": key, "TESSERA_LOG_LEVEL": "notice"},
                    tls_ca=ca_cert)
    old = os.environ.get("WEBSOCKET_CLIENT_CA_BUNDLE")
    os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = ca_cert
    try:
        base = f"127.0.0.1:{server.port}"
        assert peer_name(server.port, ca_cert) == "first"
        # Plain HTTP on the TLS port is not served.
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert not s.recv(100).startswith(b"HTTP/1.1 200")
        except OSError:
            pass

        # Kurento over wss, kept open across the reload below.
        kurento = websocket.create_connection(f"wss://{base}/kurento", timeout=5)
        kurento.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}}))
        assert "pong" in kurento.recv()

        async def rooms():
            people = [Participant(f"wss://{base}/room", n, "secure", c, hz) for n, c, hz in
                      [("alice", (220, 40, 40), 300), ("bob", (40, 200, 60), 500)]]
            for p in people:
                await p.join()
                await p.publish()
            alice, bob = people
            for me, other in ((alice, bob), (bob, alice)):
                def sees():
                    rec = me.recorder(other.name)
                    return rec is not None and rec.video_frames >= 20 and rec.last_rgb is not None
                assert await wait_for(sees, 25), f"{me.name} gets nothing from {other.name} over wss"
                assert colour_close(centre_colour(me.recorder(other.name).last_rgb), other.colour)
            for p in people:
                await p.close()
        asyncio.run(rooms())

        # The demo page over https in Chromium, which trusts the server's key for this test only.
        demo_page_meets_aiortc(f"https://{base}/demo?room=web&user=chrome&mode=sfu&report=1", f"wss://{base}/room",
                               tmp_path, extra_flags=[f"--ignore-certificate-errors-spki-list={spki_hash(cert)}"])

        # A renewed certificate, then SIGHUP: new connections get it, the open one stays.
        new_key, new_cert = issue(folder, ca_key, ca_cert, "renewed")
        os.replace(new_cert, cert)
        os.replace(new_key, key)
        server.proc.send_signal(signal.SIGHUP)
        assert wait_for_sync(lambda: peer_name(server.port, ca_cert) == "renewed", 5)
        kurento.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {}}))
        assert "pong" in kurento.recv()
        kurento.close()
        # A broken file on reload keeps the certificate in use.
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        server.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert peer_name(server.port, ca_cert) == "renewed"
        assert "could not reload the TLS certificate" in server.log_text()
    finally:
        if old is None:
            os.environ.pop("WEBSOCKET_CLIENT_CA_BUNDLE", None)
        else:
            os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = old
        server.stop()
