"""The real window (offscreen, its own process, the command line a user types) on a segmentation model with
a region dragged by the mouse, a detection model with a box clicked, an embedding model with a reference,
and a two-input network: each screenshot shows what the kind adds to the input pane."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepvis_app.core.imaging.output_overlay import REGION_COLOR, SELECTED_COLOR
from deepvis_app.io.images import read_image

ROOT = Path(__file__).resolve().parents[2]


def _shot(tmp_path, *args: str) -> np.ndarray:
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "DEEPVIS_SETTINGS_LOCAL": ""}
    command = [sys.executable, "run_toolbox.py", "--device", "cpu", "--set", "window_size=(900, 560)",
               "--screenshot", str(out), "--after-ms", "500", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return read_image(out)


def _count(image: np.ndarray, color) -> int:
    return int((np.abs(image.astype(int) - np.asarray(color)).sum(-1) < 30).sum())


@pytest.mark.slow
def test_a_dragged_region_is_outlined_and_explained(tmp_path):
    shot = _shot(tmp_path, "--model", "tests.helpers.output_models:segmentation", "--set", "input_size=(64,64)",
                 "--input", "sample:chelsea", "--keys", "b", "--drag", "8,8,40,40")
    assert _count(shot, REGION_COLOR) > 100, "the region's outline"


@pytest.mark.slow
def test_a_clicked_detection_is_drawn_selected(tmp_path):
    shot = _shot(tmp_path, "--model", "tests.helpers.output_models:detection", "--set", "input_size=(128,128)",
                 "--set", "mean=(0,0,0)", "--set", "std=(1,1,1)", "--input", "sample:coffee", "--keys", "b",
                 "--drag", "64,64,64,64")
    assert _count(shot, SELECTED_COLOR) > 30, "the clicked box in the selection colour"


@pytest.mark.slow
def test_an_embedding_and_a_pair_open(tmp_path):
    _shot(tmp_path, "--model", "tests.helpers.output_models:embedding", "--set", "input_size=(32,32)",
          "--set", "similar_to='sample:coffee'", "--input", "sample:chelsea", "--keys", "b")
    shot = _shot(tmp_path, "--model", "tests.helpers.output_models:siamese", "--set", "input_size=(32,32)",
                 "--set", "two_inputs='arguments'", "--input", "sample:chelsea,sample:coffee", "--keys", "b")
    assert shot.std() > 0
