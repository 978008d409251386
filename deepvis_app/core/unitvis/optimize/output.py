"""What `deepvis optimize` keeps on disk, batch by batch, so a killed run loses no unit it finished.

Beside each unit image go its per-step objective history (JSON), its further diverse images and its
snapshots; an objective expression's batch goes under objectives/<slug>/ (`save_objective_result`).
All paths come from `UnitVisLayout`; only the original's --output-prefix/--output-template copies
(`TemplatedOutput`) are named by the user.

Each finished batch is written at once through `UnitVisLayout`, every file atomically: the units'
images, the layer's sprite with their tiles replaced, then objective_values.json, whose entry marks
a unit done. A unit counts as done for a rerun when its entry carries the same settings key (the
whole `OptimizeConfig` with its resolved size, and the render mode) and its image is on disk; the
command skips done units unless asked to recompute them. Tiles of units optimized earlier (other
runs, another --size) stay in the sprite, resized to this run's tile size.

The saved image keeps what was optimized: by default it is the optimized input itself (`clip`:
z plus the mean, the pixels the network saw) written losslessly as PNG, so reading the file back
and feeding it to the network gives the recorded objective again (tests/cli/test_optimize_cli.py
checks >= 95%; measured 96-100% after 80 steps of yosinski3 on EfficientNet-Lite0). The original
saved a contrast-stretched `norm01c` JPEG instead; measured the same way, JPEG kept 17-81% and
norm01c 45-146% (it changes the image), so those stay opt-in (`--render`) for viewing only, and the
entry records the render.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from deepvis_app.core.nn.preprocess import resize_uint8
from deepvis_app.core.unitvis.optimize.config import OptimizeConfig
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image, write_bytes_atomic, write_image
from deepvis_app.settings.limits import MAX_NAME_BYTES, check_template_widths, cut_line


def saved_render(config: OptimizeConfig) -> str:
    """How z becomes the saved image: the config's render, with "auto" meaning the input itself (clip)."""
    return "clip" if config.render == "auto" else config.render


# Fields added after runs were already on disk: left out of the key at their defaults, so those runs
# still count as done.
_LATER_FIELDS = ("push_dir", "push_spatial", "diversity", "diversity_images", "start_at", "momentum", "max_norm",
                 "early_stop_every")


def settings_key(config: OptimizeConfig, size: tuple[int, int], render: str) -> str:
    """A short fingerprint of everything that decides a unit's image (equal settings, equal key)."""
    described = dataclasses.asdict(config.replace(size=tuple(size))) | {"render": render}
    defaults = OptimizeConfig()
    for name in _LATER_FIELDS:
        if described[name] == getattr(defaults, name) or (name == "diversity_images" and not config.diversity):
            del described[name]
    return hashlib.sha1(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:16]


