"""Batched regularized optimization: each unit's result equals optimizing it alone, and an
optimized image beats every dataset image at driving its unit (default model, sample images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.optimize.config import preset
from deepvis_app.core.unitvis.optimize.loop import optimize_units
from deepvis_app.core.unitvis.optimize.params import InputSpace
from deepvis_app.io.images import SAMPLE_NAMES, sample_image


@pytest.fixture(scope="module")
def space(default_model):
    return InputSpace.from_preprocessor(default_model.preprocessor)


@pytest.fixture
def single_thread():
    """Batch-size-independent float sums need one intra-op thread: with two, a conv's summation order
    differs between a batch of 2 and of 1, and Adam (lucent) turns near-zero gradient differences into
    full-size steps of opposite sign, so the comparison would test thread scheduling, not batching."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name, changes", [
    ("yosinski1", {"objective": "channel"}),  # progress lr, blur, per-image small-norm percentile
    ("yosinski4", {}),  # px_abs_benefit percentile, neuron objective
    ("cnnvis", {"lr": 4.0}),  # RMSProp, p-norm, TV
    # FFT, decorrelation, random transforms, Adam: compared loosely (see below)
    ("lucent", {"lr": 0.1}),
    ("cppn", {"lr": 0.02}),  # one CPPN per row (batched weights), standard transforms, Adam
])
def test_batched_equals_one_at_a_time(default_model, space, name, changes, single_thread):
    config = preset(name).replace(steps=6, size=(64, 64), seed=3, **changes)
    units = [5, 9]
    batched = optimize_units(default_model.module, space, "_blocks.3", units, config, (224, 224))
    for row, unit in enumerate(units):
        alone = optimize_units(default_model.module, space, "_blocks.3", [unit], config, (224, 224))
        if config.optimizer == "adam":
            # oneDNN's conv kernels differ in the last bits between a batch row and a lone image,
            # and Adam (m / sqrt(v)) turns those differences on near-zero gradients into full
            # steps; the random transforms' odd sizes and the "best" arg-max add to it. Mixing
            # rows would make the images unrelated (correlation about 0), so compare shapes.
            assert _correlation(batched.z[row], alone.z[0]) > 0.99
            assert batched.best_values[row] == pytest.approx(alone.best_values[0], rel=0.02)
            continue
        torch.testing.assert_close(batched.z[row], alone.z[0], rtol=1e-3, atol=1e-2)
        assert batched.best_values[row] == pytest.approx(alone.best_values[0], rel=1e-3, abs=1e-3)
    assert not torch.allclose(batched.z[0], batched.z[1]), "different units must get different images"


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])


@pytest.mark.parametrize("seed", range(4))
def test_random_transforms_treat_every_row_alike(seed):
    """Each transform draws once per call: a row transformed in a batch equals it transformed alone."""
    from deepvis_app.core.unitvis.optimize.transforms import transform_set

    images = torch.randn(3, 3, 40, 40, generator=torch.Generator().manual_seed(seed)) * 30
    fill = torch.full((1, 3, 1, 1), 0.5)
    transform = transform_set("standard")
    batched = transform(images, fill, torch.Generator().manual_seed(seed))
    for row in range(3):
        alone = transform(images[row:row + 1], fill, torch.Generator().manual_seed(seed))
        assert torch.equal(batched[row], alone[0])
    assert batched.shape[-1] != 40 or not torch.equal(batched, images), "the transforms changed nothing"


def test_optimized_image_beats_dataset_top1(default_model, space):
    """`_blocks.5` units: the max over positions for the optimized image > the max over the sample images."""
    layer, units = "_blocks.5", [0, 1, 2]
    model = default_model.module
    dataset = default_model.preprocessor.batch([sample_image(n) for n in SAMPLE_NAMES])
    with torch.no_grad():
        top1 = forward_until(model, dataset, [layer])[layer][:, units].amax(dim=(2, 3)).amax(0)
    config = preset("yosinski3").replace(steps=25, size=(96, 96), objective="channel")
    result = optimize_units(model, space, layer, units, config, (224, 224))
    with torch.no_grad():
        acts = forward_until(model, space.to_net(result.z), [layer])[layer]
    achieved = acts[torch.arange(len(units)), units].amax(dim=(1, 2))
    assert (achieved > top1).all(), (achieved, top1)
    # the best value reported is the objective (channel mean) of the returned image
    means = acts[torch.arange(len(units)), units].mean(dim=(1, 2))
    np.testing.assert_allclose(means.numpy(), result.best_values, rtol=1e-3)


