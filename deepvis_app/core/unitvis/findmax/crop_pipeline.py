"""`deepvis crops`: from find-max results to the montages the app's per-unit pane shows.

Per layer: read DIR/find_max/<layer>.json, crop every unit's top entries (see `crops`), and write
the unit's max_im / max_deconv (/ max_guided / max_backprop, and the channel-norm montages
max_deconvnorm ... of `norm_methods`) montages and its crops/<layer>/unit_NNNN/info.txt (one line
per cropped top image, as the original crop_max_patches' info file) through `UnitVisLayout`. As the
original's `--idx-begin/--idx-end` and `--N`, a request can take a range of units and only each
unit's N best images. Units whose files are already on disk are skipped, so an interrupted run
continues where it stopped.
Images shared by many units are decoded once (small LRU cache). An image that cannot be read any
more (moved, replaced by a damaged file, over the `max_image_pixels` limit) is listed with its
problem and left out of its units' montages; it never stops the run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.findmax.crops import (
    METHOD_KINDS,
    NORM_KINDS,
    CropItem,
    crop_items,
    crop_window,
    layer_receptive_field,
)
from deepvis_app.core.unitvis.findmax.scan import read_find_max
from deepvis_app.core.unitvis.findmax.scan_data import ScanError
from deepvis_app.core.unitvis.store.montage import unit_montage
from deepvis_app.core.unitvis.store.records import dataset_image
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.errors import DeepvisError
from deepvis_app.io.images import ImageReadError, read_image, write_bytes_atomic, write_image

log = logging.getLogger("deepvis.unitvis.crop_pipeline")

# progress(layer, units done in this layer, units in this layer)
CropProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CropRequest:
    """See `deepvis crops --help`. `norm_methods`: methods whose channel-norm images are written too;
    units `idx_begin` <= u < `idx_end` (None: to the last); `top`: each unit's best N images (None: all
    that find-max kept)."""

    out: Path
    layers: tuple[str, ...] | None = None
    dataset: Path | None = None
    methods: tuple[str, ...] = ("deconv",)
    tile: int = 96
    batch_size: int = 16
    save_crops: bool = False
    force: bool = False
    norm_methods: tuple[str, ...] = ()
    idx_begin: int = 0
    idx_end: int | None = None
    top: int | None = None


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
    fitted = fitted_reader(loaded, dataset)
    units = range(len(doc["units"]))[max(0, request.idx_begin):request.idx_end]
    todo = [u for u in units if request.force or not _unit_done(layout, layer, u, request)]
    slots = max(1, min(request.top or doc["top"], doc["top"]))
    per_chunk = max(1, request.batch_size // slots)
    if progress is not None:
        progress(layer, 0, len(todo))  # the layer starts now (its clock too)
    for start in range(0, len(todo), per_chunk):
        chunk = todo[start:start + per_chunk]
        items, owners, entries = _chunk_items(doc, chunk, fitted, dataset, result, slots)
        crops = crop_items(loaded, layer, rf, items, request.methods, request.norm_methods)
        for unit in chunk:
            picked = {kind: [c for c, owner in zip(values, owners, strict=True) if owner == unit]
                      for kind, values in crops.items()}
            _write_unit(layout, layer, unit, picked, slots, request)
            rows = [(entry, crop_window(rf, item.position))
                    for item, entry, owner in zip(items, entries, owners, strict=True) if owner == unit]
            write_bytes_atomic(layout.crop_info(layer, unit),
                               crop_info_text(layer, unit, doc.get("rank_by", "max"), rows).encode())
        if progress is not None:
            progress(layer, start + len(chunk), len(todo))
    return len(todo)


def crop_info_text(layer: str, unit: int, rank_by: str, rows: Sequence[tuple[dict, tuple[int, int, int, int]]]) -> str:
    """The unit's info.txt: per cropped top image (rank = the crop files' number) its image index
    and label (file-list scans; "-" otherwise), value, arg-max position i j ("-" for positionless
    layers), crop box in network-input pixels (end exclusive) and path."""
    lines = [f"# deepvis crops: layer {layer}, unit {unit}, value = the unit's {rank_by} (find-max --rank "
             f"{rank_by}); unreadable images left out",
             "# rank image_idx label value i j top left bottom right path"]
    for rank, (entry, box) in enumerate(rows):
        i, j = entry["pos"] if "pos" in entry else ("-", "-")
        lines.append(" ".join(str(v) for v in (rank, entry.get("index", "-"), entry.get("label", "-"),
                                                f"{entry['value']:.9g}", i, j, *box, _path_field(entry["path"]))))
    return "\n".join(lines) + "\n"


def _path_field(name: str) -> str:
    """The path as info.txt's last field: as it is, or JSON-quoted when a newline, another control
    character or an undecodable byte would break the line."""
    if any(ord(c) < 32 or ord(c) == 127 or 0xDC80 <= ord(c) <= 0xDCFF for c in name):
        return json.dumps(name)
    return name


def _chunk_items(doc: dict, units: Sequence[int], fitted: Callable[[str], np.ndarray | str], dataset: Path,
                 result: CropResult, top: int) -> tuple[list[CropItem], list[int], list[dict]]:
    items, owners, entries = [], [], []
    for unit in units:
        for entry in doc["units"][unit][:top]:
            image = fitted(entry["path"])
            if isinstance(image, str):  # the problem
                result.missing_images.append(str(dataset / entry["path"]))
                result.problems[str(dataset / entry["path"])] = image
                continue
            position = tuple(entry["pos"]) if "pos" in entry else None
            items.append(CropItem(unit, image, position))
            owners.append(unit)
            entries.append(entry)
    return items, owners, entries


def fitted_reader(loaded: LoadedModel, dataset: Path) -> Callable[[str], np.ndarray | str]:
    """relative path -> the image at the network's input size, or the problem (one line)."""
    max_pixels = loaded.settings.max_image_pixels

    @lru_cache(maxsize=256)
    def fitted(relative: str) -> np.ndarray | str:
        try:   # only inside the dataset folder: a record's absolute or ../ path is a problem, not a read
            return loaded.preprocessor.fit_frame(read_image(dataset_image(dataset, relative), max_pixels))
        except ImageReadError as exc:
            return exc.problem or str(exc)
        except (DeepvisError, ValueError) as exc:
            return str(exc)
        except Exception as exc:  # a decoder bug costs one image, not the run
            log.exception("%s: unexpected error while reading", dataset / relative)
            return f"unexpected error ({type(exc).__name__}: {exc})"
    return fitted


def _montage_kinds(request: CropRequest) -> list[tuple[str, str, str]]:
    """(`crop_items` key, crop file kind, montage kind) triples this request writes."""
    return ([("maxim", "maxim", "max_im")] + [(m, *METHOD_KINDS[m]) for m in request.methods]
            + [(NORM_KINDS[m][0], *NORM_KINDS[m]) for m in request.norm_methods])


def _unit_done(layout: UnitVisLayout, layer: str, unit: int, request: CropRequest) -> bool:
    return layout.crop_info(layer, unit).is_file() and all(
        layout.unit_image(kind, layer, unit).is_file() for _, _, kind in _montage_kinds(request))


def _write_unit(layout: UnitVisLayout, layer: str, unit: int, crops: dict[str, list[np.ndarray]], top: int,
                request: CropRequest) -> None:
    for key, crop_kind, montage_kind in _montage_kinds(request):
        if request.save_crops:
            for rank, crop in enumerate(crops[key]):
                write_image(layout.crop(crop_kind, layer, unit, rank), crop)
        layout.write_unit_image(montage_kind, layer, unit, unit_montage(crops[key], top, request.tile))
