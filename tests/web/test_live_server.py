"""The real `deepvis web` server on a socket: refusals as an attacker meets them, bounded viewers,
clients that come and go without leaving threads or noise behind, half-sent requests closed."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest

from tests.helpers.web_server import read_all, read_until, thread_count

pytestmark = pytest.mark.slow
DEADLINE_S = 20.0


def _auth(live) -> str:
    return f"Authorization: token {live.token}"


def _open_stream(live, read_part: bool = True) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    sock.sendall(f"GET /stream HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n{_auth(live)}\r\n\r\n".encode())
    if read_part:
        head = read_until(sock, b"\xff\xd8")   # the response head and the start of the first JPEG
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return sock


def _wait(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_refusals_on_the_real_socket(live):
    host = f"Host: 127.0.0.1:{live.port}"
    assert live.request(f"GET /state HTTP/1.1\r\n{host}")[0] == 401
    assert live.request(f"GET /frame.jpg?token=nope HTTP/1.1\r\n{host}")[0] == 401
    assert live.request(f"GET /state HTTP/1.1\r\nHost: attacker.example:{live.port}\r\n{_auth(live)}")[0] == 403
    layer = live.session.state.layer_idx
    body = b"k=l"
    for origin in ("http://attacker.example", f"http://127.0.0.1:{live.port + 1}"):
        status = live.request(f"POST /key HTTP/1.1\r\n{host}\r\n{_auth(live)}\r\nOrigin: {origin}\r\n"
                              f"Content-Length: {len(body)}", body)[0]
        assert status == 403
    assert live.request(f"GET /key?k=l HTTP/1.1\r\n{host}\r\n{_auth(live)}")[0] in (404, 405)
    assert live.session.state.layer_idx == layer
    status, headers, body = live.request(f"GET /state HTTP/1.1\r\n{host}\r\n{_auth(live)}")
    assert status == 200 and headers["content-type"] == "application/json"


def test_the_ninth_viewer_is_turned_away(live):
    streams = [_open_stream(live) for _ in range(8)]
    try:
        status, _headers, body = live.request(f"GET /stream HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n{_auth(live)}")
        assert status == 503 and b"too many viewers" in body
    finally:
        for sock in streams:
            sock.close()
    _wait(lambda: _viewers(live) == 0, "the viewers to leave")


def test_fifty_clients_come_and_go_leaving_no_thread_and_no_noise(live, caplog):
    _open_stream(live).close()                 # the first viewer: anything made once is made now
    _wait(lambda: _viewers(live) == 0, "the first viewer to leave")
    baseline, python_baseline = thread_count(), threading.active_count()
    caplog.set_level(logging.INFO)
    for wave in range(7):                      # 50 viewers, at most 8 at a time; some leave mid-request
        count = 8 if wave < 6 else 2
        socks = [_open_stream(live, read_part=index % 4 != 3) for index in range(count)]
        assert threading.active_count() <= python_baseline and thread_count() <= baseline   # no thread a viewer
        for sock in socks:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
            sock.close()
    _wait(lambda: _viewers(live) == 0, "every viewer to leave")
    _wait(lambda: thread_count() <= baseline, f"threads back to {baseline}")
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not noisy, [r.getMessage() for r in noisy]
    status, _headers, body = live.request(f"GET /frame.jpg HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n{_auth(live)}")
    assert status == 200 and body[:2] == b"\xff\xd8"      # still serving


def test_a_half_sent_request_is_closed_by_the_server(live, monkeypatch):
    import deepvis_app.web.runner as runner

    monkeypatch.setattr(runner, "HEAD_TIMEOUT_S", 0.5)
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(f"GET /state HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n".encode())   # no blank line
        start = time.monotonic()
        assert read_all(sock, timeout=8.0) == b""                    # closed, nothing answered
        assert time.monotonic() - start < 8.0
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:   # says nothing at all
        assert read_all(sock, timeout=8.0) == b""


def _viewers(live) -> int:
    """Stream clients the server counts (the page's /state says)."""
    status, _headers, body = live.request(f"GET /state HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n{_auth(live)}")
    assert status == 200
    return int(json.loads(body)["viewers"])
