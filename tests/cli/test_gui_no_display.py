"""Without a display, `deepvis gui` and `scripts/run.sh` say so in one line (exit 2) and name the ways
out, instead of Qt's abort about xcb libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepvis_app.cli.common import UserError
from deepvis_app.cli.gui_command import check_display

ROOT = Path(__file__).resolve().parents[2]
WAYS_OUT = ("xvfb-run", "deepvis web", "QT_QPA_PLATFORM=offscreen")


def _no_display_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return {**env, "DEEPVIS_SETTINGS_LOCAL": "", "XDG_STATE_HOME": str(tmp_path)}


def test_check_display_names_the_ways_out():
    with pytest.raises(UserError) as error:
        check_display({}, "linux")
    assert all(way in str(error.value) for way in WAYS_OUT) and "\n" not in str(error.value)
    for env in ({"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}, {"QT_QPA_PLATFORM": "offscreen"}):
        check_display(env, "linux")
    check_display({}, "darwin")


@pytest.mark.slow
def test_deepvis_gui_without_a_display_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "deepvis_app", "gui"], cwd=ROOT, env=_no_display_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepvis: error: no display"), done.stderr
    assert all(way in lines[0] for way in WAYS_OUT)


def test_run_sh_without_a_display_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "scripts" / "run.sh")], env=_no_display_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and all(way in lines[0] for way in WAYS_OUT)
