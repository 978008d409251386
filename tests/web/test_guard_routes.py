"""`deepvis web`'s routes behind its guard, through Starlette's TestClient (no socket): the token and
its cookie, the Host and Origin checks, keys only by POST, clicks mapped as the window maps them, and
no picture encoded while nobody asks for one."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from deepvis_app.core.app.session import Session  # noqa: E402
from deepvis_app.core.app.window_layout import pane_rects  # noqa: E402
from deepvis_app.io.sources import InputManager  # noqa: E402
from deepvis_app.web.frame import CONTROL_H, FrameHub  # noqa: E402
from deepvis_app.web.guard import Guard, allowed_host_names  # noqa: E402
from deepvis_app.web.server import WebState, build_app  # noqa: E402

TOKEN = "test-token-0123456789abcdefghijklmnopqrstuvw"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
SIZE = (640, 400)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def web(tiny_loaded):
    loaded = tiny_loaded
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"), sync=True)
    hub = FrameHub(session, SIZE, loaded.settings.window_background)
    hub.send_pane_sizes()
    session.set_on_result(hub.on_result)
    quits: list[bool] = []
    state = WebState(session, hub, on_quit=lambda: quits.append(True))
    state.quits = quits
    session.start()
    yield state
    session.stop()


def client(web, host: str = "127.0.0.1") -> TestClient:
    app = Guard(build_app(web), TOKEN, allowed_host_names(host), PORT)
    return TestClient(app, base_url=BASE, follow_redirects=False)


def authorized(web) -> TestClient:
    c = client(web)
    assert c.get("/", params={"token": TOKEN}).status_code == 303   # sets the cookie
    return c


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("GET", "/state"), ("GET", "/frame.jpg"),
                                              ("GET", "/stream"), ("POST", "/key"), ("POST", "/click")])
def test_every_route_refuses_a_request_without_the_token(web, method, path):
    c = client(web)
    web.hub.max_viewers = 0      # a stream let through would be refused (503), never hang the test
    layer = web.session.state.layer_idx
    for token in (None, "wrong-" + TOKEN):
        params = {"token": token} if token else None
        answer = c.request(method, path, params=params, data={"k": "l"} if method == "POST" else None,
                           headers={"Origin": BASE} if method == "POST" else None)
        assert answer.status_code == 401, (path, token)
        assert "token" in answer.text
    assert web.session.state.layer_idx == layer and web.hub.viewers == 0


def test_the_token_in_the_address_becomes_a_strict_httponly_cookie(web):
    c = client(web)
    answer = c.get("/", params={"token": TOKEN})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"deepvis-token-{PORT}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = c.get("/")
    assert page.status_code == 200 and 'id="frame"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]   # no other site may frame it
    assert c.get("/state").json()["ready"] is True
    assert client(web).get("/state", headers={"Authorization": f"token {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example:8765", "evil.example", "127.0.0.1.nip.io:8765", "",
                                  "localhost:notaport"])
def test_a_foreign_host_header_is_refused_even_with_the_token(web, host):
    answer = client(web).get("/state", params={"token": TOKEN}, headers={"Host": host})
    assert answer.status_code == 403


@pytest.mark.parametrize("host", ["localhost:9000", "[::1]:8765", "127.0.0.1"])
def test_loopback_names_on_any_port_are_answered(web, host):   # e.g. ssh -L 9000:localhost:8765
    answer = client(web).get("/state", params={"token": TOKEN}, headers={"Host": host})
    assert answer.status_code == 200


def test_the_listen_address_and_allowed_names_are_answered():
    names = allowed_host_names("10.1.2.3", ["gpu-box.example"])
    assert {"10.1.2.3", "gpu-box.example", "localhost", "127.0.0.1", "::1"} <= names
    assert "evil.example" not in names and "0.0.0.0" not in allowed_host_names("0.0.0.0")


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": f"http://127.0.0.1:{PORT + 1}"},
                                     {"Referer": "http://evil.example/page"}, {}])
def test_a_key_from_another_origin_is_refused(web, headers):
    c = authorized(web)
    layer = web.session.state.layer_idx
    answer = c.post("/key", data={"k": "ArrowRight"}, headers=headers)
    assert answer.status_code == 403
    assert web.session.state.layer_idx == layer


def test_keys_are_posted_only(web):
    c = authorized(web)
    layer = web.session.state.layer_idx
    assert c.get("/key", params={"k": "l"}).status_code in (404, 405)
    assert web.session.state.layer_idx == layer
    assert c.post("/key", data={"k": "l"}, headers={"Referer": f"{BASE}/"}).status_code == 204
    assert web.session.state.layer_idx == layer + 1


def test_browser_key_names_reach_the_keymap(web):
    c = authorized(web)
    post = lambda **fields: c.post("/key", data=fields, headers={"Origin": BASE}).status_code  # noqa: E731
    assert post(k="ArrowRight") == 204 and web.session.state.layer_idx == 1
    assert post(k="ArrowDown") == 204 and web.session.state.in_grid
    assert post(k="ArrowRight", shift="1") == 204                       # Shift+Right: several units at once
    fast = web.session.state.selected_unit
    assert fast > 1
    assert post(k="ArrowLeft") == 204 and web.session.state.selected_unit == fast - 1
    assert post(k="§") == 404 and post(k="Shift") == 404
    assert post(k="h") == 204 and c.get("/state").json()["help"][0][1] == "Toggle this help screen"
    assert not web.quits
    assert post(k="q") == 204 and web.session.should_quit and web.quits == [True] and web.closing.is_set()


def test_a_click_on_a_tile_selects_that_unit_as_in_the_window(web):
    c = authorized(web)
    c.post("/key", data={"k": "ArrowRight"}, headers={"Origin": BASE})      # layer 1: 8 units
    result = web.session.latest_result()
    # Where the picture puts the unit grid: the window's arrangement, from the core, for this size.
    grid = pane_rects(*SIZE, lambda _w: CONTROL_H, result.hidden_panes)["layers"]
    left, top, width, height = result.tile_rects[5]
    x, y = grid.x + left + width / 2, grid.y + top + height / 2
    assert c.post("/click", data={"x": x, "y": y}, headers={"Origin": BASE}).status_code == 204
    assert web.session.state.selected_unit == 5 and web.session.state.in_grid
    assert c.post("/click", data={"layer": "0"}, headers={"Origin": BASE}).status_code == 204
    assert web.session.state.layer_idx == 0
    for bad in ({"x": "nan", "y": "1"}, {"x": "1"}, {"layer": "99"}, {"layer": "x"}, {"x": "1" * 3000, "y": "1"}):
        assert c.post("/click", data=bad, headers={"Origin": BASE}).status_code == 400, bad


def test_no_picture_is_encoded_until_a_client_asks(web):
    c = authorized(web)
    for key in ("ArrowRight", "ArrowRight", "b"):
        c.post("/key", data={"k": key}, headers={"Origin": BASE})
        assert c.get("/state").status_code == 200
    assert web.session.latest_result().generation >= 4
    assert web.hub.encodes == 0
    picture = c.get("/frame.jpg")
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    assert web.hub.encodes == 1
    c.get("/frame.jpg")
    assert web.hub.encodes == 1          # the same result is not encoded twice


def test_state_shows_the_text_the_window_draws(web):
    c = authorized(web)
    state = c.get("/state").json()
    result = web.session.latest_result()
    assert state["status"] == result.status and state["status"]
    assert [layer["pretty"] for layer in state["layers"]] == [e.pretty for e in result.layers]
    assert {pane["pane"] for pane in state["text"]} == set(result.text)
    assert state["help"] is None


def test_panes_are_sized_again_when_the_view_hides_or_shows_one(web):
    c = authorized(web)

    def grid_fits() -> bool:
        result = web.session.latest_result()
        rect = web.hub.layout()["layers"]
        return result.images["layers"].shape[:2] == (rect.h, rect.w)

    assert grid_fits()
    widths = {web.hub.layout()["layers"].w}
    for _ in range(2):                                    # 9: the per-unit images pane off, then on again
        assert c.post("/key", data={"k": "9"}, headers={"Origin": BASE}).status_code == 204
        assert grid_fits()
        widths.add(web.hub.layout()["layers"].w)
    assert len(widths) == 2                               # the grid's width did change with the right column
