"""ReLU-rule backprops on tiny nets: captum, independent autograd references, and cleanup."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from captum.attr import NeuronGuidedBackprop
from torch import nn

from deepvis_app.core.methods.backprop import backprop_from_unit
from tests.helpers.models import module_twin, tiny_input, tiny_net
from tests.helpers.oracles import (
    NEURON_REFERENCE,
    OUTPUT_REFERENCE,
    assert_matches,
    assert_nothing_left_active,
    captum_neuron,
    captum_output,
)


@pytest.mark.parametrize("relu", ["module", "inplace"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("method", sorted(OUTPUT_REFERENCE))
def test_output_layer_equals_captum(relu, residual, method):
    net, x = tiny_net(relu, residual), tiny_input()
    ours = backprop_from_unit(net, x, None, [1, 3], method=method, seed="one").input_grad
    assert_matches(ours, captum_output(module_twin(net), x, method, [1, 3]))
    named = backprop_from_unit(net, x, "fc", [1, 3], method=method, seed="one").input_grad
    torch.testing.assert_close(named, ours, rtol=0, atol=0)


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("method", sorted(NEURON_REFERENCE))
@pytest.mark.parametrize("layer", ["conv2", "act2", "pool"])
def test_inner_layer_seed_one_equals_captum_neuron(residual, method, layer):
    net, x = tiny_net("inplace", residual), tiny_input()
    ours = backprop_from_unit(net, x, layer, 2, method=method, seed="one").input_grad
    assert_matches(ours, captum_neuron(module_twin(net), x, method, layer, 2))


@pytest.mark.parametrize("method", ["gradient", "deconv", "guided", "salinet", "desalinet"])
@pytest.mark.parametrize("residual", [False, True])
def test_functional_relus_equal_module_twin(method, residual):
    """F.relu(inplace=True), torch.relu_ (result ignored) and torch.relu reach the rules too."""
    net, x = tiny_net("functional", residual), tiny_input()
    twin = module_twin(net)
    for layer, unit in ((None, 4), ("conv2", 1)):
        ours = backprop_from_unit(net, x, layer, unit, method=method, seed="one")
        ref = backprop_from_unit(twin, x, layer, unit, method=method, seed="one")
        torch.testing.assert_close(ours.input_grad, ref.input_grad, rtol=0, atol=0)
        torch.testing.assert_close(ours.output, twin(x), rtol=0, atol=0)
    if method in NEURON_REFERENCE:
        ours = backprop_from_unit(net, x, None, 4, method=method, seed="one").input_grad
        assert_matches(ours, captum_output(twin, x, method, 4))


def relu6_hook_reference(model: nn.Module, x: torch.Tensor, unit: int, rule: str) -> torch.Tensor:
    """Deconv / guided on ReLU6 modules by full backward hooks: an independent mechanism."""
    def hook(_module, grad_in, grad_out):
        return (torch.relu(grad_out[0]),) if rule == "deconv" else (torch.relu(grad_in[0]),)

    handles = [m.register_full_backward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU6)]
    try:
        x = x.clone().requires_grad_(True)
        return torch.autograd.grad(model(x)[:, unit].sum(), x)[0]
    finally:
        for handle in handles:
            handle.remove()


@pytest.mark.parametrize("method", ["deconv", "guided"])
def test_relu6_rules_equal_hook_reference(method):
    net, x = tiny_net("relu6"), tiny_input() * 20  # large inputs so some units clip at 6
    assert (net.conv1(x) > 6).any()
    ours = backprop_from_unit(net, x, None, 2, method=method, seed="one").input_grad
    assert_matches(ours, relu6_hook_reference(net, x, 2, method))


def test_position_and_activation_seeds():
    net, x = tiny_net("inplace"), tiny_input()
    ours = backprop_from_unit(net, x, "conv2", 3, method="guided", seed="position", position=(2, 5)).input_grad
    twin = module_twin(net)
    ref = NeuronGuidedBackprop(twin, twin.conv2).attribute(x.clone(), neuron_selector=(3, 2, 5))
    assert_matches(ours, ref)
    # activation seed == gradient of sum(a_c * stop_grad(a_c))
    xg = x.clone().requires_grad_(True)
    store = {}
    handle = twin.conv2.register_forward_hook(lambda _m, _i, out: store.setdefault("a", out.clone()))
    try:
        twin(xg)
    finally:
        handle.remove()
    a = store["a"][:, 3]
    expected = torch.autograd.grad((a * a.detach()).sum(), xg)[0]
    ours = backprop_from_unit(net, x, "conv2", 3, seed="activation")
    assert_matches(ours.input_grad, expected)
    torch.testing.assert_close(ours.activations["conv2"], store["a"], rtol=0, atol=0)


def test_batched_units_match_single_calls():
    net, x = tiny_net(residual=True), tiny_input()
    batched = backprop_from_unit(net, x, "conv2", [0, 5], method="guided").input_grad
    for row, unit in enumerate((0, 5)):
        single = backprop_from_unit(net, x[row:row + 1], "conv2", unit, method="guided").input_grad
        torch.testing.assert_close(batched[row:row + 1], single, rtol=1e-12, atol=0)
    many = backprop_from_unit(net, x[:1], None, [0, 1, 2], method="deconv", seed="one")
    assert many.input_grad.shape == (3, *x.shape[1:])
    for row in range(3):
        single = backprop_from_unit(net, x[:1], None, row, method="deconv", seed="one").input_grad
        torch.testing.assert_close(many.input_grad[row:row + 1], single, rtol=1e-12, atol=0)


CENTRE = {"unpool": "window_centre"}


def test_window_centre_unpooling_by_hand():
    x = torch.arange(16, dtype=torch.float64).view(1, 1, 4, 4)
    net = nn.Sequential(nn.MaxPool2d(2))
    grad = backprop_from_unit(net, x, "0", 0, method="salinet", seed="one", **CENTRE).input_grad[0, 0]
    expected = torch.zeros(4, 4, dtype=torch.float64)
    expected[1::2, 1::2] = 1.0  # centre (offset k//2 = 1) of each 2x2 window; the switches are the same here
    torch.testing.assert_close(grad, expected, rtol=0, atol=0)
    flipped = backprop_from_unit(net, x.flip(-1, -2), "0", 0, method="salinet", seed="one", **CENTRE).input_grad[0, 0]
    torch.testing.assert_close(flipped, expected, rtol=0, atol=0)  # switches moved to (0, 0); centres did not
    overlapping = nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1))
    grad = backprop_from_unit(overlapping, torch.randn(1, 1, 5, 5, dtype=torch.float64), "0", 0,
                              method="salinet", seed="one", **CENTRE).input_grad[0, 0]
    expected = torch.zeros(5, 5, dtype=torch.float64)
    expected[0::2, 0::2] = 1.0  # windows start at -1, 1, 3: centres 0, 2, 4
    torch.testing.assert_close(grad, expected, rtol=0, atol=0)
    ceil = nn.Sequential(nn.MaxPool2d(3, stride=2, ceil_mode=True))  # 6 -> 3 windows: 0, 2, 4 (cut at 6)
    grad = backprop_from_unit(ceil, torch.randn(1, 1, 6, 6, dtype=torch.float64), "0", 0,
                              method="salinet", seed="one", **CENTRE).input_grad[0, 0]
    expected = torch.zeros(6, 6, dtype=torch.float64)
    expected[1::2, 1::2] = 1.0  # centres 1, 3, 5
    torch.testing.assert_close(grad, expected, rtol=0, atol=0)


class _CentrePool(nn.Module):
    """Max-pool values with gradient to the window centre, by plain autograd (2x2, stride 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centre = x[:, :, 1::2, 1::2]
        return centre + (F.max_pool2d(x, 2) - centre).detach()


@pytest.mark.parametrize("method", ["deconv", "salinet", "desalinet"])
def test_window_centre_equals_the_method_on_a_centre_pool_twin(method):
    """Each reversed net with unpool="window_centre" = the same net with switches on a twin whose
    max-pool sends its gradient to the window centre by plain autograd."""
    net, x = tiny_net(), tiny_input()
    twin = module_twin(net)
    twin.pool = _CentrePool()
    ours = backprop_from_unit(net, x, "conv2", 1, method=method, seed="one", **CENTRE).input_grad
    ref = backprop_from_unit(twin, x, "conv2", 1, method=method, seed="one").input_grad
    assert_matches(ours, ref)
    switches = backprop_from_unit(net, x, "conv2", 1, method=method, seed="one").input_grad
    assert not torch.allclose(ours, switches)


@pytest.mark.parametrize("residual", [False, True])
def test_salinet_is_backprop_as_its_paper_defines_it(residual):
    """Mahendran & Vedaldi 2016: SaliNet = backprop (switches, forward ReLU mask) = captum Saliency."""
    net, x = tiny_net("inplace", residual), tiny_input()
    ours = backprop_from_unit(net, x, None, [1, 3], method="salinet", seed="one").input_grad
    assert_matches(ours, captum_output(module_twin(net), x, "gradient", [1, 3]))


def test_unpool_is_an_option_of_the_registered_reversed_nets():
    """The registry (CLI flag, settings, app) passes ``unpool`` through to the backward rules."""
    from deepvis_app.core.methods.registry import attribute, get_method
    from deepvis_app.settings.options import OptionsError

    net, x = tiny_net(), tiny_input()
    for method in ("deconv", "salinet", "desalinet"):
        ours = attribute(net, x, method, layer="conv2", unit=1, unpool="window_centre")
        ref = backprop_from_unit(net, x, "conv2", 1, method=method, seed="one", **CENTRE).input_grad
        torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    with pytest.raises(OptionsError):
        get_method("guided").make_options(CENTRE)


def test_window_centre_is_only_for_the_reversed_nets():
    net, x = tiny_net(), tiny_input()
    for method in ("gradient", "guided"):
        with pytest.raises(ValueError, match="switches by definition"):
            backprop_from_unit(net, x, "conv2", 1, method=method, **CENTRE)
    with pytest.raises(ValueError, match="unknown unpooling"):
        backprop_from_unit(net, x, "conv2", 1, method="deconv", unpool="centre")


class _Boom(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        F.relu(self.conv(x))
        raise RuntimeError("boom")


@pytest.mark.parametrize("method", ["gradient", "guided", "salinet"])
def test_nothing_left_active_after_a_call_or_a_raise(method):
    net, x = tiny_net("functional"), tiny_input()
    backprop_from_unit(net, x, "conv2", 1, method=method, grad_layers=["conv1"])
    assert_nothing_left_active(net)
    with pytest.raises(ValueError, match="out of range"):
        backprop_from_unit(net, x, "conv2", 99, method=method)
    assert_nothing_left_active(net)
    boom = _Boom().double()
    with pytest.raises(RuntimeError, match="boom"):
        backprop_from_unit(boom, x, "conv", 0, method=method)
    assert_nothing_left_active(boom)
    with pytest.raises(ValueError, match="unknown backprop method"):
        backprop_from_unit(net, x, "conv2", 1, method="nope")


def test_layer_signals_without_input_grad_match():
    net, x = tiny_net("inplace", residual=True), tiny_input()
    full = backprop_from_unit(net, x, None, [1, 2], method="guided", seed="one", grad_layers=["conv2", "act1"])
    short = backprop_from_unit(net, x, None, [1, 2], method="guided", seed="one", grad_layers=["conv2", "act1"],
                               input_grad=False)
    assert short.input_grad is None
    for name in ("conv2", "act1"):
        torch.testing.assert_close(short.layer_grads[name], full.layer_grads[name], rtol=0, atol=0)
        torch.testing.assert_close(short.activations[name], full.activations[name], rtol=0, atol=0)


def test_max_seed_is_one_at_each_items_own_arg_max():
    """cnn-vizlib's "feature max": the position seed at the unit's arg-max, found per image."""
    net, x = tiny_net(), tiny_input()
    acts = backprop_from_unit(net, x, "conv2", 3, method="gradient", seed="one").activations["conv2"]
    ours = backprop_from_unit(net, x, "conv2", 3, method="gradient", seed="max").input_grad
    for row in range(x.shape[0]):
        flat = int(acts[row, 3].flatten().argmax())
        i, j = divmod(flat, acts.shape[-1])
        ref = backprop_from_unit(net, x[row:row + 1], "conv2", 3, method="gradient", seed="position",
                                 position=(i, j)).input_grad
        torch.testing.assert_close(ours[row:row + 1], ref, rtol=0, atol=0)


def test_layer_seed_is_the_sum_of_every_units_activation_seed():
    """DNN-Visualizer's index=None: the whole layer as seed = the sum over units of each unit's seed."""
    net, x = tiny_net(), tiny_input()
    ours = backprop_from_unit(net, x, "conv2", 0, method="gradient", seed="layer").input_grad
    channels = backprop_from_unit(net, x, "conv2", 0, seed="one").activations["conv2"].shape[1]
    total = sum(backprop_from_unit(net, x, "conv2", unit).input_grad for unit in range(channels))  # linear: gradient
    assert_matches(ours, total)
