"""Live-loop benchmark of the session (no window): prints one JSON object.

- ``live_fps_back_off`` / ``live_fps_back_on``: frames per second the compute thread handles on a
  video played as fast as it decodes (generated here with cv2.VideoWriter), with backprop off
  (cursor on the layer list) and on (cursor in the grid, gradient/raw);
- ``bare_forward_fps`` / ``bare_forward_backward_fps``: the bare model's rate on one preprocessed
  frame in the same run; ``ratio_*`` = live / bare (goal >= 0.9);
- ``key_latency_ms_*``: time from `handle_key` to the new Result on a still image (activations
  cached), for moving the selection with back off and with back on (goal < 50 ms);
- ``peak_rss_mib``: the process's peak resident memory on the default model (goal < 1536 MiB).

Usage: python bench/live.py [--seconds 10] [--model efficientnet_lite0]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from deepvis_app.core.model import load_model
from deepvis_app.core.session import Session
from deepvis_app.io.images import sample_image
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.loader import load_settings


def make_video(path: Path, frames: int = 90, size: tuple[int, int] = (320, 240)) -> Path:
    """A short MJPG video panning over a sample image."""
    image = cv2.cvtColor(sample_image("chelsea"), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    try:
        for index in range(frames):
            x = (index * 3) % (image.shape[1] - size[0])
            writer.write(np.ascontiguousarray(image[:size[1], x:x + size[0]]))
    finally:
        writer.release()
    return path


def rate(step, seconds: float) -> float:
    """Calls per second of ``step`` over about ``seconds`` (after one warm-up call)."""
    step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 3:
        step()
        count += 1
    return count / (time.perf_counter() - start)


def bare_rates(loaded, seconds: float, layer: str) -> tuple[float, float]:
    """(forward fps, forward+backward fps) of the bare module on one preprocessed frame."""
    x = loaded.preprocessor.to_tensor(sample_image("chelsea"), loaded.device)
    module = loaded.module
    captured: dict[str, torch.Tensor] = {}
    handle = dict(module.named_modules())[layer].register_forward_hook(
        lambda _m, _i, out: captured.__setitem__("out", out))

    def forward():
        with torch.no_grad():
            module(x)

    def forward_backward():
        leaf = x.detach().requires_grad_(True)
        module(leaf)
        out = captured["out"]
        seed = torch.zeros_like(out)
        seed[:, 0] = out[:, 0].detach()
        torch.autograd.grad(out, leaf, grad_outputs=seed)

    try:
        return rate(forward, seconds), rate(forward_backward, seconds)
    finally:
        handle.remove()


class Counter:
    """Counts forwards the session's engine ran (one per new frame) from the result callback."""

    def __init__(self, session: Session):
        self.session, self.count, self.last = session, 0, None
        self.event = threading.Event()

    def __call__(self) -> None:
        forward = self.session.engine.last_forward
        if forward is not self.last:
            self.last, self.count = forward, self.count + 1
        self.event.set()


def live_fps(loaded, settings, video: Path, keys: list[str], seconds: float) -> float:
    session = Session(loaded, settings, InputManager(settings, str(video)))
    counter = Counter(session)
    session.set_on_result(counter)
    try:
        for key in keys:
            session.handle_key(key)
        session.start()
        deadline = time.monotonic() + 120
        while counter.count < 3 and time.monotonic() < deadline:   # warm-up
            counter.event.wait(0.5)
        start_count, start = counter.count, time.perf_counter()
        time.sleep(seconds)
        return (counter.count - start_count) / (time.perf_counter() - start)
    finally:
        session.stop()


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


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    settings = load_settings(args.model).settings.replace(unit_images_on_demand=False, video_paced=False)
    loaded = load_model(settings)
    layer = loaded.layers[0].name
    bare_fwd, bare_fb = bare_rates(loaded, args.seconds, layer)
    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(Path(tmp) / "pan.avi")
        fps_off = live_fps(loaded, settings, video, [], args.seconds)
        fps_on = live_fps(loaded, settings, video, ["k", "b"], args.seconds)
    latency_off = key_latencies(loaded, settings, ["k"])
    latency_on = key_latencies(loaded, settings, ["k", "b"])
    report = {
        "model": settings.model, "device": str(loaded.device), "torch_threads": torch.get_num_threads(),
        "bare_forward_fps": round(bare_fwd, 2), "bare_forward_backward_fps": round(bare_fb, 2),
        "live_fps_back_off": round(fps_off, 2), "live_fps_back_on": round(fps_on, 2),
        "ratio_back_off": round(fps_off / bare_fwd, 3), "ratio_back_on": round(fps_on / bare_fb, 3),
        "key_latency_ms_back_off": summary(latency_off), "key_latency_ms_back_on": summary(latency_on),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
