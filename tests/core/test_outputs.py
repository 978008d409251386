"""Outputs that are not class scores, explained as pytorch-grad-cam's targets explain them.

Each test loads a network as the app does (the output head installed) and compares a method's map with
the same map computed by autograd or pytorch-grad-cam on a bare copy of the network (same weights, no
deepvis hooks), with the oracle's own target: ``SemanticSegmentationTarget``,
``FasterRCNNBoxScoreTarget``, ``SimilarityToConceptTarget``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import FasterRCNNBoxScoreTarget, SemanticSegmentationTarget

from deepvis_app.core.methods.registry import attribute
from deepvis_app.core.nn.outputs import HEAD_NAME, OutputError, Region, head_or_plain, pick_output
from tests.helpers import output_models
from tests.helpers.output_models import load_kind


class SimilarityToConceptTarget:
    """pytorch-grad-cam's embedding target, as its "Pixel Attribution for embeddings" tutorial defines it
    (the package does not ship it): the cosine similarity of one image's output to a concept's features."""

    def __init__(self, features: torch.Tensor):
        self.features = features

    def __call__(self, model_output: torch.Tensor) -> torch.Tensor:
        return torch.nn.CosineSimilarity(dim=0)(model_output, self.features)


def _input(shape, seed=1):
    torch.manual_seed(seed)
    return torch.rand(shape)


def _grad(value: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    (grad,) = torch.autograd.grad(value.sum(), x)
    return grad


@pytest.fixture(scope="module")
def segmentation():
    return load_kind(output_models.segmentation, input_size=(64, 64))


def _bare_segmentation():
    bare = output_models.segmentation().eval()
    return lambda x: bare(x)["out"], bare


def _predicted_class(loaded, x) -> int:
    """A class the clean input predicts on some pixels (so its mask is not empty)."""
    head_or_plain(loaded.module).prepare(loaded.module, x)
    classes = head_or_plain(loaded.module).predicted_classes()
    values, counts = np.unique(classes, return_counts=True)
    return int(values[counts.argmax()])


def test_segmentation_class_over_its_predicted_pixels_is_semantic_segmentation_target(segmentation):
    x = _input((1, 3, 64, 64))
    k = _predicted_class(segmentation, x)
    ours = attribute(segmentation.module, x, "gradient", target=k)
    forward, _ = _bare_segmentation()
    leaf = x.clone().requires_grad_(True)
    out = forward(leaf)[0]
    mask = (out.detach().argmax(0) == k).float().numpy()
    expected = _grad(SemanticSegmentationTarget(k, mask)(out), leaf)
    assert float(expected.abs().max()) > 0
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6 * float(expected.abs().max()))


def test_segmentation_region_box_is_the_target_with_that_mask(segmentation):
    x = _input((1, 3, 64, 64), seed=2)
    head_or_plain(segmentation.module).region = Region(box=(8, 16, 40, 48))
    try:
        ours = attribute(segmentation.module, x, "gradient", target=3)
    finally:
        head_or_plain(segmentation.module).region = None
    forward, _ = _bare_segmentation()
    leaf = x.clone().requires_grad_(True)
    out = forward(leaf)[0]
    mask = np.zeros(out.shape[-2:], np.float32)
    mask[16:48, 8:40] = 1
    expected = _grad(SemanticSegmentationTarget(3, mask)(out), leaf)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6 * float(expected.abs().max()))


def test_segmentation_gradcam_equals_pytorch_grad_cam(segmentation):
    x = _input((1, 3, 64, 64), seed=3)
    k = _predicted_class(segmentation, x)
    ours = attribute(segmentation.module, x, "gradcam", target=k, layer="backbone.16")[0, 0]
    forward, bare = _bare_segmentation()
    mask = (forward(x)[0].detach().argmax(0) == k).float().numpy()

    class Out(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = bare

        def forward(self, x):
            return self.net(x)["out"]

    wrapper = Out()
    with GradCAM(model=wrapper, target_layers=[bare.backbone["16"]]) as cam:
        expected = cam(input_tensor=x, targets=[SemanticSegmentationTarget(k, mask)])[0]
    ours_np = ours.numpy()
    ours_np = (ours_np - ours_np.min()) / max(ours_np.max() - ours_np.min(), 1e-12)
    np.testing.assert_allclose(ours_np, expected, atol=2e-3)


def test_the_head_is_a_layer_with_one_unit_per_class(segmentation):
    assert segmentation.layers[-1].name == HEAD_NAME
    assert segmentation.layers[-1].shape == (5,)
    assert segmentation.output_layer == HEAD_NAME
    assert "out" in head_or_plain(segmentation.module).describe()


@pytest.fixture(scope="module")
def detection():
    return load_kind(output_models.detection, input_size=(128, 128), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


@pytest.mark.slow
def test_detection_box_score_is_faster_rcnn_box_score_target(detection):
    x = _input((1, 3, 128, 128), seed=4)
    head_or_plain(detection.module).prepare(detection.module, x)
    boxes, _, labels = head_or_plain(detection.module).detections()
    assert len(boxes) > 2
    box = 2
    ours = attribute(detection.module, x, "gradient", target=box)
    bare = output_models.detection().eval()
    leaf = x.clone().requires_grad_(True)
    target = FasterRCNNBoxScoreTarget([int(labels[box])], [boxes[box]])
    expected = _grad(target(bare(leaf)[0]), leaf)
    assert float(expected.abs().max()) > 0
    torch.testing.assert_close(ours, expected, rtol=1e-3, atol=1e-5 * float(expected.abs().max()))


@pytest.fixture(scope="module")
def embedding():
    return load_kind(output_models.embedding, input_size=(32, 32))


def test_embedding_similarity_is_similarity_to_concept_target(embedding):
    assert head_or_plain(embedding.module).kind == "embedding"
    assert head_or_plain(embedding.module).picked_name == "image_embeds"
    reference, x = _input((1, 3, 32, 32), seed=5), _input((1, 3, 32, 32), seed=6)
    head_or_plain(embedding.module).set_reference_image(embedding.module, reference)
    ours = attribute(embedding.module, x, "gradient", target=0)
    bare = output_models.embedding().eval()
    concept = bare(reference)["image_embeds"][0].detach()
    leaf = x.clone().requires_grad_(True)
    expected = _grad(SimilarityToConceptTarget(concept)(bare(leaf)["image_embeds"][0]), leaf)
    assert float(expected.abs().max()) > 0
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-7)


def test_the_output_setting_picks_another_part(embedding):
    loaded = load_kind(output_models.embedding, input_size=(32, 32), output="last_hidden_state")
    assert head_or_plain(loaded.module).picked_name == "last_hidden_state"
    with pytest.raises(OutputError, match="nope.*image_embeds"):
        load_kind(output_models.embedding, input_size=(32, 32), output="nope")


def test_pick_output_prefers_logits_then_out_then_the_first_tensor():
    logits, out, other = torch.zeros(1, 2), torch.zeros(1, 3), torch.zeros(1, 4)
    assert pick_output({"x": other, "out": out, "logits": logits}, None)[1] == "logits"
    assert pick_output({"x": other, "out": out}, None)[1] == "out"
    assert pick_output((None, other), None)[1] == "[1]"
    assert pick_output({"x": other, "y": out}, "y")[0] is out


@pytest.mark.parametrize("builder, mode", [(output_models.siamese, "arguments"),
                                           (output_models.side_by_side, "width"),
                                           (output_models.stacked_channels, "channels")])
def test_two_input_networks_get_one_map_per_input_equal_to_autograd(builder, mode):
    loaded = load_kind(builder, input_size=(16, 16), two_inputs=mode)
    first, second = _input((1, 3, 16, 16), seed=7), _input((1, 3, 16, 16), seed=8)
    x = torch.cat([first, second], dim=1)
    ours = attribute(loaded.module, x, "gradient", target=1)
    bare = builder().eval()
    a, b = first.clone().requires_grad_(True), second.clone().requires_grad_(True)
    if mode == "arguments":
        score = bare(a, b)[0, 1]
    elif mode == "width":
        score = bare(torch.cat([a, b], dim=3))[0, 1]
    else:
        score = bare(torch.cat([a, b], dim=1))[0, 1]
    grad_a, grad_b = torch.autograd.grad(score, [a, b])
    torch.testing.assert_close(ours[:, :3], grad_a)
    torch.testing.assert_close(ours[:, 3:], grad_b)
    assert float(grad_b.abs().max()) > 0


def test_a_pair_frame_is_both_images_side_by_side():
    loaded = load_kind(output_models.siamese, input_size=(16, 16), two_inputs="arguments")
    pre = loaded.preprocessor
    first = np.full((20, 30, 3), 10, np.uint8)
    second = np.full((40, 40, 3), 200, np.uint8)
    frame = pre.fit_pair(first, second)
    assert frame.shape == (16, 32, 3)
    array = pre.to_array(frame)
    assert array.shape == (6, 16, 16)
    assert array[:3].mean() < array[3:].mean()
    np.testing.assert_array_equal(pre.to_image(array), frame)


def test_a_model_with_its_own_output_module_keeps_it_and_a_sequential_runs_once():
    class Named(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Conv2d(3, 4, 3)
            self.output = torch.nn.Linear(4, 2)

        def forward(self, x):
            return {"out": self.body(x), "scores": self.output(self.body(x).mean((2, 3)))}

    def named():
        torch.manual_seed(0)
        return Named()

    loaded = load_kind(named, input_size=(8, 8), output="scores")
    head = head_or_plain(loaded.module)
    assert head.name == "deepvis_output" and "output" in loaded.layer_names
    calls = []

    def counting():
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
        net[1].register_forward_hook(lambda *_: calls.append(1))
        return net

    sequential = load_kind(counting, input_size=(8, 8))
    calls.clear()
    with torch.no_grad():
        sequential.module(torch.zeros(1, 3, 8, 8))
    assert len(calls) == 1 and head_or_plain(sequential.module).kind == "dense"


def test_an_output_kind_that_does_not_fit_is_one_line():
    with pytest.raises(OutputError, match=r"'output_kind' = 'detection': the model's output 'image_embeds' has "
                                          r"shape \(1, 16\), which is embedding"):
        load_kind(output_models.embedding, input_size=(32, 32), output_kind="detection")
