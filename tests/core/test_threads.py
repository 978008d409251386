"""Torch's thread count in the live view: the compute thread times the model and keeps the fastest count
(fewest threads on a tie), a pinned ``torch_threads`` wins, and every other thread runs on one thread
after `single_thread_by_default` (core.nn.threads)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import threading

import pytest
import torch

from deepvis_app.core.app.worker import Worker
from deepvis_app.core.nn.threads import (
    TORCH_DEFAULT,
    ThreadChoice,
    candidate_counts,
    choose_threads,
    fewest_fast_enough,
    time_counts,
)
from tests.helpers.waiting import wait_until


def in_thread(work):
    """``work()`` run in a fresh thread (torch keeps its thread count per thread)."""
    box: list = []
    thread = threading.Thread(target=lambda: box.append(work()))
    thread.start()
    thread.join()
    return box[0]


@pytest.mark.parametrize(("default", "expected"), [(1, [1]), (2, [1, 2]), (3, [1, 3]), (8, [1, 4, 8])])
def test_candidates_are_one_half_and_all_of_the_default(default, expected):
    assert candidate_counts(default) == expected


def test_the_fastest_count_wins_unless_fewer_threads_are_nearly_as_fast():
    assert fewest_fast_enough({1: 34.0, 2: 24.0}) == 2
    assert fewest_fast_enough({1: 7.5, 2: 7.4}) == 1             # within 5 %: one thread, half the CPU
    assert fewest_fast_enough({1: 30.0, 4: 20.0, 8: 19.5}) == 4
    assert fewest_fast_enough({1: 30.0, 4: 20.0, 8: 18.0}) == 8
    assert fewest_fast_enough({1: 10.0, 2: 10.9}, tolerance=0.1) == 1


class FakeMachine:
    """A clock and a model whose call takes ``ms[count]`` at the thread count last set (the first call
    after a change of count takes ``switch_ms`` more)."""

    def __init__(self, ms: dict[int, float], switch_ms: float = 50.0):
        self.ms, self.switch_ms = ms, switch_ms
        self.now, self.count, self.switched = 0.0, 0, False
        self.calls: list[int] = []

    def clock(self) -> float:
        return self.now

    def set_threads(self, count: int) -> None:
        self.switched = count != self.count
        self.count = count

    def run(self) -> None:
        self.calls.append(self.count)
        self.now += (self.ms[self.count] + (self.switch_ms if self.switched else 0.0)) / 1000
        self.switched = False


def test_counts_take_turns_and_the_call_after_a_switch_is_not_timed():
    machine = FakeMachine({1: 30.0, 2: 20.0})
    medians = time_counts(machine.run, [1, 2], machine.set_threads, rounds=3, budget_s=60, clock=machine.clock)
    assert medians == pytest.approx({1: 30.0, 2: 20.0})
    assert machine.calls == [1, 1, 2, 2] * 3


def test_timing_stops_at_the_budget_after_two_turns():
    machine = FakeMachine({1: 400.0, 2: 300.0})
    time_counts(machine.run, [1, 2], machine.set_threads, rounds=10, budget_s=1.0, clock=machine.clock)
    assert len(machine.calls) == 2 * 2 * 2


def test_a_pinned_count_is_set_in_the_calling_thread_only(tiny_loaded):
    loaded = tiny_loaded
    pinned = dataclasses.replace(loaded, settings=loaded.settings.replace(torch_threads=3))
    before = torch.get_num_threads()
    choice, inside = in_thread(lambda: (choose_threads(pinned), torch.get_num_threads()))
    assert choice == ThreadChoice(3) and inside == 3
    assert torch.get_num_threads() == before


def test_an_unpinned_model_is_timed_at_each_candidate_and_keeps_the_choice(tiny_loaded):
    choice, inside = in_thread(lambda: (choose_threads(tiny_loaded), torch.get_num_threads()))
    assert sorted(choice.forward_ms) == candidate_counts(TORCH_DEFAULT)
    assert all(ms > 0 for ms in choice.forward_ms.values())
    assert choice.threads == fewest_fast_enough(choice.forward_ms) == inside
    assert f"torch threads: {choice.threads}" in choice.describe()


def test_the_worker_runs_its_start_hook_in_its_thread_before_the_first_request():
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def start() -> None:
        seen.append(("start", threading.current_thread().name))
        raise RuntimeError("a failed start must not end the thread")

    def compute(request, _token):
        seen.append((request, threading.current_thread().name))
        return request

    worker = Worker(compute, lambda _result: done.set(), lambda request, exc: request, name="probe-thread",
                    on_start=start)
    worker.start()
    worker.post("first")
    try:
        assert done.wait(30)
    finally:
        worker.stop()
    assert seen == [("start", "probe-thread"), ("first", "probe-thread")]


@pytest.mark.parametrize("pinned", [None, 1])
def test_the_session_compute_thread_chooses_its_threads_as_it_starts(tiny_session, tiny_loaded, pinned):
    loaded = dataclasses.replace(tiny_loaded, settings=tiny_loaded.settings.replace(torch_threads=pinned))
    session = tiny_session(sync=False, loaded=loaded)
    wait_until(session.latest_result, timeout=60)
    choice = session.engine.threads
    assert choice is not None
    if pinned is None:
        assert sorted(choice.forward_ms) == candidate_counts(TORCH_DEFAULT)
    else:
        assert choice == ThreadChoice(pinned)


def test_a_sync_session_leaves_torch_threads_alone(tiny_session):
    session = tiny_session(sync=True)
    assert session.latest_result() is not None and session.engine.threads is None


def test_after_single_thread_by_default_other_threads_run_one_thread_and_the_chooser_keeps_its_own():
    """In a process of its own: the default is process-wide. The chooser's count does not leak into
    threads started after it (torch.set_num_threads alone would make it their default too)."""
    script = textwrap.dedent("""
        import threading, types, torch
        from deepvis_app.core.nn.threads import choose_threads, single_thread_by_default
        single_thread_by_default()
        settings = types.SimpleNamespace(torch_threads=2, frames_in_flight=None)
        pinned = types.SimpleNamespace(settings=settings, device=torch.device("cpu"))
        counts = {}
        op = lambda: torch.nn.functional.conv2d(torch.randn(1, 8, 32, 32), torch.randn(8, 8, 3, 3))
        started = threading.Event()
        finish = threading.Event()
        def chooser():
            choose_threads(pinned)
            started.set()
            finish.wait()
            op()
            counts["chooser"] = torch.get_num_threads()
        def other():
            op()
            counts["other"] = torch.get_num_threads()
        thread = threading.Thread(target=chooser)
        thread.start()
        started.wait()
        late = threading.Thread(target=other)
        late.start()
        late.join()
        finish.set()
        thread.join()
        print(torch.get_num_threads(), counts["chooser"], counts["other"])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["1", "2", "1"]
