"""Deconv / guided / DeSaliNet / SaliNet on networks beyond ReLU (SiLU, GELU, Hardswish, Mish, LeakyReLU).

References, independent of our function mode:
- deconv: zennit's own DeconvNet hook (``ReLUDeconvNet``: ``grad_output.clamp(min=0)``) mapped onto
  every activation module type by a zennit ``LayerMapComposite``;
- guided / DeSaliNet: hand-written module backward hooks, ``grad_input * (input > 0) * (grad_output > 0)``
  (zennit's ``ReLUGuidedBackprop`` lacks the input mask our definition keeps, see `core.backprop.rules`);
- SaliNet: plain autograd (it is backprop).
The references need out-of-place activations (full backward hooks and zennit refuse in-place ones);
our side runs on the original, in-place modules.
"""

from __future__ import annotations

import copy
import logging

import pytest
import torch
import torchvision
from torch import nn
from zennit.composites import LayerMapComposite
from zennit.rules import ReLUDeconvNet

from deepvis_app.core.base.notices import pop_notices
from deepvis_app.core.methods.backprop import backprop_from_unit

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Mish, nn.LeakyReLU)


def out_of_place(model: nn.Module) -> nn.Module:
    twin = copy.deepcopy(model)
    for module in twin.modules():
        if hasattr(module, "inplace"):
            module.inplace = False
    return twin


def output_grad(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    out = model(x)
    (grad,) = torch.autograd.grad(out[:, target].sum(), x)
    return grad


def zennit_deconv(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    twin = out_of_place(model)
    with LayerMapComposite([(ACTIVATIONS, ReLUDeconvNet())]).context(twin) as modified:
        return output_grad(modified, x, target)


def hooked_guided(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    twin = out_of_place(model)
    inputs: dict[nn.Module, torch.Tensor] = {}

    def keep(module, args):
        inputs[module] = args[0].detach()

    def guide(module, grad_input, grad_output):
        return (grad_input[0] * (inputs[module] > 0) * (grad_output[0] > 0),)

    handles = [h for m in twin.modules() if isinstance(m, ACTIVATIONS)
               for h in (m.register_forward_pre_hook(keep), m.register_full_backward_hook(guide))]
    try:
        return output_grad(twin, x, target)
    finally:
        for handle in handles:
            handle.remove()


REFERENCE = {"deconv": zennit_deconv, "guided": hooked_guided, "desalinet": hooked_guided,
             "salinet": lambda m, x, t: output_grad(m, x, t)}


def small_net(activation: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 6, 3), activation, nn.MaxPool2d(2), nn.Conv2d(6, 8, 3),
                         copy.deepcopy(activation), nn.Flatten(), nn.Linear(8 * 4 * 4, 5)).double().eval()


def inputs(size: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


SMALL = {"silu": nn.SiLU(inplace=True), "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"),
         "hardswish": nn.Hardswish(inplace=True), "mish": nn.Mish(inplace=True),
         "leaky_relu": nn.LeakyReLU(0.2, inplace=True)}


@pytest.mark.parametrize("method", sorted(REFERENCE))
@pytest.mark.parametrize("name", sorted(SMALL))
def test_each_activation_matches_its_reference(name, method):
    torch.manual_seed(1)
    net, x = small_net(SMALL[name]), inputs(14)
    ours = backprop_from_unit(net, x, None, 3, method=method, seed="one").input_grad
    torch.testing.assert_close(ours, REFERENCE[method](net, x, 3), rtol=1e-9, atol=1e-12)
    if method != "salinet":  # the rule changes the result: the test can fail
        assert not torch.allclose(ours, output_grad(net, x, 3))


class _Functional(nn.Module):
    """The same net calling torch.nn.functional directly (no activation modules to hook)."""

    def __init__(self, net: nn.Sequential, call):
        super().__init__()
        self.net, self.call = net, call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = net[2](self.call(net[0](x)))
        return net[6](net[5](self.call(net[3](x))))


FUNCTIONAL = {"silu": lambda t: torch.nn.functional.silu(t, inplace=True),
              "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
              "hardswish": torch.nn.functional.hardswish, "mish": torch.nn.functional.mish,
              "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2, True)}


@pytest.mark.parametrize("method", ["deconv", "guided"])
@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_calls_get_the_rule_too(name, method):
    torch.manual_seed(2)
    net, x = small_net(SMALL[name]), inputs(14, 1)
    ours = backprop_from_unit(_Functional(net, FUNCTIONAL[name]), x, None, 1, method=method, seed="one")
    torch.testing.assert_close(ours.input_grad, REFERENCE[method](net, x, 1), rtol=1e-9, atol=1e-12)


ARCHITECTURES = {"efficientnet_b0": 32, "mobilenet_v3_small": 32, "convnext_tiny": 32}


@pytest.fixture(scope="module", params=sorted(ARCHITECTURES))
def architecture(request):
    torch.manual_seed(3)
    model = getattr(torchvision.models, request.param)(weights=None, num_classes=10).double().eval()
    with torch.no_grad():  # ConvNeXt starts its residual branches at 1e-6 (nearly linear): wake them up
        for module in model.modules():
            if isinstance(getattr(module, "layer_scale", None), torch.Tensor):
                module.layer_scale.fill_(1.0)
    return model, inputs(ARCHITECTURES[request.param], 2)[:1]


@pytest.mark.parametrize("method", ["deconv", "guided"])
def test_torchvision_architectures_match_references(architecture, method):
    """EfficientNet-B0 (SiLU, squeeze-excite), MobileNetV3 (Hardswish, ReLU), ConvNeXt (GELU)."""
    model, x = architecture
    ours = backprop_from_unit(model, x, None, 7, method=method, seed="one").input_grad
    ref = REFERENCE[method](model, x, 7)
    torch.testing.assert_close(ours, ref, rtol=1e-7, atol=1e-10 * float(ref.abs().max()))
    assert not torch.allclose(ours, output_grad(model, x, 7), rtol=1e-3, atol=0)


class _EluNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 3), nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.tanh(nn.functional.elu(self.conv(x)))
        return self.fc(y.mean((2, 3)))


def test_a_network_without_ruled_activations_is_reported(caplog):
    net, x = _EluNet().double(), inputs(8)
    pop_notices()
    with caplog.at_level(logging.WARNING, logger="deepvis.core.backprop"):
        ours = backprop_from_unit(net, x, None, 1, method="deconv", seed="one").input_grad
    torch.testing.assert_close(ours, output_grad(net, x, 1), rtol=0, atol=0)
    messages = pop_notices()
    assert len(messages) == 1 and "deconv" in messages[0] and "elu x1" in messages[0] and "tanh x1" in messages[0]
    assert messages[0] in caplog.text
    backprop_from_unit(small_net(nn.SiLU()), inputs(14), None, 1, method="guided")
    backprop_from_unit(net, x, None, 1, method="salinet")  # the gradient is SaliNet's rule everywhere
    assert pop_notices() == []