def test_unknown_choices_are_value_errors(default_model, space):
    with pytest.raises(ValueError, match="objective"):
        optimize_units(default_model.module, space, "_blocks.0", [0], preset("yosinski3").replace(
            objective="bogus", steps=1, size=(32, 32)), (224, 224))



def _small():
    """two_conv_net (layer "2": 5 units) and its input space at 16 px."""
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.settings.defaults import Settings
    from tests.helpers.models import two_conv_net

    return two_conv_net(), InputSpace.from_preprocessor(Preprocessor(Settings(input_size=(16, 16))))


def _measure(net, space, z, units, position=None):
    with torch.no_grad():
        maps = forward_until(net, space.to_net(z), ["2"])["2"][torch.arange(len(units)), torch.tensor(units)]
    row, col = position or (maps.shape[1] // 2, maps.shape[2] // 2)
    return maps[:, row, col].numpy()


def test_push_spatial_and_push_dir_pick_the_position_and_the_direction(single_thread):
    net, space = _small()
    config = preset("yosinski3").replace(steps=6, size=(16, 16), lr=2000.0, blur_every=0, decay=0.0)
    up = optimize_units(net, space, "2", [1, 3], config.replace(push_spatial=(2, 11)), (16, 16))
    np.testing.assert_allclose(_measure(net, space, up.z, [1, 3], (2, 11)), up.best_values, rtol=1e-4)
    down = optimize_units(net, space, "2", [1, 3], config.replace(push_spatial=(2, 11), push_dir=-1.0), (16, 16))
    np.testing.assert_allclose(-_measure(net, space, down.z, [1, 3], (2, 11)), down.best_values, rtol=1e-4)
    assert (np.diff(down.history, axis=0) > 0).all(), "the recorded value (-activation) rises every step"
    assert (_measure(net, space, down.z, [1, 3], (2, 11)) < _measure(net, space, up.z, [1, 3], (2, 11))).all()
    centre = optimize_units(net, space, "2", [1], config, (16, 16))
    np.testing.assert_allclose(_measure(net, space, centre.z, [1]), centre.best_values, rtol=1e-4)
    with pytest.raises(ValueError, match="outside the 16x16 map"):
        optimize_units(net, space, "2", [1], config.replace(push_spatial=(16, 0)), (16, 16))


def test_start_at_draws_the_originals_starting_images():
    net, space = _small()
    config = preset("yosinski3").replace(steps=1, size=(16, 16), keep="last")
    pixels = {start: space.to_uint8(optimize_units(net, space, "2", [0], config.replace(start_at=start),
                                                   (16, 16)).z[0]).astype(float)
              for start in ("mean", "randu", "mean_plus_rand")}
    mean_pixel = 255 * np.asarray(space.preprocessor.mean).reshape(-1)
    assert np.abs(pixels["mean"] - mean_pixel).max() <= 1  # the mean image itself
    assert pixels["randu"].std() > 60 and pixels["randu"].min() < 15 and pixels["randu"].max() > 240  # U(0, 255)
    assert 5 < np.abs(pixels["mean_plus_rand"] - mean_pixel).mean() < 15  # N(0, 10) around the mean


def test_unit_diversity_copies_differ_and_do_not_depend_on_the_batch(single_thread):
    net, space = _small()
    config = preset("yosinski3").replace(steps=5, size=(16, 16), lr=2000.0, blur_every=0, decay=0.0,
                                         diversity=20.0, diversity_images=3)
    batched = optimize_units(net, space, "2", [1, 4], config, (16, 16), snapshots=[2])
    assert batched.z.shape[0] == 6 and batched.copies == 3 and batched.snapshots[2].shape[0] == 6
    alone = optimize_units(net, space, "2", [4], config, (16, 16))
    torch.testing.assert_close(batched.z[3:], alone.z, rtol=1e-3, atol=1e-2)
    assert not torch.allclose(batched.z[0], batched.z[1]), "the copies of a unit differ"
    plain = optimize_units(net, space, "2", [4], config.replace(diversity=0.0), (16, 16))
    assert plain.z.shape[0] == 1
