"""Token maps of vision transformers as (B, C, h, w) unit grids: the one place that reshapes them.

A CNN layer's output is (B, C, H, W): C units, each an H x W map. A transformer's layers emit *tokens*
instead, and deepvis shows them the same way, by reshaping them to the patch grid (what
pytorch-grad-cam's ``reshape_transform`` does for its CAMs):

- ViT (torchvision ``VisionTransformer``, timm's, DeiT): (B, k + h*w, C), k leading extra tokens (the
  class token, a distillation token, registers) -> the k are dropped, (B, C, h, w);
- Swin and Swin V2 (torchvision ``SwinTransformer``): its stages emit channels-last (B, H, W, C) -> (B, C, H, W).
  torchvision's ``shifted_window_attention`` undoes the window partition and the cyclic shift
  itself, so every Swin output is already in image order (tests/core/test_transformers.py checks it).

`layout` decides per layer output. Without settings it reshapes only in a model holding attention
modules (``nn.MultiheadAttention``, or any module whose class name contains ``Attention``: Swin's
``ShiftedWindowAttention`` and ``ShiftedWindowAttentionV2``, timm's ``Attention`` and
``WindowAttention``, Hugging Face's ``ViTAttention`` / ``ViTSelfAttention``), so CNNs (EfficientNet,
ConvNeXt's channels-last MLP inside its blocks) are never touched, and there by a square check (the
patch grid of a square input is square):

- (T, C) is tokens when T - k is a perfect square for the smallest k in 0..`MAX_EXTRA_TOKENS`
  (for grids of 4 x 4 and more the k is unambiguous: two squares above 9 differ by more than 8);
- (a, b, c) is channels-last when a == b != c (a channels-first (C, H, W) map has H == W instead).

The ``token_grid`` setting overrides it per layer-name prefix (the longest matching prefix wins;
"" matches every layer): ``(h, w)`` declares the patch grid (for non-square inputs, or models
without attention modules), None turns the reshape off. An output that does not fit a declared grid
is left as it is (a prefix also covers a block's 1-D outputs).

`core.hooks` applies the layout where a layer's output is tapped (the app's activations, back
diffs, unit objectives, CAM layers, unit images all read taps) and `core.layers` where layers are
discovered, so `LayerInfo.shape` is the grid's (C, h, w).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

MAX_EXTRA_TOKENS = 8
TokenGridSetting = Mapping[str, "tuple[int, int] | None"]

_configured: weakref.WeakKeyDictionary[nn.Module, dict[str, tuple[int, int] | None]] = weakref.WeakKeyDictionary()
_has_attention: weakref.WeakKeyDictionary[nn.Module, bool] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class TokenGrid:
    """How one layer's output maps to a (C, height, width) grid: ``extra`` leading tokens dropped
    from (B, extra + h*w, C), or channels-last (B, h, w, C)."""

    height: int
    width: int
    extra: int = 0
    channels_last: bool = False

    def grid_shape(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The (C, h, w) shape (no batch) of an output of ``shape`` (no batch)."""
        return (shape[-1], self.height, self.width)

    def to_grid(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w), contiguous, in the autograd graph of ``tokens``."""
        if self.channels_last:
            return tokens.permute(0, 3, 1, 2).contiguous()
        batch, _, channels = tokens.shape
        return tokens[:, self.extra:].transpose(1, 2).reshape(batch, channels, self.height, self.width)

    def to_tokens(self, grid: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """A new tensor equal to ``tokens`` whose grid part is computed from ``grid`` (the extra
        tokens from ``tokens``): what the network gets on, so gradients reach ``grid``."""
        if self.channels_last:
            return grid.permute(0, 2, 3, 1).clone(memory_format=torch.contiguous_format)
        patches = grid.flatten(2).transpose(1, 2)
        return torch.cat([tokens[:, :self.extra], patches], dim=1) if self.extra else \
            patches.clone(memory_format=torch.contiguous_format)


def configure(model: nn.Module, token_grid: TokenGridSetting | None) -> None:
    """Remember the ``token_grid`` setting for ``model`` (every later tap of it uses it)."""
    if token_grid:
        _configured[model] = {str(k): (None if v is None else (int(v[0]), int(v[1]))) for k, v in token_grid.items()}
    else:
        _configured.pop(model, None)


def has_attention(model: nn.Module) -> bool:
    """Whether ``model`` holds an attention module (see the module docstring); cached per model."""
    if model not in _has_attention:
        _has_attention[model] = any(isinstance(sub, nn.MultiheadAttention) or "Attention" in type(sub).__name__
                                    for sub in model.modules())
    return _has_attention[model]


def layout(model: nn.Module, name: str, shape: tuple[int, ...] | torch.Size) -> TokenGrid | None:
    """The grid of layer ``name``'s output of ``shape`` (no batch), or None: shown as it is."""
    shape = tuple(shape)
    overrides = _configured.get(model, {})
    matches = [prefix for prefix in overrides if name == prefix or name.startswith(prefix + ".") or prefix == ""]
    if matches:
        declared = overrides[max(matches, key=len)]
        return None if declared is None else fit(shape, declared)
    return infer(shape) if has_attention(model) else None


def fit(shape: tuple[int, ...], grid: tuple[int, int]) -> TokenGrid | None:
    """The layout of an output of ``shape`` (no batch) on the declared ``grid`` (h, w), or None."""
    height, width = grid
    if len(shape) == 2 and 0 <= shape[0] - height * width <= MAX_EXTRA_TOKENS:
        return TokenGrid(height, width, shape[0] - height * width)
    if len(shape) == 3 and shape[:2] == (height, width) and shape[1:] != (height, width):
        return TokenGrid(height, width, channels_last=True)
    return None


def infer(shape: tuple[int, ...]) -> TokenGrid | None:
    """The square-check layout of an output of ``shape`` (no batch), or None (see the module docstring)."""
    if len(shape) == 2:
        for extra in range(min(MAX_EXTRA_TOKENS, shape[0] - 1) + 1):
            side = math.isqrt(shape[0] - extra)
            if side > 0 and side * side == shape[0] - extra:
                return TokenGrid(side, side, extra)
        return None
    if len(shape) == 3 and shape[0] == shape[1] != shape[2]:
        return TokenGrid(shape[0], shape[1], channels_last=True)
    return None


def grid_shape(model: nn.Module, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape layer ``name``'s output of ``shape`` (no batch) is shown with."""
    found = layout(model, name, shape)
    return shape if found is None else found.grid_shape(shape)
