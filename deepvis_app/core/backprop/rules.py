"""ReLU backward rules as autograd Functions: what makes deconv, guided backprop and SaliNet differ.

The forward of every rule is the ordinary ReLU / ReLU6 (so activations and the model output are
unchanged); only the backward differs. With g the upstream signal and x the ReLU input:

- ``backprop`` (SaliNet's ReLU rule): g * [x > 0]  (ReLU6: g * [0 < x < 6]), the true gradient.
- ``deconv`` (Zeiler-Fergus DeconvNet): max(g, 0), whatever the forward was. For ReLU6 the upper clip
  is ignored as well: like the lower gate, it is a forward-dependent switch, and DeconvNet's reverse
  ReLU uses no forward information (captum ``Deconvolution`` = ``relu(grad_output)``).
- ``guided`` (guided backprop, also DeSaliNet's ReLU rule): g * [x > 0] * [g > 0], i.e. the positive
  part of the true gradient; for ReLU6 the gate is the true ReLU6 gate [0 < x < 6].

Each rule saves only the forward *output* (the gate is recovered from it exactly: out > 0 iff x > 0,
and 0 < out < 6 iff 0 < x < 6), so an in-place variant may overwrite its input afterwards without
breaking the backward.
"""

from __future__ import annotations

from typing import Any

import torch

RULES = ("backprop", "deconv", "guided")


def _true_grad(grad: torch.Tensor, out: torch.Tensor, upper: float | None) -> torch.Tensor:
    """g * [x > 0] (or g * [0 < x < upper]) in one fused pass, the kernel autograd itself uses."""
    if upper is None:
        return torch.ops.aten.threshold_backward(grad, out, 0)
    return torch.ops.aten.hardtanh_backward(grad, out, 0.0, upper)


def _clipped_relu(x: torch.Tensor, upper: float | None) -> torch.Tensor:
    return torch.relu(x) if upper is None else torch.clamp(x, 0.0, upper)


class _BackpropRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, upper: float | None) -> torch.Tensor:
        out = _clipped_relu(x, upper)
        ctx.save_for_backward(out)
        ctx.upper = upper
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (out,) = ctx.saved_tensors
        return _true_grad(grad, out, ctx.upper), None


class _DeconvRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, upper: float | None) -> torch.Tensor:
        return _clipped_relu(x, upper)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return torch.relu(grad), None


class _GuidedRelu(_BackpropRelu):
    """Same forward (and saved output) as the true gradient; the backward also drops negative signals."""

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (out,) = ctx.saved_tensors
        return _true_grad(grad, out, ctx.upper).clamp_(min=0), None  # fresh tensor: safe in place


_FUNCTIONS = {"backprop": _BackpropRelu, "deconv": _DeconvRelu, "guided": _GuidedRelu}


def relu_with_rule(rule: str, x: torch.Tensor, upper: float | None = None) -> torch.Tensor:
    """ReLU (``upper`` None) or clipped ReLU min(max(x, 0), upper) whose backward follows ``rule``."""
    return _FUNCTIONS[rule].apply(x, upper)
