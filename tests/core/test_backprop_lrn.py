"""The reversed nets' ``lrn="pass"`` (the original toolbox's ``lrn_param.deconv_ignore``): against
twins whose LocalResponseNorm has an identity backward by plain autograd, captum, the app and the registry."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.methods.backprop import backprop_from_unit
from tests.helpers.models import tiny_input
from tests.helpers.oracles import assert_matches, assert_nothing_left_active, captum_neuron

REVERSED = ("deconv", "salinet", "desalinet")
LRN = {"size": 3, "alpha": 1.0, "beta": 0.75, "k": 1.0}   # a strong LRN, so its gradient matters


class FunctionalLRN(nn.Module):
    """``F.local_response_norm`` called directly, with keyword arguments (not through the module)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.local_response_norm(x, LRN["size"], alpha=LRN["alpha"], beta=LRN["beta"], k=LRN["k"])


class IdentityBackward(nn.Module):
    """The reference: ``inner``'s value forward, the signal passed through unchanged backward."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.inner(x) - x).detach()


def lrn_net(functional: bool = False, dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """Conv -> LocalResponseNorm -> ReLU -> MaxPool -> Conv -> ReLU -> AvgPool -> Linear (seed 0)."""
    torch.manual_seed(0)
    lrn = FunctionalLRN() if functional else nn.LocalResponseNorm(**LRN)
    net = nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 6, 3, padding=1), lrn=lrn, act1=nn.ReLU(), pool=nn.MaxPool2d(2),
        conv2=nn.Conv2d(6, 5, 3, padding=1), act2=nn.ReLU(), avg=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(),
        fc=nn.Linear(5, 4)))
    return net.to(dtype).eval().requires_grad_(False)


def app_lrn_net() -> nn.Module:
    """`lrn_net` in float32, as a model factory for the app and the command line."""
    return lrn_net(dtype=torch.float32)


def identity_twin(net: nn.Sequential) -> nn.Sequential:
    twin = copy.deepcopy(net)
    twin.lrn = IdentityBackward(twin.lrn)
    return twin


@pytest.mark.parametrize("functional", [False, True])
@pytest.mark.parametrize("method", REVERSED)
@pytest.mark.parametrize("seed", ["one", "activation"])
def test_lrn_pass_equals_an_identity_backward_twin(functional, method, seed):
    net, x = lrn_net(functional), tiny_input()
    ours = backprop_from_unit(net, x, "conv2", 1, method=method, seed=seed, lrn="pass")
    ref = backprop_from_unit(identity_twin(net), x, "conv2", 1, method=method, seed=seed)
    assert_matches(ours.input_grad, ref.input_grad)
    torch.testing.assert_close(ours.output, net(x), rtol=0, atol=0)   # the forward is LRN's
    true_gradient = backprop_from_unit(net, x, "conv2", 1, method=method, seed=seed).input_grad
    assert not torch.allclose(ours.input_grad, true_gradient, rtol=1e-3, atol=0)
    assert_nothing_left_active(net)


@pytest.mark.parametrize("method", ["deconv", "desalinet", "gradient"])
def test_lrn_backward_is_the_lrn_gradient_as_captum_and_pass_is_captum_on_the_twin(method):
    """captum's hooks reach only the ReLU modules, so LRN keeps its gradient there: ``lrn="backward"``
    (the default) equals captum on the net, ``lrn="pass"`` equals captum on the identity twin."""
    net, x = lrn_net(), tiny_input()
    default = backprop_from_unit(net, x, "conv2", 2, method=method, seed="one").input_grad
    explicit = backprop_from_unit(net, x, "conv2", 2, method=method, seed="one", lrn="backward").input_grad
    torch.testing.assert_close(explicit, default, rtol=0, atol=0)
    assert_matches(default, captum_neuron(net, x, method, "conv2", 2))
    if method != "gradient":
        passed = backprop_from_unit(net, x, "conv2", 2, method=method, seed="one", lrn="pass").input_grad
        assert_matches(passed, captum_neuron(identity_twin(net), x, method, "conv2", 2))


def test_lrn_pass_is_only_for_the_reversed_nets():
    net, x = lrn_net(), tiny_input()
    for method in ("gradient", "guided"):
        with pytest.raises(ValueError, match="LocalResponseNorm gradient by definition; lrn='pass' is for deconv"):
            backprop_from_unit(net, x, "conv2", 1, method=method, lrn="pass")
    with pytest.raises(ValueError, match="unknown LRN backward 'identity'"):
        backprop_from_unit(net, x, "conv2", 1, method="deconv", lrn="identity")


def test_lrn_is_an_option_of_the_registered_reversed_nets():
    """The registry (CLI flag, settings, app) passes ``lrn`` through, with ``unpool`` alongside."""
    from deepvis_app.core.methods.registry import attribute, get_method
    from deepvis_app.settings.options import OptionsError

    net, x = lrn_net(), tiny_input()
    for method in REVERSED:
        ours = attribute(net, x, method, layer="conv2", unit=1, lrn="pass", unpool="window_centre")
        ref = backprop_from_unit(identity_twin(net), x, "conv2", 1, method=method, seed="one",
                                 unpool="window_centre").input_grad
        assert_matches(ours, ref)
    with pytest.raises(OptionsError):
        get_method("guided").make_options({"lrn": "pass"})
    with pytest.raises(OptionsError):
        get_method("deconv").make_options({"lrn": "ignore"})


def _session_back_signal(lrn: str | None):
    """The sync session's deconv back signal from unit 0 of conv2 on the LRN net (method_options from
    ``lrn``), with the forward input and the origin."""
    from deepvis_app.core.app.session import Session
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.io.sources import InputManager
    from deepvis_app.settings.loader import load_settings

    options = {"deconv": {"lrn": lrn}} if lrn else {}
    settings = load_settings().settings.replace(
        builder=app_lrn_net, model="tiny", model_dir=None, weights=None, labels=None, input_size=(32, 32),
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False, method_options=options)
    loaded = load_model(settings)
    session = Session(loaded, settings, InputManager(settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        for key in ("k", "b"):   # into the grid (the origin follows it), back pane on
            session.handle_key(key)
        for _ in range(len(session.engine.names)):
            if session.engine.names[session.state.backprop_layer] == "conv2":
                break
            session.handle_key("o")
        while session.state.back_method != "deconv":
            session.handle_key("N")
        session.process_pending()
        result = session.latest_result()
        assert result.error is None, result.error
        origin, unit = session.engine.names[session.state.backprop_layer], session.state.backprop_unit
        assert origin == "conv2"
        return session.engine._back.input_grad, session.engine.last_forward.x, loaded.module, unit
    finally:
        session.stop()


def test_the_app_shows_the_lrn_pass_map():
    """method_options {"deconv": {"lrn": "pass"}} reaches the app's retained-graph backward: its map is
    the identity twin's deconv (the app seeds the unit's activation, as the original)."""
    shown, x, module, unit = _session_back_signal("pass")
    reference = backprop_from_unit(identity_twin(module), x, "conv2", unit, method="deconv").input_grad[0]
    assert_matches(torch.from_numpy(shown), reference.float(), rtol=1e-4, floor=1e-6)
    default, _, _, _ = _session_back_signal(None)
    assert not np.allclose(shown, default, rtol=1e-3, atol=0)


def test_cli_lrn_pass(tmp_path):
    from deepvis_app.cli.main import main

    x = tiny_input(shape=(1, 3, 16, 16)).float()
    np.save(tmp_path / "x.npy", x[0].numpy())

    def run(name: str, *flags: str) -> np.ndarray:
        argv = ["attribute", str(tmp_path / "x.npy"), "--model", "tests.core.test_backprop_lrn:app_lrn_net",
                "--set", "input_size=(16, 16)", "--device", "cpu", "--method", "deconv", "--layer", "conv2",
                "--unit", "3", "--seed", "one", *flags, "--npy", str(tmp_path / f"{name}.npy"),
                "-o", str(tmp_path / f"{name}.png")]
        assert main(argv) == 0
        return np.load(tmp_path / f"{name}.npy")

    passed, default = run("pass", "--lrn", "pass"), run("default")
    reference = backprop_from_unit(identity_twin(app_lrn_net()), x, "conv2", 3, method="deconv",
                                   seed="one").input_grad[0]
    assert_matches(torch.from_numpy(passed), reference, rtol=1e-4, floor=1e-6)
    assert not np.allclose(passed, default, rtol=1e-3, atol=0)


def test_the_engine_reruns_the_forward_when_the_lrn_rule_changes():
    """The app's forward records the graph with the rules: its cache key holds the reversed-net options."""
    from deepvis_app.core.app.engine import ComputeEngine
    from deepvis_app.core.methods.backprop import ReversedNetOptions
    from deepvis_app.core.methods.registry import get_method
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.io.images import sample_image
    from deepvis_app.settings.loader import load_settings

    settings = load_settings().settings.replace(
        builder=app_lrn_net, model="tiny", model_dir=None, weights=None, labels=None, input_size=(16, 16),
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False)
    engine = ComputeEngine(load_model(settings))
    image = sample_image("coffee")
    plain = engine.forward(1, image, False, "deconv", ReversedNetOptions())
    assert engine.forward(1, image, False, "deconv") is plain          # no options = the defaults
    passed = engine.forward(1, image, False, "deconv", ReversedNetOptions(lrn="pass"))
    assert passed is not plain
    assert engine.forward(1, image, False, "deconv", ReversedNetOptions(lrn="pass")) is passed
    back = engine.backward(passed, get_method("deconv"), "conv2", 2, None)
    reference = backprop_from_unit(identity_twin(engine.loaded.module), passed.x, "conv2", 2, method="deconv")
    assert_matches(torch.from_numpy(back.input_grad), reference.input_grad[0], rtol=1e-4, floor=1e-6)
