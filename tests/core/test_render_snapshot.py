"""The status line and the panes of a Result describe the same frame, and the drawing is a pure function.

The render thread used to read the inputs' latest frame when it wrote the status line, so a frame
that arrived while a picture was being drawn was named under the previous frame's pixels. Here the
source moves on during every drawing (the drawing waits for it), and each picture's status must still
name the file whose pixels its input pane shows.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from deepvis_app.core.app import render_result as render_module
from deepvis_app.core.app.render import PaneData
from deepvis_app.core.app.render_result import RenderSetup, Request, render_result
from deepvis_app.core.app.state import ModelInfo, initial_state
from deepvis_app.core.app.status import Snapshot, StatusInput
from deepvis_app.io.images import write_image
from tests.helpers.waiting import wait_until

COLOURS = [(230, 20, 20), (20, 200, 40), (30, 40, 220), (240, 220, 30), (160, 30, 200)]
NAMED = re.compile(r" \| (f\d\.png) \((\d) of 5\)")


def _folder(tmp_path):
    for index, colour in enumerate(COLOURS):
        write_image(tmp_path / f"f{index}.png", np.full((48, 64, 3), colour, np.uint8))
    return {f"f{index}.png": (index, colour) for index, colour in enumerate(COLOURS)}


def test_the_status_names_the_frame_whose_pixels_the_input_pane_shows(tiny_session, tmp_path, monkeypatch):
    files = _folder(tmp_path)
    real_render, holder, shown = render_module.render_panes, [], []
    done = threading.Event()

    def render_while_the_source_moves_on(data, *args, **kwargs):
        session = holder[0]
        if data.frame_seq is not None and not done.is_set():
            session.inputs.next_file()          # a newer frame becomes current before this one is drawn
            assert session.inputs.wait_for_frame(after_seq=data.frame_seq, timeout=30) is not None
        return real_render(data, *args, **kwargs)

    def on_result():
        result = holder[0].latest_result()
        if result is not None and result.frame_seq is not None and result.error is None:
            shown.append(result)
        if len(shown) >= 6:
            done.set()

    monkeypatch.setattr(render_module, "render_panes", render_while_the_source_moves_on)
    session = tiny_session(sync=False, spec=str(tmp_path), start=False)
    holder.append(session)
    session.set_on_result(on_result)
    session.start()
    wait_until(done.is_set, timeout=60)
    names = set()
    for result in shown:
        found = NAMED.search(result.status)
        assert found, result.status
        index, colour = files[found.group(1)]
        assert int(found.group(2)) == index + 1, result.status
        pane = result.images["input"]
        np.testing.assert_array_equal(pane[pane.shape[0] // 2, pane.shape[1] // 2], colour, err_msg=result.status)
        names.add(found.group(1))
    assert len(names) >= 3, names   # the source did move on between pictures


def test_render_result_reads_only_its_arguments(tiny_loaded):
    """No session, no thread, no source: the snapshot alone says what the status line says of the input."""
    settings = tiny_loaded.settings
    info = ModelInfo.create([(i.name, i.shape[0]) for i in tiny_loaded.layers], settings)
    setup = RenderSetup(info, settings, tuple(tiny_loaded.layers), ())
    frame = np.full((40, 40, 3), 90, np.uint8)
    data = PaneData(frame=frame, frame_seq=7)
    snapshot = Snapshot(input=StatusInput("cat.png", "2 of 3", truth="cat", seq=7), fps=12.5, job="optimizing 3",
                        message="hello")
    result = render_result(setup, Request(4, initial_state(info), ()), data, snapshot)
    assert result.generation == 4 and result.frame_seq == 7 and result.snapshot is snapshot
    assert result.status.endswith("| FPS: 12.5 | cat.png (2 of 3) (GT: cat) | optimizing 3 | hello"), result.status
    assert result.message == "hello"
    assert (result.images["input"][20, 20] == 90).all()
