"""`deepvis crops`: from find-max results to the montages the app's per-unit pane shows.

Per layer: read DIR/find_max/<layer>.json, crop every unit's top entries (see `crops`), and write
the unit's max_im / max_deconv (/ max_guided) montages through `UnitVisLayout`. Units whose
montages are already on disk are skipped, so an interrupted run continues where it stopped.
Images shared by many units are decoded once (small LRU cache). An image that cannot be read any
more (moved, replaced by a damaged file, over the `max_image_pixels` limit) is listed with its
problem and left out of its units' montages; it never stops the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from deepvis_app.core.model import LoadedModel
from deepvis_app.core.unitvis.crops import METHOD_KINDS, CropItem, crop_items, layer_receptive_field
from deepvis_app.core.unitvis.find_max import read_find_max
from deepvis_app.core.unitvis.layout import UnitVisLayout
from deepvis_app.core.unitvis.montage import unit_montage
from deepvis_app.core.unitvis.scan_data import ScanError
from deepvis_app.errors import DeepvisError
from deepvis_app.io.images import ImageReadError, read_image, write_image

log = logging.getLogger("deepvis.unitvis.crop_pipeline")

# progress(layer, units done in this layer, units in this layer)
CropProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CropRequest:
    """See `deepvis crops --help`."""

    out: Path
    layers: tuple[str, ...] | None = None
    dataset: Path | None = None
    methods: tuple[str, ...] = ("deconv",)
    tile: int = 96
    batch_size: int = 16
    save_crops: bool = False
    force: bool = False


@dataclass
class CropResult:
    layers: dict[str, int]          # layer -> units written
    missing_images: list[str]       # top entries whose image could not be read any more
    problems: dict[str, str] = field(default_factory=dict)   # such an image -> why


def make_crops(loaded: LoadedModel, request: CropRequest, progress: CropProgress | None = None) -> CropResult:
    """Crops and montages for every requested layer that has a find-max result."""
    layout = UnitVisLayout(request.out)
    layers = list(request.layers) if request.layers else layout.find_max_layers()
    if not layers:
        raise ScanError(f"{layout.find_max_json('*').parent}: no find-max results (run `deepvis find-max`)")
    result = CropResult({}, [])
    for layer in layers:
        result.layers[layer] = _layer_crops(loaded, layout, layer, request, result, progress)
    return result


def _layer_crops(loaded: LoadedModel, layout: UnitVisLayout, layer: str, request: CropRequest,
                 result: CropResult, progress: CropProgress | None) -> int:
    doc = read_find_max(layout, layer)
    dataset = Path(request.dataset or doc.get("dataset", "."))
    rf = layer_receptive_field(loaded, layer)
    fitted = _fitted_reader(loaded, dataset)
    todo = [u for u in range(len(doc["units"])) if request.force or not _unit_done(layout, layer, u, request)]
    per_chunk = max(1, request.batch_size // max(1, doc["top"]))
    if progress is not None:
        progress(layer, 0, len(todo))  # the layer starts now (its clock too)
    for start in range(0, len(todo), per_chunk):
        chunk = todo[start:start + per_chunk]
        items, owners = _chunk_items(doc, chunk, fitted, dataset, result)
        crops = crop_items(loaded, layer, rf, items, request.methods)
        for unit in chunk:
            picked = {kind: [c for c, owner in zip(values, owners, strict=True) if owner == unit]
                      for kind, values in crops.items()}
            _write_unit(layout, layer, unit, picked, doc["top"], request)
        if progress is not None:
            progress(layer, start + len(chunk), len(todo))
    return len(todo)


def _chunk_items(doc: dict, units: Sequence[int], fitted: Callable[[str], np.ndarray | str], dataset: Path,
                 result: CropResult) -> tuple[list[CropItem], list[int]]:
    items, owners = [], []
    for unit in units:
        for entry in doc["units"][unit]:
            image = fitted(entry["path"])
            if isinstance(image, str):  # the problem
                result.missing_images.append(str(dataset / entry["path"]))
                result.problems[str(dataset / entry["path"])] = image
                continue
            position = tuple(entry["pos"]) if "pos" in entry else None
            items.append(CropItem(unit, image, position))
            owners.append(unit)
    return items, owners


def _fitted_reader(loaded: LoadedModel, dataset: Path) -> Callable[[str], np.ndarray | str]:
    """relative path -> the image at the network's input size, or the problem (one line)."""
    max_pixels = loaded.settings.max_image_pixels

    @lru_cache(maxsize=256)
    def fitted(relative: str) -> np.ndarray | str:
        try:
            return loaded.preprocessor.fit_frame(read_image(dataset / relative, max_pixels))
        except ImageReadError as exc:
            return exc.problem or str(exc)
        except (DeepvisError, ValueError) as exc:
            return str(exc)
        except Exception as exc:  # a decoder bug costs one image, not the run
            log.exception("%s: unexpected error while reading", dataset / relative)
            return f"unexpected error ({type(exc).__name__}: {exc})"
    return fitted


def _montage_kinds(request: CropRequest) -> list[tuple[str, str]]:
    """(crop kind, montage kind) pairs this request writes."""
    return [("maxim", "max_im")] + [METHOD_KINDS[m] for m in request.methods]


def _unit_done(layout: UnitVisLayout, layer: str, unit: int, request: CropRequest) -> bool:
    return all(layout.unit_image(kind, layer, unit).is_file() for _, kind in _montage_kinds(request))


def _write_unit(layout: UnitVisLayout, layer: str, unit: int, crops: dict[str, list[np.ndarray]], top: int,
                request: CropRequest) -> None:
    for crop_kind, montage_kind in _montage_kinds(request):
        if request.save_crops:
            for rank, crop in enumerate(crops[crop_kind]):
                write_image(layout.crop(crop_kind, layer, unit, rank), crop)
        layout.write_unit_image(montage_kind, layer, unit, unit_montage(crops[crop_kind], top, request.tile))
