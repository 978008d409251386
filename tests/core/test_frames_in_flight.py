"""Frames in flight (issue 18: the live loop's CPU per frame): when two frames side by side on half the
threads beat one frame on all of them, a second compute thread with a replica of the model (weights
shared) runs the next video frame while the first finishes its own; what reaches the screen keeps the
frames' order; slow methods stay on the first thread (core.app.pipeline, core.app.worker, core.nn.threads)."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
import torch

from deepvis_app.core.app.pane_source import FrameRate
from deepvis_app.core.app.pipeline import runs_beside
from deepvis_app.core.app.render_result import Request
from deepvis_app.core.app.state import CursorArea, ViewState
from deepvis_app.core.app.worker import Worker
from deepvis_app.core.methods.registry import METHOD_NAMES, get_method
from deepvis_app.core.nn.model import replica
from deepvis_app.core.nn.threads import TORCH_DEFAULT, ThreadChoice, choose_threads, frames_side_by_side
from tests.helpers.datasets import write_video
from tests.helpers.waiting import wait_until

FIRST, SECOND = "deepvis-compute", "deepvis-compute-2"


def test_two_frames_go_side_by_side_when_half_the_threads_take_less_than_twice_the_fastest():
    assert frames_side_by_side({1: 34.0, 2: 23.0}, default=2) == (2, 1)      # the default model at batch 1
    assert frames_side_by_side({1: 40.0, 2: 21.0}, default=2) == (1, 2)      # threads nearly halve it
    assert frames_side_by_side({1: 7.5, 2: 7.4}, default=2) == (2, 1)        # threads gain nothing
    assert frames_side_by_side({1: 60.0, 4: 20.0, 8: 9.0}, default=8) == (1, 8)
    assert frames_side_by_side({1: 60.0, 4: 20.0, 8: 12.0}, default=8) == (2, 4)
    assert frames_side_by_side({1: 9.0}, default=1) == (1, 1)                # one core: one frame


def test_a_pinned_frames_in_flight_splits_the_default_threads_without_timing(tiny_loaded):
    loaded = dataclasses.replace(tiny_loaded, settings=tiny_loaded.settings.replace(frames_in_flight=2))
    box: list[ThreadChoice] = []
    thread = threading.Thread(target=lambda: box.append(choose_threads(loaded)))
    thread.start()
    thread.join()
    assert box == [ThreadChoice(max(1, TORCH_DEFAULT // 2), frames_in_flight=2)]
    assert "2 frames in flight" in box[0].describe()


def test_a_replica_shares_the_weights_computes_the_same_and_has_hooks_of_its_own(tiny_loaded):
    twin = replica(tiny_loaded)
    assert twin.module is not tiny_loaded.module
    for mine, theirs in zip(tiny_loaded.module.parameters(), twin.module.parameters(), strict=True):
        assert mine is theirs
    for mine, theirs in zip(tiny_loaded.module.buffers(), twin.module.buffers(), strict=True):
        assert mine is theirs
    x = torch.randn(1, *tiny_loaded.preprocessor.network_shape)
    with torch.no_grad():
        assert torch.equal(tiny_loaded.module(x), twin.module(x))
    seen: list[str] = []
    handle = twin.module.register_forward_hook(lambda *_: seen.append("twin"))
    try:
        with torch.no_grad():
            tiny_loaded.module(x)
            assert seen == []
            twin.module(x)
        assert seen == ["twin"]
    finally:
        handle.remove()


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_only_requests_that_need_nothing_of_the_first_engine_run_beside(method):
    back = ViewState(back_enabled=True, cursor_area=CursorArea.GRID, back_method=method)
    assert runs_beside(Request(1, back, ())) == get_method(method).is_backprop
    assert not runs_beside(Request(1, dataclasses.replace(back, show_faithfulness=True), ()))
    assert runs_beside(Request(1, dataclasses.replace(back, back_enabled=False), ()))     # back off
    assert not runs_beside(Request(1, dataclasses.replace(back, back_enabled=False, reference_pins=1), ()))


def test_the_frame_rate_spans_the_last_two_forwards_per_frame_in_flight():
    now = [0.0]
    rate = FrameRate(clock=lambda: now[0])
    for moment in (0.0, 0.002, 0.030, 0.032):       # two lanes: forwards end in pairs, 30 ms apart
        now[0] = moment
        rate.tick()
    assert rate.fps() == pytest.approx(1 / 0.002)   # one frame in flight: the last two, as the original
    rate.frames_in_flight(2)
    for moment in (0.060, 0.062):
        now[0] = moment
        rate.tick()
    assert rate.fps() == pytest.approx(3 / 0.032)   # the last four: 2 frames per 30 ms, about 66 fps
    now[0] = 3.0
    assert rate.fps() == 0.0


def test_a_second_lane_takes_a_request_only_while_the_first_computes_and_only_one_it_admits():
    ran: list[tuple[str, str]] = []
    delivered: list[str] = []
    cond = threading.Condition()
    first_busy, release = threading.Event(), threading.Event()

    def lane(name):
        def compute(request: str, _token) -> str:
            ran.append((name, request))
            if request == "a":
                first_busy.set()
                release.wait(30)
            return request
        return compute

    def deliver(result: str) -> None:
        with cond:
            delivered.append(result)
            cond.notify_all()

    def wait_delivered(item: str) -> None:
        with cond:
            assert cond.wait_for(lambda: item in delivered, 30), delivered

    worker = Worker(lane("first"), deliver, lambda request, exc: f"error {exc}")
    worker.start()
    try:
        assert worker.add_lane(lane("second"), admits=lambda request: request != "slow")
        assert worker.lanes == 2
        worker.post("x")
        wait_delivered("x")
        assert ran == [("first", "x")]                      # an idle first lane takes everything
        worker.post("a")
        assert first_busy.wait(30)
        worker.post("b")
        wait_delivered("b")
        assert ("second", "b") in ran                       # beside the busy first lane
        worker.post("slow")
        time.sleep(0.3)
        assert all(request != "slow" for _, request in ran)  # not admitted: waits for the first lane
        release.set()
        wait_delivered("slow")
        assert ("first", "slow") in ran
    finally:
        release.set()
        worker.stop()
    assert not worker.is_alive()


def test_two_frames_in_flight_on_a_video_overlap_and_reach_the_screen_in_order(tiny_session, tiny_loaded, tmp_path):
    """The first lane's forwards are made slow and the second's fast, so the second lane's newer frames end
    first: an older frame shown after a newer one would be caught."""
    video = write_video(tmp_path / "clip.avi", frames=12, fps=60.0)   # played in a loop
    lock = threading.Lock()
    running, most, threads = [0], [0], set()

    def before(*_):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.06 if threading.current_thread().name == FIRST else 0.005)

    def after(*_):
        with lock:
            running[0] -= 1
            threads.add(threading.current_thread().name)

    hooks = [tiny_loaded.module.register_forward_pre_hook(before), tiny_loaded.module.register_forward_hook(after)]
    try:
        loaded = dataclasses.replace(tiny_loaded, settings=tiny_loaded.settings.replace(frames_in_flight=2))
        session = tiny_session(sync=False, spec=str(video), loaded=loaded, start=False)
        shown: list[tuple[int, int, float]] = []

        def on_result() -> None:
            result = session.latest_result()
            if result is not None and result.frame_seq is not None:
                shown.append((result.generation, result.frame_seq, result.status))
        session.set_on_result(on_result)
        session.start()
        wait_until(lambda: len({seq for _, seq, _ in shown}) >= 25, timeout=60)
        session.stop()
    finally:
        for hook in hooks:
            hook.remove()
    assert session.pipeline.frames_in_flight == 2
    assert {FIRST, SECOND} <= threads
    assert most[0] >= 2                                        # two forwards at once
    orders = [(generation, seq) for generation, seq, _ in shown]
    assert orders == sorted(orders), orders
    assert any("FPS: " in status and "FPS: 0.0" not in status for _, _, status in shown)
