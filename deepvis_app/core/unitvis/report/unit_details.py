"""conv-net-viz's per-unit pictures of one top image, for the report.

conv-net-viz (a Zeiler-Fergus re-implementation) shows, for each of a unit's top images: the full
image with the unit's receptive field at its arg-max boxed in red, the full-size deconvolution of
the unit, the unit's activation map zoomed to the image, and the reconstruction from *all* channels
of the layer (the whole layer as the seed). `unit_detail_images` makes those four pictures for one
(image, position) pair, with the per-unit backprop method of the `unit_backprop` setting (deconv on
networks with max-pool switches, guided backprop otherwise: see `crops.unit_backprop_method`).
`method_map_images` adds the map of any registered back-pane method (`core.methods.registry`) for the unit,
computed as the app computes it (same objective, Grad-CAM layer and settings options) and shown in
the method's own view, so the report can set methods side by side on a unit's top image.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.draw import rectangle_perimeter
from skimage.transform import resize

from deepvis_app.core.imaging.display import ViewScale, apply_colormap, back_view, norm01
from deepvis_app.core.methods.attribution.objective import make_objective
from deepvis_app.core.methods.backprop import backprop_from_unit
from deepvis_app.core.methods.registry import MapKind, get_method, settings_options
from deepvis_app.core.nn.model import LoadedModel, cam_layer_below
from deepvis_app.core.unitvis.findmax.crops import crop_window, layer_receptive_field, unit_backprop_method

# (kind, title) in the order the report shows them
DETAIL_KINDS = (("boxed", "top image, receptive field in red"), ("backprop", "full-size backprop of the unit"),
                ("activation", "activation map"), ("all_channels", "reconstruction from all channels"))
RED = (255, 0, 0)


def boxed(image: np.ndarray, box: tuple[int, int, int, int], width: int = 2) -> np.ndarray:
    """A copy of ``image`` with the (top, left, bottom, right) box (end exclusive) drawn in red,
    clipped to the image."""
    out = image.copy()
    height, wide = image.shape[:2]
    top, left, bottom, right = box
    for inset in range(width):
        start = (min(max(top + inset, 0), height - 1), min(max(left + inset, 0), wide - 1))
        end = (min(max(bottom - 1 - inset, 0), height - 1), min(max(right - 1 - inset, 0), wide - 1))
        rows, cols = rectangle_perimeter(start, end=end, shape=image.shape[:2], clip=True)
        out[rows, cols] = RED
    return out


def unit_detail_images(loaded: LoadedModel, layer: str, unit: int, image: np.ndarray,
                       position: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """{kind: uint8 HxWx3} for ``image`` (already fitted to the network input) and the unit's
    arg-max ``position`` on ``layer`` (None: a 1-D layer, the whole image is its field)."""
    method = unit_backprop_method(loaded)
    x = loaded.preprocessor.to_tensor(image, loaded.device)
    one = backprop_from_unit(loaded.module, x, layer, unit, method=method, seed="activation")
    every = backprop_from_unit(loaded.module, x, layer, unit, method=method, seed="layer")
    activation = one.activations[layer][0, unit].detach().float().cpu().numpy()
    if activation.ndim == 2:
        zoomed = resize(norm01(activation), image.shape[:2], order=0, anti_aliasing=False)
    else:   # a 1-D layer: one value, shown as a flat tile
        zoomed = np.full(image.shape[:2], 1.0)
    box = crop_window(layer_receptive_field(loaded, layer), position)
    return {
        "boxed": boxed(image, box),
        "backprop": back_view(_first(one.input_grad), "raw"),
        "activation": apply_colormap(zoomed, "jet"),
        "all_channels": back_view(_first(every.input_grad), "raw"),
    }


def method_map_images(loaded: LoadedModel, layer: str, unit: int, image: np.ndarray,
                      methods: tuple[str, ...]) -> dict[str, np.ndarray | str]:
    """{method: uint8 HxWx3 picture of its map for ``unit`` of ``layer`` on ``image`` (fitted to the
    network input), or a one-line reason it could not be computed}: the app's objective (the unit's
    channel sum), Grad-CAM family at the last spatial layer below ``layer``, the settings' options."""
    x = loaded.preprocessor.to_tensor(image, loaded.device)
    pictures: dict[str, np.ndarray | str] = {}
    for name in methods:
        method = get_method(name)
        options = settings_options(method, loaded.settings.method_options)
        try:
            cam_layer = cam_layer_below(loaded, layer) if method.map_kind(options) is MapKind.LAYER else None
            objective = make_objective(loaded.module, x, None, layer, unit)
            signal = method.compute(loaded.module, x, objective, options, cam_layer=cam_layer)
        except (ValueError, RuntimeError) as exc:   # e.g. no spatial layer below a 1-D layer for a CAM
            pictures[name] = f"{name}: {exc}"
            continue
        pictures[name] = back_view(_first(signal), method.view, image=image,   # as `deepvis attribute -o` shows it
                                   blur_sigma=loaded.settings.grad_norm_blur_radius,
                                   scale=ViewScale(clip_percent=method.clip))
    return pictures


def _first(signal: torch.Tensor | None) -> np.ndarray:
    if signal is None:
        raise RuntimeError("internal: no signal at the input")
    return signal[0].detach().float().cpu().numpy()
