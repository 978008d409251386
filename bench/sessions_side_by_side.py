"""The live loop with two frames in flight, approximated by two sessions side by side: prints one JSON object.

`frames_in_flight.py` shows that the bare model gets more frames for less CPU when frames run side by
side on one thread each than when each frame is split over all threads. This measures the same with
everything the live loop does per frame (decoding, fitting, taps, drawing): one session as the window runs
it (the compute thread chooses its threads), against two sessions at once, each with a model of its own
and its compute thread pinned to one torch thread (`torch_threads`), their frames counted together. Both
against the bare model (`bare_model.py`, a plain process), in alternation, ``--rounds`` times, with
backprop off (``*_off``) and on (``*_on``): frames per second, CPU ms per frame, and
``cpu_ratio`` = bare / live CPU ms per frame as in `live.py`. Two sessions decode a video each,
so per frame they do what one loop with two compute workers would do.

Usage: python bench/sessions_side_by_side.py [--seconds 4] [--rounds 3] [--model NAME]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bare_model import BareModel
from frames_in_flight import arguments
from live import LiveRun, make_video

from deepvis_app.core.nn.model import load_model
from deepvis_app.settings.loader import load_settings

KEYS = {"off": ["Esc"], "on": ["k", "b"]}   # backprop off (cursor on the layer list) / on (gradient)


def shown(runs: list[LiveRun], keys: list[str], seconds: float) -> tuple[float, float]:
    """(frames per second, CPU ms per frame) of ``runs`` together, playing for ``seconds``."""
    for run in runs:
        for key in keys:
            run.session.handle_key(key)
        run._set_frozen(False)
    for run in runs:
        run.counter.wait_for(run.counter.count + 2)   # the keys' recompute and a first new frame
    before = sum(run.counter.count for run in runs)
    start, cpu = time.perf_counter(), time.process_time()
    time.sleep(seconds)
    frames = max(sum(run.counter.count for run in runs) - before, 1)
    rate = (frames / (time.perf_counter() - start), 1000 * (time.process_time() - cpu) / frames)
    for run in runs:
        run._set_frozen(True)
    time.sleep(0.5)   # the frames in flight finish
    return rate


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv)
    settings = load_settings(args.model).settings.replace(unit_images_on_demand=False, video_paced=True)
    pinned = settings.replace(torch_threads=1)
    loaded = load_model(settings)
    bare = BareModel(loaded.layers[0].name, args.model)
    rates: dict[str, list[tuple[float, float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            video = make_video(Path(tmp) / "pan.avi")
            for _ in range(args.rounds):
                for side, step in (("off", "fwd"), ("on", "fb")):
                    rates.setdefault(f"bare_{side}", []).append(bare.rate(step, args.seconds / 2)[:2])
                one = LiveRun(loaded, settings, video)
                for side, keys in KEYS.items():
                    rates.setdefault(f"one_session_{side}", []).append(shown([one], keys, args.seconds))
                one.close()
                two = [LiveRun(load_model(pinned), pinned, video) for _ in range(2)]
                for side, keys in KEYS.items():
                    rates.setdefault(f"two_sessions_{side}", []).append(shown(two, keys, args.seconds))
                for run in two:
                    run.close()
    finally:
        bare.close()
    report: dict = {"model": settings.model}
    for name, values in rates.items():
        report[name] = {"fps": round(statistics.median(v[0] for v in values), 1),
                        "cpu_ms_per_frame": round(statistics.median(v[1] for v in values), 1)}
        if not name.startswith("bare"):
            baseline = rates["bare_" + name.rsplit("_", 1)[1]]
            report[name]["cpu_ratio"] = round(statistics.median(b[1] / v[1] for b, v in zip(baseline, values,
                                                                                             strict=True)), 3)
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
