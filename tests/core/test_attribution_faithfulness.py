"""Deletion / insertion curves and the cascading parameter-randomization check, against a direct
computation (one perturbed image at a time, numpy ranks) on small float64 nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepvis_app.core.methods.attribution.faithfulness import area_under, blurred, deletion_insertion
from deepvis_app.core.methods.attribution.objective import make_objective
from deepvis_app.core.methods.attribution.sanity import cascading_randomization, parameter_layers, rank_correlations
from deepvis_app.core.methods.registry import attribute
from tests.helpers.models import tiny_input, tiny_net


def one_at_a_time(model, start, end, saliency, steps, target):
    """The curve by hand: for each k, the image with its top round(k/steps * H*W) pixels taken from end."""
    height, width = start.shape[1:]
    flat = saliency.sum(0).flatten().numpy()
    order = np.argsort(-flat, kind="stable")
    values = []
    for k in range(steps + 1):
        mask = np.zeros(height * width, dtype=bool)
        mask[order[:round(height * width * k / steps)]] = True
        mask_t = torch.from_numpy(mask.reshape(height, width))
        with torch.no_grad():
            values.append(model(torch.where(mask_t, end, start)[None])[0, target].item())
    return np.array(values)


def test_curves_equal_the_direct_computation_and_start_and_end_where_they_must():
    model, x = tiny_net(), tiny_input()
    objective = make_objective(model, x, [1, 3], None, None)
    saliency = attribute(model, x, "input_x_gradient", target=[1, 3])
    curves = deletion_insertion(model, x, objective, saliency, steps=8, batch_size=3)
    for image, target in enumerate([1, 3]):
        deletion = one_at_a_time(model, x[image], torch.zeros_like(x[image]), saliency[image], 8, target)
        insertion = one_at_a_time(model, blurred(x)[image], x[image], saliency[image], 8, target)
        np.testing.assert_allclose(curves.deletion[image].numpy(), deletion, rtol=1e-12)
        np.testing.assert_allclose(curves.insertion[image].numpy(), insertion, rtol=1e-12)
    with torch.no_grad():
        full = model(x)[[0, 1], [1, 3]]
    torch.testing.assert_close(curves.deletion[:, 0], full)
    torch.testing.assert_close(curves.insertion[:, -1], full)
    assert curves.fractions.tolist() == pytest.approx([k / 8 for k in range(9)])


def test_a_layer_map_is_upsampled_before_ranking():
    model, x = tiny_net(), tiny_input()
    objective = make_objective(model, x, 2, None, None)
    cam = attribute(model, x, "gradcam", target=2, layer="conv2", upsample=False)
    assert cam.shape[2:] != x.shape[2:]
    upsampled = attribute(model, x, "gradcam", target=2, layer="conv2")
    small, large = (deletion_insertion(model, x, objective, m, steps=4, insertion_start="baseline")
                    for m in (cam, upsampled))
    torch.testing.assert_close(small.deletion, large.deletion)
    torch.testing.assert_close(small.insertion, large.insertion)


def test_the_area_is_the_trapezoid_mean_and_a_faithful_map_beats_its_reverse():
    curve = torch.tensor([[1.0, 0.5, 0.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(area_under(curve), torch.tensor([0.5, 0.25]))
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2, bias=False)).double().eval()
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    objective = make_objective(linear, x, 0, None, None)
    saliency = attribute(linear, x, "input_x_gradient", target=0)   # exact contributions of a linear model
    good = deletion_insertion(linear, x, objective, saliency, steps=16, insertion_start="baseline")
    bad = deletion_insertion(linear, x, objective, -saliency, steps=16, insertion_start="baseline")
    assert good.deletion_auc < bad.deletion_auc and good.insertion_auc > bad.insertion_auc


def test_bad_arguments_are_named():
    model, x = tiny_net(), tiny_input()
    objective = make_objective(model, x, 0, None, None)
    with pytest.raises(ValueError, match="at least one step"):
        deletion_insertion(model, x, objective, x, steps=0)
    with pytest.raises(ValueError, match="insertion_start"):
        deletion_insertion(model, x, objective, x, insertion_start="noise")


def numpy_spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the ranks (no ties in continuous maps)."""
    ranks_a, ranks_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def test_cascading_randomization_goes_from_the_output_down_and_leaves_the_model_alone():
    model, x = tiny_net(), tiny_input()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    maps: list[torch.Tensor] = []

    def gradient(net):
        maps.append(attribute(net, x, "gradient", target=1))
        return maps[-1]
    steps = cascading_randomization(model, x, gradient, seed=3)
    assert [s.layer for s in steps] == list(reversed(parameter_layers(model, x))) == ["fc", "conv2", "conv1"]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    for step, randomized in zip(steps, maps[1:], strict=True):
        for image in range(2):
            expected = numpy_spearman(maps[0][image].flatten().numpy(), randomized[image].flatten().numpy())
            assert step.rank_correlation[image] == pytest.approx(expected, abs=1e-12)
            expected_abs = numpy_spearman(maps[0][image].abs().flatten().numpy(),
                                          randomized[image].abs().flatten().numpy())
            assert step.abs_rank_correlation[image] == pytest.approx(expected_abs, abs=1e-12)
    assert max(abs(c) for c in steps[-1].rank_correlation) < 0.9   # a gradient depends on the weights


def test_a_map_that_ignores_the_weights_keeps_rank_correlation_one():
    model, x = tiny_net(), tiny_input()
    steps = cascading_randomization(model, x, lambda _net: x * 2.0)
    assert all(c == pytest.approx(1.0) for s in steps for c in s.rank_correlation + s.abs_rank_correlation)
    assert np.isnan(rank_correlations(torch.ones(1, 4), torch.arange(4.0)[None])[0])
