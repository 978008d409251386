"""One objective algebra for optimize, dream, attribution and the backprop seeds: ``a + 2*b - c`` is the
arithmetic of its parts, an expression string builds the same objective as the operators (same
gradient), an attribution of a sum objective is the sum of the attributions for methods linear in the
objective, and each backprop seed is the gradient of a unit-seed objective."""

from __future__ import annotations

import pytest
import torch

from deepvis_app.core.methods.attribution.integrated_gradients import integrated_gradients
from deepvis_app.core.methods.attribution.objective import (
    make_objective,
    objective_gradient,
    objective_values,
    single_unit,
    unit_seed,
)
from deepvis_app.core.methods.attribution.occlusion_maps import occlusion_layer
from deepvis_app.core.methods.attribution.smoothgrad import smoothgrad
from deepvis_app.core.methods.backprop import backprop_from_unit, make_seed
from deepvis_app.core.methods.registry import get_method
from deepvis_app.core.nn.hooks import forward_until, tapping
from deepvis_app.core.unitvis.optimize.objective_expr import parse_objective
from deepvis_app.core.unitvis.optimize.objectives import channel, diversity, neuron
from tests.helpers.models import tiny_input, tiny_net

CHANNELS = {"conv1": 4, "conv2": 6, "fc": 5}


@pytest.fixture(scope="module")
def acts():
    with torch.no_grad():
        return forward_until(tiny_net(), tiny_input(shape=(3, 3, 16, 16)), list(CHANNELS))


def test_sums_differences_and_products_are_the_arithmetic_of_the_parts(acts):
    a, b, c = channel("conv2", 3), neuron("conv1", 1), channel("fc", 4)
    va, vb, vc = a(acts), b(acts), c(acts)
    assert len({float(v.abs().sum()) for v in (va, vb, vc)}) == 3, "three different objectives"
    torch.testing.assert_close((a + 2 * b - c)(acts), va + 2 * vb - vc)
    torch.testing.assert_close((-a)(acts), -va)
    torch.testing.assert_close((a / 4 - b * 0.5)(acts), va / 4 - 0.5 * vb)
    torch.testing.assert_close((a * b)(acts), va * vb)
    torch.testing.assert_close(sum([a, b, c])(acts), va + vb + vc)
    combined = a + 2 * b - c + diversity("conv2")
    assert combined.layers == ("conv2", "conv1", "fc")
    assert combined.coupled and combined.min_batch == 2 and not (a + b).coupled


def test_an_expression_and_the_operators_build_the_same_objective():
    net, x = tiny_net(), tiny_input(shape=(2, 3, 16, 16))
    text = "channel('conv2', 3) - 0.5*neuron('conv1', 1, 2, 5) + diversity('conv2') / 4"
    parsed = parse_objective(text, CHANNELS.__getitem__)
    built = channel("conv2", 3) - 0.5 * neuron("conv1", 1, 2, 5) + diversity("conv2") / 4
    assert parsed.description == text and parsed.layers == built.layers

    def gradient(objective) -> torch.Tensor:
        z = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(forward_until(net, z, list(objective.layers))).sum(), z)
        return grad

    expected = gradient(built)
    assert expected.abs().sum() > 0
    torch.testing.assert_close(gradient(parsed), expected, rtol=0, atol=0)
    assert not torch.equal(gradient(parse_objective("channel('conv2', 3)", CHANNELS.__getitem__)), expected)


def _unit_and_class(net, x):
    return make_objective(net, x, None, "conv2", [1, 4]), make_objective(net, x, [2, 0], None, None)


def test_attribution_of_a_sum_is_the_sum_of_the_attributions():
    """Gradient (a registered backprop method), integrated gradients (copies tiled along the path) and
    SmoothGrad (copies repeated per image) are linear in the objective."""
    net, x = tiny_net(), tiny_input()
    unit, klass = _unit_and_class(net, x)
    gradient = get_method("gradient")
    separate = gradient.compute(net, x, unit) + 3 * gradient.compute(net, x, klass)
    torch.testing.assert_close(gradient.compute(net, x, unit + 3 * klass), separate)
    z = x.clone().requires_grad_(True)
    with tapping(net, ["conv2"]) as taps:
        logits = net(z)
    sums = taps["conv2"].flatten(2).sum(2)
    (sums[0, 1] + sums[1, 4] + 3 * (logits[0, 2] + logits[1, 0])).backward()
    torch.testing.assert_close(separate, z.grad)            # autograd on the hand-written sum
    ig = {name: integrated_gradients(net, x, objective, steps=6)[0]
          for name, objective in (("unit", unit), ("class", klass), ("difference", unit - klass))}
    torch.testing.assert_close(ig["difference"], ig["unit"] - ig["class"])
    noisy = {name: smoothgrad(net, x, objective, samples=3, seed=5)
             for name, objective in (("unit", unit), ("class", klass), ("sum", unit + klass))}
    torch.testing.assert_close(noisy["sum"], noisy["unit"] + noisy["class"])


def test_a_per_image_target_follows_its_image_into_every_copy():
    net, x = tiny_net(), tiny_input()
    unit, _ = _unit_and_class(net, x)
    with torch.no_grad():
        conv2 = forward_until(net, x, ["conv2"])["conv2"]
    sums = conv2.flatten(2).sum(2)
    copies = torch.cat([x, x, x])
    values = objective_values(net, copies, unit, unit.tiled(3))
    torch.testing.assert_close(values, torch.stack([sums[0, 1], sums[1, 4]]).repeat(3))
    assert single_unit(unit)[0] == "conv2" and single_unit(unit)[1].tolist() == [1, 4]


def test_a_combination_has_no_single_unit_to_occlude():
    net, x = tiny_net(), tiny_input()
    unit, klass = _unit_and_class(net, x)
    with pytest.raises(ValueError, match="not one class or unit"):
        occlusion_layer(net, x, unit + klass)


@pytest.mark.parametrize("seed", ["activation", "one", "position", "max", "layer"])
@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (3, 7)])
def test_each_backprop_seed_is_the_gradient_of_its_unit_seed_objective(seed, shape):
    values = torch.randn(shape, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
    units = torch.tensor([2, 0, 3])
    position = [(1, 4), (0, 0), (4, 5)] if len(shape) == 4 else None
    objective = unit_seed("layer", units, seed, position)
    (grad,) = torch.autograd.grad(objective({"layer": values}).sum(), values)
    expected = make_seed(values.detach(), units, seed, position)
    assert expected.abs().sum() > 0
    torch.testing.assert_close(grad, expected, rtol=0, atol=0)


@pytest.mark.parametrize("method", ["gradient", "guided", "deconv"])
def test_a_unit_seed_backprops_as_backprop_from_unit(method):
    net, x = tiny_net(), tiny_input()
    units = torch.tensor([1, 4])
    for seed in ("activation", "max"):
        ours = objective_gradient(net, x, unit_seed("conv2", units, seed), torch.arange(2), method=method)
        theirs = backprop_from_unit(net, x, "conv2", units, method=method, seed=seed)
        torch.testing.assert_close(ours.input_grad, theirs.input_grad)
