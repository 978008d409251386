"""`deepvis optimize` and `deepvis dream` end to end on the default model with few steps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepvis_app.cli.main import main
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.optimize.objectives import unit_objective
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image, write_image


def test_optimize_writes_units_sprite_and_values(tmp_path, capsys):
    out = tmp_path / "unit_vis"
    common = ["optimize", "--layer", "_blocks.3", "--steps", "3", "--size", "40", "--out", str(out),
              "--no-progress", "--device", "cpu"]
    assert main(common + ["--units", "0-2", "--batch", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["units"] == 3 and set(report["best_values"]) == {"0", "1", "2"}
    assert main(common + ["--units", "5", "--preset", "lucent", "--param", "pixel", "--decorrelate"]) == 0
    capsys.readouterr()
    layout = UnitVisLayout(out)
    for unit in (0, 1, 2, 5):
        image = read_image(layout.unit_image("regularized_opt", "_blocks.3", unit))
        assert image.shape == (40, 40, 3)
    tiles = layout.read_sprite_tiles("_blocks.3", 40)  # _blocks.3 has 40 channels: a 7x7 grid of 40 px
    assert read_image(layout.whole_layer_sprite("_blocks.3")).shape == (280, 280, 3)
    assert all(tiles[u].mean() > 20 for u in (0, 1, 2, 5)), "the second run kept the first run's tiles"
    assert all(tiles[u].max() < 30 for u in (3, 4, 6, 39)), "units not optimized stay black"
    values = json.loads((out / "regularized_opt" / "_blocks.3" / "objective_values.json").read_text())
    assert set(values["units"]) == {"0", "1", "2", "5"}
    assert values["units"]["5"]["preset"] == "lucent" and values["units"]["0"]["preset"] == "yosinski3"


@pytest.mark.parametrize("args, fragment", [
    (["--layer", "_blocks.99", "--units", "0"], "no such layer"),
    (["--layer", "_blocks.3", "--units", "0-40"], "unit 40 out of range"),
    (["--layer", "_blocks.3", "--units", "3-1"], "bad range"),
    (["--layer", "_blocks.3", "--units", "a"], "not a unit"),
])
def test_optimize_bad_input_is_a_user_error(tmp_path, capsys, args, fragment):
    assert main(["optimize", "--out", str(tmp_path), "--steps", "1", *args]) == 2
    assert fragment in capsys.readouterr().err
    assert not any(tmp_path.iterdir()), "nothing written"


def test_dream_multiscale_from_sample_image_saves_iterations(tmp_path, capsys):
    out = tmp_path / "dream.png"
    argv = ["dream", "sample:coffee", "--layer", "_blocks.2", "-o", str(out), "--num_steps", "2",
            "--initial_size", "x0.3", "--final-size", "x0.5", "--num_sizes", "2", "--output_iter", "2",
            "--iter_behavior", "save+print", "--use_pixel_learning_rates", "--tv_reg", "0.01", "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "step 2/2 size 2/2" in printed and "tv_loss" in printed
    final = read_image(out)
    assert final.shape == (200, 300, 3)  # coffee is 400x600; x0.5
    assert read_image(tmp_path / "dream_1_2.png").shape == (120, 180, 3)
    assert read_image(tmp_path / "dream_2_2.png").shape == (200, 300, 3)
    assert np.abs(final.astype(int) - read_image(tmp_path / "dream_2_2.png")).max() <= 1


def test_dream_neuron_from_noise_and_errors(tmp_path, capsys):
    out = tmp_path / "n.png"
    assert main(["dream", "--target_layer", "_blocks.1", "--unit", "3", "--num_steps", "1", "-o", str(out),
                 "--initial_size", "64x48", "--initialization_blur", "1", "--iter_behavior", "print",
                 "--rescale_image", "--device", "cpu"]) == 0
    assert read_image(out).shape == (64, 48, 3)
    capsys.readouterr()
    assert main(["dream", "--layer", "_blocks.1", "--unit", "999", "-o", str(out)]) == 2
    assert "has 24 units" in capsys.readouterr().err
    assert main(["dream", "--layer", "_blocks.1", "--final_size", "huge", "-o", str(out)]) == 2
    assert "HxW" in capsys.readouterr().err
    assert main(["dream", "--layer", "_blocks.1", "--iter_behavior", "save+dance", "-o", str(out)]) == 2
    assert "dance" in capsys.readouterr().err


def test_saved_optimized_image_reproduces_the_recorded_objective(tmp_path, capsys, default_model):
    """The file, read back through the layout and fed to the network, keeps >= 95% of the objective
    recorded for it. A JPEG of the same images kept 72-88% (its pixel spread is a few dozen grey
    levels, and the optimized pattern lives in the last bits)."""
    layer, units, size = "_blocks.5", [0, 1, 2, 3], 112
    out = tmp_path / "unit_vis"
    assert main(["optimize", "--layer", layer, "--units", "0-3", "--steps", "40", "--size", str(size),
                 "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    recorded = json.loads(capsys.readouterr().out)["best_values"]
    layout = UnitVisLayout(out)
    assert layout.unit_image("regularized_opt", layer, 0).suffix == ".png"
    images = [layout.read_unit_images(layer, unit).regularized_opt for unit in units]
    assert all(image.shape == (size, size, 3) for image in images)
    x = torch.from_numpy(np.stack([default_model.preprocessor.to_array(image) for image in images]))
    with torch.no_grad():
        values = unit_objective("neuron", layer, torch.tensor(units))(forward_until(default_model.module, x, [layer]))
    ratios = values.numpy() / np.array([recorded[str(unit)] for unit in units])
    assert (ratios >= 0.95).all(), ratios


def test_old_jpeg_optimized_images_still_load(tmp_path):
    layout = UnitVisLayout(tmp_path)
    old = tmp_path / "regularized_opt" / "conv" / "conv_0003.jpg"
    write_image(old, np.full((8, 8, 3), 200, np.uint8))
    assert layout.unit_image("regularized_opt", "conv", 3) == old
    assert np.abs(layout.read_unit_images("conv", 3).regularized_opt.astype(int) - 200).max() <= 2
    new = layout.write_unit_image("regularized_opt", "conv", 3, np.zeros((8, 8, 3), np.uint8))
    assert new.suffix == ".png" and not old.exists(), "the rewrite replaces the old JPEG"
    assert layout.read_unit_images("conv", 3).regularized_opt.max() == 0
