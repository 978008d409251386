"""The settings loader's messages and helpers at their edges, written against the survivors of mutation
testing of settings/loader.py (docs/testing.md): problems one a line, did-you-mean only for a close
name, type names without "typing.", the settings table's origins, where settings_local.py is looked for,
the models offered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deepvis_app.settings import loader
from deepvis_app.settings.loader import SettingsError, load_settings, settings_table

NO_LOCAL = Path("/nonexistent/settings_local.py")


def _problems(*overrides: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(local_file=NO_LOCAL, overrides=list(overrides))
    return str(caught.value).splitlines()


def test_each_problem_is_one_line_and_a_close_name_gets_a_suggestion():
    assert _problems("input_sise=(1, 2)", "zzqqxxww=1") == [
        "--set input_sise: unknown setting (did you mean 'input_size'?)",
        "--set zzqqxxww: unknown setting",
    ]


def test_a_wrong_type_is_named_as_declared():
    assert _problems("output=[1]") == ["--set: setting 'output' = [1] is not str | int | None"]
    assert loader._type_name(dict[str, Any] | None) == "dict[str, Any] | None"
    assert loader._type_name(int) == "int"


def test_the_table_gives_each_value_and_what_set_it():
    rows = {name: (value, origin) for name, value, origin in
            settings_table(load_settings(local_file=NO_LOCAL, overrides=["fast_move_dist=5"]))}
    assert rows["fast_move_dist"] == (5, "--set")
    assert rows["camera_mirror"] == (True, "default")


def test_settings_local_outside_a_source_checkout_is_under_the_config_folder(monkeypatch, tmp_path):
    assert loader.default_local_settings_file() == loader.REPO_ROOT / "settings" / "settings_local.py"
    monkeypatch.setattr(loader, "_in_source_checkout", lambda: False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert loader.default_local_settings_file() == tmp_path / "xdg" / "deepvis" / "settings_local.py"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert loader.default_local_settings_file() == tmp_path / ".config" / "deepvis" / "settings_local.py"


def test_the_models_offered_are_the_folders_with_a_settings_file(monkeypatch, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "settings.py").write_text("input_size = (32, 32)\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DEEPVIS_MODELS_DIR", str(tmp_path))
    assert loader.available_models() == ["mine"]
