"""jicofo and jvb stand-in: serves GET /about/health on STANDIN_REST_PORT.

The jvb stand-in (STANDIN_SERVICE=jvb) also echoes every UDP datagram that
arrives on JVB_PORT, so a test can see that the published media port reaches
the container.
"""
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE = os.environ.get("STANDIN_SERVICE", "")
REST_PORT = int(os.environ.get("STANDIN_REST_PORT", "0"))


class Handler(BaseHTTPRequestHandler):
    server_version = f"jitsi-{SERVICE}-standin"

    def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        if self.path == "/about/health":
            self.send_json(200, {"standin": SERVICE, "health": "healthy"})
        else:
            self.send_json(404, {"standin": SERVICE, "error": f"not found: {self.path}"})

    def send_json(self, status: int, value: dict) -> None:
        body = json.dumps(value).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def echo_udp(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", port))
        print(f"{SERVICE} stand-in: echoing UDP on port {port}", file=sys.stderr, flush=True)
        while True:
            data, address = sock.recvfrom(2048)
            sock.sendto(data, address)


def main() -> None:
    if SERVICE not in ("jicofo", "jvb") or REST_PORT <= 0:
        sys.exit("rest stand-in: error: STANDIN_SERVICE must be jicofo or jvb and STANDIN_REST_PORT a port number")
    if SERVICE == "jvb":
        jvb_port = os.environ.get("JVB_PORT", "")
        if not jvb_port.isdigit():
            sys.exit(f"jvb stand-in: error: JVB_PORT='{jvb_port}' is missing or not a port number")
        threading.Thread(target=echo_udp, args=(int(jvb_port),), daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", REST_PORT), Handler)
    print(f"{SERVICE} stand-in: serving /about/health on port {REST_PORT}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
