"""The compute thread: a latest-wins mailbox that runs one request at a time and never dies.

`post(request)` replaces the pending request (requests are never queued) and cancels the one
running, through its `CancelToken` (slow methods check it between layers and batches and give
up; fast work finishes). `invalidate()` says the input of the last request changed (a new frame,
unit images loaded): the last request runs again, without cancelling the running one unless
asked (a new video frame must not abandon an occlusion map half done, or it would never finish).
The thread sleeps on a condition until one of these or `stop()` happens: no polling.

Whatever a request raises becomes the error result ``on_error(request, exc)``, logged with its
traceback, and the next request runs; a cancelled request delivers nothing (a newer one is
already waiting).

``inline=True`` runs the very same code in the caller's thread, as a resolved future would:
`post` computes before it returns (a post made while computing, from a result callback, runs
right after), and `invalidate` only marks the last request for `run_pending`, since it may come
from another thread (frames arriving during an inline compute never start another one by
themselves). Tests and screenshots use it; the window cannot tell the difference.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from deepvis_app.core.base.progress import Cancelled, CancelToken

JOIN_TIMEOUT_S = 10.0

Req = TypeVar("Req")
Res = TypeVar("Res")

log = logging.getLogger("deepvis.worker")


class Worker(Generic[Req, Res]):
    """Runs ``compute(request, token)`` for the latest request and hands each result to ``deliver``
    (see the module docstring)."""

    def __init__(self, compute: Callable[[Req, CancelToken], Res], deliver: Callable[[Res], None],
                 on_error: Callable[[Req, Exception], Res], *, inline: bool = False, name: str = "deepvis-compute",
                 on_start: Callable[[], None] | None = None):
        self._compute, self._deliver, self._on_error = compute, deliver, on_error
        self._on_start = on_start   # run once in the thread, before its first request (not inline)
        self.inline = inline
        self._name = name
        self._cond = threading.Condition()
        self._pending: Req | None = None
        self._last: Req | None = None
        self._dirty = False
        self._stopping = False
        self._computing = False
        self._draining = False
        self._token = CancelToken()
        self._thread: threading.Thread | None = None
        self.wakeups = 0   # times the thread woke from its wait (tests: none while idle)

    # --- the callers' side ----------------------------------------------------------------------------
    def post(self, request: Req) -> None:
        """Replace the pending request (latest wins), cancel the running one, wake the thread."""
        with self._cond:
            self._pending = request
            self._token.cancel()
            self._cond.notify()
        if self.inline:
            self._drain(rerun_invalidated=False)

    def invalidate(self, cancel: bool = False) -> None:
        """The last request's input changed: run it again (``cancel``: abandon the running one)."""
        with self._cond:
            self._dirty = True
            if cancel:
                self._token.cancel()
            self._cond.notify()

    def start(self) -> None:
        """Start the thread (nothing to start inline)."""
        with self._cond:
            if self.inline or self._thread is not None or self._stopping:
                return
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Cancel the running request, end the thread and join it."""
        with self._cond:
            self._stopping = True
            self._token.cancel()
            self._cond.notify()
        if self._thread is not None and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT_S)

    def run_pending(self) -> None:
        """Inline mode: run what is pending, or the last request again (once) when invalidated."""
        if self.inline:
            self._drain(rerun_invalidated=True)

    def _drain(self, rerun_invalidated: bool) -> None:
        # Invalidations that arrive while computing (video frames) wait for the next explicit
        # run_pending: inline, a stream of frames must not keep the caller computing forever.
        with self._cond:
            if self._draining:      # a post from inside a result callback: the outer call runs it next
                return
            self._draining = True
        try:
            while (job := self._take(block=False, rerun_invalidated=rerun_invalidated)) is not None:
                self._run(*job)
                rerun_invalidated = False
        finally:
            with self._cond:
                self._draining = False

    @property
    def busy(self) -> bool:
        """A request is pending or being computed."""
        with self._cond:
            return self._pending is not None or self._computing

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the thread -----------------------------------------------------------------------------------
    def _take(self, block: bool, rerun_invalidated: bool = True) -> tuple[Req, CancelToken] | None:
        with self._cond:
            while not self._stopping:
                rerun = self._last if rerun_invalidated and self._dirty else None
                request = self._pending if self._pending is not None else rerun
                if request is not None:
                    self._last, self._pending = request, None
                    self._dirty = False
                    self._token = CancelToken()
                    self._computing = True
                    return request, self._token
                if not block:
                    return None
                self._cond.wait()
                self.wakeups += 1
        return None

    def _loop(self) -> None:
        if self._on_start is not None:
            try:
                self._on_start()
            except Exception:  # a failed preparation must not end the thread
                log.exception("starting %s failed", self._name)
        while (job := self._take(block=True)) is not None:
            self._run(*job)

    def _run(self, request: Req, token: CancelToken) -> None:
        # Busy until the result is delivered, so that a next stage it is handed to is busy before this is not.
        try:
            result = self._compute(request, token)
        except Cancelled:
            log.debug("request superseded: %r", request)
            result = None
        except Exception as exc:  # the loop keeps running: the error becomes a result
            log.exception("compute failed")
            result = self._safe_error(request, exc)
        try:
            if result is not None:
                self._deliver(result)
        except Exception:
            log.exception("delivering a result failed")
        finally:
            with self._cond:
                self._computing = False

    def _safe_error(self, request: Req, exc: Exception) -> Res | None:
        try:
            return self._on_error(request, exc)
        except Exception:
            log.exception("building the error result failed")
            return None
