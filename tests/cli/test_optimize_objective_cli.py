"""`deepvis optimize --objective EXPR` and the original optimize_image.py's flags, end to end on a
two-conv net (a few steps on 16 px images)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepvis_app.cli.main import build_parser, main
from deepvis_app.cli.optimize_commands import config_from_args
from deepvis_app.core.methods.attribution.objective import tapped_layers
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.optimize.objective_expr import parse_objective, slug
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image

NET = ["--model", "tests.helpers.models:two_conv_net", "--set", "input_size=(16, 16)", "--device", "cpu",
       "--no-progress", "--size", "16"]
EXPR = "channel('2', 3) - 0.5*channel('2', 1)"


def _run(capsys, *argv: str) -> dict:
    assert main(["optimize", *argv, *NET]) == 0
    return json.loads(capsys.readouterr().out)


def test_expression_writes_its_image_values_and_history(tmp_path, capsys):
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.settings.loader import load_settings

    report = _run(capsys, "--objective", EXPR, "--out", str(tmp_path), "--steps", "3")
    layout = UnitVisLayout(tmp_path)
    image_path = layout.objective_image(slug(EXPR), 0)
    assert report["written"]["images"] == [str(image_path)] and report["layers"] == ["2"]
    image = read_image(image_path)
    assert image.shape == (16, 16, 3)
    record = json.loads(layout.objective_record(slug(EXPR)).read_text())
    assert record["objective"] == EXPR and len(record["history"]) == 1 and len(record["history"][0]) == 3
    assert record["best"] == pytest.approx(report["best_values"]) and max(record["history"][0]) == \
        pytest.approx(record["best"][0])
    # the saved PNG, fed back, has the recorded value (up to 8-bit rounding)
    loaded = load_model(load_settings("tests.helpers.models:two_conv_net", ["input_size=(16, 16)"],
                                      local_file=tmp_path / "none.py", extra={"device": "cpu"}).settings)
    objective = parse_objective(EXPR, lambda name: loaded.layer(name).channels)
    x = torch.from_numpy(loaded.preprocessor.to_array(image))[None]
    with torch.no_grad():
        measured = objective(forward_until(loaded.module, x, tapped_layers(objective)))
    assert float(measured[0]) == pytest.approx(report["best_values"][0], abs=2e-3)


def test_diversity_batch_and_snapshots(tmp_path, capsys):
    text = "channel('2', 3) + 10*diversity('2')"
    report = _run(capsys, "--objective", text, "--out", str(tmp_path), "--steps", "3", "--batch", "3",
                  "--snapshots", "1,3")
    layout = UnitVisLayout(tmp_path)
    name = slug(text)
    expected = [layout.objective_image(name, i) for i in range(3)] + \
        [layout.objective_image(name, i, step) for step in (1, 3) for i in range(3)]
    assert sorted(report["written"]["images"]) == sorted(map(str, expected))
    assert all(path.is_file() for path in expected)
    images = [read_image(layout.objective_image(name, i)) for i in range(3)]
    assert not np.array_equal(images[0], images[1]), "each image starts from its own draw"
    # diversity needs two images: the default batch is 2
    assert len(_run(capsys, "--objective", "diversity('2')", "--out", str(tmp_path), "--steps", "1")
               ["best_values"]) == 2


@pytest.mark.parametrize("argv, fragment", [
    (["--objective", "__import__('os').system('touch hacked')"], "--objective column 1: "),
    (["--objective", "channel('2', 3).__class__"], "attribute access"),
    (["--objective", "channel('9', 3)"], "unknown layer '9'"),
    (["--objective", "channel('2', 5)"], "unit 5 out of range"),
    (["--objective", "neuron('2', 1, 30, 0)"], "outside the 16x16"),
    (["--objective", EXPR, "--layer", "2"], "drop --layer/--units"),
    (["--units", "1"], "--layer and --units are required"),
    (["--objective", EXPR, "--push-spatial", "1", "1"], "neuron(L, c, x, y)"),
    (["--objective", EXPR, "--diversity", "3"], "W*diversity('L')"),
    (["--objective", "diversity('2')", "--batch", "1"], "--batch >= 2"),
    (["--layer", "2", "--units", "1", "--snapshots", "0,2"], "between 1 and --steps (2)"),
    (["--layer", "2", "--units", "1", "--snapshots", "3"], "between 1 and --steps (2)"),
    (["--layer", "2", "--units", "1", "--snapshots", "a"], "--snapshots 'a'"),
    (["--layer", "2", "--units", "1", "--lr-params", "__import__('os')"], "--lr-params"),
    (["--layer", "2", "--units", "1", "--lr-params", "{'speed': 1}"], "unknown key 'speed'"),
    (["--layer", "2", "--units", "1", "--push-spatial", "20", "3"], "outside the 16x16 map"),
    (["--layer", "2", "--units", "1", "--push-spatial", "2"], "push_spatial"),
    (["--layer", "2", "--units", "1", "--push-spatial", "2", "2", "--objective", "channel"], "neuron objective"),
    (["--layer", "2", "--units", "1", "--push-dir", "0"], "push_dir = 0"),
    (["--layer", "2", "--units", "1", "--start-at", "randu", "--param", "fft"], "plain pixel"),
])
def test_bad_input_is_a_one_line_user_error(tmp_path, capsys, argv, fragment):
    out = tmp_path / "out"
    assert main(["optimize", "--out", str(out), "--steps", "2", *argv, *NET]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) <= 3, err
    assert not out.exists() or not any(out.rglob("*.png")), "nothing written"
    assert not (tmp_path / "hacked").exists()


def test_start_at_choices_are_the_originals(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["optimize", "--out", str(tmp_path), "--layer", "2", "--units", "1", "--start-at", "zeros", *NET])
    assert exit_info.value.code == 2 and "mean_plus_rand" in capsys.readouterr().err


ORIGINAL = ["--push-layer", "2", "--push-channel", "1", "--max-iter", "4", "--lr-policy", "progress",
            "--lr-params", "{'max_lr': 1e4, 'desired_prog': 0.5}", "--decay", "0.001", "--blur-radius", "0.5",
            "--blur-every", "2", "--small-val-percentile", "5", "--small-norm-percentile", "1",
            "--px-benefit-percentile", "1", "--px-abs-benefit-percentile", "1", "--rand-seed", "3",
            "--start-at", "randu", "--push-dir", "-1", "--push-spatial", "3", "4", "--brave"]
CURRENT = ["--layer", "2", "--units", "1", "--steps", "4", "--lr_policy", "progress", "--max_lr", "1e4",
           "--desired_prog", "0.5", "--decay", "0.001", "--blur_radius", "0.5", "--blur_every", "2",
           "--small_val_percentile", "5", "--small_norm_percentile", "1", "--px_benefit_percentile", "1",
           "--px_abs_benefit_percentile", "1", "--seed", "3", "--start_at", "randu", "--push_dir", "-1",
           "--push_spatial", "3", "4", "--force"]


def test_original_optimize_image_flags_are_aliases(tmp_path, capsys):
    def parse(argv):
        return build_parser().parse_args(["optimize", "--out", str(tmp_path), *argv])

    original, current = parse(ORIGINAL), parse(CURRENT)
    assert config_from_args(original) == config_from_args(current)
    assert (original.layer, original.units, original.force) == ("2", "1", True)
    config = config_from_args(original)
    assert (config.steps, config.max_lr, config.desired_prog, config.push_dir, config.push_spatial,
            config.start_at, config.seed) == (4, 1e4, 0.5, -1.0, (3, 4), "randu", 3)
    assert config_from_args(parse(CURRENT + ["--lr-params", "{'lr': 7}", "--lr", "9"])).lr == 9.0, \
        "an explicit flag wins over --lr-params"
    _run(capsys, *ORIGINAL, "--out", str(tmp_path))
    layout = UnitVisLayout(tmp_path)
    history = json.loads(layout.unit_history("2", 1).read_text())
    assert len(history["values"]) == 4 and history["push_dir"] == -1.0
    assert read_image(layout.unit_image("regularized_opt", "2", 1)).shape == (16, 16, 3)


def test_unit_diversity_snapshots_and_minimizing(tmp_path, capsys):
    from deepvis_app.core.unitvis.optimize.config import preset

    report = _run(capsys, "--layer", "2", "--units", "0-1", "--steps", "4", "--diversity", "20",
                  "--diversity-images", "3", "--snapshots", "2,4", "--out", str(tmp_path))
    assert report["computed"] == 2
    layout = UnitVisLayout(tmp_path)
    for unit in (0, 1):
        main_image = read_image(layout.unit_image("regularized_opt", "2", unit))
        variants = [read_image(layout.unit_variant("2", unit, copy)) for copy in (1, 2)]
        assert all(not np.array_equal(main_image, v) for v in variants)
        for step in (2, 4):
            assert all(layout.unit_snapshot("2", unit, step, copy).is_file() for copy in range(3))
        history = json.loads(layout.unit_history("2", unit).read_text())
        assert len(history["copies"]) == 3 and history["copies"][0] == history["values"]
    values = json.loads(layout.objective_values("2").read_text())["units"]
    assert len(values["0"]["copies_best"]) == 3
    # snapshot 4 of a 4-step run is the last image (render clip, keep last)
    _run(capsys, "--layer", "2", "--units", "0", "--steps", "4", "--keep", "last", "--snapshots", "4",
         "--out", str(tmp_path / "last"))
    last = UnitVisLayout(tmp_path / "last")
    assert np.array_equal(read_image(last.unit_snapshot("2", 0, 4)), read_image(last.unit_image("regularized_opt",
                                                                                                   "2", 0)))
    assert preset("yosinski3").push_dir == 1.0
