"""Start `deepvis web`: bind the socket, make the token, print the address, serve with uvicorn.

The token (``secrets.token_urlsafe``) is new at every start and is printed as the first line on
stdout, ``http://127.0.0.1:PORT/?token=TOKEN`` (Jupyter's way: whoever can read the terminal may
drive the app, nobody else). uvicorn runs one event loop in this thread with bounded time for
everything a client may hold open: `HeadTimeoutProtocol` closes a connection that has not sent a
whole request head within `HEAD_TIMEOUT_S` (uvicorn only times out idle keep-alive connections),
keep-alive ends after `KEEP_ALIVE_S`, and past `MAX_CONNECTIONS` uvicorn answers 503.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TextIO

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from deepvis_app.errors import DeepvisError
from deepvis_app.web.frame import FrameHub
from deepvis_app.web.guard import WILDCARD_HOSTS, Guard, allowed_host_names
from deepvis_app.web.server import WebState, build_app

log = logging.getLogger("deepvis.web")
HEAD_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 64
MAX_VIEWERS = 8


class ListenError(DeepvisError):
    """The address cannot be listened on (in use, not this machine's)."""


@dataclass(frozen=True)
class WebOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    size: tuple[int, int] = (1500, 930)
    allow_hosts: Collection[str] = ()
    background: tuple[float, float, float] = (0.2, 0.2, 0.2)
    stack_vertical: bool = True


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, which also closes a connection that sends no whole request head in time
    (a fresh one, or a kept-alive one between requests)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timeout()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timeout()

    def _arm_head_timeout(self) -> None:
        self.loop.call_later(HEAD_TIMEOUT_S, self._head_timeout)

    def _head_timeout(self) -> None:
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); `ListenError` in one line when that fails."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(session: Any, options: WebOptions, out: TextIO) -> int:
    """Serve ``session`` (not yet started) until Ctrl+C or the page's `q`; print the address first."""
    try:
        sock = listen(options.host, options.port)
    except ListenError:
        session.stop()
        raise
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    hub = FrameHub(session, options.size, options.background, options.stack_vertical, MAX_VIEWERS)
    hub.send_pane_sizes()
    session.set_on_result(hub.on_result)
    web = WebState(session, hub)
    app = Guard(build_app(web), token, allowed_host_names(options.host, options.allow_hosts), port)
    config = uvicorn.Config(app, http=HeadTimeoutProtocol, ws="none", lifespan="off", log_config=None,
                            access_log=False, timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=MAX_CONNECTIONS,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)

    def quit_server() -> None:
        server.should_exit = True

    web.on_quit = quit_server
    shown_host = "127.0.0.1" if options.host in WILDCARD_HOSTS else options.host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    print(f"http://{shown_host}:{port}/?token={token}", file=out, flush=True)
    print("deepvis web: open the address above in a browser (Ctrl+C or q on the page stops)", file=out, flush=True)
    if options.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach port %d and has the token drives the app", options.host,
                    port)
    session.start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:   # uvicorn stopped on Ctrl+C, then raised it again: the usual way to stop a server
        pass
    finally:
        web.close()
        session.stop()
        sock.close()
    return 0
