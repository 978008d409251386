"""DeepLIFT's rescale rule as a TorchFunctionMode: every nonlinearity the forward executes gets the
multiplier Delta out / Delta in as its backward.

The forward runs on the batch [inputs; baselines] (first half inputs, second half their baselines,
row for row, batch-first). At each elementwise nonlinearity y = f(x) the backward multiplies the
upstream signal of both halves by m = (f(x) - f(x')) / (x - x'), or by f'(x) (each half its own)
where |x - x'| < eps (captum's ``nonlinear``). Functions reached: ReLU, ReLU6/hardtanh, hardswish,
hardsigmoid, sigmoid, tanh, SiLU, Mish, ELU, CELU, SELU, leaky ReLU, GELU, softplus, whether called
as modules, functionals, tensor methods or in place (in-place calls keep their meaning: the result
is copied back into the input). captum's ``DeepLift`` hooks modules instead, only those in its
``SUPPORTED_NON_LINEAR`` (ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus, max-pools, Softmax), so
ReLU6, hardswish and hardsigmoid keep their plain gradient there, and functional calls and reused
modules are missed or refused. Products (squeeze-excitation gates) keep their gradient in both.
captum 0.9 also gets two adjacent nonlinear modules wrong (ReLU -> MaxPool: a stale output
gradient, captum issue #1104) and its max-pool fallback uses batch row 0's gradient for every row
(issue #1276); the tests use the rule written out by hand there.

2-D max pooling (without returned indices) uses captum's ``maxpool`` rule: each output's
difference splits into (max(o, o') - o') at the input's argmax and (o - max(o, o')) at the
baseline's argmax, each divided by the input difference there (the plain gradient where that is
below eps). Where pooling windows overlap, several outputs can pick the same position: their parts
are added here (so the attributions sum to f(x) - f(x')); captum scatters them with
``max_unpool2d``, which keeps one of them.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

# func -> (out-of-place function, position of its ``inplace`` argument or None, always in place)
_Entry = tuple[Callable[..., torch.Tensor], "int | None", bool]


def _table() -> dict[Any, _Entry]:
    table: dict[Any, _Entry] = {}
    for name, position in (("relu", 1), ("relu6", 1), ("hardtanh", 3), ("hardswish", 1), ("hardsigmoid", 1),
                           ("silu", 1), ("mish", 1), ("elu", 2), ("celu", 2), ("selu", 1), ("leaky_relu", 2)):
        table[getattr(F, name)] = (getattr(F, name), position, False)
    for func in (F.gelu, F.softplus, F.sigmoid, F.tanh, torch.relu, torch.sigmoid, torch.tanh,
                 torch.Tensor.relu, torch.Tensor.sigmoid, torch.Tensor.tanh):
        table[func] = (func, None, False)
    for func, plain in ((torch.relu_, torch.relu), (torch.Tensor.relu_, torch.relu),
                        (torch.sigmoid_, torch.sigmoid), (torch.Tensor.sigmoid_, torch.sigmoid),
                        (torch.tanh_, torch.tanh), (torch.Tensor.tanh_, torch.tanh),
                        (F.hardtanh_, F.hardtanh), (F.elu_, F.elu), (F.leaky_relu_, F.leaky_relu)):
        table[func] = (plain, None, True)
    return table


def _halves_diff(t: torch.Tensor) -> torch.Tensor:
    half = t.shape[0] // 2
    return t[:half] - t[half:]


class _Rescale(torch.autograd.Function):
    """y = fn(x); backward: the upstream signal times the rescale multiplier (computed in forward,
    so an in-place caller may overwrite x afterwards)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor], eps: float) -> torch.Tensor:
        out = fn(x)
        delta_in = _halves_diff(x)
        delta_in = torch.cat([delta_in, delta_in])
        delta_out = _halves_diff(out)
        multiplier = torch.cat([delta_out, delta_out]) / delta_in
        small = delta_in.abs() < eps
        if bool(small.any()):
            with torch.enable_grad():
                leaf = x.detach().requires_grad_(True)
                value = fn(leaf)
                derivative = torch.autograd.grad(value, leaf, torch.ones_like(value))[0]
            multiplier = torch.where(small, derivative, multiplier)
        ctx.save_for_backward(multiplier)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (multiplier,) = ctx.saved_tensors
        return grad * multiplier, None, None


def _scatter(values: torch.Tensor, indices: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Add each of ``values`` (N, C, h, w) into a zero tensor shaped ``like`` at its flat ``indices``."""
    out = torch.zeros(like.shape[0], like.shape[1], like.shape[2] * like.shape[3], dtype=values.dtype,
                      device=values.device)
    return out.scatter_add_(2, indices.flatten(2), values.flatten(2)).view(like.shape)


class _RescaleMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, pool: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                eps: float) -> torch.Tensor:
        out, indices = pool(x)
        half = out.shape[0] // 2
        top = torch.maximum(out[:half], out[half:])
        delta_out = torch.cat([top - out[half:], out[:half] - top])
        delta_in = _halves_diff(x)
        ctx.save_for_backward(indices, delta_out, torch.cat([delta_in, delta_in]))
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        indices, delta_out, delta_in = ctx.saved_tensors
        parts = _scatter(grad * delta_out, indices, delta_in)
        half = parts.shape[0] // 2
        both = parts[:half] + parts[half:]
        rescaled = torch.cat([both, both]) / delta_in
        plain = _scatter(grad, indices, delta_in)
        return torch.where(delta_in.abs() < ctx.eps, plain, rescaled), None, None


_MAX_POOL_2D = (F.max_pool2d, torch.max_pool2d)
_POOL_NAMES = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")


def _pool_args(args: tuple, kwargs: dict) -> dict[str, Any]:
    values = dict(zip(_POOL_NAMES, args[1:], strict=False))
    values.update({k: v for k, v in kwargs.items() if k in _POOL_NAMES})
    return values


class RescaleMode(TorchFunctionMode):
    """While active, nonlinearities and 2-D max-pools of paired [input; baseline] batches backpropagate
    DeepLIFT multipliers (see the module docstring)."""

    def __init__(self, eps: float = 1e-10) -> None:
        super().__init__()
        self.eps = eps
        self._table = _table()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        entry = self._table.get(func)
        x = args[0] if args else kwargs.get("input")
        if not isinstance(x, torch.Tensor) or x.dim() == 0 or x.shape[0] % 2:
            return func(*args, **kwargs)
        if entry is not None:
            return self._elementwise(entry, x, args, kwargs)
        if func in _MAX_POOL_2D:
            pool = _pool_args(args, kwargs)
            if not pool.pop("return_indices", False):
                pool.setdefault("stride", None)
                return _RescaleMaxPool.apply(x, partial(F.max_pool2d, return_indices=True, **pool), self.eps)
        return func(*args, **kwargs)

    def _elementwise(self, entry: _Entry, x: torch.Tensor, args: tuple, kwargs: dict) -> torch.Tensor:
        plain, position, always_inplace = entry
        rest, options = list(args[1:]), {k: v for k, v in kwargs.items() if k != "input"}
        inplace = always_inplace
        if position is not None:
            if len(args) > position:
                inplace = bool(args[position])
                rest[position - 1] = False
            elif "inplace" in options:
                inplace = bool(options["inplace"])
                options["inplace"] = False
        out = _Rescale.apply(x, lambda t: plain(t, *rest, **options), self.eps)
        return x.copy_(out) if inplace else out
