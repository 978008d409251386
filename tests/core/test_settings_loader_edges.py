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
from deepvis_app.settings.options import type_name

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
    assert type_name(dict[str, Any] | None) == "dict[str, Any] | None"
    assert type_name(int) == "int" and type_name(tuple[int, ...]) == "tuple[int, ...]"


def test_the_table_gives_each_value_and_what_set_it():
    rows = {name: (value, origin) for name, value, origin in
            settings_table(load_settings(local_file=NO_LOCAL, overrides=["fast_move_dist=5"]))}
    assert rows["fast_move_dist"] == (5, "--set")
    assert rows["camera_mirror"] == (True, "default")
    assert rows["model"][1] == "default"


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


@pytest.fixture
def models(monkeypatch, tmp_path):
    """Two model folders under DEEPVIS_MODELS_DIR: alpha (40x40, with a setting of the original's that
    gives a note) and beta (50x50)."""
    root = tmp_path / "models"
    for name, side, extra in (("alpha", 40, "caffevis_caffe_root = '/opt/caffe'\n"), ("beta", 50, "")):
        (root / name).mkdir(parents=True)
        (root / name / "settings.py").write_text(f"input_size = ({side}, {side})\n{extra}", encoding="utf-8")
    monkeypatch.setenv("DEEPVIS_MODELS_DIR", str(root))
    return root


def _local(tmp_path, text: str) -> Path:
    path = tmp_path / "settings_local.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_model_comes_from_the_flag_then_set_then_the_local_file(models, tmp_path):
    local = _local(tmp_path, "model = 'alpha'\n")
    from_local = load_settings(local_file=local)
    assert (from_local.settings.model, from_local.settings.input_size) == ("alpha", (40, 40))
    assert from_local.origins["model"] == str(local)
    from_set = load_settings(local_file=local, overrides=["model='beta'"])
    assert (from_set.settings.model, from_set.settings.input_size) == ("beta", (50, 50))
    from_flag = load_settings(model="beta", local_file=local)
    assert (from_flag.settings.model, from_flag.origins["model"]) == ("beta", "--set")
    assert any("caffevis_caffe_root" in note for note in load_settings(model="alpha", local_file=NO_LOCAL).notes)


def test_a_model_folder_given_as_a_path_is_read(models):
    loaded = load_settings(model=str(models / "beta"), local_file=NO_LOCAL)
    assert loaded.settings.input_size == (50, 50) and loaded.settings.model_dir == str(models / "beta")


def test_an_unknown_model_names_the_folder_it_looked_for_and_the_known_ones(models):
    assert _problems_model("nope") == [
        f"model 'nope': no folder {models / 'nope'} with a settings.py, and not 'torchvision:<name>', "
        f"'timm:<name>', 'hf:<folder>' or 'package.module:factory' (model folders: alpha, beta)"]


