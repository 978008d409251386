"""Probes of the window's settings, read back from the pixels of the real Qt window (offscreen):
its size, the label and layer-list colours, the font size, the pane outlines and the buttons pane."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tests.helpers.gui import pane_pixels, qimage_to_array, window_pixels
from tests.helpers.models import session_classifier
from tests.settings_probes.conftest import colour_pixels
from tests.settings_probes.registry import probe

ODD = (0.9, 0.1, 0.6)      # a colour nothing else draws
TOLERANCE = 8


def _confident() -> nn.Module:
    """The tiny classifier, sure of class 0 (p ~ 1) and so of nothing else (p ~ 0)."""
    model = session_classifier()
    with torch.no_grad():
        model[-1].bias[0] = 100.0
    return model


def _widget_pixels(widget) -> np.ndarray:
    return qimage_to_array(widget.grab().toImage())


@probe("window_size")
def window_size_is_the_size_at_start(ctx):
    assert (ctx.window(window_size=(820, 540)).width(), ctx.window(window_size=(820, 540)).height()) == (820, 540)
    assert ctx.window().width() == ctx.base.window_size[0] != 820


@probe("class_clr_0", "class_clr_1")
def label_colours_go_from_clr_0_to_clr_1(ctx):
    """The top-5 labels: the sure class in class_clr_1, the four at p ~ 0 in class_clr_0."""
    loaded = ctx.load(builder=_confident)
    odd = _widget_pixels(ctx.window(loaded=loaded, **{ctx.name: ODD}).panes["aux"])
    default = _widget_pixels(ctx.window(loaded=loaded).panes["aux"])
    assert colour_pixels(odd, ODD, TOLERANCE) > 20 and colour_pixels(default, ODD, TOLERANCE) == 0


@probe("control_clr", "control_clr_selected", "control_clr_cursor", "control_clr_bp")
def layer_list_colours(ctx):
    """Cursor on the list: the current layer in control_clr_cursor, the others in control_clr; in the
    grid: control_clr_selected; a frozen origin's layer (after `o` moved on): control_clr_bp."""
    keys = {"control_clr": (), "control_clr_cursor": (), "control_clr_selected": ("k",),
            "control_clr_bp": ("k", "b", "d", "o")}[ctx.name]
    loaded = ctx.load(pretty_names=lambda name: f"layer number {name}")     # longer names: more pixels
    odd = _widget_pixels(ctx.window(*keys, loaded=loaded, **{ctx.name: ODD}).control)
    default = _widget_pixels(ctx.window(*keys, loaded=loaded).control)
    assert colour_pixels(odd, ODD, TOLERANCE) > 20 and colour_pixels(default, ODD, TOLERANCE) == 0


def _ink(image: np.ndarray) -> int:
    """Pixels differing from the most common one (the background): how much text is drawn."""
    flat = image.reshape(-1, 3)
    values, counts = np.unique(flat, axis=0, return_counts=True)
    background = values[counts.argmax()]
    return int((np.abs(flat.astype(int) - background).max(axis=1) > 40).sum())


@probe("font_scale")
def font_scale_enlarges_the_text(ctx):
    large = _ink(_widget_pixels(ctx.window(font_scale=1.6).control))
    default = _ink(_widget_pixels(ctx.window().control))
    assert large > 1.6 * default > 0


@probe("debug_window_panes")
def pane_outlines_are_drawn(ctx):
    magenta = (1.0, 0.0, 1.0)
    assert colour_pixels(window_pixels(ctx.window(debug_window_panes=True)), magenta, 2) > 200
    assert colour_pixels(window_pixels(ctx.window()), magenta, 2) == 0


@probe("buttons_pane")
def buttons_pane_shows_the_key_buttons(ctx):
    from PySide6.QtWidgets import QAbstractButton  # noqa: TID251 (a window probe)

    with_buttons = ctx.window(buttons_pane=True)
    assert len(with_buttons.findChildren(QAbstractButton)) > 20
    assert not ctx.window().findChildren(QAbstractButton)
    assert pane_pixels(with_buttons.panes["layers"]).shape[1] < pane_pixels(ctx.window().panes["layers"]).shape[1]
