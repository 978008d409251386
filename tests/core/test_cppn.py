"""The CPPN parameterization: lucent's network (checked against nn.Conv2d layers built here), its
start, gradients, seeding, per-row independence, and a short optimization that raises its objective."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.core.unitvis.optimize.config import preset
from deepvis_app.core.unitvis.optimize.cppn import coordinate_grid, draw_cppn, instance_norm
from deepvis_app.core.unitvis.optimize.loop import optimize_units
from deepvis_app.core.unitvis.optimize.params import InputSpace, decorrelate_colors, make_param
from deepvis_app.settings.defaults import Settings
from tests.helpers.models import two_conv_net


@pytest.fixture(scope="module")
def space():
    return InputSpace.from_preprocessor(Preprocessor(Settings(input_size=(16, 16))))


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randomize_last_layer(net, seed: int = 5) -> None:
    """lucent starts with a zero last layer (a grey image); give it weights so the image varies."""
    with torch.no_grad():
        net.weights[-1].copy_(torch.randn(net.weights[-1].shape, generator=_gen(seed)))


class _LucentComposite(nn.Module):
    def forward(self, x):
        x = torch.atan(x)
        return torch.cat([x / 0.67, (x * x) / 0.6], 1)


def _lucent_reference(net, row: int, height: int, width: int) -> torch.Tensor:
    """Row `row` of the CPPN as lucent builds it: nn.Conv2d(1x1) layers, composite activations, sigmoid,
    applied to lucent's coordinate grid (linspace / view / repeat)."""
    layers: list[nn.Module] = []
    for index, (weight, bias) in enumerate(zip(net.weights, net.biases, strict=True)):
        conv = nn.Conv2d(weight.shape[2], weight.shape[1], 1)
        with torch.no_grad():
            conv.weight.copy_(weight[row, :, :, None, None])
            conv.bias.copy_(bias[row])
        layers += [conv, _LucentComposite() if index < len(net.weights) - 1 else nn.Sigmoid()]
    r = 3 ** 0.5
    x = torch.linspace(-r, r, height).view(-1, 1).repeat(1, width)
    y = torch.linspace(-r, r, width).view(1, -1).repeat(height, 1)
    with torch.no_grad():
        return nn.Sequential(*layers)(torch.stack([x, y])[None])[0]


def test_the_image_is_lucents_network_mapped_to_caffe_space(space):
    param = make_param("cppn", space, 4, (20, 30), False, _gen(), distinct=2)
    start = param.z().detach()
    assert start.shape == (4, 3, 20, 30)
    torch.testing.assert_close(start, space.gray().expand(4, 3, 20, 30))  # sigmoid(0) = 0.5: grey
    cppn = draw_cppn(4, 3, (20, 30), _gen(), distinct=2)
    for mine, theirs in zip(param.tensors, cppn.tensors, strict=True):
        torch.testing.assert_close(mine, theirs)
    _randomize_last_layer(cppn)
    with torch.no_grad():
        for mine, theirs in zip(param.tensors, cppn.tensors, strict=True):
            mine.copy_(theirs)
    z = param.z().detach()
    rgb01 = (z + space.mean255.view(1, -1, 1, 1)) / 255.0
    assert rgb01.min() >= 0 and rgb01.max() <= 1 and rgb01.std() > 0.05
    for row in range(4):
        torch.testing.assert_close(rgb01[row], _lucent_reference(cppn, row, 20, 30), atol=1e-5, rtol=1e-5)


def test_coordinate_grid_and_initialization_follow_lucent():
    grid = coordinate_grid(5, 7)
    assert grid.shape == (1, 2, 5, 7)
    r = math.sqrt(3)
    torch.testing.assert_close(grid[0, 0, :, 3], torch.linspace(-r, r, 5))  # x down the rows
    torch.testing.assert_close(grid[0, 1, 2, :], torch.linspace(-r, r, 7))  # y along the columns
    net = draw_cppn(1, 3, (8, 8), _gen())
    shapes = [tuple(w.shape[1:]) for w in net.weights]
    assert shapes == [(24, 2)] + [(24, 48)] * 6 + [(3, 48)]  # 8 layers, 24 channels, x2 by the activation
    for weight in net.weights[1:-1]:
        assert weight.std().item() == pytest.approx(math.sqrt(1 / 48), rel=0.1)
    assert net.weights[0].std().item() == pytest.approx(math.sqrt(1 / 2), rel=0.35)
    assert not net.weights[-1].any() and not any(b.any() for b in net.biases)


