"""Who may talk to `deepvis web`: Jupyter's answer to "any web page can drive a local server".

Every request needs the random token printed at start: in the URL once (``/?token=...``, which sets
an HttpOnly, SameSite=Strict cookie and redirects to ``/``), then the cookie, or an
``Authorization: token ...`` header for scripts. Without it: 401. The Host header must name an
address the server was started for (loopback names, ``--host``, ``--allow-host``), so a
DNS-rebinding page (evil.example resolving to 127.0.0.1) is refused (403) even before the token
is checked; only the host name is compared, not the port, so an SSH tunnel on another local port
(``ssh -L 9000:localhost:8000``) still works. A request that changes something (POST) must come from
the page itself: its Origin (or, without one, its Referer) must be this server (403 otherwise,
against cross-site request forgery). Only GET, HEAD and POST are answered.

A pure ASGI middleware (no request objects, no threads), so it also guards the streaming route.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
METHODS = frozenset({"GET", "HEAD", "POST"})


def host_name(host_header: str) -> str | None:
    """The host name of a Host header ("localhost:8000" -> "localhost", "[::1]:80" -> "::1"), or None
    when it is not one."""
    try:
        parts = urlsplit("//" + host_header)
        _ = parts.port   # raises on a port that is not a number
    except ValueError:
        return None
    return parts.hostname or None


def allowed_host_names(bound_host: str, extra: Collection[str] = ()) -> frozenset[str]:
    """The names a browser may use for this server: loopback, the address it listens on (unless a
    wildcard), and the ``--allow-host`` names."""
    names = set(LOOPBACK_NAMES) | {name.strip().lower() for name in extra if name.strip()}
    if bound_host not in WILDCARD_HOSTS:
        names.add(bound_host.strip("[]").lower())
    return frozenset(names)


def cookie_name(port: int) -> str:
    """One cookie per port: cookies ignore ports, so two servers on one host must not share a name."""
    return f"deepvis-token-{port}"


class Guard:
    """Refuse every request without the token, with a foreign Host, or (POST) from another origin."""

    def __init__(self, app: ASGIApp, token: str, hosts: Collection[str], port: int):
        self.app, self._token, self._hosts, self._cookie = app, token.encode(), frozenset(hosts), cookie_name(port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get("host", "")
        if host_name(host) not in self._hosts:
            return await _refuse(send, 403, "this server is not reached by that name (Host header refused)")
        if scope["method"] not in METHODS:
            return await _refuse(send, 405, "method not allowed")
        if scope["method"] == "POST" and not _same_origin(headers, host):
            return await _refuse(send, 403, "cross-origin request refused")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        url_token = query.get("token", [""])[0]
        if url_token and self._valid(url_token):
            if scope["path"] == "/" and scope["method"] == "GET":
                return await self._set_cookie_and_redirect(send)
            return await self.app(scope, receive, send)
        if self._valid(_cookie(headers.get("cookie", ""), self._cookie)) or self._valid(
                headers.get("authorization", "").removeprefix("token ").strip()):
            return await self.app(scope, receive, send)
        await _refuse(send, 401, "open the address with ?token= that deepvis web printed when it started")

    def _valid(self, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self._token)

    async def _set_cookie_and_redirect(self, send: Send) -> None:
        cookie = f"{self._cookie}={self._token.decode()}; HttpOnly; SameSite=Strict; Path=/"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", b"/"), (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def _same_origin(headers: dict[str, str], host: str) -> bool:
    """The request came from a page of this server: Origin is http://HOST, or (no Origin) Referer is below it."""
    origin = headers.get("origin")
    if origin is not None:
        return origin == f"http://{host}"
    return headers.get("referer", "").startswith(f"http://{host}/")


def _cookie(header: str, name: str) -> str:
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(header)
    except CookieError:   # junk in the header: no cookie
        return ""
    morsel = cookies.get(name)
    return morsel.value if morsel is not None else ""


async def _refuse(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
