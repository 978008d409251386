"""The optimize-unit key: a background `OptimizeJob` for the selected unit, told through the notices.

Pressing the key starts the job; pressing it again cancels it; moving on to other layers and units
does not (the job names its unit, and its image is saved for when the user comes back). The job
reaches the status line the way every message does (`core.base.notices`): its progress as the held
line, its end as a message; the compute thread records them with the next picture, so the render
thread never reads the job. Kept out of `session` so that the session only routes keys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from deepvis_app.core.app.state import ModelInfo, ViewState
from deepvis_app.core.app.unit_image_loader import UnitImageLoader
from deepvis_app.core.base.notices import Notices
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.optimize.job import OptimizeJob, can_write, check_optimize_settings
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.settings.defaults import Settings

log = logging.getLogger("deepvis.session")


class OptimizeKey:
    """Starts and cancels the optimize job (see the module docstring); ``on_change()`` asks for a new
    picture (the progress line changed)."""

    def __init__(self, loaded: LoadedModel, settings: Settings, loader: UnitImageLoader, user_layout: UnitVisLayout,
                 *, unit_vis_root: Path | None, model_lock: threading.Lock, notices: Notices,
                 on_change: Callable[[], None]):
        self._config = check_optimize_settings(settings)
        self.loaded, self.settings, self.loader, self.user_layout = loaded, settings, loader, user_layout
        self._root, self._model_lock, self._notices, self._on_change = unit_vis_root, model_lock, notices, on_change
        self._closing = threading.Event()
        self.job: OptimizeJob | None = None

    def toggle(self, state: ViewState, info: ModelInfo, pretty: list[str]) -> None:
        """Start optimizing the selected unit, or cancel the job that is running."""
        job = self.job
        if job is not None and job.running:
            job.cancel()
            self._notices.post(f"cancelling: {job.status_text()}")
            return
        if self._closing.is_set():
            return
        shown = info.layers[state.layer_idx]
        layer = self.settings.jpgvis_remap.get(shown, shown)   # the layer whose images the pane shows
        if layer not in self.loaded.layer_names:
            layer = shown
        writable = can_write(self._root)
        self.job = job = OptimizeJob(self.loaded, self.loader.layout if writable else self.user_layout, layer,
                                     state.selected_unit, self._config, self.settings.optimize_on_request_preset,
                                     self._model_lock, label=pretty[state.layer_idx] if layer == shown else layer,
                                     on_progress=self._progress, on_done=self._done,
                                     superseded=self.user_layout if writable else None)
        self._notices.hold(job.status_text())
        job.start()

    def cancel(self) -> None:
        """Closing: cancel the job (it stops after its current step) and start no other."""
        self._closing.set()
        if self.job is not None:
            self.job.cancel()

    def join(self) -> None:
        """Wait for the cancelled job to end."""
        if self.job is not None and not self.job.join():
            log.warning("the optimize job did not stop in time")

    def _progress(self) -> None:
        """In the job thread: its progress line, and a new picture to show it."""
        job = self.job
        if job is not None and job.running:
            self._notices.hold(job.status_text())
        self._on_change()

    def _done(self, job: OptimizeJob) -> None:
        """In the job thread: say how it ended and show the new image (the loader reads it again)."""
        if job is self.job:
            self._notices.hold(None)
        if self._closing.is_set():
            return
        self._notices.post(job.message)
        if job.outcome == "saved":
            self.loader.invalidate(job.layer, job.unit)
        else:
            self._on_change()
