"""The app's "optimize this unit" job: one unit's regularized-optimization image, computed in the background.

A unit without an optimized image shows a placeholder in the per-unit pane; `deepvis optimize` fills
whole layers offline, but a user browsing wants the one unit under the cursor now. The session starts
an `OptimizeJob` on a key press: its own thread runs `optimize_units` for that unit with the
`optimize_on_request_*` settings and saves the image through `UnitVisLayout` (image, per-step history,
objective_values.json entry with the same settings key as `deepvis optimize`, so the command counts
the unit as done). The sprite of pattern mode is left to `deepvis optimize`: rewriting a wide layer's
sprite for one tile would cost more than the optimization.

The model belongs to the compute thread, so the job holds the model lock for one optimization step
at a time and lets go between steps (a short sleep hands the lock over): the live view keeps running
while a unit is optimized. `cancel()` takes effect between two steps; nothing is written then.

Where it saves: the model's unit-vis folder when it can be written, else a per-user folder
(`user_unit_vis_root`, under $XDG_CACHE_HOME) that the unit-image loader also reads (images there win,
being the user's newer ones), so a pip-installed model's read-only folder still gets its images.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.optimize.config import PRESETS, OptimizeConfig
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout, user_cache_dir
from deepvis_app.settings.defaults import Settings
from deepvis_app.settings.options import OptionsError

log = logging.getLogger("deepvis.core.optimize_job")

YIELD_S = 0.002          # between two steps the lock is free this long (the compute thread takes it)
PROGRESS_EVERY_S = 0.5   # `on_progress` at most this often
JOIN_TIMEOUT_S = 30.0


def check_optimize_settings(settings: Settings) -> OptimizeConfig:
    """The config of the app's optimizations; `OptionsError` naming the setting when it cannot work."""
    name = settings.optimize_on_request_preset
    if name not in PRESETS:
        raise OptionsError(f"setting optimize_on_request_preset = {name!r}: choose from {', '.join(PRESETS)}")
    steps = settings.optimize_on_request_steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise OptionsError(f"setting optimize_on_request_steps = {steps!r}: must be a whole number >= 1")
    return PRESETS[name].replace(steps=steps)


