"""UI event-loop latency while the compute thread is saturated: prints one JSON object.

The real window (offscreen Qt) runs on a video played as fast as it decodes, backprop on (cursor
in the grid, `b`), so the compute thread never idles. A probe QTimer asks to fire every
`--interval-ms`; how late each firing is = how long the UI thread could not answer (painting
results, handling keys, waiting on the GIL). A second timer presses `l`/`j` every 100 ms through
the window's key path, so keys and repaints are part of the load.

Fields: ``ui_latency_ms_p50/p99/max`` (goal p99 < 50), ``probe_samples``, ``results_shown_per_s``
(how many new results the window painted), ``worker_busy`` (the compute thread was alive and
results kept coming), ``model``, ``seconds``, ``torch_threads``.

Usage: QT_QPA_PLATFORM=offscreen python bench/ui_latency.py [--seconds 10] [--model efficientnet_lite0]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402, TID251
from PySide6.QtWidgets import QApplication  # noqa: E402, TID251

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live import make_video  # noqa: E402

from deepvis_app.core.app.session import Session  # noqa: E402
from deepvis_app.core.nn.model import load_model  # noqa: E402
from deepvis_app.core.nn.threads import prepare_live_process  # noqa: E402
from deepvis_app.gui.main_window import MainWindow  # noqa: E402
from deepvis_app.gui.theme import apply_dark_theme  # noqa: E402
from deepvis_app.io.sources import InputManager  # noqa: E402
from deepvis_app.settings.loader import load_settings  # noqa: E402


class Probe:
    """Records how late a repeating QTimer fires (ms beyond its interval)."""

    def __init__(self, interval_ms: int):
        self.interval_ms = interval_ms
        self.late_ms: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer(interval=interval_ms)
        self.timer.timeout.connect(self.tick)

    def tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000 - self.interval_ms))
        self._last = now


def run(seconds: float, model: str | None, interval_ms: int) -> dict:
    settings = load_settings(model=model, overrides=["video_paced=False"]).settings
    prepare_live_process()   # as the window does before loading
    loaded = load_model(settings)
    app = QApplication.instance() or QApplication(["ui_latency"])
    apply_dark_theme(app, settings)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = InputManager(settings, str(make_video(Path(tmp) / "pan.avi")))
        session = Session(loaded, settings, inputs)
        window = MainWindow(session, settings)
        shown: list[float] = []
        window.resultShown.connect(lambda _generation: shown.append(time.perf_counter()))
        session.start()
        window.show()
        _spin(app, lambda: bool(shown), 120)
        for key in ("k", "b"):
            window.handle_key(key)
        _spin(app, lambda: False, 1.0)  # warm-up with back on
        keys = iter(["l", "j"] * 10_000)
        presser = QTimer(interval=100)
        presser.timeout.connect(lambda: window.handle_key(next(keys)))
        probe = Probe(interval_ms)
        shown.clear()
        start = time.perf_counter()
        probe.timer.start()
        presser.start()
        loop = QEventLoop()
        QTimer.singleShot(round(seconds * 1000), loop.quit)
        loop.exec()  # the real event loop, as in the app
        probe.timer.stop()
        presser.stop()
        elapsed = time.perf_counter() - start
        busy = session.pipeline.alive() and len(shown) >= 2
        window.close()
        inputs.close()
    late = np.array(probe.late_ms)
    return {"model": settings.model, "seconds": round(elapsed, 2), "probe_interval_ms": interval_ms,
            "probe_samples": int(late.size), "ui_latency_ms_p50": round(float(np.percentile(late, 50)), 2),
            "ui_latency_ms_p99": round(float(np.percentile(late, 99)), 2),
            "ui_latency_ms_max": round(float(late.max()), 2),
            "results_shown_per_s": round(len(shown) / elapsed, 2), "worker_busy": bool(busy),
            "torch_threads": torch.get_num_threads()}


def _spin(app: QApplication, done, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not done():
        app.processEvents()
        time.sleep(0.001)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--interval-ms", type=int, default=5)
    args = parser.parse_args(argv)
    json.dump(run(args.seconds, args.model, args.interval_ms), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
