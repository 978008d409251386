"""The compute thread's mailbox: errors become results, newer requests cancel the running one, idle
means asleep, and the inline mode runs the same code in the caller's thread (issues 8 §5, 9)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from deepvis_app.core.app.worker import Worker
from deepvis_app.core.base.progress import Cancelled, CancelToken

DEADLINE_S = 30.0


class Delivered:
    def __init__(self):
        self.items: list = []
        self.cond = threading.Condition()

    def __call__(self, item) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, count: int) -> list:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= count, DEADLINE_S), self.items
            return list(self.items)


def error_result(request, exc: Exception) -> str:
    return f"error {request}: {exc}"


@pytest.fixture
def make_worker():
    made: list[Worker] = []

    def make(compute, deliver, inline: bool = False) -> Worker:
        worker = Worker(compute, deliver, error_result, inline=inline)
        made.append(worker)
        worker.start()
        return worker

    yield make
    for worker in made:
        worker.stop()
        assert not worker.is_alive()


def test_an_exception_becomes_an_error_result_is_logged_and_the_next_request_runs(make_worker, caplog):
    def compute(request: str, token: CancelToken) -> str:
        if request == "bad":
            raise RuntimeError("boom")
        return f"ok {request}"
    delivered = Delivered()
    worker = make_worker(compute, delivered)
    with caplog.at_level(logging.ERROR, logger="deepvis.worker"):
        worker.post("bad")
        delivered.wait_for(1)
        worker.post("good")
        assert delivered.wait_for(2) == ["error bad: boom", "ok good"]
    logged = [r for r in caplog.records if r.name == "deepvis.worker" and r.exc_info]
    assert logged and "boom" in str(logged[0].exc_info[1])
    assert worker.is_alive()


def test_a_newer_request_cancels_the_running_one_which_is_never_delivered(make_worker):
    started, observed = threading.Event(), []

    def compute(request: str, token: CancelToken) -> str:
        if request == "slow":
            started.set()
            try:
                for _ in range(100_000):   # a slow method's batches, each a cancellation point
                    token.check()
                    time.sleep(0.001)
            except Cancelled:
                observed.append("cancelled")
                raise
        return request
    delivered = Delivered()
    worker = make_worker(compute, delivered)
    worker.post("slow")
    assert started.wait(DEADLINE_S)
    worker.post("key")
    assert delivered.wait_for(1) == ["key"]
    assert observed == ["cancelled"]
    time.sleep(0.05)
    assert delivered.items == ["key"]


def test_an_idle_worker_sleeps_until_something_happens(make_worker):
    computed: list = []
    delivered = Delivered()
    worker = make_worker(lambda request, token: computed.append(request) or request, delivered)
    worker.post(1)
    delivered.wait_for(1)
    time.sleep(0.05)
    asleep = worker.wakeups
    time.sleep(0.3)
    assert worker.wakeups == asleep and computed == [1]   # no wake-up while idle (a 5 ms poll: ~60)
    worker.invalidate()                                   # e.g. a new frame: the last request again
    assert delivered.wait_for(2) == [1, 1]
    assert worker.wakeups == asleep + 1


def test_inline_mode_runs_posts_made_by_a_result_callback_after_it(make_worker):
    order: list[str] = []
    worker: Worker | None = None

    def deliver(result: str) -> None:
        order.append(f"shown {result}")
        if result == "first":
            worker.post("second")        # the window re-sends its sizes from inside a result
            order.append("callback returns")
    worker = make_worker(lambda request, token: order.append(f"computed {request}") or request, deliver, inline=True)
    worker.post("first")
    assert order == ["computed first", "shown first", "callback returns", "computed second", "shown second"]
    assert not worker.is_alive() and threading.current_thread().name == "MainThread"


def test_inline_invalidations_wait_for_an_explicit_run_pending(make_worker):
    """Frames arriving while an inline compute runs must not make the caller compute forever."""
    computed: list = []
    worker: Worker | None = None

    def compute(request, token):
        computed.append(request)
        worker.invalidate()               # a video frame arrives meanwhile, every time
        return request
    worker = make_worker(compute, lambda result: None, inline=True)
    worker.post("a")
    assert computed == ["a"]
    worker.run_pending()                  # process_pending: the last request once more, not forever
    assert computed == ["a", "a"]
