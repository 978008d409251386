"""`deepvis attribute`: an option the chosen method ignores is an error naming the methods that take it
(exit 2, before any map is computed), and ``--help`` lists the methods once with each method's options
grouped under the methods that take them (issue 20)."""

from __future__ import annotations

import pytest

from deepvis_app.cli.main import main
from deepvis_app.core.methods.registry import METHODS

MODEL = ["--model", "tests.helpers.models:session_classifier", "--set", "input_size=(32, 32)", "--device", "cpu"]


def attribute(tmp_path, *args: str) -> int:
    return main(["attribute", "sample:chelsea", *MODEL, "-o", str(tmp_path / "m.png"), *args])


@pytest.mark.parametrize(("args", "named"), [
    (["--method", "gradcam", "--steps", "8"], "integrated_gradients"),
    (["--method", "gradient", "--window", "8"], "occlusion, occlusion_layer"),
    (["--method", "occlusion", "--unpool", "window_centre"], "deconv, salinet, desalinet"),
    (["--method", "guided", "--no-relu"], "gradcam"),
    (["--method", "occlusion", "--cam-layer", "2"], "gradcam"),
    (["--method", "gradcam", "--seed", "max"], "gradient, deconv"),
])
def test_an_option_the_method_ignores_exits_2_naming_the_methods_that_take_it(tmp_path, capsys, args, named):
    assert attribute(tmp_path, *args) == 2
    err = capsys.readouterr().err
    flag = next(a for a in args[2:] if a.startswith("--")).replace("--no-", "--")
    assert f"{flag}" in err and f" is not an option of {args[1]}; it is one of " in err and named in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("args", [
    ["--method", "integrated_gradients", "--steps", "4"],
    ["--method", "occlusion", "--window", "16", "--stride", "16"],
    ["--method", "salinet", "--unpool", "window_centre"],
    ["--method", "gradcam", "--no-relu", "--cam-layer", "3"],
    ["--method", "gradient", "--seed", "max", "--layer", "3", "--unit", "1"],
])
def test_the_same_options_given_to_a_method_that_takes_them_run(tmp_path, args):
    assert attribute(tmp_path, *args) == 0
    assert (tmp_path / "m.png").stat().st_size > 0


def test_a_method_option_set_in_the_settings_for_another_method_is_not_refused(tmp_path):
    assert attribute(tmp_path, "--method", "gradcam", "--set",
                     "method_options={'integrated_gradients': {'steps': 4}}") == 0


def help_text(capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main(["attribute", "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_help_lists_each_method_once_and_no_choice_list(capsys):
    text = help_text(capsys)
    assert "{gradient,deconv" not in text             # argparse's choice list in the usage and --method
    for method in METHODS:
        assert text.count(f"\n  {method.name} ({method.view}") == 1, method.name
        assert text.count(method.help[:40]) == 1, method.name


def test_help_groups_each_option_under_the_methods_that_take_it(capsys):
    text = help_text(capsys)
    sections = {block.splitlines()[0]: block for block in text.split("\n\n") if block.strip()}
    assert "--steps STEPS" in sections["options of integrated_gradients:"]
    assert "--unpool UNPOOL" in sections["options of deconv, salinet, desalinet:"]
    assert "--window WINDOW" in sections["options of occlusion, occlusion_layer:"]
    usage = text.split("\n\n")[0]
    assert usage.startswith("usage: deepvis attribute INPUT --method M") and "--steps" not in usage


def test_dream_usage_and_help_show_the_names_the_readme_uses(capsys):
    with pytest.raises(SystemExit):
        main(["dream", "--help"])
    text = capsys.readouterr().out
    usage = text.split("\n\n")[0]
    assert "--layer L" in usage and "-o OUT.png" in usage and "--target_layer" not in usage
    assert "--layer TARGET_LAYER, --target_layer" in text and "-o OUTPUT_FILE, --output_file" in text
