"""The app (a sync `Session`, no window) on segmentation, detection, embedding and two-input networks.

What the input pane shows is checked on its pixels (the mask's colours, a box's outline), and what a
drag, a click or the pin key change is checked on the back map the session computes, against the map
`attribute` gives for the same objective.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepvis_app.core.imaging.output_overlay import BOX_COLOR, SELECTED_COLOR, class_colors
from deepvis_app.core.methods.registry import attribute
from deepvis_app.core.nn.outputs import HEAD_NAME, Region, head_or_plain
from tests.helpers import output_models
from tests.helpers.output_models import load_kind
from tests.helpers.waiting import wait_until


def _back_on(session):
    """Back mode on with the plain gradient, cursor in the grid."""
    for key in ("b", "k"):
        session.handle_key(key)
    return session.latest_result()


def test_a_drag_on_the_input_sets_the_region_and_the_map_follows_it(tiny_session):
    loaded = load_kind(output_models.segmentation, input_size=(64, 64))
    session = tiny_session(loaded=loaded, spec="sample:chelsea")
    session.set_pane_sizes({"input": (128, 128)})
    first = session.latest_result()
    assert first.input_scale == pytest.approx(2.0)
    assert "output out (dense): drag on the input" in first.status
    colors = class_colors(5)
    pixels = first.images["input"].reshape(-1, 3).astype(int)
    predicted = head_or_plain(loaded.module).predicted_classes()
    tint = colors[int(np.bincount(predicted.ravel()).argmax())].astype(int)
    assert np.abs(pixels - tint).sum(1).min() < np.abs(pixels - (tint + 80) % 256).sum(1).min()   # the mask shows

    session.drag("input", 16, 16, 96, 80)                   # pane pixels: input box (8, 8, 48, 40)
    state = session.state
    assert state.target_region == (8, 8, 48, 40)
    assert session.info.layers[state.layer_idx] == HEAD_NAME and state.in_grid
    result = _back_on(session)
    assert (result.images["input"][16:18, 16:96] == (255, 220, 0)).all(axis=-1).any()   # the region's outline
    back = session.engine.last_forward
    head = head_or_plain(loaded.module)
    head.region = Region(box=(8, 8, 48, 40))
    try:
        expected = attribute(loaded.module, back.x, "gradient", layer=HEAD_NAME, unit=session.state.selected_unit)
    finally:
        head.region = None
    shown = session.engine._back.input_grad     # the map the back pane was drawn from
    activation = float(session.engine.last_forward.activation(HEAD_NAME)[session.state.selected_unit])
    np.testing.assert_allclose(shown, activation * expected[0].numpy(), rtol=1e-4,
                               atol=1e-6 * float(np.abs(shown).max()))

    session.drag("input", 10, 10, 11, 11)                   # a tiny drag clears it
    assert session.state.target_region is None


@pytest.mark.slow
def test_detections_are_outlined_and_a_click_on_one_selects_its_unit(tiny_session):
    loaded = load_kind(output_models.detection, input_size=(128, 128), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    session = tiny_session(loaded=loaded, spec="sample:coffee")
    session.set_pane_sizes({"input": (128, 128)})
    result = session.latest_result()
    assert result.overlay is not None and len(result.overlay.boxes) >= 2
    image = result.images["input"]
    assert (image == BOX_COLOR).all(axis=-1).sum() > 50
    unit, box, _ = result.overlay.boxes[1]
    inside = [b for b in result.overlay.boxes if b[1][0] <= box[0] + 1 <= b[1][2] and b[1][1] <= box[1] + 1 <= b[1][3]]
    target = min(inside, key=lambda b: (b[1][2] - b[1][0]) * (b[1][3] - b[1][1]))[0]
    session.click("input", box[0] + 1, box[1] + 1)
    assert session.info.layers[session.state.layer_idx] == HEAD_NAME
    assert session.state.selected_unit == target
    result = session.latest_result()
    assert (result.images["input"] == SELECTED_COLOR).all(axis=-1).sum() > 20


def test_the_pin_key_makes_the_frame_the_reference_of_an_embedding(tiny_session, tmp_path):
    from skimage import data
    from skimage.io import imsave

    imsave(tmp_path / "a.png", data.chelsea())
    imsave(tmp_path / "b.png", data.coffee())
    loaded = load_kind(output_models.embedding, input_size=(32, 32))
    session = tiny_session(loaded=loaded, spec=str(tmp_path))
    head = head_or_plain(loaded.module)
    assert session.latest_result().top_labels[0][0] == "no reference to compare with"
    session.handle_key("P")
    assert head.reference_embedding is not None
    label, similarity = session.latest_result().top_labels[0]
    assert label == "similarity to the reference" and similarity == pytest.approx(1.0, abs=1e-5)
    pinned = head.reference_embedding.clone()
    first = session.inputs.latest().name
    session.handle_key("e")                                # the next image: the same reference
    wait_until(lambda: session.inputs.latest().name != first)
    session.process_pending()
    assert torch.equal(head.reference_embedding, pinned)
    assert session.latest_result().top_labels[0][1] < 0.9999
    session.handle_key("P")                                # unpinned
    assert head.reference_embedding is None


def test_a_pair_shows_both_images_and_a_map_on_each(tiny_session):
    loaded = load_kind(output_models.siamese, input_size=(16, 16), two_inputs="arguments")
    session = tiny_session(loaded=loaded, spec="sample:chelsea")
    session.set_pane_sizes({"input": (64, 64), "back": (64, 64)})
    result = session.latest_result()
    fitted = session.engine.last_forward.fitted
    assert fitted.shape == (16, 32, 3)
    assert result.images["input"][:32].std() > 0 and result.input_scale == pytest.approx(2.0)
    session.select_layer(len(session.info.layers) - 1)      # the output: both images reach it
    for key in ("k", "b"):
        session.handle_key(key)
    grad = session.engine._back.input_grad
    assert grad.shape == (6, 16, 16) and np.abs(grad[:3]).max() > 0 and np.abs(grad[3:]).max() > 0
    both = session.latest_result().images["back"].copy()
    background = np.rint(np.asarray(loaded.settings.window_background) * 255)
    assert (both[:32] != background).any(axis=-1).all(), "both maps, side by side: the pane's top half"
    assert (both[33:] == background).all(), "a 2:1 picture leaves the square pane's lower half empty"
    session.handle_key("1")                                 # the first image only
    first = session.latest_result().images["back"]
    assert session.state.pair_view == "first" and not np.array_equal(first, both)
    assert (first[40:] != background).any(axis=-1).mean() > 0.9, "one square map fills the pane"


def test_the_similar_to_setting_is_the_reference_from_the_start(tiny_session):
    loaded = load_kind(output_models.embedding, input_size=(32, 32), similar_to="sample:coffee")
    session = tiny_session(loaded=loaded, spec="sample:chelsea")
    label, similarity = session.latest_result().top_labels[0]
    bare = output_models.embedding().eval()
    pre = loaded.preprocessor
    from deepvis_app.io.images import load_input

    with torch.no_grad():
        a = bare(pre.to_tensor(load_input("sample:coffee", None)))["image_embeds"][0]
        b = bare(pre.to_tensor(load_input("sample:chelsea", None)))["image_embeds"][0]
    assert label == "similarity to the reference"
    assert similarity == pytest.approx(float(torch.nn.functional.cosine_similarity(a, b, dim=0)), abs=1e-5)
    session.handle_key("P")
    session.handle_key("P")                                 # unpinned: back to the setting's image
    assert session.latest_result().top_labels[0][1] == pytest.approx(similarity, abs=1e-6)


@pytest.mark.slow
def test_each_frame_is_measured_against_its_own_predicted_pixels():
    """The forward records the frame's prediction as the reference: a reference left by an earlier
    explanation of another image (an attribution's `prepare`) is not used for the next frame."""
    from deepvis_app.core.app.engine import ComputeEngine
    from deepvis_app.core.methods.registry import get_method
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.core.nn.outputs import prepare
    from deepvis_app.io.images import load_input
    from deepvis_app.settings.loader import load_settings

    loaded = load_model(load_settings("efficientnet_lite0_dense").settings)   # trained: the two predictions differ
    engine = ComputeEngine(loaded)
    first, second = load_input("sample:coffee", None), load_input("sample:chelsea", None)
    prepare(loaded.module, loaded.preprocessor.to_tensor(first))          # an explanation of the first image
    fwd = engine.forward(2, second, False, "gradient")
    unit = int(np.argmax(np.bincount(head_or_plain(loaded.module).predicted_classes().ravel())))
    back = engine.backward(fwd, get_method("gradient"), HEAD_NAME, unit, None)
    x = loaded.preprocessor.to_tensor(second)
    expected = attribute(loaded.module, x, "gradient", layer=HEAD_NAME, unit=unit)[0].numpy()
    with torch.no_grad():
        activation = float(loaded.module(x)[0, unit])      # the class summed over the second image's own pixels
    assert activation != 0 and np.abs(expected).max() > 0
    np.testing.assert_allclose(back.input_grad, activation * expected, rtol=1e-4,
                               atol=1e-6 * float(np.abs(back.input_grad).max()))
