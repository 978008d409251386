"""The compute thread: a latest-wins mailbox that runs one request at a time and never dies.

`post(request)` replaces the pending request (requests are never queued) and cancels the one
running, through its `CancelToken` (slow methods check it between layers and batches and give
up; fast work finishes). `invalidate()` says the input of the last request changed (a new frame,
unit images loaded): the last request runs again, without cancelling the running one unless
asked (a new video frame must not abandon an occlusion map half done, or it would never finish).
The thread sleeps on a condition until one of these or `stop()` happens: no polling.

`add_lane` adds a thread that shares the mailbox: it takes a request only while every lane before
it computes and its ``admits(request)`` says yes, so the first lane does all the work it can (its
caches stay warm) and a second one runs the next video frame beside it (`core.app.pipeline`: frames
in flight). Each lane has its own compute function and token; a post or a cancelling invalidation
cancels them all.

Whatever a request raises becomes the error result ``on_error(request, exc)``, logged with its
traceback, and the next request runs; a cancelled request delivers nothing (a newer one is
already waiting).

``inline=True`` runs the very same code in the caller's thread, as a resolved future would:
`post` computes before it returns (a post made while computing, from a result callback, runs
right after), and `invalidate` only marks the last request for `run_pending`, since it may come
from another thread (frames arriving during an inline compute never start another one by
themselves). Tests and screenshots use it; the window cannot tell the difference. Inline, there
is one lane.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from deepvis_app.core.base.progress import Cancelled, CancelToken

JOIN_TIMEOUT_S = 10.0

Req = TypeVar("Req")
Res = TypeVar("Res")

log = logging.getLogger("deepvis.worker")


@dataclass(eq=False)
class _Lane(Generic[Req, Res]):
    """One thread of a worker: how it computes, which requests it takes, its running request's token."""

    compute: Callable[[Req, CancelToken], Res]
    name: str
    admits: Callable[[Req], bool] = lambda _request: True
    on_start: Callable[[], None] | None = None   # run once in the thread, before its first request
    thread: threading.Thread | None = None
    computing: bool = False
    token: CancelToken = field(default_factory=CancelToken)


class Worker(Generic[Req, Res]):
    """Runs ``compute(request, token)`` for the latest request and hands each result to ``deliver``
    (see the module docstring)."""

    def __init__(self, compute: Callable[[Req, CancelToken], Res], deliver: Callable[[Res], None],
                 on_error: Callable[[Req, Exception], Res], *, inline: bool = False, name: str = "deepvis-compute",
                 on_start: Callable[[], None] | None = None):
        self._deliver, self._on_error = deliver, on_error
        self.inline = inline
        self._cond = threading.Condition()
        self._lanes: list[_Lane[Req, Res]] = [_Lane(compute, name, on_start=on_start)]
        self._pending: Req | None = None
        self._last: Req | None = None
        self._dirty = False
        self._stopping = False
        self._started = False
        self._draining = False
        self.wakeups = 0   # times a thread woke from its wait (tests: none while idle)

    # --- the callers' side ----------------------------------------------------------------------------
    def post(self, request: Req) -> None:
        """Replace the pending request (latest wins), cancel the running ones, wake the threads."""
        with self._cond:
            self._pending = request
            self._cancel_running()
            self._cond.notify_all()
        if self.inline:
            self._drain(rerun_invalidated=False)

    def invalidate(self, cancel: bool = False) -> None:
        """The last request's input changed: run it again (``cancel``: abandon the running ones)."""
        with self._cond:
            self._dirty = True
            if cancel:
                self._cancel_running()
            self._cond.notify_all()

    def start(self) -> None:
        """Start the threads (nothing to start inline)."""
        with self._cond:
            if self.inline or self._started or self._stopping:
                return
            self._started = True
            for lane in self._lanes:
                self._start_thread(lane)

    def add_lane(self, compute: Callable[[Req, CancelToken], Res], admits: Callable[[Req], bool],
                 on_start: Callable[[], None] | None = None) -> bool:
        """Another thread on the same mailbox (see the module docstring); started at once when the worker
        runs. False inline or once stopping (nothing added)."""
        with self._cond:
            if self.inline or self._stopping:
                return False
            lane: _Lane[Req, Res] = _Lane(compute, f"{self._lanes[0].name}-{len(self._lanes) + 1}", admits, on_start)
            self._lanes.append(lane)
            if self._started:
                self._start_thread(lane)
            return True

    @property
    def lanes(self) -> int:
        with self._cond:
            return len(self._lanes)

    def stop(self) -> None:
        """Cancel the running requests, end the threads and join them."""
        with self._cond:
            self._stopping = True
            self._cancel_running()
            self._cond.notify_all()
            threads = [lane.thread for lane in self._lanes if lane.thread is not None]
        for thread in threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(JOIN_TIMEOUT_S)

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
        lane = self._lanes[0]
        try:
            while (job := self._take(lane, block=False, rerun_invalidated=rerun_invalidated)) is not None:
                self._run(lane, *job)
                rerun_invalidated = False
        finally:
            with self._cond:
                self._draining = False

    @property
    def busy(self) -> bool:
        """A request is pending or being computed."""
        with self._cond:
            return self._pending is not None or any(lane.computing for lane in self._lanes)

    def is_alive(self) -> bool:
        """Whether any of the threads runs."""
        with self._cond:
            return any(lane.thread is not None and lane.thread.is_alive() for lane in self._lanes)

    # --- the threads ----------------------------------------------------------------------------------
    def _start_thread(self, lane: _Lane[Req, Res]) -> None:
        lane.thread = threading.Thread(target=self._loop, args=(lane,), name=lane.name, daemon=True)
        lane.thread.start()

    def _cancel_running(self) -> None:
        for lane in self._lanes:
            lane.token.cancel()

    def _may_take(self, lane: _Lane[Req, Res], request: Req) -> bool:
        index = self._lanes.index(lane)
        return index == 0 or (all(before.computing for before in self._lanes[:index]) and lane.admits(request))

    def _take(self, lane: _Lane[Req, Res], block: bool,
              rerun_invalidated: bool = True) -> tuple[Req, CancelToken] | None:
        with self._cond:
            while not self._stopping:
                rerun = self._last if rerun_invalidated and self._dirty else None
                request = self._pending if self._pending is not None else rerun
                if request is not None and self._may_take(lane, request):
                    self._last, self._pending = request, None
                    self._dirty = False
                    lane.token = CancelToken()
                    lane.computing = True
                    return request, lane.token
                if not block:
                    return None
                self._cond.wait()
                self.wakeups += 1
        return None

    def _loop(self, lane: _Lane[Req, Res]) -> None:
        if lane.on_start is not None:
            try:
                lane.on_start()
            except Exception:  # a failed preparation must not end the thread
                log.exception("starting %s failed", lane.name)
        while (job := self._take(lane, block=True)) is not None:
            self._run(lane, *job)

    def _run(self, lane: _Lane[Req, Res], request: Req, token: CancelToken) -> None:
        # Busy until the result is delivered, so that a next stage it is handed to is busy before this is not.
        try:
            result = lane.compute(request, token)
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
                lane.computing = False

    def _safe_error(self, request: Req, exc: Exception) -> Res | None:
        try:
            return self._on_error(request, exc)
        except Exception:
            log.exception("building the error result failed")
            return None
