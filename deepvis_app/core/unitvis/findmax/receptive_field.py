"""Receptive fields on any architecture: composed through the traced graph, checked by gradients.

The original toolbox had a hard-coded AlexNet table. Here one forward pass runs under a
`TorchFunctionMode` that follows every tensor: each carries, per spatial axis, the geometry
(jump, size, start) of the input window its positions see, in Caffe's convention (padding counts,
so AlexNet conv5 is 163 px whatever the position). Convolutions and pools compose it, `pad`
shifts it, ops that keep the spatial size (BN, ReLU, residual adds, concatenation) take the union
of their inputs' windows, and anything that collapses space (flatten, global pooling, linear)
makes the window the whole image. That covers graph nets (ResNet skips, GoogLeNet branches,
EfficientNet's TF "SAME" pads). An op it cannot follow gives `None` (the crops then use the whole
image). `measure_receptive_field`, the support of the input gradient, is the independent check the
tests compare the composed windows against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from deepvis_app.core.base.torch_args import call_arg, pair
from deepvis_app.core.nn.hooks import MissingLayerOutput, forward_until


@dataclass(frozen=True)
class Axis:
    """Position n of this axis sees input pixels [start + n*jump, start + n*jump + size)."""

    jump: float = 1.0
    size: float = 1.0
    start: float = 0.0

    def window(self, kernel: int, stride: int, padding: int, dilation: int = 1) -> Axis:
        size = self.size + dilation * (kernel - 1) * self.jump
        return Axis(self.jump * stride, size, self.start - padding * self.jump)

    def union(self, other: Axis) -> Axis:
        start = min(self.start, other.start)
        end = max(self.start + self.size, other.start + other.size)
        return Axis(max(self.jump, other.jump), end - start, start)


@dataclass(frozen=True)
class LayerRF:
    """A layer's receptive field; `whole_image` for layers without spatial positions."""

    rows: Axis
    cols: Axis
    input_size: tuple[int, int]
    whole_image: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of one position's window, padding included (Caffe's number)."""
        if self.whole_image:
            return self.input_size
        return round(self.rows.size), round(self.cols.size)

    def box(self, position: Sequence[int] | None) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), end exclusive, of the window at `position`; may leave the image."""
        if self.whole_image or position is None:
            return 0, 0, self.input_size[0], self.input_size[1]
        i, j = position
        top = self.rows.start + i * self.rows.jump
        left = self.cols.start + j * self.cols.jump
        return (math.floor(top), math.floor(left), math.floor(top + self.rows.size),
                math.floor(left + self.cols.size))

    def center(self, position: Sequence[int] | None) -> tuple[float, float] | None:
        """(row, column) in input pixels of the centre of the window at `position` (pixel centres
        at integers: the middle of `box`, (top + bottom - 1) / 2); None without a position."""
        if self.whole_image or position is None:
            return None
        top, left, bottom, right = self.box(position)
        return (top + bottom - 1) / 2, (left + right - 1) / 2


@dataclass(frozen=True)
class _Geometry:
    rows: Axis
    cols: Axis
    whole: bool = False


_WHOLE = _Geometry(Axis(), Axis(), True)


def _conv(geo: _Geometry, args: tuple, kwargs: dict) -> _Geometry:
    kernel = tuple(call_arg(args, kwargs, 1, "weight", None).shape[-2:])
    stride = pair(call_arg(args, kwargs, 3, "stride", 1))
    dilation = pair(call_arg(args, kwargs, 5, "dilation", 1))
    padding = call_arg(args, kwargs, 4, "padding", 0)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))
    pads = pair(padding)
    return _Geometry(geo.rows.window(kernel[0], stride[0], pads[0], dilation[0]),
                     geo.cols.window(kernel[1], stride[1], pads[1], dilation[1]))


def _pool(geo: _Geometry, args: tuple, kwargs: dict, with_dilation: bool) -> _Geometry:
    kernel = pair(call_arg(args, kwargs, 1, "kernel_size", None))
    stride = call_arg(args, kwargs, 2, "stride", None)
    stride = kernel if stride is None or stride == [] or stride == () else pair(stride)
    pads = pair(call_arg(args, kwargs, 3, "padding", 0))
    dilation = pair(call_arg(args, kwargs, 4, "dilation", 1)) if with_dilation else (1, 1)
    return _Geometry(geo.rows.window(kernel[0], stride[0], pads[0], dilation[0]),
                     geo.cols.window(kernel[1], stride[1], pads[1], dilation[1]))


def _adaptive(geo: _Geometry, size_in: tuple[int, int], size_out: tuple[int, int]) -> _Geometry:
    axes = []
    for axis, n_in, n_out in zip((geo.rows, geo.cols), size_in, size_out, strict=True):
        if n_out == 1:
            return _WHOLE
        stride = n_in / n_out
        kernel = math.ceil(stride) + (0 if n_in % n_out == 0 else 1)
        axes.append(Axis(axis.jump * stride, axis.size + (kernel - 1) * axis.jump, axis.start))
    return _Geometry(axes[0], axes[1])


