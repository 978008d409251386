"""A TorchFunctionMode that swaps every activation call for one with a chosen backward rule.

Why a function mode and not module hooks: captum's module hooks only reach ``nn.ReLU`` modules, so
functional calls (``F.relu``, ``torch.relu``, ``F.relu6``, ``Tensor.relu_``, as in torchvision
GoogLeNet) silently keep the plain gradient. A mode sees every call the forward executes, whoever
makes it: ``nn.ReLU`` (routes through ``F.relu``), ``nn.ReLU6`` (``F.hardtanh(x, 0, 6)``), ``nn.SiLU``,
``nn.GELU``, ``nn.Hardswish``, ``nn.Mish``, ``nn.LeakyReLU`` (their ``F.*`` functions), one module
called several times (ResNet), and in-place variants. ``hardtanh`` is treated as a clipped ReLU only
when its lower bound is 0; other hardtanh calls keep their own gradient. The rules themselves are
defined (with their sources) in `rules`.

In-place calls keep their meaning: the rule's result is copied back into the input, which is returned,
so code that ignores the return value still sees the rectified tensor.
With ``lrn_pass`` (the reversed nets' ``lrn="pass"``, see `lrn`), ``F.local_response_norm`` (what
``nn.LocalResponseNorm`` calls) keeps its forward value and passes the signal back unchanged.
The mode is entered and left with ``with``; leaving always happens, also when the forward raises.
When a forward met no activation the rule knows (``rule_calls == 0``), the method's result is just
the gradient: leaving the mode says so (`notices`), naming the nonlinearities it saw instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from deepvis_app.core.base.torch_args import call_arg
from deepvis_app.core.methods.backprop.lrn import local_response_norm_pass
from deepvis_app.core.methods.backprop.pooling import max_pool2d_centre_unpool
from deepvis_app.core.methods.backprop.rule_notices import report_no_rule, report_option_unused
from deepvis_app.core.methods.backprop.rules import activation_with_rule, relu_with_rule


@dataclass(frozen=True)
class _Call:
    """One intercepted activation call: ReLU family (``fn`` None, ``upper`` the clip) or another
    elementwise activation ``fn`` (out of place, its other arguments bound)."""

    x: torch.Tensor
    inplace: bool
    upper: float | None = None
    fn: Callable[[torch.Tensor], torch.Tensor] | None = None


_Parser = Callable[[tuple, dict], "_Call | None"]


def _input(args: tuple, kwargs: dict) -> torch.Tensor:
    return args[0] if args else kwargs["input"]


def _relu_call(inplace_default: bool, upper: float | None = None) -> _Parser:
    def parse(args: tuple, kwargs: dict) -> _Call:
        return _Call(_input(args, kwargs), bool(call_arg(args, kwargs, 1, "inplace", inplace_default)), upper)
    return parse


def _hardtanh_call(inplace_default: bool, with_inplace_arg: bool) -> _Parser:
    def parse(args: tuple, kwargs: dict) -> _Call | None:
        low = float(call_arg(args, kwargs, 1, "min_val", -1.0))
        high = float(call_arg(args, kwargs, 2, "max_val", 1.0))
        if low != 0.0 or high <= 0.0:
            return None
        inplace = bool(call_arg(args, kwargs, 3, "inplace", inplace_default)) if with_inplace_arg else inplace_default
        return _Call(_input(args, kwargs), inplace, high)
    return parse


def _activation_call(fn: Callable[..., torch.Tensor], inplace_index: int | None, inplace_default: bool = False,
                     extra: tuple[tuple[str, Any], ...] = ()) -> _Parser:
    """An activation ``fn(input, *extra, [inplace])``: ``extra`` are (name, default) of the arguments
    after the input, bound into the out-of-place function; ``inplace_index`` the inplace flag's position."""
    def parse(args: tuple, kwargs: dict) -> _Call:
        bound = {name: call_arg(args, kwargs, i + 1, name, default) for i, (name, default) in enumerate(extra)}
        inplace = inplace_default if inplace_index is None else \
            bool(call_arg(args, kwargs, inplace_index, "inplace", inplace_default))
        return _Call(_input(args, kwargs), inplace, fn=partial(fn, **bound) if bound else fn)
    return parse


