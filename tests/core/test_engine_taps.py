"""The engine taps only the layers the panes read, and still answers a read of any other layer.

Taps are counted on the real objects: the layers a `ForwardData` holds (what its forward tapped and
cloned) and the model's own forward passes (a forward hook on the model), never a mock of the engine.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepvis_app.core.app.engine import ComputeEngine
from deepvis_app.core.methods.backprop import backprop_from_unit
from deepvis_app.core.methods.registry import get_method
from deepvis_app.core.nn.hooks import capture_activations
from deepvis_app.io.images import sample_image
from tests.helpers.datasets import write_video
from tests.helpers.waiting import next_frame


class ForwardCounter:
    """Counts the model's forward passes through a forward hook on the model itself."""

    def __init__(self, module: torch.nn.Module):
        self.count = 0
        self._handle = module.register_forward_hook(self._hook)

    def _hook(self, *_args) -> None:
        self.count += 1

    def close(self) -> None:
        self._handle.remove()


@pytest.fixture
def forwards(tiny_loaded):
    counter = ForwardCounter(tiny_loaded.module)
    yield counter
    counter.close()


def reference_activations(loaded, x: torch.Tensor) -> dict[str, torch.Tensor]:
    return capture_activations(loaded.module, x, [info.name for info in loaded.layers])[1]


def test_a_new_frame_taps_only_the_layers_read_from_the_last_one(tiny_loaded):
    engine = ComputeEngine(tiny_loaded)
    first = engine.forward(1, sample_image("coffee"), False, None)
    assert set(first.outputs) == set(engine.names)         # nothing read yet: every layer
    first.activation("3")
    second = engine.forward(2, sample_image("chelsea"), False, None)
    assert set(second.outputs) == {"3", tiny_loaded.output_layer}
    second.activation("0")                                  # the user moved to layer 0 on this frame
    third = engine.forward(3, sample_image("coffee"), False, None)
    assert set(third.outputs) == {"0", tiny_loaded.output_layer}   # "3" was not read from the second


def test_a_layer_not_tapped_costs_one_forward_then_every_layer_is_there(tiny_loaded, forwards):
    engine = ComputeEngine(tiny_loaded)
    engine.forward(1, sample_image("coffee"), False, None).activation("3")
    fwd = engine.forward(2, sample_image("chelsea"), False, None)
    before = forwards.count
    reference = reference_activations(tiny_loaded, fwd.x)
    forwards.count = before
    np.testing.assert_allclose(fwd.activation("0"), reference["0"][0].numpy(), rtol=1e-6)
    assert forwards.count == before + 1                     # this frame's forward again, every layer tapped
    for name in engine.names:
        np.testing.assert_allclose(fwd.activation(name), reference[name][0].numpy(), rtol=1e-6)
    assert forwards.count == before + 1                     # the next layer changes are free
    assert engine.forward(2, sample_image("chelsea"), False, None) is fwd


@pytest.mark.parametrize("method", ["gradient", "guided"])
def test_backprop_from_a_layer_not_tapped_without_a_new_frame(tiny_loaded, method):
    """The back pane moved to another origin (and the grid to another layer) on the same frame: the
    backward needs both in the forward's graph, so the forward runs again with its rule."""
    engine = ComputeEngine(tiny_loaded)
    image = sample_image("coffee")
    engine.forward(1, image, False, method).activation("3")
    fwd = engine.forward(2, image, False, method)
    assert "4" not in fwd.outputs and "0" not in fwd.outputs
    back = engine.backward(fwd, get_method(method), "4", 1, "0")
    reference = backprop_from_unit(tiny_loaded.module, fwd.x, "4", 1, method=method, grad_layers=["0"])
    np.testing.assert_allclose(back.input_grad, reference.input_grad[0].numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(back.layer_grad, reference.layer_grads["0"][0].numpy(), rtol=1e-5, atol=1e-7)
    following = engine.forward(3, image, False, method)
    assert set(following.outputs) == {"4", "0", tiny_loaded.output_layer}   # what the backward read


def test_live_video_taps_the_shown_layer_and_the_back_origin_only(tiny_session, tmp_path):
    session = tiny_session(spec=str(write_video(tmp_path / "clip.avi", frames=12, fps=30.0)))
    output = session.loaded.output_layer

    def advance(frames: int = 2):
        frame = session.inputs.latest()
        for _ in range(frames):
            frame = next_frame(session.inputs, frame)
            session.process_pending()
        return session.engine.last_forward

    session.select_layer(3)
    assert set(advance().outputs) == {"3", output}
    for key in ("k", "b"):                                  # into the grid, back on (gradient)
        session.handle_key(key)
    session.handle_key("d")                                 # origin frozen at layer 3's unit
    session.select_layer(1)
    fwd = advance()
    assert session.state.back_what_to_disp() == "normal"
    assert set(fwd.outputs) == {"1", "3", output}
    result = session.latest_result()
    assert result.error is None and "back" not in result.stale
