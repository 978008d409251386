"""Soak: the real window plays a generated video for minutes with backprop on; resources must stay flat.

Issue 8: after 1-2 minutes of video the app aborted (a Qt binding that leaked references to
`None`), and nothing measured whether memory, threads, file descriptors or model hooks grow over
an hour. This drives the real window (offscreen Qt) on the real `Session` and its compute thread,
playing a generated video of moving shapes (looping, so the video is reopened every few seconds),
with keys typed through the window's key path every `--key-ms`: next layer, next unit, next
backprop or attribution method, back views, help overlay, unit-images pane, freeze, next file.
Attribution methods run with small settings (`SOAK_OVERRIDES`) so each stays well under a second.

Prints one JSON line per sample (``t_s``, ``rss_mb``, ``py_threads``, ``os_threads``, ``fds``,
``hooks`` (on the model at that instant: a forward or backward in flight holds some), ``none_refs``,
``results`` shown so far, ``frame``, ``cycle_end``: taken at the end of a key cycle, see `key_cycle`), then a
summary line (``"summary": true``) with the first sample
after warm-up, the last one, their differences, and the hooks on the model before the window
opened and after it closed, and the threads it left. tests/gui/test_soak.py runs this script for about a
minute, in a process of its own like the app's.

Usage: QT_QPA_PLATFORM=offscreen python bench/soak.py [--minutes 30] [--model efficientnet_lite0]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

# Fast slow-methods; and the unit-image cache capped at 32 MiB (default 512): filling it is legitimate
# growth that would otherwise look like a leak within a minute of visiting new units.
SOAK_OVERRIDES = ('method_options={"occlusion": {"window": 56, "stride": 56}, "smoothgrad": {"samples": 4}, '
                  '"integrated_gradients": {"steps": 4}}', "jpg_cache_mib=32")
START_KEYS = ("k", "b")  # into the unit grid, backprop on
# Every other key moves to the next back method, so each method is visited within the first cycle.
OTHER_KEYS = ("o", "l", "v", "h", "h", "e", "8", "8", "z", "z", "z", "9", "9", "u", "f", "f", "m", "a", "a", "L")


def key_cycle(methods: int) -> tuple[str, ...]:
    """One "N" per back method, each followed by the next of `OTHER_KEYS`: a cycle visits every method
    once and ends on the method it started with, so the samples taken at its end (`cycle_end`) compare
    the app in the same state (memory differs by hundreds of MB between methods)."""
    return tuple(itertools.chain.from_iterable(("N", OTHER_KEYS[i % len(OTHER_KEYS)]) for i in range(methods)))
HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)


def make_shapes_video(path: Path, frames: int = 64, size: tuple[int, int] = (192, 144), fps: float = 25.0) -> Path:
    """An MJPG video of a disc and a square moving over a gradient (`frames` frames, looping smoothly)."""
    import cv2

    width, height = size
    ramp = np.linspace(40, 200, width, dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    try:
        for index in range(frames):
            phase = 2 * np.pi * index / frames
            frame = np.empty((height, width, 3), np.uint8)
            frame[:] = ramp[None, :, None]
            centre = (int(width / 2 + width / 3 * np.cos(phase)), int(height / 2 + height / 3 * np.sin(phase)))
            cv2.circle(frame, centre, height // 6, (30, 60, 230), -1)
            x = int((width - 40) * index / frames)
            cv2.rectangle(frame, (x, height - 50), (x + 40, height - 10), (40, 220, 60), -1)
            writer.write(frame)
    finally:
        writer.release()
    if not path.is_file() or path.stat().st_size == 0:
        raise RuntimeError(f"{path}: OpenCV could not write the test video")
    return path


def hook_count(module: Any) -> int:
    """Hooks registered on `module` and its submodules (forward, pre-forward, backward)."""
    return sum(len(getattr(m, name, ())) for m in module.modules() for name in HOOK_DICTS)


def _release_free_heap() -> None:
    """glibc's malloc_trim(0): hand freed heap pages back to the OS, so resident memory measures what is
    still allocated rather than the allocator's high-water mark of the heaviest method so far (a leak
    cannot be trimmed). A no-op where the C library has no malloc_trim."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def resources() -> dict[str, Any]:
    """This process now: resident memory (after releasing free heap), Python and OS threads, open fds,
    references to None."""
    _release_free_heap()
    with open("/proc/self/statm") as statm:
        rss_pages = int(statm.read().split()[1])
    return {"rss_mb": round(rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1),
            "py_threads": threading.active_count(), "os_threads": len(os.listdir("/proc/self/task")),
            "fds": len(os.listdir("/proc/self/fd")), "none_refs": sys.getrefcount(None)}


