"""`deepvis web`: the window composed without Qt, served as frames and an MJPEG stream, keys sent back."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from deepvis_app.cli.web_command import BOUNDARY, WebApp, serve
from deepvis_app.cli.web_frame import compose, layout
from deepvis_app.core.session import Session
from deepvis_app.io.sources import InputManager

SIZE = (900, 600)


@pytest.fixture
def served(tiny_loaded):
    loaded = tiny_loaded
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"))
    app = WebApp(session, SIZE, loaded.settings.window_background)
    server, stop = serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    session.start()
    app.latest(0, timeout=60)
    yield app, f"http://127.0.0.1:{server.server_address[1]}"
    stop.set()
    server.shutdown()
    server.server_close()
    session.stop()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_compose_places_every_pane_image_at_its_rect(tiny_loaded):
    loaded = tiny_loaded
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"), sync=True)
    rects = layout(*SIZE, None)
    session.set_pane_sizes({name: (r.w, r.h) for name, r in rects.items() if name != "control"})
    session.start()
    session.process_pending()
    result = session.latest_result()
    frame = compose(result, SIZE, loaded.settings.window_background)
    assert frame.shape == (SIZE[1], SIZE[0], 3) and "input" in result.images and "layers" in result.images
    for name, image in result.images.items():
        rect = rects[name]
        np.testing.assert_array_equal(frame[rect.y:rect.y + image.shape[0], rect.x:rect.x + image.shape[1]],
                                      image[:rect.h, :rect.w])
    session.stop()


def test_frame_key_status_and_stream(served):
    app, base = served
    status, body = _get(base + "/frame.jpg")
    picture = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    expected = compose(app.session.latest_result(), SIZE, app.session.settings.window_background)
    assert status == 200 and picture.shape == expected.shape
    assert np.abs(picture.astype(int) - expected).mean() < 4   # JPEG

    layer = app.session.state.layer_idx
    assert _get(base + "/key?k=ArrowRight")[0] == 204              # the browser's name for Right
    _wait(lambda: app.session.state.layer_idx == layer + 1)
    _wait(lambda: json.loads(_get(base + "/status")[1])["status"].startswith("fwd  1:0"))
    code, text = _get(base + "/key?k=%C2%A7")
    assert code == 404 and b"no action is bound" in text

    with urllib.request.urlopen(base + "/stream", timeout=30) as stream:
        assert stream.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        head = stream.read(200)
        assert head.startswith(f"--{BOUNDARY}\r\nContent-Type: image/jpeg".encode()) and b"\xff\xd8" in head
    assert b"<img src=\"/stream\"" in _get(base + "/")[1]


def test_a_port_in_use_is_one_clear_error(served):
    from deepvis_app.cli.common import UserError

    app, base = served
    with pytest.raises(UserError, match="cannot listen on 127.0.0.1:"):
        serve(app, "127.0.0.1", int(base.rsplit(":", 1)[1]))
