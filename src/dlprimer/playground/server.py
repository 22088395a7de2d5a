"""The playground's local web server (the standard library's ThreadingHTTPServer): the page,
its JSON API and a stream of Server-Sent Events.

Every request must carry the server's random token, as the ``token`` query parameter or
the ``X-Playground-Token`` header: without one it is refused with 401, with a wrong one
with 403. Bound to a loopback address, the server also refuses a ``Host`` other than that
address (a web page elsewhere cannot reach it through DNS rebinding). Uploads are refused
above ``max_upload`` bytes (413) before they are read.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from dlprimer.playground.api import Playground

__all__ = ["MAX_UPLOAD", "PlaygroundServer", "serve"]

MAX_UPLOAD = 20 * 1024 * 1024  # bytes of a CSV upload
MAX_JSON = 1024 * 1024
EVENTS_EVERY = 0.1  # seconds between two events of a stream at least
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# NOTE: no inline script or style anywhere: a page that cannot run injected code
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def static(name: str) -> bytes | None:
    """A file of the page (shipped inside the package), or None."""
    folder = resources.files("dlprimer.playground").joinpath("static")
    if "/" in name or name.startswith(".") or not name:
        return None
    item = folder.joinpath(name)
    return item.read_bytes() if item.is_file() else None


class PlaygroundServer(ThreadingHTTPServer):
    """The server of one ``Playground``; ``url`` is the page's address with the token."""

    daemon_threads = True

    def __init__(self, playground: Playground, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, max_upload: int = MAX_UPLOAD):
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), Handler)
        self.playground, self.max_upload = playground, max_upload
        self.token = token or secrets.token_urlsafe(24)
        self.closing = threading.Event()
        self.thread: threading.Thread | None = None
        self.host = host
        try:
            self.loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            self.loopback = host == "localhost"

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def allowed_hosts(self) -> set[str]:
        port = self.port
        return {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                f"{self.host}:{port}", f"[{self.host}]:{port}"}

    def start(self) -> PlaygroundServer:
        """Serve in a background thread (for tests and notebooks); returns self."""
        self.thread = threading.Thread(target=self.serve_forever, args=(0.1,),
                                       name="dlprimer-playground", daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        """Stop serving, end the event streams and the run, remove the uploads."""
        self.closing.set()
        self.playground.touch()  # wakes the event streams, which then see ``closing``
        if self.thread is not None:
            self.shutdown()
            self.thread.join(5)
        self.server_close()
        self.playground.close()


def serve(playground: Playground | None = None, host: str = "127.0.0.1", port: int = 0,
          token: str | None = None, max_upload: int = MAX_UPLOAD) -> PlaygroundServer:
    """A server for ``playground`` (a new one on the circle toy by default), bound and
    ready; call ``serve_forever()`` or ``start()`` on it, and ``close()`` at the end."""
    return PlaygroundServer(playground or Playground(), host, port, token, max_upload)


class Handler(BaseHTTPRequestHandler):
    server_version = "dlprimer-playground"
    timeout = 60

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # a quiet terminal: the URL is the only line that matters

    def do_GET(self):  # noqa: N802 - the base class's names
        self.answer("GET")

    def do_POST(self):  # noqa: N802
        self.answer("POST")

    def do_PUT(self):  # noqa: N802
        self.answer("PUT")

    def do_DELETE(self):  # noqa: N802
        self.answer("DELETE")

    # ------------------------------------------------------------------ dispatch
    def answer(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            self.check_access()
            route = ROUTES.get(url.path) or (
                ("GET", Handler.asset) if url.path.startswith("/static/") else None)
            if route is None:
                raise HTTPError(404, f"no such page or API route: {url.path}")
            allowed, fn = route
            if method != allowed:
                raise HTTPError(405, f"{url.path} takes {allowed}, not {method}")
            fn(self, url.path)
        except HTTPError as err:
            self.send_json(err.status, {"error": str(err)})
        except ValueError as err:  # what the page asked for cannot be done: it says why
            self.send_json(400, {"error": str(err)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # a bug: said in the answer, with the traceback on stderr
            traceback.print_exc(file=sys.stderr)
            self.send_json(500, {"error": f"unexpected {type(err).__name__}: {err}"})

    def check_access(self) -> None:
        server = self.server
        if server.loopback and self.headers.get("Host", "") not in server.allowed_hosts():
            raise HTTPError(403, "this server answers requests for its own loopback address "
                                 "only")
        given = self.query.get("token") or self.headers.get("X-Playground-Token")
        if not given:
            raise HTTPError(401, "the playground needs its token: open the URL it printed "
                                 "(…/?token=…), or send the token parameter or header")
        if not hmac.compare_digest(given.encode(), server.token.encode()):
            raise HTTPError(403, "wrong token: open the URL the playground printed")

    # ------------------------------------------------------------------ answers
    def send_bytes(self, status: int, body: bytes, content_type: str,
                   filename: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", POLICY)
        if filename:
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, value) -> None:
        body = json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
        self.send_bytes(status, body, "application/json; charset=utf-8")

    def body(self, limit: int) -> bytes:
        """The request's body, refused (413) above ``limit`` bytes before it is read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HTTPError(411, "send the body with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise HTTPError(400, "Content-Length must be a number of bytes") from None
        if length < 0:
            raise HTTPError(400, "Content-Length must be a number of bytes")
        if length > limit:
            if length <= 4 * limit:  # read it away, so that the client sees the answer
                self.rfile.read(length)
            else:
                self.close_connection = True
            raise HTTPError(413, f"the upload is {length} bytes; the playground takes at "
                                 f"most {limit} bytes (start it with a smaller file, or "
                                 "use `dlprimer fit` for large tables)")
        return self.rfile.read(length) if length else b""

    def json_body(self) -> dict:
        raw = self.body(MAX_JSON)
        if not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise HTTPError(400, f"the body must be JSON: {err}") from None
        if not isinstance(value, dict):
            raise HTTPError(400, "the body must be a JSON object")
        return value

    # ------------------------------------------------------------------ routes
    def page(self, path: str) -> None:
        html = static("index.html").decode("utf-8").replace("__TOKEN__", self.server.token)
        self.send_bytes(200, html.encode("utf-8"), TYPES[".html"])

    def asset(self, path: str) -> None:
        name = path[len("/static/"):]
        body = static(name)
        suffix = name[name.rfind("."):] if "." in name else ""
        if body is None or suffix not in TYPES:
            raise HTTPError(404, f"no such file: {path}")
        self.send_bytes(200, body, TYPES[suffix])

    def state(self, path: str) -> None:
        self.send_json(200, self.server.playground.state())

    def pictures(self, path: str) -> None:
        with_points = self.query.get("points") in ("1", "true")
        self.send_json(200, self.server.playground.pictures(with_points))

    def events(self, path: str) -> None:
        server, playground = self.server, self.server.playground
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        version = -1
        while not server.closing.is_set():
            new = playground.wait(version, 15.0)
            if server.closing.is_set():
                break
            if new == version:
                self.wfile.write(b": still here\n\n")
            else:
                version = new
                data = json.dumps(playground.snapshot(), allow_nan=False, ensure_ascii=False,
                                  separators=(",", ":"))
                self.wfile.write(f"event: snapshot\ndata: {data}\n\n".encode())
            self.wfile.flush()
            time.sleep(EVENTS_EVERY)

    def explain(self, path: str) -> None:
        q, playground = self.query, self.server.playground
        if "row" in q:
            self.send_json(200, playground.explain(q["row"]))
            return
        try:
            u, v = float(q["u"]), float(q["v"])
        except (KeyError, ValueError):
            raise HTTPError(400, "give row=i (a data row) or u=…&v=… (a point of the "
                                 "plane)") from None
        self.send_json(200, playground.explain_at(u, v))

    def export_model(self, path: str) -> None:
        playground = self.server.playground
        body = playground.export_model()
        name = f"playground-{playground.data.name.rsplit('.', 1)[0]}.safetensors"
        self.send_bytes(200, body, "application/octet-stream", _filename(name))

    def export_code(self, path: str) -> None:
        exported = self.server.playground.export_code()
        kind = self.query.get("format", "json")
        if kind == "py":
            self.send_bytes(200, exported["python"].encode(), "text/x-python; charset=utf-8",
                            "playground_run.py")
        elif kind == "sh":
            self.send_bytes(200, (exported["command"] + "\n").encode(),
                            "text/plain; charset=utf-8")
        else:
            self.send_json(200, exported)

    def export_data(self, path: str) -> None:
        name, body = self.server.playground.export_data()
        self.send_bytes(200, body, "text/csv; charset=utf-8", _filename(name))

    def button(self, path: str) -> None:
        playground = self.server.playground
        action = path.rsplit("/", 1)[1]
        if action == "step":
            epochs = self.json_body().get("epochs", self.query.get("epochs", 1))
            self.send_json(200, playground.step(epochs))
            return
        self.body(MAX_JSON)
        self.send_json(200, {"play": playground.play, "pause": playground.pause,
                             "reset": playground.reset}[action]())

    def config(self, path: str) -> None:
        self.send_json(200, self.server.playground.configure(self.json_body()))

    def data(self, path: str) -> None:
        playground = self.server.playground
        if self.headers.get("Content-Type", "").startswith("application/json"):
            self.send_json(200, playground.load(self.json_body()))
            return
        body = self.body(self.server.max_upload)
        if not body:
            raise HTTPError(400, "the upload is empty: send a CSV file with a header row")
        self.send_json(200, playground.upload(body, self.query.get("name"),
                                              self.query.get("target")))


def _filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


ROUTES = {
    "/": ("GET", Handler.page),
    "/index.html": ("GET", Handler.page),
    "/api/state": ("GET", Handler.state),
    "/api/pictures": ("GET", Handler.pictures),
    "/api/events": ("GET", Handler.events),
    "/api/explain": ("GET", Handler.explain),
    "/api/export/model": ("GET", Handler.export_model),
    "/api/export/code": ("GET", Handler.export_code),
    "/api/export/data": ("GET", Handler.export_data),
    "/api/play": ("POST", Handler.button),
    "/api/pause": ("POST", Handler.button),
    "/api/step": ("POST", Handler.button),
    "/api/reset": ("POST", Handler.button),
    "/api/config": ("POST", Handler.config),
    "/api/data": ("POST", Handler.data),
}
