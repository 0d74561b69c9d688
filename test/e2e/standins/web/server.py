"""Web stand-in: serves a meeting page for room paths and /config.js on port 8000.

Every response carries the header "X-Jitsi-Standin: web" and every body the
marker "jitsi-e2e-standin:web", so a test can tell that a request reached this
container through the proxy. The page also shows the Host and
X-Forwarded-Proto headers that the proxy sent.
"""
import html
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = 8000
MARKER = "jitsi-e2e-standin:web"
# Room names as jitsi-meet accepts them in the first path segment.
ROOM_PATH = re.compile(r"^/[A-Za-z0-9_.~%-]*$")


def config_script() -> str:
    """Returns /config.js, built from the container environment like the web image's."""
    xmpp_domain = os.environ["XMPP_DOMAIN"]
    public_url = os.environ["PUBLIC_URL"].rstrip("/")
    config = {
        "hosts": {
            "domain": xmpp_domain,
            "muc": os.environ["XMPP_MUC_DOMAIN"],
        },
        "bosh": f"{public_url}/http-bind",
    }
    if os.environ.get("ENABLE_XMPP_WEBSOCKET") == "1":
        config["websocket"] = public_url.replace("https://", "wss://", 1) + "/xmpp-websocket"
    return f"// {MARKER}\nvar config = {json.dumps(config, indent=4)};\n"


def room_page(path: str, host: str, forwarded_proto: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        f"<html><head><meta name=\"jitsi-e2e-standin\" content=\"web\"><title>{html.escape(path)}</title></head>\n"
        f"<body><p>{MARKER}</p>\n"
        f"<p id=\"host\">{html.escape(host)}</p>\n"
        f"<p id=\"forwarded-proto\">{html.escape(forwarded_proto)}</p></body></html>\n"
    )


class Handler(BaseHTTPRequestHandler):
    server_version = "jitsi-web-standin"

    def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        path = self.path.split("?", 1)[0]
        if path == "/config.js":
            self.send_body(200, "application/javascript; charset=utf-8", config_script())
        elif ROOM_PATH.match(path):
            page = room_page(path, self.headers.get("Host", ""), self.headers.get("X-Forwarded-Proto", ""))
            self.send_body(200, "text/html; charset=utf-8", page)
        else:
            self.send_body(404, "text/plain; charset=utf-8", f"{MARKER}: not found: {path}\n")

    def send_body(self, status: int, content_type: str, text: str) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Jitsi-Standin", "web")
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    for name in ("XMPP_DOMAIN", "XMPP_MUC_DOMAIN", "PUBLIC_URL"):
        if not os.environ.get(name):
            sys.exit(f"web stand-in: error: {name} is missing from the environment")
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print(f"web stand-in: listening on port {PORT}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