@dataclass
class SoakReport:
    samples: list[dict[str, Any]]
    hooks_before: int
    hooks_after: int
    results_shown: int
    errors: list[str] = field(default_factory=list)
    threads_left: list[str] = field(default_factory=list)   # threads the run started, still alive after close

    def sample_at(self, t_s: float) -> dict[str, Any]:
        """The first sample taken at or after `t_s` seconds (else the last one)."""
        return next((s for s in self.samples if s["t_s"] >= t_s), self.samples[-1])

    def after_warmup(self, warmup_s: float) -> list[dict[str, Any]]:
        start = self.sample_at(warmup_s)
        return [s for s in self.samples if s["t_s"] >= start["t_s"]]

    def rss_floor_growth(self, warmup_s: float) -> float:
        """Lowest RSS of the later half of the key-cycle ends after warm-up minus the lowest of the earlier
        half: those samples see the app in the same state (same method, the compute settled), so a leak
        shows as growth and the method swings (hundreds of MB) do not. Fewer than two cycle ends: the
        lowest RSS in the last third of all samples minus that in the first third."""
        later = self.after_warmup(warmup_s)
        ends = [s["rss_mb"] for s in later if s.get("cycle_end")]
        if len(ends) >= 2:
            half = len(ends) // 2
            return round(min(ends[half:]) - min(ends[:half]), 1)
        third = max(1, len(later) // 3)
        return round(min(s["rss_mb"] for s in later[-third:]) - min(s["rss_mb"] for s in later[:third]), 1)

    def summary(self, warmup_s: float) -> dict[str, Any]:
        start, end = self.sample_at(warmup_s), self.samples[-1]
        keys = ("rss_mb", "py_threads", "os_threads", "fds", "none_refs", "results")
        return {"summary": True, "after_warmup": start, "end": end,
                "growth": {k: round(end[k] - start[k], 1) for k in keys},
                "rss_floor_growth_mb": self.rss_floor_growth(warmup_s),
                "hooks_before": self.hooks_before, "hooks_after_close": self.hooks_after,
                "results_shown": self.results_shown, "errors": self.errors, "threads_left": self.threads_left}


class Soak:
    """Runs the real window on `loaded` (a LoadedModel) over `video`; see the module docstring."""

    def __init__(self, loaded: Any, settings: Any, video: Path, key_ms: int = 300, sample_s: float = 5.0):
        self.loaded, self.settings, self.video = loaded, settings, video
        self.key_ms, self.sample_s = key_ms, sample_s

    def run(self, seconds: float, on_sample: Callable[[dict[str, Any]], None] = lambda sample: None) -> SoakReport:
        from PySide6.QtCore import QEventLoop, QTimer  # noqa: TID251 (a GUI benchmark)
        from PySide6.QtWidgets import QApplication  # noqa: TID251

        from deepvis_app.core.app.session import Session
        from deepvis_app.gui.main_window import MainWindow
        from deepvis_app.gui.theme import apply_dark_theme
        from deepvis_app.io.sources import InputManager

        app = QApplication.instance() or QApplication(["deepvis-soak"])
        apply_dark_theme(app, self.settings)
        module = self.loaded.module
        hooks_before = hook_count(module)
        threads_before = set(threading.enumerate())
        inputs = InputManager(self.settings, str(self.video))
        session = Session(self.loaded, self.settings, inputs)
        window = MainWindow(session, self.settings)
        shown: list[int] = []
        errors: list[str] = []

        def on_shown(_generation: int) -> None:
            shown.append(1)
            message = getattr(window.last_result, "message", None) or ""
            if message.startswith("error") and message not in errors:
                errors.append(message)

        window.resultShown.connect(on_shown)
        samples: list[dict[str, Any]] = []
        cycle = key_cycle(len(session.info.back_methods))
        typed = itertools.count(1)
        try:
            session.start()
            window.show()
            _spin(app, lambda: bool(shown), 120.0)
            if not shown:
                raise RuntimeError("the window showed no result within 120 s")
            for token in START_KEYS:
                _type(window, token)
            start = time.monotonic()

            def sample(cycle_end: bool = False) -> None:
                result = window.last_result
                row = {"t_s": round(time.monotonic() - start, 1), **resources(), "hooks": hook_count(module),
                       "results": len(shown), "frame": None if inputs.latest() is None else inputs.latest().name,
                       "generation": None if result is None else result.generation, "cycle_end": cycle_end}
                samples.append(row)
                on_sample(row)

            def settled() -> bool:
                result = window.last_result
                return result is not None and result.generation == session.generation and result.progress is None

            def press_next() -> None:
                count = next(typed)
                _type(window, cycle[(count - 1) % len(cycle)])
                if count % len(cycle) == 0:        # a cycle ends: sample the settled app, then go on
                    presser.stop()
                    _spin(app, settled, 60.0)
                    sample(cycle_end=True)
                    presser.start()

            presser, sampler = QTimer(interval=self.key_ms), QTimer(interval=round(self.sample_s * 1000))
            presser.timeout.connect(press_next)
            sampler.timeout.connect(sample)
            sample()
            presser.start()
            sampler.start()
            loop = QEventLoop()
            QTimer.singleShot(round(seconds * 1000), loop.quit)
            loop.exec()  # the real event loop, as in the app
            presser.stop()
            sampler.stop()
            sample()
        finally:
            window.close()  # stops the session (compute, loader, inputs)
            session.stop()
            inputs.close()
            _spin(app, lambda: False, 0.2)
        left = _threads_left(threads_before)
        return SoakReport(samples, hooks_before, hook_count(module), len(shown), errors, left)


def _threads_left(before: set[threading.Thread], grace_s: float = 3.0) -> list[str]:
    """Names of the threads not in `before` still alive after `grace_s` (joins have that long to end)."""
    deadline = time.monotonic() + grace_s
    while (extra := [t for t in threading.enumerate() if t not in before and t.is_alive()]) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    return [t.name for t in extra]


def _type(window: Any, token: str) -> None:
    """A key press and release through Qt's event delivery, as a typed key arrives."""
    from PySide6.QtWidgets import QApplication  # noqa: TID251

    from deepvis_app.gui.keys import key_event

    QApplication.sendEvent(window, key_event(token, press=True))
    QApplication.sendEvent(window, key_event(token, press=False))


def _spin(app: Any, done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done():
        app.processEvents()
        time.sleep(0.005)


def soak_settings(model: str | None, local_file: Path | None = None) -> Any:
    from deepvis_app.settings.loader import load_settings

    return load_settings(model=model, overrides=list(SOAK_OVERRIDES), local_file=local_file).settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--model", default=None, help="default: the settings' model (efficientnet_lite0)")
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup-s", type=float, default=30.0, help="growth is measured from this sample on")
    parser.add_argument("--key-ms", type=int, default=300, help="ms between typed keys")
    args = parser.parse_args(argv)

    from deepvis_app.core.nn.model import load_model
    from deepvis_app.core.nn.threads import prepare_live_process

    settings = soak_settings(args.model)
    prepare_live_process()   # as the window does before loading
    loaded = load_model(settings)
    with tempfile.TemporaryDirectory() as tmp:
        video = make_shapes_video(Path(tmp) / "shapes.avi")
        soak = Soak(loaded, settings, video, key_ms=args.key_ms, sample_s=args.sample_s)
        report = soak.run(args.minutes * 60, lambda row: print(json.dumps(row), flush=True))
    print(json.dumps({"model": settings.model, **report.summary(args.warmup_s)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
