"""A stand-in Session for widget-level painting tests only (behaviour tests use the real Session).

It renders flat-coloured pane images at the sizes the window asks for and records calls, so the
painting and layout code can be checked without a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FakeEntry:
    name: str
    pretty: str
    selected: bool
    back_origin: bool


@dataclass(frozen=True)
class FakeResult:
    generation: int
    images: dict
    stale: frozenset = frozenset()
    layers: tuple = ()
    cursor_on_layer_list: bool = False
    top_labels: tuple = ()
    aux_mode: str = "unit"
    status: str = "fwd"
    message: str | None = None
    help_lines: tuple | None = None
    show_unit_images: bool = True
    grid_shape: tuple = (1, 1)
    tile_rects: tuple = ()


PANE_COLORS = {"input": (200, 40, 40), "layers": (40, 200, 40), "aux": (40, 40, 200),
               "back": (200, 200, 40), "unit_images": (200, 40, 200)}


@dataclass
class FakeSession:
    sizes: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    labels_mode: bool = False
    help: bool = False
    generation: int = 0
    should_quit: bool = False
    _callback: object = None
    _result: FakeResult | None = None

    def set_on_result(self, callback) -> None:
        self._callback = callback

    def set_pane_sizes(self, sizes) -> None:
        self.sizes = dict(sizes)
        self.calls.append(("sizes", dict(sizes)))

    def handle_key(self, key: str) -> bool:
        self.calls.append(("key", key))
        if key == "8":
            self.labels_mode = not self.labels_mode
        if key == "h":
            self.help = not self.help
        return True

    def click(self, pane, x, y) -> None:
        self.calls.append(("click", pane, x, y))

    def select_layer(self, index) -> None:
        self.calls.append(("layer", index))

    def hover_text(self, x, y):
        return f"unit {int(x) // 10}"

    def open_paths(self, paths) -> None:
        self.calls.append(("open", list(paths)))

    def stop(self) -> None:
        self.calls.append(("stop",))

    def latest_result(self):
        return self._result

    def process_pending(self) -> None:
        self.generation += 1
        images = {name: np.full((h, w, 3), PANE_COLORS[name], np.uint8) for name, (w, h) in self.sizes.items()}
        entries = tuple(FakeEntry(f"l{i}", f"layer_{i}", i == 2, i == 4) for i in range(12))
        self._result = FakeResult(
            self.generation, images, layers=entries,
            top_labels=(("tabby cat", 0.8), ("tiger cat", 0.1), ("lynx", 0.05)) if self.labels_mode else (),
            aux_mode="labels" if self.labels_mode else "unit",
            help_lines=tuple((f"k{i}", f"action number {i}") for i in range(30)) if self.help else None)
        if self._callback is not None:
            self._callback()
