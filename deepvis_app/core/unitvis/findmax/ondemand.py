"""The selected unit's top-9 and deconv montages, computed in the app from a few images.

When no precomputed images are on disk for a unit, the unit-image loader's thread calls
`compute_unit_images` (through `core.unit_compute`, under the model lock) with the built-in sample
images; `deepvis crops` is the way to rank a real data set. One forward pass ranks them for the
unit, one batched backward gives the deconvs of the top ones, and the same crop and montage code as
`deepvis crops` builds the pictures. A few images take well under a second on the default model.
Receptive fields are cached per model and layer.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch
from torch import nn

from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.findmax.crops import METHOD_KINDS, CropItem, crop_items, layer_receptive_field
from deepvis_app.core.unitvis.findmax.receptive_field import LayerRF
from deepvis_app.core.unitvis.findmax.topk import batch_candidates, empty_topk, merge_topk
from deepvis_app.core.unitvis.store.montage import unit_montage
from deepvis_app.core.unitvis.store.unit_layout import UnitImages

_RF_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[tuple, LayerRF]] = weakref.WeakKeyDictionary()


def cached_receptive_field(loaded: LoadedModel, layer: str) -> LayerRF:
    per_model = _RF_CACHE.setdefault(loaded.module, {})
    key = (layer, tuple(loaded.preprocessor.input_size))
    if key not in per_model:
        per_model[key] = layer_receptive_field(loaded, layer)
    return per_model[key]


def compute_unit_images(loaded: LoadedModel, layer: str, unit: int, images: list[np.ndarray],
                        top: int = 9, tile: int = 96, method: str = "deconv") -> UnitImages | None:
    """Montages of `unit`'s best `top` images among `images` (max_im and max_deconv); None without images."""
    if not images:
        return None
    fitted = [loaded.preprocessor.fit_frame(image) for image in images]
    x = torch.from_numpy(np.stack([loaded.preprocessor.to_array(f) for f in fitted])).to(loaded.device)
    with torch.inference_mode():
        values = forward_until(loaded.module, x, [layer])[layer]
    if not 0 <= unit < values.shape[1]:
        raise ValueError(f"unit {unit} out of range: layer '{layer}' has {values.shape[1]} units")
    candidates = batch_candidates(values[:, unit:unit + 1], torch.arange(len(fitted)))
    best = merge_topk(empty_topk(1, top, candidates.pos.shape[2]), candidates, top)
    items = [CropItem(unit, fitted[int(i)], tuple(p) if p else None)
             for i, p in zip(best.index[0].tolist(), best.pos[0].tolist(), strict=True) if i >= 0]
    crops = crop_items(loaded, layer, cached_receptive_field(loaded, layer), items, (method,))
    return UnitImages(regularized_opt=None, max_im=unit_montage(crops["maxim"], top, tile),
                      max_deconv=unit_montage(crops[method], top, tile), backprop_kind=METHOD_KINDS[method][1])