def user_unit_vis_root(model: str) -> Path:
    """The per-user folder of app-computed unit images: $XDG_CACHE_HOME/deepvis/unit_vis/<model>."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(model)).name or str(model)).strip("._") or "model"
    return user_cache_dir() / "unit_vis" / safe


def can_write(root: Path | None) -> bool:
    """Whether files can be created under ``root`` (its nearest existing ancestor is writable)."""
    if root is None:
        return False
    path = root.absolute()
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


class _Cancelled(Exception):
    pass


class _StepLock:
    """The model lock, held during a step and let go between steps."""

    def __init__(self, lock: threading.Lock, cancel: threading.Event):
        self._lock, self._cancel = lock, cancel
        self.held = False

    def acquire(self) -> None:
        if self._cancel.is_set():
            raise _Cancelled
        self._lock.acquire()
        self.held = True

    def between_steps(self) -> None:
        self.release()
        time.sleep(YIELD_S)
        self.acquire()

    def release(self) -> None:
        if self.held:
            self.held = False
            self._lock.release()


class OptimizeJob:
    """One unit's optimization in its own thread (see the module docstring).

    ``on_progress()`` runs in the job thread every `PROGRESS_EVERY_S`; ``on_done(job)`` once at the
    end, whatever happened (`outcome`: "saved", "cancelled" or "failed"; `message` says it in a line).
    """

    def __init__(self, loaded: LoadedModel, layout: UnitVisLayout, layer: str, unit: int, config: OptimizeConfig,
                 preset: str, model_lock: threading.Lock, *, label: str | None = None,
                 on_progress: Callable[[], None] | None = None,
                 on_done: Callable[[OptimizeJob], None] | None = None,
                 superseded: UnitVisLayout | None = None):
        self.loaded, self.layout, self.layer, self.unit = loaded, layout, layer, int(unit)
        self.config, self.preset, self.label = config, preset, label or layer
        self._model_lock = model_lock
        self._on_progress, self._on_done = on_progress, on_done
        self._superseded = superseded        # a folder whose copy of this unit's image the new one replaces
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self.steps_done = 0
        self.started = 0.0
        self.outcome: str | None = None
        self.message = ""
        self.path: Path | None = None

    @property
    def steps(self) -> int:
        return self.config.steps

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished.is_set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="deepvis-optimize", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop between two steps; nothing is written."""
        self._cancel.set()

    def join(self, timeout: float = JOIN_TIMEOUT_S) -> bool:
        """Wait for the thread; True when it has ended (or never started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def status_text(self) -> str:
        """"optimizing 0 unit 7: 120/200 steps, 14 s"."""
        elapsed = time.monotonic() - self.started if self.started else 0.0
        return f"optimizing {self.label} unit {self.unit}: {self.steps_done}/{self.steps} steps, {elapsed:.0f} s"

    # --- the job thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        what = f"{self.label} unit {self.unit}"
        try:
            record = self.layout.read_objective_values(self.layer)   # a bad file stops us before computing
            image, entry, history = self._optimize()
            self.path = self._save(image, entry, history, record)
            self.outcome = "saved"
            self.message = f"optimized {what} in {time.monotonic() - self.started:.0f} s: {self.path}"
        except _Cancelled:
            self.outcome, self.message = "cancelled", f"optimizing {what} cancelled (nothing saved)"
        except Exception as exc:  # the app stays up; the user gets one line, the log the traceback
            log.exception("optimizing %s:%s failed", self.layer, self.unit)
            self.outcome, self.message = "failed", f"optimizing {what} failed: {type(exc).__name__}: {exc}"
        finally:
            self._finished.set()
            if self._on_done is not None:
                self._on_done(self)

    def _optimize(self) -> tuple[Any, dict[str, Any], list[float]]:
        from deepvis_app.core.unitvis.optimize.loop import optimize_units
        from deepvis_app.core.unitvis.optimize.output import saved_render, settings_key
        from deepvis_app.core.unitvis.optimize.params import InputSpace

        loaded, config = self.loaded, self.config
        space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
        height, width = loaded.settings.input_size
        input_size = (int(height), int(width))
        lock = _StepLock(self._model_lock, self._cancel)
        last_report = [time.monotonic()]

        def step(count: int) -> None:
            self.steps_done += count
            now = time.monotonic()
            if self._on_progress is not None and now - last_report[0] >= PROGRESS_EVERY_S:
                last_report[0] = now
                self._on_progress()
            lock.between_steps()

        lock.acquire()
        try:
            result = optimize_units(loaded.module, space, self.layer, [self.unit], config, input_size,
                                    batch_size=1, device=loaded.device, progress=step)
        finally:
            lock.release()
        if self._cancel.is_set():
            raise _Cancelled
        render = saved_render(config)
        size = config.size or input_size
        entry = {"best": float(result.best_values[0]), "last": float(result.last_values[0]),
                 "settings": settings_key(config, size, render),
                 "preset": self.preset, "objective": config.objective, "steps": config.steps, "render": render,
                 "push_dir": config.push_dir, "source": "app"}
        return result.images(space, render)[0], entry, result.history[:, 0].tolist()

    def _save(self, image: Any, entry: dict[str, Any], history: list[float], record: dict[str, Any]) -> Path:
        layout = self.layout
        layout.write_json(layout.unit_history(self.layer, self.unit),
                          {"layer": self.layer, "unit": self.unit, "settings": entry["settings"],
                           "preset": self.preset, "values": history})
        path = layout.write_unit_image("regularized_opt", self.layer, self.unit, image)
        record["units"][str(self.unit)] = entry
        layout.write_objective_values(self.layer, record)
        if self._superseded is not None and self._superseded.root != layout.root:
            for suffix in (".png", ".jpg"):
                old = self._superseded.unit_image("regularized_opt", self.layer, self.unit).with_suffix(suffix)
                old.unlink(missing_ok=True)
        return path
