"""Settings problems name what was meant (issue 20): a mistyped setting gets the close name, ours or
the original toolbox's (`global_scael` -> `global_scale`), in `--set` and in settings files; a `--set`
value with a bracket or quote left open is named as such, not read as a string of the wrong type."""

from __future__ import annotations

import pytest

from deepvis_app.cli.main import main
from deepvis_app.settings.loader import SettingsError, load_settings
from deepvis_app.settings.suggest import unbalanced


def problems_of(overrides=(), local_file=None) -> list[str]:
    with pytest.raises(SettingsError) as error:
        load_settings(overrides=overrides, local_file=local_file)
    return error.value.problems


@pytest.mark.parametrize(("typed", "meant"), [
    ("input_sise", "input_size"), ("global_scael", "global_scale"), ("windw_panes", "window_panes"),
    ("methd_options", "method_options"),
])
def test_a_mistyped_setting_gets_the_close_name(typed, meant, tmp_path):
    assert f"did you mean '{meant}'" in problems_of([f"{typed}=1"])[0]
    settings = tmp_path / "settings_local.py"
    settings.write_text(f"{typed} = 1\n")
    assert any(f"unknown setting '{typed}' (did you mean '{meant}'" in p for p in problems_of(local_file=settings))


def test_a_name_close_to_nothing_gets_no_guess():
    assert "did you mean" not in problems_of(["qqqqzzzz=1"])[0]


@pytest.mark.parametrize(("value", "named"), [
    ("(128,128", "unbalanced bracket '(': no ')' closes it"),
    ("(128,128))", "unbalanced bracket ')': nothing opens it"),
    ("[1, (2, 3]", "unbalanced bracket '('"),
    ("'abc", "unbalanced quote '"),
])
def test_an_unbalanced_bracket_in_set_is_named(value, named):
    problem = problems_of([f"input_size={value}"])[0]
    assert named in problem and "is not tuple" not in problem and "quote the value" in problem


def test_balanced_values_and_plain_strings_still_load():
    settings = load_settings(overrides=["input_size=(96, 96)", "device=cpu"]).settings
    assert settings.input_size == (96, 96) and settings.device == "cpu"
    assert unbalanced("a (b) c") is None and unbalanced("{'a': [1, (2,)]}") is None


def test_the_command_line_prints_the_bracket_problem_in_one_line(capsys):
    assert main(["settings", "--set", "input_size=(128,128"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unbalanced bracket '('" in err[0]
