"""Cancellation and progress for slow methods (occlusion, SmoothGrad, integrated gradients).

A slow method takes a `Progress` and, once per batch, calls `progress.step(key, work)`: the step
first checks the cancel token (raising the internal `Cancelled` when set), then runs ``work()``
unless the same step of the same job already ran (its result is remembered, so a job abandoned
for a key press that did not change it resumes where it stopped instead of starting over), and
then offers the caller a partial map through `report`. `cancel_points` adds a check before
every module's forward while a slow method runs, so a new request abandons the running one
within one layer rather than one batch. The compute thread turns `report`s into intermediate
results (rate-limited); `NO_PROGRESS` makes the same code run straight through (tests).

The command line shows the same reports as a bar: `terminal_bar` is a tqdm bar on stderr with the
elapsed time and the ETA, shown only on a terminal and only once a job has run for `BAR_DELAY`
seconds (quick jobs and redirected output stay quiet), and `BarProgress` moves one with a method's
reports. `forward_ticks` counts a module's forward calls, for jobs that make no reports themselves.
Torch-free except for `cancel_points`/`forward_ticks`, which only register hooks on the given module.
"""

from __future__ import annotations

import sys
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


BAR_DELAY = 2.0      # seconds a command-line job runs before its bar shows
BAR_INTERVAL = 0.1   # seconds between redraws at most


def terminal_bar(desc: str, total: float | None = None, unit: str = "it", *, quiet: bool = False,
                 delay: float | None = None) -> Any:
    """A tqdm bar on stderr ("desc: 40%|####  | 4/10 [00:03<00:04]": elapsed < ETA). It stays off when
    ``quiet`` or when stderr is not a terminal, and shows only after ``delay`` seconds."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=True if quiet else None,
                dynamic_ncols=True, delay=BAR_DELAY if delay is None else delay, mininterval=BAR_INTERVAL,
                leave=False)


class BarProgress(Progress):
    """A `Progress` for the command line: every report moves ``bar`` (total 100) to the fraction done;
    with ``steps`` (for a job that makes no reports) every step moves it by 100 / steps instead.
    Steps are not memoized (a command runs each job once; a randomization check runs the same steps
    on other weights) and no partial map is built."""

    def __init__(self, bar: Any, steps: int | None = None) -> None:
        super().__init__(report=self._move)
        self.bar = bar
        self.steps = steps
        self.steps_done = 0

    def remember(self, key: Hashable, work: Work[T]) -> T:
        self.check()
        result = work()
        self.steps_done += 1
        if self.steps:
            self._set(min(1.0, self.steps_done / self.steps))
        return result

    def _move(self, fraction: float, _make_partial: Work[Any]) -> None:
        if not self.steps:
            self._set(fraction)

    def _set(self, fraction: float) -> None:
        self.bar.update(round(100.0 * fraction, 1) - self.bar.n)


@contextmanager
def method_bar(desc: str, *, steps: int | None = None, quiet: bool = False) -> Iterator[BarProgress]:
    """A `BarProgress` over a bar of 100 percent named ``desc`` (closed on leaving)."""
    with terminal_bar(desc, total=100, unit="%", quiet=quiet) as bar:
        yield BarProgress(bar, steps)


@contextmanager
def forward_ticks(module: Any, tick: Callable[[], Any]) -> Iterator[None]:
    """While active, ``tick()`` runs after each forward call of ``module`` itself (not its children)."""
    def hook(*_: Any) -> None:   # returns None: a forward hook's return value would replace the output
        tick()

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
