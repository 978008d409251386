"""The routes of `deepvis web` (Starlette): the page, its picture stream, its text, keys and clicks.

``GET /`` the page (`page.PAGE`); ``GET /stream`` the picture as an MJPEG stream
(``multipart/x-mixed-replace``, what the arikpoz fork's Flask UI served; at most `FrameHub.max_viewers`
at once, then 503); ``GET /frame.jpg`` one picture; ``GET /state`` what the page shows as text, as
JSON (layer list, status line, message, text over panes with the panes' rects, help); ``POST /key``
(form fields ``k``: the browser's `KeyboardEvent.key`, ``shift``) runs the bound action as the
window's key press does (204; 404 when nothing is bound); ``POST /click`` (``x``, ``y`` in picture
pixels, or ``layer``) selects a unit or a layer as the window's mouse does. `guard.Guard` wraps it
all. Streams are async generators on uvicorn's one event loop: a client costs no thread, and a client
that goes away ends its generator quietly (Starlette cancels it on the disconnect).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from deepvis_app.core.app.window_layout import pane_at
from deepvis_app.keymap import browser_key_string
from deepvis_app.web.frame import FrameHub
from deepvis_app.web.page import page_html

BOUNDARY = "deepvis-frame"
MAX_FPS = 15.0
MAX_FORM_BYTES = 2048
BODY_TIMEOUT_S = 5.0
NO_STORE = {"Cache-Control": "no-store"}
# The page: its own inline script and style only, talking to this server only, never inside another site's frame.
PAGE_HEADERS = {**NO_STORE, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                           "img-src 'self'; connect-src 'self'; frame-ancestors 'none'"}


@dataclasses.dataclass
class WebState:
    """What the routes share: the session, its pictures, and what `q` does (stop the server)."""

    session: Any
    hub: FrameHub
    on_quit: Callable[[], None] = lambda: None
    closing: threading.Event = dataclasses.field(default_factory=threading.Event)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        self.closing.set()


def build_app(web: WebState) -> Starlette:
    async def index(_request: Request) -> Response:
        return HTMLResponse(page_html(web.hub.size), headers=PAGE_HEADERS)

    async def frame(_request: Request) -> Response:
        return Response(web.hub.refresh()[1], media_type="image/jpeg", headers=NO_STORE)

    async def state(_request: Request) -> Response:
        return JSONResponse(state_json(web), headers=NO_STORE)

    async def stream(_request: Request) -> Response:
        if not web.hub.join():
            return PlainTextResponse(f"too many viewers (at most {web.hub.max_viewers})", status_code=503)
        return StreamingResponse(_frames(web), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                                 headers=NO_STORE)

    async def key(request: Request) -> Response:
        form = await read_form(request)
        if form is None:
            return PlainTextResponse("expected a short form body (k=KEY)", status_code=400)
        name = browser_key_string(form.get("k", ""), shift=form.get("shift", "") not in ("", "0", "false"))
        if name is None or not web.session.handle_key(name):
            return PlainTextResponse(f"no action is bound to {form.get('k', '')!r}", status_code=404)
        if web.session.should_quit:
            web.close()
            web.on_quit()
        return Response(status_code=204)

    async def click(request: Request) -> Response:
        form = await read_form(request)
        if form is None:
            return PlainTextResponse("expected a short form body (x=..&y=.. or layer=..)", status_code=400)
        try:
            if "layer" in form:
                layer = int(form["layer"])
                if not 0 <= layer < len(web.session.info.layers):
                    raise ValueError(layer)
                web.session.select_layer(layer)
                return Response(status_code=204)
            x, y = float(form["x"]), float(form["y"])
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError((x, y))
        except (KeyError, ValueError):
            return PlainTextResponse("expected x and y (picture pixels) or layer (an index)", status_code=400)
        hit = pane_at(web.hub.layout(), x, y)
        if hit is not None and hit[0] != "control":
            web.session.click(*hit)
        return Response(status_code=204)

    routes = [Route("/", index), Route("/frame.jpg", frame), Route("/state", state), Route("/stream", stream),
              Route("/key", key, methods=["POST"]), Route("/click", click, methods=["POST"])]
    return Starlette(routes=routes)


async def _frames(web: WebState) -> AsyncIterator[bytes]:
    """One viewer's MJPEG parts: each new picture once, at most `MAX_FPS` a second, until it leaves."""
    shown = -1
    part_head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode()
    try:
        yield part_head
        number, jpeg = web.hub.refresh()    # encoded here when nobody watched before
        while not web.closing.is_set():
            if number != shown:
                # Each picture is followed by the next part's head at once: Chrome shows a part only when
                # the next one begins, and a still image has no next picture.
                yield jpeg + b"\r\n" + part_head
                shown = number
            await asyncio.sleep(1.0 / MAX_FPS)
            number, jpeg = web.hub.latest_encoded()
    finally:
        web.hub.leave()


async def read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded body's fields (first value each), or None when it is too long or too slow."""
    body = b""
    with anyio.move_on_after(BODY_TIMEOUT_S) as deadline:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
    if deadline.cancelled_caught:
        return None
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def state_json(web: WebState) -> dict[str, Any]:
    """What the page shows as text, from the latest result."""
    result = web.session.latest_result()
    if result is None:
        return {"ready": False, "status": "loading the model's first result...", "quit": web.session.should_quit,
                "viewers": web.hub.viewers}
    rects = web.hub.layout()
    return {
        "ready": True,
        "viewers": web.hub.viewers,
        "generation": result.generation,
        "quit": web.session.should_quit,
        "status": result.status,
        "message": result.message,
        "error": result.error,
        "layers": [{"name": e.name, "pretty": e.pretty, "selected": e.selected, "origin": e.back_origin}
                   for e in result.layers],
        "on_layer_list": result.cursor_on_layer_list,
        "text": [{"pane": pane, "rect": dataclasses.astuple(rects[pane]),
                  "lines": [[line, float(value)] for line, value in lines]}
                 for pane, lines in result.text.items() if pane in rects],
        "help": [list(row) for row in result.help_lines] if result.help_lines else None,
    }
