"""What `deepvis optimize` keeps on disk, batch by batch, so a killed run loses no unit it finished.

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
from typing import Any, Sequence

import numpy as np

from deepvis_app.core.preprocess import resize_uint8
from deepvis_app.core.unitvis.layout import UnitVisLayout
from deepvis_app.core.unitvis.optimize_config import OptimizeConfig


def saved_render(config: OptimizeConfig) -> str:
    """How z becomes the saved image: the config's render, with "auto" meaning the input itself (clip)."""
    return "clip" if config.render == "auto" else config.render


def settings_key(config: OptimizeConfig, size: tuple[int, int], render: str) -> str:
    """A short fingerprint of everything that decides a unit's image (equal settings, equal key)."""
    described = dataclasses.asdict(config.replace(size=tuple(size))) | {"render": render}
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
             last: Sequence[float]) -> None:
        """Write a finished batch: unit images, the sprite, then the entries that mark them done."""
        for unit, image in zip(units, images, strict=True):
            self.layout.write_unit_image("regularized_opt", self.layer, unit, image)
        tiles = self._sprite_tiles(images[0].shape[:2])
        for unit, image in zip(units, images, strict=True):
            tiles[unit] = image
        self.layout.write_sprite(self.layer, tiles)
        for unit, best_value, last_value in zip(units, best, last, strict=True):
            self.record["units"][str(unit)] = {"best": float(best_value), "last": float(last_value),
                                               "settings": self.key, **self.meta}
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

