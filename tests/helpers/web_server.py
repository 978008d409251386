"""A real `deepvis web` server for the tests: uvicorn in a thread of the test process, on an ephemeral
port of 127.0.0.1 only, serving the tiny session model (its labels file may hold any Unicode).

`start_live_server` returns once the address is printed and the first result is in; `stop` presses
`q` (what a user does on the page), which stops the server, and joins its thread with a deadline.
Raw-socket helpers speak HTTP/1.1 with bounded reads, so no test can hang on a stream.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{40,})$")
DEADLINE_S = 60.0


def tiny_loaded_with_labels(labels_file: Path) -> Any:
    """The session tests' tiny classifier (10 classes) with ``labels_file`` as its class names."""
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.settings.loader import load_settings
    from tests.helpers.models import session_classifier

    settings = load_settings().settings.replace(
        builder=session_classifier, model="tiny", model_dir=None, weights=None, labels=str(labels_file),
        input_size=(32, 32), layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False,
        device="cpu")
    return load_model(settings)


class _Lines(io.TextIOBase):
    """A text sink that keeps the lines written to it (the server's stdout)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        self.lines.extend(done)
        return len(text)


@dataclass
class LiveServer:
    url: str          # the first line printed: http://127.0.0.1:PORT/?token=TOKEN
    port: int
    token: str
    session: Any
    thread: threading.Thread
    out: _Lines

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, head: str, body: bytes = b"", timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """Send one raw request (``head`` without the final blank line) and read the whole answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n" + body)
            return parse_response(read_all(sock, timeout))

    def stop(self) -> None:
        if self.thread.is_alive():
            body = b"k=q"
            self.request(f"POST /key HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nOrigin: {self.base}\r\n"
                         f"Authorization: token {self.token}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         f"Content-Length: {len(body)}", body)
        self.thread.join(DEADLINE_S)
        assert not self.thread.is_alive(), "the server did not stop after q"


def start_live_server(loaded: Any, size: tuple[int, int] = (640, 400),
                      input_spec: str = "sample:chelsea") -> LiveServer:
    from deepvis_app.core.app.session import Session
    from deepvis_app.io.sources import InputManager
    from deepvis_app.web.runner import WebOptions, serve

    session = Session(loaded, loaded.settings, InputManager(loaded.settings, input_spec))
    out = _Lines()
    options = WebOptions("127.0.0.1", 0, size, (), loaded.settings.window_background)
    thread = threading.Thread(target=serve, args=(session, options, out), name="test-deepvis-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE_S
    while not out.lines or session.latest_result() is None:
        assert thread.is_alive(), "the server thread ended"
        assert time.monotonic() < deadline, "the server printed no address / no first result in time"
        time.sleep(0.02)
    match = URL_LINE.match(out.lines[0])
    assert match, f"first line is not the address with its token: {out.lines[0]!r}"
    return LiveServer(out.lines[0], int(match.group(1)), match.group(2), session, thread, out)


def read_all(sock: socket.socket, timeout: float = 10.0, limit: int = 1 << 22) -> bytes:
    """Everything until the peer closes (at most ``limit`` bytes, at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    data = b""
    while len(data) < limit:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_until(sock: socket.socket, marker: bytes, timeout: float = 10.0, limit: int = 1 << 22) -> bytes:
    """Bytes up to and including ``marker`` (fails at the deadline or the limit)."""
    deadline = time.monotonic() + timeout
    data = b""
    while marker not in data:
        assert len(data) < limit and time.monotonic() < deadline, f"no {marker!r} in time"
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before {marker!r}: {data[:300]!r}"
        data += chunk
    return data


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def thread_count() -> int:
    """Threads of this process, as the kernel counts them (Python's and native ones)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/self/status")
