"""Probes of the model settings: what is built and loaded, how pixels become the network's input,
which layers are shown and how they are named, which layer holds the classes."""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from deepvis_app.core.app.session import Session
from deepvis_app.core.app.unit_class import label_layers
from deepvis_app.core.nn.classify import top_classes
from deepvis_app.core.nn.model import ModelError
from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.core.nn.threads import ThreadChoice
from deepvis_app.io.sources import InputManager
from tests.helpers.datasets import write_video
from tests.helpers.models import session_classifier
from tests.helpers.waiting import wait_until
from tests.settings_probes.registry import probe

GREY = np.full((32, 32, 3), 128, np.uint8)
COLOURED = np.zeros((32, 32, 3), np.uint8) + np.array([200, 100, 50], np.uint8)


def _output(loaded, image=COLOURED) -> torch.Tensor:
    with torch.no_grad():
        return loaded.module(loaded.preprocessor.to_tensor(image, loaded.device))


@probe("model")
def model_names_the_network(ctx):
    default_names = ctx.load(builder=None, model="tests.helpers.models:session_classifier").layer_names
    other = ctx.load(builder=None, model="tests.helpers.models:window_classifier")
    assert "conv1" in other.layer_names and "conv1" not in default_names


@probe("builder")
def builder_builds_the_network(ctx):
    def wider():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(5, 3))
    loaded = ctx.load(builder=wider)
    assert loaded.layer("0").shape[0] == 5 and ctx.loaded.layer("0").shape[0] == 8


def _doubled_state() -> dict[str, torch.Tensor]:
    return {name: value * 2 for name, value in session_classifier().state_dict().items()}


@probe("weights")
def weights_file_is_loaded(ctx):
    path = ctx.tmp / "doubled.pt"
    torch.save(_doubled_state(), path)
    loaded = ctx.load(weights=str(path))
    assert torch.equal(loaded.module[0].weight, _doubled_state()["0.weight"])
    assert not torch.allclose(_output(loaded), _output(ctx.loaded))


