"""`deepvis optimize --output-prefix/--output-template`: the original optimize_image.py's file names, written
as extra copies of each unit's kept image and its objective info; bad templates are refused before anything
is computed or written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deepvis_app.cli.main import main
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image

COMMON = ["optimize", "--layer", "_blocks.3", "--steps", "2", "--size", "32", "--no-progress", "--device", "cpu"]


def _run(tmp_path, *argv: str) -> int:
    return main([*COMMON, "--out", str(tmp_path / "unit_vis"), *argv])


def test_template_names_each_units_image_and_info(tmp_path, capsys):
    prefix = tmp_path / "named" / "opt"
    assert _run(tmp_path, "--units", "0,2", "--rand_seed", "3", "--output_prefix", str(prefix),
                "--output-template", "%(layer)s_%(unit)04d_s%(seed)d_%(steps)dsteps_%(preset)s") == 0
    report = json.loads(capsys.readouterr().out)
    layout = UnitVisLayout(tmp_path / "unit_vis")
    values = json.loads(layout.objective_values("_blocks.3").read_text())["units"]
    expected = []
    for unit in (0, 2):
        stem = f"{prefix}__blocks.3_{unit:04d}_s3_2steps_yosinski3_"
        image, info = read_image(stem + "best_X.png"), json.loads(open(stem + "info.json").read())
        np.testing.assert_array_equal(image, read_image(layout.unit_image("regularized_opt", "_blocks.3", unit)))
        assert (info["layer"], info["unit"], info["seed"], info["steps"]) == ("_blocks.3", unit, 3, 2)
        assert info["best"] == values[str(unit)]["best"] and info["last"] == values[str(unit)]["last"]
        expected += [stem + "best_X.png", stem + "info.json"]
    assert sorted(p.name for p in prefix.parent.iterdir()) == sorted(p.rsplit("/", 1)[1] for p in expected)
    assert report["written"]["named"] == expected


def test_the_originals_default_template_and_field_names(tmp_path, capsys):
    """--output-prefix alone uses the original's template %(p.push_layer)s_%(p.push_channel)04d_%(p.rand_seed)d."""
    prefix = tmp_path / "results" / "opt"
    assert _run(tmp_path, "--units", "1", "--output-prefix", str(prefix)) == 0
    capsys.readouterr()
    assert sorted(p.name for p in prefix.parent.iterdir()) == ["opt__blocks.3_0001_0_best_X.png",
                                                               "opt__blocks.3_0001_0_info.json"]


@pytest.mark.parametrize(("template", "problem"), [
    ("%(layer)s_%(channel)04d", "unknown field %(channel)s"),
    ("%(unit)q", "unsupported format character"),
    ("%(layer)d", "not a %-format of named fields"),
    ("%(unit", "incomplete format key"),
    ("%(layer)s", "gives several units the same name"),
])
def test_bad_template_is_one_clear_line_and_nothing_is_written(tmp_path, capsys, template, problem):
    assert _run(tmp_path, "--units", "0-1", "--output-prefix", str(tmp_path / "named" / "opt"),
                "--output-template", template) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--output-template {template!r}" in err and problem in err, err
    assert not any(tmp_path.iterdir()), "nothing written"


def test_template_flags_need_units(tmp_path, capsys):
    assert main(["optimize", "--objective", "channel('_blocks.3', 0)", "--steps", "1", "--out", str(tmp_path / "o"),
                 "--output-prefix", str(tmp_path / "opt")]) == 2
    assert "use them with --layer/--units" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
