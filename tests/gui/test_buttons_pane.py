"""The buttons pane (`buttons_pane`, the arikpoz fork's `caffevis_buttons`): a button per key binding,
generated from the key table; a click does what pressing the button's key does, keys keep working."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWidget

from deepvis_app.gui.keys import key_event
from deepvis_app.gui.panes.buttons_pane import ButtonsPane
from deepvis_app.keymap import ACTIONS, KEYMAP, bindings


def press(qtbot, widget, *tokens: str) -> None:
    """The QKeyEvents a real press of each key produces, through Qt's event delivery (the path a typed
    key takes; qtbot.keyClick would send Shift+h with the text "h", not "H")."""
    for token in tokens:
        QApplication.sendEvent(widget, key_event(token))
        QApplication.sendEvent(widget, key_event(token, press=False))


def click(qtbot, window, action: str) -> None:
    """A left click in the middle of `action`'s button, scrolled into view first."""
    button = window.buttons.buttons[action]
    window.buttons.ensureWidgetVisible(button)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=button.rect().center())


@pytest.fixture
def with_buttons(make_window, tiny_loaded):
    def make(**changes):
        return make_window(settings=tiny_loaded.settings.replace(buttons_pane=True, **changes))
    return make


def test_every_action_has_a_button_with_its_key_in_its_section(with_buttons):
    window = with_buttons()
    pane = window.buttons
    assert list(pane.buttons) == list(ACTIONS)
    groups: dict[str, list[str]] = {}
    for binding in KEYMAP:
        groups.setdefault(binding.group, []).append(binding.action)
        button = pane.buttons[binding.action]
        assert button.key == binding.keys[0] and button.isEnabled()
        assert button.text().startswith(binding.keys[0] + "  ")
        assert binding.help.startswith(button.label) and button.label
        assert binding.help in button.toolTip() and ", ".join(binding.keys) in button.toolTip()
    assert pane.sections == groups
    assert any(m in pane.buttons["next_back_method"].toolTip() for m in window.session.info.back_methods)


def test_the_pane_is_a_column_right_of_the_panes(with_buttons):
    window = with_buttons()
    pane, canvas = window.buttons, window.canvas
    assert pane.isVisible() and pane.x() > canvas.x() + canvas.width()
    assert pane.x() + pane.width() == window.centralWidget().width()
    assert 0.1 < pane.width() / window.centralWidget().width() < 0.25
    assert all(rect.right() <= canvas.width() for rect in (w.geometry() for w in window.panes.values()
                                                              if w.isVisible()))
    button = pane.buttons["toggle_help"]
    assert button.isVisible() and button.width() <= pane.viewport().width()  # elided, not cut off


def shown(window) -> tuple:
    """What the keys change: the view state, the status line (all but its fps) and the help screen."""
    status = [part.strip() for part in window.last_result.status.split("|") if "FPS" not in part]
    return window.session.state, status, window.help_overlay.isVisible()


@pytest.mark.parametrize("actions", [("sel_right",), ("toggle_help",), ("sel_down", "sel_right", "sel_right"),
                                     ("sel_down", "ez_back_mode_loop", "boost_gamma"), ("next_file",)])
def test_a_click_does_what_its_key_does(with_buttons, make_window, qtbot, actions):
    clicked = with_buttons()
    typed = make_window()  # no buttons pane: the keys alone
    start = shown(clicked)
    assert start == shown(typed)
    for action in actions:
        click(qtbot, clicked, action)
        press(qtbot, typed, bindings()[ACTIONS.index(action)].keys[0])
    assert shown(clicked) != start, "the clicks changed nothing"
    assert shown(clicked) == shown(typed)


def test_keys_keep_working_after_a_click(with_buttons, qtbot):
    window = with_buttons()
    # no part of the pane can take the keyboard focus, by click, tab or wheel (the offscreen platform
    # never activates a window, so a click cannot be seen moving the focus there)
    parts = [window.buttons, *window.buttons.findChildren(QWidget)]
    assert [w for w in parts if w.focusPolicy() != Qt.FocusPolicy.NoFocus] == []
    click(qtbot, window, "sel_down")
    focus = QApplication.focusWidget()
    assert focus is None or not window.buttons.isAncestorOf(focus), focus
    before = window.session.state.selected_unit
    press(qtbot, focus or window, "Right")  # an arrow key would scroll the pane if it held the focus
    assert window.session.state.selected_unit == before + 1


def test_help_overlay_leaves_the_buttons_clickable(with_buttons, qtbot):
    window = with_buttons()
    click(qtbot, window, "toggle_help")
    assert window.help_overlay.isVisible()
    button = window.buttons.buttons["toggle_help"]
    point = button.mapTo(window, button.rect().center())
    assert window.childAt(point) is button or button.isAncestorOf(window.childAt(point))
    click(qtbot, window, "toggle_help")
    assert not window.help_overlay.isVisible()


def test_key_overrides_change_the_label_and_what_is_sent(with_buttons, make_window, tiny_loaded, qtbot):
    overrides = {"sel_right": ("x", "Right"), "toggle_help": ("H",)}
    clicked = with_buttons(key_overrides=overrides)
    typed = make_window(settings=tiny_loaded.settings.replace(key_overrides=overrides))
    right, helper = clicked.buttons.buttons["sel_right"], clicked.buttons.buttons["toggle_help"]
    assert (right.key, helper.key) == ("x", "H") and right.text().startswith("x  ")
    start = shown(clicked)
    click(qtbot, clicked, "sel_right")
    click(qtbot, clicked, "toggle_help")
    press(qtbot, typed, "x", "H")
    assert shown(clicked) != start and shown(clicked) == shown(typed)
    assert clicked.help_overlay.isVisible()


def test_an_action_without_keys_has_a_disabled_button(tiny_loaded, qtbot):
    pane = ButtonsPane({"quit": ()})
    qtbot.addWidget(pane)
    sent: list[str] = []
    pane.keyRequested.connect(sent.append)
    qtbot.mouseClick(pane.buttons["quit"], Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    qtbot.mouseClick(pane.buttons["toggle_help"], Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert not pane.buttons["quit"].isEnabled() and sent == ["h"]


def test_off_by_default_and_the_window_is_unchanged(make_window):
    window = make_window()
    assert window.settings.buttons_pane is False and window.buttons is None
    assert not window.findChildren(ButtonsPane)
    assert window.canvas.width() == window.centralWidget().width()


def test_debug_outlines_name_the_buttons_pane(with_buttons):
    window = with_buttons(debug_window_panes=True)
    rects = window.debug_outlines.pane_rects()
    assert rects["buttons"].width() == window.buttons.width()