def _rule_table() -> dict[Any, _Parser]:
    nn_ = torch._C._nn
    slope = (("negative_slope", 0.01),)
    return {
        F.relu: _relu_call(False), torch.relu: _relu_call(False), torch.Tensor.relu: _relu_call(False),
        torch.relu_: _relu_call(True), torch.Tensor.relu_: _relu_call(True),
        F.relu6: _relu_call(False, 6.0), nn_.relu6: _relu_call(False, 6.0), nn_.relu6_: _relu_call(True, 6.0),
        F.hardtanh: _hardtanh_call(False, True), nn_.hardtanh: _hardtanh_call(False, False),
        F.hardtanh_: _hardtanh_call(True, False), nn_.hardtanh_: _hardtanh_call(True, False),
        F.silu: _activation_call(nn_.silu, 1), nn_.silu: _activation_call(nn_.silu, None),
        nn_.silu_: _activation_call(nn_.silu, None, True),
        F.hardswish: _activation_call(nn_.hardswish, 1), nn_.hardswish: _activation_call(nn_.hardswish, None),
        nn_.hardswish_: _activation_call(nn_.hardswish, None, True),
        F.mish: _activation_call(nn_.mish, 1), nn_.mish: _activation_call(nn_.mish, None),
        nn_.mish_: _activation_call(nn_.mish, None, True),
        nn_.gelu: _activation_call(nn_.gelu, None, extra=(("approximate", "none"),)),
        nn_.gelu_: _activation_call(nn_.gelu, None, True, extra=(("approximate", "none"),)),  # type: ignore[attr-defined]
        F.leaky_relu: _activation_call(nn_.leaky_relu, 2, extra=slope),
        nn_.leaky_relu: _activation_call(nn_.leaky_relu, None, extra=slope),
        nn_.leaky_relu_: _activation_call(nn_.leaky_relu, None, True, extra=slope),
    }


# Nonlinearities without a rule (their true gradient is used), named in the "no rule applied" notice.
_UNRULED = {F.elu: "elu", F.selu: "selu", F.celu: "celu", F.prelu: "prelu", F.rrelu: "rrelu",
            F.softplus: "softplus", F.hardtanh: "hardtanh", torch.tanh: "tanh", torch.Tensor.tanh: "tanh",
            torch.sigmoid: "sigmoid", torch.Tensor.sigmoid: "sigmoid", F.hardsigmoid: "hardsigmoid",
            F.logsigmoid: "logsigmoid", F.softsign: "softsign", F.tanhshrink: "tanhshrink"}
_MAX_POOL_2D = (F.max_pool2d, torch.max_pool2d)


class ReluRuleMode(TorchFunctionMode):
    """While active, activation calls use ``rule``'s backward; with ``centre_unpool``, max-pool 2-D
    calls (without returned indices) send their signal back to the window centre; with ``lrn_pass``,
    local response norms pass it back unchanged (``lrn_calls`` counts them). ``method`` names the
    method in the notice given when no activation had a rule."""

    def __init__(self, rule: str, centre_unpool: bool = False, method: str | None = None,
                 lrn_pass: bool = False) -> None:
        super().__init__()
        self.rule = rule
        self.centre_unpool = centre_unpool
        self.lrn_pass = lrn_pass
        self.lrn_calls = 0
        self.method = method or rule
        self.rule_calls = 0
        self.max_pool_calls = 0
        self.unruled: Counter[str] = Counter()
        self._table = _rule_table()

    @property
    def relu_calls(self) -> int:
        """Calls that got the rule (kept under its old name: ReLUs were once the only ones)."""
        return self.rule_calls

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        parse = self._table.get(func)
        if parse is not None:
            call = parse(args, kwargs)
            if call is not None:
                return self._apply(call)
        if func in _UNRULED:
            self.unruled[_UNRULED[func]] += 1
        if self.centre_unpool and func in _MAX_POOL_2D and not call_arg(args, kwargs, 6, "return_indices", False):
            self.max_pool_calls += 1
            return max_pool2d_centre_unpool(*args, **{k: v for k, v in kwargs.items() if k != "return_indices"})
        if self.lrn_pass and func is F.local_response_norm:
            self.lrn_calls += 1
            return local_response_norm_pass(args, kwargs)
        return func(*args, **kwargs)

    def __exit__(self, exc_type, exc, traceback):
        result = super().__exit__(exc_type, exc, traceback)
        if exc_type is None and self.rule != "backprop" and self.rule_calls == 0:
            report_no_rule(self.method, dict(self.unruled))
        if exc_type is None and self.centre_unpool and self.max_pool_calls == 0:
            report_option_unused(self.method, "unpool", "window_centre", "the network has no 2-D max-pool")
        if exc_type is None and self.lrn_pass and self.lrn_calls == 0:
            report_option_unused(self.method, "lrn", "pass", "the network has no LocalResponseNorm")
        return result

    def _apply(self, call: _Call) -> torch.Tensor:
        self.rule_calls += 1
        if call.fn is None:
            out = relu_with_rule(self.rule, call.x, call.upper)
        else:
            out = activation_with_rule(self.rule, call.x, call.fn, call.inplace)
        return call.x.copy_(out) if call.inplace else out