@probe("trust_checkpoint")
def trust_checkpoint_lets_a_pickled_checkpoint_load(ctx):
    path = ctx.tmp / "checkpoint.pt"
    torch.save({"state_dict": _doubled_state(), "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(ModelError, match="trust"):
        ctx.load(weights=str(path))
    loaded = ctx.load(weights=str(path), trust_checkpoint=True)
    assert torch.equal(loaded.module[0].weight, _doubled_state()["0.weight"])


@probe("input_size")
def input_size_sets_the_tensor_shape(ctx):
    assert Preprocessor(ctx.settings(input_size=(40, 24))).to_tensor(COLOURED).shape == (1, 3, 40, 24)
    assert Preprocessor(ctx.base).to_tensor(COLOURED).shape == (1, 3, 32, 32)


@probe("input_channels")
def input_channels_one_feeds_grey(ctx):
    settings = ctx.settings(input_channels=1, mean=(0.0,), std=(1.0,))
    x = Preprocessor(settings).to_tensor(COLOURED)
    luminance = (0.2125 * 200 + 0.7154 * 100 + 0.0721 * 50) / 255       # skimage's rgb2gray weights
    assert x.shape == (1, 1, 32, 32) and x[0, 0, 5, 5].item() == pytest.approx(luminance, abs=1e-3)


@probe("mean", "std")
def mean_and_std_normalize(ctx):
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    changes = {"mean": mean} if ctx.name == "mean" else {"std": std}
    settings = ctx.settings(**changes)
    x = Preprocessor(settings).to_tensor(COLOURED)[0, :, 0, 0].numpy()
    used_mean = np.array(settings.mean)
    used_std = np.array(settings.std)
    expected = (np.array([200, 100, 50]) / 255 - used_mean) / used_std
    np.testing.assert_allclose(x, expected, rtol=1e-5)
    default = Preprocessor(ctx.base).to_tensor(COLOURED)[0, :, 0, 0].numpy()
    assert not np.allclose(x, default)


def _mean_image(ctx) -> str:
    image = np.zeros((3, 32, 32), np.float32)
    image[0, :, :16] = 0.5            # left half of the red channel
    path = ctx.tmp / "mean.npy"
    np.save(path, image)
    return str(path)


@probe("mean_image")
def mean_image_is_subtracted_per_pixel(ctx):
    x = Preprocessor(ctx.settings(mean_image=_mean_image(ctx), std=(1.0, 1.0, 1.0))).to_tensor(GREY)[0].numpy()
    np.testing.assert_allclose(x[0, 3, 3], 128 / 255 - 0.5, atol=1e-6)
    np.testing.assert_allclose(x[0, 3, 20], 128 / 255, atol=1e-6)


@probe("generate_channelwise_mean")
def channelwise_mean_subtracts_the_channel_average(ctx):
    settings = ctx.settings(mean_image=_mean_image(ctx), std=(1.0, 1.0, 1.0), generate_channelwise_mean=True)
    x = Preprocessor(settings).to_tensor(GREY)[0].numpy()
    np.testing.assert_allclose(x[0, 3, 3], 128 / 255 - 0.25, rtol=1e-5)
    np.testing.assert_allclose(x[0, 3, 20], 128 / 255 - 0.25, rtol=1e-5)


@probe("channel_order")
def bgr_swaps_red_and_blue(ctx):
    settings = ctx.settings(channel_order="BGR", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    x = Preprocessor(settings).to_tensor(COLOURED)[0, :, 0, 0].numpy()
    np.testing.assert_allclose(x, np.array([50, 100, 200]) / 255, rtol=1e-5)


@probe("input_scale")
def input_scale_multiplies_pixels(ctx):
    settings = ctx.settings(input_scale=255.0, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    x = Preprocessor(settings).to_tensor(COLOURED)[0, :, 0, 0].numpy()
    np.testing.assert_allclose(x, [200, 100, 50], rtol=1e-5)


@probe("labels")
def labels_file_names_the_classes(ctx):
    path = ctx.tmp / "labels.txt"
    path.write_text("".join(f"thing {i}\n" for i in range(10)), encoding="utf-8")
    loaded = ctx.load(labels=str(path))
    assert loaded.label(3) == "thing 3" and ctx.loaded.label(3) != "thing 3"
    _, result = ctx.session(loaded=loaded)
    assert result.top_labels and all(label.startswith("thing ") for label, _ in result.top_labels)


@probe("device")
def device_is_where_the_model_runs(ctx):
    with pytest.raises(ModelError, match="meta"):
        ctx.load(device="meta")
    wanted = "cuda" if torch.cuda.is_available() else "cpu"
    assert ctx.load(device=wanted).device.type == wanted


@probe("layers")
def layers_lists_the_shown_layers(ctx):
    assert ctx.load(layers=("3", "0")).layer_names == ["3", "0"]
    assert len(ctx.loaded.layer_names) > 2


@probe("layer_kinds")
def layer_kinds_picks_module_kinds(ctx):
    names = ctx.load(layer_kinds=("Conv2d",)).layer_names
    assert names[:2] == ["0", "3"] and not {"1", "2", "4", "5"} & set(names)
    assert "1" in ctx.loaded.layer_names


@probe("layer_filter")
def layer_filter_hides_layers(ctx):
    names = ctx.load(layer_filter=lambda name: name != "1").layer_names
    assert "1" not in names and "0" in names and "1" in ctx.loaded.layer_names


def _wrapped_net() -> nn.Module:
    """A Sequential "0" that returns its last child's ("0.1") tensor again."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3))


@probe("hide_repeated_outputs")
def repeated_outputs_are_shown_when_asked(ctx):
    kinds = ctx.base.layer_kinds + ("Sequential",)
    hidden = ctx.load(builder=_wrapped_net, layer_kinds=kinds).layer_names
    shown = ctx.load(builder=_wrapped_net, layer_kinds=kinds, hide_repeated_outputs=False).layer_names
    assert "0.1" in hidden and "0" not in hidden and "0" in shown


class _TokenNet(nn.Module):
    """A patch embedding to 16 tokens plus a class token, a Linear on the tokens, a head (no attention
    module, so tokens are reshaped only where `token_grid` says)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 8, stride=8)
        self.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.mix = nn.Linear(8, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], 1)
        return self.head(self.mix(tokens).mean(1))


@probe("token_grid")
def token_grid_reshapes_tokens(ctx):
    assert ctx.load(builder=_TokenNet).layer("mix").shape == (17, 8)
    assert ctx.load(builder=_TokenNet, token_grid={"mix": (4, 4)}).layer("mix").shape == (8, 4, 4)


@probe("pretty_names")
def pretty_names_name_the_layers(ctx):
    loaded = ctx.load(pretty_names={"3": "second conv"})
    _, result = ctx.session(loaded=loaded)
    assert [e.pretty for e in result.layers if e.name == "3"] == ["second conv"]
    assert ctx.load(pretty_names=lambda name: f"L{name}").layer("0").pretty == "L0"


@probe("output_layer")
def output_layer_holds_the_classes(ctx):
    loaded = ctx.load(output_layer="5")
    assert loaded.output_layer == "5" and label_layers(loaded) == {"5"}
    assert label_layers(ctx.loaded) == {"7"}


@probe("output_is_logits")
def probabilities_are_taken_as_given(ctx):
    scores = torch.tensor([2.0, 1.0, 0.5])
    given = ctx.load(output_is_logits=False)
    assert [c["prob"] for c in top_classes(given, scores, 3)] == [2.0, 1.0, 0.5]
    softmax = [c["prob"] for c in top_classes(ctx.loaded, scores, 3)]
    np.testing.assert_allclose(softmax, torch.softmax(scores, 0).numpy(), rtol=1e-6)


@probe("label_layers")
def label_layers_show_the_selected_unit_as_a_class(ctx):
    keys = ("l", "l", "l", "k")              # layer "3", into its grid
    _, chosen = ctx.session(*keys, loaded=ctx.load(label_layers=("3",)))
    _, default = ctx.session(*keys)
    assert chosen.aux_mode == "class" and default.aux_mode != "class"


def sized_classifier(classes: int = 10) -> nn.Module:
    """The tiny classifier with ``classes`` outputs (a factory taking a keyword, for model_kwargs)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, classes))


@probe("model_kwargs")
def model_kwargs_reach_the_factory(ctx):
    spec = "tests.settings_probes.probes_model:sized_classifier"
    assert ctx.load(builder=None, model=spec, model_kwargs={"classes": 4}).layer("4").shape == (4,)
    assert ctx.load(builder=None, model=spec).layer("4").shape == (10,)


class _TwoHeads(nn.Module):
    """Returns a dict of two class-score tensors: 3 classes under "first", 7 under "second"."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.first, self.second = nn.Linear(8, 3), nn.Linear(8, 7)

    def forward(self, x):
        features = self.body(x)
        return {"first": self.first(features), "second": self.second(features)}


@probe("output")
def output_picks_what_is_explained(ctx):
    chosen = ctx.result(loaded=ctx.load(builder=_TwoHeads, output="second")).top_labels
    default = ctx.result(loaded=ctx.load(builder=_TwoHeads)).top_labels
    assert len(chosen) == 5 and len(default) == 3        # top-5 of 7 classes; all 3 of "first"


class _SixChannels(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(6, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                 nn.Linear(4, 3))

    def forward(self, x):
        return self.net(x)


@probe("two_inputs")
def two_inputs_stack_a_pair(ctx):
    with pytest.raises(ModelError):
        ctx.load(builder=_SixChannels)                   # one RGB image: 3 channels, not 6
    session, _ = ctx.session(loaded=ctx.load(builder=_SixChannels, two_inputs="channels"))
    assert session.engine.last_forward.x.shape[1] == 6


@probe("output_kind")
def output_kind_embedding_compares_with_a_reference(ctx):
    """The tiny classifier's (B, 10) output taken as an embedding: no classes, a reference to pin."""
    embedding = ctx.result(loaded=ctx.load(output_kind="embedding"))
    assert [label for label, _ in embedding.top_labels] == ["no reference to compare with"]
    assert "embedding" in embedding.status
    assert len(ctx.result().top_labels) == 5


@probe("similar_to")
def similar_to_is_the_embeddings_reference(ctx):
    """An embedding model with a reference image: the similarity to it instead of "no reference"."""
    with_reference = ctx.result(loaded=ctx.load(output_kind="embedding", similar_to="sample:coffee"))
    labels = [label for label, _ in with_reference.top_labels]
    assert labels and labels != ["no reference to compare with"], labels
    without = ctx.result(loaded=ctx.load(output_kind="embedding")).top_labels
    assert [label for label, _ in without] == ["no reference to compare with"]


def _run_threaded(loaded, spec: str, pre_hook, frames: int = 1) -> Session:
    """A threaded session on ``spec`` with ``pre_hook`` on the model's forwards, run until it has shown
    ``frames`` different frames (the first request may come before an image is read: a result without a
    frame does not count), then stopped."""
    hook = loaded.module.register_forward_pre_hook(pre_hook)
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, spec))
    shown: set[int] = set()

    def enough_frames() -> bool:
        result = session.latest_result()
        if result is not None and result.frame_seq is not None:
            shown.add(result.frame_seq)
        return len(shown) >= frames
    try:
        session.start()
        wait_until(enough_frames, timeout=60)
    finally:
        session.stop()
        hook.remove()
    return session


def _compute_thread_counts(loaded) -> tuple[list[int], object]:
    """torch's thread count inside the model's forwards in a threaded session's compute thread, and the
    session's `ThreadChoice`."""
    seen: list[int] = []
    session = _run_threaded(loaded, "sample:chelsea", lambda *_: seen.append(torch.get_num_threads()))
    return seen, session.engine.threads


@probe("torch_threads")
def torch_threads_pins_the_compute_threads_count(ctx):
    seen, choice = _compute_thread_counts(ctx.load(torch_threads=3))
    assert choice == ThreadChoice(3) and seen and seen[-1] == 3
    seen, choice = _compute_thread_counts(ctx.load())
    assert choice.forward_ms and seen[-1] == choice.threads      # None: timed at each candidate count


def _forward_threads(loaded, video: str) -> set[str]:
    """The compute threads that ran the model's forwards while a threaded session showed 15 frames of
    ``video`` (each forward made 30 ms slower, so that frames arrive faster than one thread handles)."""
    names: set[str] = set()

    def slow(*_):
        names.add(threading.current_thread().name)
        time.sleep(0.03)
    _run_threaded(loaded, video, slow, frames=15)
    return {name for name in names if name.startswith("deepvis-compute")}


@probe("frames_in_flight")
def frames_in_flight_runs_video_frames_side_by_side(ctx):
    video = str(write_video(ctx.tmp / "flight.avi"))
    assert _forward_threads(ctx.load(frames_in_flight=2), video) == {"deepvis-compute", "deepvis-compute-2"}
    assert _forward_threads(ctx.load(frames_in_flight=1), video) == {"deepvis-compute"}
