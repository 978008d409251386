"""The on-disk layout of per-unit images: the one owner, used by the writer and the reader.

The pipeline (`deepvis find-max / crops / optimize`) writes here and the app's per-unit pane
reads here, so both call these functions instead of building paths themselves; `unit_vis_root`
says where the folder is for a model's settings. Every write is atomic (a temp file, then a rename),
so a killed run leaves whole files or none. The folder names are the original toolbox's, so its
downloaded `unit_jpg_vis` folders also load:

    <root>/find_max/<layer>.json                           top-k images per unit (find-max)
    <root>/find_max/skipped.json                           images find-max could not read
    <root>/find_max/.state-<rank>of<world>.pt              find-max checkpoint (resume)
    <root>/find_min/<layer>.json                           bottom-k images per unit (find-max --search-min)
    <root>/crops/<layer>/{layer_inactivity,channels_correlation}.png, channels_correlation.npy,
    <root>/crops/<layer>/find_max_summary.json, unit_0007/max_histogram.png   (find-max --summaries)
    <root>/max_im/<layer>/<layer>_0007.jpg                 montage of the unit's top-9 crops (`montage_tile`
                                                           reads one back)
    <root>/max_deconv/<layer>/<layer>_0007.jpg             montage of their deconvs
    <root>/max_guided/<layer>/<layer>_0007.jpg             montage of their guided backprops
    <root>/max_backprop/<layer>/<layer>_0007.jpg           montage of their gradients (plain backprop)
    <root>/regularized_opt/<layer>/<layer>_0007.png        the unit's optimized image (lossless; .jpg read too)
    <root>/regularized_opt/<layer>/<layer>_0007_montage.jpg  (original toolbox: 2x2 of 3x3, corner 2 shown)
    <root>/regularized_opt/<layer>/whole_layer.jpg         sprite of all units (pattern mode)
    <root>/regularized_opt/<layer>/objective_values.json   per unit: objective values, settings (optimize)
    <root>/max_deconvnorm/<layer>/<layer>_0007.jpg         montage of their deconvs' channel norms (also
                                                           max_guidednorm, max_backpropnorm)
    <root>/crops/<layer>/unit_0007/{maxim,deconv,guided,backprop}_000.png  individual crops (arik's layout)
    <root>/crops/<layer>/unit_0007/{deconvnorm,guidednorm,backpropnorm}_000.png  their channel norms
    <root>/crops/<layer>/unit_0007/info.txt                one line per top image (`deepvis crops`)
    <root>/regularized_opt/<layer>/<layer>_0007_history.json  the unit's objective at every step (optimize)
    <root>/regularized_opt/<layer>/majority/<layer>_0007.png   first image where the unit topped its layer
    <root>/regularized_opt/<layer>/variants/<layer>_0007_c1.png  further images of a unit (optimize --diversity)
    <root>/regularized_opt/<layer>/snapshots/<layer>_0007_step00050.png  the image at step 50 (--snapshots;
                                                           _c1_ before step for further images)
    <root>/objectives/<slug>/000.png                       image 0 of an objective expression's batch
    <root>/objectives/<slug>/000_step00050.png             ... at step 50 (--snapshots)
    <root>/objectives/<slug>/values.json                   its expression, values and per-step history

Optimized images are PNG: the file is the optimized input itself, and a JPEG of it loses what was
optimized (an 80-step image kept 72-88% of its objective as JPEG, >99% as PNG). Every unit image is
read as .png or .jpg, whichever exists (the original's folders are JPEG). Which backward montage the
pane shows (max_deconv, max_guided, max_backprop) is the layout's `backprop_kind`, from the
`unit_backprop` setting (`crops.unit_backprop_kind`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepvis_app.core.imaging.display import grid_cols
from deepvis_app.core.unitvis.store.montage import slot_box, unit_montage
from deepvis_app.core.unitvis.store.records import load_json_bounded, read_find_max_record
from deepvis_app.errors import DeepvisError
from deepvis_app.io.images import ImageReadError, read_image, write_bytes_atomic, write_image
from deepvis_app.settings.defaults import Settings

UNIT_IMAGE_KINDS = ("regularized_opt", "max_im", "max_deconv")
# Other backward montages (`deepvis crops --methods guided,gradient`); the app's pane shows one of them
# in the max_deconv slot when the layout's backprop_kind names it.
EXTRA_IMAGE_KINDS = ("max_guided", "max_backprop")
BACKPROP_KINDS = ("max_deconv",) + EXTRA_IMAGE_KINDS
# Channel-norm montages of the backward signals (`deepvis crops --do-deconv-norm / --do-backprop-norm`),
# the original crop_max_patches' deconvnorm / backpropnorm images.
NORM_IMAGE_KINDS = ("max_deconvnorm", "max_guidednorm", "max_backpropnorm")
# Kinds written losslessly; the others are photo montages, JPEG as in the original.
LOSSLESS_KINDS = frozenset({"regularized_opt"})
READ_SUFFIXES = (".png", ".jpg")


class UnitVisFileError(DeepvisError, ValueError):
    """A file in the unit-vis folder that deepvis did not write (or that is damaged)."""


def user_cache_dir() -> Path:
    """deepvis's per-user cache folder: $XDG_CACHE_HOME/deepvis (default ~/.cache/deepvis)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "deepvis"


