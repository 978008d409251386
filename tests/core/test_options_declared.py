"""One options system (issue 18): a setting declared once, like a method option, gets its validation,
its documentation line, its did-you-mean and (when declared with ``cli=True``) its flag from that
declaration alone; settings and method options share the one type checker.

The settings class here is built in the test, with fields no code of deepvis knows: nothing but
the declaration can make them checked, documented and suggested.
"""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from deepvis_app.cli.option_flags import add_option_flags, cli_fields
from deepvis_app.core.unitvis.optimize.config import OptimizeConfig
from deepvis_app.settings.defaults import Settings, setting_docs
from deepvis_app.settings.loader import build_settings, validate
from deepvis_app.settings.options import OptionsError, conform, make_options, option
from deepvis_app.settings.suggest import did_you_mean


@dataclasses.dataclass(frozen=True)
class WithZoom(Settings):
    zoom_mode: str = option("fit", "How a frame fills the input pane.", choices=("fit", "fill", "stretch"))
    zoom_steps: int = option(4, "Zoom steps per wheel turn.", minimum=1, maximum=32)
    zoom_label: bool = option(False, "Write the zoom factor over the input pane.", cli=True)


def _checked(**values):
    origins = {name: "mine.py" for name in values}
    problems: list[str] = []
    settings = build_settings(values, origins, problems, cls=WithZoom)
    return settings, problems + validate(settings, origins)


def test_a_new_setting_is_checked_by_its_declaration():
    settings, problems = _checked(zoom_mode="fill", zoom_steps=32)
    assert (settings.zoom_mode, settings.zoom_steps, problems) == ("fill", 32, [])
    assert _checked(zoom_mode="fil", zoom_steps=0)[1] == [
        "mine.py: setting 'zoom_mode' = 'fil': choose from fit, fill, stretch (did you mean 'fill'?)",
        "mine.py: setting 'zoom_steps' = 0: must be between 1 and 32"]
    assert _checked(zoom_steps=33)[1] == ["mine.py: setting 'zoom_steps' = 33: must be between 1 and 32"]
    assert _checked(zoom_steps="4")[1] == ["mine.py: setting 'zoom_steps' = '4' is not int"]


def test_a_new_setting_gets_its_documentation_line_and_did_you_mean():
    docs = setting_docs(WithZoom)
    assert docs["zoom_mode"] == "How a frame fills the input pane. (choose from fit, fill, stretch)"
    assert docs["zoom_steps"] == "Zoom steps per wheel turn. (between 1 and 32)"
    assert docs["zoom_label"] == "Write the zoom factor over the input pane. (flag --zoom-label)"
    assert did_you_mean("zoom_stesp", WithZoom) == " (did you mean 'zoom_steps'?)"
    assert did_you_mean("zoom_stesp") == ""                     # not a setting of the shipped Settings


def test_a_new_setting_declared_with_cli_gets_its_flag():
    parser = argparse.ArgumentParser()
    add_option_flags(parser, WithZoom, defaults=False, cli_only=True)
    flags = {spelling for action in parser._actions for spelling in action.option_strings}
    assert {"--zoom-label", "--model", "--weights", "--device", "--trust-checkpoint"} <= flags
    assert "--zoom-mode" not in flags and "--input-size" not in flags   # no cli=True: --set only
    assert parser.parse_args(["--zoom-label"]).zoom_label is True
    assert [f.name for f in cli_fields(Settings)] == ["model", "weights", "trust_checkpoint", "device"]


def test_settings_and_method_options_share_the_one_type_checker():
    assert conform([40, 40], tuple[int, int] | None) == ((40, 40), True)
    assert conform({"quit": ["x"]}, dict[str, tuple[str, ...]]) == ({"quit": ("x",)}, True)
    assert conform({"quit": "x"}, dict[str, tuple[str, ...]])[1] is False
    assert conform(True, int)[1] is False and conform(3, float) == (3.0, True)
    assert make_options(OptimizeConfig, {"size": [40, 40]}, "optimize").size == (40, 40)
    with pytest.raises(OptionsError, match=r"optimize: option 'size' = \['a', 1\] is not tuple\[int, int\] \| None"):
        make_options(OptimizeConfig, {"size": ["a", 1]}, "optimize")
    with pytest.raises(OptionsError, match="optimize: optimizer = 'adma': choose from .* \\(did you mean 'adam'\\?\\)"):
        make_options(OptimizeConfig, {"optimizer": "adma"}, "optimize")


def test_deepvis_settings_doc_prints_each_declaration_above_its_value(capsys, monkeypatch):
    from deepvis_app.cli.main import main

    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", "")
    assert main(["settings", "--doc", "--set", "fast_move_dist=5"]) == 0
    text = capsys.readouterr().out
    assert "# Input size (height, width) the network is fed, in pixels. (between 1 and 8192)\ninput_size = " in text
    assert "# Units moved by the Shift+direction keys.\nfast_move_dist = 5\n" in text
    assert "(flag --device)\ndevice = " in text
