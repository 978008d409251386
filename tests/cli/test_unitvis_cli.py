"""`deepvis find-max / crops / report` end to end on a tiny model, and their user errors."""

from __future__ import annotations

import json

import pytest

from deepvis_app.cli.main import main
from deepvis_app.core.unitvis.layout import UnitVisLayout
from tests.core.test_find_max import make_dataset

MODEL = ["--model", "tests.core.test_find_max:Tiny", "--set", "input_size=(16, 16)", "--device", "cpu"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("images"), count=9)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_pipeline_end_to_end(dataset, tmp_path, capsys):
    out, site = tmp_path / "uv", tmp_path / "site"
    assert main(["find-max", str(dataset), "--layers", "conv,fc", "--top", "4", "--batch", "3", "--workers", "1",
                 "--out", str(out), "--no-progress", *MODEL]) == 0
    summary = _json(capsys)
    assert summary["skipped"] == ["broken.png"] and summary["images"] == 10
    units = json.loads(UnitVisLayout(out).find_max_json("conv").read_text())["units"]
    assert len(units) == 5 and all(len(u) == 4 and len(u[0]["pos"]) == 2 for u in units)

    assert main(["find-max", str(dataset), "--layers", "conv,fc", "--top", "4", "--batch", "3",
                 "--out", str(out), "--no-progress", *MODEL]) == 0
    assert _json(capsys)["batches_run"] == 0, "a finished scan resumes at its end"

    assert main(["crops", "--out", str(out), "--tile", "12", "--no-progress", *MODEL]) == 0
    assert _json(capsys)["units_written"] == {"conv": 5, "fc": 4}
    assert UnitVisLayout(out).read_unit_images("conv", 4).max_deconv.shape == (2 * 12 + 3, 2 * 12 + 3, 3)

    assert main(["report", "--out", str(site), "--unit-vis", str(out), *MODEL]) == 0
    assert (site / "index.html").is_file() and (site / "layer_conv.html").is_file()


@pytest.mark.parametrize("args, message", [
    (["--layers", "nope"], "no module named 'nope'"),
    (["--layers", ","], "--layers"),
    (["--layers", "conv", "--top", "0"], ">= 1"),
])
def test_find_max_user_errors(dataset, tmp_path, capsys, args, message):
    assert main(["find-max", str(dataset), "--out", str(tmp_path), "--no-progress", *args, *MODEL]) == 2
    assert message in capsys.readouterr().err


def test_missing_folder_and_missing_results(tmp_path, capsys):
    assert main(["find-max", str(tmp_path / "none"), "--layers", "conv", "--out", str(tmp_path), *MODEL]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["crops", "--out", str(tmp_path), "--no-progress", *MODEL]) == 2
    assert "find-max" in capsys.readouterr().err
