"""The reversed nets' LocalResponseNorm pass-through: ``lrn="pass"``, the original toolbox's
``lrn_param.deconv_ignore``.

In Yosinski's Caffe fork a deconv pass goes through each LRN layer by its true gradient, unless the
layer sets ``deconv_ignore``; then the LRN hands the signal from above down unchanged
(``lrn_layer.cpp``, its ``Deconv_cpu``). Here that is the ``lrn="pass"`` option of deconv, salinet and
desalinet: the forward is the ordinary ``F.local_response_norm`` (so every value above is unchanged)
and its backward is the identity. ``nn.LocalResponseNorm`` calls ``F.local_response_norm``, so both
are reached; the legacy ``nn.CrossMapLRN2d`` (its own autograd function) keeps its gradient.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from deepvis_app.core.base.torch_args import call_arg


class _PassBackwardLRN(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, size: int, alpha: float, beta: float, k: float) -> torch.Tensor:
        return F.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        return grad, None, None, None, None


def local_response_norm_pass(args: tuple, kwargs: dict) -> torch.Tensor:
    """``F.local_response_norm(*args, **kwargs)`` whose backward is the identity."""
    x = args[0] if args else kwargs["input"]
    size = call_arg(args, kwargs, 1, "size", None)
    alpha, beta, k = (call_arg(args, kwargs, i, name, default)
                      for i, name, default in ((2, "alpha", 1e-4), (3, "beta", 0.75), (4, "k", 1.0)))
    return _PassBackwardLRN.apply(x, size, alpha, beta, k)
