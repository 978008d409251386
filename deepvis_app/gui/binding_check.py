"""Start-up self-check of the Qt binding: refuse to open the window on a PySide6 that leaks `None`.

PySide6-Essentials 6.12.0 (shiboken6 6.12.0) on CPython 3.11 drops one reference to `None` on every
void QPainter call (fillRect, setRenderHint, drawImage, setPen...). The window paints a few hundred
of those per second, so after a minute or two of video the interpreter aborts with "Fatal Python
error: none_dealloc: deallocating None" (issue 8). pyproject.toml excludes that release, but an
environment can still hold one (a manual upgrade, another package's pin), and the crash comes far
from its cause. So the window first paints a few hundred void calls on a small QImage and compares
`sys.getrefcount(None)` before and after (about a millisecond); on a leak it refuses to start with
one line saying what to install. From CPython 3.12 `None` is immortal (PEP 683): its count never
moves, the leak is harmless there and the check passes.
"""

from __future__ import annotations

import logging
import re
import sys
from importlib import metadata
from typing import Callable

import PySide6
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QImage, QPainter

from deepvis_app.errors import DeepvisError

log = logging.getLogger("deepvis.gui.binding_check")

ROUNDS = 64  # x 4 void calls per round
FALLBACK_REQUIREMENT = "PySide6-Essentials>=6.8,<6.12"

PainterFactory = Callable[[QImage], QPainter]


class BindingError(DeepvisError):
    """The installed Qt binding cannot run the window for long; the message says what to install."""


def none_refcount_drift(painter_factory: PainterFactory | None = None, rounds: int = ROUNDS) -> int:
    """How far `None`'s reference count moved over `4 * rounds` void QPainter calls (0: no leak).

    `painter_factory(image)` opens the painter (default: QPainter; a subclass in tests).
    """
    target = QImage(16, 16, QImage.Format.Format_RGB32)
    source = QImage(4, 4, QImage.Format.Format_RGB32)
    source.fill(0)
    rect, point, color = QRect(0, 0, 8, 8), QPoint(2, 2), QColor(10, 20, 30)
    smooth = QPainter.RenderHint.SmoothPixmapTransform
    painter = (painter_factory or QPainter)(target)
    try:
        before = sys.getrefcount(None)
        for index in range(rounds):
            painter.fillRect(rect, color)
            painter.setRenderHint(smooth, index % 2 == 0)
            painter.drawImage(point, source)
            painter.setPen(color)
        after = sys.getrefcount(None)
    finally:
        painter.end()
    return after - before


def safe_requirement() -> str:
    """The PySide6-Essentials range deepvis declares (from its installed metadata, else the known one)."""
    try:
        declared = metadata.requires("deepvis") or []
    except metadata.PackageNotFoundError:
        declared = []
    for requirement in declared:
        match = re.fullmatch(r"(?i)(pyside6-essentials)\s*\(?([<>=!~0-9.,\s]+)\)?", requirement)
        if match:  # metadata may list the lower bound last: put it first, as pyproject.toml does
            parts = sorted(match[2].replace(" ", "").split(","), key=lambda part: not part.startswith(">"))
            return match[1] + ",".join(parts)
    return FALLBACK_REQUIREMENT


def binding_problem(painter_factory: PainterFactory | None = None, rounds: int = ROUNDS) -> str | None:
    """One line saying why this binding cannot be used and what to install, or None when it is sound.

    Another thread touching `None` meanwhile moves the count by a few; a leak loses one per call,
    so only a loss of at least half the calls counts, and it must show twice.
    """
    calls = 4 * rounds
    drifts = []
    for _ in range(2):
        drifts.append(none_refcount_drift(painter_factory, rounds))
        if drifts[-1] > -calls // 2:
            return None
    requirement = safe_requirement()
    log.debug("None refcount drift over %d void QPainter calls: %s", calls, drifts)
    return (f"PySide6 {PySide6.__version__} leaks a reference to None on every void QPainter call "
            f"({drifts[0]} in {calls} calls) and would abort the window within minutes; "
            f"install a release without the bug: pip install '{requirement}'")


def require_sound_binding(painter_factory: PainterFactory | None = None) -> None:
    """Raise `BindingError` (one line: why, what to install) when the binding leaks `None`."""
    problem = binding_problem(painter_factory)
    if problem is not None:
        raise BindingError(problem)
