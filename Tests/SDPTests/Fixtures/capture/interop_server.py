# Serves web/ on 127.0.0.1 and answers POST /answer with Tessera's answer (sdpgen).
import http.server, subprocess, os
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k): super().__init__(*a, directory="web", **k)
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        open("chromium-offer2.sdp", "wb").write(body)
        out = subprocess.run(["/tmp/sdpgen/sdpgen", "answer", "chromium-offer2.sdp"], capture_output=True).stdout
        self.send_response(200); self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
http.server.ThreadingHTTPServer(("127.0.0.1", 18932), H).serve_forever()
