"""Cancellation and progress for slow methods (occlusion, SmoothGrad, integrated gradients).

A slow method takes a `Progress` and, once per batch, calls `progress.step(key, work)`: the step
first checks the cancel token (raising the internal `Cancelled` when set), then runs ``work()``
unless the same step of the same job already ran (its result is remembered, so a job abandoned
for a key press that did not change it resumes where it stopped instead of starting over), and
then offers the caller a partial map through `report`. `cancel_points` adds a check before
every module's forward while a slow method runs, so a new request abandons the running one
within one layer rather than one batch. The compute thread turns `report`s into intermediate
results (rate-limited); `NO_PROGRESS` makes the same code run straight through (the CLI, tests).
Torch-free except for `cancel_points`, which only registers hooks on the given module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Work(Protocol[T_co]):
    """A job callable without arguments. A Protocol rather than ``Callable[[], T]`` so that mypy accepts
    the loops' ``lambda part=part: ...`` (a loop variable bound as a default, as ruff's B023 asks)."""

    def __call__(self) -> T_co: ...


Report = Callable[[float, Work[Any]], None]


class Cancelled(Exception):
    """Internal: a newer request superseded the running one (never shown to the user)."""


class CancelToken:
    """Set by the worker's mailbox when a newer request arrives; checked by the running job."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` once the token is set (cheap: one flag read)."""
        if self._event.is_set():
            raise Cancelled()


class Progress:
    """The cancel token, the memo of finished steps and the partial-result callback of one job.

    ``report(fraction, make_partial)`` gets called after each step; ``make_partial()`` builds the
    running map (only call it when the result will be used: it costs a little).
    """

    def __init__(self, token: CancelToken | None = None, report: Report | None = None,
                 memo: dict[Hashable, Any] | None = None):
        self.token = token or CancelToken()
        self._report = report
        self.memo: dict[Hashable, Any] = {} if memo is None else memo
        self.started = time.monotonic()
        self.fraction = 0.0

    @property
    def reporting(self) -> bool:
        """Whether partial maps are wanted (False: skip building them)."""
        return self._report is not None

    def check(self) -> None:
        self.token.check()

    def remember(self, key: Hashable, work: Work[T]) -> T:
        """``work()``, or its result from an earlier, abandoned run of the same job."""
        self.check()
        if key not in self.memo:
            self.memo[key] = work()
        return self.memo[key]

    def step(self, key: Hashable, work: Work[T]) -> T:
        """One batch of the job: a cancellation point, memoized (see `remember`)."""
        return self.remember(("step", key), work)

    def report(self, fraction: float, make_partial: Work[Any]) -> None:
        """Offer the running map after ``fraction`` (0..1) of the job; a cancellation point."""
        self.fraction = fraction
        self.check()
        if self._report is not None:
            self._report(fraction, make_partial)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class _NoProgress(Progress):
    """Runs straight through: no token, no memo kept between calls, no reports."""

    def remember(self, key: Hashable, work: Work[T]) -> T:
        return work()

    def report(self, fraction: float, make_partial: Work[Any]) -> None:
        return None


NO_PROGRESS: Progress = _NoProgress()


@contextmanager
def cancel_points(module: Any, progress: Progress) -> Iterator[None]:
    """While active, every submodule's forward first checks ``progress``'s token (only in the
    thread that entered the context; other threads using the module are not affected)."""
    if progress is NO_PROGRESS:
        yield
        return
    owner = threading.get_ident()
    token = progress.token

    def check(_module: Any, _inputs: Any) -> None:
        if token.cancelled and threading.get_ident() == owner:
            raise Cancelled()

    handles = [sub.register_forward_pre_hook(check) for sub in module.modules()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
