"""The reversed nets' switch-free max-pool backward: centre-of-window unpooling (DNN-Visualizer
``max_unpooling_non_locational``, its ``locational_pooling=False``).

Backprop and the reversed nets of Mahendran & Vedaldi 2016 send a pooled signal back to the window's
argmax (the "switch"). DNN-Visualizer's code for SaliNet forgets the switch and puts the signal at the
centre of the pooling window instead; here that is the ``unpool="window_centre"`` option of deconv,
salinet and desalinet. Precisely, per spatial axis, output index i has the
window starting at i*s - p, and its centre is i*s - p + d*(k//2), clamped into the input (DNN-Visualizer's
``__center``, int((x0 + x1) / 2), is offset k//2 for its unpadded windows). Where windows overlap
(stride < kernel) the contributions are summed (the exact transpose of "read the centre");
DNN-Visualizer overwrites instead, which is the same for non-overlapping pooling (its VGG).
The forward is the ordinary max-pool. Only 2-D max-pooling without returned indices
(``nn.MaxPool2d``, ``F.max_pool2d``, ``torch.max_pool2d``) is changed; adaptive, 1-D and 3-D
max-pools keep their switches.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from deepvis_app.core.base.torch_args import pair


def window_centres(size_in: int, size_out: int, kernel: int, stride: int, padding: int,
                   dilation: int) -> torch.Tensor:
    """Input index of the centre of each pooling window along one axis, shape (size_out,)."""
    starts = torch.arange(size_out) * stride - padding
    return (starts + dilation * (kernel // 2)).clamp(0, size_in - 1)


class _CentreUnpoolMaxPool2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int], dilation: tuple[int, int], ceil_mode: bool) -> torch.Tensor:
        out = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
        ctx.shape_in = x.shape
        rows = window_centres(x.shape[-2], out.shape[-2], kernel[0], stride[0], padding[0], dilation[0])
        cols = window_centres(x.shape[-1], out.shape[-1], kernel[1], stride[1], padding[1], dilation[1])
        ctx.flat_index = (rows[:, None] * x.shape[-1] + cols[None, :]).reshape(-1).to(x.device)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        shape = ctx.shape_in
        flat = grad.new_zeros((*shape[:-2], shape[-2] * shape[-1]))
        flat.index_add_(-1, ctx.flat_index, grad.reshape(*grad.shape[:-2], -1))
        return (flat.reshape(shape), None, None, None, None, None)


def max_pool2d_centre_unpool(x: torch.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                             dilation: Any = 1, ceil_mode: bool = False) -> torch.Tensor:
    """``F.max_pool2d`` whose backward is centre-of-window unpooling."""
    kernel = pair(kernel_size)
    steps = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else pair(stride)
    return _CentreUnpoolMaxPool2d.apply(x, kernel, steps, pair(padding), pair(dilation), bool(ceil_mode))