class OptimizeOutput:
    """One layer's regularized_opt results: which units are done, and saving a finished batch."""

    def __init__(self, layout: UnitVisLayout, layer: str, channels: int, key: str, meta: dict[str, Any]):
        self.layout, self.layer, self.channels = layout, layer, channels
        self.key, self.meta = key, meta
        self.record = layout.read_objective_values(layer)  # before any computing: a bad file stops the run
        self._tiles: list[np.ndarray] | None = None

    def done(self, units: Sequence[int]) -> list[int]:
        """The units whose entry has this run's settings key and whose image is on disk."""
        entries = self.record["units"]
        return [unit for unit in units if entries.get(str(unit), {}).get("settings") == self.key
                and self.layout.unit_image("regularized_opt", self.layer, unit).is_file()]

    def save(self, units: Sequence[int], images: Sequence[np.ndarray], best: Sequence[float],
             last: Sequence[float], *, copies: int = 1, history: np.ndarray | None = None,
             snapshots: Mapping[int, Sequence[np.ndarray]] | None = None,
             majority: Sequence[np.ndarray | None] | None = None, majority_steps: Sequence[int] | None = None) -> None:
        """Write a finished batch: unit images (with `copies` > 1, rows are unit-major and copy 0 is the
        unit's image), snapshots, histories, the sprite, then the entries that mark them done."""
        rows = {unit: range(index * copies, (index + 1) * copies) for index, unit in enumerate(units)}
        for unit, unit_rows in rows.items():
            for copy, row in enumerate(unit_rows):
                if copy:
                    self.layout.write_png(self.layout.unit_variant(self.layer, unit, copy), images[row])
                for step, shots in (snapshots or {}).items():
                    self.layout.write_png(self.layout.unit_snapshot(self.layer, unit, step, copy), shots[row])
                first_top = majority[row] if majority is not None and copy == 0 else None
                if first_top is not None:
                    self.layout.write_png(self.layout.unit_majority(self.layer, unit), first_top)
            if history is not None:
                per_copy = history[:, list(unit_rows)].T
                self.layout.write_json(self.layout.unit_history(self.layer, unit),
                                       {"layer": self.layer, "unit": unit, "settings": self.key, **self.meta,
                                        "values": per_copy[0].tolist(),
                                        **({"majority_step": int(majority_steps[unit_rows[0]])}
                                           if majority_steps is not None else {}),
                                        **({"copies": per_copy.tolist()} if copies > 1 else {})})
        firsts = [images[index * copies] for index in range(len(units))]
        for unit, image in zip(units, firsts, strict=True):
            self.layout.write_unit_image("regularized_opt", self.layer, unit, image)
        tiles = self._sprite_tiles(firsts[0].shape[:2])
        for unit, image in zip(units, firsts, strict=True):
            tiles[unit] = image
        self.layout.write_sprite(self.layer, tiles)
        for unit, unit_rows in rows.items():
            entry = {"best": float(best[unit_rows[0]]), "last": float(last[unit_rows[0]]), "settings": self.key,
                     **self.meta}
            if copies > 1:
                entry["copies_best"] = [float(best[row]) for row in unit_rows]
            self.record["units"][str(unit)] = entry
        self.layout.write_objective_values(self.layer, self.record)

    def best_values(self, units: Sequence[int]) -> dict[str, float]:
        entries = self.record["units"]
        return {str(unit): entries[str(unit)]["best"] for unit in units if str(unit) in entries}

    def paths(self) -> dict[str, str]:
        return {"folder": str(self.layout.unit_image("regularized_opt", self.layer, 0).parent),
                "sprite": str(self.layout.whole_layer_sprite(self.layer)),
                "values": str(self.layout.objective_values(self.layer))}

    def _sprite_tiles(self, size: tuple[int, int]) -> list[np.ndarray]:
        """The sprite's tiles at ``size``: read once per run (an earlier run's), else black."""
        if self._tiles is None or self._tiles[0].shape[:2] != tuple(size):
            tiles = self._tiles or self.layout.read_sprite_tiles(self.layer, self.channels)
            blank = np.zeros((*size, 3), dtype=np.uint8)
            self._tiles = [resize_uint8(tile, size).copy() for tile in tiles] if tiles else \
                [blank.copy() for _ in range(self.channels)]
        return self._tiles



def save_objective_result(layout: UnitVisLayout, expression: str, images: Sequence[np.ndarray],
                          best: Sequence[float], last: Sequence[float], history: np.ndarray,
                          snapshots: Mapping[int, Sequence[np.ndarray]], meta: dict[str, Any]) -> dict[str, Any]:
    """Write an objective expression's batch under <root>/objectives/<slug>/ (images, snapshots, then
    values.json with the expression, the values and the per-step history); returns what was written."""
    from deepvis_app.core.unitvis.optimize.objective_expr import slug as make_slug

    name = make_slug(expression)
    written = [str(layout.write_png(layout.objective_image(name, index), image)) for index, image in enumerate(images)]
    for step, shots in snapshots.items():
        for index, image in enumerate(shots):
            written.append(str(layout.write_png(layout.objective_image(name, index, step), image)))
    record = {"objective": expression, "best": [float(v) for v in best], "last": [float(v) for v in last],
              "history": history.T.tolist(), **meta}
    layout.write_json(layout.objective_record(name), record)
    return {"folder": str(layout.objective_folder(name)), "images": written,
            "values": str(layout.objective_record(name))}


# The original optimize_image.py's --output-prefix / --output-template: a unit's files are named
# <prefix>_<template % fields>_best_X.png (its best_X.jpg, lossless here) and ..._info.json (its info.txt).
# They are extra copies; the unit-vis folder (`UnitVisLayout`) is written as always.
DEFAULT_OUTPUT_PREFIX = "optimize_results/opt"
DEFAULT_OUTPUT_TEMPLATE = "%(p.push_layer)s_%(p.push_channel)04d_%(p.rand_seed)d"
TEMPLATE_FIELDS = {"layer": "layer name", "unit": "unit index (int)", "seed": "random seed (int)",
                   "steps": "iterations (int)", "preset": "preset name", "objective": "objective kind",
                   "render": "how the image was saved (clip, rescale, norm01c)", "lr": "learning rate (float)"}
