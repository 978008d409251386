"""`deepvis find-max --search-min --summaries --summary-images` (the arikpoz fork's find_max_acts options)."""

from __future__ import annotations

import json

import pytest

from deepvis_app.cli.main import main
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from tests.helpers.datasets import make_dataset

MODEL = ["--model", "tests.helpers.models:FindMaxNet", "--set", "input_size=(16, 16)", "--device", "cpu"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("images"), count=9)


def test_search_min_and_summaries_write_their_files(dataset, tmp_path, capsys):
    out = tmp_path / "uv"
    assert main(["find-max", str(dataset), "--layers", "conv,fc", "--top", "3", "--batch", "4", "--out", str(out),
                 "--search-min", "--summaries", "--summary-images", "5", "--no-progress", *MODEL]) == 0
    written = set(json.loads(capsys.readouterr().out)["written"])
    layout = UnitVisLayout(out)
    for layer, units in (("conv", 5), ("fc", 4)):
        top = json.loads(layout.find_max_json(layer).read_text())["units"]
        low = json.loads(layout.find_min_json(layer).read_text())["units"]
        assert len(low) == units and all(len(u) == 3 for u in low)
        assert all(lo[0]["value"] <= hi[-1]["value"] for lo, hi in zip(low, top, strict=True))
        summary = json.loads(layout.find_max_summary(layer).read_text())
        assert summary["images"] == 4, "the first 5 files, broken.png among them"
        expected = {layout.find_min_json(layer), layout.find_max_summary(layer), layout.layer_inactivity(layer),
                    layout.channels_correlation(layer), layout.channels_correlation_matrix(layer),
                    *(layout.max_histogram(layer, unit) for unit in range(units))}
        assert {str(p) for p in expected} <= written and all(p.is_file() for p in expected)
    assert layout.find_max_layers() == ["conv", "fc"], "find_min/ and crops/ do not add layers"


def test_summary_images_must_be_positive(dataset, tmp_path, capsys):
    assert main(["find-max", str(dataset), "--layers", "conv", "--out", str(tmp_path), "--summaries",
                 "--summary-images", "0", "--no-progress", *MODEL]) == 2
    assert "--summary-images 0: must be at least 1" in capsys.readouterr().err
