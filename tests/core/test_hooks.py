"""The one hooks module: taps survive in-place ops, partial forwards stop early, hooks never outlive a call."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepvis_app.core.base.torch_args import call_arg, pair
from deepvis_app.core.nn.hooks import (
    MissingLayerOutput,
    UnknownLayer,
    capture_activations,
    find_module,
    forward_until,
    tapped,
    tapping,
)
from deepvis_app.errors import DeepvisError


class Boom(nn.Module):
    def forward(self, x):
        raise AssertionError("the forward pass went past the wanted layers")


class Chain(nn.Module):
    """a -> in-place ReLU -> b -> pair (a tuple output) -> boom."""

    def __init__(self, boom: bool = True):
        super().__init__()
        torch.manual_seed(0)
        self.a = nn.Conv2d(3, 4, 3)
        self.b = nn.Conv2d(4, 2, 1)
        self.pair = _Pair()
        self.boom = Boom() if boom else nn.Identity()

    def forward(self, x):
        y = self.b(torch.relu_(self.a(x)))
        return self.boom(self.pair(y)[0])


class _Pair(nn.Module):
    def forward(self, x):
        return x, x


def _hooks(module: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in module.modules())


def test_forward_until_stops_and_keeps_earlier_layers_pre_relu():
    model, x = Chain(), torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        a = model.a(x)
        b = model.b(torch.relu(a))
    store = forward_until(model, x, ["a", "b"])
    torch.testing.assert_close(store["a"], a)
    assert (store["a"] < 0).any(), "a later in-place ReLU must not change an earlier stored layer"
    torch.testing.assert_close(store["b"], b)
    assert _hooks(model) == 0


def test_forward_until_output_is_in_the_graph():
    model = Chain()
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    out = forward_until(model, x, ["b"])["b"]
    (grad,) = torch.autograd.grad(out.sum(), x)
    x2 = x.detach().requires_grad_(True)
    (expected,) = torch.autograd.grad(model.b(torch.relu(model.a(x2))).sum(), x2)
    torch.testing.assert_close(grad, expected)


def test_tap_is_a_leaf_when_the_input_needs_no_gradient():
    model, x = Chain(boom=False).requires_grad_(False), torch.randn(1, 3, 8, 8)  # as the app prepares models
    with torch.enable_grad(), tapping(model, ["a"]) as taps:
        out = model(x)
    a = tapped(taps, "a")
    assert a.is_leaf and a.requires_grad
    (grad,) = torch.autograd.grad(out.sum(), a)
    a2 = model.a(x).detach().requires_grad_(True)
    (expected,) = torch.autograd.grad(model.b(torch.relu(a2)).sum(), a2)
    torch.testing.assert_close(grad, expected)
    assert _hooks(model) == 0


def test_unknown_layers_and_missing_outputs_are_user_errors():
    model, x = Chain(), torch.randn(1, 3, 8, 8)
    with pytest.raises(UnknownLayer, match="no module named 'nope'") as info:
        forward_until(model, x, ["a", "nope"])
    assert isinstance(info.value, DeepvisError) and isinstance(info.value, KeyError)
    assert str(info.value) == "the model has no module named 'nope'"
    with pytest.raises(MissingLayerOutput, match="pair"):
        capture_activations(Chain(boom=False), x, ["a", "pair"])
    with pytest.raises(MissingLayerOutput, match="'c'|c"):
        tapped({}, "c")
    assert find_module(model, "b") is model.b
    assert _hooks(model) == 0


def test_hooks_are_removed_when_the_forward_raises():
    model = Chain()
    with pytest.raises(AssertionError, match="went past"):
        capture_activations(model, torch.randn(1, 3, 8, 8), ["a"])
    assert _hooks(model) == 0


def test_torch_call_arguments():
    assert pair(3) == (3, 3) and pair([3]) == (3, 3) and pair((3, 5)) == (3, 5) and pair(torch.tensor(2)) == (2, 2)
    assert call_arg((1, 2), {}, 1, "stride", 9) == 2
    assert call_arg((1,), {"stride": 4}, 1, "stride", 9) == 4
    assert call_arg((1,), {}, 1, "stride", 9) == 9
