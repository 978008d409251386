"""`deepvis find-max / crops / report` end to end on a tiny model, and their user errors."""

from __future__ import annotations

import json

import pytest

from deepvis_app.cli.main import main
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from tests.helpers.datasets import make_dataset
from tests.helpers.hostile_images import jpeg_claiming, write

MODEL = ["--model", "tests.helpers.models:FindMaxNet", "--set", "input_size=(16, 16)", "--device", "cpu"]


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
    summary = _json(capsys)
    # unit_backprop = auto and no max-pooling (FindMaxNet average-pools): guided backprop
    assert summary["units_written"] == {"conv": 5, "fc": 4} and summary["methods"] == ["guided"]
    images = UnitVisLayout(out, "max_guided").read_unit_images("conv", 4)
    assert images.max_deconv.shape == (2 * 12 + 3, 2 * 12 + 3, 3) and images.backprop_kind == "max_guided"
    assert UnitVisLayout(out).read_unit_images("conv", 4).max_deconv is None, "no deconv written"
    assert main(["crops", "--out", str(out), "--tile", "12", "--no-progress", "--layers", "conv",
                 "--set", "unit_backprop='deconv'", *MODEL]) == 0
    assert _json(capsys)["methods"] == ["deconv"]
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


# --- issue 8: output paths checked before computing; bad images listed; progress per layer ----------
@pytest.mark.parametrize("command", ["find-max", "crops", "report"])
def test_output_that_is_a_file_is_refused_before_the_model_loads(dataset, tmp_path, capsys, command):
    out = tmp_path / "out.txt"
    out.write_text("not a folder")
    argv = {"find-max": ["find-max", str(dataset), "--layers", "conv", "--no-progress"],
            "crops": ["crops", "--no-progress"], "report": ["report", "--unit-vis", str(tmp_path)]}[command]
    # a model that does not exist: had the model been loaded first, its error would come instead
    assert main([*argv, "--out", str(out), "--model", "no_such_model_anywhere"]) == 2
    err = capsys.readouterr().err
    assert f"{out}: exists and is not a folder" in err and "no_such_model" not in err


def test_find_max_lists_oversized_images_and_says_when_state_is_discarded(tmp_path, capsys):
    images = make_dataset(tmp_path / "images", count=6)
    write(images / "huge.jpg", jpeg_claiming(32768, 32768))
    args = ["find-max", str(images), "--layers", "fc", "--batch", "4", "--workers", "1", "--out",
            str(tmp_path / "uv"), "--no-progress", *MODEL]
    assert main(args) == 0
    summary = _json(capsys)
    assert summary["skipped"] == ["broken.png", "huge.jpg"] and summary["state_discarded"] is None
    assert "32768x32768" in summary["problems"]["huge.jpg"]
    (images / "huge.jpg").unlink()
    assert main(args) == 0
    assert "images changed" in _json(capsys)["state_discarded"]


def test_crops_progress_starts_over_at_each_layer():
    """The second layer's ETA is its own: 9 units left at 1 unit/s, not diluted by the first
    layer's 100 s (which made a 2.5-minute job read 7:47:59)."""
    import io

    from tqdm import tqdm

    from deepvis_app.cli.unitvis_commands import unit_progress

    clock = [0.0]
    bar = tqdm(file=io.StringIO(), total=0)
    bar._time = lambda: clock[0]
    bar.start_t = bar.last_print_t = 0.0
    progress = unit_progress(bar)
    progress("conv", 0, 10)
    clock[0] = 100.0
    progress("conv", 10, 10)
    progress("fc", 0, 10)
    clock[0] = 101.0
    progress("fc", 1, 10)
    info = bar.format_dict
    assert (info["n"], info["total"], info["prefix"].rstrip(": ")) == (1, 10, "fc")
    remaining = (info["total"] - info["n"]) * info["elapsed"] / info["n"]
    assert remaining == pytest.approx(9.0)
    bar.close()
