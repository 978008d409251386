"""The Qt-free session: keys change the panes (sync mode), errors become messages, the thread stops cleanly."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from deepvis_app.core.app.panes import PANE_NAMES
from deepvis_app.core.app.result import Result
from deepvis_app.core.app.session import Session
from deepvis_app.core.app.unit_class import LabelLayerError, label_layers
from deepvis_app.core.methods.registry import METHOD_NAMES, get_method
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.nn.model import load_model
from deepvis_app.io.images import sample_image, write_image
from deepvis_app.io.sources import InputManager
from deepvis_app.keymap import help_rows
from deepvis_app.settings.loader import load_settings
from tests.helpers.sessions import press

DEADLINE_S = 120.0


@pytest.fixture
def make_session(tiny_session):
    """Sessions on the tiny model (`tiny_session`); a threaded one is left for the test to start."""
    def make(spec: str = "sample:chelsea", sync: bool = True, loaded=None) -> Session:
        return tiny_session(sync=sync, spec=spec, loaded=loaded, start=sync)
    return make


def _uniform(image: np.ndarray) -> bool:
    return bool((image == image[0, 0]).all())


def _rgb255(color) -> np.ndarray:
    return np.rint(np.asarray(color) * 255).astype(np.uint8)


def test_first_result_has_every_pane(make_session):
    session = make_session()
    session.process_pending()
    result = session.latest_result()
    assert {"input", "layers", "back"} <= set(result.images) <= set(PANE_NAMES)
    assert all(img.dtype == np.uint8 and img.ndim == 3 and not img.flags.writeable for img in result.images.values())
    assert result.cursor_on_layer_list and result.aux_mode == "labels" and len(result.top_labels) == 5
    assert result.status.startswith("fwd  0:0 | Back: off | Boost: 0/1 | FPS:")
    assert [e.selected for e in result.layers] == [True] + [False] * (len(result.layers) - 1)


def test_b_makes_back_pane_non_blank_once_the_cursor_is_in_the_grid(make_session):
    session = make_session()
    session.process_pending()
    background = _rgb255(session.settings.window_background)
    result = press(session, "b")
    assert _uniform(result.images["back"]) and (result.images["back"][0, 0] == background).all()  # layer list
    result = press(session, "k")
    assert not _uniform(result.images["back"])
    assert "Back: gradient/raw (from 0_0)" in result.status
    assert result.aux_mode == "unit" and not _uniform(result.images["aux"])


def test_l_moves_the_selection_and_its_border(make_session):
    session = make_session()
    session.process_pending()
    result = press(session, "k", "l")
    assert session.state.selected_unit == 1 and not result.cursor_on_layer_list
    x, y, w, h = result.tile_rects[1]
    left_border = result.images["layers"][y + h // 2, x - 1]
    assert (left_border == _rgb255(session.settings.layer_clr_cursor)).all()
    unselected = result.images["layers"][result.tile_rects[3][1] + 2, result.tile_rects[3][0] - 1]
    assert (unselected == _rgb255(session.settings.window_background)).all()


def test_h_gives_help_lines(make_session):
    session = make_session()
    result = press(session, "h")
    assert result.help_lines == tuple(help_rows(methods=session.info.back_methods))
    assert press(session, "h").help_lines is None


def test_unbound_key_and_quit(make_session):
    session = make_session()
    assert not session.handle_key("F13")
    assert session.handle_key("q") and session.should_quit


def test_a_shows_back_diffs_with_sign_colours(make_session):
    session = make_session()
    result = press(session, "k", "a")
    assert result.status.startswith("back  ")
    image = result.images["layers"]
    x, y, w, h = result.tile_rects[0]
    tile = image[y:y + h, x:x + w].reshape(-1, 3).astype(int)
    assert (tile[:, 2] == 0).all() and (tile[:, :2].sum(axis=1) > 0).any()   # red/green only
    pad = image[y - 1, x + w // 2] if result.tile_rects[0] != result.tile_rects[session.state.selected_unit] else \
        image[result.tile_rects[2][1] - 1, result.tile_rects[2][0] + 1]
    assert (pad == _rgb255(session.settings.layer_clr_back_background)).all()


def test_click_and_hover_select_units(make_session):
    session = make_session()
    result = press(session)
    x, y, w, h = result.tile_rects[3]
    assert session.hover_text(x + w / 2, y + h / 2).startswith("unit 3  max ")
    session.click("layers", x + w / 2, y + h / 2)
    assert (session.state.cursor_area, session.state.selected_unit) == ("bottom", 3)
    session.click("control", 6, 0)
    session.process_pending()
    assert session.state.layer_idx == 6
    result = session.latest_result()
    assert session.hover_text(*result.tile_rects[2][:2]).endswith("  2")   # output layer: label "2"


def test_hover_names_each_units_largest_activation_in_the_frame_shown(make_session):
    session = make_session()
    result = press(session, "k")
    layer = session.info.layers[session.state.layer_idx]
    x = session.loaded.preprocessor.to_tensor(sample_image("chelsea"))
    with torch.no_grad():
        expected = forward_until(session.loaded.module, x, [layer])[layer][0]
    for unit in range(4):
        left, top, width, height = result.tile_rects[unit]
        text = session.hover_text(left + width / 2, top + height / 2)
        assert re.fullmatch(rf"unit {unit}  max (-?[0-9.]+)", text), text
        assert float(text.split()[-1]) == pytest.approx(float(expected[unit].max()), abs=0.006)


def test_attribution_method_in_the_back_pane(make_session):
    session = make_session()
    result = press(session, "k", "b", "B")      # previous of gradient: the last attribution method
    assert session.state.back_method == METHOD_NAMES[-1] and not get_method(METHOD_NAMES[-1]).is_backprop
    assert not _uniform(result.images["back"]) and result.error is None


def test_zoom_and_pattern_without_images(make_session):
    session = make_session()
    result = press(session, "k", "z")
    assert result.tile_rects == () and not _uniform(result.images["layers"])
    result = press(session, "z", "s")
    assert result.status.startswith("pattern") and "no pattern images" in result.message


def test_bad_file_gives_a_message_and_keeps_running(make_session, tmp_path):
    image = sample_image("chelsea")
    write_image(tmp_path / "a.png", image)
    (tmp_path / "b.png").write_bytes(b"not an image at all")
    write_image(tmp_path / "c.png", image[::-1])
    session = make_session(str(tmp_path))
    session.process_pending()
    session.handle_key("e")
    deadline = time.monotonic() + 30
    while "c.png" not in session.inputs.latest().name and time.monotonic() < deadline:
        time.sleep(0.02)
    session.process_pending()
    result = session.latest_result()
    assert "b.png" in result.message and "b.png" in result.status
    assert not _uniform(result.images["input"])


def test_compute_error_becomes_a_message(make_session, monkeypatch, caplog):
    session = make_session()
    session.process_pending()
    original = session.engine.forward
    monkeypatch.setattr(session.engine, "forward", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with caplog.at_level(logging.ERROR, logger="deepvis.worker"):
        result = press(session, "0")
    assert result.error == "RuntimeError: boom" and "boom" in result.message and "boom" in result.status
    assert "input" in result.images                                    # previous images kept
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records if r.name == "deepvis.worker")
    monkeypatch.setattr(session.engine, "forward", original)
    result = press(session, "0")                                       # the next request runs
    assert result.error is None and result.generation == session.generation and "input" not in result.stale


def test_real_thread_on_the_default_model(make_session):
    loaded = load_model(load_settings().settings.replace(unit_images_on_demand=False))
    session = make_session(sync=False, loaded=loaded)
    ready = threading.Event()
    session.set_on_result(ready.set)
    session.start()

    def wait_for(predicate) -> bool:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            result = session.latest_result()
            if result is not None and predicate(result):
                return True
            ready.wait(0.2)
            ready.clear()
        return False

    assert wait_for(lambda r: "input" in r.images), "no result with a frame from the compute thread"
    first = session.latest_result()
    assert first.grid_shape == (6, 6) and first.top_labels[0][0] in ("Egyptian cat", "tabby", "tiger cat")
    session.handle_key("o")
    assert wait_for(lambda r: r.generation > first.generation and r.layers[1].selected)
    session.stop()
    assert not session.pipeline.alive()


def test_input_keys_reach_the_inputs(make_session):
    session = make_session()
    session.process_pending()
    first = session.inputs.latest().name
    result = press(session, "c")
    assert "camera 0" in result.message   # no camera configured: the original's device 0 is tried
    assert session.inputs.mode == "camera"
    press(session, "e")                    # e/w leave camera mode first, back on the same file
    assert session.inputs.mode != "camera"
    session.handle_key("e")
    deadline = time.monotonic() + 30
    while session.inputs.latest().name == first and time.monotonic() < deadline:
        time.sleep(0.02)
    session.process_pending()
    assert session.inputs.latest().name != first and session.latest_result().top_labels


@pytest.mark.parametrize("method", ["gradient", "deconv", "guided"])
def test_engine_backward_matches_backprop_from_unit(tiny_loaded, method):
    """The retained-graph backward of the worker equals the backprop package's own entry point."""
    from deepvis_app.core.app.engine import ComputeEngine
    from deepvis_app.core.methods.backprop import backprop_from_unit
    from deepvis_app.core.methods.registry import get_method

    engine = ComputeEngine(tiny_loaded)
    image = sample_image("coffee")
    fwd = engine.forward(1, image, False, method)
    for origin, unit, view in (("3", 5, "0"), ("7", 2, "3"), ("4", 1, None)):
        back = engine.backward(fwd, get_method(method), origin, unit, view)
        reference = backprop_from_unit(tiny_loaded.module, fwd.x, origin, unit, method=method,
                                       grad_layers=[view] if view else [])
        np.testing.assert_allclose(back.input_grad, reference.input_grad[0].numpy(), rtol=1e-5, atol=1e-7)
        if view:
            np.testing.assert_allclose(back.layer_grad, reference.layer_grads[view][0].numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(fwd.activation(origin), reference.activations[origin][0].numpy(), rtol=1e-6)
    assert engine.forward(1, image, False, method) is fwd            # cached: same frame, same rule
    assert engine.forward(2, image, False, method) is not fwd        # new frame: forward reruns


def test_pattern_mode_and_unit_images_from_disk(tiny_loaded, tmp_path):
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout

    layout = UnitVisLayout(tmp_path)
    colors = [np.full((24, 24, 3), (30 * i, 255 - 30 * i, 128), np.uint8) for i in range(8)]
    layout.write_sprite("0", colors)
    layout.write_unit_image("max_im", "0", 1, np.full((60, 60, 3), 200, np.uint8))
    settings = tiny_loaded.settings.replace(unit_vis_dir=str(tmp_path))
    session = Session(tiny_loaded, settings, InputManager(settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        result = press(session, "s")
        assert result.status.startswith("pattern") and "layers" not in result.stale
        for unit in (0, 5):
            x, y, w, h = result.tile_rects[unit]
            centre = result.images["layers"][y + h // 2, x + w // 2].astype(int)
            assert np.abs(centre - (30 * unit, 255 - 30 * unit, 128)).max() <= 12   # JPEG
        result = press(session, "k", "l")
        pane = result.images["unit_images"]
        assert "unit_images" not in result.stale and (np.abs(pane.astype(int) - 200).max(axis=2) <= 8).any()
        result = press(session, "l")
        pane = result.images["unit_images"]                # unit 2: nothing on disk, labelled placeholders
        assert not (np.abs(pane.astype(int) - 200).max(axis=2) <= 8).any() and not _uniform(pane)
    finally:
        session.stop()


def _results(session: Session) -> list:
    """Every Result the session delivers from now on, partial ones included."""
    seen: list = []
    session.set_on_result(lambda: seen.append(session.latest_result()))
    return seen


def _select_method(session: Session, method: str) -> None:
    while session.state.back_method != method:
        session.handle_key("N")


def test_occlusion_sends_partial_maps_keeps_the_unit_pane_and_ends_with_the_direct_map(tiny_loaded, tmp_path):
    from deepvis_app.core.methods.registry import attribute
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout

    UnitVisLayout(tmp_path).write_unit_image("max_im", "0", 0, np.full((60, 60, 3), 200, np.uint8))
    options = {"window": 4, "stride": 2, "perturbations_per_eval": 8}
    settings = tiny_loaded.settings.replace(unit_vis_dir=str(tmp_path), method_options={"occlusion": options})
    session = Session(tiny_loaded, settings, InputManager(settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        press(session, "k", "b")
        seen = _results(session)
        _select_method(session, "occlusion")
        partial = [r for r in seen if r.progress is not None and r.generation == session.generation]
        final = session.latest_result()
        assert partial and all(r.progress.method == "occlusion" and r.progress.fraction < 1 for r in partial)
        assert "back" in partial[0].stale and "occlusion 0%" in partial[0].status
        maps = [r for r in partial if not _uniform(r.images["back"])]
        assert maps, "no partial map (the coarse one) before the final"
        for result in partial:                      # the per-unit pane keeps its images meanwhile
            assert "unit_images" not in result.stale
            assert (np.abs(result.images["unit_images"].astype(int) - 200).max(axis=2) <= 8).any()
        assert final.progress is None and "back" not in final.stale and seen.index(final) > seen.index(maps[0])
        forward = session.engine.last_forward
        direct = attribute(tiny_loaded.module, forward.x, "occlusion", layer="0", unit=0, **options)
        np.testing.assert_array_equal(session.engine._back.input_grad, direct[0].numpy())
    finally:
        session.stop()


def test_the_status_names_the_input_and_shows_zoom_and_colormap(make_session):
    session = make_session()
    result = press(session)
    assert "sample:chelsea (1 of 7)" in result.status
    seq = session.inputs.latest().seq
    session.handle_key("e")
    assert session.inputs.wait_for_frame(after_seq=seq, timeout=30) is not None
    result = press(session, "k", "z", "b", "v", "v", "v", "v")
    assert "(2 of 7)" in result.status and "zoom: unit" in result.status
    assert session.state.back_view == "overlay" and f"/overlay:{session.state.colormap} " in result.status
    result = press(session, "M")
    assert f"/overlay:{session.state.colormap} " in result.status and session.state.colormap != "gray"


def _write_video(path: Path, frames: int = 40) -> Path:
    image = cv2.cvtColor(sample_image("chelsea"), cv2.COLOR_RGB2BGR)[:96, :128]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (128, 96))
    for index in range(frames):
        writer.write(np.ascontiguousarray(np.roll(image, index, axis=1)))
    writer.release()
    return path


def test_the_status_gives_the_video_frame_number_and_frozen(make_session, tmp_path):
    session = make_session(str(_write_video(tmp_path / "pan.avi")))
    result = press(session)
    assert re.search(r"pan\.avi #\d+ \|", result.status)   # the frame shown (a newer one may be current)
    result = press(session, "f")
    assert session.inputs.frozen and f"{session.inputs.latest().name} frozen" in result.status


def test_a_message_does_not_stay_forever(make_session, monkeypatch):
    from deepvis_app.core.base import notices as notices_module

    monkeypatch.setattr(notices_module, "MESSAGE_SHOWN_S", 0.2)
    session = make_session()
    result = press(session, "c")
    assert "camera 0" in result.message and "camera 0" in result.status
    # the camera thread reports the missing camera 0 once (then only logs it): wait for that report, then
    # for the message to expire (it came when it came: timing the expiry from "c" raced with it)
    deadline = time.monotonic() + DEADLINE_S
    while "not found" not in (press(session).message or "") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "camera 0: not found" in session.latest_result().message
    time.sleep(1.0)
    result = press(session, "t")
    assert result.message is None and "camera 0" not in result.status


def test_a_unit_without_an_optimized_image_gets_a_placeholder_not_a_black_tile(tiny_loaded, tmp_path):
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout

    tiles = [np.full((24, 24, 3), 90 + 20 * i, np.uint8) for i in range(8)]
    tiles[1] = np.zeros((24, 24, 3), np.uint8)               # unit 1 was never optimized
    UnitVisLayout(tmp_path).write_sprite("0", tiles)
    settings = tiny_loaded.settings.replace(unit_vis_dir=str(tmp_path))
    session = Session(tiny_loaded, settings, InputManager(settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        result = press(session, "s")
        x, y, w, h = result.tile_rects[1]
        tile = result.images["layers"][y:y + h, x:x + w].astype(int)
        assert tile.max() > 60 and not _uniform(result.images["layers"][y:y + h, x:x + w])   # drawn, labelled
        x, y, w, h = result.tile_rects[2]
        assert np.abs(result.images["layers"][y + h // 2, x + w // 2].astype(int) - 130).max() <= 12
    finally:
        session.stop()


class _Gate(nn.Module):
    """Blocks the compute thread's forward while armed, until released (a slow batch, on demand)."""

    def __init__(self):
        super().__init__()
        self.armed = False
        self.entered, self.release = threading.Event(), threading.Event()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.armed and threading.current_thread().name == "deepvis-compute":
            self.entered.set()
            self.release.wait(DEADLINE_S)
        return x


def test_a_key_abandons_a_running_occlusion_whose_map_is_never_delivered(tiny_loaded, make_session, caplog):
    gate = _Gate()
    module = nn.Sequential(*list(tiny_loaded.module.children())[:2], gate, *list(tiny_loaded.module.children())[2:])
    loaded = dataclasses.replace(tiny_loaded, module=module.eval())
    session = Session(loaded, loaded.settings.replace(method_options={"occlusion": {"window": 8, "stride": 8}}),
                      InputManager(loaded.settings, "sample:chelsea"))
    seen = _results(session)
    ready = threading.Event()
    session.set_on_result(lambda: (seen.append(session.latest_result()), ready.set()))

    def settled(**wanted) -> Result:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            result = session.latest_result()
            if result is not None and result.generation == session.generation and result.progress is None \
                    and "input" in result.images:
                return result
            ready.wait(0.1)
            ready.clear()
        pytest.fail("no settled result")
    try:
        session.start()
        settled()
        session.handle_key("k")
        session.handle_key("b")
        settled()
        _select_method(session, METHOD_NAMES[METHOD_NAMES.index("occlusion") + 1])   # the method after it
        settled()
        gate.armed = True
        with caplog.at_level(logging.DEBUG, logger="deepvis.worker"):
            session.handle_key("B")                                    # back to occlusion
            assert session.state.back_method == "occlusion"
            occlusion_generation = session.generation
            assert gate.entered.wait(DEADLINE_S), "occlusion never reached the model"
            session.handle_key("l")                                    # a new unit: a new job
            gate.armed = False
            gate.release.set()
            final = settled()
        assert final.generation > occlusion_generation and "back" not in final.stale
        assert not [r for r in seen if r.generation == occlusion_generation and r.progress is None]
        assert any("superseded" in r.getMessage() for r in caplog.records if r.name == "deepvis.worker")
    finally:
        session.stop()


class _CountingInputs(InputManager):
    """An InputManager that counts how often the session looks at its latest frame (taken or peeked)."""

    looks = 0

    def latest(self):
        type(self).looks += 1
        return super().latest()

    def peek(self):
        type(self).looks += 1
        return super().peek()


def test_the_compute_thread_sleeps_while_idle_and_wakes_on_a_new_frame(tiny_loaded):
    inputs = _CountingInputs(tiny_loaded.settings, "sample:chelsea")
    session = Session(tiny_loaded, tiny_loaded.settings, inputs)
    ready = threading.Event()
    session.set_on_result(ready.set)
    try:
        session.start()
        deadline = time.monotonic() + DEADLINE_S
        while "chelsea" not in getattr(session.latest_result(), "status", "") and time.monotonic() < deadline:
            ready.wait(0.1)
        first = session.latest_result()
        time.sleep(0.2)
        looks = _CountingInputs.looks
        time.sleep(0.5)
        assert _CountingInputs.looks == looks              # no polling while idle
        inputs.next_file()                                 # a new frame, no new request
        while "(2 of 7)" not in session.latest_result().status and time.monotonic() < deadline:
            ready.wait(0.1)
            ready.clear()
        result = session.latest_result()
        assert "(2 of 7)" in result.status and result.generation == first.generation
    finally:
        session.stop()


def test_on_video_a_slow_method_finishes_its_frame_and_says_newer_frames_wait(tiny_loaded, tmp_path):
    settings = tiny_loaded.settings.replace(
        method_options={"occlusion": {"window": 1, "stride": 1, "perturbations_per_eval": 1}})
    session = Session(tiny_loaded, settings, InputManager(settings, str(_write_video(tmp_path / "v.avi"))), sync=True)
    session.start()
    try:
        press(session, "k", "b")
        seen = _results(session)
        _select_method(session, "occlusion")
        behind = [r for r in seen if r.progress is not None and r.progress.frame]
        assert behind, "the video never got ahead of a 1024-forward occlusion"
        assert re.search(r"occlusion \d+% [\d.]+ s on v\.avi #\d+ \(newer frames wait\)", behind[-1].status)
        assert session.latest_result().progress is None   # it finished on its frame, never abandoned
    finally:
        session.stop()


def _grid_of_last_layer(session: Session, unit: int):
    session.select_layer(len(session.info.layers) - 1)
    press(session, "k")
    return press(session, *["l"] * unit)


def test_a_label_layer_unit_shows_its_class_and_probability_in_the_aux_pane(make_session):
    """The output layer is a label layer by default: its selected unit's class and the probability
    the engine's classifier (torch softmax, `classify.top_classes`) gives it for this input."""
    session = make_session()
    session.process_pending()
    best_label, best_prob = session.latest_result().top_labels[0]
    second_label, second_prob = session.latest_result().top_labels[1]
    result = _grid_of_last_layer(session, int(second_label))      # unlabelled model: label == index
    assert result.aux_mode == "class" and result.top_labels == ()
    (label, value), (detail, _), (score, _) = result.text["aux"]    # the score line: `r`
    assert label == second_label and value == pytest.approx(second_prob, abs=1e-6)
    assert detail == f"unit {second_label}  p = {second_prob:.2f}"
    logits = session.engine.last_forward.activation(session.info.layers[-1])
    assert score == f"act: {float(logits[int(second_label)]):.4g}"
    assert session.hover_text(*result.tile_rects[0][:2]).endswith("  0")
    step = int(best_label) - int(second_label)
    result = press(session, *(["l"] * step if step > 0 else ["j"] * -step))
    assert result.text["aux"][0] == (best_label, pytest.approx(best_prob, abs=1e-6))


def test_label_layers_setting_chooses_the_layers_and_names_unknown_ones(make_session, tiny_loaded):
    loaded = dataclasses.replace(tiny_loaded, settings=tiny_loaded.settings.replace(label_layers=()))
    session = make_session(loaded=loaded)
    result = _grid_of_last_layer(session, 1)
    assert result.aux_mode == "unit" and result.text["aux"][0][0].startswith("act: ")   # the unit's score
    bad = dataclasses.replace(tiny_loaded, settings=tiny_loaded.settings.replace(label_layers=("nope",)))
    with pytest.raises(LabelLayerError, match="label_layers: unknown layer.*'nope'.*layers:"):
        label_layers(bad)


def test_faithfulness_of_the_back_map_is_in_the_status_line(make_session):
    """F: the deletion / insertion AUC of the map just shown, equal to RISE's curves of that map."""
    import re as _re

    import torch

    from deepvis_app.core.app.engine import FAITHFULNESS_STEPS
    from deepvis_app.core.methods.attribution.faithfulness import deletion_insertion
    from deepvis_app.core.methods.attribution.objective import make_objective

    session = make_session()
    result = press(session, "k", "b")
    assert "AUC" not in result.status
    result = press(session, "F")
    found = _re.search(r"deletion AUC ([-\d.e]+), insertion AUC ([-\d.e]+)", result.status)
    assert found, result.status
    engine, state = session.engine, session.state
    fwd = engine.last_forward
    origin = session.info.layers[state.backprop_layer]
    saliency = torch.from_numpy(engine._back.input_grad)[None]
    objective = make_objective(session.loaded.module, fwd.x, None, origin, state.backprop_unit)
    curves = deletion_insertion(session.loaded.module, fwd.x, objective, saliency, steps=FAITHFULNESS_STEPS)
    # the status shows 3 significant digits
    assert float(found.group(1)) == pytest.approx(float(curves.deletion_auc[0]), rel=5e-3, abs=1e-3)
    assert float(found.group(2)) == pytest.approx(float(curves.insertion_auc[0]), rel=5e-3, abs=1e-3)
    assert "AUC" not in press(session, "F").status


def test_the_next_frame_is_computed_while_the_last_one_is_drawn(make_session, tmp_path, monkeypatch):
    """Drawing runs on its own thread: a slow drawing does not hold up the next frame's forward."""
    import deepvis_app.core.app.render_result as render_module

    video = tmp_path / "pan.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 64))
    for index in range(30):
        writer.write(np.full((64, 96, 3), 8 * index, np.uint8))
    writer.release()
    real_render, release, drawing = render_module.render_panes, threading.Event(), threading.Event()
    render_threads: set[str] = set()

    held: list[int] = []

    def held_render(data, *args, **kwargs):
        render_threads.add(threading.current_thread().name)
        if not held and data.frame_seq is not None:
            held.append(data.frame_seq)
            drawing.set()
            assert release.wait(DEADLINE_S)
        return real_render(data, *args, **kwargs)

    monkeypatch.setattr(render_module, "render_panes", held_render)
    session = make_session(str(video), sync=False)
    session.start()
    try:
        assert drawing.wait(DEADLINE_S), "nothing was drawn"
        deadline = time.monotonic() + DEADLINE_S
        while (forward := session.engine.last_forward) is None or forward.key[0] <= held[0]:
            assert time.monotonic() < deadline, "no forward of a newer frame while the drawing was held"
            time.sleep(0.02)
    finally:
        release.set()
    deadline = time.monotonic() + DEADLINE_S
    while (result := session.latest_result()) is None or (result.frame_seq or 0) <= held[0]:
        assert time.monotonic() < deadline, "the newer frame was never shown"
        time.sleep(0.02)
    assert render_threads == {"deepvis-render"}
    session.stop()


def test_a_list_files_label_is_the_ground_truth_in_the_status(make_session, tiny_loaded, tmp_path):
    """The original's image-list line `image label` (arik's GT label): a class index is named."""
    listing = tmp_path / "list.txt"
    listing.write_text("sample:chelsea 1\nsample:coffee a-mug\nsample:rocket\n")
    named = dataclasses.replace(tiny_loaded, labels=["zero", "one", "two"])
    session = make_session(str(listing), loaded=named)
    session.process_pending()
    assert "sample:chelsea (1 of 3) (GT: 1 one)" in press(session).status
    for name, truth in (("sample:coffee", "(GT: a-mug)"), ("sample:rocket", "")):
        session.handle_key("e")
        deadline = time.monotonic() + 30
        while session.inputs.latest().name != name and time.monotonic() < deadline:
            time.sleep(0.02)
        status = press(session).status
        assert f"{name} ({2 if truth else 3} of 3){' ' + truth if truth else ' |'}" in status, status


def test_r_toggles_the_selected_units_score_over_the_aux_pane(make_session):
    """arik's score overlay: the selected unit's activation (its map's largest value), or its back diff's
    largest magnitude when the grid shows diffs; `r` hides it."""
    session = make_session()
    session.process_pending()
    result = press(session, "k", "l", "l")               # into the grid, unit 2
    activations = session.engine.last_forward.activation(session.info.layers[session.state.layer_idx])
    assert result.aux_mode == "unit"
    assert result.text["aux"] == ((f"act max: {float(activations[2].max()):.4g}", 1.0),)
    assert press(session, "r").text["aux"] == ()
    assert press(session, "r").text["aux"][0][0].startswith("act max: ")
    result = press(session, "b", "a")                    # back on, the grid shows the back diffs
    diffs = session.engine._back.layer_grad
    assert result.text["aux"] == ((f"grad max: {float(abs(diffs[2]).max()):.4g}", 1.0),)
