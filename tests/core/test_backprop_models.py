"""Tiny float64 nets shared by the backprop/attribution tests, and the hand-computed checks.

The nets cover what the ReLU rules must reach: ReLU modules (out-of-place and in-place), one ReLU
module called several times (a residual block, as torchvision ResNet), functional ReLUs (as
torchvision GoogLeNet) and ReLU6 modules (as EfficientNet-Lite).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.backprop import backprop_from_unit

INPUT_SHAPE = (2, 3, 16, 16)


class TinyNet(nn.Module):
    """Conv -> ReLU -> MaxPool -> Conv -> ReLU -> AvgPool -> Linear (methods.md's fixture).

    ``relu``: "module", "inplace", "functional" (F.relu(inplace=True) / torch.relu / Tensor.relu_),
    or "relu6"; ``residual`` adds a block that calls its one ReLU module twice.
    """

    def __init__(self, relu: str = "module", residual: bool = False, classes: int = 5):
        super().__init__()
        self.kind = relu
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.act1 = self._activation()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.act2 = self._activation()
        self.residual = residual
        if residual:
            self.res_conv = nn.Conv2d(6, 6, 3, padding=1)
            self.res_relu = nn.ReLU(inplace=relu == "inplace")
        self.avg = nn.AvgPool2d(2)
        self.fc = nn.Linear(6 * 4 * 4, classes)

    def _activation(self) -> nn.Module:
        if self.kind == "relu6":
            return nn.ReLU6()
        return nn.ReLU(inplace=self.kind == "inplace")

    def _act(self, module: nn.Module, x: torch.Tensor, which: int) -> torch.Tensor:
        if self.kind != "functional":
            return module(x)
        if which == 1:
            return F.relu(x, inplace=True)
        torch.relu_(x)  # in-place, return value ignored on purpose
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self._act(self.act1, self.conv1(x), 1))
        x = self._act(self.act2, self.conv2(x), 2)
        if self.residual:
            out = self.res_relu(self.res_conv(x))
            x = self.res_relu(out + x) if self.kind != "functional" else torch.relu(out + x)
        return self.fc(self.avg(x).flatten(1))


def tiny_net(relu: str = "module", residual: bool = False, seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(relu, residual).double().eval().requires_grad_(False)


def tiny_input(seed: int = 1, shape: tuple[int, ...] = INPUT_SHAPE) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(shape, dtype=torch.float64)


def module_twin(net: TinyNet) -> TinyNet:
    """The same weights with out-of-place ReLU modules: what captum handles."""
    twin = TinyNet("module", net.residual).double().eval().requires_grad_(False)
    twin.load_state_dict(net.state_dict())
    return twin


class HandNet(nn.Module):
    """x in R^2 (as a 1x2x1x1 image) -> 1x1 conv W1 -> ReLU -> 1x1 conv W2 -> 2 outputs."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 1, bias=False)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(2, 2, 1, bias=False)
        with torch.no_grad():
            self.conv1.weight.copy_(torch.tensor([[1.0, -1.0], [-2.0, 1.0]]).view(2, 2, 1, 1))
            self.conv2.weight.copy_(torch.tensor([[-2.0, 3.0], [2.0, 3.0]]).view(2, 2, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.relu(self.conv1(x))).flatten(1)


# x = (3, 1): conv1 -> (2, -5), ReLU -> (2, 0); outputs (-4, 4). Upstream g at the ReLU output is
# row u of W2; the input signal is W1^T applied to the rule's output:
# unit 0, g = (-2, 3): gradient (-2, 0) -> (-2, 2); deconv (0, 3) -> (-6, 3); guided (0, 0) -> (0, 0).
# unit 1, g = (2, 3):  gradient (2, 0) -> (2, -2);  deconv (2, 3) -> (-4, 1); guided (2, 0) -> (2, -2).
HAND_EXPECTED = {
    ("gradient", 0): (-2.0, 2.0), ("deconv", 0): (-6.0, 3.0), ("guided", 0): (0.0, 0.0),
    ("gradient", 1): (2.0, -2.0), ("deconv", 1): (-4.0, 1.0), ("guided", 1): (2.0, -2.0),
}


@pytest.mark.parametrize("method, unit", sorted(HAND_EXPECTED))
def test_hand_weighted_net(method, unit):
    net = HandNet().double().eval()
    x = torch.tensor([3.0, 1.0], dtype=torch.float64).view(1, 2, 1, 1)
    result = backprop_from_unit(net, x, None, unit, method=method, seed="one")
    assert result.input_grad.flatten().tolist() == list(HAND_EXPECTED[(method, unit)])
    # seed "activation" puts the unit's own value (-4 or 4) on it: unit 1 scales by 4; unit 0's
    # negative seed makes g = (8, -12): deconv (8, 0) and guided (8, 0) -> (8, -8), gradient -4 * (-2, 2)
    scaled = backprop_from_unit(net, x, None, unit, method=method, seed="activation")
    expected = [4.0 * v for v in HAND_EXPECTED[(method, unit)]] if unit == 1 else [8.0, -8.0]
    assert scaled.input_grad.flatten().tolist() == expected

def test_hand_weighted_inner_layer_and_layer_grads():
    net = HandNet().double().eval()
    x = torch.tensor([3.0, 1.0], dtype=torch.float64).view(1, 2, 1, 1)
    # seed at conv1's unit 0 (value 2): the input gradient is row 0 of W1 = (1, -1)
    result = backprop_from_unit(net, x, "conv1", 0, seed="one", grad_layers=["relu", "conv2"])
    assert result.input_grad.flatten().tolist() == [1.0, -1.0]
    assert result.activations["conv1"].flatten().tolist() == [2.0, -5.0]
    assert result.layer_grads["relu"].abs().sum() == 0  # downstream of the origin: zero signal
    # from output unit 1, the signal at the ReLU output is W2 row 1 = (2, 3)
    result = backprop_from_unit(net, x, None, 1, method="deconv", seed="one", grad_layers=["relu", "conv1"])
    assert result.layer_grads["relu"].flatten().tolist() == [2.0, 3.0]
    assert result.layer_grads["conv1"].flatten().tolist() == [2.0, 3.0]  # deconv: max(g, 0)


def test_probability_seed_is_softmax_gradient():
    net = HandNet().double().eval()
    x = torch.tensor([3.0, 1.0], dtype=torch.float64).view(1, 2, 1, 1)
    p1 = 1.0 / (1.0 + torch.exp(torch.tensor(-8.0, dtype=torch.float64)))  # softmax of (-4, 4), class 1
    result = backprop_from_unit(net, x, None, 1, seed="one", probability=True)
    # dp1/dx = p1 (1 - p1) * (d y1/dx - d y0/dx) = p1 (1 - p1) * ((2, -2) - (-2, 2))
    expected = p1 * (1 - p1) * torch.tensor([4.0, -4.0], dtype=torch.float64)
    torch.testing.assert_close(result.input_grad.flatten(), expected, rtol=1e-12, atol=0)