def _problems_model(model: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(model=model, local_file=NO_LOCAL)
    return str(caught.value).splitlines()


def test_paths_resolve_against_their_file_but_special_values_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = _local(tmp_path, "import pathlib\nlabels = pathlib.Path('labels.txt')\nweights = 'random'\n"
                             "similar_to = 'sample:coffee'\nmean_image = '/abs/../kept.npy'\n")
    settings = load_settings(local_file=local).settings
    assert settings.labels == str(tmp_path / "labels.txt")        # a pathlib.Path becomes a str, resolved
    assert (settings.weights, settings.similar_to, settings.mean_image) == ("random", "sample:coffee",
                                                                             "/abs/../kept.npy")
    hf = load_settings(local_file=NO_LOCAL, overrides=["builder='hf:some/folder'"]).settings.builder
    assert hf == f"hf:{tmp_path / 'some' / 'folder'}"
    assert load_settings(model="hf:other", local_file=NO_LOCAL).settings.model == f"hf:{tmp_path / 'other'}"


def test_the_originals_dvt_root_is_the_settings_files_folder(tmp_path):
    local = _local(tmp_path, "labels = '%DVT_ROOT%/labels.txt'\nfast_move_dist = 7\n")
    settings = load_settings(local_file=local).settings
    assert (settings.labels, settings.fast_move_dist) == (str(tmp_path / "labels.txt"), 7)


def test_set_values_with_an_equals_sign_strings_and_every_bad_item_reported():
    settings = load_settings(local_file=NO_LOCAL, overrides=["static_files_regexp='a=b'",
                                                             "model_kwargs={'x': [1, 2]}"]).settings
    assert settings.static_files_regexp == "a=b"
    assert load_settings(local_file=NO_LOCAL, overrides=["static_files_regexp=.*png"]).settings \
        .static_files_regexp == ".*png"                      # not a Python literal: taken as the string
    problems = _problems("abc", "def", "static_files_regexp=(x", "channel_order=[BGR")
    assert problems[:2] == ["--set 'abc': expected key=value", "--set 'def': expected key=value"]
    assert len(problems) == 4 and all("quote the value" in p for p in problems[2:])


def test_values_are_checked_against_their_declared_types(tmp_path):
    assert _problems("input_size=(1, 2, 3)") == ["--set: setting 'input_size' = (1, 2, 3) is not tuple[int, int]"]
    assert _problems("input_size=('a', 2)")[0].startswith("--set: setting 'input_size'")
    assert _problems("input_size=5")[0].startswith("--set: setting 'input_size' = 5")
    assert _problems("key_overrides=5")[0].startswith("--set: setting 'key_overrides' = 5")
    settings = load_settings(local_file=NO_LOCAL, overrides=["key_overrides={'quit': ['x']}",
                                                             "boost_indiv_choices=(0.1, 0.2, 0.3)",
                                                             "builder='pkg:factory'"]).settings
    assert settings.key_overrides == {"quit": ("x",)}          # lists become tuples
    assert settings.boost_indiv_choices == (0.1, 0.2, 0.3) and settings.builder == "pkg:factory"
    assert _problems("layer_filter=5")[0].startswith("--set: setting 'layer_filter' = 5")
    assert load_settings(local_file=_local(tmp_path, "layer_filter = len\n")).settings.layer_filter is len


def test_a_relative_model_folder_and_an_empty_models_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "settings.py").write_text("input_size = (24, 24)\n", encoding="utf-8")
    (tmp_path / "bare").mkdir()
    (tmp_path / "root").mkdir()
    monkeypatch.setenv("DEEPVIS_MODELS_DIR", str(tmp_path / "root"))
    assert load_settings(model="mine", local_file=NO_LOCAL).settings.input_size == (24, 24)
    assert _problems_model("bare")[0].startswith(f"model 'bare': no folder {tmp_path / 'root' / 'bare'} with")
    assert _problems_model("bare")[0].endswith("(model folders: none)")


def test_the_local_file_keeps_its_other_settings_when_the_model_comes_from_the_flag(models, tmp_path):
    local = _local(tmp_path, "from __future__ import annotations\nmodel = 'alpha'\nfast_move_dist = 7\n")
    loaded = load_settings(model="beta", local_file=local)
    assert (loaded.settings.model, loaded.settings.fast_move_dist) == ("beta", 7)


def test_three_channels_take_one_mean_or_three_and_each_of_mean_and_std_is_checked():
    load_settings(local_file=NO_LOCAL, overrides=["mean=(0.5,)", "std=(0.25,)"])   # one value: every channel
    assert _problems("std=(0.2, 0.2)") == [
        "--set: setting 'std' = (0.2, 0.2): needs 1 or 3 values for input_channels = 3 (set by default)"]
    assert _problems("mean=(0.5, 0.5)", "std=(0.2, 0.2)") == [
        "--set: setting 'mean' = (0.5, 0.5): needs 1 or 3 values for input_channels = 3 (set by default)",
        "--set: setting 'std' = (0.2, 0.2): needs 1 or 3 values for input_channels = 3 (set by default)"]
