"""`deepvis web`: the toolbox in a browser, for machines without a display (the arikpoz fork's web UI).

The same Qt-free `Session` the window drives runs here with its compute thread; `web_frame.compose`
turns each `Result` into one picture of the whole window, served as an MJPEG stream
(``multipart/x-mixed-replace``, what the fork's Flask `run_webui.py` served) on a page whose key
presses go back as requests: ``GET /key?k=<key>`` runs the bound action exactly as the window's key
press does. Standard library only (``http.server``); it listens on 127.0.0.1 unless ``--host``
says otherwise, since anyone who reaches the port drives the app.

Routes: ``/`` the page, ``/stream`` the MJPEG stream, ``/frame.jpg`` one frame, ``/key?k=K`` a key
(204; 404 when K is not bound), ``/status`` the status line as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import cv2
import numpy as np

from deepvis_app.cli.common import UserError, add_subcommand, model_from_args

log = logging.getLogger("deepvis.web")
BOUNDARY = "deepvis-frame"
MAX_FPS = 15.0
# KeyboardEvent.key names -> the keymap's
BROWSER_KEYS = {"ArrowLeft": "Left", "ArrowRight": "Right", "ArrowUp": "Up", "ArrowDown": "Down",
                "Escape": "Esc", "PageDown": "PgDown", "PageUp": "PgUp", " ": "Space", "Enter": "Return"}
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>deepvis</title>
<style>body{margin:0;background:#333;color:#ddd;font-family:sans-serif}img{display:block}</style></head>
<body><img src="/stream" alt="deepvis"><p>Keys as in the window (h for help). Click the picture first.</p>
<script>
document.addEventListener("keydown", e => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  e.preventDefault();
  fetch("/key?k=" + encodeURIComponent(e.key));
});
</script></body></html>"""


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "web", "the toolbox in a web browser (no display needed): an MJPEG "
                            "stream of the window, keys sent back from the page", run_web)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="PATH", help="image, folder, video, list file or sample:<name> "
                        "(default: the sample images)")
    source.add_argument("--camera", type=int, metavar="N", help="camera index to show live")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                        "machine only; anyone who can reach the port drives the app)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), help="frame size in pixels (default: the "
                        "window_size setting)")


class WebApp:
    """A started Session and the latest composed frame (JPEG), for the request handlers."""

    def __init__(self, session: Any, size: tuple[int, int], background: tuple[float, float, float],
                 stack_vertical: bool = True):
        from deepvis_app.cli.web_frame import layout

        self.session, self.size = session, size
        self._background, self._stack = background, stack_vertical
        self._cond = threading.Condition()
        self._jpeg = self._encode(None)
        self._count = 0
        rects = layout(size[0], size[1], None, stack_vertical)
        session.set_pane_sizes({name: (r.w, r.h) for name, r in rects.items() if name != "control"})
        session.set_on_result(self._on_result)

    def _encode(self, result: Any) -> bytes:
        from deepvis_app.cli.web_frame import compose

        frame = compose(result, self.size, self._background, self._stack)
        ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise RuntimeError("OpenCV could not encode the frame")
        return data.tobytes()

    def _on_result(self) -> None:   # the compute/render thread
        jpeg = self._encode(self.session.latest_result())
        with self._cond:
            self._jpeg, self._count = jpeg, self._count + 1
            self._cond.notify_all()

    def latest(self, after: int = -1, timeout: float = 5.0) -> tuple[int, bytes]:
        """(frame number, JPEG) of the first frame numbered above ``after`` (or the latest after ``timeout``)."""
        with self._cond:
            self._cond.wait_for(lambda: self._count > after, timeout)
            return self._count, self._jpeg

    def key(self, name: str) -> bool:
        return self.session.handle_key(BROWSER_KEYS.get(name, name))


def make_handler(app: WebApp, stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            if url.path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGE.encode())
            elif url.path == "/frame.jpg":
                self._send(HTTPStatus.OK, "image/jpeg", app.latest(timeout=0)[1])
            elif url.path == "/status":
                result = app.session.latest_result()
                body = {"status": result.status if result else "", "message": result.message if result else None}
                self._send(HTTPStatus.OK, "application/json", json.dumps(body).encode())
            elif url.path == "/key":
                key = parse_qs(url.query).get("k", [""])[0]
                known = bool(key) and app.key(key)
                self._send(HTTPStatus.NO_CONTENT if known else HTTPStatus.NOT_FOUND, "text/plain",
                           b"" if known else f"no action is bound to {key!r}".encode())
            elif url.path == "/stream":
                self._stream()
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")

        def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            number = -1
            try:
                while not stop.is_set():
                    number, jpeg = app.latest(number)
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}"
                                     "\r\n\r\n".encode() + jpeg + b"\r\n")
                    self.wfile.flush()
                    stop.wait(1.0 / MAX_FPS)
            except (BrokenPipeError, ConnectionResetError):   # the browser went away
                pass
    return Handler


def serve(app: WebApp, host: str, port: int) -> tuple[ThreadingHTTPServer, threading.Event]:
    """A server for ``app`` on (host, port), not yet serving; and the event that ends its streams."""
    stop = threading.Event()
    try:
        server = ThreadingHTTPServer((host, port), make_handler(app, stop))
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.daemon_threads = True
    return server, stop


def run_web(args: argparse.Namespace) -> int:
    from deepvis_app.core.session import Session
    from deepvis_app.io.playlist import InputError
    from deepvis_app.io.sources import InputManager

    loaded = model_from_args(args)
    settings = loaded.settings
    try:
        inputs = InputManager(settings, args.input, camera=args.camera)
    except InputError as exc:
        raise UserError(str(exc)) from None
    size = tuple(args.size) if args.size else tuple(settings.window_size)
    session = Session(loaded, settings, inputs)
    app = WebApp(session, (int(size[0]), int(size[1])), settings.window_background,
                 settings.unit_images_stack_vertical)
    server, stop = serve(app, args.host, args.port)
    session.start()
    host, port = server.server_address[:2]
    print(f"deepvis web: open http://{host}:{port}/ (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        session.stop()
    return 0
