"""The optimize-unit key: a background job optimizes the selected unit, shows its progress, can be
cancelled, and saves the image through the unit-vis layout, where the per-unit pane (now and in a
later session) finds it."""

from __future__ import annotations

import json
import os
import re
import threading
import time

import numpy as np
import pytest
import torch

from deepvis_app.core.app.session import Session
from deepvis_app.core.unitvis.optimize.job import can_write, user_unit_vis_root
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.loader import load_settings
from deepvis_app.settings.options import OptionsError
from tests.helpers.sessions import press

DEADLINE_S = 60.0
LAYER, UNIT = "3", 2          # the second conv of the tiny model, a unit that is not the first
PROGRESS = re.compile(rf"optimizing {LAYER} unit {UNIT}: (\d+)/(\d+) steps, \d+ s")


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """$XDG_CACHE_HOME in tmp_path: the per-user unit-vis folder of the tiny model lives there."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return user_unit_vis_root("tiny")


@pytest.fixture
def make_session(tiny_session, user_cache):
    """Sessions on the tiny model with $XDG_CACHE_HOME in tmp_path (see `tiny_session`)."""
    return tiny_session


def select_unit(session: Session) -> None:
    press(session, *["o"] * session.info.layers.index(LAYER), "k", *["l"] * UNIT)
    assert session.info.layers[session.state.layer_idx] == LAYER and session.state.selected_unit == UNIT


def finish(session: Session):
    job = session.optimize_job
    assert job is not None and job.join(DEADLINE_S), "the job did not end"
    session.process_pending()
    return job, session.latest_result()


def wait_for_progress(session: Session, at_least: int) -> re.Match:
    """Re-render as the job asks (it invalidates the view) until the status shows >= at_least steps."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        session.process_pending()
        match = PROGRESS.search(session.latest_result().status)
        if match and int(match[1]) >= at_least:
            return match
        time.sleep(0.05)
    raise AssertionError(f"no progress in the status: {session.latest_result().status!r}")


def test_g_optimizes_the_unit_saves_it_through_the_layout_and_the_pane_shows_it(make_session, tiny_loaded,
                                                                                 tmp_path, user_cache):
    root = tmp_path / "unit_vis"
    session = make_session(unit_vis_dir=str(root), optimize_on_request_steps=30)
    select_unit(session)
    before = session.loader.request(LAYER, UNIT)
    assert before is not None and before.regularized_opt is None
    result = press(session, "g")
    assert PROGRESS.search(result.status), result.status
    job, result = finish(session)
    assert job.outcome == "saved", job.message
    layout = UnitVisLayout(root)
    path = layout.unit_image("regularized_opt", LAYER, UNIT)
    assert job.path == path and path.suffix == ".png" and path.is_file()
    assert not user_cache.exists()                      # the model's folder was writable: nothing per-user
    assert f"optimized {LAYER} unit {UNIT}" in result.message and not PROGRESS.search(result.status)
    shown = session.loader.request(LAYER, UNIT)         # the loader's cache was invalidated
    saved = read_image(path)
    assert shown is not None and shown.regularized_opt is not None
    np.testing.assert_array_equal(shown.regularized_opt, saved)
    entry = layout.read_objective_values(LAYER)["units"][str(UNIT)]
    history = json.loads(layout.unit_history(LAYER, UNIT).read_text())["values"]
    assert len(history) == 30 and entry["best"] == max(history) and entry["best"] > history[0]
    # oracle: the file fed to the plain torch network gives the recorded objective (the unit's centre)
    x = torch.from_numpy(tiny_loaded.preprocessor.to_array(saved))[None]
    with torch.no_grad():
        maps = tiny_loaded.module[:int(LAYER) + 1](x)[0, UNIT]
    assert maps[maps.shape[0] // 2, maps.shape[1] // 2].item() == pytest.approx(entry["best"], rel=0.05)


def test_a_second_press_cancels_writes_nothing_and_says_so(make_session, tmp_path, user_cache):
    root = tmp_path / "unit_vis"
    session = make_session(unit_vis_dir=str(root), optimize_on_request_steps=100_000)
    select_unit(session)
    press(session, "g")
    match = wait_for_progress(session, at_least=2)
    assert int(match[2]) == 100_000
    session.handle_key("g")
    job, result = finish(session)
    assert job.outcome == "cancelled" and 2 <= job.steps_done < 100_000
    assert "cancelled" in result.message and not PROGRESS.search(result.status)
    assert not UnitVisLayout(root).unit_image("regularized_opt", LAYER, UNIT).exists()
    assert not any(p.is_file() for p in root.rglob("*")) and not user_cache.exists()


def test_the_compute_thread_answers_keys_while_a_unit_is_optimized(make_session, tmp_path):
    """The job lets go of the model lock between steps: the live view is not frozen by it."""
    session = make_session(sync=False, unit_vis_dir=str(tmp_path / "unit_vis"), optimize_on_request_steps=100_000)
    session.handle_key("g")
    job = session.optimize_job
    deadline = time.monotonic() + DEADLINE_S
    while job.steps_done < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    for key in ("k", "l", "b"):                         # grid, unit 1, backprop on: forward and backward
        session.handle_key(key)
        wanted = session.generation
        while time.monotonic() < deadline:
            result = session.latest_result()
            if result is not None and result.generation >= wanted and result.progress is None:
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"no result for '{key}' while the job runs")
        assert job.running and re.search(r"optimizing 0 unit 0: \d+/100000 steps", result.status), result.status
    assert "Back: gradient/raw (from 0_1)" in session.latest_result().status


