"""The toolbox window: lays out the panes, forwards input to the session, paints its results.

The panes are the ones `core.panes.PANES` declares: one widget each (its `kind` picks the widget
class), placed by `layout.pane_rects`, painted from `Result.images` and `Result.text` by name.
The window never computes: keys, clicks, hovering, drops and resizes become calls on the Qt-free
`Session`; the session's results arrive through `ResultBridge` (at most one pending event, old
generations dropped) and are painted as they are. A session in sync mode (tests) computes inline
in its calls and its results arrive at once through the same bridge: the window has one code path.
With `buttons_pane` on, a column of buttons (one per key binding) sits right of the panes, a sixth
of the width as in the arikpoz fork; a click is handled as the press of the button's key.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QApplication, QHBoxLayout, QMainWindow, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from deepvis_app.core.app.panes import PANES, PaneSpec, hidden_panes
from deepvis_app.core.app.result import Result
from deepvis_app.core.app.session import Session
from deepvis_app.core.app.window_layout import pane_rects
from deepvis_app.gui.bridge import ResultBridge
from deepvis_app.gui.keys import key_string
from deepvis_app.gui.panes.aux_pane import AuxPane
from deepvis_app.gui.panes.buttons_pane import ButtonsPane
from deepvis_app.gui.panes.control_pane import ControlColors, ControlPane
from deepvis_app.gui.panes.debug_outlines import DebugOutlines
from deepvis_app.gui.panes.help_overlay import HelpOverlay
from deepvis_app.gui.panes.image_pane import ImagePane
from deepvis_app.gui.panes.input_pane import InputPane
from deepvis_app.gui.panes.layers_pane import LayersPane
from deepvis_app.gui.panes.status_pane import StatusPane
from deepvis_app.gui.qimage import qcolor
from deepvis_app.settings.defaults import Settings

TITLE = "Deep Visualization Toolbox"
RESIZE_THROTTLE_MS = 80
BUTTONS_SHARE = 6  # the buttons pane takes 1/BUTTONS_SHARE of the width (the fork's 300 of 1800 px)


class Canvas(QWidget):
    """Holds the panes; places them with `layout.pane_rects` on every resize."""

    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self.resized.emit()


class MainWindow(QMainWindow):
    """`resultShown(generation)` after each result is painted."""

    resultShown = Signal(int)

    def __init__(self, session: Session, settings: Settings, *, sync: bool = False, notice: str | None = None,
                 title: str = TITLE):
        """``sync`` is accepted for older callers and ignored: the session decides how it computes."""
        super().__init__()
        self.session = session
        self.settings = settings
        self.notice = notice
        self.last_result: Result | None = None
        self._closed = False
        self._hidden = hidden_panes(session.state)
        self.setWindowTitle(title)
        self.setAcceptDrops(True)
        self._build_panes()
        self.bridge = ResultBridge(session, self)
        self.bridge.delivered.connect(self.show_result)
        self._send_sizes_later = qthrottled(self.send_pane_sizes, RESIZE_THROTTLE_MS)
        self.resize(*self._fitting_size(settings.window_size))

    # --- construction -------------------------------------------------------------------------
    def _build_panes(self) -> None:
        s = self.settings
        bg, stale = qcolor(s.window_background), qcolor(s.stale_background)
        container = self._container = QWidget(self)
        self.canvas = Canvas(container)
        self.panes: dict[str, ImagePane] = {spec.name: self._make_pane(spec, bg, stale) for spec in PANES}
        self.control = ControlPane(bg, ControlColors.from_settings(s), self.canvas, font_scale=s.font_scale)
        self.status = StatusPane(bg.darker(125), container, font_scale=s.font_scale)
        self.status.set_text(self.notice or "loading...")
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.buttons: ButtonsPane | None = None
        if s.buttons_pane:
            layout.addLayout(self._with_buttons(bg), 1)
        else:
            layout.addWidget(self.canvas, 1)
        layout.addWidget(self.status)
        self.debug_outlines: DebugOutlines | None = None
        if s.debug_window_panes:
            self.debug_outlines = DebugOutlines(container, self._named_panes, s.font_scale)
        self.help_overlay = HelpOverlay(container, font_scale=s.font_scale)
        self.setCentralWidget(container)
        self.canvas.resized.connect(self._on_canvas_resized)
        self.control.layerClicked.connect(self._on_layer_clicked)

    def _with_buttons(self, background: QColor) -> QHBoxLayout:
        """The canvas with the buttons pane right of it (the `buttons_pane` setting)."""
        s = self.settings
        self.buttons = ButtonsPane(s.key_overrides, self.session.info.back_methods, background, self._container,
                                   font_scale=s.font_scale)
        self.buttons.keyRequested.connect(self._on_button_key)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.canvas, BUTTONS_SHARE - 1)
        row.addWidget(self.buttons, 1)
        return row

    def _make_pane(self, spec: PaneSpec, background: QColor, stale: QColor) -> ImagePane:
        """The widget of one declared pane: a grid takes clicks and hovers, a text pane draws lines."""
        if spec.kind == "grid":
            grid = LayersPane(background, stale, self.canvas, name=spec.name)
            grid.tileClicked.connect(self._on_tile_clicked)
            grid.hover_text = self.session.hover_text
            pane: ImagePane = grid
        elif spec.name == "input":
            source = InputPane(background, stale, self.canvas)
            source.clicked.connect(self._on_input_clicked)
            source.dragged.connect(self._on_input_dragged)
            pane = source
        elif spec.kind == "text":
            colors = (self.settings.class_clr_0, self.settings.class_clr_1)
            pane = AuxPane(background, stale, colors, self.canvas, name=spec.name, font_scale=self.settings.font_scale)
        else:
            pane = ImagePane(spec.name, background, stale, self.canvas)
        pane.placeholder = spec.placeholder
        pane.anchor_top = spec.anchor_top
        pane.setAccessibleName(spec.title)
        return pane

    # --- layout -------------------------------------------------------------------------------
    def _fitting_size(self, wanted: tuple[int, int]) -> tuple[int, int]:
        """The configured window size, shrunk (aspect kept) to fit a real screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None or QGuiApplication.platformName() == "offscreen":  # screenshots keep the set size
            return wanted
        available = screen.availableGeometry()
        scale = min(1.0, available.width() / max(wanted[0], 1), available.height() / max(wanted[1], 1))
        return max(320, round(wanted[0] * scale)), max(240, round(wanted[1] * scale))

    def relayout(self) -> None:
        """Place every pane for the current canvas size and the panes the view shows."""
        rects = pane_rects(self.canvas.width(), self.canvas.height(), self.control.height_for_width, self._hidden,
                           right_as_row=not self.settings.unit_images_stack_vertical)
        for name, widget in (*self.panes.items(), ("control", self.control)):
            rect = rects.get(name)
            widget.setVisible(rect is not None)
            if rect is not None:
                widget.setGeometry(rect.x, rect.y, rect.w, rect.h)
        if self.debug_outlines is not None:
            self.debug_outlines.follow_parent()
        if self.help_overlay.isVisible():
            self.help_overlay.setGeometry(self._container.rect())
            self.help_overlay.raise_()

    def _named_panes(self) -> list[tuple[str, QWidget]]:
        """Every pane widget by name (what `debug_window_panes` outlines)."""
        buttons = [("buttons", self.buttons)] if self.buttons is not None else []
        return [*self.panes.items(), ("control", self.control), *buttons, ("status", self.status)]

    def pane_sizes(self) -> dict[str, tuple[int, int]]:
        """Device-pixel size of every visible image pane (what the session renders)."""
        return {name: pane.device_size() for name, pane in self.panes.items() if not pane.isHidden()}

    @Slot()
    def send_pane_sizes(self) -> None:
        if self._closed:
            return
        self.session.set_pane_sizes(self.pane_sizes())

    @Slot()
    def _on_canvas_resized(self) -> None:
        self.relayout()
        self._send_sizes_later()

    # --- input --------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        key = key_string(event)
        if key is None or not self.handle_key(key):
            super().keyPressEvent(event)

    def handle_key(self, key: str) -> bool:
        """Give a key string to the session; True when it is bound."""
        self.notice = None
        bound = self.session.handle_key(key)
        if self.session.should_quit:
            self.close()
        return bound

    @Slot(str)
    def _on_button_key(self, key: str) -> None:
        """A click in the buttons pane: the press of its key (the key a typed press is turned into)."""
        self.handle_key(key)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt name)
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt name)
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def open_paths(self, paths: list[str]) -> None:
        self.session.open_paths(paths)

    @Slot(int)
    def _on_layer_clicked(self, index: int) -> None:
        self.session.select_layer(index)

    @Slot(float, float)
    def _on_tile_clicked(self, x: float, y: float) -> None:
        self.session.click("layers", x, y)

    @Slot(float, float)
    def _on_input_clicked(self, x: float, y: float) -> None:
        self.session.click("input", x, y)

    @Slot(float, float, float, float)
    def _on_input_dragged(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.session.drag("input", x0, y0, x1, y1)

    # --- results ------------------------------------------------------------------------------
    @Slot(object)
    def show_result(self, result: Result) -> None:
        """Paint one `Result` (already filtered to be newer than the last one shown)."""
        self.last_result = result
        for spec in PANES:
            pane = self.panes[spec.name]
            pane.set_image(result.images.get(spec.name), spec.name in result.stale)
            if isinstance(pane, AuxPane):
                pane.set_labels(result.text.get(spec.name, ()))
        if self.control.set_layers(result.layers, result.cursor_on_layer_list):
            self.relayout()
        if result.hidden_panes != self._hidden:
            self._hidden = result.hidden_panes
            self.relayout()
            self.send_pane_sizes()
        self.help_overlay.set_rows(result.help_lines)
        self.status.set_text(result.status + (f"  |  {self.notice}" if self.notice else ""))
        self.resultShown.emit(result.generation)

    # --- lifetime -----------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.DevicePixelRatioChange:  # moved to a screen with another scale
            self._send_sizes_later()
        return super().event(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self.relayout()
        self.send_pane_sizes()

    @Slot(int)
    def finish(self, code: int) -> None:
        """Close the window and leave the event loop with `code` (screenshot mode)."""
        self.close()
        QApplication.exit(code)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        if not self._closed:
            self._closed = True
            self.bridge.detach()
            self.session.stop()
        super().closeEvent(event)
