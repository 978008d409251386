"""Backward rules as autograd Functions: what makes deconv, guided backprop and SaliNet differ.

The forward of every rule is the activation's own (so activations and the model output are
unchanged); only the backward differs. With g the upstream signal, x the activation's input and
f'(x) its derivative:

==========  =========================  ======================================================
rule        ReLU, ReLU6                SiLU, GELU, Hardswish, Mish, LeakyReLU (any elementwise f)
==========  =========================  ======================================================
backprop    g * [x > 0]                g * f'(x)   (the true gradient; SaliNet's rule)
deconv      max(g, 0)                  max(g, 0)
guided      g * [x > 0] * [g > 0]      g * f'(x) * [x > 0] * [g > 0]   (also DeSaliNet's rule)
==========  =========================  ======================================================

Where the definitions come from:

- ``deconv`` (Zeiler & Fergus 2014) reverses a ReLU by a ReLU on the *incoming signal* and uses no
  forward information: captum ``Deconvolution`` = ``relu(grad_output)``, zennit ``ReLUDeconvNet`` =
  ``grad_output.clamp(min=0)``. zennit's hook is not tied to ReLU (any module may carry it), and we
  use it unchanged for every activation: the reversed net is the same whatever the forward
  nonlinearity was. For ReLU6 the upper clip is ignored as well (it is a forward switch too).
- ``guided`` (Springenberg et al. 2015) keeps the backprop signal where the forward unit was active
  (x > 0) and the backward signal is positive (g > 0). For ReLU that is g * [x > 0] * [g > 0]
  (captum ``relu(grad_input)``, zennit ``grad_input * (grad_output > 0)``). For another activation
  the backprop signal is g * f'(x), and we keep both masks: g * f'(x) * [x > 0] * [g > 0]. This
  reduces to guided backprop's ReLU rule for LeakyReLU (f' = 1 where x > 0), and because f' > 0 for
  x > 0 for all five activations, a positive signal stays positive, the property guided backprop is
  used for. (zennit's hook applied to a SiLU module would drop the x > 0 mask and pass the small
  negative f'(x) of x < 0; we keep the mask of the paper's definition, "forward input positive".)
  ReLU6's gate is the true ReLU6 gate [0 < x < 6].
- ``backprop`` is the true gradient (SaliNet, Mahendran & Vedaldi 2016: backprop written as a
  reversed network); for the other activations it is f's own autograd backward.

Sigmoid, tanh, hard-sigmoid (squeeze-excite gates) and the like keep their true gradient under
every rule: they gate rather than rectify, and no source defines a reversed-net rule for them.

The ReLU rules save only the forward *output* (the gate is recovered from it exactly: out > 0 iff
x > 0, and 0 < out < 6 iff 0 < x < 6), so an in-place variant may overwrite its input afterwards;
the guided rule of the other activations saves a copy of the input for in-place calls.
"""

from __future__ import annotations

from typing import Any, Callable

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


# --- other activations: SiLU, GELU, Hardswish, Mish, LeakyReLU -------------------------------------
# f is the activation (elementwise, out of place); f'(x) is its derivative as torch's autograd defines it.

def _activation_grad(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                     signal: torch.Tensor) -> torch.Tensor:
    """signal * f'(x), computed by autograd on f itself (no torch-function mode may rewrite f here)."""
    with torch.enable_grad(), torch._C.DisableTorchFunction():
        leaf = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(leaf), leaf, signal)
    return grad


class _DeconvActivation(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return fn(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return torch.relu(grad), None


class _GuidedActivation(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor],
                inplace: bool) -> torch.Tensor:
        ctx.fn = fn
        ctx.save_for_backward(x.clone() if inplace else x)  # an in-place call overwrites x afterwards
        return fn(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        return _activation_grad(ctx.fn, x, torch.relu(grad)) * (x > 0), None, None


def activation_with_rule(rule: str, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor],
                         inplace: bool = False) -> torch.Tensor:
    """``fn(x)`` (an elementwise activation, out of place) whose backward follows ``rule``."""
    if rule == "backprop":
        return fn(x.clone() if inplace else x)  # f saves its input, which an in-place call overwrites
    if rule == "deconv":
        return _DeconvActivation.apply(x, fn)
    if rule == "guided":
        return _GuidedActivation.apply(x, fn, inplace)
    raise ValueError(f"unknown rule '{rule}' (choose from {', '.join(RULES)})")
