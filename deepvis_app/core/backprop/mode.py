"""A TorchFunctionMode that swaps every ReLU-family call for one with a chosen backward rule.

Why a function mode and not module hooks: captum's module hooks only reach ``nn.ReLU`` modules, so
functional calls (``F.relu``, ``torch.relu``, ``F.relu6``, ``Tensor.relu_``, as in torchvision
GoogLeNet) silently keep the plain gradient. A mode sees every call the forward executes, whoever
makes it: ``nn.ReLU`` (routes through ``F.relu``), ``nn.ReLU6`` (``F.hardtanh(x, 0, 6)``), one module
called several times (ResNet), and in-place variants. ``hardtanh`` is treated as a clipped ReLU only
when its lower bound is 0; other hardtanh calls keep their own gradient.

In-place calls keep their meaning: the rule's result is copied back into the input, which is returned,
so code that ignores the return value still sees the rectified tensor.
The mode is entered and left with ``with``; leaving always happens, also when the forward raises.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from deepvis_app.core.backprop.pooling import max_pool2d_centre_unpool
from deepvis_app.core.backprop.rules import relu_with_rule
from deepvis_app.core.torch_args import call_arg

# A parser turns a call's (args, kwargs) into (input, upper clip or None, in place), or None when the
# call is not a ReLU (a hardtanh whose lower bound is not 0).
_Parsed = tuple[torch.Tensor, "float | None", bool]
_Parser = Callable[[tuple, dict], "_Parsed | None"]


def _input(args: tuple, kwargs: dict) -> torch.Tensor:
    return args[0] if args else kwargs["input"]


def _relu_call(inplace_default: bool, upper: float | None = None) -> _Parser:
    def parse(args: tuple, kwargs: dict) -> _Parsed:
        return _input(args, kwargs), upper, bool(call_arg(args, kwargs, 1, "inplace", inplace_default))
    return parse


def _hardtanh_call(inplace_default: bool, with_inplace_arg: bool) -> _Parser:
    def parse(args: tuple, kwargs: dict) -> _Parsed | None:
        low = float(call_arg(args, kwargs, 1, "min_val", -1.0))
        high = float(call_arg(args, kwargs, 2, "max_val", 1.0))
        if low != 0.0 or high <= 0.0:
            return None
        inplace = bool(call_arg(args, kwargs, 3, "inplace", inplace_default)) if with_inplace_arg else inplace_default
        return _input(args, kwargs), high, inplace
    return parse


def _relu_table() -> dict[Any, _Parser]:
    return {
        F.relu: _relu_call(False), torch.relu: _relu_call(False), torch.Tensor.relu: _relu_call(False),
        torch.relu_: _relu_call(True), torch.Tensor.relu_: _relu_call(True),
        F.relu6: _relu_call(False, 6.0), torch._C._nn.relu6: _relu_call(False, 6.0),
        torch._C._nn.relu6_: _relu_call(True, 6.0),
        F.hardtanh: _hardtanh_call(False, True), torch._C._nn.hardtanh: _hardtanh_call(False, False),
        F.hardtanh_: _hardtanh_call(True, False), torch._C._nn.hardtanh_: _hardtanh_call(True, False),
    }


_MAX_POOL_2D = (F.max_pool2d, torch.max_pool2d)


class ReluRuleMode(TorchFunctionMode):
    """While active, ReLU-family calls use ``rule``'s backward; with ``centre_unpool``, max-pool 2-D
    calls (without returned indices) use SaliNet's centre-of-window backward."""

    def __init__(self, rule: str, centre_unpool: bool = False) -> None:
        super().__init__()
        self.rule = rule
        self.centre_unpool = centre_unpool
        self.relu_calls = 0
        self._table = _relu_table()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        parse = self._table.get(func)
        if parse is not None:
            parsed = parse(args, kwargs)
            if parsed is not None:
                return self._apply_relu(*parsed)
        if self.centre_unpool and func in _MAX_POOL_2D and not call_arg(args, kwargs, 6, "return_indices", False):
            return max_pool2d_centre_unpool(*args, **{k: v for k, v in kwargs.items() if k != "return_indices"})
        return func(*args, **kwargs)

    def _apply_relu(self, x: torch.Tensor, upper: float | None, inplace: bool) -> torch.Tensor:
        self.relu_calls += 1
        out = relu_with_rule(self.rule, x, upper)
        if inplace:
            return x.copy_(out)
        return out
