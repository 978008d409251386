"""Live-loop benchmark of the session (no window): prints one JSON object.

- ``live_off_fps`` / ``live_on_fps``: frames per second the compute thread handles on a 60 fps
  video played at its own rate (generated here with cv2.VideoWriter; faster than the model, so
  every compute finds a new frame; unpaced decoding would steal a core), with backprop off
  (cursor on the layer list) and on (cursor in the grid, gradient/raw);
- ``bare_fwd_fps`` / ``bare_fb_fps``: the bare model's rate on one preprocessed frame, as a plain
  script runs it (a process of its own, its main thread, torch's default threads: `bare_model.py`),
  alternating with the live runs; ``ratio_*`` = live / bare, median over rounds (goal >= 0.9);
- ``live_torch_threads``: the threads and frames in flight the session's compute thread chose by timing
  the model (`core.nn.threads`; this process makes one thread the default first, as the window does;
  ``--frames-in-flight N`` pins the frames, 1 to see the loop without a second compute thread);
- ``*_cpu_ms_per_frame`` and ``cpu_ratio_back_*`` = bare / live CPU ms per frame: this process's CPU
  time (every thread: compute, render, video decoding) per frame shown, against the bare model's per
  call; the work the app adds per frame, steadier than fps on a shared machine;
- ``*_page_faults_per_frame``: minor page faults per frame (pages the kernel mapped and zeroed: a
  thread whose forward gets fresh memory each time; `core.nn.allocator`); deterministic, unlike times;
- ``live_*_cpu_ms_by_thread``: where the live loop's CPU ms per frame go, per thread (medians over the
  rounds; ``deepvis-compute`` and ``torch-workers``, torch's own unnamed threads, are the model's
  side; ``deepvis-render`` draws the panes, ``deepvis-files`` reads the video);
- ``key_latency_ms_*``: time from `handle_key` to the new Result on a still image (activations
  cached), for moving the selection with back off and with back on (goal < 50 ms);
- ``slow_methods``: for occlusion, smoothgrad and integrated_gradients (default options) on a still
  image, back on: ``first_partial_s`` (time from the key selecting the method to the first result
  showing a map: occlusion's coarse map, goal < 1 s on the default model), ``key_latency_ms`` (from
  `handle_key` to that key's Result while the method runs, keys moving the unit so every key
  abandons the running job; goal < 50 ms), ``handle_key_ms`` (the UI thread's own cost per key),
  ``partials`` (partial results seen), ``finished_s`` (a full run, no key pressed);
- ``peak_rss_mib_app``: peak resident memory of a fresh process running only the session on the
  default model (video, back on, every layer visited; goal < 1536 MiB); ``..._this_benchmark``
  is this process's own peak (several sessions and the bare loops).

Usage: python bench/live.py [--seconds 4] [--rounds 8] [--model efficientnet_lite0] [--only-slow] [--only-rates]
       [--frames-in-flight N]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from bare_model import BareModel
from cpu_time import Rate, minor_faults, thread_cpu_ms

from deepvis_app.core.app.session import Session
from deepvis_app.core.nn.model import load_model
from deepvis_app.core.nn.threads import prepare_live_process
from deepvis_app.io.images import sample_image
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.loader import load_settings


def make_video(path: Path, frames: int = 120, size: tuple[int, int] = (320, 240), fps: float = 60.0) -> Path:
    """A short MJPG video panning over a sample image (played at its own rate, faster than the model)."""
    image = cv2.cvtColor(sample_image("chelsea"), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    try:
        for index in range(frames):
            x = (index * 3) % (image.shape[1] - size[0])
            writer.write(np.ascontiguousarray(image[:size[1], x:x + size[0]]))
    finally:
        writer.release()
    return path


def preprocess_ms(loaded, image: np.ndarray, repeats: int = 10) -> float:
    """Milliseconds the Preprocessor takes to fit one video frame (crop + resize + normalise)."""
    pre = loaded.preprocessor
    start = time.perf_counter()
    for _ in range(repeats):
        pre.to_array(pre.fit_frame(image))
    return round(1000 * (time.perf_counter() - start) / repeats, 1)


class Counter:
    """Counts the frames the session showed (results with a new frame) from the result callback."""

    def __init__(self, session: Session):
        self.session, self.count, self.last = session, 0, None
        self.event = threading.Event()

    def __call__(self) -> None:
        result = self.session.latest_result()
        frame = None if result is None else result.frame_seq
        if frame is not None and frame != self.last:
            self.last, self.count = frame, self.count + 1
        self.event.set()

    def wait_for(self, count: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count < count and time.monotonic() < deadline:
            self.event.wait(0.2)
            self.event.clear()


class LiveRun:
    """One warm session on the video; `measure` unfreezes the video for a while and counts the
    frames the compute thread handled, then freezes it again so the machine is free for the
    bare loop (the session stays warm between measurements)."""

    def __init__(self, loaded, settings, video: Path):
        self.session = Session(loaded, settings, InputManager(settings, str(video)))
        self.counter = Counter(self.session)
        self.session.set_on_result(self.counter)
        self.session.start()
        self.counter.wait_for(3)
        self.frozen = False

    def measure(self, keys: list[str], seconds: float) -> Rate:
        for key in keys:
            self.session.handle_key(key)
        self._set_frozen(False)
        self.counter.wait_for(self.counter.count + 2)    # the keys' own recompute, a first new frame
        start_count, start, cpu, faults = self.counter.count, time.perf_counter(), time.process_time(), minor_faults()
        threads = thread_cpu_ms()
        time.sleep(seconds)
        frames = max(self.counter.count - start_count, 1)
        by_thread = {name: (ms - threads.get(name, 0.0)) / frames for name, ms in thread_cpu_ms().items()}
        shown = Rate(frames / (time.perf_counter() - start), 1000 * (time.process_time() - cpu) / frames,
                     {name: ms for name, ms in by_thread.items() if ms > 0}, (minor_faults() - faults) / frames)
        self._set_frozen(True)
        time.sleep(0.5)                                  # let the frame in flight finish
        return shown

    def _set_frozen(self, frozen: bool) -> None:
        if self.session.inputs.frozen != frozen:
            self.session.handle_key("f")

    def close(self) -> None:
        self.session.stop()


def key_latencies(loaded, settings, keys_before: list[str], presses: int = 20) -> list[float]:
    """ms from handle_key("l"/"j") to the Result of that key, on a still image."""
    session = Session(loaded, settings, InputManager(settings, "sample:chelsea"))
    ready = threading.Condition()
    session.set_on_result(lambda: _notify(ready))
    latencies = []
    try:
        session.start()
        for key in keys_before + ["l", "j"]:   # warm: activations (and the graph) cached
            _press_and_wait(session, ready, key)
        for index in range(presses):
            latencies.append(_press_and_wait(session, ready, "l" if index % 2 == 0 else "j"))
    finally:
        session.stop()
    return latencies


def _notify(cond: threading.Condition) -> None:
    with cond:
        cond.notify_all()


def _press_and_wait(session: Session, cond: threading.Condition, key: str, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    session.handle_key(key)
    target = session.generation
    with cond:
        cond.wait_for(lambda: (r := session.latest_result()) is not None and r.generation >= target
                      and "input" in r.images, timeout)
    return 1000 * (time.perf_counter() - start)


class Results:
    """Every Result the session delivers, in order (partial ones included)."""

    def __init__(self, session: Session):
        self.session = session
        self.seen: list = []
        self.cond = threading.Condition()

    def __call__(self) -> None:
        result = self.session.latest_result()
        with self.cond:
            if result is not None and (not self.seen or result is not self.seen[-1]):
                self.seen.append((time.perf_counter(), result))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 300.0):
        """The first (time, Result) seen from now on for which ``predicate(result)`` holds."""
        with self.cond:
            start = len(self.seen)
            ok = self.cond.wait_for(lambda: any(predicate(r) for _, r in self.seen[start:]), timeout)
            return next((t, r) for t, r in self.seen[start:] if predicate(r)) if ok else (None, None)


def _shows_map(result) -> bool:
    back = result.images.get("back")
    return back is not None and not (back == back[0, 0]).all()


def slow_method_run(loaded, settings, method: str, presses: int = 12, gap_s: float = 0.4) -> dict:
    """first_partial_s, key latencies while ``method`` runs, finished_s (see the module docstring)."""
    session = Session(loaded, settings, InputManager(settings, "sample:chelsea"))
    results = Results(session)
    session.set_on_result(results)
    report: dict = {}
    try:
        session.start()
        results.wait_for(lambda r: "input" in r.images)
        for key in ("k", "b"):                       # grid, gradient on
            session.handle_key(key)
        results.wait_for(lambda r: r.generation >= session.generation and r.progress is None and _shows_map(r))
        while session.state.back_method != method:
            session.handle_key("N")
        start, target = time.perf_counter(), session.generation
        when, _ = results.wait_for(lambda r: r.generation >= target and r.progress is not None and _shows_map(r))
        report["first_partial_s"] = round(when - start, 2) if when else None
        latencies, key_ms = [], []
        for index in range(presses):
            time.sleep(gap_s)                        # the method is busy again
            pressed = time.perf_counter()
            session.handle_key("l" if index % 2 == 0 else "j")
            key_ms.append(1000 * (time.perf_counter() - pressed))
            target = session.generation
            when, _ = results.wait_for(lambda r, target=target: r.generation >= target)
            latencies.append(1000 * (when - pressed) if when else float("inf"))
        report["key_latency_ms"] = summary(latencies)
        report["handle_key_ms"] = summary(key_ms)
        target = session.generation
        start = time.perf_counter()
        session.handle_key("L")                      # a unit not visited yet: a fresh job, left alone until done
        target = session.generation
        when, _ = results.wait_for(lambda r: r.generation >= target and r.progress is None and _shows_map(r))
        report["finished_s"] = round(when - start, 2) if when else None
        report["partials"] = sum(1 for _, r in results.seen if r.progress is not None)
    finally:
        session.stop()
    return report


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)}


def measure_rates(loaded, settings, video: Path, seconds: float, rounds: int, model: str | None = None) -> dict:
    """Bare and live rates measured in alternation, ``rounds`` times, so that a change in the
    machine's load hits both sides of each ratio; medians over the rounds."""
    runs: dict[str, list[Rate]] = {k: [] for k in ("bare_fwd", "live_off", "bare_fb", "live_on")}
    bare = BareModel(loaded.layers[0].name, model)
    live = LiveRun(loaded, settings, video)
    try:
        for _ in range(rounds):
            runs["bare_fwd"].append(bare.rate("fwd", seconds / 2))
            runs["live_off"].append(live.measure(["Esc"], seconds))
            runs["bare_fb"].append(bare.rate("fb", seconds / 2))
            runs["live_on"].append(live.measure(["k", "b"], seconds))
        threads = live.session.engine.threads
    finally:
        live.close()
        bare.close()
    ratio_off = [lv.fps / bare.fps for lv, bare in zip(runs["live_off"], runs["bare_fwd"], strict=True)]
    ratio_on = [lv.fps / bare.fps for lv, bare in zip(runs["live_on"], runs["bare_fb"], strict=True)]
    report: dict = {"bare_torch_threads": bare.threads,
                    "live_torch_threads": None if threads is None else threads.describe()}
    report.update({f"{name}_fps": round(statistics.median(r.fps for r in values), 2) for name, values in runs.items()})
    report["ratio_back_off"] = round(statistics.median(ratio_off), 3)
    report["ratio_back_on"] = round(statistics.median(ratio_on), 3)
    report["ratios_per_round"] = {"off": [round(r, 3) for r in ratio_off], "on": [round(r, 3) for r in ratio_on]}
    report.update({f"{name}_cpu_ms_per_frame": round(statistics.median(r.cpu_ms for r in values), 1)
                   for name, values in runs.items()})
    report.update({f"{name}_page_faults_per_frame": round(statistics.median(r.faults for r in values))
                   for name, values in runs.items()})
    for name in runs:
        threads = sorted({thread for r in runs[name] for thread in r.by_thread})
        report[f"{name}_cpu_ms_by_thread"] = {
            thread: round(statistics.median(r.by_thread.get(thread, 0.0) for r in runs[name]), 1) for thread in threads}
    for side, live_name, bare_name in (("off", "live_off", "bare_fwd"), ("on", "live_on", "bare_fb")):
        report[f"cpu_ratio_back_{side}"] = round(statistics.median(
            bare.cpu_ms / lv.cpu_ms for lv, bare in zip(runs[live_name], runs[bare_name], strict=True)), 3)
    return report


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it is not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def app_peak_rss(model: str | None) -> float:
    """Peak RSS of a fresh process that runs only the app's session (video, back on, walking layers)."""
    command = [sys.executable, __file__, "--app-rss-only"] + (["--model", model] if model else [])
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output)["peak_rss_mib"]


