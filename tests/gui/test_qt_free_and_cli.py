"""Qt stays inside deepvis_app/gui; the screenshot command line works end to end (offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deepvis_app.io.images import read_image
from tests.helpers.gui import WINDOW_MODEL
from tests.helpers.models import WINDOW_CLASSES

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL_BUT_GUI = """
import importlib, pkgutil, sys
import deepvis_app
names = [m.name for m in pkgutil.walk_packages(deepvis_app.__path__, "deepvis_app.")
         if not m.name.startswith("deepvis_app.gui") and not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
bad = sorted(n for n in sys.modules if n.split(".")[0] in ("PySide6", "superqt", "shiboken6"))
print(len(names), bad)
sys.exit(1 if bad else 0)
"""


def test_non_gui_modules_import_without_qt():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL_BUT_GUI], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(done.stdout.split()[0]) > 20  # really walked the package


def test_screenshot_mode_saves_the_window_after_keys_at_device_pixel_ratio_2(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(WINDOW_CLASSES), encoding="utf-8")
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2", "PYTHONPATH": str(ROOT),
           "DEEPVIS_SETTINGS_LOCAL": ""}
    command = [sys.executable, "run_toolbox.py", "--model", WINDOW_MODEL, "--set", "input_size=(64, 64)",
               "--set", f"labels={str(labels)!r}", "--set", "window_size=(900, 560)", "--device", "cpu",
               "--screenshot", str(out), "--keys", "k l b h", "--after-ms", "50"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    image = read_image(out)
    assert image.shape[:2] == (2 * 560, 2 * 900)  # HiDPI: the grab is in device pixels
    assert image.reshape(-1, 3).std(axis=0).max() > 20  # real content, not a blank window
    assert not list(tmp_path.glob(".shot.png.*"))  # written atomically


def test_bad_key_name_is_a_one_line_error(capsys):
    from deepvis_app.cli.main import main

    assert main(["gui", "--screenshot", "unused.png", "--keys", "l Nope"]) == 2
    err = capsys.readouterr().err
    assert "Nope" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
