"""A reversed net's option that finds nothing to act on says so (issue 19): ``unpool=window_centre`` on
a network without max-pool, ``lrn=pass`` on one without LocalResponseNorm, in the app's status line and
on the command line's stderr; a network that has them gets no such line."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepvis_app.cli.main import main
from deepvis_app.core.app.session import Session
from deepvis_app.core.base import notices
from deepvis_app.core.base.notices import pop_notices
from deepvis_app.core.nn.model import load_model
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.loader import load_settings


def no_pool_classifier() -> nn.Module:
    """ReLU classifier with strided convs and average pooling only (like EfficientNet: no max-pool)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))


def max_pool_classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 6, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))


@pytest.fixture(autouse=True)
def fresh_notices(monkeypatch):
    """Each test sees its notices logged anew (a notice is logged once per process)."""
    monkeypatch.setattr(notices, "_logged", set())
    pop_notices()


def _status(builder, options: dict) -> str:
    settings = load_settings().settings.replace(
        builder=builder, model="tiny", model_dir=None, weights=None, labels=None, input_size=(32, 32),
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False,
        method_options={"salinet": options})
    loaded = load_model(settings)
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        for key in ("k", "b"):
            session.handle_key(key)
        while session.state.back_method != "salinet":
            session.handle_key("N")
        session.process_pending()
        return session.latest_result().status
    finally:
        session.stop()


def test_status_line_says_window_centre_unpooling_changes_nothing_without_max_pool():
    status = _status(no_pool_classifier, {"unpool": "window_centre"})
    assert "salinet: unpool=window_centre changes nothing here: the network has no 2-D max-pool" in status


def test_no_unpool_line_on_a_network_with_max_pool():
    assert "changes nothing" not in _status(max_pool_classifier, {"unpool": "window_centre"})


def test_status_line_says_lrn_pass_changes_nothing_without_local_response_norm():
    assert "lrn=pass changes nothing here" in _status(max_pool_classifier, {"lrn": "pass"})


@pytest.mark.parametrize(("model", "said"), [("no_pool_classifier", True), ("max_pool_classifier", False)])
def test_command_line_prints_one_line_for_unpool_without_max_pool(tmp_path, capsys, model, said):
    code = main(["attribute", "sample:chelsea", "--model", f"tests.core.test_option_unused_notice:{model}",
                 "--set", "input_size=(32, 32)", "--method", "salinet", "--unpool", "window_centre",
                 "--target", "1", "-o", str(tmp_path / "s.png")])
    assert code == 0
    err = capsys.readouterr().err
    assert ("unpool=window_centre changes nothing here" in err) is said
    assert err.count("changes nothing") == (1 if said else 0)
