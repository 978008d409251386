"""Batched regularized optimization: each unit's result equals optimizing it alone, and an
optimized image beats every dataset image at driving its unit (default model, sample images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepvis_app.core.hooks import forward_until
from deepvis_app.core.unitvis.optimize import optimize_units
from deepvis_app.core.unitvis.optimize_config import preset
from deepvis_app.core.unitvis.params import InputSpace
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
    ("lucent", {"lr": 0.1}),  # FFT, decorrelation, random transforms, Adam
])
def test_batched_equals_one_at_a_time(default_model, space, name, changes, single_thread):
    config = preset(name).replace(steps=6, size=(64, 64), seed=3, **changes)
    units = [5, 9]
    batched = optimize_units(default_model.module, space, "_blocks.3", units, config, (224, 224))
    for row, unit in enumerate(units):
        alone = optimize_units(default_model.module, space, "_blocks.3", [unit], config, (224, 224))
        torch.testing.assert_close(batched.z[row], alone.z[0], rtol=1e-3, atol=1e-2)
        assert batched.best_values[row] == pytest.approx(alone.best_values[0], rel=1e-3, abs=1e-3)
    assert not torch.allclose(batched.z[0], batched.z[1]), "different units must get different images"


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

