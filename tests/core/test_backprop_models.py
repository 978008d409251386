"""The ReLU rules on a hand-weighted net (`tests.helpers.models.HandNet`) against values computed by hand."""

from __future__ import annotations

import pytest
import torch

from deepvis_app.core.methods.backprop import backprop_from_unit
from tests.helpers.models import HandNet

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
