"""How many threads torch runs the live model on: the compute thread times it; every other thread uses one.

torch splits each operator over one OpenMP thread per core. For wide convolutions that nearly halves
a forward on two cores; for depthwise ones at batch 1 it gains less (MobileNetV3-Small: nothing, at
twice the CPU). Each thread that runs parallel operators also keeps its own pool of OpenMP threads,
and once the pools outnumber the cores, libgomp makes all of them sleep between operators: that
doubled the default model's forward in the live view (`single_thread_by_default`). So the window and
the web front end make one thread the default before loading the model, and the compute thread, as it
starts, times the model's forward at one thread, half and all of torch's default and keeps the fastest,
or the fewest within `TOLERANCE` of it (less CPU, a core left to drawing and decoding). The
``torch_threads`` setting pins the compute thread's count instead; a GPU model keeps torch's default.

The same timings decide how many frames are in flight (`frames_in_flight`). At batch 1 a network
split over threads leaves them waiting at every operator's end: the default model took 34 ms on one
thread and 23 ms on two, so two frames side by side, one thread each, show 1.4 times the frames at
0.7 times the CPU per frame (`bench/frames_in_flight.py`). When half the threads run a forward in
less than twice the time of the fastest choice, the live loop runs two frames at a time, each on
half the threads (`core.app.pipeline`); the ``frames_in_flight`` setting pins it.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from deepvis_app.core.nn import allocator
from deepvis_app.core.nn.model import LoadedModel

log = logging.getLogger("deepvis.threads")

TOLERANCE = 0.05        # fewer threads win unless more are this much faster
ROUNDS = 5              # timed forwards per thread count (fewer when the budget runs out)
BUDGET_S = 3.0          # timing stops after this long, once every count has two timed forwards
TORCH_DEFAULT = torch.get_num_threads()   # one per core, or OMP_NUM_THREADS: before anything changed it


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count torch uses in each live compute thread, the median forward (ms) by count when it
    was timed, and how many frames the live loop computes at a time (one compute thread each)."""

    threads: int
    forward_ms: dict[int, float] = field(default_factory=dict)
    frames_in_flight: int = 1

    def describe(self) -> str:
        timed = ", ".join(f"{count}: {ms:.1f} ms" for count, ms in sorted(self.forward_ms.items()))
        frames = f", {self.frames_in_flight} frames in flight" if self.frames_in_flight > 1 else ""
        return f"torch threads: {self.threads}{frames}" + (f" (forward by threads: {timed})" if timed else "")

    def apply(self) -> None:
        """Set the calling thread's torch thread count to the choice (a compute thread of a frame in flight)."""
        torch.set_num_threads(self.threads)


def candidate_counts(default: int) -> list[int]:
    """The thread counts tried, fewest first: one, half of torch's default, the default."""
    return sorted({1, max(1, default // 2), max(1, default)})


def fewest_fast_enough(forward_ms: Mapping[int, float], tolerance: float = TOLERANCE) -> int:
    """The fewest threads whose median forward is within ``tolerance`` of the fastest."""
    best = min(forward_ms.values())
    return min(count for count, ms in forward_ms.items() if ms <= best * (1 + tolerance))


def frames_side_by_side(forward_ms: Mapping[int, float], default: int,
                         tolerance: float = TOLERANCE) -> tuple[int, int]:
    """(frames in flight, threads each) from the timed forwards: two frames on half the threads each when
    two such forwards side by side beat the fastest count by ``tolerance``, else one on the fewest fast
    enough (`fewest_fast_enough`)."""
    half = max(1, default // 2)
    if default >= 2 and half in forward_ms and forward_ms[half] < 2 * min(forward_ms.values()) * (1 - tolerance):
        return 2, half
    return 1, fewest_fast_enough(forward_ms, tolerance)


def time_counts(run: Callable[[], object], counts: list[int], set_threads: Callable[[int], None],
                rounds: int = ROUNDS, budget_s: float = BUDGET_S,
                clock: Callable[[], float] = time.perf_counter) -> dict[int, float]:
    """Median ms of ``run()`` at each count. The counts take turns, one untimed and one timed call per
    turn (a change of thread count makes the next call slower), so that a change in the machine's load
    during the timing hits every count alike."""
    times: dict[int, list[float]] = {count: [] for count in counts}
    start = clock()
    for turn in range(rounds):
        if turn >= 2 and clock() - start > budget_s:
            break
        for count in counts:
            set_threads(count)
            run()
            before = clock()
            run()
            times[count].append(1000 * (clock() - before))
    return {count: statistics.median(values) for count, values in times.items()}


def prepare_live_process() -> None:
    """What the window and the web front end (and the live benchmarks) do in the main thread before loading
    the model: one thread torch's default (`single_thread_by_default`) and malloc's thresholds fixed
    (`core.nn.allocator`: no fresh pages for each forward in the compute thread)."""
    single_thread_by_default()
    allocator.reuse_freed_memory()


def single_thread_by_default() -> None:
    """Make one thread torch's count for every thread that does not choose its own; call it in the main
    thread before the model is loaded (the window and the web front end do: `prepare_live_process`).

    Each thread that runs a parallel operator keeps a pool of OpenMP threads for its life. Once the
    pools' threads outnumber the cores, libgomp stops letting any of them wait actively between
    operators: on the 2-core machine the compute thread's forward took 45 ms instead of 23 ms after
    the main thread had loaded the model on two threads. So only the compute thread runs parallel
    operators (`choose_threads`); loading, unit images and optimize jobs run on one.
    """
    torch.set_num_threads(1)


def choose_threads(loaded: LoadedModel) -> ThreadChoice:
    """Set the calling thread's torch thread count for ``loaded`` (see the module docstring) and say what
    was chosen; threads started later keep the count they would have had."""
    default = torch.get_num_threads()   # a thread that has not set its own count: what new threads get
    try:
        pinned, frames = loaded.settings.torch_threads, loaded.settings.frames_in_flight
        if pinned is not None or frames is not None or loaded.device.type != "cpu":   # a GPU: torch's default
            frames = frames or 1
            threads = pinned if pinned is not None else max(1, TORCH_DEFAULT // frames)
            choice = ThreadChoice(threads, frames_in_flight=frames)
        else:
            forward_ms = _timed(loaded)
            frames, threads = frames_side_by_side(forward_ms, TORCH_DEFAULT)
            choice = ThreadChoice(threads, {count: round(ms, 1) for count, ms in forward_ms.items()}, frames)
        choice.apply()
    finally:
        _restore_new_thread_default(default)
    log.info("%s", choice.describe())
    return choice


def _timed(loaded: LoadedModel) -> dict[int, float]:
    height, width = loaded.preprocessor.frame_size
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    x = loaded.preprocessor.to_tensor(frame, loaded.device)

    def forward() -> None:
        with torch.no_grad():
            loaded.module(x)

    return time_counts(forward, candidate_counts(TORCH_DEFAULT), torch.set_num_threads)


def _restore_new_thread_default(count: int) -> None:
    """`torch.set_num_threads` also sets the count that threads started later run on (an optimize job, a
    second session's compute thread); set from a short-lived thread, that count goes back without
    changing the calling thread's own."""
    helper = threading.Thread(target=torch.set_num_threads, args=(count,), name="deepvis-thread-default")
    helper.start()
    helper.join()
