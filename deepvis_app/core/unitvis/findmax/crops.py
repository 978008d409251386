"""Receptive-field crops of each unit's top images, their deconv / guided backprop, and montages.

For every entry of a find-max result the image is re-run, the window the unit sees at its arg-max
position is cut out (zero-padded where it leaves the image, as the original did, so the unit stays
centred; the whole image along an axis where the window is wider than the image, and the whole image
where `receptive_field` cannot follow the graph), and the backward signal from that one position
(seed 1.0 at (unit, i, j)) is cut out the same way and shown with `norm01c` after clipping its
largest 0.5% magnitudes (`signal_image`: otherwise a few extreme pixels flatten deep layers' crops
to uniform gray). The norm kinds (the original crop_max_patches' `--do-deconv-norm`,
`--do-backprop-norm`) show the channel norm of the cut signal, min-max scaled, gray: the app's
"norm" back view (`display.back_view`), no clipping, as the original's norm images. Entries of
many units go through the network together: each batch row has its own unit and position.

Which backward signal the per-unit pane shows is the `unit_backprop` setting
(`unit_backprop_method`): Zeiler-Fergus deconv depends on the input image only through max-pool
switches, so on a network without max-pooling (EfficientNet, MobileNet, most modern nets) every
deconv of a unit is the same picture; "auto" then picks guided backprop, which keeps the forward
ReLU mask.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from deepvis_app.core.imaging.display import back_view, norm01c, to_uint8
from deepvis_app.core.methods.backprop import backward_rules, make_seed
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.findmax.receptive_field import Axis, LayerRF, receptive_field
from deepvis_app.settings.defaults import UNIT_BACKPROP_CHOICES

CROP_METHODS = ("deconv", "guided", "gradient")
# backprop method -> (crop file kind, montage kind); the original's names (backprop_000.png)
METHOD_KINDS = {"deconv": ("deconv", "max_deconv"), "guided": ("guided", "max_guided"),
                "gradient": ("backprop", "max_backprop")}
# backprop method -> (crop file kind, montage kind) of its channel norm; the original's deconvnorm_000.png
NORM_KINDS = {"deconv": ("deconvnorm", "max_deconvnorm"), "guided": ("guidednorm", "max_guidednorm"),
              "gradient": ("backpropnorm", "max_backpropnorm")}
_SWITCHES: weakref.WeakKeyDictionary[nn.Module, bool] = weakref.WeakKeyDictionary()
DISPLAY_CLIP_PERCENTILE = 99.5


@dataclass(frozen=True)
class CropItem:
    """One top entry to crop: the unit, its fitted input image, and the arg-max position."""

    unit: int
    image: np.ndarray
    position: tuple[int, ...] | None


def layer_receptive_field(loaded: LoadedModel, layer: str) -> LayerRF:
    """The composed receptive field; the whole image where the graph cannot be followed."""
    shape = loaded.preprocessor.network_shape
    rf = receptive_field(loaded.module, shape, layer, loaded.device)
    if rf is None:
        rf = LayerRF(Axis(), Axis(), loaded.preprocessor.input_size, whole_image=True)
    return rf


def crop_window(rf: LayerRF, position: Sequence[int] | None) -> tuple[int, int, int, int]:
    """The crop box at `position`: the receptive field, or the whole image axis where it is larger."""
    top, left, bottom, right = rf.box(position)
    height, width = rf.input_size
    if bottom - top >= height:
        top, bottom = 0, height
    if right - left >= width:
        left, right = 0, width
    return top, left, bottom, right


def cut(image: np.ndarray, box: tuple[int, int, int, int], fill: float = 0) -> np.ndarray:
    """image[top:bottom, left:right] (HxWxC), filled with `fill` where the box leaves the image."""
    top, left, bottom, right = box
    out = np.full((bottom - top, right - left, image.shape[2]), fill, dtype=image.dtype)
    src_top, src_left = max(top, 0), max(left, 0)
    src_bottom, src_right = min(bottom, image.shape[0]), min(right, image.shape[1])
    if src_bottom > src_top and src_right > src_left:
        out[src_top - top:src_bottom - top, src_left - left:src_right - left] = \
            image[src_top:src_bottom, src_left:src_right]
    return out


def signal_image(signal: np.ndarray, percentile: float = DISPLAY_CLIP_PERCENTILE) -> np.ndarray:
    """A backward signal (HxWxC) as uint8: clipped at the percentile of |signal|, then norm01c (0 is gray)."""
    limit = np.percentile(np.abs(signal), percentile) if signal.size else 0.0
    return to_uint8(norm01c(np.clip(signal, -limit, limit) if limit > 0 else signal))


def norm_image(signal: np.ndarray) -> np.ndarray:
    """A backward signal (HxWxC) as its per-pixel channel L2 norm, min-max scaled, gray uint8 HxWx3."""
    return back_view(np.asarray(signal).transpose(2, 0, 1), "norm")


def backprop_at_positions(model: nn.Module, x: torch.Tensor, layer: str, units: Sequence[int],
                          positions: Sequence[Sequence[int]] | None, method: str) -> torch.Tensor:
    """(B, C, H, W) input signal with seed 1.0 at (units[b], *positions[b]) for each row b
    (``positions`` None: a fully connected layer, seed 1.0 at units[b]).

    Same rules as `backprop_from_unit(..., seed="position")`, but every row has its own unit and
    position, so the crops of many units share one backward pass.
    """
    x_in = x.detach().requires_grad_(True)
    with torch.enable_grad(), backward_rules(method):
        out = forward_until(model, x_in, [layer])[layer]
    seed = make_seed(out.detach(), torch.as_tensor(list(units)), "position", positions)
    (grad,) = torch.autograd.grad(out, x_in, grad_outputs=seed)
    return grad.detach()


def crop_items(loaded: LoadedModel, layer: str, rf: LayerRF, items: Sequence[CropItem],
               methods: Sequence[str] = ("deconv",), norm_methods: Sequence[str] = ()) -> dict[str, list[np.ndarray]]:
    """{"maxim": crops, "<method>": crops..., "<norm kind>": crops...} for the items, in item order;
    norm kinds (NORM_KINDS, e.g. "deconvnorm") for the `norm_methods`."""
    boxes = [crop_window(rf, item.position) for item in items]
    result = {"maxim": [cut(item.image, box) for item, box in zip(items, boxes, strict=True)]}
    if not items:
        return result | {method: [] for method in methods} | {NORM_KINDS[m][0]: [] for m in norm_methods}
    pre = loaded.preprocessor
    known = [item.position for item in items if item.position is not None]
    positions = known if len(known) == len(items) else None
    x = torch.from_numpy(np.stack([pre.to_array(item.image) for item in items])).to(loaded.device)
    for method in dict.fromkeys([*methods, *norm_methods]):
        if method not in CROP_METHODS:
            raise ValueError(f"unknown crop method '{method}' (choose from {', '.join(CROP_METHODS)})")
        grad = backprop_at_positions(loaded.module, x, layer, [i.unit for i in items], positions, method)
        hwc = grad.cpu().numpy().transpose(0, 2, 3, 1)
        if pre.bgr and hwc.shape[3] == 3:
            hwc = hwc[..., ::-1]
        signals = [cut(g, box) for g, box in zip(hwc, boxes, strict=True)]
        if method in methods:
            result[method] = [signal_image(signal) for signal in signals]
        if method in norm_methods:
            result[NORM_KINDS[method][0]] = [norm_image(signal) for signal in signals]
    return result


class _MaxPoolSpy(TorchFunctionMode):
    """Notes whether the forward calls any max-pool (module or functional, adaptive or not)."""

    found = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if "max_pool" in getattr(func, "__name__", ""):
            self.found = True
        return func(*args, **(kwargs or {}))


def has_max_pool_switches(loaded: LoadedModel) -> bool:
    """Whether one forward pass of the model runs a max-pool (cached per module)."""
    module = loaded.module
    if module not in _SWITCHES:
        x = torch.zeros((1, *loaded.preprocessor.network_shape), device=loaded.device)
        spy = _MaxPoolSpy()
        with torch.no_grad(), spy:
            module(x)
        _SWITCHES[module] = spy.found
    return _SWITCHES[module]


def unit_backprop_method(loaded: LoadedModel, setting: str | None = None) -> str:
    """The backprop method of the per-unit images: `setting` (default: the `unit_backprop` setting),
    with "auto" resolved to deconv when the model has max-pool switches and guided otherwise."""
    chosen = setting or loaded.settings.unit_backprop
    if chosen not in UNIT_BACKPROP_CHOICES:
        raise ValueError(f"unit_backprop '{chosen}': choose from {', '.join(UNIT_BACKPROP_CHOICES)}")
    if chosen != "auto":
        return chosen
    return "deconv" if has_max_pool_switches(loaded) else "guided"


def unit_backprop_kind(loaded: LoadedModel, setting: str | None = None) -> str:
    """The montage folder (max_deconv, max_guided, max_backprop) of `unit_backprop_method`."""
    return METHOD_KINDS[unit_backprop_method(loaded, setting)][1]