def test_gradients_reach_every_layer(space):
    param = make_param("cppn", space, 2, (12, 12), False, _gen())
    param.z().sum().backward()
    grads = [t.grad for t in param.tensors]
    assert all(g is not None for g in grads)
    # at the start only the last layer (weights 0) passes a gradient: lucent's zero init
    assert all(not g.any() for g in grads[:-2]) and grads[-2].abs().sum() > 0 and grads[-1].abs().sum() > 0
    cppn = draw_cppn(2, 3, (12, 12), _gen())
    _randomize_last_layer(cppn)
    cppn().pow(2).sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in cppn.tensors)


def test_seeded_draws_are_reproducible_and_independent_of_the_number_of_draws():
    first, again = draw_cppn(3, 3, (8, 8), _gen(7), distinct=3), draw_cppn(3, 3, (8, 8), _gen(7), distinct=3)
    for a, b in zip(first.tensors, again.tensors, strict=True):
        assert torch.equal(a, b)
    other = draw_cppn(3, 3, (8, 8), _gen(8), distinct=3)
    assert not torch.equal(first.weights[0], other.weights[0])
    assert not torch.equal(first.weights[1][0], first.weights[1][1]), "distinct draws differ"
    alone = draw_cppn(1, 3, (8, 8), _gen(7))
    for a, b in zip(first.weights, alone.weights, strict=True):
        assert torch.equal(a[:1], b)  # draw 0 is the same whatever the number of distinct draws
    repeated = draw_cppn(4, 3, (8, 8), _gen(7), distinct=2)
    assert torch.equal(repeated.weights[2][0], repeated.weights[2][2])  # row r starts from draw r % 2
    with pytest.raises(ValueError, match="distinct"):
        draw_cppn(3, 3, (8, 8), _gen(), distinct=2)


def test_a_rows_image_depends_on_its_own_network_only():
    net = draw_cppn(3, 3, (10, 10), _gen(), distinct=1)
    _randomize_last_layer(net)
    before = net().detach()
    with torch.no_grad():  # change every parameter of rows 1 and 2
        for tensor in net.tensors:
            tensor[1:] += torch.randn(tensor[1:].shape, generator=_gen(3))
    after = net()
    assert torch.equal(after[0].detach(), before[0]) and not torch.equal(after[1].detach(), before[1])
    after[0].sum().backward()
    for tensor in net.tensors:
        assert not tensor.grad[1:].any(), "row 0's image must not depend on other rows' weights"


def test_instance_norm_matches_torch():
    h = torch.randn(3, 4, 6, 5, generator=_gen(2)) * 3 + 1
    torch.testing.assert_close(instance_norm(h), nn.InstanceNorm2d(4)(h), atol=1e-5, rtol=1e-5)
    net = draw_cppn(2, 3, (6, 6), _gen(), normalize=True)
    _randomize_last_layer(net)
    assert net().shape == (2, 3, 6, 6)


def test_decorrelate_acts_before_the_sigmoid_and_start_at_is_refused(space):
    param = make_param("cppn", space, 1, (8, 8), True, _gen())
    cppn = draw_cppn(1, 3, (8, 8), _gen())
    _randomize_last_layer(cppn)
    with torch.no_grad():
        for mine, theirs in zip(param.tensors, cppn.tensors, strict=True):
            mine.copy_(theirs)
        expected = space.from_rgb01(torch.sigmoid(decorrelate_colors(cppn())))
        torch.testing.assert_close(param.z(), expected)
    with pytest.raises(ValueError, match="plain pixel parameterization only .not cppn"):
        make_param("cppn", space, 1, (8, 8), False, _gen(), start_at="randu")


def test_a_short_cppn_optimization_raises_the_objective(space):
    config = preset("cppn").replace(steps=30, size=(16, 16), transforms="none", lr=0.02, seed=1)
    result = optimize_units(two_conv_net(), space, "2", [1, 3], config, (16, 16))
    start, last = result.history[0], result.history[-1]
    assert (last > start + 0.1).all(), (start, last)
    assert (result.best_values >= last - 1e-6).all()
    image = result.images(space)[0]
    assert image.shape == (16, 16, 3) and image.std() > 1, "the image is no longer grey"