def app_rss_run(model: str | None, seconds: float = 10.0) -> float:
    prepare_live_process()
    settings = load_settings(model).settings.replace(unit_images_on_demand=False, video_paced=True)
    loaded = load_model(settings)
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(loaded, settings, InputManager(settings, str(make_video(Path(tmp) / "pan.avi"))))
        try:
            session.start()
            for key in ["k", "b", "a"] + ["o"] * len(loaded.layers):
                session.handle_key(key)
                time.sleep(seconds / (3 + len(loaded.layers)))
        finally:
            session.stop()
    return peak_rss_mib()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per live measurement")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--model", default=None)
    parser.add_argument("--app-rss-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only-slow", action="store_true", help="only the slow-method measurements")
    parser.add_argument("--only-rates", action="store_true", help="only the live / bare rates and CPU ratios")
    parser.add_argument("--frames-in-flight", type=int, default=None, help="pin the setting (default: chosen)")
    args = parser.parse_args(argv)
    if args.app_rss_only:
        json.dump({"peak_rss_mib": app_rss_run(args.model)}, sys.stdout)
        return 0
    prepare_live_process()   # as the window and the web front end do before loading
    settings = load_settings(args.model).settings.replace(unit_images_on_demand=False, video_paced=True,
                                                          frames_in_flight=args.frames_in_flight)
    loaded = load_model(settings)
    report = {"model": settings.model, "device": str(loaded.device)}
    if args.only_slow:
        report["slow_methods"] = {m: slow_method_run(loaded, settings, m)
                                  for m in ("occlusion", "smoothgrad", "integrated_gradients")}
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        report.update(measure_rates(loaded, settings, make_video(Path(tmp) / "pan.avi"), args.seconds, args.rounds,
                                    args.model))
    if args.only_rates:
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    frame = np.ascontiguousarray(cv2.cvtColor(sample_image("chelsea"), cv2.COLOR_RGB2BGR)[:240, :320])
    report["preprocess_ms_per_frame"] = preprocess_ms(loaded, frame)
    report["key_latency_ms_back_off"] = summary(key_latencies(loaded, settings, ["k"]))
    report["key_latency_ms_back_on"] = summary(key_latencies(loaded, settings, ["k", "b"]))
    report["slow_methods"] = {m: slow_method_run(loaded, settings, m)
                              for m in ("occlusion", "smoothgrad", "integrated_gradients")}
    report["peak_rss_mib_this_benchmark"] = peak_rss_mib()
    report["peak_rss_mib_app"] = app_peak_rss(args.model)
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
