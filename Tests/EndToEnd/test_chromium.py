"""Chromium headless (Debian's build) runs the Kurento WebRTC loopback with
its own RTCPeerConnection (libwebrtc): fake camera of one colour, fake
microphone of one tone; the page reports what it decoded back."""
import functools
import http.server
import json
import os
import re
import subprocess
import threading
import time


CHROME = "/usr/lib/chromium/chromium"
WEB = os.path.join(os.path.dirname(__file__), "web")
# Debian's /usr/bin/chromium wrapper adds flags that make Chromium reach
# Google's servers; the real binary with these flags stays on loopback.
FLAGS = [
    "--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-pings",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--metrics-recording-only",
    "--disable-breakpad", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-features=WebRtcHideLocalIpsWithMdns", "--enable-logging=stderr", "--v=0",
]


def make_inputs(folder, rgb, hz):
    video = os.path.join(folder, "colour.y4m")
    audio = os.path.join(folder, "tone.wav")
    colour = "0x%02x%02x%02x" % rgb
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s=320x240:r=30", "-t", "2",
                    "-pix_fmt", "yuv420p", video], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={hz}:sample_rate=48000",
                    "-t", "5", "-ac", "1", "-c:a", "pcm_s16le", audio], check=True)
    return video, audio


def open_page(url, tmp_path, video, audio, latest, extra_flags=()):
    """Opens `url` (a page the server under test serves) in headless Chromium
    with `video` and `audio` as the fake camera and microphone. Each console
    line "RESULT {...}" the page prints updates `latest`. Returns the process:
    kill it when done."""
    proc = subprocess.Popen(
        [CHROME, *FLAGS, *extra_flags, f"--user-data-dir={tmp_path}/profile", f"--use-file-for-fake-video-capture={video}",
         f"--use-file-for-fake-audio-capture={audio}", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")

    def read():
        for line in proc.stderr:
            m = re.search(r'"RESULT (\{.*\})"', line)
            if m:
                latest.update(json.loads(m.group(1).encode().decode("unicode_escape")))
    threading.Thread(target=read, daemon=True).start()
    return proc


def serve_folder(directory=WEB):
    """Serves `directory` over HTTP on a loopback port (a thread); returns (server, port).
    Call `server.shutdown()` when done."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def run_page(page, query, tmp_path, extra_flags=(), timeout=60):
    """Serves web/ on loopback, opens `page?query` in headless Chromium and
    returns the JSON of the page's console line "RESULT {...}" (None if none
    came within `timeout` seconds)."""
    httpd, port = serve_folder()
    url = f"http://127.0.0.1:{port}/{page}?{query}"
    proc = subprocess.Popen([CHROME, *FLAGS, f"--user-data-dir={tmp_path}/profile", *extra_flags, url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
    deadline = time.time() + timeout
    try:
        for line in proc.stderr:
            m = re.search(r'"RESULT (\{.*\})"', line)
            if m:
                return json.loads(m.group(1).encode().decode("unicode_escape"))
            if time.time() > deadline:
                return None
    finally:
        proc.kill()
        proc.wait()
        httpd.shutdown()
    return None


def test_chromium_loopback(server, tmp_path):
    assert os.path.exists(CHROME), "chromium is installed by `make test` (apt package chromium)"
    video, audio = make_inputs(str(tmp_path), (30, 60, 220), 440)
    result = run_page("loopback.html", f"ws=ws://127.0.0.1:{server.port}/kurento", tmp_path,
                      [f"--use-file-for-fake-video-capture={video}", f"--use-file-for-fake-audio-capture={audio}"])
    assert result is not None, "the page reported nothing"
    assert "error" not in result, result
    print("chromium:", result)
    assert result["ice"] in ("connected", "completed"), result
    assert result["framesDecoded"] > 60, result
    assert all(abs(a - b) <= 40 for a, b in zip(result["colour"], (30, 60, 220))), result
    assert abs(result["toneHz"] - 440) < 15, result
    # transport-cc is negotiated and the server sent Chromium transport-wide feedback
    # (~every 100 ms over ~7 s of media) while media kept flowing both ways.
    assert result["transportCC"], result
    assert result["transportFeedbackSent"] > 30, result
