"""The "no activation with a rule" notice reaches the app's status line and the command line's stderr."""

from __future__ import annotations

import torch
from torch import nn

from deepvis_app.cli.main import main
from deepvis_app.core.app.session import Session
from deepvis_app.core.base.notices import pop_notices
from deepvis_app.core.nn.model import load_model
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.loader import load_settings


def elu_classifier() -> nn.Module:
    """A classifier whose only nonlinearity is ELU (no deconv / guided rule)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ELU(), nn.MaxPool2d(2), nn.Conv2d(8, 6, 3, padding=1),
                         nn.ELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))


def _loaded(builder):
    settings = load_settings().settings.replace(
        builder=builder, model="tiny", model_dir=None, weights=None, labels=None, input_size=(32, 32),
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False)
    return load_model(settings)


def _status_with(loaded, method: str) -> str:
    pop_notices()
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        for key in ("k", "b"):
            session.handle_key(key)
        while session.state.back_method != method:
            session.handle_key("N")
        session.process_pending()
        return session.latest_result().status
    finally:
        session.stop()


def test_status_line_says_deconv_is_the_gradient_on_an_elu_network():
    status = _status_with(_loaded(elu_classifier), "deconv")
    assert "deconv: the network has no activation with a deconv rule" in status and "elu x2" in status


def test_no_notice_on_a_relu_network():
    from tests.helpers.models import session_classifier

    assert "rule" not in _status_with(_loaded(session_classifier), "deconv")


def test_command_line_prints_the_notice(tmp_path, capsys):
    code = main(["attribute", "sample:chelsea", "--model", "tests.core.test_backprop_notice_app:elu_classifier",
                 "--set", "input_size=(32, 32)", "--method", "guided", "--target", "1", "-o", str(tmp_path / "g.png")])
    assert code == 0
    assert "guided: the network has no activation with a guided rule" in capsys.readouterr().err