def test_stop_cancels_and_joins_a_running_job(make_session, tmp_path):
    session = make_session(unit_vis_dir=str(tmp_path / "unit_vis"), optimize_on_request_steps=100_000)
    select_unit(session)
    press(session, "g")
    wait_for_progress(session, at_least=1)
    started = time.monotonic()
    session.stop()
    assert time.monotonic() - started < 10
    assert not [t for t in threading.enumerate() if t.name == "deepvis-optimize"]
    assert session.optimize_job.outcome == "cancelled"


def test_without_a_model_folder_the_image_goes_to_the_user_folder_and_a_new_session_reads_it(
        make_session, user_cache):
    session = make_session(unit_vis_dir=None, optimize_on_request_steps=5)   # tiny: no model_dir either
    select_unit(session)
    press(session, "g")
    job, _ = finish(session)
    assert job.outcome == "saved", job.message
    path = UnitVisLayout(user_cache).unit_image("regularized_opt", LAYER, UNIT)
    assert job.path == path and path.is_file()
    session.stop()
    again = make_session(unit_vis_dir=None)
    select_unit(again)
    images = again.loader.request(LAYER, UNIT)
    assert images is not None and images.regularized_opt is not None
    np.testing.assert_array_equal(images.regularized_opt, read_image(path))
    pane = press(again, "t").images["unit_images"]      # the pane draws it (not the placeholder)
    assert pane.std() > 0


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_model_folder_sends_the_image_to_the_user_folder(make_session, tmp_path, user_cache):
    root = tmp_path / "installed" / "unit_vis"
    root.mkdir(parents=True)
    root.chmod(0o555)
    try:
        assert not can_write(root)
        session = make_session(unit_vis_dir=str(root), optimize_on_request_steps=5)
        select_unit(session)
        press(session, "g")
        job, _ = finish(session)
        assert job.outcome == "saved" and user_cache in job.path.parents
        assert session.loader.request(LAYER, UNIT).regularized_opt is not None
    finally:
        root.chmod(0o755)


def test_can_write_looks_at_the_nearest_existing_folder(tmp_path):
    assert can_write(tmp_path / "not" / "yet" / "there") and not can_write(None)
    (tmp_path / "file").write_text("x")
    assert not can_write(tmp_path / "file" / "below")


def test_a_bad_preset_is_a_settings_error_naming_it(tiny_loaded):
    settings = tiny_loaded.settings.replace(optimize_on_request_preset="yosinski9")
    with pytest.raises(OptionsError, match="optimize_on_request_preset = 'yosinski9': choose from yosinski1"):
        Session(tiny_loaded, settings, InputManager(settings, "sample:chelsea"), sync=True)


def test_the_loader_rejects_a_step_count_out_of_range():
    from deepvis_app.settings.loader import validate

    settings = load_settings().settings
    assert not validate(settings, {})
    problems = validate(settings.replace(optimize_on_request_steps=0), {"optimize_on_request_steps": "--set"})
    assert problems == ["--set: setting 'optimize_on_request_steps' = 0: must be between 1 and 100000"]
