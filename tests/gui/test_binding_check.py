"""The start-up binding check: passes on the installed PySide6, refuses a painter that really leaks None.

The leaking painter is a QPainter subclass whose void calls drop a real reference to `None` with
`Py_DecRef` after the real Qt call, as shiboken6 6.12.0 does; the references are given back
after each test so the interpreter never gets near freeing `None`.
"""

from __future__ import annotations

import ctypes
import re
import sys
import threading

import pytest
from packaging.specifiers import SpecifierSet
from PySide6.QtGui import QPainter

from deepvis_app.gui import binding_check
from deepvis_app.gui.app import GuiOptions, run_gui
from deepvis_app.gui.binding_check import (
    BindingError,
    binding_problem,
    none_refcount_drift,
    require_sound_binding,
    safe_requirement,
)

immortal_none = pytest.mark.skipif(sys.version_info >= (3, 12),
                                   reason="None is immortal from CPython 3.12 (PEP 683): nothing to leak")


class Refs:
    """References to None taken away by leaking painters, given back by `restore`."""

    taken = 0

    @classmethod
    def drop(cls, count: int = 1) -> None:
        for _ in range(count):
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))
        cls.taken += count

    @classmethod
    def restore(cls) -> None:
        for _ in range(cls.taken):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
        cls.taken = 0


def leaking_painter(every: int = 1):
    """A QPainter class whose void calls (fillRect, setRenderHint, drawImage, setPen) leak one
    reference to None per `every` calls."""

    class LeakingPainter(QPainter):
        calls = 0

        def _leak(self) -> None:
            type(self).calls += 1
            if type(self).calls % every == 0:
                Refs.drop()

        def fillRect(self, *args):  # noqa: N802 (Qt name)
            super().fillRect(*args)
            self._leak()

        def setRenderHint(self, *args):  # noqa: N802 (Qt name)
            super().setRenderHint(*args)
            self._leak()

        def drawImage(self, *args):  # noqa: N802 (Qt name)
            super().drawImage(*args)
            self._leak()

        def setPen(self, *args):  # noqa: N802 (Qt name)
            super().setPen(*args)
            self._leak()

    return LeakingPainter


@pytest.fixture(autouse=True)
def give_back_references():
    yield
    Refs.restore()


def test_installed_binding_passes(qapp):
    assert abs(none_refcount_drift()) < 16
    assert binding_problem() is None
    require_sound_binding()  # does not raise


def test_a_wrapper_that_does_not_leak_passes(qapp):
    assert binding_problem(leaking_painter(every=10**9)) is None


@immortal_none
def test_a_painter_leaking_none_is_refused_with_what_to_install(qapp):
    painter = leaking_painter()
    assert abs(none_refcount_drift(painter, rounds=50) + 200) < 16  # other threads may touch None a little
    problem = binding_problem(painter)
    assert problem is not None and "\n" not in problem
    assert "leaks a reference to None" in problem and re.search(r"\(-2[45]\d in 256 calls\)", problem)
    assert f"pip install '{safe_requirement()}'" in problem
    with pytest.raises(BindingError, match="leaks a reference to None"):
        require_sound_binding(painter)


def test_the_advice_excludes_the_leaking_release_and_admits_the_measured_good_ones():
    name, spec = re.fullmatch(r"([A-Za-z0-9-]+)(.*)", safe_requirement()).groups()
    assert name.lower() == "pyside6-essentials"
    allowed = SpecifierSet(spec)
    assert "6.12.0" not in allowed
    assert all(version in allowed for version in ("6.8.0", "6.9.3", "6.10.3", "6.11.3"))


@immortal_none
def test_a_few_stray_references_are_not_a_leak(qapp):
    """Other threads move None's count a little; a leak loses one reference per call."""
    assert binding_problem(leaking_painter(every=25)) is None


@immortal_none
def test_run_gui_refuses_to_start_with_exit_code_2(qapp, tiny_loaded, monkeypatch):
    monkeypatch.setattr(binding_check, "QPainter", leaking_painter())
    threads = threading.active_count()
    code, message = run_gui(tiny_loaded, GuiOptions(input="sample:chelsea"))
    assert code == 2 and "leaks a reference to None" in message and "pip install" in message
    assert threading.active_count() == threads  # refused before any input or compute thread started
    assert not [w for w in qapp.topLevelWidgets() if w.isVisible()]
