"""About a minute of the real app on video: it survives and its resources stay flat (issue 8).

The real window (offscreen) on the real Session and compute thread, with the default model
(efficientnet_lite0, as a user gets it), plays a generated looping video with backprop on while
keys typed through the window cycle layers, units, every backprop and attribution method, back
views, the help overlay and the unit-images pane (bench/soak.py; run it for 30 minutes there).
After a warm-up that visits every method, memory, threads, file descriptors and `None`'s reference
count must stay flat, and closing the window must leave no hook on the model and no thread behind.
"""

from __future__ import annotations

import itertools
import re
import threading
from pathlib import Path

import pytest

from bench.soak import Soak, make_shapes_video, soak_settings
from tests.helpers.gui import assert_no_new_threads

SECONDS = 50.0
SAMPLE_S = 2.5
WARMUP_S = 20.0  # two key cycles: every method and view has run at least once
RSS_GROWTH_MB = 100.0
NONE_DRIFT = 1000  # a leaking binding loses hundreds of references per second of video

pytestmark = pytest.mark.slow  # about a minute


@pytest.fixture(scope="module")
def default_model():
    from deepvis_app.core.model import load_model

    settings = soak_settings(None, local_file=Path("/nonexistent/settings_local.py"))
    return settings, load_model(settings)


def frame_number(sample: dict) -> int:
    return int(re.search(r"#(\d+)$", sample["frame"] or "#-1")[1])


def test_a_minute_of_video_with_backprop_leaves_resources_flat(qapp, default_model, tmp_path):
    settings, loaded = default_model
    video = make_shapes_video(tmp_path / "shapes.avi")
    threads_before = set(threading.enumerate())

    report = Soak(loaded, settings, video, sample_s=SAMPLE_S).run(SECONDS)

    summary = report.summary(WARMUP_S)
    start, growth = summary["after_warmup"], summary["growth"]
    later = report.after_warmup(WARMUP_S)
    assert summary["end"]["t_s"] >= SECONDS - 1 and len(later) >= 8, report.samples
    # It survived and kept working: new results and new video frames until the end, no compute error.
    assert growth["results"] >= 40, summary
    assert len({s["frame"] for s in later}) >= 6, later
    assert any(frame_number(b) < frame_number(a) for a, b in itertools.pairwise(later)), "the video never looped"
    assert report.errors == [], report.errors
    # Flat after the warm-up. Memory swings by tens of MB between methods: a leak raises its floor.
    assert summary["rss_floor_growth_mb"] < RSS_GROWTH_MB, [s["rss_mb"] for s in later]
    assert max(s["os_threads"] for s in later) <= start["os_threads"] + 1, later
    assert max(s["py_threads"] for s in later) <= start["py_threads"] + 1, later
    assert max(s["fds"] for s in later) <= start["fds"] + 2, later
    assert min(s["none_refs"] for s in later) > start["none_refs"] - NONE_DRIFT, [s["none_refs"] for s in later]
    # Closed: no hook left on the model, no thread left running.
    assert report.hooks_after == report.hooks_before, summary
    assert_no_new_threads(threads_before)
