"""The help overlay wraps long descriptions inside its box (issue 20: the `N` line, which lists every
method, was cut at the right edge and the `S` line ran past the box): at common window sizes every
line of the real key table is drawn inside the panel, no line is wider than its box, and the words
of each description are all there, in order."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QWidget

from deepvis_app.core.methods.registry import METHOD_NAMES
from deepvis_app.gui.panes.help_overlay import HelpOverlay, wrap_text
from deepvis_app.gui.theme import bold_font
from deepvis_app.keymap import help_rows

ROWS = tuple(help_rows(None, METHOD_NAMES))


@pytest.fixture
def overlay(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    widget = HelpOverlay(parent)
    return parent, widget


@pytest.mark.parametrize("size", [(800, 600), (1100, 700), (1600, 1000)])
def test_every_line_of_the_key_table_is_inside_the_box(overlay, size):
    parent, widget = overlay
    parent.resize(*size)
    widget.set_rows(ROWS)
    panel = widget._panel()
    font = widget.row_font()
    boxes = widget.line_boxes()
    for box, text, is_key in boxes:
        metrics = QFontMetrics(bold_font(font) if is_key else font)
        assert panel.contains(box), (text, box, panel)
        assert metrics.horizontalAdvance(text) <= box.width() + 0.5, (text, box.width())
    texts = [(text, is_key) for _, text, is_key in boxes]
    keys = [text for text, is_key in texts if is_key]
    assert keys == [row[0] for row in ROWS]
    drawn = " ".join(text for text, is_key in texts if not is_key).split()
    assert drawn == " ".join(description for _, description in ROWS).split()   # nothing elided or lost


def test_the_long_method_line_takes_several_lines_rather_than_being_cut(overlay):
    parent, widget = overlay
    parent.resize(800, 600)
    widget.set_rows(ROWS)
    method_row = next(description for _, description in ROWS if "noise_tunnel" in description)
    lines = [text for _, text, is_key in widget.line_boxes() if not is_key and text in method_row]
    assert len(lines) >= 2 and "noise_tunnel" in " ".join(lines)


def test_wrap_text_breaks_at_words_and_splits_a_word_longer_than_the_line(overlay):
    _, widget = overlay
    metrics = QFontMetrics(widget.font())
    width = metrics.horizontalAdvance("abcdefghij")
    lines = wrap_text("one two three four xxxxxxxxxxxxxxxxxxxxxxxxx five", metrics, width)
    assert all(metrics.horizontalAdvance(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == "onetwothreefourxxxxxxxxxxxxxxxxxxxxxxxxxfive"
    assert lines[0] == "one two"