def unit_vis_root(settings: Settings) -> Path | None:
    """The per-unit image folder: unit_vis_dir, else <model_dir>/unit_vis (None for neither)."""
    if settings.unit_vis_dir:
        return Path(settings.unit_vis_dir)
    return Path(settings.model_dir) / "unit_vis" if settings.model_dir else None


@dataclass(frozen=True)
class UnitImages:
    """The images of one unit; None where none is on disk."""

    regularized_opt: np.ndarray | None
    max_im: np.ndarray | None
    max_deconv: np.ndarray | None        # the backward montage, whichever `backprop_kind` says
    backprop_kind: str = "max_deconv"    # max_deconv, max_guided or max_backprop
    scores: tuple[float, ...] = ()       # find-max values of the montages' tiles, best first (() unknown)
    slots: int = 9                       # places of the montages (the record's top-k)

    def present(self) -> list[tuple[str, np.ndarray]]:
        return [(kind, img) for kind in UNIT_IMAGE_KINDS if (img := getattr(self, kind)) is not None]

    @property
    def nbytes(self) -> int:
        return sum(img.nbytes for _, img in self.present())


class UnitVisLayout:
    """Paths and reads/writes under one model's per-unit image folder; `backprop_kind` is the backward
    montage that `read_unit_images` returns (see the module docstring)."""

    def __init__(self, root: str | Path, backprop_kind: str = "max_deconv"):
        if backprop_kind not in BACKPROP_KINDS:
            raise ValueError(f"unknown backprop montage '{backprop_kind}' (kinds: {', '.join(BACKPROP_KINDS)})")
        self.root = Path(root)
        self.backprop_kind = backprop_kind
        self._records: dict[str, tuple[int, tuple[tuple[float, ...], ...], int]] = {}   # `unit_scores`

    # --- paths ---------------------------------------------------------------------------
    def find_max_json(self, layer: str) -> Path:
        return self.root / "find_max" / f"{layer}.json"

    def unit_scores(self, layer: str, unit: int) -> tuple[tuple[float, ...], int] | None:
        """The unit's find-max values (best first) and the record's top-k, or None without a readable
        record. The parsed record is kept while its file is unchanged (a layer's can be megabytes)."""
        path = self.find_max_json(layer)
        try:
            stamp = path.stat().st_mtime_ns
            cached = self._records.get(layer)
            if cached is None or cached[0] != stamp:
                doc = read_find_max_record(path, layer)
                values = tuple(tuple(float(entry["value"]) for entry in entries) for entries in doc["units"])
                self._records[layer] = cached = (stamp, values, int(doc["top"]))
            return cached[1][unit], cached[2]
        except (OSError, ValueError, IndexError):   # RecordError is a ValueError
            return None

    def find_max_skipped(self) -> Path:
        return self.root / "find_max" / "skipped.json"

    def find_max_state(self, rank: int = 0, world: int = 1) -> Path:
        return self.root / "find_max" / f".state-{rank}of{world}.pt"

    # find-max --search-min and --summaries (the arikpoz fork's min tracker and max-tracker pictures)
    def find_min_json(self, layer: str) -> Path:
        """Per unit the images with the *lowest* scores (find-max --search-min), lowest first."""
        return self.root / "find_min" / f"{layer}.json"

    def max_histogram(self, layer: str, unit: int) -> Path:
        return self.root / "crops" / layer / f"unit_{unit:04d}" / "max_histogram.png"

    def layer_inactivity(self, layer: str) -> Path:
        return self.root / "crops" / layer / "layer_inactivity.png"

    def channels_correlation(self, layer: str) -> Path:
        return self.root / "crops" / layer / "channels_correlation.png"

    def channels_correlation_matrix(self, layer: str) -> Path:
        """The correlation matrix behind channels_correlation.png (float32 .npy, unit order)."""
        return self.root / "crops" / layer / "channels_correlation.npy"

    def find_max_summary(self, layer: str) -> Path:
        """The numbers behind the layer's summary pictures (JSON)."""
        return self.root / "crops" / layer / "find_max_summary.json"

    def find_max_layers(self) -> list[str]:
        """Layers with a find-max result (a layer named `a/b` has its record in a subfolder)."""
        names = (p.relative_to(self.root / "find_max").with_suffix("").as_posix()
                 for p in (self.root / "find_max").rglob("*.json"))
        return sorted(name for name in names if name != "skipped")

    def unit_image(self, kind: str, layer: str, unit: int) -> Path:
        """The unit's image file on disk (.png before .jpg), else the path a write would use."""
        for path in self._unit_image_files(kind, layer, unit):
            if path.is_file():
                return path
        return self.unit_image_to_write(kind, layer, unit)

    def unit_image_to_write(self, kind: str, layer: str, unit: int) -> Path:
        """Where a new image goes: PNG for the lossless kinds, JPEG for the montages."""
        suffix = ".png" if kind in LOSSLESS_KINDS else ".jpg"
        return self._unit_image_files(kind, layer, unit)[READ_SUFFIXES.index(suffix)]

    def _unit_image_files(self, kind: str, layer: str, unit: int) -> list[Path]:
        kinds = UNIT_IMAGE_KINDS + EXTRA_IMAGE_KINDS + NORM_IMAGE_KINDS
        if kind not in kinds:
            raise ValueError(f"unknown unit image kind '{kind}' (kinds: {', '.join(kinds)})")
        return [self.root / kind / layer / f"{layer}_{unit:04d}{suffix}" for suffix in READ_SUFFIXES]

    def original_montage(self, layer: str, unit: int) -> Path:
        return self.root / "regularized_opt" / layer / f"{layer}_{unit:04d}_montage.jpg"

    def whole_layer_sprite(self, layer: str) -> Path:
        return self.root / "regularized_opt" / layer / "whole_layer.jpg"

    def objective_values(self, layer: str) -> Path:
        return self.root / "regularized_opt" / layer / "objective_values.json"

    def crop(self, kind: str, layer: str, unit: int, rank: int) -> Path:
        return self.root / "crops" / layer / f"unit_{unit:04d}" / f"{kind}_{rank:03d}.png"

    def crop_info(self, layer: str, unit: int) -> Path:
        """The unit's info.txt: one line per top image cropped (`crops.crop_info_text`)."""
        return self.root / "crops" / layer / f"unit_{unit:04d}" / "info.txt"

    def unit_history(self, layer: str, unit: int) -> Path:
        """The per-step objective history of the unit's optimized image (JSON, beside the image)."""
        return self.root / "regularized_opt" / layer / f"{layer}_{unit:04d}_history.json"

    def unit_majority(self, layer: str, unit: int) -> Path:
        """The unit's image at the first step where it was its layer's top unit (the original's
        majority_X; the history JSON's ``majority_step`` says which step, -1: never)."""
        return self.root / "regularized_opt" / layer / "majority" / f"{layer}_{unit:04d}.png"

    def unit_variant(self, layer: str, unit: int, copy: int) -> Path:
        """Image `copy` (>= 1) of a unit optimized with several diverse images (copy 0 is `unit_image`)."""
        return self.root / "regularized_opt" / layer / "variants" / f"{layer}_{unit:04d}_c{copy}.png"

    def unit_snapshot(self, layer: str, unit: int, step: int, copy: int = 0) -> Path:
        """Image `copy` of the unit as it was at step `step` of the optimization."""
        part = f"_c{copy}" if copy else ""
        return self.root / "regularized_opt" / layer / "snapshots" / f"{layer}_{unit:04d}{part}_step{step:05d}.png"

    def objective_folder(self, slug: str) -> Path:
        """The results of one objective expression (`objective_expr.slug` names it)."""
        return self.root / "objectives" / slug

    def objective_image(self, slug: str, index: int, step: int | None = None) -> Path:
        """Image `index` of the expression's batch, finished or (with `step`) as it was at that step."""
        name = f"{index:03d}" if step is None else f"{index:03d}_step{step:05d}"
        return self.objective_folder(slug) / f"{name}.png"

    def objective_record(self, slug: str) -> Path:
        return self.objective_folder(slug) / "values.json"

    def layers_on_disk(self) -> list[str]:
        """Layers with a per-unit image: <kind>/<layer>/<layer>_0007.jpg (a layer a/b: a/b/a/b_0007.jpg)."""
        names = {p.relative_to(self.root / kind).as_posix()[:-9] for kind in ("regularized_opt", "max_im",
                 self.backprop_kind) for p in (self.root / kind).rglob("*_[0-9][0-9][0-9][0-9].*")}
        return sorted(n[:len(n) // 2] for n in names if len(n) % 2 and n[:len(n) // 2] == n[len(n) // 2 + 1:])

    # --- reading -------------------------------------------------------------------------
    def read_unit_images(self, layer: str, unit: int) -> UnitImages:
        """The unit's three images (the backward montage of `backprop_kind`); unreadable files count as
        absent (reads never raise)."""
        images = {kind: _read_or_none(self.unit_image(kind, layer, unit)) for kind in ("regularized_opt", "max_im")}
        images["max_deconv"] = _read_or_none(self.unit_image(self.backprop_kind, layer, unit))
        if images["regularized_opt"] is None:
            montage = _read_or_none(self.original_montage(layer, unit))
            images["regularized_opt"] = None if montage is None else crop_to_corner(montage, 2)
        else:
            images["regularized_opt"] = self._with_diversity_set(images["regularized_opt"], layer, unit)
        scores = self.unit_scores(layer, unit) if images["max_im"] is not None else None
        return UnitImages(**images, backprop_kind=self.backprop_kind, scores=scores[0] if scores else (),
                          slots=scores[1] if scores else 9)

    def unit_variants(self, layer: str, unit: int) -> list[Path]:
        """The unit's further diverse images on disk (`optimize --diversity`), copy 1, 2, ... in order."""
        found = []
        for copy in range(1, 64):
            path = self.unit_variant(layer, unit, copy)
            if not path.is_file():
                break
            found.append(path)
        return found

    def _with_diversity_set(self, first: np.ndarray, layer: str, unit: int) -> np.ndarray:
        """The optimized image, or with a diversity set on disk the whole set as one square montage
        (copy 0 top left), so the per-unit pane shows every image of the set."""
        montage = self._diversity_montage(first, layer, unit)
        return first if montage is None else montage

    def read_diversity_set(self, layer: str, unit: int) -> np.ndarray | None:
        """The unit's diversity set as the per-unit pane shows it (one square montage, copy 0 top left),
        or None when the unit has no further images on disk (pattern mode's "diversity" tiles)."""
        if not self.unit_variant(layer, unit, 1).is_file():   # the cheap test first: most units have none
            return None
        first = _read_or_none(self.unit_image("regularized_opt", layer, unit))
        return None if first is None else self._diversity_montage(first, layer, unit)

    def _diversity_montage(self, first: np.ndarray, layer: str, unit: int) -> np.ndarray | None:
        variants = [image for path in self.unit_variants(layer, unit) if (image := _read_or_none(path)) is not None]
        if not variants:
            return None
        images = [first, *variants]
        return unit_montage(images, slots=len(images), tile=first.shape[0])

    def read_top_crop(self, layer: str, unit: int, rank: int = 0) -> np.ndarray | None:
        """The unit's dataset crop of rank `rank` (0: the top-1, the original's "max input"): its crop file
        (`deepvis crops`), else that slot of its max_im montage; None when neither is on disk (or the
        montage is too small to hold the slot: reads never raise)."""
        crop = _read_or_none(self.crop("maxim", layer, unit, rank))
        if crop is not None:
            return crop
        montage = _read_or_none(self.unit_image("max_im", layer, unit))
        try:
            return None if montage is None else montage_tile(montage, rank)
        except ValueError:
            return None

    def read_sprite_tiles(self, layer: str, count: int) -> list[np.ndarray] | None:
        """The layer's whole_layer.jpg cut into `count` tiles, or None when absent."""
        sprite = _read_or_none(self.whole_layer_sprite(layer))
        return None if sprite is None else split_square_sprite(sprite, count)

    def read_objective_values(self, layer: str) -> dict[str, Any]:
        """`deepvis optimize`'s {"layer": ..., "units": {"7": {...}}} (empty if absent); UnitVisFileError if not."""
        path = self.objective_values(layer)
        if not path.is_file():
            return {"layer": layer, "units": {}}
        try:
            record = load_json_bounded(path)
            if not all(isinstance(entry, dict) for entry in record["units"].values()):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UnitVisFileError(f"{path}: not an objective_values.json written by deepvis optimize; "
                                   "move it away") from None
        return record

    # --- writing -------------------------------------------------------------------------
    def write_unit_image(self, kind: str, layer: str, unit: int, image: np.ndarray) -> Path:
        """Write the unit's image (PNG or JPEG by kind); a file of the other format for it goes."""
        path = self.unit_image_to_write(kind, layer, unit)
        write_image(path, image)
        for other in self._unit_image_files(kind, layer, unit):
            if other != path:
                other.unlink(missing_ok=True)
        return path

    def write_sprite(self, layer: str, tiles: list[np.ndarray]) -> Path:
        path = self.whole_layer_sprite(layer)
        write_image(path, join_square_sprite(tiles))
        return path

    def write_objective_values(self, layer: str, record: dict[str, Any]) -> Path:
        path = self.objective_values(layer)
        write_bytes_atomic(path, json.dumps(record, indent=1, sort_keys=True).encode())
        return path

    def write_png(self, path: Path, image: np.ndarray) -> Path:
        """Write a lossless image at one of this layout's paths (variants, snapshots, objectives)."""
        self._check_inside(path)
        write_image(path, image)
        return path

    def write_json(self, path: Path, record: dict[str, Any]) -> Path:
        """Write a JSON record at one of this layout's paths (histories, objective records)."""
        self._check_inside(path)
        write_bytes_atomic(path, json.dumps(record, indent=1, sort_keys=True).encode())
        return path

    def _check_inside(self, path: Path) -> None:
        if self.root not in path.parents:
            raise ValueError(f"{path} is not inside the unit-vis folder {self.root}")


def _read_or_none(path: Path) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        return read_image(path)
    except ImageReadError:
        return None


def join_square_sprite(tiles: list[np.ndarray]) -> np.ndarray:
    """Equal-size HxWx3 tiles in a square row-major grid (the original's ceil(sqrt(C)) a side), black
    where the grid is not full."""
    side = grid_cols(len(tiles))
    height, width = tiles[0].shape[:2]
    sprite = np.zeros((side * height, side * width, 3), dtype=np.uint8)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, side)
        sprite[row * height:(row + 1) * height, col * width:(col + 1) * width] = tile
    return sprite


def split_square_sprite(sprite: np.ndarray, count: int) -> list[np.ndarray]:
    """Inverse of `join_square_sprite` for the first `count` tiles."""
    side = grid_cols(count)
    height, width = sprite.shape[0] // side, sprite.shape[1] // side
    return [sprite[r * height:(r + 1) * height, c * width:(c + 1) * width]
            for r, c in (divmod(i, side) for i in range(count))]


def montage_tile(montage: np.ndarray, index: int, slots: int = 9, padding: int = 1) -> np.ndarray:
    """Tile `index` (row-major) of a `unit_montage` of `slots` places with `padding` px between tiles:
    the max_im / max_deconv montages' geometry, read back (a copy, so the montage can go)."""
    top, left, height, width = slot_box(montage.shape, index, slots, padding)
    return montage[top:top + height, left:left + width].copy()


def crop_to_corner(image: np.ndarray, corner: int, border: int = 1) -> np.ndarray:
    """One quadrant of a 2x2 montage (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right)."""
    half_h, half_w = (image.shape[0] - border) // 2, (image.shape[1] - border) // 2
    row, col = divmod(corner, 2)
    top, left = border + row * half_h, border + col * half_w
    return image[top:top + half_h - border, left:left + half_w - border]
