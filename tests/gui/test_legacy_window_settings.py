"""The original toolbox's window settings work in the window: global_font_size (`font_scale`), the
layer list's caffevis_control_clr* (`control_clr*`), debug_window_panes, and caffevis_jpgvis_stack_vert
(`unit_images_stack_vertical`: the per-unit pane becomes a row under the grid)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, Qt

from deepvis_app.core.app.window_layout import pane_rects
from deepvis_app.gui.keys import key_event
from deepvis_app.gui.panes.control_pane import ControlColors, entry_rgb
from deepvis_app.gui.panes.debug_outlines import OUTLINE
from tests.helpers.gui import qimage_to_array, window_pixels

RED, GREEN, BLUE, YELLOW = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 0.0)


def press(qtbot, window, token: str) -> None:
    event = key_event(token)
    qtbot.keyClick(window, Qt.Key(event.key()), event.modifiers())


def font_sizes(window, qtbot) -> dict[str, int]:
    """The pixel size of the fonts the status line, layer list, aux text and help rows are drawn in.

    The help font is the largest (up to 17 px times the scale) that fits every row, so with all the
    bindings it is bound by the window's size; a few rows leave it at its largest.
    """
    press(qtbot, window, "h")
    window.help_overlay.set_rows(window.help_overlay.rows[:6])
    sizes = {"status": window.status.font().pixelSize(), "control": window.control.font().pixelSize(),
             "aux": window.panes["aux"].label_font().pixelSize(),
             "help": window.help_overlay.row_font().pixelSize()}
    press(qtbot, window, "h")
    return sizes


def test_font_scale_enlarges_every_font_of_the_window(make_window, tiny_loaded, qtbot):
    plain = font_sizes(make_window(), qtbot)
    double = font_sizes(make_window(settings=tiny_loaded.settings.replace(font_scale=2.0)), qtbot)
    for name in plain:
        assert double[name] > plain[name], (name, plain, double)
    for name in ("status", "control", "aux"):  # the help font is also bound by the room its rows need
        assert double[name] == 2 * plain[name], (name, plain, double)


def color_pixels(image: np.ndarray, rgb: tuple[float, float, float], tolerance: int = 40) -> int:
    target = np.rint(np.asarray(rgb) * 255).astype(int)
    return int((np.abs(image.astype(int) - target).max(axis=2) <= tolerance).sum())


def name_pixels(window, index: int) -> np.ndarray:
    control = window.control
    shown = qimage_to_array(control.grab().toImage())
    rect = control.name_rects()[index]
    return shown[rect.top():rect.bottom() + 1, rect.left():rect.right() + 1]


def test_the_layer_list_paints_names_in_the_configured_colours(make_window, tiny_loaded, qtbot):
    settings = tiny_loaded.settings.replace(control_clr=RED, control_clr_selected=GREEN, control_clr_cursor=BLUE)
    window = make_window(settings=settings)
    assert window.session.state.layer_idx == 0
    current, other = name_pixels(window, 0), name_pixels(window, 1)
    assert color_pixels(current, BLUE) > 5 and color_pixels(current, RED) == 0  # cursor on the list
    assert color_pixels(other, RED) > 5 and color_pixels(other, BLUE) == 0
    press(qtbot, window, "k")  # cursor into the grid: the current layer in the "selected" colour
    current = name_pixels(window, 0)
    assert color_pixels(current, GREEN) > 5 and color_pixels(current, BLUE) == 0


@dataclass
class Entry:
    pretty: str
    selected: bool = False
    back_origin: bool = False


def test_entry_colours_follow_the_original_rules():
    colors = ControlColors(normal=RED, selected=GREEN, cursor=BLUE, back_origin=YELLOW)
    assert entry_rgb(Entry("a"), True, colors) == RED
    assert entry_rgb(Entry("a", back_origin=True), False, colors) == YELLOW
    assert entry_rgb(Entry("a", selected=True, back_origin=True), True, colors) == BLUE
    assert entry_rgb(Entry("a", selected=True), False, colors) == GREEN


def outline_share(window, name: str) -> float:
    """The share of a pane's left border column (window pixels) in the outline colour."""
    widget = window.control if name == "control" else window.panes[name]
    origin = widget.mapTo(window, QPoint(0, 0))
    column = window_pixels(window)[origin.y():origin.y() + widget.height(), origin.x()]
    return float((column == OUTLINE.getRgb()[:3]).all(axis=1).mean())


def test_debug_window_panes_outlines_every_pane(make_window, tiny_loaded):
    off = make_window()
    on = make_window(settings=tiny_loaded.settings.replace(debug_window_panes=True))
    assert off.debug_outlines is None
    for name in ("input", "aux", "back", "layers", "unit_images", "control"):
        assert outline_share(on, name) > 0.9, name
        assert outline_share(off, name) < 0.1, name
    assert set(on.debug_outlines.pane_rects()) >= {"input", "layers", "unit_images", "control", "status"}


def test_unit_images_side_by_side_make_a_row_under_the_grid(make_window, tiny_loaded):
    window = make_window(settings=tiny_loaded.settings.replace(unit_images_stack_vertical=False))
    layers, unit = window.panes["layers"].geometry(), window.panes["unit_images"].geometry()
    assert unit.width() > unit.height()
    assert unit.top() > layers.bottom() and unit.left() == layers.left() and unit.width() == layers.width()
    image = window.panes["unit_images"].image
    assert image is None or image.width >= image.height


def test_layout_puts_the_right_column_in_a_row_when_asked():
    column = pane_rects(1500, 930, lambda w: 40)
    row = pane_rects(1500, 930, lambda w: 40, right_as_row=True)
    assert column["unit_images"].h > column["unit_images"].w  # 1:3 column at the right edge
    assert column["unit_images"].x + column["unit_images"].w == 1500
    unit, layers = row["unit_images"], row["layers"]
    assert (unit.x, unit.w) == (layers.x, layers.w) and unit.h == unit.w // 3
    assert layers.y + layers.h < unit.y and unit.y + unit.h == 930
    assert layers.w > column["layers"].w, "the grid takes the right column's width"
