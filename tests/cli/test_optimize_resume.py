"""A killed `deepvis optimize` keeps the units it finished, and a rerun computes only the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepvis_app.cli.main import main
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image
from tests.helpers.models import SLOW_UNITS

REPO = Path(__file__).resolve().parents[2]
UNITS = SLOW_UNITS
ARGS = ["optimize", "--layer", "conv", "--units", f"0-{UNITS - 1}", "--batch", "1", "--steps", "30", "--size", "16",
        "--no-progress", "--model", "tests.helpers.models:SlowNet", "--set", "input_size=(16, 16)",
        "--device", "cpu"]


def _done(out: Path) -> dict:
    path = UnitVisLayout(out).objective_values("conv")
    try:
        return json.loads(path.read_text())["units"]
    except (OSError, ValueError):
        return {}


def _run(out: Path, *extra: str, capsys) -> dict:
    assert main(ARGS + ["--out", str(out), *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_killed_run_keeps_finished_units_and_rerun_completes(tmp_path, capsys):
    out = tmp_path / "unit_vis"
    process = subprocess.Popen([sys.executable, "-m", "deepvis_app", *ARGS, "--out", str(out)], cwd=REPO,
                               env=os.environ | {"PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _done(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    finished = _done(out)
    assert finished, f"no unit was finished before the kill: {stderr.decode()[-2000:]}"
    assert len(finished) < UNITS, "the run finished before the kill: make SlowTiny slower"

    layout = UnitVisLayout(out)
    kept = {}
    for unit in map(int, finished):
        path = layout.unit_image("regularized_opt", "conv", unit)
        assert read_image(path).shape == (16, 16, 3)
        kept[unit] = path.read_bytes()
    assert read_image(layout.whole_layer_sprite("conv")).shape == (3 * 16, 3 * 16, 3)

    report = _run(out, capsys=capsys)
    assert (report["skipped"], report["computed"]) == (len(finished), UNITS - len(finished))
    assert set(_done(out)) == {str(u) for u in range(UNITS)} == set(report["best_values"])
    assert all(layout.unit_image("regularized_opt", "conv", u).read_bytes() == data for u, data in kept.items()), \
        "a finished unit was computed again"
    tiles = layout.read_sprite_tiles("conv", UNITS)
    for unit in range(UNITS):
        image = read_image(layout.unit_image("regularized_opt", "conv", unit)).astype(int)
        assert abs(tiles[unit].astype(int) - image).mean() < 8, f"sprite tile {unit} is not the unit's image"

    assert _run(out, capsys=capsys)["computed"] == 0, "everything is done"
    assert _run(out, "--units", "0,1", "--steps", "29", capsys=capsys)["computed"] == 2, "other settings: not done"
    assert _run(out, "--units", "2", "--force", capsys=capsys)["computed"] == 1


def test_unreadable_values_file_stops_before_computing(tmp_path, capsys):
    out = tmp_path / "unit_vis"
    values = UnitVisLayout(out).objective_values("conv")
    values.parent.mkdir(parents=True)
    values.write_text("[1, 2]")
    assert main(ARGS + ["--out", str(out)]) == 2
    assert "objective_values.json" in capsys.readouterr().err
    assert sorted(p.name for p in values.parent.iterdir()) == ["objective_values.json"], "nothing written"