def _pad(geo: _Geometry, args: tuple, kwargs: dict) -> _Geometry:
    pads = list(call_arg(args, kwargs, 1, "pad", ()))
    left, top = (pads + [0, 0, 0, 0])[0], (pads + [0, 0, 0, 0])[2]
    return _Geometry(Axis(geo.rows.jump, geo.rows.size, geo.rows.start - top * geo.rows.jump),
                     Axis(geo.cols.jump, geo.cols.size, geo.cols.start - left * geo.cols.jump))


def _union(geos: list[_Geometry]) -> _Geometry:
    if any(g.whole for g in geos):
        return _WHOLE
    rows, cols = geos[0].rows, geos[0].cols
    for geo in geos[1:]:
        rows, cols = rows.union(geo.rows), cols.union(geo.cols)
    return _Geometry(rows, cols)


class _GeometryMode(TorchFunctionMode):
    """Follows every tensor derived from the input and records its window geometry."""

    def __init__(self, x: torch.Tensor):
        super().__init__()
        self.known: dict[int, tuple[torch.Tensor, _Geometry | None]] = {id(x): (x, _Geometry(Axis(), Axis()))}

    def geometry(self, tensor: torch.Tensor) -> _Geometry | None:
        entry = self.known.get(id(tensor))
        return entry[1] if entry is not None and entry[0] is tensor else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        sources = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor) and id(t) in self.known
                   and self.known[id(t)][0] is t]
        if sources:
            geo = self._rule(func, args, kwargs, sources, out)
            for leaf in tree_leaves(out):
                if isinstance(leaf, torch.Tensor):
                    self.known[id(leaf)] = (leaf, geo)
        return out

    def _rule(self, func, args, kwargs, sources, out) -> _Geometry | None:
        known = [self.geometry(t) for t in sources]
        geos = [g for g in known if g is not None]
        if len(geos) < len(known):
            return None
        first_out = next((t for t in tree_leaves(out) if isinstance(t, torch.Tensor)), None)
        if first_out is None or first_out.dim() < 3 or any(g.whole for g in geos):
            return _WHOLE
        name = getattr(func, "__name__", "")
        main = sources[0]
        if name in ("conv2d",):
            return _conv(geos[0], args, kwargs)
        if name in ("max_pool2d", "_max_pool2d", "max_pool2d_with_indices"):
            return _pool(geos[0], args, kwargs, with_dilation=True)
        if name == "avg_pool2d":
            return _pool(geos[0], args, kwargs, with_dilation=False)
        if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d", "_adaptive_max_pool2d",
                    "adaptive_max_pool2d_with_indices"):
            return _adaptive(geos[0], (main.shape[-2], main.shape[-1]), (first_out.shape[-2], first_out.shape[-1]))
        if name == "pad":
            return _pad(geos[0], args, kwargs)
        same = [g for t, g in zip(sources, geos, strict=True) if t.dim() >= 3 and t.shape[-2:] == first_out.shape[-2:]]
        if first_out.dim() == 4 and same:
            return _union(same)
        return None


def receptive_field(model: nn.Module, input_shape: Sequence[int], layer: str,
                    device: torch.device | str = "cpu") -> LayerRF | None:
    """The layer's receptive field composed through the graph, or None where an op is not followed.

    `input_shape` is (C, H, W) of the network input.
    """
    channels, height, width = (int(v) for v in input_shape)
    x = torch.zeros((1, channels, height, width), device=device)
    mode = _GeometryMode(x)
    try:
        with torch.no_grad(), mode:
            out = forward_until(model, x, [layer])[layer]
    except MissingLayerOutput:
        return None
    geo = mode.geometry(out)
    if geo is None:
        return None
    return LayerRF(geo.rows, geo.cols, (height, width), whole_image=geo.whole)


def measure_receptive_field(model: nn.Module, input_shape: Sequence[int], layer: str,
                            position: Sequence[int] | None, trials: int = 3,
                            seed: int = 0) -> tuple[int, int, int, int] | None:
    """Bounding box (top, left, bottom, right) of the input pixels the layer at `position` depends on.

    Measured as the support of the gradient of the sum over channels at that position, united over
    `trials` random inputs (one input can hide pixels behind dead ReLUs or max-pool switches).
    The box is clipped to the image; None if no pixel has a gradient.
    """
    generator = torch.Generator().manual_seed(seed)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.randn((trials, *input_shape), generator=generator).to(device).requires_grad_(True)
    with torch.enable_grad():
        out = forward_until(model, x, [layer])[layer]
        picked = out[:, :, position[0], position[1]] if position is not None and out.dim() == 4 else out
        (grad,) = torch.autograd.grad(picked.sum(), x)
    support = grad.abs().sum(dim=(0, 1)) > 0
    rows, cols = torch.nonzero(support.any(dim=1)), torch.nonzero(support.any(dim=0))
    if len(rows) == 0:
        return None
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1
