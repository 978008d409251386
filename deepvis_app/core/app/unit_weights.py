"""A layer's incoming weights per unit, and pattern mode's pictures of them (the arikpoz fork's
"weights histogram" and "weights correlation").

The weights of a layer's units are those of the conv/linear module that makes its channels: the layer's
module when its `weight` has one row per channel, else the last such module inside it (a block), else
for a layer without such weights (an activation, a pool, a BatchNorm) the nearest such module before it
in `named_modules()` order (the conv a ReLU follows). Only weights of two or more dimensions count, so a
BatchNorm's per-channel scale is never taken for a unit's weights. The pictures are pure functions of
the model (no forward pass): the unit-image loader computes them once per layer in its thread and
keeps them in its cache.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch import nn

from deepvis_app.core.imaging.display import value_histogram
from deepvis_app.core.unitvis.findmax.summary import matrix_picture


def _unit_weights(module: nn.Module, channels: int) -> torch.Tensor | None:
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.ndim >= 2 and weight.shape[0] == channels:
        return weight
    return None


def weight_module_name(model: nn.Module, layer: str, channels: int) -> str | None:
    """The dotted name of the module whose weights are the `channels` units' of `layer` (see the module
    docstring), or None when there is none (or `layer` is not a module of `model`)."""
    modules = list(model.named_modules())
    names = [name for name, _ in modules]
    if layer not in names:
        return None
    index = names.index(layer)
    module = modules[index][1]
    if _unit_weights(module, channels) is not None:
        return layer
    inside = [f"{layer}.{name}" if layer else name for name, sub in module.named_modules()
              if name and _unit_weights(sub, channels) is not None]
    if inside:
        return inside[-1]
    if any(param.ndim >= 2 for param in module.parameters()):
        return None     # a block of other widths: its units are not one module's rows
    before = [name for name, sub in modules[:index] if _unit_weights(sub, channels) is not None]
    return before[-1] if before else None


def unit_weight_matrix(model: nn.Module, layer: str, channels: int,
                       lock: threading.Lock | None = None) -> np.ndarray | None:
    """(channels, fan_in) copy of the units' incoming weights (float32 or float64 as the model), or None."""
    name = weight_module_name(model, layer, channels)
    if name is None:
        return None
    weight = _unit_weights(model.get_submodule(name), channels)
    assert weight is not None
    if lock is None:
        return _as_rows(weight)
    with lock:     # the model's lock: no module swap halfway through the copy
        return _as_rows(weight)


def _as_rows(weight: torch.Tensor) -> np.ndarray:
    rows = weight.detach().to("cpu").reshape(weight.shape[0], -1)
    if rows.dtype not in (torch.float32, torch.float64):
        rows = rows.float()
    return rows.numpy().copy()


def weight_histograms(weights: np.ndarray, side: int) -> list[np.ndarray]:
    """One `value_histogram` picture (side x side) per unit of (units, fan_in) weights."""
    return [value_histogram(row, (side, side)) for row in weights]


def weights_correlation(weights: np.ndarray) -> np.ndarray:
    """np.corrcoef of the units' weight vectors, (units, units); a unit with constant weights correlates 0
    with the others (NaN otherwise), 1 with itself (as find-max's channels_correlation)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.nan_to_num(np.atleast_2d(np.corrcoef(weights)))
    np.fill_diagonal(matrix, 1.0)
    return matrix


def weights_correlation_picture(weights: np.ndarray, layer: str) -> np.ndarray:
    """The correlation matrix of the units' weights drawn as find-max's channels_correlation.png (colour
    -1..1, units in their own order)."""
    return matrix_picture(weights_correlation(weights), f"{layer}: correlation of the units' weights")