ORIGINAL_FIELDS = {"p.push_layer": "layer", "p.push_channel": "unit", "p.rand_seed": "seed", "p.max_iter": "steps",
                   "p.lr": "lr"}


class _TemplateFields(dict):
    """The %-format mapping: a name outside TEMPLATE_FIELDS / ORIGINAL_FIELDS is a clear ValueError."""

    def __missing__(self, key: str) -> Any:
        names = ", ".join([*TEMPLATE_FIELDS, *ORIGINAL_FIELDS])
        raise ValueError(f"unknown field %({key})s (fields: {names})")


class TemplatedOutput:
    """Names and writes the original's per-unit files (``<prefix>_<template>_best_X.png`` and ``_info.json``)."""

    def __init__(self, prefix: str, template: str, fields: Mapping[str, Any]):
        self.prefix, self.template, self.fields = prefix, template, dict(fields)
        check_template_widths(template, "the template")   # before formatting: %(unit)09999999999d would take 10 GB
        if re.search(r"%(?!%|\()", template.replace("%%", "")):
            raise ValueError("every field needs a name, like %(unit)04d (fields: "
                             f"{', '.join([*TEMPLATE_FIELDS, *ORIGINAL_FIELDS])})")
        self.check_writable(0)  # a bad template fails here, before anything is computed or written

    def stem(self, unit: int) -> str:
        """``<prefix>_<template % fields>_``; ValueError naming the problem for a bad template."""
        values = _TemplateFields(self.fields, unit=unit)
        values.update({old: values[new] for old, new in ORIGINAL_FIELDS.items()})
        try:
            name = self.template % values
        except (TypeError, ValueError, OverflowError, MemoryError) as exc:
            raise ValueError(str(exc) if "unknown field" in str(exc) else
                             f"not a %-format of named fields like %(unit)04d ({exc})") from None
        return f"{self.prefix}_{name}_"

    def check_writable(self, unit: int) -> None:
        """ValueError when the unit's files could not be written: a name longer than a file system
        allows, or a folder on the way that is a file (checked before any computing)."""
        image_path, info_path = self.paths(unit)
        for path in (image_path, info_path):
            size = len(os.fsencode(path.name))
            if size > MAX_NAME_BYTES:
                raise ValueError(f"the file name '{cut_line(path.name, 60)}' is {size} bytes long, over the "
                                 f"limit of {MAX_NAME_BYTES}; shorten --output-prefix or the template")
        folder = image_path.parent
        for parent in (folder, *folder.parents):
            if parent.exists():
                if not parent.is_dir():
                    raise ValueError(f"{parent} is a file, not a folder: the files would go to {folder}")
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise ValueError(f"{parent} is not writable: the files would go to {folder}")
                break

    def check_distinct(self, units: Sequence[int]) -> None:
        """ValueError when two of the units would get the same file name, or a unit's name cannot be written."""
        names = [self.stem(unit) for unit in units]
        if len(set(names)) < len(names):
            raise ValueError(f"gives several units the same name '{cut_line(names[0], 80)}'; include %(unit)04d")
        for unit in {units[0], units[-1]} if units else ():
            self.check_writable(unit)

    def paths(self, unit: int) -> tuple[Path, Path]:
        stem = self.stem(unit)
        return Path(stem + "best_X.png"), Path(stem + "info.json")

    def save_done(self, output: OptimizeOutput, unit: int) -> list[str]:
        """The copies of a unit an earlier run already computed: its image and entry as they are on disk."""
        source = output.layout.unit_image("regularized_opt", output.layer, unit)
        entry = output.record["units"][str(unit)]
        return self.save(unit, read_image(source), {"best": entry["best"], "last": entry["last"],
                                                    "settings": output.key, "unit_vis_image": str(source)})

    def save(self, unit: int, image: np.ndarray, info: Mapping[str, Any]) -> list[str]:
        """Write the unit's kept image and its objective info, each atomically; returns the two paths."""
        image_path, info_path = self.paths(unit)
        write_image(image_path, image)
        record = {**self.fields, "unit": unit, **info, "image": str(image_path)}
        write_bytes_atomic(info_path, json.dumps(record, indent=1, sort_keys=True).encode())
        return [str(image_path), str(info_path)]
